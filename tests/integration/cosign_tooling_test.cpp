// The cosign test tooling itself (tests/support/cosign.h): real cosign v3.1.3 signs images in the
// real test registry in both formats, cosign's own verify accepts them with the right key and
// refuses another key, the objects are where cosign.h says, each is checked with OpenSSL
// independently of cosign, and every tampering helper makes something cosign refuses.
// Skipped, with a loud WARN, when PODGATE_COSIGN_BIN is unset (scripts/test.sh sets it).

#include <catch2/catch.hpp>
#include <openssl/evp.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "support/cosign.h"
#include "support/process.h"
#include "support/temp_dir.h"
#include "support/test_registry.h"

using namespace std::chrono_literals;
namespace pt = podgate::test;
namespace cs = podgate::test::cosign;

namespace {

bool contains(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

// `openssl dgst -sha256 -verify`: an ECDSA signature over `data`, checked with nothing of cosign's.
bool openssl_verifies(const std::string& publicKeyPem, const std::string& data, const std::string& signature) {
  pt::TempDir dir("podgate-cosign-openssl");
  pt::Process openssl({"/usr/bin/openssl", "dgst", "-sha256", "-verify", dir.write("key.pub", publicKeyPem), "-signature",
                       dir.write("sig", signature), dir.write("data", data)});
  const auto code = openssl.wait_for(30s);
  REQUIRE(code.has_value());
  return *code == 0;
}

// DSSE's pre-authentication encoding: what a bundle's signature covers.
std::string pae(const std::string& type, const std::string& body) {
  return "DSSEv1 " + std::to_string(type.size()) + " " + type + " " + std::to_string(body.size()) + " " + body;
}

std::string hex_of(const std::string& digest) { return digest.substr(std::string("sha256:").size()); }

std::string sha256_digest(const std::string& bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  REQUIRE(EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr) == 1);
  std::string out = "sha256:";
  for (unsigned int i = 0; i < len; ++i) {
    out += "0123456789abcdef"[md[i] >> 4];
    out += "0123456789abcdef"[md[i] & 15];
  }
  return out;
}

std::string fixture(const std::string& name) { return pt::read_file(std::string(PODGATE_FIXTURES_DIR) + "/cosign-tooling/" + name); }

}  // namespace

TEST_CASE("cosign legacy format: sha256-HEX.sig tag, simple-signing payload, verified by cosign and by OpenSSL",
          "[cosign]") {
  if (!cs::available()) return;
  pt::TestRegistry reg;
  pt::TempDir keys("podgate-cosign-keys");
  const cs::Key key = cs::generate_key(keys.path());
  const cs::Key other = cs::generate_key(keys.path(), "other");
  CHECK(contains(pt::read_file(key.privateKeyFile), "ENCRYPTED SIGSTORE PRIVATE KEY"));
  CHECK(contains(key.publicKeyPem, "-----BEGIN PUBLIC KEY-----"));
  const std::string digest = reg.push_image("team/app", "1.0");
  const std::string ref = "team/app@" + digest;
  const cs::Endpoint ep = cs::endpoint(reg);

  cs::sign(reg, ref, key, cs::Format::Legacy);
  const cs::Result good = cs::verify(reg, ref, key);
  INFO(good.err);
  CHECK(good.ok());
  const cs::Result wrong = cs::verify(reg, ref, other);
  CHECK_FALSE(wrong.ok());

  const cs::LegacySignature sig = cs::read_legacy(ep, "team/app", digest);
  CHECK(sig.tag == "sha256-" + hex_of(digest) + ".sig");
  CHECK(sig.layers == 1);
  CHECK(contains(sig.manifest, R"("mediaType":"application/vnd.dev.cosign.simplesigning.v1+json")"));
  CHECK(contains(sig.payload, R"("docker-manifest-digest":")" + digest + "\""));
  CHECK(contains(sig.payload, R"("type":"cosign container image signature")"));
  CHECK(openssl_verifies(key.publicKeyPem, sig.payload, cs::base64_decode(sig.signatureBase64)));
  CHECK_FALSE(openssl_verifies(other.publicKeyPem, sig.payload, cs::base64_decode(sig.signatureBase64)));
  // Nothing of the bundle format: no referrers tag; docker-registry 2.8 has no referrers API.
  CHECK(cs::get_manifest(ep, "team/app", cs::referrers_tag(digest)).status == 404);
  CHECK(cs::get_referrers(ep, "team/app", digest).status == 404);

  // A second signer appends a layer to the same manifest; cosign then accepts either key.
  cs::sign(reg, ref, other, cs::Format::Legacy);
  CHECK(cs::read_legacy(ep, "team/app", digest).layers == 2);
  CHECK(cs::verify(reg, ref, other).ok());
}

