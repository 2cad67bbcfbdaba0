// POST /mutate (rules.images.pinDigests) through `podgate serve` against a real registry
// (tests/support/test_registry.h): the JSON Patch each kind gets, what is left alone (pinned,
// exempt, unresolvable images; pinDigests off), kubectl debug's ephemeralcontainers UPDATE, and
// that /validate then judges the pinned object with the digest /mutate already resolved (one
// registry request for both).

#include <catch2/catch.hpp>

#include <rapidjson/document.h>

#include <string>
#include <vector>

#include "support/helpers.h"
#include "support/https_client.h"
#include "support/process.h"
#include "support/served_podgate.h"
#include "support/test_registry.h"
#include "unit/review_json.h"
#include "util/base64.h"

namespace pt = podgate::test;
using namespace podgate;
using namespace podgate::testing;
using namespace std::chrono_literals;

namespace {

std::string pin_config(const pt::TestRegistry& reg, bool pin = true) {
  return std::string("rules:\n"
                     "  images:\n"
                     "    action: deny\n"
                     "    pinDigests: ") +
         (pin ? "true" : "false") +
         "\n"
         "    resolve: {timeout: 3s, cacheTTL: 60s, errorTTL: 5s}\n"
         "exemptions:\n"
         "  images: [\"" + reg.host() + "/team/exempt:*\"]\n"
         "registries:\n"
         "  - host: \"" + reg.host() + "\"\n"
         "    caFile: \"" + reg.ca_file() + "\"\n";
}

// What /mutate answered: allowed, and the decoded patch ("" when the answer carries none).
struct MutateAnswer {
  bool allowed = false;
  std::string patchType;
  std::string patch;
  std::string body;
};

MutateAnswer mutate(const pt::ServedPodgate& served, const std::string& review) {
  pt::HttpsClient client(served.client());
  const pt::Response r = client.request("POST", "/mutate?timeout=10s", review);
  INFO(r.body);
  REQUIRE(r.status == 200);
  rapidjson::Document doc;
  doc.Parse(r.body.c_str());
  REQUIRE_FALSE(doc.HasParseError());
  CHECK(std::string(doc["apiVersion"].GetString()) == "admission.k8s.io/v1");
  CHECK(std::string(doc["kind"].GetString()) == "AdmissionReview");
  const auto& response = doc["response"];
  CHECK(std::string(response["uid"].GetString()) == ReviewOptions{}.uid);
  MutateAnswer out;
  out.body = r.body;
  out.allowed = response["allowed"].GetBool();
  CHECK_FALSE(response.HasMember("status"));
  if (response.HasMember("patchType")) out.patchType = response["patchType"].GetString();
  if (response.HasMember("patch")) {
    const auto decoded = util::decode_base64(response["patch"].GetString(), 1 << 20, nullptr,
                                             {util::Base64Options::Padding::Required});
    REQUIRE(decoded);
    out.patch = *decoded;
    CHECK(out.patchType == "JSONPatch");
  }
  return out;
}

std::string replace(const std::string& pointer, const std::string& value) {
  return "{\"op\":\"replace\",\"path\":\"" + pointer + "\",\"value\":\"" + value + "\"}";
}

const WorkloadKind& kind_named(const std::string& kind) {
  for (const WorkloadKind& k : workload_kinds())
    if (k.kind == kind) return k;
  FAIL("no kind " << kind);
  throw;
}

std::string scrape(const pt::ServedPodgate& served) {
  pt::Process curl({"/usr/bin/curl", "-s", "http://127.0.0.1:" + std::to_string(served.metricsPort) + "/metrics"});
  REQUIRE(curl.wait_for(10s) == 0);
  return curl.stdout_text();
}

}  // namespace

