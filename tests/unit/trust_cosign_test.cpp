// lib/trust cosign formats: legacy .sig manifests and simple-signing payloads, referrers indexes,
// referrer manifests and Sigstore bundles, each signed here with freshly generated keys the way
// cosign signs (see docs in lib/trust/cosign.h), plus the failure reasons an operator reads.

#include <catch2/catch.hpp>

#include <string>

#include "trust/cosign.h"
#include "unit/trust_signing.h"

using namespace podgate::trust;
using podgate::test::base64;
using podgate::test::SigningKey;
using Status = Verification::Status;

namespace {

const std::string kDigest = "sha256:" + std::string(64, 'a');
const std::string kOtherDigest = "sha256:" + std::string(64, 'b');

const SigningKey& signer() {
  static const SigningKey k("P-256");
  return k;
}
const SigningKey& stranger() {
  static const SigningKey k("P-256");
  return k;
}

KeySet keys_of(std::initializer_list<const SigningKey*> signers) {
  std::string pem;
  for (const auto* s : signers) pem += s->public_pem();
  auto set = parse_public_keys(pem);
  REQUIRE(set);
  return *set;
}

std::string key_id(const SigningKey& k) { return PublicKey::from_pem(k.public_pem())->id(); }

std::string payload_for(const std::string& digest, const std::string& key = "docker-manifest-digest") {
  return R"({"critical":{"identity":{"docker-reference":"127.0.0.1:5000/test/img"},"image":{")" + key + R"(":")" +
         digest + R"("},"type":"cosign container image signature"},"optional":null})";
}

std::string statement_for(const std::string& hex, const std::string& predicate = std::string(kCosignSignPredicate),
                          const std::string& type = "https://in-toto.io/Statement/v1") {
  return R"({"_type":")" + type + R"(","subject":[{"name":"127.0.0.1:5000/test/img","digest":{"sha256":")" + hex +
         R"("}}],"predicateType":")" + predicate + R"(","predicate":{}})";
}

// A bundle as cosign v3 writes it for a key: publicKey.hint, a DSSE envelope, no tlog entries.
std::string bundle_for(const std::string& statement, const std::string& signature, const std::string& hint,
                       const std::string& payloadType = "application/vnd.in-toto+json") {
  return R"({"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":")" +
         hint + R"("},"tlogEntries":[]},"dsseEnvelope":{"payload":")" + base64(statement) + R"(","payloadType":")" +
         payloadType + R"(","signatures":[{"sig":")" + base64(signature) + R"(","keyid":""}]}})";
}

std::string signed_bundle(const SigningKey& k, const std::string& statement) {
  const std::string pae = dsse_pae("application/vnd.in-toto+json", statement);
  return bundle_for(statement, k.sign(pae), PublicKey::from_pem(k.public_pem())->hint());
}

void check_failed(const Verification& v, std::string_view reasonPart, Status status = Status::Failed) {
  INFO("reason: " << v.reason);
  CHECK(v.status == status);
  CHECK(v.keyId.empty());
  CHECK_THAT(v.reason, Catch::Contains(std::string(reasonPart)));
}

}  // namespace

TEST_CASE("A simple-signing signature by a key of the set verifies and names the key", "[trust]") {
  const std::string payload = payload_for(kDigest);
  for (const char* kind : {"P-256", "ED25519", "RSA-2048"}) {
    const SigningKey k(kind);
    const auto v = verify_simple_signing(payload, base64(k.sign(payload)), kDigest, keys_of({&stranger(), &k}));
    INFO(kind << ": " << v.reason);
    CHECK(v.verified());
    CHECK(v.keyId == key_id(k));
    CHECK(v.reason.empty());
  }
  // The spec's capitalised spelling of the digest key is accepted too.
  const std::string capital = payload_for(kDigest, "Docker-manifest-digest");
  CHECK(verify_simple_signing(capital, base64(signer().sign(capital)), kDigest, keys_of({&signer()})).verified());
}

