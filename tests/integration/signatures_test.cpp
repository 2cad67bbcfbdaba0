// rules.images.signatures through `podgate serve`, against signatures made by the real cosign
// v3.1.3 (tests/support/cosign.h) in a real registry on loopback: Debian's docker-registry (no
// referrers API: bundles under the sha256-<hex> referrers tag, and the legacy .sig tag) and
// go-containerregistry's registry with the OCI referrers API. Skipped, with a warning, when the
// cosign tools are not built (scripts/test.sh builds them).

#include <catch2/catch.hpp>

#include <rapidjson/document.h>

#include <future>
#include <string>
#include <vector>

#include "audit/judge.h"
#include "config/config.h"
#include "policy/sources.h"
#include "support/cosign.h"
#include "support/helpers.h"
#include "support/https_client.h"
#include "support/process.h"
#include "support/served_podgate.h"
#include "support/temp_dir.h"
#include "support/test_registry.h"
#include "unit/review_json.h"

namespace pt = podgate::test;
namespace cs = podgate::test::cosign;
using namespace podgate::testing;

namespace {

using namespace std::chrono_literals;

std::string scrape(const pt::ServedPodgate& served) {
  pt::Process curl({"/usr/bin/curl", "-s", "http://127.0.0.1:" + std::to_string(served.metricsPort) + "/metrics"});
  REQUIRE(curl.wait_for(10s) == 0);
  return curl.stdout_text();
}

// The registry part of a config: the TLS registry with its CA, or a plain-HTTP one.
std::string registry_entry(const cs::Endpoint& ep) {
  return "registries:\n  - host: \"" + ep.host + "\"\n" +
         (ep.plainHttp ? std::string("    plainHTTP: true\n") : "    caFile: \"" + ep.caFile + "\"\n");
}

std::string signatures_config(const cs::Endpoint& ep, const std::string& keyFile, const std::string& action = "deny",
                              const std::string& extra = "") {
  return "rules:\n"
         "  images:\n"
         "    action: deny\n"
         "    resolve: {timeout: 5s, cacheTTL: 60s, errorTTL: 5s}\n"
         "    signatures:\n"
         "      - images: [\"" + ep.host + "/team/**\"]\n"
         "        keys: [\"" + keyFile + "\"]\n"
         "        action: " + action + "\n" + extra + registry_entry(ep);
}

struct Answer {
  bool allowed = false;
  std::string message;  // status.message
  std::string images;   // the "images" audit annotation
  std::string warnings;
  std::string body;
};

Answer parse_answer(const std::string& body) {
  rapidjson::Document doc;
  doc.Parse(body.c_str());
  REQUIRE_FALSE(doc.HasParseError());
  const auto& response = doc["response"];
  Answer a;
  a.body = body;
  a.allowed = response["allowed"].GetBool();
  if (response.HasMember("status") && response["status"].HasMember("message"))
    a.message = response["status"]["message"].GetString();
  if (response.HasMember("auditAnnotations") && response["auditAnnotations"].HasMember("images"))
    a.images = response["auditAnnotations"]["images"].GetString();
  if (response.HasMember("warnings"))
    for (const auto& w : response["warnings"].GetArray()) a.warnings += std::string(w.GetString()) + "\n";
  return a;
}

Answer review_pod(const pt::ServedPodgate& served, const std::string& image) {
  const pt::Response r = served.validate(create_review(pod_kind(), pod_spec({list("containers", {container("app", image)})})),
                                         "?timeout=20s");
  INFO(r.body);
  REQUIRE(r.status == 200);
  return parse_answer(r.body);
}

// An image pushed and then signed by `key` in `format`; returns its digest.
std::string signed_image(pt::TestRegistry& reg, const std::string& repo, const std::string& tag, const cs::Key& key,
                         cs::Format format) {
  const std::string digest = reg.push_image(repo, tag);
  cs::sign(reg, repo + "@" + digest, key, format);
  return digest;
}

}  // namespace

