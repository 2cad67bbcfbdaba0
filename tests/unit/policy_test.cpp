// The string functions the rules stand on: host path normalisation, component-wise containment
// and the image glob; plus the Evaluator's handling of configured paths and to_response.

#include <catch2/catch.hpp>

#include <chrono>

#include "policy/policy.h"

using namespace podgate;
using namespace podgate::policy;

TEST_CASE("normalize_host_path", "[policy][paths]") {
  const std::pair<const char*, const char*> table[] = {
      // The exact-string bypasses (bypass 6 in bypasses_test.cpp).
      {"//var/run/docker.sock", "/run/docker.sock"},
      {"/var/run//docker.sock", "/run/docker.sock"},
      {"/var/run/docker.sock/", "/run/docker.sock"},
      {"/var/./run/docker.sock", "/run/docker.sock"},
      {"/run/docker.sock", "/run/docker.sock"},
      {"/var/run/docker.sock", "/run/docker.sock"},
      // ".." (bypass 8): resolved, never above "/".
      {"/var/run/../run/docker.sock", "/run/docker.sock"},
      {"/../../var/run/docker.sock", "/run/docker.sock"},
      {"/tmp/../var/run/docker.sock", "/run/docker.sock"},
      // /var/run is a symlink to /run, so "/var/run/.." is "/" on the node.
      {"/var/run/../var/run/docker.sock", "/run/docker.sock"},
      {"/var/run/../etc", "/etc"},
      {"/var/lib/../run/containerd", "/run/containerd"},
      // Only the /var/run directory maps, not lookalikes.
      {"/var/run2/x", "/var/run2/x"},
      {"/var/runtime", "/var/runtime"},
      {"/var/run", "/run"},
      {"/var/run/", "/run"},
      {"/var", "/var"},
      {"/run2", "/run2"},
      {"/", "/"},
      {"//", "/"},
      {"/.", "/"},
      {"/..", "/"},
      {"/./../.", "/"},
      {"/a/b/../../..", "/"},
      {"/a/.../b", "/a/.../b"},  // "..." is a name, not a parent
      {"/a/..b/c", "/a/..b/c"},
      {"/home/user/./docs//x/", "/home/user/docs/x"},
      // Not absolute: cannot be judged.
      {"relative/path", ""},
      {"./run/docker.sock", ""},
      {"run", ""},
      {"", ""},
      {" /run/docker.sock", ""},
  };
  for (const auto& [in, out] : table) {
    CAPTURE(in);
    CHECK(normalize_host_path(in) == out);
  }
}

TEST_CASE("covers compares whole path components", "[policy][paths]") {
  struct Row {
    const char* ancestor;
    const char* path;
    bool covered;
  };
  const Row table[] = {
      {"/run", "/run/docker.sock", true},
      {"/run", "/run", true},
      {"/run/docker.sock", "/run/docker.sock", true},
      {"/", "/run/docker.sock", true},
      {"/", "/", true},
      {"/run", "/run/containerd/containerd.sock", true},
      {"/run", "/run2", false},
      {"/run", "/runtime", false},
      {"/run", "/ru", false},
      {"/var/run", "/var/run2", false},
      {"/foo", "/foobar", false},
      {"/foo", "/foo/bar", true},
      {"/run/docker.sock", "/run", false},
      {"/run/containerd", "/run/containerd/s/abcdef", true},
      {"/run/containerd", "/run/containerd.sock", false},
      {"", "/run", false},
      {"/run", "", false},
  };
  for (const auto& r : table) {
    CAPTURE(r.ancestor, r.path);
    CHECK(covers(r.ancestor, r.path) == r.covered);
  }
}

TEST_CASE("glob_match", "[policy][glob]") {
  struct Row {
    const char* pattern;
    const char* text;
    bool matches;
  };
  const Row table[] = {
      {"nginx", "nginx", true},
      {"nginx", "nginx:1.25", false},
      {"nginx:*", "nginx:1.25", true},
      {"nginx*", "nginx", true},
      {"registry.corp/agents/*", "registry.corp/agents/node-agent:1.2", true},
      {"registry.corp/agents/*", "registry.corp/agents/team/node-agent:1.2", false},  // '*' stays in a segment
      {"registry.corp/agents/**", "registry.corp/agents/team/node-agent:1.2", true},
      {"registry.corp/**", "registry.corp/", true},
      {"registry.corp/**", "registry.corpx/a", false},
      {"**", "anything/at/all:tag", true},
      {"*", "a/b", false},
      {"*", "", true},
      {"", "", true},
      {"", "x", false},
      {"?", "a", true},
      {"?", "/", false},
      {"?", "", false},
      {"a?c", "abc", true},
      {"a?c", "ac", false},
      {"**/pause:*", "registry.k8s.io/pause:3.9", true},
      {"**/pause:*", "pause:3.9", false},
      {"*/*:*", "library/nginx:1", true},
      {"*.corp/*", "registry.corp/x", true},
      {"docker.io/library/busybox@sha256:*", "docker.io/library/busybox@sha256:abc123", true},
      {"a***b", "a/x/b", true},  // runs of three or more stars act as "**"
      {"a*b*c", "aXbYc", true},
      {"a*b*c", "aXbY/c", false},
      {"a**b*c", "aX/bYc", true},
      {"**c", "c", true},
  };
  for (const auto& r : table) {
    CAPTURE(r.pattern, r.text);
    CHECK(glob_match(r.pattern, r.text) == r.matches);
  }
}

