// End to end through admission::decode, the Evaluator and admission::encode: the known ways
// around the privileged and runtime-socket rules, numbered in the test names ("bypass 1":
// ephemeral containers, 2-4: privileged in any container list, kind or version, 5: image volumes,
// 6-9: runtime sockets under any spelling, parent directory or runtime, 10: denyAllHostPaths, 12:
// namespace exemptions, 13: what is not judged), for every workload kind and both modes; plus
// per-rule actions, exemptions, UPDATE semantics, dryRun, the fixtures' decisions, and messages and
// warnings within the apiserver's limits.

#include <catch2/catch.hpp>

#include <rapidjson/document.h>

#include <algorithm>


#include "admission/admission.h"
#include "policy/policy.h"
#include "unit/judge.h"
#include "unit/review_json.h"

using namespace podgate;
using namespace podgate::testing;
using policy::Decision;
using policy::Route;
using policy::Verdict;

namespace {

// The response as the apiserver would receive it, parsed back.
struct Answer {
  rapidjson::Document doc;
  const rapidjson::Value& response() const { return doc["response"]; }
  bool allowed() const { return response()["allowed"].GetBool(); }
  std::vector<std::string> warnings() const {
    std::vector<std::string> out;
    if (response().HasMember("warnings"))
      for (const auto& w : response()["warnings"].GetArray()) out.emplace_back(w.GetString(), w.GetStringLength());
    return out;
  }
  std::string annotation(const char* key) const {
    if (!response().HasMember("auditAnnotations")) return {};
    const auto& a = response()["auditAnnotations"];
    return a.HasMember(key) ? std::string(a[key].GetString()) : std::string();
  }
};

Answer answer(const std::string& body, const config::Config& cfg = config::Config{}, Route route = Route::Validate) {
  const Verdict v = judge(body, cfg, route);
  admission::DecodeResult decoded = admission::decode(body);  // for the uid the response echoes
  REQUIRE(decoded);
  const std::string json = admission::encode(policy::to_response(decoded.review->request().uid, v));
  Answer a;
  a.doc.Parse(json.c_str(), json.size());
  REQUIRE_FALSE(a.doc.HasParseError());
  CHECK(json_text(a.doc["apiVersion"]) == "admission.k8s.io/v1");
  CHECK(json_text(a.doc["kind"]) == "AdmissionReview");
  CHECK(std::string(a.response()["uid"].GetString()) == std::string(decoded.review->request().uid));
  CHECK_FALSE(a.response().HasMember("patch"));
  return a;
}

// An audit annotation key the apiserver accepts after prefixing it with "<webhook name>/":
// lowercase alphanumerics, '-', '_' and '.', starting and ending alphanumeric, at most 63 characters.
bool valid_annotation_key(const std::string& key) {
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (key.empty() || key.size() > 63 || !alnum(key.front()) || !alnum(key.back())) return false;
  return std::all_of(key.begin(), key.end(), [&](char c) { return alnum(c) || c == '-' || c == '_' || c == '.'; });
}

config::Config audit_config() {
  config::Config cfg;
  cfg.mode = config::Mode::Audit;
  return cfg;
}

// A pod spec with one container mounting a hostPath volume at `path`.
std::string host_path_spec(const std::string& path, const std::string& image = "alpine:3.19") {
  return pod_spec({list("containers", {container("app", image, mount("host"))}),
                   list("volumes", {host_path_volume("host", path)})});
}

std::string object_name(const WorkloadKind& k) { return k.kind + " default/web"; }

const std::vector<std::string> kDangerousPaths{
    // Item 6: exact-string matching.
    "//var/run/docker.sock", "/var/run//docker.sock", "/var/run/docker.sock/", "/var/./run/docker.sock",
    "/run/docker.sock", "/var/run/docker.sock", "/run/containerd/containerd.sock",
    "/var/run/containerd/containerd.sock", "/var/run/crio/crio.sock", "/var/run/cri-dockerd.sock",
    // Item 7: parent directories.
    "/", "/var", "/run", "/var/run", "/run/containerd", "/run/crio", "/var/run/", "//",
    // Item 8: ".." segments.
    "/var/run/../run/docker.sock", "/../../var/run/docker.sock", "/tmp/../var/run/docker.sock",
    "/var/run/../var/run/docker.sock", "/var/lib/../run/crio/crio.sock",
    // Item 9: other runtime sockets and state directories.
    "/run/podman/podman.sock", "/var/run/podman", "/run/containerd/containerd.sock.ttrpc",
    "/run/containerd/s/4f2a9c0e1b7d", "/var/run/docker/", "/var/run/docker/containerd/containerd.sock",
    "/run/k3s/containerd/containerd.sock", "/run/cri-dockerd.sock",
    // Not absolute: podgate cannot tell what it is, so it fails closed.
    "var/run/docker.sock", "", "./run/docker.sock"};

const std::vector<std::string> kHarmlessPaths{
    "/var/run2/docker.sock", "/var/runtime", "/runtime/docker.sock", "/run2", "/foo", "/foobar",
    "/var/lib/data", "/var/log/pods", "/etc/ssl/certs", "/run/docker.socket", "/run/containerd2",
    "/run/crio-extra", "/var/lib/containerd-data", "/dev/fuse"};

}  // namespace

