#pragma once
// The fuzz targets' one trusted key: Ed25519 from the fixed seed 00 01 02 ... 1f, so
// make_corpus.py can sign seeds with the same key (Ed25519 is deterministic and fast to sign).

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <array>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "trust/keys.h"

namespace podgate::fuzz {

inline constexpr std::string_view kFuzzImageDigest =
    "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

class FixedKey {
 public:
  FixedKey() {
    std::array<unsigned char, 32> seed{};
    for (std::size_t i = 0; i < seed.size(); ++i) seed[i] = static_cast<unsigned char>(i);
    key_.reset(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size()));
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
    if (!key_ || PEM_write_bio_PUBKEY(bio.get(), key_.get()) != 1) std::abort();
    char* pem = nullptr;
    const long n = BIO_get_mem_data(bio.get(), &pem);
    auto set = trust::parse_public_keys(std::string_view(pem, static_cast<std::size_t>(n)));
    if (!set) std::abort();
    keys_ = std::move(*set);
  }

  const trust::KeySet& keys() const { return keys_; }
  const trust::PublicKey& key() const { return keys_.keys().front(); }

  std::string sign(std::string_view message) const {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    std::string out(64, '\0');
    std::size_t length = out.size();
    static const unsigned char kEmpty = 0;
    const auto* msg = message.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(message.data());
    if (EVP_DigestSignInit_ex(ctx.get(), nullptr, nullptr, nullptr, nullptr, key_.get(), nullptr) != 1 ||
        EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &length, msg, message.size()) != 1)
      std::abort();
    return out;
  }

 private:
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key_{nullptr, EVP_PKEY_free};
  trust::KeySet keys_;
};

inline std::string base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

}  // namespace podgate::fuzz