TEST_CASE("signatures: cosign's legacy and bundle signatures by the trusted key are admitted, the key named",
          "[signatures][binary]") {
  if (!cs::available()) return;
  pt::TestRegistry reg;
  pt::TempDir keys("podgate-signature-keys");
  const cs::Key key = cs::generate_key(keys.path());
  const std::string legacy = signed_image(reg, "team/legacy", "1", key, cs::Format::Legacy);
  const std::string bundle = signed_image(reg, "team/bundle", "1", key, cs::Format::Bundle);
  REQUIRE(cs::verify(reg, "team/bundle@" + bundle, key).ok());  // cosign's own judgement agrees
  pt::ServedPodgate served(signatures_config(cs::endpoint(reg), key.publicKeyFile));

  const Answer a = review_pod(served, reg.host() + "/team/legacy:1");
  INFO(a.body);
  CHECK(a.allowed);
  CHECK(pt::contains(a.images, "\"signature\":\"verified\""));
  CHECK(pt::contains(a.images, "\"signatureFormat\":\"legacy\""));
  CHECK(pt::contains(a.images, "\"digest\":\"" + legacy + "\""));

  const Answer b = review_pod(served, reg.host() + "/team/bundle:1");
  INFO(b.body);
  CHECK(b.allowed);
  CHECK(pt::contains(b.images, "\"signatureFormat\":\"bundle\""));
  // Pinned by digest: the same check, on the digest as written.
  CHECK(review_pod(served, reg.host() + "/team/bundle@" + bundle).allowed);
  // An image no entry names is not asked about.
  reg.push_image("other/app", "1");
  const Answer other = review_pod(served, reg.host() + "/other/app:1");
  CHECK(other.allowed);
  CHECK_FALSE(pt::contains(other.images, "signature"));

  const std::string metrics = scrape(served);
  CHECK(pt::metric(metrics, "podgate_image_signature_checks_total", {"result=\"verified\""}) == 3);
}

TEST_CASE("signatures: unsigned, another key's, another digest's and tampered signatures are denied, and say why",
          "[signatures][binary]") {
  if (!cs::available()) return;
  pt::TestRegistry reg;
  pt::TempDir keys("podgate-signature-keys");
  const cs::Key key = cs::generate_key(keys.path());
  const cs::Key other = cs::generate_key(keys.path(), "other");
  const cs::Endpoint ep = cs::endpoint(reg);
  reg.push_image("team/unsigned", "1");
  signed_image(reg, "team/otherkey", "1", other, cs::Format::Bundle);
  signed_image(reg, "team/otherkey-legacy", "1", other, cs::Format::Legacy);
  // A valid signature of image A copied to image B's .sig tag (names A's digest), and a bundle
  // moved to B (its statement still names A).
  const std::string a = signed_image(reg, "team/moved", "a", key, cs::Format::Legacy);
  const std::string b = reg.push_image("team/moved", "b");
  cs::write_legacy(ep, "team/moved", b, cs::read_legacy(ep, "team/moved", a));
  const std::string c = signed_image(reg, "team/moved-bundle", "c", key, cs::Format::Bundle);
  const std::string d = reg.push_image("team/moved-bundle", "d");
  cs::write_bundle(ep, "team/moved-bundle", d, cs::read_bundle(ep, "team/moved-bundle", c));
  // A payload changed after signing (the signature no longer covers it).
  const std::string t = signed_image(reg, "team/tampered", "1", key, cs::Format::Legacy);
  cs::LegacySignature sig = cs::read_legacy(ep, "team/tampered", t);
  const auto at = sig.payload.find("\"optional\":null");
  REQUIRE(at != std::string::npos);
  sig.payload.replace(at, std::string("\"optional\":null").size(), "\"optional\":{\"x\":\"y\"}");
  cs::write_legacy(ep, "team/tampered", t, sig);
  REQUIRE_FALSE(cs::verify(reg, "team/tampered@" + t, key).ok());
  REQUIRE_FALSE(cs::verify(reg, "team/moved@" + b, key).ok());

  pt::ServedPodgate served(signatures_config(ep, key.publicKeyFile));
  const std::string h = reg.host();
  struct Case {
    std::string image, says;
  };
  for (const Case& k : std::vector<Case>{
           {h + "/team/unsigned:1", "is not signed by a trusted key"},
           {h + "/team/otherkey:1", "has no valid signature by a trusted key"},
           {h + "/team/otherkey-legacy:1", "has no valid signature by a trusted key"},
           {h + "/team/moved:b", "not for this image"},
           {h + "/team/moved-bundle:d", "has no valid signature by a trusted key"},
           {h + "/team/tampered:1", "does not verify"},
       }) {
    INFO(k.image);
    const Answer r = review_pod(served, k.image);
    INFO(r.body);
    CHECK_FALSE(r.allowed);
    CHECK(pt::contains(r.message, k.says));
    CHECK(pt::contains(r.message, "rules.images.signatures[0]"));
  }
  const std::string metrics = scrape(served);
  CHECK(pt::metric(metrics, "podgate_image_signature_checks_total", {"result=\"unsigned\""}) == 1);
  CHECK(pt::metric(metrics, "podgate_image_signature_checks_total", {"result=\"invalid\""}) == 5);
}

