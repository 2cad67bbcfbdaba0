// workloads.custom: the config entries and their errors, the decoder finding a custom resource's
// pod spec (Argo Rollout and Knative Service shapes) with its strictness, the rules judging it as a
// Deployment's template (UPDATE included), /mutate's pins at the template's pointers, and
// find_pod_template for `podgate check`'s warning.

#include <catch2/catch.hpp>

#include <string>

#include "admission/admission.h"
#include "config/config.h"
#include "policy/pin.h"
#include "policy/policy.h"
#include "unit/judge.h"
#include "unit/registry_answers.h"
#include "unit/review_json.h"

using podgate::config::Config;
using podgate::config::ConfigError;
using podgate::config::CustomWorkload;
namespace admission = podgate::admission;
namespace t = podgate::testing;

namespace {

std::string error_of(const std::string& yaml) {
  try {
    podgate::config::parse(yaml, "podgate.yaml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

const char* const kRolloutConfig = R"(
workloads:
  custom:
    - {group: argoproj.io, kind: Rollout, podSpecPath: spec.template.spec}
    - group: serving.knative.dev
      kind: Service
      resource: services
      versions: [v1]
      podSpecPath: spec.template.spec
    - {group: example.com, kind: Runner, podSpecPath: spec.runner.pod.spec}
)";

Config rollout_config() { return podgate::config::parse(kRolloutConfig); }

// The review of a custom resource: its object is given whole.
std::string custom_review(const std::string& group, const std::string& version, const std::string& kind,
                          const std::string& resource, const std::string& object, const std::string& operation = "CREATE",
                          const std::string& oldObject = "null") {
  const std::string gvk = R"({"group":")" + group + R"(","version":")" + version + R"(","kind":")" + kind + R"("})";
  return R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u1","kind":)" + gvk +
         R"(,"resource":{"group":")" + group + R"(","version":")" + version + R"(","resource":")" + resource +
         R"("},"requestKind":)" + gvk + R"(,"name":"web","namespace":"shop","operation":")" + operation +
         R"(","userInfo":{"username":"alice"},"object":)" + object + R"(,"oldObject":)" + oldObject + "}}";
}

std::string rollout(const std::string& podSpec) {
  return R"({"apiVersion":"argoproj.io/v1alpha1","kind":"Rollout","metadata":{"name":"web","namespace":"shop"},)"
         R"("spec":{"replicas":2,"strategy":{"canary":{"steps":[{"setWeight":20}]}},)"
         R"("template":{"metadata":{"labels":{"app":"web"}},"spec":)" +
         podSpec + "}}}";
}

std::string knative_service(const std::string& podSpec) {
  return R"({"apiVersion":"serving.knative.dev/v1","kind":"Service","metadata":{"name":"web","namespace":"shop"},)"
         R"("spec":{"template":{"metadata":{"annotations":{"autoscaling.knative.dev/min-scale":"1"}},"spec":)" +
         podSpec + "}}}";
}

const std::string kPrivileged =
    R"({"containers":[{"name":"app","image":"nginx:1.27","securityContext":{"privileged":true}}]})";
const std::string kClean = R"({"containers":[{"name":"app","image":"nginx:1.27"}]})";

std::string rollout_review(const std::string& object, const std::string& operation = "CREATE",
                           const std::string& oldObject = "null") {
  return custom_review("argoproj.io", "v1alpha1", "Rollout", "rollouts", object, operation, oldObject);
}

admission::DecodeResult decode_custom(const std::string& body, const podgate::policy::Evaluator& evaluator) {
  return admission::decode(body, evaluator.custom_workloads());
}

}  // namespace

TEST_CASE("workloads.custom: entries, defaults and round trip", "[config][custom]") {
  const Config c = rollout_config();
  REQUIRE(c.workloads.custom.size() == 3);
  const CustomWorkload& r = c.workloads.custom[0];
  CHECK(r.group == "argoproj.io");
  CHECK(r.kind == "Rollout");
  CHECK(r.resource == "rollouts");  // lowercase kind + "s"
  CHECK(r.versions == std::vector<std::string>{"*"});
  CHECK(r.podSpecPath == "spec.template.spec");
  CHECK(c.workloads.custom[1].resource == "services");
  CHECK(c.workloads.custom[1].versions == std::vector<std::string>{"v1"});
  CHECK(c.workloads.custom[2].resource == "runners");
  CHECK(podgate::config::parse(podgate::config::to_yaml(c)) == c);
  CHECK(podgate::config::parse("workloads:\n").workloads.custom.empty());
  CHECK(podgate::config::parse("workloads: {custom: []}\n").workloads.custom.empty());
}