TEST_CASE("A simple-signing signature fails with a reason an operator can act on", "[trust]") {
  const std::string payload = payload_for(kDigest);
  const std::string sig = base64(signer().sign(payload));
  const KeySet mine = keys_of({&signer()});
  const std::string strangerShort = PublicKey::from_pem(stranger().public_pem())->short_id();

  check_failed(verify_simple_signing(payload, sig, kDigest, keys_of({&stranger()})),
               "the signature does not verify with ecdsa-p256 key " + strangerShort);
  const SigningKey third("ED25519");
  check_failed(verify_simple_signing(payload, sig, kDigest, keys_of({&stranger(), &third})),
               "no key in the set verifies the signature: tried ");
  check_failed(verify_simple_signing(payload + " ", sig, kDigest, mine), "does not verify");  // tampered payload
  std::string flipped = signer().sign(payload);
  flipped[10] = static_cast<char>(flipped[10] ^ 0x40);
  check_failed(verify_simple_signing(payload, base64(flipped), kDigest, mine), "does not verify");

  // Signed, but for another image.
  const std::string other = payload_for(kOtherDigest);
  check_failed(verify_simple_signing(other, base64(signer().sign(other)), kDigest, mine),
               "the signature is for \"" + kOtherDigest + "\", not for this image's " + kDigest);
  // Signed, but not a cosign payload.
  const std::string notCosign = R"({"critical":{"type":"atomic container signature"}})";
  check_failed(verify_simple_signing(notCosign, base64(signer().sign(notCosign)), kDigest, mine),
               "not a cosign container image signature");
  const std::string noDigest = R"({"critical":{"type":"cosign container image signature","image":{}}})";
  check_failed(verify_simple_signing(noDigest, base64(signer().sign(noDigest)), kDigest, mine), "names no image digest");
  const std::string notJson = "not json at all";
  check_failed(verify_simple_signing(notJson, base64(signer().sign(notJson)), kDigest, mine), "not valid JSON");
  const std::string deep = std::string(100, '[') + std::string(100, ']');
  check_failed(verify_simple_signing(deep, base64(signer().sign(deep)), kDigest, mine), "nested deeper");

  check_failed(verify_simple_signing(payload, "%%%", kDigest, mine), "not base64");
  check_failed(verify_simple_signing(payload, "", kDigest, mine), "empty or not base64");
  check_failed(verify_simple_signing(payload, std::string(30000, 'A'), kDigest, mine), "larger than 16 KiB");
  check_failed(verify_simple_signing(payload, sig, "sha256:abc", mine), "is not sha256:<64 hex digits>");
  check_failed(verify_simple_signing(payload, sig, kDigest, KeySet()), "no public key");
  check_failed(verify_simple_signing(std::string(kMaxPayloadBytes + 1, ' '), sig, kDigest, mine), "larger than 1 MiB");
}

TEST_CASE("A .sig manifest lists its simple-signing layers with their signatures", "[trust]") {
  const std::string blobDigest = sha256_digest("payload");
  const std::string manifest = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
    "config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":233,"digest":")" + kOtherDigest + R"("},
    "layers":[
      {"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json","size":7,"digest":")" + blobDigest + R"(",
       "annotations":{"dev.cosignproject.cosign/signature":"MEUCIQ=="}},
      {"mediaType":"application/vnd.oci.image.layer.v1.tar","size":7,"digest":")" + blobDigest + R"("},
      {"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json","size":7,"digest":")" + blobDigest + R"("},
      {"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json","size":7,"digest":"sha512:00",
       "annotations":{"dev.cosignproject.cosign/signature":"MEUCIQ=="}},
      {"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json","size":9,"digest":")" + kDigest + R"(",
       "annotations":{"dev.cosignproject.cosign/signature":"second"}}]})";
  std::string why;
  const auto layers = parse_signature_manifest(manifest, &why);
  INFO(why);
  REQUIRE(layers);
  REQUIRE(layers->size() == 2);
  CHECK(layers->at(0).blob.digest == blobDigest);
  CHECK(layers->at(0).blob.size == 7);
  CHECK(layers->at(0).signatureBase64 == "MEUCIQ==");
  CHECK(layers->at(1).signatureBase64 == "second");

  CHECK(parse_signature_manifest(R"({"schemaVersion":2,"layers":[]})")->empty());
  CHECK_FALSE(parse_signature_manifest(R"({"manifests":[]})", &why));
  CHECK_THAT(why, Catch::Contains("not an image manifest"));
  CHECK_FALSE(parse_signature_manifest("{", &why));
  CHECK_THAT(why, Catch::Contains("not valid JSON"));
  CHECK_FALSE(parse_signature_manifest("[]", &why));
  CHECK_FALSE(parse_signature_manifest(std::string(kMaxManifestBytes + 1, ' '), &why));
  CHECK_THAT(why, Catch::Contains("larger than"));
}