TEST_CASE("signatures: action warn admits an unsigned image with a warning", "[signatures][binary]") {
  if (!cs::available()) return;
  pt::TestRegistry reg;
  pt::TempDir keys("podgate-signature-keys");
  const cs::Key key = cs::generate_key(keys.path());
  reg.push_image("team/unsigned", "1");
  pt::ServedPodgate served(signatures_config(cs::endpoint(reg), key.publicKeyFile, "warn"));
  const Answer r = review_pod(served, reg.host() + "/team/unsigned:1");
  INFO(r.body);
  CHECK(r.allowed);
  CHECK(pt::contains(r.warnings, "is not signed by a trusted key"));
  CHECK(pt::contains(r.images, "\"signature\":\"unsigned\""));
}

TEST_CASE("signatures: the OCI referrers API is asked first, where a registry has it", "[signatures][binary]") {
  if (!cs::available() || !cs::referrers_registry_available()) return;
  cs::ReferrersRegistry reg;
  pt::TempDir keys("podgate-signature-keys");
  const cs::Key key = cs::generate_key(keys.path());
  const cs::Endpoint ep = reg.endpoint();
  const std::string digest = cs::push_image(ep, "team/api", "1");
  cs::sign(ep, "team/api@" + digest, key, cs::Format::Bundle);
  REQUIRE(cs::read_bundle(ep, "team/api", digest).viaReferrersApi);
  const std::string unsignedDigest = cs::push_image(ep, "team/api", "2");
  pt::ServedPodgate served(signatures_config(ep, key.publicKeyFile));
  const Answer ok = review_pod(served, reg.host() + "/team/api:1");
  INFO(ok.body);
  CHECK(ok.allowed);
  CHECK(pt::contains(ok.images, "\"signatureFormat\":\"bundle\""));
  const Answer no = review_pod(served, reg.host() + "/team/api:2");
  CHECK_FALSE(no.allowed);
  CHECK(pt::contains(no.message, "is not signed by a trusted key"));
}

TEST_CASE("signatures: 20 concurrent reviews of one signed image make one signature lookup", "[signatures][binary][concurrency]") {
  if (!cs::available()) return;
  pt::TestRegistry reg;
  pt::TempDir keys("podgate-signature-keys");
  const cs::Key key = cs::generate_key(keys.path());
  const std::string digest = signed_image(reg, "team/busy", "1", key, cs::Format::Legacy);
  pt::ServedPodgate served(signatures_config(cs::endpoint(reg), key.publicKeyFile));
  const std::string hex = digest.substr(7);
  // cosign's own requests while signing, before any review.
  const int tagBefore = reg.manifest_requests("team/busy", "sha256-" + hex);
  const int sigBefore = reg.manifest_requests("team/busy", "sha256-" + hex + ".sig");
  // The requests run on their own threads; the answers are checked on this one (Catch2's
  // assertions are not thread-safe).
  const std::string body = create_review(pod_kind(), pod_spec({list("containers", {container("app", reg.host() + "/team/busy:1")})}));
  std::vector<std::future<pt::Response>> answers;
  for (int i = 0; i < 20; ++i)
    answers.push_back(std::async(std::launch::async, [&served, &body] { return served.validate(body, "?timeout=20s"); }));
  for (auto& f : answers) {
    const pt::Response r = f.get();
    REQUIRE(r.status == 200);
    CHECK(parse_answer(r.body).allowed);
  }
  // The referrers tag is asked once, the .sig manifest once: one lookup for all twenty.
  CHECK(reg.manifest_requests("team/busy", "sha256-" + hex) - tagBefore == 1);
  CHECK(reg.manifest_requests("team/busy", "sha256-" + hex + ".sig") - sigBefore == 1);
  const std::string metrics = scrape(served);
  CHECK(pt::metric(metrics, "podgate_image_signature_cache_lookups_total", {"result=\"miss\""}) == 1);
}