TEST_CASE("workloads.custom: every error names the key", "[config][custom][errors]") {
  const std::string p = "podgate.yaml: workloads.custom[0].";
  CHECK(error_of("workloads: {custom: {group: a.io}}") ==
        "podgate.yaml: workloads.custom: expected a list, got a mapping");
  CHECK(error_of("workloads: {custom: [x]}") ==
        "podgate.yaml: workloads.custom[0]: expected a mapping with group, kind and podSpecPath, got \"x\"");
  CHECK(error_of("workloads: {custom: [{kind: Rollout, podSpecPath: spec.template.spec}]}") == p + "group: is required");
  CHECK(error_of("workloads: {custom: [{group: argoproj.io, podSpecPath: spec.template.spec}]}") == p + "kind: is required");
  CHECK(error_of("workloads: {custom: [{group: argoproj.io, kind: Rollout}]}") == p + "podSpecPath: is required");
  CHECK(error_of("workloads: {custom: [{group: \"\", kind: Rollout, podSpecPath: spec}]}") == p + "group: must not be empty");
  CHECK(error_of("workloads: {custom: [{group: Argo.IO, kind: Rollout, podSpecPath: spec}]}") ==
        p + "group: expected an API group such as \"argoproj.io\" (a DNS subdomain), got \"Argo.IO\"");
  CHECK(error_of("workloads: {custom: [{group: apps, kind: Deployment, podSpecPath: spec.template.spec}]}") ==
        p + "group: \"apps\" is a Kubernetes API group; its pod-bearing kinds are judged already");
  CHECK(error_of("workloads: {custom: [{group: batch, kind: Thing, podSpecPath: spec}]}") ==
        p + "group: \"batch\" is a Kubernetes API group; its pod-bearing kinds are judged already");
  CHECK(error_of("workloads: {custom: [{group: a.io, kind: 'Roll out', podSpecPath: spec}]}") ==
        p + "kind: expected a kind such as \"Rollout\" (letters and digits), got \"Roll out\"");
  CHECK(error_of("workloads: {custom: [{group: a.io, kind: Rollout, resource: Rollouts, podSpecPath: spec}]}") ==
        p + "resource: expected a plural resource name such as \"rollouts\" (lower case), got \"Rollouts\"");
  CHECK(error_of("workloads: {custom: [{group: a.io, kind: Rollout, versions: [], podSpecPath: spec}]}") ==
        p + "versions: must not be empty (\"*\" routes every version)");
  CHECK(error_of("workloads: {custom: [{group: a.io, kind: Rollout, versions: [v1, '*'], podSpecPath: spec}]}") ==
        p + "versions: \"*\" must be the only entry");
  CHECK(error_of("workloads: {custom: [{group: a.io, kind: Rollout, versions: [V1], podSpecPath: spec}]}") ==
        "podgate.yaml: workloads.custom[0].versions[0]: expected \"*\" or an API version such as \"v1alpha1\", got \"V1\"");
  for (const char* bad : {"spec..spec", ".spec", "spec.", "spec.containers[0]", "spec.template/spec", "spec.1x"}) {
    CAPTURE(bad);
    CHECK(error_of(std::string("workloads: {custom: [{group: a.io, kind: Rollout, podSpecPath: \"") + bad + "\"}]}") ==
          p + "podSpecPath: expected a dotted path of field names such as \"spec.template.spec\" (no array indexes), got \"" +
              bad + "\"");
  }
  CHECK(error_of("workloads: {custom: [{group: a.io, kind: Rollout, podSpecPath: a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q}]}") ==
        p + "podSpecPath: at most 16 segments, got \"a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q\"");
  CHECK(error_of("workloads: {custom: [{group: a.io, kind: Rollout, podSpecPath: spec, extra: 1}]}") ==
        p + "extra: unknown key (expected one of: group, kind, resource, versions, podSpecPath)");
  CHECK(error_of("workloads: {custom: [{group: a.io, kind: Rollout, podSpecPath: spec}, "
                 "{group: a.io, kind: Rollout, resource: other, podSpecPath: spec}]}") ==
        "podgate.yaml: workloads.custom[1].kind: duplicate entry for \"Rollout\" in group \"a.io\"");
  CHECK(error_of("workloads: {custom: [{group: a.io, kind: Rollout, podSpecPath: spec}, "
                 "{group: a.io, kind: Other, resource: rollouts, podSpecPath: spec}]}") ==
        "podgate.yaml: workloads.custom[1].resource: duplicate resource \"rollouts\" in group \"a.io\"");
  // The same kind in another group is another resource.
  CHECK(error_of("workloads: {custom: [{group: a.io, kind: Rollout, podSpecPath: spec}, "
                 "{group: b.io, kind: Rollout, podSpecPath: spec}]}") == "");
  std::string many = "workloads:\n  custom:\n";
  for (int i = 0; i <= 64; ++i)
    many += "    - {group: a.io, kind: K" + std::to_string(i) + ", podSpecPath: spec}\n";
  CHECK(error_of(many) == "podgate.yaml: workloads.custom: at most 64 entries, got 65");
}

