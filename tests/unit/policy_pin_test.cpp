// Digest pinning (policy/pin.h): which images of a request /mutate rewrites, the JSON pointers and
// patch it sends, and the AdmissionReview response that carries it. Pure: the registry's answers
// are hand-made ImageResolutions (registry_answers.h), the input the Reviewer would collect.

#include <catch2/catch.hpp>

#include <rapidjson/document.h>

#include <string>
#include <vector>

#include "admission/admission.h"
#include "policy/pin.h"
#include "policy/policy.h"
#include "unit/registry_answers.h"
#include "unit/review_json.h"
#include "util/base64.h"

using namespace podgate;
using namespace podgate::testing;
using podgate::test::Answers;
using podgate::test::sha;

namespace {

config::Config pin_config() {
  config::Config cfg;
  cfg.rules.images.action = config::Action::Deny;
  cfg.rules.images.pinDigests = true;
  return cfg;
}

// The pins /mutate would send for `review` with the registry's `answers`.
policy::PinPlan pins_for(const std::string& review, const Answers& answers, const config::Config& cfg = pin_config()) {
  auto decoded = admission::decode(review);
  INFO((decoded.error ? decoded.error->message : ""));
  REQUIRE(decoded);
  const policy::Evaluator evaluator(cfg);
  policy::ImagePlan plan = evaluator.plan_images(decoded.review->request());
  plan.resolve(answers.map);
  return policy::plan_pins(decoded.review->request(), plan);
}

std::vector<std::string> pointers(const policy::PinPlan& p) {
  std::vector<std::string> out;
  for (const auto& pin : p.pins) out.push_back(pin.pointer + " = " + pin.pinned);
  return out;
}

std::string json_pointer_prefix(const WorkloadKind& k) { return policy::json_pointer(k.specPath); }

}  // namespace

TEST_CASE("a field path becomes the JSON pointer to the same value", "[pin]") {
  CHECK(policy::json_pointer("spec.containers[0].image") == "/spec/containers/0/image");
  CHECK(policy::json_pointer("spec.jobTemplate.spec.template.spec.initContainers[12].image") ==
        "/spec/jobTemplate/spec/template/spec/initContainers/12/image");
  CHECK(policy::json_pointer("spec.volumes[3].image.reference") == "/spec/volumes/3/image/reference");
  CHECK(policy::json_pointer("a~b/c") == "/a~0b~1c");  // RFC 6901 escapes (never in a pod spec field)
}

TEST_CASE("the pinned image is the image as written plus @digest", "[pin]") {
  CHECK(policy::pinned_image("nginx:1.27", sha('a')) == "nginx:1.27@" + sha('a'));
  CHECK(policy::pinned_image("nginx", sha('a')) == "nginx@" + sha('a'));
  CHECK(policy::pinned_image("registry.example.com:5000/team/app:v1", sha('b')) ==
        "registry.example.com:5000/team/app:v1@" + sha('b'));
}

TEST_CASE("every container list of every pod-bearing kind is pinned at its exact pointer", "[pin]") {
  Answers answers;
  answers.digest("nginx:1.27", sha('a')).digest("busybox", sha('b')).digest("debian:12", sha('c'));
  for (const WorkloadKind& k : workload_kinds()) {
    INFO(k.kind << " " << k.version);
    const std::string spec = pod_spec({list("initContainers", {container("setup", "busybox")}),
                                       list("containers", {container("web", "nginx:1.27"), container("side", "debian:12")})});
    const policy::PinPlan p = pins_for(create_review(k, spec), answers);
    const std::string at = json_pointer_prefix(k);
    CHECK(pointers(p) == std::vector<std::string>{at + "/initContainers/0/image = busybox@" + sha('b'),
                                                  at + "/containers/0/image = nginx:1.27@" + sha('a'),
                                                  at + "/containers/1/image = debian:12@" + sha('c')});
    CHECK(p.unresolved.empty());
  }
}