TEST_CASE("A .sig manifest yields at most 32 layers", "[trust]") {
  std::string layers;
  for (int i = 0; i < 40; ++i)
    layers += std::string(i ? "," : "") + R"({"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json","size":1,)" +
              R"("digest":")" + kDigest + R"(","annotations":{"dev.cosignproject.cosign/signature":"AA=="}})";
  const auto parsed = parse_signature_manifest(R"({"layers":[)" + layers + "]}");
  REQUIRE(parsed);
  CHECK(parsed->size() == kMaxSignatureLayers);
}

TEST_CASE("A signature layer's blob must match its descriptor before its signature counts", "[trust]") {
  const std::string payload = payload_for(kDigest);
  const SignatureLayer layer{{std::string(kSimpleSigningMediaType), sha256_digest(payload), payload.size(), "", ""},
                             base64(signer().sign(payload))};
  const KeySet mine = keys_of({&signer()});
  const auto ok = verify_signature_layer(layer, payload, kDigest, mine);
  CHECK(ok.verified());
  CHECK(ok.keyId == key_id(signer()));
  std::string swapped = payload;
  swapped[0] = ' ';
  check_failed(verify_signature_layer(layer, swapped, kDigest, mine), "the payload blob's digest is sha256:");
  check_failed(verify_signature_layer(layer, payload + " ", kDigest, mine), "bytes, its layer says");
}

TEST_CASE("DSSE's pre-authentication encoding counts bytes of the type and the decoded body", "[trust]") {
  CHECK(dsse_pae("http://example.com/HelloWorld", "hello world") ==
        "DSSEv1 29 http://example.com/HelloWorld 11 hello world");
  CHECK(dsse_pae("", "") == "DSSEv1 0  0 ");
  CHECK(dsse_pae("t", "\xc3\xa9") == "DSSEv1 1 t 2 \xc3\xa9");
}

TEST_CASE("A Sigstore bundle verifies over the PAE with the hinted key or any other", "[trust]") {
  const std::string statement = statement_for(std::string(64, 'a'));
  const std::string bundle = signed_bundle(signer(), statement);
  const auto v = verify_bundle(bundle, kDigest, keys_of({&stranger(), &signer()}));
  INFO(v.reason);
  CHECK(v.verified());
  CHECK(v.keyId == key_id(signer()));

  // A hint naming another key of the set (or none of it) only changes the order keys are tried in.
  const std::string pae = dsse_pae("application/vnd.in-toto+json", statement);
  const std::string wrongHint = bundle_for(statement, signer().sign(pae), PublicKey::from_pem(stranger().public_pem())->hint());
  CHECK(verify_bundle(wrongHint, kDigest, keys_of({&stranger(), &signer()})).verified());
  CHECK(verify_bundle(bundle_for(statement, signer().sign(pae), "bm9uZQ=="), kDigest, keys_of({&signer()})).verified());
  // in-toto Statement v0.1 and Ed25519 keys.
  const SigningKey ed("ED25519");
  const std::string old = statement_for(std::string(64, 'a'), std::string(kCosignSignPredicate), "https://in-toto.io/Statement/v0.1");
  CHECK(verify_bundle(signed_bundle(ed, old), kDigest, keys_of({&ed})).verified());
  // URL-safe base64, which protobuf's JSON form also accepts.
  auto url_safe = [](std::string text) {
    for (char& c : text) c = c == '+' ? '-' : c == '/' ? '_' : c;
    return text;
  };
  // Six '?' hold an aligned "???", whose base64 is "Pz8/"; six '>' give "Pj4+".
  const std::string odd = R"({"x":"??????>>>>>>",)" + statement.substr(1);
  CHECK(url_safe(base64(odd)) != base64(odd));
  const std::string sig = base64(signer().sign(dsse_pae("application/vnd.in-toto+json", odd)));
  const std::string urlSafe =
      R"({"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{}},)"
      R"("dsseEnvelope":{"payload":")" + url_safe(base64(odd)) +
      R"(","payloadType":"application/vnd.in-toto+json","signatures":[{"sig":")" + url_safe(sig) + R"("}]}})";
  CHECK(verify_bundle(urlSafe, kDigest, keys_of({&signer()})).verified());
}