TEST_CASE("a Rollout and a Knative Service are decoded and judged as a Deployment's template", "[admission][custom]") {
  const podgate::policy::Evaluator evaluator(rollout_config());

  SECTION("Rollout: the pod spec at spec.template.spec, with the template's metadata") {
    auto decoded = decode_custom(rollout_review(rollout(kPrivileged)), evaluator);
    INFO((decoded.error ? decoded.error->message : ""));
    REQUIRE(decoded);
    const admission::Request& req = decoded.review->request();
    CHECK(req.target == admission::Target::PodSpec);
    CHECK(req.podBearing);
    CHECK(req.customWorkload);
    REQUIRE(req.object.podSpec);
    CHECK(req.object.podSpec->fieldPath == "spec.template.spec");
    REQUIRE(req.object.podSpec->containers.size() == 1);
    CHECK(req.object.podSpec->containers[0].privileged == std::optional<bool>(true));
  }

  SECTION("privileged: denied with the manifest's path, as a Deployment would be") {
    const auto verdict = t::judge(rollout_review(rollout(kPrivileged)), evaluator.config());
    CHECK(verdict.decision == podgate::policy::Decision::Denied);
    REQUIRE(verdict.violations.size() == 1);
    CHECK(verdict.violations[0].rule == "privileged");
    CHECK(verdict.violations[0].fieldPath == "spec.template.spec.containers[0].securityContext.privileged");
    CHECK_THAT(verdict.message, Catch::Matchers::Contains("Rollout shop/web"));

    // The same template in a Deployment gives the same violation.
    const auto deployment = t::judge(t::create_review(t::workload_kinds()[1], kPrivileged, "shop"), evaluator.config());
    REQUIRE(deployment.violations.size() == 1);
    CHECK(deployment.violations[0].fieldPath == verdict.violations[0].fieldPath);
    CHECK(deployment.violations[0].rule == verdict.violations[0].rule);
  }

  SECTION("clean: allowed") {
    CHECK(t::judge(rollout_review(rollout(kClean)), evaluator.config()).decision == podgate::policy::Decision::Allowed);
  }

  SECTION("Knative Service, pinned to v1: judged at spec.template.spec") {
    const std::string body =
        custom_review("serving.knative.dev", "v1", "Service", "services", knative_service(kPrivileged));
    const auto verdict = t::judge(body, evaluator.config());
    CHECK(verdict.decision == podgate::policy::Decision::Denied);
    REQUIRE(verdict.violations.size() == 1);
    CHECK(verdict.violations[0].fieldPath == "spec.template.spec.containers[0].securityContext.privileged");
    CHECK(t::judge(custom_review("serving.knative.dev", "v1", "Service", "services", knative_service(kClean)),
                   evaluator.config())
              .decision == podgate::policy::Decision::Allowed);
    // The core Service (no pod spec) is not mistaken for it.
    auto core = admission::decode(custom_review("", "v1", "Service", "services", R"({"spec":{"template":1}})"),
                                  evaluator.custom_workloads());
    REQUIRE(core);
    CHECK(core.review->request().target == admission::Target::None);
  }

  SECTION("a deeper path") {
    const std::string object = R"({"spec":{"runner":{"pod":{"metadata":{"annotations":{}},"spec":)" + kPrivileged + "}}}}";
    const auto verdict = t::judge(custom_review("example.com", "v1", "Runner", "runners", object), evaluator.config());
    REQUIRE(verdict.violations.size() == 1);
    CHECK(verdict.violations[0].fieldPath == "spec.runner.pod.spec.containers[0].securityContext.privileged");
  }

  SECTION("UPDATE: what the old template already had is preexisting, as for a Deployment") {
    const std::string body = rollout_review(rollout(kPrivileged), "UPDATE", rollout(kPrivileged));
    const auto verdict = t::judge(body, evaluator.config());
    REQUIRE(verdict.violations.size() == 1);
    CHECK(verdict.violations[0].preexisting);
    const auto deployment =
        t::judge(t::update_review(t::workload_kinds()[1], kPrivileged, kPrivileged), evaluator.config());
    REQUIRE(deployment.violations.size() == 1);
    CHECK(deployment.decision == verdict.decision);
    // A new violation on UPDATE is not preexisting.
    const auto fresh = t::judge(rollout_review(rollout(kPrivileged), "UPDATE", rollout(kClean)), evaluator.config());
    REQUIRE(fresh.violations.size() == 1);
    CHECK_FALSE(fresh.violations[0].preexisting);
    CHECK(fresh.decision == podgate::policy::Decision::Denied);
  }

  SECTION("without the config, a Rollout is not judged") {
    auto decoded = admission::decode(rollout_review(rollout(kPrivileged)));
    REQUIRE(decoded);
    CHECK(decoded.review->request().target == admission::Target::None);
    CHECK(t::judge(rollout_review(rollout(kPrivileged))).decision == podgate::policy::Decision::Allowed);
  }
}