TEST_CASE("the patch is one replace per pin, exactly", "[pin]") {
  Answers answers;
  answers.digest("nginx:1.27", sha('a'));
  const policy::PinPlan p = pins_for(create_review(pod_kind(), pod_spec({list("containers", {container("web", "nginx:1.27")})})), answers);
  CHECK(policy::json_patch(p.pins) ==
        "[{\"op\":\"replace\",\"path\":\"/spec/containers/0/image\",\"value\":\"nginx:1.27@" + sha('a') + "\"}]");
  CHECK(policy::json_patch({}).empty());
}

TEST_CASE("pinned, exempt, refused and unresolved images are left as written", "[pin]") {
  config::Config cfg = pin_config();
  cfg.exemptions.images = {"exempt:*"};  // matched against the image as written
  cfg.rules.images.trustedRegistries = {"docker.io"};
  Answers answers;
  answers.digest("nginx:1.27", sha('a')).digest("exempt:1", sha('e')).failure("missing:1", registry::Failure::NotFound, "manifest unknown")
      .failure("flaky:1", registry::Failure::Timeout, "timed out");
  const std::string spec = pod_spec({list("containers", {container("pinned", "nginx:1.27@" + sha('d')),
                                                         container("exempt", "exempt:1"),
                                                         container("untrusted", "ghcr.io/x/y:1"),
                                                         container("missing", "missing:1"),
                                                         container("flaky", "flaky:1"),
                                                         container("web", "nginx:1.27")})});
  const policy::PinPlan p = pins_for(create_review(pod_kind(), spec), answers, cfg);
  CHECK(pointers(p) == std::vector<std::string>{"/spec/containers/5/image = nginx:1.27@" + sha('a')});
  REQUIRE(p.unresolved.size() == 2);
  CHECK(p.unresolved[0].field == "spec.containers[3].image");
  CHECK(p.unresolved[0].why == "manifest unknown");
  CHECK(p.unresolved[1].image == "flaky:1");
  CHECK(p.unresolved[1].why == "timed out");
}

TEST_CASE("nothing is pinned with pinDigests off, the image rules off, or a namespace or user exemption", "[pin]") {
  Answers answers;
  answers.digest("nginx:1.27", sha('a'));
  const std::string spec = pod_spec({list("containers", {container("web", "nginx:1.27")})});
  config::Config off = pin_config();
  off.rules.images.pinDigests = false;
  CHECK(pins_for(create_review(pod_kind(), spec), answers, off).pins.empty());
  config::Config rulesOff = pin_config();
  rulesOff.rules.images.action = config::Action::Off;
  CHECK(pins_for(create_review(pod_kind(), spec), answers, rulesOff).pins.empty());
  CHECK(pins_for(create_review(pod_kind(), spec, "kube-system"), answers).pins.empty());
  config::Config user = pin_config();
  user.exemptions.users = {"alice"};  // review_json's requester
  CHECK(pins_for(create_review(pod_kind(), spec), answers, user).pins.empty());
  config::Config sa = pin_config();
  sa.exemptions.serviceAccounts = {"default:default"};
  CHECK(pins_for(create_review(pod_kind(), spec), answers, sa).pins.empty());
}

TEST_CASE("an UPDATE pins only images that changed", "[pin]") {
  Answers answers;
  answers.digest("nginx:1.27", sha('a')).digest("nginx:1.28", sha('b')).digest("redis:7", sha('c'));
  const WorkloadKind& deployment = workload_kinds()[1];
  const std::string before = pod_spec({list("containers", {container("web", "nginx:1.27"), container("cache", "redis:7")})});
  const std::string after = pod_spec({list("containers", {container("web", "nginx:1.28"), container("cache", "redis:7"),
                                                          container("new", "nginx:1.27")})});
  const policy::PinPlan p = pins_for(update_review(deployment, before, after), answers);
  // redis:7 is unchanged: rewriting it would roll the Deployment out for nothing.
  CHECK(pointers(p) == std::vector<std::string>{"/spec/template/spec/containers/0/image = nginx:1.28@" + sha('b'),
                                                "/spec/template/spec/containers/2/image = nginx:1.27@" + sha('a')});
  // An UPDATE that leaves the tags alone (a label change) pins nothing.
  CHECK(pins_for(update_review(deployment, before, before), answers).pins.empty());
}

