// The cosign test tooling itself (tests/support/cosign.h): real cosign v3.1.3 signs images in the
// real test registry in both formats, cosign's own verify accepts them with the right key and
// refuses another key, the objects are where cosign.h says, each is checked with OpenSSL
// independently of cosign, and every tampering helper makes something cosign refuses.
// Skipped, with a loud WARN, when PODGATE_COSIGN_BIN is unset (scripts/test.sh sets it).

#include <catch2/catch.hpp>

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
  SECTION("the signed image's bundle with a changed statement, and its legacy payload changed") {
    cs::Dsse dsse = cs::bundle_dsse(bundle.bundle);
    dsse.payload.insert(dsse.payload.find("\"predicateType\""), " ");  // same meaning, other bytes
    cs::BundleSignature forged = bundle;
    forged.bundle = cs::with_dsse(bundle.bundle, dsse);
    cs::write_bundle(ep, "team/app", signedDigest, forged);
    cs::LegacySignature forgedLegacy = legacy;
    forgedLegacy.payload.insert(forgedLegacy.payload.find("\"optional\""), " ");
    cs::write_legacy(ep, "team/app", signedDigest, forgedLegacy);
    CHECK(cs::read_bundle(ep, "team/app", signedDigest).bundle == forged.bundle);
    CHECK(cs::read_legacy(ep, "team/app", signedDigest).payload == forgedLegacy.payload);
    const cs::Result r = cs::verify(reg, "team/app@" + signedDigest, key);
    CHECK_FALSE(r.ok());
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