TEST_CASE("A Sigstore bundle fails when its signature, statement or subject is wrong", "[trust]") {
  const std::string hex = std::string(64, 'a');
  const std::string statement = statement_for(hex);
  const KeySet mine = keys_of({&signer()});
  check_failed(verify_bundle(signed_bundle(signer(), statement), kDigest, keys_of({&stranger()})),
               "does not verify with ecdsa-p256 key");
  // The signature is over the raw statement, not over the PAE.
  const std::string hint = PublicKey::from_pem(signer().public_pem())->hint();
  check_failed(verify_bundle(bundle_for(statement, signer().sign(statement), hint), kDigest, mine), "does not verify");
  // A statement swapped under a signature made for another.
  const std::string pae = dsse_pae("application/vnd.in-toto+json", statement);
  check_failed(verify_bundle(bundle_for(statement_for(std::string(64, 'c')), signer().sign(pae), hint),
                             "sha256:" + std::string(64, 'c'), mine),
               "does not verify");
  check_failed(verify_bundle(signed_bundle(signer(), statement_for(std::string(64, 'b'))), kDigest, mine),
               "subjects do not include this image's digest " + kDigest);
  check_failed(verify_bundle(bundle_for(statement, signer().sign(pae), hint, "text/plain"), kDigest, mine),
               "payloadType is \"text/plain\"");
  check_failed(verify_bundle(signed_bundle(signer(), R"({"_type":"other"})"), kDigest, mine), "not an in-toto Statement");
  check_failed(verify_bundle(signed_bundle(signer(), statement_for(hex, "https://slsa.dev/provenance/v1")), kDigest, mine),
               "an attestation of predicateType \"https://slsa.dev/provenance/v1\"", Status::NotASignature);
}

TEST_CASE("Keyless and message-signature bundles are reported as unsupported", "[trust]") {
  const KeySet mine = keys_of({&signer()});
  const std::string keyless =
      R"({"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"certificate":{"rawBytes":"MIIB"},"tlogEntries":[]},"dsseEnvelope":{"payload":"e30=","payloadType":"application/vnd.in-toto+json","signatures":[{"sig":"MEUC"}]}})";
  check_failed(verify_bundle(keyless, kDigest, mine), "keyless", Status::Unsupported);
  const std::string chain =
      R"({"mediaType":"application/vnd.dev.sigstore.bundle+json;version=0.2","verificationMaterial":{"x509CertificateChain":{"certificates":[]}},"messageSignature":{}})";
  check_failed(verify_bundle(chain, kDigest, mine), "keyless", Status::Unsupported);
  const std::string message =
      R"({"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":"x"}},"messageSignature":{"messageDigest":{"algorithm":"SHA2_256","digest":"AA=="},"signature":"AA=="}})";
  check_failed(verify_bundle(message, kDigest, mine), "message-signature bundle", Status::Unsupported);
}

TEST_CASE("Malformed bundles give errors, not crashes", "[trust]") {
  const KeySet mine = keys_of({&signer()});
  check_failed(verify_bundle("", kDigest, mine), "not valid JSON");
  check_failed(verify_bundle("[1]", kDigest, mine), "not a JSON object");
  check_failed(verify_bundle(R"({"mediaType":"application/json"})", kDigest, mine), "not a Sigstore bundle");
  const std::string head = R"({"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json",)";
  check_failed(verify_bundle(head + R"("dsseEnvelope":{}})", kDigest, mine), "no verificationMaterial");
  check_failed(verify_bundle(head + R"("verificationMaterial":{}})", kDigest, mine), "neither a dsseEnvelope");
  const std::string material = head + R"("verificationMaterial":{"publicKey":{}},)";
  check_failed(verify_bundle(material + R"("dsseEnvelope":{"payloadType":"application/vnd.in-toto+json","payload":"***"}})",
                             kDigest, mine),
               "the DSSE payload is missing, not base64");
  check_failed(verify_bundle(material + R"("dsseEnvelope":{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[{"sig":"!"},{"keyid":"k"}]}})",
                             kDigest, mine),
               "no usable signature");
  check_failed(verify_bundle(material + R"("dsseEnvelope":[]})", kDigest, mine), "payloadType");
  check_failed(verify_bundle(std::string(kMaxPayloadBytes + 1, ' '), kDigest, mine), "larger than");
  std::string deep;
  for (int i = 0; i < 200; ++i) deep += R"({"a":)";
  check_failed(verify_bundle(deep + "1" + std::string(200, '}'), kDigest, mine), "nested deeper");
}