TEST_CASE("kubectl debug: only the new ephemeral container is pinned", "[pin]") {
  Answers answers;
  answers.digest("nginx:1.27", sha('a')).digest("busybox:1.36", sha('b')).digest("debian:12", sha('c'));
  const std::string old_ephemeral = container("old-debug", "debian:12", "\"targetContainerName\":\"web\"");
  const std::string new_ephemeral = container("debugger", "busybox:1.36", "\"targetContainerName\":\"web\"");
  // The old pod already had one ephemeral container; debug_review puts both lists in the new one.
  ReviewOptions o;
  o.operation = "UPDATE";
  o.subResource = "ephemeralcontainers";
  const std::string containers = list("containers", {container("web", "nginx:1.27")});
  o.oldObject = wrap_pod_spec(pod_kind(), pod_spec({containers, list("ephemeralContainers", {old_ephemeral})}));
  o.object = wrap_pod_spec(pod_kind(), pod_spec({containers, list("ephemeralContainers", {old_ephemeral, new_ephemeral})}));
  const policy::PinPlan p = pins_for(review_json(pod_kind(), o), answers);
  CHECK(pointers(p) == std::vector<std::string>{"/spec/ephemeralContainers/1/image = busybox:1.36@" + sha('b')});
  // The same through the helper (no ephemeral container before).
  const policy::PinPlan q = pins_for(debug_review({containers}, {new_ephemeral}), answers);
  CHECK(pointers(q) == std::vector<std::string>{"/spec/ephemeralContainers/0/image = busybox:1.36@" + sha('b')});
}

TEST_CASE("an image volume's reference is pinned too", "[pin]") {
  Answers answers;
  answers.digest("nginx:1.27", sha('a')).digest("registry.example.com/models/llm:v2", sha('f'));
  const std::string volume = "{\"name\":\"models\",\"image\":{\"reference\":\"registry.example.com/models/llm:v2\"}}";
  const std::string spec = pod_spec({list("containers", {container("web", "nginx:1.27")}), list("volumes", {volume})});
  const policy::PinPlan p = pins_for(create_review(pod_kind(), spec), answers);
  CHECK(pointers(p) == std::vector<std::string>{"/spec/containers/0/image = nginx:1.27@" + sha('a'),
                                                "/spec/volumes/0/image/reference = registry.example.com/models/llm:v2@" + sha('f')});
}

TEST_CASE("a response with a patch carries patchType JSONPatch and the patch in base64", "[pin][encode]") {
  admission::Response r;
  r.uid = "u-1";
  r.jsonPatch = "[{\"op\":\"replace\",\"path\":\"/spec/containers/0/image\",\"value\":\"a:1@" + sha('a') + "\"}]";
  for (std::size_t cut : {0, 1, 2}) {  // every base64 padding length
    admission::Response variant = r;
    variant.jsonPatch += std::string(cut, ' ');
    rapidjson::Document doc;
    const std::string body = admission::encode(variant);
    doc.Parse(body.c_str());
    REQUIRE_FALSE(doc.HasParseError());
    const auto& resp = doc["response"];
    CHECK(resp["allowed"].GetBool());
    CHECK(std::string(resp["patchType"].GetString()) == "JSONPatch");
    const auto decoded = util::decode_base64(resp["patch"].GetString(), 1 << 20, nullptr,
                                             {util::Base64Options::Padding::Required});
    REQUIRE(decoded);
    CHECK(*decoded == variant.jsonPatch);
  }
  // Without a patch there is neither key: what a validating webhook must answer.
  r.jsonPatch.clear();
  const std::string plain = admission::encode(r);
  CHECK(plain.find("patch") == std::string::npos);
}