TEST_CASE("glob_match stays fast on adversarial patterns", "[policy][glob]") {
  const std::string text(4000, 'a');
  const auto start = std::chrono::steady_clock::now();
  CHECK_FALSE(glob_match("*a*a*a*a*a*a*a*a*a*a*a*a*b", text));
  CHECK_FALSE(glob_match("**a**a**a**a**a**a**a**a**b", text));
  CHECK(glob_match("*a*a*a*a*a*a*a*a*a*a*a*a*", text));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  // Exponential backtracking would take far longer than this on a 4000-character text.
  CHECK(elapsed < std::chrono::seconds(1));
}

TEST_CASE("glob_match: patterns longer than its stack buffer match as short ones do", "[policy][glob]") {
  // 128 steps fit the stack; these take the heap path, with and without a wildcard in front.
  const std::string segment(150, 'x');
  const std::string text = "registry.example/" + segment + "/app";
  CHECK(glob_match("registry.example/" + segment + "/*", text));
  CHECK(glob_match("*/" + segment + "/app", text));
  CHECK(glob_match("**" + segment + "**", text));
  CHECK_FALSE(glob_match("*/" + segment + "y/app", text));
  CHECK_FALSE(glob_match("registry.example/" + segment + "/*/x", text));
  // Exactly at the boundary: a 127-character literal prefix and one star.
  const std::string prefix(127, 'p');
  CHECK(glob_match(prefix + "*", prefix + "tail"));
  CHECK_FALSE(glob_match(prefix + "*", prefix + "ta/il"));
}

TEST_CASE("the Evaluator normalises configured paths once", "[policy]") {
  config::Config cfg;
  cfg.rules.runtimeSockets.paths = {"/var/run/custom.sock", "/run/custom.sock", "relative.sock"};
  cfg.rules.runtimeSockets.extraPaths = {"//opt//runtime/"};
  cfg.rules.runtimeSockets.denyAllHostPaths = true;
  cfg.rules.runtimeSockets.allowedHostPaths = {"/var/log/", "/var/run/../data"};
  const Evaluator evaluator(cfg);
  CHECK(evaluator.config().rules.runtimeSockets.extraPaths.at(0) == "//opt//runtime/");  // the config as given

  admission::Request request;
  request.uid = "u";
  request.kind.kind = "Pod";
  request.namespace_ = "default";
  request.name = "p";
  request.operation = admission::Operation::Create;
  request.podBearing = true;
  request.target = admission::Target::PodSpec;
  admission::PodSpec spec;
  spec.fieldPath = "spec";
  auto add_volume = [&](std::string_view path) {
    admission::Volume v;
    v.index = spec.volumes.size();
    v.name = "v";
    v.hostPath = admission::HostPathVolume{path, ""};
    spec.volumes.push_back(v);
  };
  add_volume("/run/custom.sock");    // listed (deduplicated with its /var/run form)
  add_volume("/opt/runtime/x");      // inside an extra path
  add_volume("/var/log/pods");       // allowed
  add_volume("/data/x");             // allowed after normalising the allowlist entry
  add_volume("/srv");                // neither: denied by denyAllHostPaths
  request.object.podSpec = spec;

  const Verdict v = evaluator.evaluate(request, Route::Validate);
  REQUIRE(v.violations.size() == 3);
  CHECK(v.violations[0].value == "/run/custom.sock");
  CHECK(v.violations[0].message.find("exposing the container runtime socket /run/custom.sock;") != std::string::npos);
  CHECK(v.violations[1].value == "/opt/runtime/x");
  CHECK(v.violations[1].message.find("inside the container runtime directory /opt/runtime") != std::string::npos);
  CHECK(v.violations[2].value == "/srv");
  CHECK(v.violations[2].message.find("not in allowedHostPaths") != std::string::npos);
  CHECK(v.decision == Decision::Denied);
}

TEST_CASE("to_response and to_string(Decision)", "[policy]") {
  CHECK(std::string(to_string(Decision::Allowed)) == "allowed");
  CHECK(std::string(to_string(Decision::Denied)) == "denied");
  CHECK(std::string(to_string(Decision::WouldDeny)) == "would_deny");

  Verdict denied;
  denied.decision = Decision::Denied;
  denied.message = "podgate denied Pod default/x: no";
  denied.warnings = {"[podgate] warning: w"};
  denied.auditAnnotations = {{"decision", "denied"}};
  const admission::Response r = to_response("uid-9", denied);
  CHECK(r.uid == "uid-9");
  CHECK_FALSE(r.allowed);
  CHECK(r.code == 403);
  CHECK(r.reason == "Forbidden");
  CHECK(r.message == denied.message);
  CHECK(r.warnings == denied.warnings);
  CHECK(r.auditAnnotations == denied.auditAnnotations);

  Verdict wouldDeny;
  wouldDeny.decision = Decision::WouldDeny;
  wouldDeny.message = "podgate would deny Pod default/x: no";
  const admission::Response a = to_response("u", wouldDeny);
  CHECK(a.allowed);
  CHECK(a.message.empty());
  CHECK(admission::encode(a).find("status") == std::string::npos);
}
