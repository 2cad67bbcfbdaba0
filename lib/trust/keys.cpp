// Public keys from PEM, their ids, and signature checks with OpenSSL 3's EVP interface.

#include "trust/keys.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <memory>

#include "util/base64.h"

namespace podgate::trust {

namespace {

constexpr std::size_t kMaxDerBytes = 16 * 1024;  // an RSA-8192 SPKI is about 1.1 KiB
constexpr std::size_t kMaxSignatureBytes = 16 * 1024;
constexpr int kMinRsaBits = 2048;
constexpr int kMaxRsaBits = 8192;  // bounds the cost of one check

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

std::optional<PublicKey> fail(std::string* why, std::string text) {
  if (why) *why = std::move(text);
  ERR_clear_error();  // the queue is per thread; a stale entry would confuse the next TLS call
  return std::nullopt;
}

// One "-----BEGIN <label>-----" ... "-----END <label>-----" block.
struct PemBlock {
  std::string label;
  std::string_view body;
};

// Every PEM block in `text`, at most `maxBlocks`; nullopt (with `why`) on an unterminated block.
std::optional<std::vector<PemBlock>> pem_blocks(std::string_view text, std::size_t maxBlocks, std::string* why) {
  static constexpr std::string_view kBegin = "-----BEGIN ";
  static constexpr std::string_view kDashes = "-----";
  std::vector<PemBlock> blocks;
  std::size_t pos = 0;
  while ((pos = text.find(kBegin, pos)) != std::string_view::npos) {
    const std::size_t labelStart = pos + kBegin.size();
    const std::size_t labelEnd = text.find(kDashes, labelStart);
    const std::size_t eol = text.find('\n', labelStart);
    if (labelEnd == std::string_view::npos || labelEnd > eol || labelEnd - labelStart > 64) {
      if (why) *why = "a malformed PEM BEGIN line";
      return std::nullopt;
    }
    PemBlock block{std::string(text.substr(labelStart, labelEnd - labelStart)), {}};
    const std::string endLine = "-----END " + block.label + "-----";
    const std::size_t bodyStart = labelEnd + kDashes.size();
    const std::size_t end = text.find(endLine, bodyStart);
    if (end == std::string_view::npos) {
      if (why) *why = "a PEM " + block.label + " block without its END line";
      return std::nullopt;
    }
    if (blocks.size() == maxBlocks) {
      if (why) *why = maxBlocks == 1 ? "more than one PEM block" : "more than " + std::to_string(maxBlocks) + " PEM blocks";
      return std::nullopt;
    }
    block.body = text.substr(bodyStart, end - bodyStart);
    blocks.push_back(std::move(block));
    pos = end + endLine.size();
  }
  return blocks;
}

// Why a block that is not "PUBLIC KEY" cannot be used, with what to give instead.
std::string refusal_for_label(const std::string& label) {
  if (label.find("PRIVATE KEY") != std::string::npos)
    return "a private key (PEM " + label +
           "), not a public key: give the public half (cosign.pub, or `openssl pkey -pubout`), never the private key";
  if (label == "CERTIFICATE")
    return "a certificate, not a public key: certificate (keyless) verification is not supported; give the "
           "signer's public key (`openssl x509 -pubkey -noout`)";
  if (label == "RSA PUBLIC KEY")
    return "a PKCS#1 RSA PUBLIC KEY: convert it to a SubjectPublicKeyInfo PUBLIC KEY with "
           "`openssl rsa -RSAPublicKey_in -pubout`";
  return "a PEM " + label + " block, not a PUBLIC KEY";
}

std::string base64_of(const unsigned char* bytes, std::size_t size) {
  std::string out(4 * ((size + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes, static_cast<int>(size));
  out.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  return out;
}

std::array<unsigned char, 32> sha256(std::string_view bytes) {
  std::array<unsigned char, 32> md{};
  unsigned int length = 0;
  EVP_Digest(bytes.data(), bytes.size(), md.data(), &length, EVP_sha256(), nullptr);
  return md;
}

std::string hex_of(const unsigned char* bytes, std::size_t size) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    out += kHex[bytes[i] >> 4];
    out += kHex[bytes[i] & 0xf];
  }
  return out;
}

// The curve of an EC key, when it is one cosign signs with.
std::optional<KeyAlgorithm> classify_ec(EVP_PKEY* key, std::string* why) {
  char group[64] = {};
  std::size_t length = 0;
  if (EVP_PKEY_get_group_name(key, group, sizeof group, &length) != 1) group[0] = '\0';
  const std::string_view name(group);
  if (name == "prime256v1" || name == "P-256") return KeyAlgorithm::EcdsaP256;
  if (name == "secp384r1" || name == "P-384") return KeyAlgorithm::EcdsaP384;
  if (name == "secp521r1" || name == "P-521") return KeyAlgorithm::EcdsaP521;
  if (why)
    *why = "an EC key on curve " + std::string(name.empty() ? "(explicit parameters)" : name) +
           ": only P-256, P-384 and P-521 are supported";
  return std::nullopt;
}

// The algorithm of a parsed key, or an error for a kind podgate does not accept.
std::optional<KeyAlgorithm> classify(EVP_PKEY* key, int bits, std::string* why) {
  const int type = EVP_PKEY_get_base_id(key);
  if (type == EVP_PKEY_ED25519) return KeyAlgorithm::Ed25519;
  if (type == EVP_PKEY_EC) return classify_ec(key, why);
  if (type == EVP_PKEY_RSA && bits >= kMinRsaBits && bits <= kMaxRsaBits) return KeyAlgorithm::Rsa;
  if (!why) return std::nullopt;
  if (type == EVP_PKEY_RSA) {
    *why = "an RSA key of " + std::to_string(bits) + " bits: RSA keys must have " + std::to_string(kMinRsaBits) +
           " to " + std::to_string(kMaxRsaBits) + " bits";
  } else {
    const char* name = EVP_PKEY_get0_type_name(key);
    *why = std::string("a ") + (name ? name : "unknown") +
           " key: only ECDSA (P-256, P-384, P-521), Ed25519 and RSA keys are supported";
  }
  return std::nullopt;
}

bool verify_with(EVP_PKEY* key, const char* digest, bool rsa, std::string_view message, std::string_view signature) {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  bool ok = ctx && EVP_DigestVerifyInit_ex(ctx.get(), &pctx, digest, nullptr, nullptr, key, nullptr) == 1;
  if (ok && rsa) ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1;
  static const unsigned char kEmpty = 0;  // OpenSSL wants a pointer even for zero bytes
  const auto* msg = message.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(message.data());
  ok = ok && EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                              msg, message.size()) == 1;
  ERR_clear_error();
  return ok;
}

}  // namespace