TEST_CASE("custom workloads: missing paths, wrong types and mismatched reviews", "[admission][custom][errors]") {
  const podgate::policy::Evaluator evaluator(rollout_config());

  SECTION("an object without the path carries no pod spec: allowed unjudged, flagged for the count") {
    for (const std::string& object : {std::string(R"({"metadata":{"name":"web"},"spec":{"replicas":1}})"),
                                     std::string(R"({"metadata":{"name":"web"}})"),
                                     std::string(R"({"spec":{"template":{"metadata":{}}}})"),
                                     std::string(R"({"spec":{"template":null}})")}) {
      CAPTURE(object);
      auto decoded = decode_custom(rollout_review(object), evaluator);
      REQUIRE(decoded);
      const auto& req = decoded.review->request();
      CHECK(req.customWorkload);
      CHECK(req.target == admission::Target::PodSpec);
      CHECK_FALSE(req.object.podSpec);
      CHECK(t::judge(rollout_review(object), evaluator.config()).decision == podgate::policy::Decision::Allowed);
    }
  }

  SECTION("wrong types on the way to the spec, and in it, are refused as for a Deployment") {
    CHECK(t::decode_refusal(rollout_review(R"({"spec":{"template":[]}})")) == "");  // without the config: not read
    auto refusal = [&](const std::string& object) {
      auto decoded = decode_custom(rollout_review(object), evaluator);
      return decoded ? std::string() : decoded.error->message;
    };
    CHECK(refusal(R"({"spec":{"template":[]}})") == "spec.template: expected an object, got an array");
    CHECK(refusal(R"({"spec":"x"})") == "spec: expected an object, got a string");
    CHECK(refusal(rollout(R"({"containers":{"name":"app"}})")) ==
          "spec.template.spec.containers: expected an array, got an object");
    CHECK(refusal(rollout(R"({"containers":[{"name":"app","securityContext":{"privileged":"true"}}]})")) ==
          "spec.template.spec.containers[0].securityContext.privileged: expected a boolean, got a string");
    // Duplicate keys on the way, and in the spec, as everywhere.
    CHECK(refusal(R"({"spec":{"template":{"spec":{"containers":[]}},"template":{"spec":{"containers":[]}}}})") ==
          "spec.template: duplicate key");
    CHECK(refusal(rollout(R"({"containers":[],"containers":[]})")) ==
          "spec.template.spec.containers: duplicate key");
  }

  SECTION("a review whose kind and resource disagree is refused") {
    auto mismatch = decode_custom(
        custom_review("argoproj.io", "v1alpha1", "Experiment", "rollouts", rollout(kPrivileged)), evaluator);
    REQUIRE_FALSE(mismatch);
    CHECK(mismatch.error->message ==
          "request.kind Experiment (argoproj.io) does not match request.resource rollouts (argoproj.io) (expected Rollout)");
    auto other = decode_custom(custom_review("argoproj.io", "v1alpha1", "Rollout", "experiments", rollout(kPrivileged)),
                               evaluator);
    REQUIRE_FALSE(other);
    CHECK(other.error->message ==
          "request.kind Rollout (argoproj.io) does not match request.resource experiments (argoproj.io)");
  }

  SECTION("the status and scale subresources carry no pod spec") {
    for (const char* sub : {"status", "scale"}) {
      std::string body = rollout_review(rollout(kPrivileged));
      body.replace(body.find("\"name\":\"web\",\"namespace\""), 0, std::string("\"subResource\":\"") + sub + "\",");
      auto decoded = decode_custom(body, evaluator);
      REQUIRE(decoded);
      CHECK(decoded.review->request().target == admission::Target::None);
    }
  }
}