TEST_CASE("bypass 2+3+4: privileged in any container list of any workload kind or version is denied",
          "[bypasses][privileged]") {
  using admission::ContainerList;
  const std::pair<ContainerList, const char*> lists[] = {{ContainerList::Init, "init container"},
                                                         {ContainerList::Regular, "container"},
                                                         {ContainerList::Ephemeral, "ephemeral container"}};
  for (const auto& kind : workload_kinds()) {
    for (const auto& [which, noun] : lists) {
      const std::string field = admission::field_name(which);
      CAPTURE(kind.kind, kind.group, kind.version, field);
      std::vector<std::string> members;
      if (which != ContainerList::Regular) members.push_back(list("containers", {container("app", "nginx:1.25")}));
      members.push_back(list(field, {container("clean", "nginx:1.25"), privileged_container("bad")}));
      const Verdict v = judge(create_review(kind, pod_spec(members)));

      CHECK(v.decision == Decision::Denied);
      REQUIRE(v.violations.size() == 1);
      const auto& violation = v.violations[0];
      CHECK(violation.rule == "privileged");
      CHECK(violation.action == config::Action::Deny);
      CHECK_FALSE(violation.preexisting);
      CHECK(violation.subject == std::string(noun) + " \"bad\"");
      CHECK(violation.fieldPath == kind.specPath + "." + field + "[1].securityContext.privileged");
      CHECK(violation.value == "true");
      CHECK(violation.message == object_name(kind) + ": " + noun + " \"bad\" is privileged (" + violation.fieldPath +
                                     "=true); privileged containers get full access to the node. Remove "
                                     "securityContext.privileged or set it to false.");
      CHECK(v.message == "podgate denied " + violation.message);
      CHECK(v.warnings.empty());
    }
  }
}

TEST_CASE("privileged: false or absent is allowed", "[bypasses][privileged]") {
  for (const auto& kind : workload_kinds()) {
    CAPTURE(kind.kind, kind.version);
    const Verdict v = judge(create_review(
        kind, pod_spec({list("initContainers", {container("i", "a", R"("securityContext":{"privileged":false})")}),
                        list("containers", {container("c", "b", R"("securityContext":{"runAsNonRoot":true})")})})));
    CHECK(v.decision == Decision::Allowed);
    CHECK(v.violations.empty());
    CHECK(v.warnings.empty());
    CHECK(v.auditAnnotations.empty());
  }
}

TEST_CASE("bypasses 6-9: runtime sockets under any spelling, parent or runtime are denied for every kind",
          "[bypasses][runtimeSockets]") {
  for (const auto& kind : workload_kinds()) {
    for (const auto& path : kDangerousPaths) {
      CAPTURE(kind.kind, kind.version, path);
      const Verdict v = judge(create_review(kind, host_path_spec(path)));
      CHECK(v.decision == Decision::Denied);
      REQUIRE(v.violations.size() == 1);
      const auto& violation = v.violations[0];
      CHECK(violation.rule == "runtimeSockets");
      CHECK(violation.subject == "volume \"host\"");
      CHECK(violation.fieldPath == kind.specPath + ".volumes[0].hostPath.path");
      CHECK(violation.value == path);
      CHECK(contains(violation.message, object_name(kind) + ": volume \"host\""));
      CHECK(contains(violation.message, "hostPath \"" + path + "\""));
      CHECK(contains(v.message, violation.fieldPath));
    }
  }
}

TEST_CASE("paths that only look like runtime paths are allowed", "[bypasses][runtimeSockets]") {
  for (const auto& kind : workload_kinds()) {
    for (const auto& path : kHarmlessPaths) {
      CAPTURE(kind.kind, path);
      const Verdict v = judge(create_review(kind, host_path_spec(path)));
      CHECK(v.decision == Decision::Allowed);
      CHECK(v.violations.empty());
    }
  }
}

TEST_CASE("runtime socket messages say what the path exposes and how to fix it", "[bypasses][runtimeSockets]") {
  SECTION("a sloppy spelling shows the normalised form and the socket") {
    const Verdict v = judge(read_fixture("reviews/deployment-docker-sock.json"));
    CHECK(v.decision == Decision::Denied);
    REQUIRE(v.violations.size() == 1);
    CHECK(v.violations[0].message ==
          "Deployment ci/ci-runner: volume \"docker-sock\" mounts hostPath \"/var/run//docker.sock\" (normalised: "
          "/run/docker.sock) at spec.template.spec.volumes[0].hostPath.path, exposing the container runtime socket "
          "/run/docker.sock; whoever reaches a runtime socket controls every container on the node. Remove the "
          "hostPath volume (use emptyDir, a ConfigMap, a Secret or a CSI volume instead).");
  }
  SECTION("a parent directory names the first socket it exposes and counts the rest") {
    const Verdict v = judge(create_review(pod_kind(), host_path_spec("/run")));
    REQUIRE(v.violations.size() == 1);
    CHECK(contains(v.violations[0].message, "hostPath \"/run\" at spec.volumes[0].hostPath.path, exposing the "
                                            "container runtime socket /run/docker.sock (and "));
    CHECK(contains(v.violations[0].message, "more runtime paths)"));
  }
  SECTION("/var is the parent of /var/run, a real directory on older distributions") {
    const Verdict v = judge(create_review(pod_kind(), host_path_spec("/var/")));
    REQUIRE(v.violations.size() == 1);
    CHECK(contains(v.violations[0].message, "hostPath \"/var/\" (normalised: /var) at spec.volumes[0].hostPath.path, "
                                            "exposing the container runtime socket /var/run/docker.sock (and "));
  }
  SECTION("a path inside a runtime directory") {
    const Verdict v = judge(create_review(pod_kind(), host_path_spec("/run/containerd/s/abc")));
    REQUIRE(v.violations.size() == 1);
    CHECK(contains(v.violations[0].message, "inside the container runtime directory /run/containerd;"));
  }
  SECTION("a relative path cannot be judged") {
    const Verdict v = judge(create_review(pod_kind(), host_path_spec("data/x")));
    REQUIRE(v.violations.size() == 1);
    CHECK(contains(v.violations[0].message, "hostPath \"data/x\" at spec.volumes[0].hostPath.path, which is not "
                                            "an absolute path; podgate cannot tell what it exposes"));
  }
  SECTION("a hostPath volume nobody mounts is still denied: an ephemeral container could mount it later") {
    const Verdict v = judge(create_review(
        pod_kind(), pod_spec({list("containers", {container("app", "nginx")}),
                              list("volumes", {host_path_volume("sock", "/run/docker.sock")})})));
    CHECK(v.decision == Decision::Denied);
  }
}

