#pragma once
// Real keys and signatures for the trust tests, made with OpenSSL's C API: what cosign would make
// (ECDSA P-256 over SHA-256, Ed25519, RSA PKCS#1 v1.5 with SHA-256), from freshly generated keys.

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace podgate::test {

class SigningKey {
 public:
  // "P-256", "P-384", "P-521", "secp256k1" (EC curves), "ED25519", "ED448", "RSA-<bits>".
  explicit SigningKey(const std::string& kind) : key_(generate(kind), EVP_PKEY_free) {
    if (!key_) throw std::runtime_error("cannot generate a " + kind + " key");
  }

  std::string public_pem() const { return pem(true); }
  std::string private_pem() const { return pem(false); }
  // The DER SubjectPublicKeyInfo.
  std::string public_der() const {
    const int n = i2d_PUBKEY(key_.get(), nullptr);
    std::string out(static_cast<std::size_t>(n), '\0');
    auto* p = reinterpret_cast<unsigned char*>(out.data());
    i2d_PUBKEY(key_.get(), &p);
    return out;
  }

  // A signature of `message`; `digest` nullptr for Ed25519.
  std::string sign(std::string_view message, const char* digest = "SHA256") const {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    if (EVP_PKEY_get_base_id(key_.get()) == EVP_PKEY_ED25519) digest = nullptr;
    if (EVP_DigestSignInit_ex(ctx.get(), nullptr, digest, nullptr, nullptr, key_.get(), nullptr) != 1)
      throw std::runtime_error("sign init");
    const auto* msg = reinterpret_cast<const unsigned char*>(message.data());
    std::size_t length = 0;
    if (EVP_DigestSign(ctx.get(), nullptr, &length, msg, message.size()) != 1) throw std::runtime_error("sign size");
    std::string out(length, '\0');
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &length, msg, message.size()) != 1)
      throw std::runtime_error("sign");
    out.resize(length);
    return out;
  }

 private:
  static EVP_PKEY* generate(const std::string& kind) {
    if (kind == "ED25519" || kind == "ED448") return EVP_PKEY_Q_keygen(nullptr, nullptr, kind.c_str());
    if (kind.starts_with("RSA-"))
      return EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(std::stoul(kind.substr(4))));
    return EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", kind.c_str());
  }

  std::string pem(bool publicOnly) const {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
    const int ok = publicOnly ? PEM_write_bio_PUBKEY(bio.get(), key_.get())
                              : PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr);
    if (ok != 1) throw std::runtime_error("cannot write PEM");
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(n));
  }

  std::shared_ptr<EVP_PKEY> key_;
};

inline std::string base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

// The SHA-256 of `bytes`, raw.
inline std::string sha256_raw(std::string_view bytes) {
  unsigned char md[32];
  unsigned int n = 0;
  EVP_Digest(bytes.data(), bytes.size(), md, &n, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(md), n);
}

}  // namespace podgate::test