TEST_CASE("resource_for maps custom kinds by group, built-in kinds as before", "[admission][custom]") {
  const podgate::policy::Evaluator evaluator(rollout_config());
  const auto& custom = evaluator.custom_workloads();
  auto r = admission::resource_for("argoproj.io/v1alpha1", "Rollout", custom);
  CHECK(r.group == "argoproj.io");
  CHECK(r.resource == "rollouts");
  CHECK(admission::resource_for("serving.knative.dev/v1", "Service", custom).resource == "services");
  CHECK(admission::resource_for("v1", "Service", custom).resource.empty());
  CHECK(admission::resource_for("other.io/v1", "Rollout", custom).resource.empty());
  CHECK(admission::resource_for("apps/v1", "Deployment", custom).resource == "deployments");
  CHECK(admission::resource_for("v1", "Pod", custom).resource == "pods");
}

TEST_CASE("find_pod_template finds the first pod template of an unjudged object", "[admission][custom]") {
  CHECK(admission::find_pod_template(rollout(kClean)) == "spec.template.spec");
  CHECK(admission::find_pod_template(R"({"spec":{"workloads":[{"x":1},{"template":{"spec":{"containers":[]}}}]}})") ==
        "spec.workloads[1].template.spec");
  CHECK(admission::find_pod_template(R"({"spec":{"template":{"spec":{"containers":{}}}}})") == "");
  CHECK(admission::find_pod_template(R"({"spec":{"template":{"spec":{}}}})") == "");
  CHECK(admission::find_pod_template(R"({"kind":"ConfigMap","data":{"template":"spec"}})") == "");
  CHECK(admission::find_pod_template("not json") == "");
  CHECK(admission::find_pod_template(std::string(200, '[') + std::string(200, ']')) == "");
}

TEST_CASE("/mutate pins a Rollout's template images at their JSON pointers", "[pin][custom]") {
  Config cfg = rollout_config();
  cfg.rules.images.action = podgate::config::Action::Deny;
  cfg.rules.images.pinDigests = true;
  const podgate::policy::Evaluator evaluator(cfg);
  auto decoded = decode_custom(rollout_review(rollout(kClean)), evaluator);
  REQUIRE(decoded);
  podgate::test::Answers answers;
  answers.digest("nginx:1.27", podgate::test::sha('a'));
  podgate::policy::ImagePlan plan = evaluator.plan_images(decoded.review->request());
  plan.resolve(answers.map);
  const auto pins = podgate::policy::plan_pins(decoded.review->request(), plan);
  REQUIRE(pins.pins.size() == 1);
  CHECK(pins.pins[0].pointer == "/spec/template/spec/containers/0/image");
  CHECK(pins.pins[0].pinned == "nginx:1.27@" + podgate::test::sha('a'));
}
