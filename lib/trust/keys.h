#pragma once
// Public keys that image signatures are checked against (cosign's `cosign.pub`: a PEM
// SubjectPublicKeyInfo), and the signature check itself. Offline and pure: no I/O beyond reading a
// key file.
//
// Accepted: ECDSA on P-256, P-384, P-521; Ed25519; RSA of 2048 to 8192 bits. Anything else (other
// curves, DSA, RSA-PSS-only keys, private keys, certificates) is refused with a message saying
// what was found and what to give instead.

#include <openssl/types.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace podgate::trust {

inline constexpr std::size_t kMaxKeyFileBytes = 64 * 1024;
inline constexpr std::size_t kMaxKeysPerSet = 32;

enum class KeyAlgorithm { EcdsaP256, EcdsaP384, EcdsaP521, Ed25519, Rsa };

// "ecdsa-p256", "ecdsa-p384", "ecdsa-p521", "ed25519", "rsa".
const char* algorithm_name(KeyAlgorithm algorithm);

// One public key. Copies share the immutable OpenSSL key, so copying is cheap and a key may be
// used from several threads at once.
class PublicKey {
 public:
  // Exactly one "-----BEGIN PUBLIC KEY-----" block (surrounding text ignored). On failure nullopt
  // and `why` says what the text is instead ("a private key", "a certificate", ...).
  static std::optional<PublicKey> from_pem(std::string_view pem, std::string* why = nullptr);

  KeyAlgorithm algorithm() const { return algorithm_; }
  int bits() const { return bits_; }
  // Lowercase hex SHA-256 of the DER SubjectPublicKeyInfo: the key's stable name.
  const std::string& id() const { return id_; }
  // The first 12 hex digits of id(), for messages.
  std::string short_id() const { return id_.substr(0, 12); }
  // Standard base64 of the SHA-256 of the DER: what cosign writes as a Sigstore bundle's
  // verificationMaterial.publicKey.hint.
  const std::string& hint() const { return hint_; }
  // "ecdsa-p256 key 0123456789ab": how messages name the key.
  std::string describe() const;

  EVP_PKEY* native() const { return key_.get(); }

  // One PEM block's label and base64 body (parse_public_keys splits the text into blocks).
  static std::optional<PublicKey> from_block(const std::string& label, std::string_view body, std::string* why);

 private:
  PublicKey() = default;  // only from_pem and from_block make keys

  std::shared_ptr<EVP_PKEY> key_;
  KeyAlgorithm algorithm_ = KeyAlgorithm::EcdsaP256;
  int bits_ = 0;
  std::string id_;
  std::string hint_;
};

// True when `signature` is a valid signature of `message` (the exact bytes) by `key`, with the
// scheme cosign uses for that key type:
// - ECDSA: ASN.1 DER (r, s) over SHA-256 of the message. On P-384 and P-521 SHA-384 and SHA-512
//   are tried as well: cosign v2 verifies every key with SHA-256, sigstore's per-key defaults
//   (newer signers) use the curve's own hash.
// - Ed25519: pure Ed25519 over the message (no pre-hash).
// - RSA: PKCS#1 v1.5 with SHA-256.
// Never throws; a malformed signature is just not valid.
bool verify(const PublicKey& key, std::string_view message, std::string_view signature);

// Keys that are all trusted for one purpose (one policy rule's cosign keys). Sorted by id, each
// key once.
class KeySet {
 public:
  KeySet() : KeySet(std::vector<PublicKey>{}) {}
  explicit KeySet(std::vector<PublicKey> keys);

  const std::vector<PublicKey>& keys() const { return keys_; }
  bool empty() const { return keys_.empty(); }
  std::size_t size() const { return keys_.size(); }
  // Lowercase hex SHA-256 over the sorted key ids (each followed by '\n'): equal sets have equal
  // ids, so verdicts can be cached per (image digest, set id).
  const std::string& id() const { return id_; }
  // The key whose hint() is `hint`, or nullptr.
  const PublicKey* find_by_hint(std::string_view hint) const;
  // The short ids of every key, ", "-separated, for "tried ..." messages.
  std::string short_ids() const;

 private:
  std::vector<PublicKey> keys_;
  std::string id_;
};

// One or more PUBLIC KEY blocks (at most kMaxKeysPerSet), as a config file would give them
// inline. Any other PEM block, or none at all, fails the whole text with `why` naming the block.
std::optional<KeySet> parse_public_keys(std::string_view pem, std::string* why = nullptr);

// The same from a file of at most kMaxKeyFileBytes; `why` names the path.
std::optional<KeySet> load_public_keys(const std::string& path, std::string* why = nullptr);

// Lowercase hex SHA-256 of `bytes`.
std::string sha256_hex(std::string_view bytes);

}  // namespace podgate::trust