TEST_CASE("bypass 9: the socket list is configurable", "[bypasses][runtimeSockets]") {
  SECTION("extraPaths add to the defaults") {
    config::Config cfg;
    cfg.rules.runtimeSockets.extraPaths = {"/var/run/custom-runtime.sock", "/opt/runtime"};
    for (const auto& path : {"/run/custom-runtime.sock", "/opt/runtime/x.sock", "/opt", "/run/docker.sock"}) {
      CAPTURE(path);
      CHECK(judge(create_review(pod_kind(), host_path_spec(path)), cfg).decision == Decision::Denied);
    }
    CHECK(judge(create_review(pod_kind(), host_path_spec("/opt2")), cfg).decision == Decision::Allowed);
  }
  SECTION("paths replaces the defaults") {
    config::Config cfg;
    cfg.rules.runtimeSockets.paths = {"/run/only.sock"};
    CHECK(judge(create_review(pod_kind(), host_path_spec("/run/only.sock")), cfg).decision == Decision::Denied);
    CHECK(judge(create_review(pod_kind(), host_path_spec("/run/docker.sock")), cfg).decision == Decision::Allowed);
  }
  SECTION("the default list covers docker, containerd, cri-o, cri-dockerd and podman") {
    for (const auto& socket : {"/run/docker.sock", "/run/containerd/containerd.sock", "/run/crio/crio.sock",
                               "/run/cri-dockerd.sock", "/run/podman/podman.sock"}) {
      CAPTURE(socket);
      CHECK(judge(create_review(pod_kind(), host_path_spec(socket))).decision == Decision::Denied);
    }
  }
}

TEST_CASE("bypass 10: denyAllHostPaths allows only the allowlist, and never a runtime socket",
          "[bypasses][runtimeSockets]") {
  config::Config cfg;
  cfg.rules.runtimeSockets.denyAllHostPaths = true;
  cfg.rules.runtimeSockets.allowedHostPaths = {"/var/log", "/etc/ssl/certs/"};
  for (const auto& kind : workload_kinds()) {
    CAPTURE(kind.kind, kind.version);
    CHECK(judge(create_review(kind, host_path_spec("/var/log")), cfg).decision == Decision::Allowed);
    CHECK(judge(create_review(kind, host_path_spec("/var/log/pods")), cfg).decision == Decision::Allowed);
    CHECK(judge(create_review(kind, host_path_spec("/etc/ssl/certs")), cfg).decision == Decision::Allowed);
    const Verdict other = judge(create_review(kind, host_path_spec("/var/logs")), cfg);
    CHECK(other.decision == Decision::Denied);
    REQUIRE(other.violations.size() == 1);
    CHECK(other.violations[0].rule == "runtimeSockets");
    CHECK(contains(other.violations[0].message, "not in allowedHostPaths"));
    CHECK(contains(other.violations[0].message, "hostPath is denied except for the allowlist"));
    CHECK(judge(create_review(kind, host_path_spec("/var")), cfg).decision == Decision::Denied);
    CHECK(judge(create_review(kind, host_path_spec("/var/log/../lib")), cfg).decision == Decision::Denied);
  }
  SECTION("an allowlist entry of / does not re-open the runtime sockets") {
    cfg.rules.runtimeSockets.allowedHostPaths = {"/"};
    CHECK(judge(create_review(pod_kind(), host_path_spec("/data")), cfg).decision == Decision::Allowed);
    const Verdict v = judge(create_review(pod_kind(), host_path_spec("/var/run/docker.sock")), cfg);
    CHECK(v.decision == Decision::Denied);
    CHECK(contains(v.violations.at(0).message, "exposing the container runtime socket /run/docker.sock"));
  }
  SECTION("without denyAllHostPaths other host paths are allowed") {
    CHECK(judge(create_review(pod_kind(), host_path_spec("/data"))).decision == Decision::Allowed);
  }
}

