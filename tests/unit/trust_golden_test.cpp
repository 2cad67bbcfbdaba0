// lib/trust against signatures made by the real cosign (tests/fixtures/cosign/, see its README):
// a legacy .sig signature and a Sigstore bundle referrer, both accepted with the committed
// cosign.pub and refused with another key.

#include <catch2/catch.hpp>

#include <string>

#include "support/temp_dir.h"
#include "trust/cosign.h"
#include "unit/trust_signing.h"

using namespace podgate::trust;

namespace {

std::string fixture(const std::string& name) {
  return podgate::test::read_file(std::string(PODGATE_FIXTURES_DIR) + "/cosign/" + name);
}

std::string image_digest() {
  std::string d = fixture("image-digest.txt");
  while (!d.empty() && (d.back() == '\n' || d.back() == '\r')) d.pop_back();
  REQUIRE(is_sha256_digest(d));
  return d;
}

KeySet cosign_pub() {
  std::string why;
  auto keys = load_public_keys(std::string(PODGATE_FIXTURES_DIR) + "/cosign/cosign.pub", &why);
  INFO(why);
  REQUIRE(keys);
  REQUIRE(keys->size() == 1);
  return *keys;
}

KeySet another_key() {
  auto keys = parse_public_keys(podgate::test::SigningKey("P-256").public_pem());
  REQUIRE(keys);
  return *keys;
}

}  // namespace

TEST_CASE("A legacy signature made by cosign verifies with its cosign.pub only", "[trust]") {
  const std::string digest = image_digest();
  std::string why;
  const auto layers = parse_signature_manifest(fixture("legacy-sig-manifest.json"), &why);
  INFO(why);
  REQUIRE(layers);
  REQUIRE(layers->size() == 1);
  const std::string payload = fixture("legacy-payload.json");

  const KeySet keys = cosign_pub();
  const auto v = verify_signature_layer(layers->front(), payload, digest, keys);
  INFO(v.reason);
  CHECK(v.verified());
  CHECK(v.keyId == keys.keys().front().id());

  const auto other = verify_signature_layer(layers->front(), payload, digest, another_key());
  CHECK(other.status == Verification::Status::Failed);
  CHECK_THAT(other.reason, Catch::Contains("does not verify"));
  // The same signature presented for another image.
  const auto elsewhere = verify_signature_layer(layers->front(), payload, "sha256:" + std::string(64, '0'), keys);
  CHECK_THAT(elsewhere.reason, Catch::Contains("the signature is for \"" + digest + "\""));
}

TEST_CASE("A Sigstore bundle made by cosign v3 is found through its referrer and verifies", "[trust]") {
  const std::string digest = image_digest();
  std::string why;
  const std::string manifest = fixture("bundle-referrer-manifest.json");
  const auto referrers = parse_referrers(fixture("bundle-referrers-index.json"), &why);
  INFO(why);
  REQUIRE(referrers);
  REQUIRE(referrers->size() == 1);
  CHECK(referrers->front().digest == sha256_digest(manifest));
  CHECK(referrers->front().size == manifest.size());

  const auto layer = parse_bundle_manifest(manifest, digest, &why);
  REQUIRE(layer);
  const std::string bundle = fixture("bundle.json");
  CHECK(layer->digest == sha256_digest(bundle));
  CHECK(layer->predicateType == kCosignSignPredicate);

  const KeySet keys = cosign_pub();
  CHECK_THAT(bundle, Catch::Contains(keys.keys().front().hint()));  // cosign's hint is our hint
  const auto v = verify_bundle(bundle, digest, keys);
  INFO(v.reason);
  CHECK(v.verified());
  CHECK(v.keyId == keys.keys().front().id());

  const auto other = verify_bundle(bundle, digest, another_key());
  CHECK(other.status == Verification::Status::Failed);
  CHECK_THAT(other.reason, Catch::Contains("does not verify"));
  CHECK_THAT(verify_bundle(bundle, "sha256:" + std::string(64, '0'), keys).reason,
             Catch::Contains("subjects do not include"));
}