TEST_CASE("mutate: tag-only images of a Pod, a Deployment and a CronJob are pinned at their exact paths", "[mutate][binary]") {
  pt::TestRegistry reg;
  const std::string app = reg.push_image("team/app", "1.0");
  const std::string tool = reg.push_image("team/tool", "2");
  const std::string pinned = reg.push_image("team/pinned", "3");
  const std::string exempt = reg.push_image("team/exempt", "1");
  pt::ServedPodgate served(pin_config(reg));
  const std::string h = reg.host();

  const std::string spec =
      pod_spec({list("initContainers", {container("setup", h + "/team/tool:2")}),
                list("containers", {container("app", h + "/team/app:1.0"), container("pinned", h + "/team/pinned@" + pinned),
                                    container("exempt", h + "/team/exempt:1"), container("missing", h + "/team/app:nope")})});
  for (const std::string kind : {"Pod", "Deployment", "CronJob"}) {
    const WorkloadKind& k = kind_named(kind);
    INFO(kind);
    const MutateAnswer a = mutate(served, create_review(k, spec));
    CHECK(a.allowed);  // the missing image too: /validate decides about it
    const std::string at = "/" + std::string(kind == "Pod" ? "spec" : kind == "Deployment" ? "spec/template/spec" : "spec/jobTemplate/spec/template/spec");
    CHECK(a.patch == "[" + replace(at + "/initContainers/0/image", h + "/team/tool:2@" + tool) + "," +
                         replace(at + "/containers/0/image", h + "/team/app:1.0@" + app) + "]");
  }
  // One registry request per tag for all three reviews (the digest cache), none for the pinned
  // image or the exempt one.
  CHECK(reg.manifest_requests("team/app", "1.0") == 1);
  CHECK(reg.manifest_requests("team/pinned", pinned) == 0);
  CHECK(reg.manifest_requests("team/exempt", "1") == 0);

  const std::string metrics = scrape(served);
  CHECK(pt::metric(metrics, "podgate_image_digest_pins_total", {"result=\"pinned\""}) == 6);
  CHECK(pt::metric(metrics, "podgate_image_digest_pins_total", {"result=\"unresolved\""}) == 3);
  CHECK(pt::metric(metrics, "podgate_admission_mutations_total", {"result=\"patched\""}) == 3);
  CHECK(pt::metric(metrics, "podgate_http_requests_total", {"route=\"mutate\"", "code=\"200\""}) == 3);
  CHECK(pt::contains(served.process->stderr_text() + served.process->stdout_text(), "admission mutated"));
}

TEST_CASE("mutate: /validate judges the pinned object without asking the registry again", "[mutate][binary]") {
  pt::TestRegistry reg;
  const std::string app = reg.push_image("team/app", "1.0");
  pt::ServedPodgate served(pin_config(reg));
  const std::string image = reg.host() + "/team/app:1.0";
  const MutateAnswer a = mutate(served, create_review(pod_kind(), pod_spec({list("containers", {container("app", image)})})));
  REQUIRE(a.patch == "[" + replace("/spec/containers/0/image", image + "@" + app) + "]");
  // What the apiserver then sends the validating webhook: the patched Pod.
  const pt::Response v = served.validate(create_review(pod_kind(), pod_spec({list("containers", {container("app", image + "@" + app)})})));
  CHECK(pt::contains(v.body, "\"allowed\":true"));
  CHECK_FALSE(pt::contains(v.body, "patch"));  // a validating answer never carries one
  CHECK(reg.manifest_requests("team/app", "1.0") == 1);
  // Reinvoked (reinvocationPolicy: IfNeeded) on the pinned object: nothing more to do.
  const MutateAnswer again = mutate(served, create_review(pod_kind(), pod_spec({list("containers", {container("app", image + "@" + app)})})));
  CHECK(again.allowed);
  CHECK(again.patch.empty());
  CHECK(again.patchType.empty());
}

TEST_CASE("mutate: an unresolvable image is allowed unpatched, and pinDigests off patches nothing", "[mutate][binary]") {
  pt::TestRegistry reg;
  reg.push_image("team/app", "1.0");
  const std::string spec = pod_spec({list("containers", {container("app", reg.host() + "/team/app:1.0")})});
  SECTION("registry down") {
    pt::ServedPodgate served(pin_config(reg));
    reg.stop();
    const MutateAnswer a = mutate(served, create_review(pod_kind(), spec));
    CHECK(a.allowed);
    CHECK(a.patch.empty());
    CHECK(pt::metric(scrape(served), "podgate_image_digest_pins_total", {"result=\"unresolved\""}) == 1);
  }
  SECTION("pinDigests off: answered at once, the registry never asked") {
    pt::ServedPodgate served(pin_config(reg, false));
    const MutateAnswer a = mutate(served, create_review(pod_kind(), spec));
    CHECK(a.allowed);
    CHECK(a.patch.empty());
    CHECK(reg.manifest_requests("team/app", "1.0") == 0);
    CHECK(pt::metric(scrape(served), "podgate_admission_mutations_total", {"result=\"unchanged\""}) == 1);
  }
}

TEST_CASE("mutate: kubectl debug pins only the new ephemeral container", "[mutate][binary]") {
  pt::TestRegistry reg;
  const std::string debug = reg.push_image("team/debug", "1");
  reg.push_image("team/app", "1.0");
  pt::ServedPodgate served(pin_config(reg));
  const std::string h = reg.host();
  // The running Pod's container still has a tag (admitted before pinning): it is immutable here,
  // so it must not be patched.
  const std::string review = debug_review({list("containers", {container("app", h + "/team/app:1.0")})},
                                          {container("debugger", h + "/team/debug:1", "\"targetContainerName\":\"app\"")});
  const MutateAnswer a = mutate(served, review);
  CHECK(a.allowed);
  CHECK(a.patch == "[" + replace("/spec/ephemeralContainers/0/image", h + "/team/debug:1@" + debug) + "]");
}