TEST_CASE("bypass 1: ephemeral containers added through kubectl debug", "[bypasses][ephemeral]") {
  SECTION("pods/ephemeralcontainers UPDATE with a privileged debug container is denied") {
    const Verdict v = judge(read_fixture("reviews/ephemeral-privileged-update.json"));
    CHECK(v.decision == Decision::Denied);
    REQUIRE(v.violations.size() == 1);
    CHECK(v.violations[0].subject == "ephemeral container \"debugger-r4x7k\"");
    CHECK(v.violations[0].fieldPath == "spec.ephemeralContainers[0].securityContext.privileged");
    CHECK_FALSE(v.violations[0].preexisting);
    CHECK(contains(v.message, "Pod shop/checkout-7d9c6b5f4-x2kqp"));
  }
  SECTION("the legacy EphemeralContainers kind is denied") {
    const Verdict v = judge(read_fixture("reviews/legacy-ephemeralcontainers-privileged.json"));
    CHECK(v.decision == Decision::Denied);
    REQUIRE(v.violations.size() == 1);
    CHECK(v.violations[0].fieldPath == "ephemeralContainers[0].securityContext.privileged");
    CHECK(contains(v.message, "EphemeralContainers shop/checkout-7d9c6b5f4-x2kqp: ephemeral container \"debugger\""));
  }
  SECTION("an unprivileged debug container is allowed") {
    const std::string regular = list("containers", {container("app", "nginx")});
    CHECK(judge(debug_review({regular}, {container("dbg", "busybox")})).decision == Decision::Allowed);
  }
  SECTION("a debug container mounting a hostPath that only an exempt image was allowed to use is denied") {
    config::Config cfg;
    cfg.exemptions.images = {"registry.corp/agents/**"};
    const std::string volumes = list("volumes", {host_path_volume("sock", "/run/containerd/containerd.sock")});
    const std::string agent = list("containers", {container("agent", "registry.corp/agents/ctr:1", mount("sock"))});
    const Verdict v = judge(debug_review({agent}, {container("dbg", "busybox", mount("sock"))}, {volumes}), cfg);
    CHECK(v.decision == Decision::Denied);
    REQUIRE(v.violations.size() == 1);
    CHECK(v.violations[0].rule == "runtimeSockets");
    // The same pod before the debug container was exempt.
    CHECK(judge(create_review(pod_kind(), pod_spec({agent, volumes})), cfg).decision == Decision::Allowed);
  }
}

TEST_CASE("bypass 5: image volumes are extracted for every kind and do not hide other volumes",
          "[bypasses][images]") {
  for (const auto& kind : workload_kinds()) {
    CAPTURE(kind.kind, kind.version);
    const std::string spec = pod_spec(
        {list("containers", {container("app", "nginx", mount("model"))}),
         list("volumes", {R"({"name":"model","image":{"reference":"quay.io/models/llm:v2","pullPolicy":"Always"}})",
                          host_path_volume("sock", "/run/podman/podman.sock")})});
    admission::DecodeResult decoded = admission::decode(create_review(kind, spec));
    REQUIRE(decoded);
    const auto& volumes = decoded.review->request().object.podSpec->volumes;
    REQUIRE(volumes.size() == 2);
    REQUIRE(volumes[0].imageReference);
    CHECK(*volumes[0].imageReference == "quay.io/models/llm:v2");
    const Verdict v = judge(create_review(kind, spec));
    REQUIRE(v.violations.size() == 1);
    CHECK(v.violations[0].fieldPath == kind.specPath + ".volumes[1].hostPath.path");
  }
}

TEST_CASE("modes: enforce denies, audit allows with warnings and annotations, /audit never denies",
          "[bypasses][modes]") {
  for (const auto& kind : workload_kinds()) {
    CAPTURE(kind.kind, kind.version);
    const std::string body = create_review(
        kind, pod_spec({list("containers", {privileged_container("app", "nginx") , container("x", "y", mount("h"))}),
                        list("volumes", {host_path_volume("h", "/var/run/docker.sock")})}));

    {  // enforce
      const Answer a = answer(body);
      CHECK_FALSE(a.allowed());
      CHECK(a.response()["status"]["code"].GetInt() == 403);
      CHECK(json_text(a.response()["status"]["reason"]) == "Forbidden");
      const std::string message = a.response()["status"]["message"].GetString();
      CHECK(message.rfind("podgate denied " + object_name(kind) + ": 2 violations: (1) container \"app\" is privileged",
                          0) == 0);
      CHECK(contains(message, " (2) volume \"h\" mounts hostPath \"/var/run/docker.sock\""));
      CHECK(a.warnings().empty());
      CHECK(a.annotation("decision") == "denied");
      CHECK(a.annotation("mode") == "enforce");
      CHECK(a.annotation("would-deny").empty());
    }

    for (const auto& [name, cfg, route] : {std::tuple{"audit mode", audit_config(), Route::Validate},
                                           std::tuple{"/audit route", config::Config{}, Route::Audit},
                                           std::tuple{"audit mode on /audit", audit_config(), Route::Audit}}) {
      CAPTURE(name);
      const Verdict v = judge(body, cfg, route);
      CHECK(v.decision == Decision::WouldDeny);
      CHECK(v.mode == config::Mode::Audit);
      CHECK(v.violations.size() == 2);
      CHECK(v.message.rfind("podgate would deny " + object_name(kind) + ": 2 violations:", 0) == 0);

      const Answer a = answer(body, cfg, route);
      CHECK(a.allowed());
      CHECK_FALSE(a.response().HasMember("status"));
      const auto warnings = a.warnings();
      REQUIRE(warnings.size() == 2);
      CHECK(warnings[0].rfind("[podgate] would deny: " + object_name(kind) + ": container \"app\" is privileged (" +
                                  kind.specPath + ".containers[0].securityContext.privileged=true)",
                              0) == 0);
      CHECK(warnings[1].rfind("[podgate] would deny: " + object_name(kind) + ": volume \"h\" mounts hostPath", 0) == 0);
      for (const auto& w : warnings) CHECK(w.size() <= 250);
      CHECK(a.annotation("would-deny") == "true");
      CHECK(a.annotation("mode") == "audit");
      CHECK(a.annotation("decision") == "would_deny");
      CHECK(a.annotation("violation-count") == "2");
      rapidjson::Document list;
      list.Parse(a.annotation("violations").c_str());
      REQUIRE(list.IsArray());
      REQUIRE(list.Size() == 2);
      CHECK(json_text(list[0]["rule"]) == "privileged");
      CHECK(json_text(list[0]["action"]) == "deny");
      CHECK(json_text(list[0]["value"]) == "true");
      CHECK(json_text(list[1]["rule"]) == "runtimeSockets");
      CHECK(json_text(list[1]["value"]) == "/var/run/docker.sock");
      for (const auto& m : a.response()["auditAnnotations"].GetObject()) CHECK(valid_annotation_key(m.name.GetString()));
    }
  }
}

