// lib/trust keys: PEM public keys of each accepted kind, the refusals an operator sees for
// everything else, key ids and hints, key sets, and signature checks with keys generated here.

#include <catch2/catch.hpp>

#include <string>

#include "support/temp_dir.h"
#include "trust/keys.h"
#include "unit/trust_signing.h"

using namespace podgate::trust;
using podgate::test::SigningKey;

namespace {

const SigningKey& p256() {
  static const SigningKey k("P-256");
  return k;
}
const SigningKey& ed25519() {
  static const SigningKey k("ED25519");
  return k;
}
const SigningKey& rsa2048() {
  static const SigningKey k("RSA-2048");
  return k;
}

PublicKey load(const SigningKey& k) {
  std::string why;
  auto key = PublicKey::from_pem(k.public_pem(), &why);
  INFO(why);
  REQUIRE(key);
  return *key;
}

std::string refusal(std::string_view pem) {
  std::string why;
  CHECK_FALSE(PublicKey::from_pem(pem, &why));
  CHECK_FALSE(parse_public_keys(pem));
  return why;
}

}  // namespace

TEST_CASE("Each accepted key kind loads with its algorithm and size", "[trust]") {
  CHECK(load(p256()).algorithm() == KeyAlgorithm::EcdsaP256);
  CHECK(load(SigningKey("P-384")).algorithm() == KeyAlgorithm::EcdsaP384);
  CHECK(load(SigningKey("P-521")).algorithm() == KeyAlgorithm::EcdsaP521);
  CHECK(load(ed25519()).algorithm() == KeyAlgorithm::Ed25519);
  const PublicKey rsa = load(rsa2048());
  CHECK(rsa.algorithm() == KeyAlgorithm::Rsa);
  CHECK(rsa.bits() == 2048);
  CHECK(load(p256()).describe() == "ecdsa-p256 key " + load(p256()).short_id());
}