TEST_CASE("signatures: a key that is not a public key stops podgate at start with the config key named", "[signatures][binary]") {
  pt::TempDir dir("podgate-signature-config");
  const std::string bad = dir.file("not-a-key.pem");
  pt::write_file(bad, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
  pt::write_file(dir.file("podgate.yaml"), "rules:\n  images:\n    action: deny\n    signatures:\n"
                                           "      - images: [\"ghcr.io/acme/*\"]\n        keys: [\"" + bad + "\"]\n");
  pt::Process check({PODGATE_BINARY, "check", "--config", dir.file("podgate.yaml"), "-f", "/dev/null"});
  CHECK(check.wait_for(20s) == 2);
  INFO(check.stderr_text());
  CHECK(pt::contains(check.stderr_text(), "rules.images.signatures[0].keys[0]"));
  CHECK(pt::contains(check.stderr_text(), "certificate"));
}

// The continuous audit judges what runs with the same verifier: the kubelet's digest of a signed
// image passes the signature rule, an unsigned one fails it, and without a verifier the rule is
// neither passed nor failed.
TEST_CASE("signatures: the audit checks the signatures of the digests that run", "[signatures]") {
  if (!cs::available()) return;
  pt::TestRegistry reg;
  pt::TempDir keys("podgate-signature-keys");
  const cs::Key key = cs::generate_key(keys.path());
  const std::string signedDigest = signed_image(reg, "team/run", "signed", key, cs::Format::Bundle);
  const std::string unsignedDigest = reg.push_image("team/run", "unsigned");
  const std::string yaml = signatures_config(cs::endpoint(reg), key.publicKeyFile);
  const podgate::config::Config cfg = podgate::config::parse(yaml, "podgate.yaml");
  const podgate::policy::Evaluator evaluator(cfg);
  auto verifier = podgate::policy::make_signature_verifier(cfg, nullptr, nullptr);
  REQUIRE(verifier);

  auto running = [&](const std::string& tag, const std::string& digest) {
    podgate::audit::PodProjection p;
    p.namespace_ = "shop";
    p.name = "run-" + tag;
    p.uid = "uid-" + tag;
    p.phase = "Running";
    const std::string image = reg.host() + "/team/run:" + tag;
    p.object = R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"run-)" + tag + R"(","namespace":"shop","uid":"uid-)" +
               tag + R"("},"spec":{"containers":[{"name":"app","image":")" + image + R"("}]}})";
    p.statuses.push_back(podgate::audit::ContainerStatus{"containers", "app", image, digest});
    return p;
  };
  auto rule_result = [](const podgate::audit::PodFindings& f) {
    for (const auto& r : f.results)
      if (r.rule == "signatures") return r.result;
    return std::string();
  };
  podgate::audit::JudgeInputs in;
  in.evaluator = &evaluator;
  in.signatures = verifier.get();
  const auto good = podgate::audit::judge_pod(in, running("signed", signedDigest), 0);
  CHECK(rule_result(good) == "pass");
  const auto bad = podgate::audit::judge_pod(in, running("unsigned", unsignedDigest), 0);
  CHECK(rule_result(bad) == "fail");
  CHECK(bad.verdict == "fail");
  in.signatures = nullptr;
  CHECK(rule_result(podgate::audit::judge_pod(in, running("unsigned", unsignedDigest), 0)).empty());
}