TEST_CASE("per-rule actions: deny, warn, off", "[bypasses][actions]") {
  const std::string body = create_review(
      workload_kinds()[1], pod_spec({list("containers", {privileged_container("app"), container("x", "y", mount("h"))}),
                                     list("volumes", {host_path_volume("h", "/run/crio/crio.sock")})}));
  using config::Action;
  SECTION("warn never denies") {
    config::Config cfg;
    cfg.rules.privileged.action = Action::Warn;
    cfg.rules.runtimeSockets.action = Action::Warn;
    const Verdict v = judge(body, cfg);
    CHECK(v.decision == Decision::Allowed);
    REQUIRE(v.violations.size() == 2);
    CHECK(v.violations[0].action == Action::Warn);
    CHECK(v.message.empty());
    REQUIRE(v.warnings.size() == 2);
    CHECK(v.warnings[0].rfind("[podgate] warning: Deployment default/web: container \"app\" is privileged", 0) == 0);
    CHECK(v.warnings[1].rfind("[podgate] warning: Deployment default/web: volume \"h\"", 0) == 0);
    const Answer a = answer(body, cfg);
    CHECK(a.allowed());
    CHECK(a.annotation("decision") == "allowed");
    CHECK(a.annotation("would-deny").empty());
    // In audit mode warn stays a warning, not a would-deny.
    config::Config audit = cfg;
    audit.mode = config::Mode::Audit;
    const Verdict va = judge(body, audit);
    CHECK(va.decision == Decision::Allowed);
    CHECK(va.warnings.at(0).rfind("[podgate] warning: ", 0) == 0);
  }
  SECTION("off produces nothing") {
    config::Config cfg;
    cfg.rules.privileged.action = Action::Off;
    cfg.rules.runtimeSockets.action = Action::Off;
    const Verdict v = judge(body, cfg);
    CHECK(v.decision == Decision::Allowed);
    CHECK(v.violations.empty());
    CHECK(v.warnings.empty());
    CHECK(v.auditAnnotations.empty());
  }
  SECTION("deny one rule, warn the other: only the denying one is in the message") {
    config::Config cfg;
    cfg.rules.runtimeSockets.action = Action::Warn;
    const Verdict v = judge(body, cfg);
    CHECK(v.decision == Decision::Denied);
    REQUIRE(v.violations.size() == 2);
    CHECK(contains(v.message, "container \"app\" is privileged"));
    CHECK_FALSE(contains(v.message, "crio"));
    REQUIRE(v.warnings.size() == 1);
    CHECK(contains(v.warnings[0], "[podgate] warning: Deployment default/web: volume \"h\" mounts hostPath "
                                  "\"/run/crio/crio.sock\""));
    const Answer a = answer(body, cfg);
    CHECK_FALSE(a.allowed());
    CHECK(a.warnings().size() == 1);
  }
  SECTION("off one rule, deny the other") {
    config::Config cfg;
    cfg.rules.privileged.action = Action::Off;
    const Verdict v = judge(body, cfg);
    CHECK(v.decision == Decision::Denied);
    REQUIRE(v.violations.size() == 1);
    CHECK(v.violations[0].rule == "runtimeSockets");
  }
}

TEST_CASE("bypass 12: namespace exemptions are exact and recorded", "[bypasses][exemptions]") {
  const std::string spec = pod_spec({list("containers", {privileged_container("app")})});
  for (const auto& kind : workload_kinds()) {
    CAPTURE(kind.kind, kind.version);
    const Verdict v = judge(create_review(kind, spec, "kube-system"));
    CHECK(v.decision == Decision::Allowed);
    CHECK(v.violations.empty());
    REQUIRE(v.exemptions.size() == 1);
    CHECK(v.exemptions[0].kind == "namespace");
    CHECK(v.exemptions[0].value == "kube-system");
    const Answer a = answer(create_review(kind, spec, "kube-system"));
    CHECK(a.allowed());
    CHECK(a.annotation("exempt") == "namespace=kube-system");
    // Also in audit mode and on /audit.
    CHECK(judge(create_review(kind, spec, "kube-system"), audit_config(), Route::Audit).exemptions.size() == 1);
  }
  for (const auto& ns : {"kube-system-2", "Kube-System", "kube", "default"}) {
    CAPTURE(ns);
    const Verdict v = judge(create_review(pod_kind(), spec, ns));
    CHECK(v.decision == Decision::Denied);
    CHECK(v.exemptions.empty());
  }
  SECTION("configured namespaces replace the default") {
    config::Config cfg;
    cfg.exemptions.namespaces = {"tools"};
    CHECK(judge(create_review(pod_kind(), spec, "tools"), cfg).decision == Decision::Allowed);
    CHECK(judge(create_review(pod_kind(), spec, "kube-system"), cfg).decision == Decision::Denied);
  }
}