TEST_CASE("A key's id is the hex SHA-256 of its DER SPKI and its hint the base64 of it", "[trust]") {
  const PublicKey key = load(p256());
  const std::string digest = podgate::test::sha256_raw(p256().public_der());
  CHECK(key.id() == sha256_hex(p256().public_der()));
  CHECK(key.id().size() == 64);
  CHECK(key.short_id() == key.id().substr(0, 12));
  CHECK(key.hint() == podgate::test::base64(digest));
  CHECK(key.hint().size() == 44);
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_CASE("Signatures verify with the signing key only", "[trust]") {
  const std::string message = R"({"critical":{"type":"cosign container image signature"}})";
  for (const SigningKey* k : {&p256(), &ed25519(), &rsa2048()}) {
    const PublicKey key = load(*k);
    INFO(key.describe());
    const std::string signature = k->sign(message);
    CHECK(verify(key, message, signature));
    CHECK_FALSE(verify(key, message + " ", signature));  // tampered message
    std::string tampered = signature;
    tampered[tampered.size() / 2] = static_cast<char>(tampered[tampered.size() / 2] ^ 0x01);
    CHECK_FALSE(verify(key, message, tampered));
    CHECK_FALSE(verify(key, message, ""));
    CHECK_FALSE(verify(key, message, "garbage"));
    CHECK_FALSE(verify(key, message, std::string(20000, 'x')));  // past the signature bound
  }
  // Another key of the same kind, and a key of another kind.
  CHECK_FALSE(verify(load(SigningKey("P-256")), message, p256().sign(message)));
  CHECK_FALSE(verify(load(ed25519()), message, p256().sign(message)));
  CHECK_FALSE(verify(load(rsa2048()), message, p256().sign(message)));
  // The empty message is a message too.
  CHECK(verify(load(ed25519()), "", ed25519().sign("")));
  CHECK(verify(load(p256()), "", p256().sign("")));
}

TEST_CASE("ECDSA uses cosign's hash: SHA-256 on P-256, also the curve's own hash on larger curves", "[trust]") {
  const std::string message = "payload";
  CHECK_FALSE(verify(load(p256()), message, p256().sign(message, "SHA384")));
  const SigningKey p384("P-384");
  CHECK(verify(load(p384), message, p384.sign(message, "SHA256")));
  CHECK(verify(load(p384), message, p384.sign(message, "SHA384")));
  CHECK_FALSE(verify(load(p384), message, p384.sign(message, "SHA1")));
  const SigningKey p521("P-521");
  CHECK(verify(load(p521), message, p521.sign(message, "SHA512")));
  // RSA is PKCS#1 v1.5 with SHA-256 only.
  CHECK_FALSE(verify(load(rsa2048()), message, rsa2048().sign(message, "SHA512")));
}

TEST_CASE("Private keys, certificates and other kinds of keys are refused with what to give instead", "[trust]") {
  CHECK_THAT(refusal(p256().private_pem()), Catch::Contains("a private key") && Catch::Contains("public"));
  CHECK_THAT(refusal("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n"),
             Catch::Contains("a private key") && Catch::Contains("cosign.pub"));
  CHECK_THAT(refusal("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"),
             Catch::Contains("a certificate") && Catch::Contains("openssl x509 -pubkey"));
  CHECK_THAT(refusal("-----BEGIN RSA PUBLIC KEY-----\nMIIB\n-----END RSA PUBLIC KEY-----\n"),
             Catch::Contains("PKCS#1"));
  CHECK_THAT(refusal(SigningKey("RSA-1024").public_pem()), Catch::Contains("1024 bits"));
  CHECK_THAT(refusal(SigningKey("secp256k1").public_pem()), Catch::Contains("secp256k1") && Catch::Contains("P-256"));
  CHECK_THAT(refusal(SigningKey("ED448").public_pem()), Catch::Contains("ED448") && Catch::Contains("supported"));
}

TEST_CASE("Malformed PEM gives an error, not a crash", "[trust]") {
  CHECK_THAT(refusal(""), Catch::Contains("no PEM block"));
  CHECK_THAT(refusal("just some text"), Catch::Contains("no PEM block"));
  CHECK_THAT(refusal("-----BEGIN PUBLIC KEY-----\nMFkw\n"), Catch::Contains("without its END"));
  CHECK_THAT(refusal("-----BEGIN PUBLIC KEY\nMFkw\n-----END PUBLIC KEY-----"), Catch::Contains("malformed"));
  CHECK_THAT(refusal("-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----"), Catch::Contains("base64"));
  CHECK_THAT(refusal("-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----"), Catch::Contains("base64"));
  CHECK_THAT(refusal("-----BEGIN PUBLIC KEY-----\naGVsbG8gd29ybGQ=\n-----END PUBLIC KEY-----"),
             Catch::Contains("not a valid SubjectPublicKeyInfo"));
  // A valid SPKI with bytes after it.
  const std::string padded = "-----BEGIN PUBLIC KEY-----\n" + podgate::test::base64(p256().public_der() + "xx") +
                             "\n-----END PUBLIC KEY-----\n";
  CHECK_THAT(refusal(padded), Catch::Contains("bytes after"));
  // A truncated one.
  const std::string der = p256().public_der();
  const std::string cut = "-----BEGIN PUBLIC KEY-----\n" + podgate::test::base64(der.substr(0, der.size() - 3)) +
                          "\n-----END PUBLIC KEY-----\n";
  CHECK_THAT(refusal(cut), Catch::Contains("SubjectPublicKeyInfo"));
  // from_pem wants exactly one block.
  std::string why;
  CHECK_FALSE(PublicKey::from_pem(p256().public_pem() + ed25519().public_pem(), &why));
  CHECK_THAT(why, Catch::Contains("more than one"));
}

TEST_CASE("A key set holds each key once, sorted, with an id independent of order", "[trust]") {
  const std::string a = p256().public_pem();
  const std::string b = ed25519().public_pem();
  const std::string c = rsa2048().public_pem();
  std::string why;
  const auto abc = parse_public_keys("# cosign.pub files\n" + a + "\n" + b + c, &why);
  INFO(why);
  REQUIRE(abc);
  CHECK(abc->size() == 3);
  const auto cba = parse_public_keys(c + b + a + a);
  REQUIRE(cba);
  CHECK(cba->size() == 3);
  CHECK(abc->id() == cba->id());
  CHECK(abc->id().size() == 64);
  CHECK(abc->id() != parse_public_keys(a + b)->id());
  CHECK(abc->keys().front().id() < abc->keys().back().id());

  const PublicKey ed = load(ed25519());
  REQUIRE(abc->find_by_hint(ed.hint()));
  CHECK(abc->find_by_hint(ed.hint())->id() == ed.id());
  CHECK(abc->find_by_hint("nope") == nullptr);
  CHECK_THAT(abc->short_ids(), Catch::Contains(ed.short_id()) && Catch::Contains(", "));
  CHECK(KeySet().id() == sha256_hex(""));
}

TEST_CASE("A key set is refused as a whole when one block is not a usable key", "[trust]") {
  std::string why;
  CHECK_FALSE(parse_public_keys(p256().public_pem() + p256().private_pem(), &why));
  CHECK_THAT(why, Catch::StartsWith("PEM block 2: a private key"));
  std::string many;
  for (std::size_t i = 0; i <= kMaxKeysPerSet; ++i) many += p256().public_pem();
  CHECK_FALSE(parse_public_keys(many, &why));
  CHECK_THAT(why, Catch::Contains("more than 32 PEM blocks"));
}

TEST_CASE("Key files load under a size bound", "[trust]") {
  podgate::test::TempDir dir;
  std::string why;
  const auto set = load_public_keys(dir.write("cosign.pub", p256().public_pem()), &why);
  INFO(why);
  REQUIRE(set);
  CHECK(set->keys().front().id() == load(p256()).id());

  CHECK_FALSE(load_public_keys(dir.file("missing.pub"), &why));
  CHECK_THAT(why, Catch::Contains("cannot read") && Catch::Contains("missing.pub"));
  CHECK_FALSE(load_public_keys(dir.write("big.pub", p256().public_pem() + std::string(kMaxKeyFileBytes, '#')), &why));
  CHECK_THAT(why, Catch::Contains("larger than 64 KiB"));
  CHECK_FALSE(load_public_keys(dir.write("key.pem", p256().private_pem()), &why));
  CHECK_THAT(why, Catch::Contains("key.pem") && Catch::Contains("private key"));
  CHECK_FALSE(load_public_keys(dir.path(), &why));  // a directory
}