const char* algorithm_name(KeyAlgorithm algorithm) {
  switch (algorithm) {
    case KeyAlgorithm::EcdsaP256: return "ecdsa-p256";
    case KeyAlgorithm::EcdsaP384: return "ecdsa-p384";
    case KeyAlgorithm::EcdsaP521: return "ecdsa-p521";
    case KeyAlgorithm::Ed25519: return "ed25519";
    case KeyAlgorithm::Rsa: return "rsa";
  }
  return "unknown";
}

std::optional<PublicKey> PublicKey::from_pem(std::string_view pem, std::string* why) {
  std::string error;
  const auto blocks = pem_blocks(pem, 1, &error);
  if (!blocks) return fail(why, error);
  if (blocks->empty()) return fail(why, "no PEM block (expected -----BEGIN PUBLIC KEY-----)");
  return from_block(blocks->front().label, blocks->front().body, why);
}

std::optional<PublicKey> PublicKey::from_block(const std::string& label, std::string_view body, std::string* why) {
  if (label != "PUBLIC KEY") return fail(why, refusal_for_label(label));
  const auto der = util::decode_base64(body, kMaxDerBytes, nullptr, util::Base64Options{.skipAllWhitespace = true});
  if (!der || der->empty()) return fail(why, "the PUBLIC KEY block is not valid base64 (or larger than 16 KiB)");
  const auto* p = reinterpret_cast<const unsigned char*>(der->data());
  std::shared_ptr<EVP_PKEY> key(d2i_PUBKEY(nullptr, &p, static_cast<long>(der->size())), EVP_PKEY_free);
  if (!key) return fail(why, "the PUBLIC KEY block is not a valid SubjectPublicKeyInfo");
  if (p != reinterpret_cast<const unsigned char*>(der->data()) + der->size())
    return fail(why, "the PUBLIC KEY block has bytes after its SubjectPublicKeyInfo");

  std::string error;
  PublicKey out;
  out.bits_ = EVP_PKEY_get_bits(key.get());
  const auto algorithm = classify(key.get(), out.bits_, &error);
  if (!algorithm) return fail(why, error);
  out.algorithm_ = *algorithm;
  // The id is over OpenSSL's own encoding of the key, as cosign's hint is over Go's re-encoding.
  const int length = i2d_PUBKEY(key.get(), nullptr);
  if (length <= 0) return fail(why, "the public key cannot be re-encoded");
  std::string canonical(static_cast<std::size_t>(length), '\0');
  auto* out_p = reinterpret_cast<unsigned char*>(canonical.data());
  i2d_PUBKEY(key.get(), &out_p);
  const auto md = sha256(canonical);
  out.id_ = hex_of(md.data(), md.size());
  out.hint_ = base64_of(md.data(), md.size());
  out.key_ = std::move(key);
  return out;
}