TEST_CASE("service account exemptions match the identity the pods run as", "[bypasses][exemptions]") {
  config::Config cfg;
  cfg.exemptions.serviceAccounts = {"default:node-agent", "ops:default"};
  const std::string privileged = list("containers", {privileged_container("app")});
  for (const auto& kind : workload_kinds()) {
    CAPTURE(kind.kind, kind.version);
    const Verdict v = judge(create_review(kind, pod_spec({privileged, R"("serviceAccountName":"node-agent")"})), cfg);
    CHECK(v.decision == Decision::Allowed);
    REQUIRE(v.exemptions.size() == 1);
    CHECK(v.exemptions[0].kind == "serviceAccount");
    CHECK(v.exemptions[0].value == "default:node-agent");
  }
  // The same account name in another namespace is another account.
  CHECK(judge(create_review(pod_kind(), pod_spec({privileged, R"("serviceAccountName":"node-agent")"}), "team-b"), cfg)
            .decision == Decision::Denied);
  // An empty serviceAccountName runs as "default".
  CHECK(judge(create_review(pod_kind(), pod_spec({privileged}), "ops"), cfg).decision == Decision::Allowed);
  CHECK(judge(create_review(pod_kind(), pod_spec({privileged}), "default"), cfg).decision == Decision::Denied);
  // The deprecated serviceAccount field counts like the kubelet counts it.
  CHECK(judge(create_review(pod_kind(), pod_spec({privileged, R"("serviceAccount":"node-agent")"})), cfg).decision ==
        Decision::Allowed);
  SECTION("who sends the request does not matter") {
    ReviewOptions o;
    o.object = wrap_pod_spec(pod_kind(), pod_spec({privileged, R"("serviceAccountName":"app")"}));
    std::string body = review_json(pod_kind(), o);
    const std::string alice = R"("username":"alice")";
    body.replace(body.find(alice), alice.size(), R"("username":"system:serviceaccount:default:node-agent")");
    CHECK(judge(body, cfg).decision == Decision::Denied);
  }
}

TEST_CASE("image exemptions lift the container rules from matching containers only", "[bypasses][exemptions]") {
  config::Config cfg;
  cfg.exemptions.images = {"registry.corp/agents/**", "docker.io/library/busybox:1.*"};
  SECTION("a privileged container with an exempt image") {
    for (const auto& kind : workload_kinds()) {
      CAPTURE(kind.kind, kind.version);
      const Verdict v = judge(
          create_review(kind, pod_spec({list("containers", {privileged_container("agent", "registry.corp/agents/x/y:2")})})),
          cfg);
      CHECK(v.decision == Decision::Allowed);
      CHECK(v.violations.empty());
      REQUIRE(v.exemptions.size() == 1);
      CHECK(v.exemptions[0].kind == "image");
      CHECK(v.exemptions[0].value == "registry.corp/agents/x/y:2");
    }
  }
  SECTION("other containers of the same pod are still judged") {
    const Verdict v = judge(create_review(pod_kind(), pod_spec({list(
                                                          "containers", {privileged_container("agent", "registry.corp/agents/a:1"),
                                                                         privileged_container("app", "nginx:1.25")})})),
                            cfg);
    CHECK(v.decision == Decision::Denied);
    REQUIRE(v.violations.size() == 1);
    CHECK(v.violations[0].subject == "container \"app\"");
    REQUIRE(v.exemptions.size() == 1);
    CHECK(v.exemptions[0].value == "registry.corp/agents/a:1");
  }
  SECTION("a pattern is not a prefix: '*' stays within a segment") {
    const Verdict v = judge(
        create_review(pod_kind(), pod_spec({list("containers", {privileged_container("b", "docker.io/library/busybox:1.36/x")})})),
        cfg);
    CHECK(v.decision == Decision::Denied);
    CHECK(v.exemptions.empty());
  }
  SECTION("an exemption that suppresses nothing is not recorded") {
    const Verdict v =
        judge(create_review(pod_kind(), pod_spec({list("containers", {container("agent", "registry.corp/agents/a:1")})})), cfg);
    CHECK(v.exemptions.empty());
    CHECK(v.auditAnnotations.empty());
  }
  SECTION("a hostPath is exempt only if every container mounting it is exempt") {
    const std::string volumes = list("volumes", {host_path_volume("sock", "/var/run/docker.sock")});
    const std::string exemptMount = container("agent", "registry.corp/agents/dind:1", mount("sock"));
    const std::string plainMount = container("app", "nginx", mount("sock"));
    for (const auto& kind : workload_kinds()) {
      CAPTURE(kind.kind, kind.version);
      const Verdict only = judge(create_review(kind, pod_spec({list("containers", {exemptMount}), volumes})), cfg);
      CHECK(only.decision == Decision::Allowed);
      REQUIRE(only.exemptions.size() == 1);
      CHECK(only.exemptions[0].value == "registry.corp/agents/dind:1");

      const Verdict mixed =
          judge(create_review(kind, pod_spec({list("containers", {exemptMount, plainMount}), volumes})), cfg);
      CHECK(mixed.decision == Decision::Denied);
      CHECK(mixed.exemptions.empty());

      const Verdict init = judge(
          create_review(kind, pod_spec({list("initContainers", {plainMount}), list("containers", {exemptMount}), volumes})),
          cfg);
      CHECK(init.decision == Decision::Denied);

      const Verdict unmounted = judge(
          create_review(kind, pod_spec({list("containers", {container("agent", "registry.corp/agents/dind:1")}), volumes})),
          cfg);
      CHECK(unmounted.decision == Decision::Denied);
    }
  }
}