TEST_CASE("cosign bundle format: referrers-tag fallback index, referrer manifest, DSSE bundle", "[cosign]") {
  if (!cs::available()) return;
  pt::TestRegistry reg;
  pt::TempDir keys("podgate-cosign-keys");
  const cs::Key key = cs::import_openssl_key(keys.path());
  const cs::Key other = cs::generate_key(keys.path(), "other");
  CHECK(std::filesystem::exists(key.opensslKeyFile));
  const std::string digest = reg.push_image("team/app", "2.0");
  const std::string ref = "team/app@" + digest;
  const cs::Endpoint ep = cs::endpoint(reg);

  cs::sign(reg, ref, key, cs::Format::Bundle);
  const cs::Result good = cs::verify(reg, ref, key);
  INFO(good.err);
  CHECK(good.ok());
  CHECK_FALSE(cs::verify(reg, ref, other).ok());

  const cs::BundleSignature sig = cs::read_bundle(ep, "team/app", digest);
  CHECK_FALSE(sig.viaReferrersApi);
  CHECK(sig.indexTag == "sha256-" + hex_of(digest));
  CHECK(contains(sig.index, R"("mediaType":"application/vnd.oci.image.index.v1+json")"));
  CHECK(contains(sig.index, R"("artifactType":"application/vnd.dev.sigstore.bundle.v0.3+json")"));
  CHECK(contains(sig.manifest, R"("artifactType":"application/vnd.dev.sigstore.bundle.v0.3+json")"));
  CHECK(contains(sig.manifest, R"("mediaType":"application/vnd.oci.empty.v1+json")"));
  CHECK(contains(sig.manifest, R"("subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":)"));
  CHECK(contains(sig.manifest, "\"digest\":\"" + digest + "\""));
  CHECK(contains(sig.manifest, R"("dev.sigstore.bundle.content":"dsse-envelope")"));
  CHECK(contains(sig.manifest, R"("dev.sigstore.bundle.predicateType":"https://sigstore.dev/cosign/sign/v1")"));
  CHECK(contains(sig.bundle, R"("mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json")"));
  CHECK(contains(sig.bundle, R"("publicKey":{"hint":)"));

  const cs::Dsse dsse = cs::bundle_dsse(sig.bundle);
  CHECK(dsse.payloadType == "application/vnd.in-toto+json");
  CHECK(contains(dsse.payload, R"("predicateType":"https://sigstore.dev/cosign/sign/v1")"));
  CHECK(contains(dsse.payload, R"({"sha256":")" + hex_of(digest) + "\"}"));
  CHECK(openssl_verifies(key.publicKeyPem, pae(dsse.payloadType, dsse.payload), dsse.signature));
  CHECK_FALSE(openssl_verifies(key.publicKeyPem, dsse.payload, dsse.signature));  // PAE, not the raw payload
  // Nothing of the legacy format.
  CHECK(cs::get_manifest(ep, "team/app", cs::legacy_tag(digest)).status == 404);
}

TEST_CASE("cosign tampering helpers: every forged signature is refused by cosign verify", "[cosign]") {
  if (!cs::available()) return;
  pt::TestRegistry reg;
  pt::TempDir keys("podgate-cosign-keys");
  const cs::Key key = cs::generate_key(keys.path());
  const cs::Endpoint ep = cs::endpoint(reg);
  const std::string signedDigest = reg.push_image("team/app", "signed");
  const std::string otherDigest = reg.push_image("team/app", "unsigned");
  cs::sign(reg, "team/app@" + signedDigest, key, cs::Format::Legacy);
  cs::sign(reg, "team/app@" + signedDigest, key, cs::Format::Bundle);
  REQUIRE(cs::verify(reg, "team/app@" + signedDigest, key).ok());
  const cs::LegacySignature legacy = cs::read_legacy(ep, "team/app", signedDigest);
  const cs::BundleSignature bundle = cs::read_bundle(ep, "team/app", signedDigest);

  SECTION("a legacy signature copied to another image's .sig tag") {
    cs::write_legacy(ep, "team/app", otherDigest, legacy);
    CHECK(cs::read_legacy(ep, "team/app", otherDigest).payload == legacy.payload);
    CHECK_FALSE(cs::verify(reg, "team/app@" + otherDigest, key).ok());
  }
  SECTION("a bundle moved to another image (subject rewritten, statement unchanged)") {
    const std::string moved = cs::write_bundle(ep, "team/app", otherDigest, bundle);
    const cs::BundleSignature read = cs::read_bundle(ep, "team/app", otherDigest);
    CHECK(read.manifestDigest == moved);
    CHECK(read.bundle == bundle.bundle);
    CHECK_FALSE(cs::verify(reg, "team/app@" + otherDigest, key).ok());
  }
  SECTION("the signed image's bundle with a changed statement: refused, the valid .sig beside it does not help") {
    cs::Dsse dsse = cs::bundle_dsse(bundle.bundle);
    dsse.payload.insert(dsse.payload.find("\"predicateType\""), " ");  // same meaning, other bytes
    cs::BundleSignature forged = bundle;
    forged.bundle = cs::with_dsse(bundle.bundle, dsse);
    cs::write_bundle(ep, "team/app", signedDigest, forged);
    CHECK(cs::read_bundle(ep, "team/app", signedDigest).bundle == forged.bundle);
    CHECK(cs::read_legacy(ep, "team/app", signedDigest).payload == legacy.payload);
    CHECK_FALSE(cs::verify(reg, "team/app@" + signedDigest, key).ok());
  }
  SECTION("a legacy-only image: its payload changed, or another image's signature in its annotation") {
    const std::string legacyOnly = reg.push_image("team/app", "legacy-only");
    cs::sign(reg, "team/app@" + legacyOnly, key, cs::Format::Legacy);
    REQUIRE(cs::verify(reg, "team/app@" + legacyOnly, key).ok());
    const cs::LegacySignature original = cs::read_legacy(ep, "team/app", legacyOnly);
    cs::LegacySignature forged = original;
    forged.payload.insert(forged.payload.find("\"optional\""), " ");
    cs::write_legacy(ep, "team/app", legacyOnly, forged);
    CHECK(cs::read_legacy(ep, "team/app", legacyOnly).payload == forged.payload);
    CHECK_FALSE(cs::verify(reg, "team/app@" + legacyOnly, key).ok());
    forged = original;
    forged.signatureBase64 = legacy.signatureBase64;
    cs::write_legacy(ep, "team/app", legacyOnly, forged);
    CHECK_FALSE(cs::verify(reg, "team/app@" + legacyOnly, key).ok());
    cs::write_legacy(ep, "team/app", legacyOnly, original);  // and back: valid again
    CHECK(cs::verify(reg, "team/app@" + legacyOnly, key).ok());
  }
  SECTION("unchanged objects written back still verify (the helpers themselves change nothing else)") {
    cs::write_bundle(ep, "team/app", signedDigest, bundle);
    cs::write_legacy(ep, "team/app", signedDigest, legacy);
    const cs::Result r = cs::verify(reg, "team/app@" + signedDigest, key);
    INFO(r.err);
    CHECK(r.ok());
  }
}

TEST_CASE("cosign bundle format on a registry with the OCI referrers API: no tag, found by GET referrers",
          "[cosign]") {
  if (!cs::available() || !cs::referrers_registry_available()) return;
  cs::ReferrersRegistry reg;
  const cs::Endpoint ep = reg.endpoint();
  pt::TempDir keys("podgate-cosign-keys");
  const cs::Key key = cs::generate_key(keys.path());
  const cs::Key other = cs::generate_key(keys.path(), "other");
  const std::string digest = cs::push_image(ep, "team/app", "1.0");
  const std::string otherDigest = cs::push_image(ep, "team/app", "2.0");

  cs::sign(ep, "team/app@" + digest, key, cs::Format::Bundle);
  const cs::Result good = cs::verify(ep, "team/app@" + digest, key);
  INFO(good.err);
  CHECK(good.ok());
  CHECK_FALSE(cs::verify(ep, "team/app@" + digest, other).ok());

  const cs::Fetched referrers = cs::get_referrers(ep, "team/app", digest);
  CHECK(referrers.status == 200);
  CHECK(cs::get_manifest(ep, "team/app", cs::referrers_tag(digest)).status == 404);
  const cs::BundleSignature sig = cs::read_bundle(ep, "team/app", digest);
  CHECK(sig.viaReferrersApi);
  CHECK(contains(referrers.body, sig.manifestDigest));
  // The registry's quirk: the entry's artifactType is the config media type.
  CHECK(contains(referrers.body, R"("artifactType":"application/vnd.oci.empty.v1+json")"));

  // Moved to another image: found there by the API, refused by cosign.
  cs::write_bundle(ep, "team/app", otherDigest, sig);
  CHECK(cs::read_bundle(ep, "team/app", otherDigest).bundle == sig.bundle);
  CHECK_FALSE(cs::verify(ep, "team/app@" + otherDigest, key).ok());
}

TEST_CASE("cosign with registry auth: Basic works, TestRegistry's token realm is refused by cosign", "[cosign]") {
  if (!cs::available()) return;
  pt::TempDir keys("podgate-cosign-keys");
  const cs::Key key = cs::generate_key(keys.path());
  pt::RegistryOptions options;
  options.basicAuth = true;
  pt::TestRegistry basic(options);
  const std::string ref = "team/app@" + basic.push_image("team/app", "1.0");
  cs::sign(basic, ref, key, cs::Format::Bundle);
  const cs::Result r = cs::verify(basic, ref, key);
  INFO(r.err);
  CHECK(r.ok());
  cs::Endpoint anonymous = cs::endpoint(basic);  // without the credentials cosign cannot read the image
  anonymous.user.clear();
  anonymous.password.clear();
  CHECK_FALSE(cs::verify(anonymous, ref, key).ok());

  // go-containerregistry >= v0.21 (cosign's) refuses a bearer realm on a loopback or private IP
  // literal unless it is the registry's own host:port; TestRegistry's issuer is 127.0.0.1:<other port>.
  options.basicAuth = false;
  options.tokenAuth = true;
  pt::TestRegistry token(options);
  const std::string tokenRef = "team/app@" + token.push_image("team/app", "1.0");
  CHECK_THROWS_WITH(cs::sign(token, tokenRef, key, cs::Format::Bundle),
                    Catch::Contains("realm host \"127.0.0.1\" is a private or link-local address"));
}

// Needs no cosign: the saved objects hang together as cosign.h describes, checked with OpenSSL,
// so unit tests can rely on them.
TEST_CASE("cosign fixtures are one consistent signing of one image", "[cosign]") {
  const std::string digest = fixture("image-digest.txt").substr(0, 71);
  const std::string pub = fixture("cosign.pub");
  CHECK(sha256_digest(fixture("image-manifest.json")) == digest);

  const std::string sigManifest = fixture("legacy/sig-manifest.json");
  const std::string payload = fixture("legacy/payload.json");
  CHECK(contains(sigManifest, "\"digest\":\"" + sha256_digest(payload) + "\""));
  CHECK(contains(sigManifest, "\"digest\":\"" + sha256_digest(fixture("legacy/sig-config.json")) + "\""));
  CHECK(contains(payload, "\"docker-manifest-digest\":\"" + digest + "\""));
  const std::string annotation = "\"dev.cosignproject.cosign/signature\":\"";
  const size_t at = sigManifest.find(annotation) + annotation.size();
  const std::string signature = cs::base64_decode(sigManifest.substr(at, sigManifest.find('"', at) - at));
  CHECK(openssl_verifies(pub, payload, signature));
  CHECK_FALSE(openssl_verifies(fixture("other.pub"), payload, signature));

  const std::string referrer = fixture("bundle/referrer-manifest.json");
  const std::string bundle = fixture("bundle/bundle.json");
  CHECK(contains(fixture("bundle/referrers-index.json"), "\"digest\":\"" + sha256_digest(referrer) + "\""));
  CHECK(contains(referrer, "\"digest\":\"" + sha256_digest(bundle) + "\""));
  CHECK(contains(referrer, "\"subject\":{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"size\":" +
                               std::to_string(fixture("image-manifest.json").size()) + ",\"digest\":\"" + digest + "\"}"));
  const cs::Dsse dsse = cs::bundle_dsse(bundle);
  CHECK(dsse.payload == fixture("bundle/statement.json"));
  CHECK(contains(dsse.payload, "{\"sha256\":\"" + hex_of(digest) + "\"}"));
  CHECK(openssl_verifies(pub, pae(dsse.payloadType, dsse.payload), dsse.signature));
  CHECK_FALSE(openssl_verifies(fixture("other.pub"), pae(dsse.payloadType, dsse.payload), dsse.signature));
}

// Not run by default (hidden tag): rewrites tests/fixtures/cosign-tooling/ from a fresh signing, for unit
// tests that read cosign's objects without cosign. See that directory's README.md.
//   PODGATE_COSIGN_FIXTURES_OUT=tests/fixtures/cosign-tooling build/tests/podgate_integration_cosign_tooling "[.regenerate-fixtures]"
TEST_CASE("cosign fixtures: regenerate tests/fixtures/cosign-tooling", "[.regenerate-fixtures]") {
  const char* out = std::getenv("PODGATE_COSIGN_FIXTURES_OUT");
  if (!cs::available() || !out) return;
  const std::string dir = out;
  std::filesystem::create_directories(dir + "/legacy");
  std::filesystem::create_directories(dir + "/bundle");
  pt::TestRegistry reg;
  pt::TempDir keys("podgate-cosign-keys");
  const cs::Key key = cs::generate_key(keys.path());
  const cs::Key other = cs::generate_key(keys.path(), "other");
  const cs::Endpoint ep = cs::endpoint(reg);
  const std::string digest = reg.push_image("team/app", "1.0");
  // What cosign asks the registry in each step (its own requests only, in order).
  std::string requests;
  size_t seen = reg.access_log().size();
  const auto log_step = [&](const std::string& step) {
    requests += "# " + step + "\n";
    const auto log = reg.access_log();
    for (size_t i = seen; i < log.size(); ++i) {
      if (!log[i].byFixture) requests += log[i].method + " " + log[i].path + " " + std::to_string(log[i].status) + "\n";
    }
    seen = log.size();
  };
  cs::sign(reg, "team/app@" + digest, key, cs::Format::Legacy);
  log_step("cosign sign --new-bundle-format=false (legacy)");
  cs::sign(reg, "team/app@" + digest, key, cs::Format::Bundle);
  log_step("cosign sign (bundle)");
  REQUIRE(cs::verify(reg, "team/app@" + digest, key).ok());
  log_step("cosign verify (both formats present)");

  const cs::LegacySignature legacy = cs::read_legacy(ep, "team/app", digest);
  const cs::BundleSignature bundle = cs::read_bundle(ep, "team/app", digest);
  pt::write_file(dir + "/cosign.pub", key.publicKeyPem);
  pt::write_file(dir + "/other.pub", other.publicKeyPem);
  pt::write_file(dir + "/image-digest.txt", digest + "\n");
  pt::write_file(dir + "/image-manifest.json", cs::get_manifest(ep, "team/app", digest).body);
  pt::write_file(dir + "/legacy/sig-manifest.json", legacy.manifest);
  pt::write_file(dir + "/legacy/payload.json", legacy.payload);
  pt::write_file(dir + "/legacy/sig-config.json",
                 cs::get_blob(ep, "team/app", legacy.manifest.substr(legacy.manifest.find("sha256:"), 71)).body);
  pt::write_file(dir + "/cosign-requests.txt", requests);
  pt::write_file(dir + "/bundle/referrers-index.json", bundle.index);
  pt::write_file(dir + "/bundle/referrer-manifest.json", bundle.manifest);
  pt::write_file(dir + "/bundle/bundle.json", bundle.bundle);
  const cs::Dsse dsse = cs::bundle_dsse(bundle.bundle);
  pt::write_file(dir + "/bundle/statement.json", dsse.payload);
}