std::string PublicKey::describe() const { return std::string(algorithm_name(algorithm_)) + " key " + short_id(); }

bool verify(const PublicKey& key, std::string_view message, std::string_view signature) {
  if (!key.native() || signature.empty() || signature.size() > kMaxSignatureBytes) return false;
  switch (key.algorithm()) {
    case KeyAlgorithm::Ed25519:
      return verify_with(key.native(), nullptr, false, message, signature);
    case KeyAlgorithm::Rsa:
      return verify_with(key.native(), "SHA256", true, message, signature);
    case KeyAlgorithm::EcdsaP256:
      return verify_with(key.native(), "SHA256", false, message, signature);
    case KeyAlgorithm::EcdsaP384:
      return verify_with(key.native(), "SHA256", false, message, signature) ||
             verify_with(key.native(), "SHA384", false, message, signature);
    case KeyAlgorithm::EcdsaP521:
      return verify_with(key.native(), "SHA256", false, message, signature) ||
             verify_with(key.native(), "SHA512", false, message, signature);
  }
  return false;
}

KeySet::KeySet(std::vector<PublicKey> keys) : keys_(std::move(keys)) {
  std::sort(keys_.begin(), keys_.end(), [](const PublicKey& a, const PublicKey& b) { return a.id() < b.id(); });
  keys_.erase(std::unique(keys_.begin(), keys_.end(),
                          [](const PublicKey& a, const PublicKey& b) { return a.id() == b.id(); }),
              keys_.end());
  std::string ids;
  for (const auto& k : keys_) ids += k.id() + '\n';
  id_ = sha256_hex(ids);
}

const PublicKey* KeySet::find_by_hint(std::string_view hint) const {
  for (const auto& k : keys_)
    if (k.hint() == hint) return &k;
  return nullptr;
}

std::string KeySet::short_ids() const {
  std::string out;
  for (const auto& k : keys_) out += (out.empty() ? "" : ", ") + k.short_id();
  return out;
}

std::optional<KeySet> parse_public_keys(std::string_view pem, std::string* why) {
  std::string error;
  const auto blocks = pem_blocks(pem, kMaxKeysPerSet, &error);
  auto refuse = [&](std::string text) -> std::optional<KeySet> {
    if (why) *why = std::move(text);
    return std::nullopt;
  };
  if (!blocks) return refuse(error);
  if (blocks->empty()) return refuse("no PEM block (expected -----BEGIN PUBLIC KEY-----)");
  std::vector<PublicKey> keys;
  for (std::size_t i = 0; i < blocks->size(); ++i) {
    const PemBlock& b = (*blocks)[i];
    auto key = PublicKey::from_block(b.label, b.body, &error);
    if (!key) return refuse("PEM block " + std::to_string(i + 1) + ": " + error);
    keys.push_back(std::move(*key));
  }
  return KeySet(std::move(keys));
}

std::optional<KeySet> load_public_keys(const std::string& path, std::string* why) {
  std::ifstream in(path, std::ios::binary);
  std::string text(kMaxKeyFileBytes + 1, '\0');
  if (in) in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (!in && !in.eof()) {
    if (why) *why = "cannot read key file " + path;
    return std::nullopt;
  }
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > kMaxKeyFileBytes) {
    if (why) *why = "key file " + path + " is larger than " + std::to_string(kMaxKeyFileBytes / 1024) + " KiB";
    return std::nullopt;
  }
  std::string error;
  auto set = parse_public_keys(text, &error);
  if (!set && why) *why = "key file " + path + ": " + error;
  return set;
}

std::string sha256_hex(std::string_view bytes) {
  const auto md = sha256(bytes);
  return hex_of(md.data(), md.size());
}

}  // namespace podgate::trust