TEST_CASE("UPDATE: preexisting violations warn, new ones are denied", "[bypasses][update]") {
  const WorkloadKind& deployment = workload_kinds()[1];
  auto update = [&](const std::string& oldSpec, const std::string& newSpec) {
    return update_review(deployment, oldSpec, newSpec);
  };
  const std::string privilegedApp = pod_spec({list("containers", {privileged_container("app")})});
  const std::string cleanApp = pod_spec({list("containers", {container("app", "busybox:1.36")})});

  SECTION("an unrelated update of an object admitted before the rule tightened is allowed with a warning") {
    const Verdict v = judge(update(privilegedApp, privilegedApp));
    CHECK(v.decision == Decision::Allowed);
    REQUIRE(v.violations.size() == 1);
    CHECK(v.violations[0].preexisting);
    REQUIRE(v.warnings.size() == 1);
    CHECK(v.warnings[0] ==
          "[podgate] warning: Deployment default/web: container \"app\" is privileged "
          "(spec.template.spec.containers[0].securityContext.privileged=true) (already present before this update, "
          "so not denied)");
    // In audit mode it is not a would-deny either.
    CHECK(judge(update(privilegedApp, privilegedApp), audit_config()).decision == Decision::Allowed);
  }
  SECTION("a template change that makes a container privileged is denied") {
    const Verdict v = judge(update(cleanApp, privilegedApp));
    CHECK(v.decision == Decision::Denied);
    CHECK_FALSE(v.violations.at(0).preexisting);
  }
  SECTION("a new privileged container next to a preexisting one is denied, the old one only warned about") {
    const Verdict v = judge(update(
        privilegedApp, pod_spec({list("containers", {privileged_container("app"), privileged_container("sidecar")})})));
    CHECK(v.decision == Decision::Denied);
    REQUIRE(v.violations.size() == 2);
    CHECK(v.violations[0].preexisting);
    CHECK_FALSE(v.violations[1].preexisting);
    CHECK(contains(v.message, "container \"sidecar\""));
    CHECK_FALSE(contains(v.message, "container \"app\""));
    REQUIRE(v.warnings.size() == 1);
    CHECK(contains(v.warnings[0], "container \"app\""));
  }
  SECTION("a changed hostPath is a new violation") {
    const Verdict v = judge(update(host_path_spec("/run/docker.sock"), host_path_spec("/run/containerd")));
    CHECK(v.decision == Decision::Denied);
  }
  SECTION("moving a privileged template off an exempt service account is denied") {
    config::Config cfg;
    cfg.exemptions.serviceAccounts = {"default:node-agent"};
    const std::string exempt =
        pod_spec({list("containers", {privileged_container("app")}), R"("serviceAccountName":"node-agent")"});
    CHECK(judge(update(exempt, exempt), cfg).decision == Decision::Allowed);
    const Verdict v = judge(update(exempt, privilegedApp), cfg);
    CHECK(v.decision == Decision::Denied);
    CHECK_FALSE(v.violations.at(0).preexisting);
  }
  SECTION("the Pod status subresource carries nothing new to judge") {
    ReviewOptions o;
    o.operation = "UPDATE";
    o.subResource = "status";
    o.object = wrap_pod_spec(pod_kind(), privilegedApp);
    o.oldObject = wrap_pod_spec(pod_kind(), cleanApp);
    const Verdict v = judge(review_json(pod_kind(), o));
    CHECK(v.decision == Decision::Allowed);
    CHECK(v.violations.empty());
  }
}

TEST_CASE("bypass 13: what is not judged is allowed explicitly", "[bypasses][unjudged]") {
  SECTION("an unknown kind is allowed without judgement (the pipeline counts it as kind \"other\")") {
    const WorkloadKind rollout{"argoproj.io", "v1alpha1", "Rollout", "rollouts", "spec.template.spec"};
    const Verdict v = judge(create_review(rollout, pod_spec({list("containers", {privileged_container("app")})})));
    CHECK(v.decision == Decision::Allowed);
    CHECK(v.violations.empty());
    CHECK(v.exemptions.empty());
    CHECK(v.warnings.empty());
  }
  SECTION("DELETE and CONNECT are allowed") {
    CHECK(judge(read_fixture("reviews/pod-delete.json")).decision == Decision::Allowed);
    ReviewOptions o;
    o.operation = "CONNECT";
    o.subResource = "exec";
    o.object = wrap_pod_spec(pod_kind(), pod_spec({list("containers", {privileged_container("app")})}));
    const Verdict v = judge(review_json(pod_kind(), o));
    CHECK(v.decision == Decision::Allowed);
    CHECK(v.violations.empty());
  }
  SECTION("kinds of pod subresources that carry no pod spec") {
    const std::pair<const char*, const char*> subresources[] = {
        {"Binding", "binding"}, {"Eviction", "eviction"}, {"PodExecOptions", "exec"}, {"Scale", "scale"}};
    for (const auto& [kind, sub] : subresources) {
      CAPTURE(kind);
      const WorkloadKind k{"", "v1", kind, "pods", ""};
      ReviewOptions o;
      o.subResource = sub;
      o.object = R"({"metadata":{"name":"web"},"spec":{"containers":[{"name":"x","securityContext":{"privileged":true}}]}})";
      CHECK(judge(review_json(k, o)).decision == Decision::Allowed);
    }
  }
}

TEST_CASE("dryRun gets the same decision", "[bypasses][dryrun]") {
  for (const auto& spec : {pod_spec({list("containers", {privileged_container("app")})}), host_path_spec("/data"),
                           host_path_spec("/run/docker.sock")}) {
    ReviewOptions o;
    o.object = wrap_pod_spec(pod_kind(), spec);
    const Verdict real = judge(review_json(pod_kind(), o));
    o.dryRun = true;
    const Verdict dry = judge(review_json(pod_kind(), o));
    CHECK(dry.decision == real.decision);
    CHECK(dry.message == real.message);
    CHECK(dry.warnings == real.warnings);
    CHECK(dry.auditAnnotations == real.auditAnnotations);
  }
}

