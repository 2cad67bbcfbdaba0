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

// ---------------------------------------------------------------------------------------------
// `podgate resolve --pin -f FILE`: the same pins written into manifests, the text kept.

namespace {

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

std::string gitops_manifest(const std::string& h, const std::string& pinned) {
  return "# GitOps repository: the web app\n"
         "apiVersion: apps/v1\n"
         "kind: Deployment\n"
         "metadata:\n"
         "  name: web   # the front end\n"
         "spec:\n"
         "  template:\n"
         "    spec:\n"
         "      initContainers:\n"
         "        - name: setup\n"
         "          image: \"" + h + "/team/tool:2\"   # quoted\n"
         "      containers:\n"
         "        - name: app\n"
         "          image: " + h + "/team/app:1.0\n"
         "          args: [\"--port\", \"8080\"]\n"
         "        - {name: side, image: '" + h + "/team/tool:2'}\n"
         "        - name: pinned\n"
         "          image: " + h + "/team/app@" + pinned + "\n"
         "---\n"
         "apiVersion: v1\n"
         "kind: Service   # untouched\n"
         "metadata: {name: web}\n"
         "spec:\n"
         "  ports: [{port: 80}]\n"
         "---\n"
         "apiVersion: batch/v1\n"
         "kind: CronJob\n"
         "metadata:\n"
         "  name: nightly\n"
         "spec:\n"
         "  schedule: \"0 3 * * *\"\n"
         "  jobTemplate:\n"
         "    spec:\n"
         "      template:\n"
         "        spec:\n"
         "          containers:\n"
         "          - name: job\n"
         "            image: " + h + "/team/app:1.0\n"
         "---\n"
         "apiVersion: v1\n"
         "kind: List\n"
         "items:\n"
         "- apiVersion: v1\n"
         "  kind: Pod\n"
         "  metadata: {name: p}\n"
         "  spec:\n"
         "    containers: [{name: c, image: " + h + "/team/tool:2}]\n";
}

}  // namespace

TEST_CASE("resolve --pin: every pod-bearing object's images are pinned, the rest of the text kept", "[mutate][binary][cli]") {
  pt::TestRegistry reg;
  const std::string app = reg.push_image("team/app", "1.0");
  const std::string tool = reg.push_image("team/tool", "2");
  const std::string pinned = reg.push_image("team/app", "0.9");
  const std::string h = reg.host();
  pt::TempDir dir("podgate-pin");
  // The cluster's config may have the image rules off or pinDigests off: --pin pins all the same.
  pt::write_file(dir.file("podgate.yaml"), "registries:\n  - host: \"" + h + "\"\n    caFile: \"" + reg.ca_file() + "\"\n");
  const std::string input = gitops_manifest(h, pinned);
  pt::write_file(dir.file("app.yaml"), input);

  pt::Process pin({PODGATE_BINARY, "resolve", "--pin", "--config", dir.file("podgate.yaml"), "-f", dir.file("app.yaml")});
  REQUIRE(pin.wait_for(30s) == 0);
  INFO(pin.stderr_text());
  const std::string expected =
      replace_all(replace_all(input, "/team/app:1.0", "/team/app:1.0@" + app), "/team/tool:2", "/team/tool:2@" + tool);
  CHECK(pin.stdout_text() == expected);
  CHECK(pt::contains(pin.stderr_text(), "pinned 5 image(s)"));

  // Pinning the output again changes nothing: the images have digests.
  pt::write_file(dir.file("pinned.yaml"), expected);
  pt::Process again({PODGATE_BINARY, "resolve", "--pin", "--config", dir.file("podgate.yaml"), "-f", dir.file("pinned.yaml")});
  REQUIRE(again.wait_for(30s) == 0);
  CHECK(again.stdout_text() == expected);
}

TEST_CASE("resolve --pin: an image left unpinned is named and exits 1, the manifest still printed", "[mutate][binary][cli]") {
  pt::TestRegistry reg;
  const std::string app = reg.push_image("team/app", "1.0");
  const std::string h = reg.host();
  pt::TempDir dir("podgate-pin");
  pt::write_file(dir.file("podgate.yaml"), "registries:\n  - host: \"" + h + "\"\n    caFile: \"" + reg.ca_file() + "\"\n");
  const std::string input = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
                            "  - name: missing\n    image: " + h + "/team/app:nope\n"
                            "  - name: folded\n    image: >-\n      " + h + "/team/app:1.0\n"
                            "  - name: app\n    image: " + h + "/team/app:1.0\n";
  pt::write_file(dir.file("pod.yaml"), input);
  pt::Process pin({PODGATE_BINARY, "resolve", "--pin", "--config", dir.file("podgate.yaml"), "-f", dir.file("pod.yaml")});
  REQUIRE(pin.wait_for(30s) == 1);
  const std::string err = pin.stderr_text();
  INFO(err);
  CHECK(pt::contains(err, "spec.containers[0].image: " + h + "/team/app:nope: not pinned"));
  CHECK(pt::contains(err, "spec.containers[1].image: not written on one line"));
  CHECK(pt::contains(err, "2 left as written"));
  // The image that could be pinned is; the other two are as written.
  CHECK(pin.stdout_text() == replace_all(input, "image: " + h + "/team/app:1.0\n", "image: " + h + "/team/app:1.0@" + app + "\n"));

  pt::Process usage({PODGATE_BINARY, "resolve", "--pin"});
  CHECK(usage.wait_for(30s) == 2);
  CHECK(pt::contains(usage.stderr_text(), "--pin takes -f FILE"));
}