TEST_CASE("A referrers index yields the cosign signature bundles only", "[trust]") {
  const std::string index = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
    {"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/vnd.dev.sigstore.bundle.v0.3+json",
     "digest":")" + kDigest + R"(","size":1234,
     "annotations":{"dev.sigstore.bundle.content":"dsse-envelope","dev.sigstore.bundle.predicateType":"https://sigstore.dev/cosign/sign/v1"}},
    {"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/vnd.dev.sigstore.bundle.v0.3+json",
     "digest":")" + kOtherDigest + R"(","size":99,
     "annotations":{"dev.sigstore.bundle.predicateType":"https://slsa.dev/provenance/v1"}},
    {"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/spdx+json","digest":")" + kDigest + R"(","size":5},
    {"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/vnd.dev.sigstore.bundle.v0.3+json",
     "digest":")" + kOtherDigest + R"(","size":77}]})";
  std::string why;
  const auto found = parse_referrers(index, &why);
  INFO(why);
  REQUIRE(found);
  REQUIRE(found->size() == 2);
  CHECK(found->at(0).digest == kDigest);
  CHECK(found->at(0).size == 1234);
  CHECK(found->at(0).predicateType == kCosignSignPredicate);
  CHECK(found->at(1).size == 77);
  CHECK(parse_referrers(R"({"manifests":[]})")->empty());
  // go-containerregistry's referrers API names a referrer's artifactType after its config (the
  // empty descriptor): a candidate, whose manifest then tells whether it holds a bundle.
  const auto derived = parse_referrers(R"({"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json",
      "artifactType":"application/vnd.oci.empty.v1+json","digest":")" + kDigest + R"(","size":9}]})");
  REQUIRE(derived);
  CHECK(derived->size() == 1);
  CHECK_FALSE(parse_referrers(R"({"layers":[]})", &why));
  CHECK_THAT(why, Catch::Contains("not an image index"));

  std::string many;
  for (int i = 0; i < 50; ++i)
    many += std::string(i ? "," : "") + R"({"artifactType":"application/vnd.dev.sigstore.bundle.v0.3+json","digest":")" +
            kDigest + R"(","size":1})";
  CHECK(parse_referrers(R"({"manifests":[)" + many + "]}")->size() == kMaxReferrers);
}

TEST_CASE("A referrer manifest gives its bundle layer when its subject is the image", "[trust]") {
  const std::string bundleDigest = sha256_digest("bundle");
  auto manifest = [&](const std::string& subject, const std::string& layers) {
    return R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
      "artifactType":"application/vnd.dev.sigstore.bundle.v0.3+json",
      "config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},
      "layers":[)" + layers + R"(],
      "subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" + subject + R"(","size":500},
      "annotations":{"dev.sigstore.bundle.content":"dsse-envelope","dev.sigstore.bundle.predicateType":"https://sigstore.dev/cosign/sign/v1"}})";
  };
  const std::string layer =
      R"({"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","digest":")" + bundleDigest + R"(","size":6})";
  std::string why;
  const auto d = parse_bundle_manifest(manifest(kDigest, layer), kDigest, &why);
  INFO(why);
  REQUIRE(d);
  CHECK(d->digest == bundleDigest);
  CHECK(d->size == 6);
  CHECK(d->predicateType == kCosignSignPredicate);

  CHECK_FALSE(parse_bundle_manifest(manifest(kOtherDigest, layer), kDigest, &why));
  CHECK_THAT(why, Catch::Contains("subject is \"" + kOtherDigest + "\", not " + kDigest));
  CHECK_FALSE(parse_bundle_manifest(manifest(kDigest, ""), kDigest, &why));
  CHECK_THAT(why, Catch::Contains("0 bundle layers"));
  CHECK_FALSE(parse_bundle_manifest(manifest(kDigest, layer + "," + layer), kDigest, &why));
  CHECK_THAT(why, Catch::Contains("2 bundle layers"));
  CHECK_FALSE(parse_bundle_manifest(R"({"layers":[]})", kDigest, &why));
  CHECK_THAT(why, Catch::Contains("no subject"));
  CHECK_FALSE(parse_bundle_manifest("null", kDigest, &why));
}