TEST_CASE("every violation is reported in one response", "[bypasses][messages]") {
  const Verdict v = judge(read_fixture("reviews/daemonset-privileged-run.json"));
  CHECK(v.decision == Decision::Denied);
  REQUIRE(v.violations.size() == 2);
  CHECK(v.message.rfind("podgate denied DaemonSet monitoring/node-agent: 2 violations: (1) container \"agent\" is "
                        "privileged (spec.template.spec.containers[0].securityContext.privileged=true)",
                        0) == 0);
  CHECK(contains(v.message, " (2) volume \"run\" mounts hostPath \"/run\" at spec.template.spec.volumes[0].hostPath.path"));

  SECTION("four violations across lists and rules") {
    const Verdict four = judge(create_review(
        workload_kinds()[8],
        pod_spec({list("initContainers", {privileged_container("setup")}),
                  list("containers", {privileged_container("app", "nginx"), container("c", "i", mount("a"))}),
                  list("volumes", {host_path_volume("a", "/var/run/docker.sock"), host_path_volume("b", "/var")})})));
    CHECK(four.decision == Decision::Denied);
    REQUIRE(four.violations.size() == 4);
    CHECK(contains(four.message, ": 4 violations: (1) init container \"setup\""));
    CHECK(contains(four.message, "(2) container \"app\""));
    CHECK(contains(four.message, "(3) volume \"a\""));
    CHECK(contains(four.message, "(4) volume \"b\" mounts hostPath \"/var\""));
    for (const auto& violation : four.violations) CHECK(contains(four.message, violation.fieldPath));
  }
}

TEST_CASE("the fixtures get the decisions they are named for", "[bypasses][fixtures]") {
  const Answer clean = answer(read_fixture("reviews/pod-clean-4k.json"));
  CHECK(clean.allowed());
  CHECK_FALSE(clean.response().HasMember("warnings"));
  CHECK_FALSE(clean.response().HasMember("auditAnnotations"));

  const Verdict privileged = judge(read_fixture("reviews/pod-privileged.json"));
  CHECK(privileged.decision == Decision::Denied);
  CHECK(privileged.message ==
        "podgate denied Pod default/node-debug: container \"shell\" is privileged "
        "(spec.containers[0].securityContext.privileged=true); privileged containers get full access to the node. "
        "Remove securityContext.privileged or set it to false.");

  const Verdict cron = judge(read_fixture("reviews/cronjob-v1beta1-privileged.json"));
  CHECK(cron.decision == Decision::Denied);
  REQUIRE(cron.violations.size() == 1);
  CHECK(cron.violations[0].subject == "init container \"prepare\"");
  CHECK(cron.violations[0].fieldPath == "spec.jobTemplate.spec.template.spec.initContainers[0].securityContext.privileged");
}

TEST_CASE("warnings and messages stay within the apiserver's limits", "[bypasses][limits]") {
  std::vector<std::string> containers;
  const std::string longName(200, 'n');
  for (int i = 0; i < 40; ++i) containers.push_back(privileged_container(longName + std::to_string(i)));
  const std::string body = create_review(workload_kinds()[1], pod_spec({list("containers", containers)}));

  const Verdict audit = judge(body, audit_config());
  CHECK(audit.decision == Decision::WouldDeny);
  CHECK(audit.violations.size() == 40);
  REQUIRE(audit.warnings.size() == 16);
  std::size_t total = 0;
  for (std::size_t i = 0; i < 15; ++i) {
    CHECK(audit.warnings[i].size() <= 250);
    CHECK(audit.warnings[i].substr(audit.warnings[i].size() - 3) == "\xE2\x80\xA6");
    total += audit.warnings[i].size();
  }
  CHECK(audit.warnings[15] ==
        "[podgate] 25 more violations not shown; see the audit annotations or podgate's decision log");
  CHECK(total < 4096);

  const Verdict enforce = judge(body);
  CHECK(enforce.decision == Decision::Denied);
  CHECK(contains(enforce.message, ": 40 violations: (1) "));
  CHECK(contains(enforce.message, " (20) "));
  CHECK_FALSE(contains(enforce.message, " (21) "));
  CHECK(contains(enforce.message, "(and 20 more)"));
  // Every violation is still in the verdict, for the log and `podgate check`.
  CHECK(enforce.violations.back().subject.size() < 200);  // names are bounded in messages
  CHECK(enforce.violations.back().fieldPath == "spec.template.spec.containers[39].securityContext.privileged");

  rapidjson::Document list;
  const auto it = std::find_if(audit.auditAnnotations.begin(), audit.auditAnnotations.end(),
                               [](const auto& kv) { return kv.first == "violations"; });
  REQUIRE(it != audit.auditAnnotations.end());
  list.Parse(it->second.c_str());
  REQUIRE(list.IsArray());
  CHECK(list.Size() == 20);
}

TEST_CASE("names with control characters cannot break a message onto two lines", "[bypasses][messages]") {
  const Verdict v = judge(create_review(pod_kind(), pod_spec({list("containers", {privileged_container("a\\nb\\u0007")})})));
  REQUIRE(v.violations.size() == 1);
  CHECK(v.violations[0].subject == "container \"a?b?\"");
  CHECK(v.message.find('\n') == std::string::npos);
}
