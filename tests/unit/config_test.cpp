// The config loader: defaults, overlaying, every validation error with its message, value
// grammars (durations, sizes, addresses), rendering round trips, file handling and the docs sync.

#include <catch2/catch.hpp>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "config/config.h"
#include "support/temp_dir.h"

using namespace std::chrono_literals;
using podgate::config::Action;
using podgate::config::Config;
using podgate::config::ConfigError;
using podgate::config::Mode;
using podgate::config::parse;

namespace {

// The error parse() reports for `text` ("" when it parses). Any exception other than ConfigError
// fails the test: untrusted input must never escape as anything else.
std::string error_of(const std::string& text) {
  try {
    parse(text, "podgate.yaml");
    return "";
  } catch (const ConfigError& e) {
    const std::string message = e.what();
    CHECK(message.find('\n') == std::string::npos);  // one line each
    return message;
  } catch (const std::exception& e) {
    FAIL("parse threw something other than ConfigError: " << e.what());
  } catch (...) {
    FAIL("parse threw a non-std exception");
  }
  return "";
}

// Dotted paths of every key in a YAML mapping tree.
void collect_keys(const YAML::Node& node, const std::string& prefix, std::vector<std::string>& out) {
  if (!node.IsMap()) return;
  for (const auto& entry : node) {
    const std::string path = prefix.empty() ? entry.first.Scalar() : prefix + "." + entry.first.Scalar();
    out.push_back(path);
    collect_keys(entry.second, path, out);
  }
}

}  // namespace

TEST_CASE("defaults are the documented safe values", "[config]") {
  const Config c;
  CHECK(c.mode == Mode::Enforce);
  CHECK(c.exemptions.namespaces == std::vector<std::string>{"kube-system"});
  CHECK(c.exemptions.serviceAccounts.empty());
  CHECK(c.exemptions.images.empty());
  CHECK(c.rules.privileged.action == Action::Deny);
  CHECK(c.rules.runtimeSockets.action == Action::Deny);
  CHECK(c.rules.runtimeSockets.paths == podgate::config::RuntimeSocketsRule::default_socket_paths());
  CHECK(c.rules.runtimeSockets.extraPaths.empty());
  CHECK_FALSE(c.rules.runtimeSockets.denyAllHostPaths);
  CHECK(c.rules.runtimeSockets.allowedHostPaths.empty());
  CHECK(c.rules.images.action == Action::Off);
  CHECK(c.server.listen == "0.0.0.0:8443");
  CHECK(c.server.metricsListen == "0.0.0.0:9090");
  CHECK(c.server.threads == 0);
  CHECK(c.server.shutdownGracePeriod == 25s);
  CHECK(c.server.defaultReviewTimeout == 10s);
  CHECK(c.server.tls.certFile == "/etc/podgate/tls/tls.crt");
  CHECK(c.server.tls.keyFile == "/etc/podgate/tls/tls.key");
  CHECK(c.server.tls.clientCaFile.empty());
  CHECK(c.server.tls.minVersion == "1.2");
  CHECK(c.server.tls.reloadInterval == 5s);
  CHECK(c.server.limits.maxBodyBytes == 3u * 1024 * 1024);
  CHECK(c.server.limits.maxHeaderBytes == 16u * 1024);
  CHECK(c.server.limits.readTimeout == 10s);
  CHECK(c.server.limits.writeTimeout == 10s);
  CHECK(c.server.limits.idleTimeout == 120s);
  CHECK(c.server.limits.idleTimeout > 90s);  // the apiserver's idle timeout: the client closes first
  CHECK(c.server.limits.maxConnections == 1024);
  CHECK(c.server.limits.handshakeTimeout == 5s);
  CHECK(c.server.limits.maxConnectionsPerPeer == 512);
  CHECK(c.server.limits.maxBufferedBodyBytes == 32u * 1024 * 1024);
  CHECK(c.logging.level == "info");
  CHECK_FALSE(c.logging.logAllowed);
  CHECK(c.kubernetes.kubeconfig.empty());
  CHECK(c.kubernetes.qps == 20);
  CHECK(c.kubernetes.burst == 50);
  CHECK(c.kubernetes.timeout == 10s);
  CHECK(c.scans.store == podgate::config::ScanStore::Sqlite);
  CHECK(c.scans.retention == 720h);
  CHECK(c.scans.findingsFloor == "HIGH");
  CHECK(c.scans.syncTimeout == 2min);
  CHECK_FALSE(c.scans.trivyOperator);
  CHECK_FALSE(c.rules.images.resolve.pullSecrets);
  CHECK(c.rules.images.resolve.pullSecretTTL == 60s);
}

TEST_CASE("the built-in socket list covers every runtime and only sockets and state dirs", "[config]") {
  const auto paths = podgate::config::RuntimeSocketsRule::default_socket_paths();
  for (const char* expected :
       {"/run/docker.sock", "/run/docker", "/run/containerd", "/run/crio", "/run/cri-dockerd.sock", "/run/podman",
        "/run/k3s/containerd", "/var/run/docker.sock", "/var/run/cri-dockerd.sock", "/run/dockershim.sock",
        "/run/buildkit", "/run/k0s", "/var/snap/microk8s/common/run", "/run/user/*/docker.sock",
        "/run/user/*/containerd", "/run/user/*/podman", "/run/user/*/buildkit", "/proc"}) {
    INFO(expected);
    CHECK(std::count(paths.begin(), paths.end(), expected) == 1);
  }
  CHECK(paths.size() == 26);
  CHECK(std::find(paths.begin(), paths.end(), "/var/lib/docker") == paths.end());
  for (const auto& path : paths) CHECK(path.front() == '/');
}

TEST_CASE("enum names", "[config]") {
  using podgate::config::to_string;
  CHECK(std::string(to_string(Mode::Enforce)) == "enforce");
  CHECK(std::string(to_string(Mode::Audit)) == "audit");
  CHECK(std::string(to_string(Action::Deny)) == "deny");
  CHECK(std::string(to_string(Action::Warn)) == "warn");
  CHECK(std::string(to_string(Action::Off)) == "off");
  CHECK(std::string(to_string(podgate::config::ScanStore::Sqlite)) == "sqlite");
  CHECK(std::string(to_string(podgate::config::ScanStore::Kubernetes)) == "kubernetes");
}

TEST_CASE("empty documents give the defaults", "[config]") {
  for (const char* text : {"", "{}", "# only a comment\n", "---\n", "\n\n", "---\n{}\n"}) {
    INFO(text);
    CHECK(error_of(text).empty());
    CHECK(parse(text) == Config{});
  }
}

TEST_CASE("the example file parses and equals the defaults", "[config]") {
  const Config example = podgate::config::load_file(PODGATE_SOURCE_DIR "/examples/podgate.yaml");
  CHECK(example == Config{});
}

TEST_CASE("a file overlays the defaults key by key", "[config]") {
  SECTION("partial file keeps everything else") {
    const Config c = parse("mode: audit\nserver:\n  limits:\n    maxConnections: 10\n");
    CHECK(c.mode == Mode::Audit);
    CHECK(c.server.limits.maxConnections == 10);
    Config expected;
    expected.mode = Mode::Audit;
    expected.server.limits.maxConnections = 10;
    CHECK(c == expected);
  }
  SECTION("every key set") {
    const Config c = parse(R"(
mode: audit
exemptions:
  namespaces: [kube-system, monitoring]
  serviceAccounts: ["monitoring:node-exporter", "ci:runner-1"]
  images: ["registry.example.com/platform/**", "docker.io/library/*:1.2"]
rules:
  privileged: { action: warn }
  runtimeSockets:
    action: off
    paths: [/run/docker.sock]
    extraPaths: [/run/my-runtime.sock]
    denyAllHostPaths: true
    allowedHostPaths: [/var/log, /etc/ssl/certs]
  images: { action: "off" }
server:
  listen: "127.0.0.1:9443"
  metricsListen: ":0"
  threads: 4
  shutdownGracePeriod: 1m
  defaultReviewTimeout: 30s
  tls:
    certFile: /tmp/c.crt
    keyFile: /tmp/c.key
    clientCaFile: /tmp/ca.crt
    minVersion: "1.3"
    reloadInterval: 500ms
  limits:
    maxBodyBytes: 1Mi
    maxHeaderBytes: 8192
    readTimeout: 5s
    writeTimeout: 1m30s
    idleTimeout: 3m
    maxConnections: 100
logging:
  level: debug
  logAllowed: true
)");
    CHECK(c.mode == Mode::Audit);
    CHECK(c.exemptions.namespaces == std::vector<std::string>{"kube-system", "monitoring"});
    CHECK(c.exemptions.serviceAccounts == std::vector<std::string>{"monitoring:node-exporter", "ci:runner-1"});
    CHECK(c.exemptions.images == std::vector<std::string>{"registry.example.com/platform/**", "docker.io/library/*:1.2"});
    CHECK(c.rules.privileged.action == Action::Warn);
    CHECK(c.rules.runtimeSockets.action == Action::Off);
    CHECK(c.rules.runtimeSockets.paths == std::vector<std::string>{"/run/docker.sock"});
    CHECK(c.rules.runtimeSockets.extraPaths == std::vector<std::string>{"/run/my-runtime.sock"});
    CHECK(c.rules.runtimeSockets.denyAllHostPaths);
    CHECK(c.rules.runtimeSockets.allowedHostPaths == std::vector<std::string>{"/var/log", "/etc/ssl/certs"});
    CHECK(c.rules.images.action == Action::Off);
    CHECK(c.server.listen == "127.0.0.1:9443");
    CHECK(c.server.metricsListen == ":0");
    CHECK(c.server.threads == 4);
    CHECK(c.server.shutdownGracePeriod == 60s);
    CHECK(c.server.defaultReviewTimeout == 30s);
    CHECK(c.server.tls.certFile == "/tmp/c.crt");
    CHECK(c.server.tls.keyFile == "/tmp/c.key");
    CHECK(c.server.tls.clientCaFile == "/tmp/ca.crt");
    CHECK(c.server.tls.minVersion == "1.3");
    CHECK(c.server.tls.reloadInterval == 500ms);
    CHECK(c.server.limits.maxBodyBytes == 1024u * 1024);
    CHECK(c.server.limits.maxHeaderBytes == 8192);
    CHECK(c.server.limits.readTimeout == 5s);
    CHECK(c.server.limits.writeTimeout == 90s);
    CHECK(c.server.limits.idleTimeout == 180s);
    CHECK(c.server.limits.maxConnections == 100);
    CHECK(c.logging.level == "debug");
    CHECK(c.logging.logAllowed);
  }
  SECTION("paths replaces the list, extraPaths adds beside it") {
    const Config c = parse("rules:\n  runtimeSockets:\n    extraPaths: [/run/x.sock]\n");
    CHECK(c.rules.runtimeSockets.paths == podgate::config::RuntimeSocketsRule::default_socket_paths());
    CHECK(c.rules.runtimeSockets.extraPaths == std::vector<std::string>{"/run/x.sock"});
    CHECK(parse("rules:\n  runtimeSockets:\n    paths: []\n").rules.runtimeSockets.paths.empty());
  }
  SECTION("empty sections keep defaults; empty lists are empty") {
    CHECK(parse("exemptions:\nrules:\n  privileged:\nserver:\nlogging:\n") == Config{});
    // "namespaces:" with every item commented out means none, not the default.
    CHECK(parse("exemptions:\n  namespaces:\n  # - kube-system\n").exemptions.namespaces.empty());
    CHECK(parse("exemptions: {namespaces: []}").exemptions.namespaces.empty());
  }
}

TEST_CASE("JSON input works", "[config]") {
  const Config c = parse(R"({
    "mode": "audit",
    "exemptions": {"namespaces": ["a", "b"], "serviceAccounts": ["ns:sa"], "images": ["x/*"]},
    "rules": {"privileged": {"action": "warn"},
              "runtimeSockets": {"action": "off", "extraPaths": ["/run/x.sock"], "denyAllHostPaths": true,
                                 "allowedHostPaths": ["/data"]},
              "images": {"action": "off"}},
    "server": {"listen": "[::1]:8443", "threads": 2, "tls": {"minVersion": "1.3", "reloadInterval": "1s"},
               "limits": {"maxBodyBytes": 2097152, "idleTimeout": "100s"}},
    "logging": {"level": "warn", "logAllowed": false}
  })",
                         "podgate.json");
  CHECK(c.mode == Mode::Audit);
  CHECK(c.exemptions.namespaces == std::vector<std::string>{"a", "b"});
  CHECK(c.exemptions.serviceAccounts == std::vector<std::string>{"ns:sa"});
  CHECK(c.rules.privileged.action == Action::Warn);
  CHECK(c.rules.runtimeSockets.action == Action::Off);
  CHECK(c.rules.runtimeSockets.denyAllHostPaths);
  CHECK(c.server.listen == "[::1]:8443");
  CHECK(c.server.threads == 2);
  CHECK(c.server.tls.minVersion == "1.3");
  CHECK(c.server.limits.maxBodyBytes == 2097152);
  CHECK(c.server.limits.idleTimeout == 100s);
  CHECK(c.logging.level == "warn");

  // JSON's own types are checked like YAML's.
  CHECK(error_of(R"({"rules": {"privileged": {"action": false}}})") ==
        "podgate.yaml: rules.privileged.action: must be one of deny, warn, off (got \"false\")");
  CHECK(error_of(R"({"server": {"threads": "4x"}})") ==
        "podgate.yaml: server.threads: expected a non-negative integer, got \"4x\"");
  CHECK(error_of(R"({"server": {"limits": {"readTimeout": 10}}})").find("expected a duration") != std::string::npos);
  CHECK(error_of(R"({"modee": "audit"})") ==
        "podgate.yaml: modee: unknown key (expected one of: mode, exemptions, rules, workloads, registries, kubernetes, scans, audit, server, logging)");
  CHECK(error_of(R"({"mode": "audit",)").find("YAML syntax error") != std::string::npos);
}

TEST_CASE("unknown keys are refused at every level, naming the full path", "[config]") {
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {"colour: blue\n", "podgate.yaml: colour: unknown key (expected one of: mode, exemptions, rules, workloads, registries, kubernetes, scans, audit, server, logging)"},
      {"exemptions:\n  groups: []\n",
       "podgate.yaml: exemptions.groups: unknown key (expected one of: namespaces, serviceAccounts, images, users)"},
      {"rules:\n  hostNetwork: {action: deny}\n",
       "podgate.yaml: rules.hostNetwork: unknown key (expected one of: privileged, runtimeSockets, images, podSecurity)"},
      {"rules:\n  podSecurity:\n    levl: baseline\n",
       "podgate.yaml: rules.podSecurity.levl: unknown key (expected one of: level, version, action, namespaceLabels)"},
      {"rules:\n  privileged:\n    acton: deny\n",
       "podgate.yaml: rules.privileged.acton: unknown key (expected one of: action)"},
      {"rules:\n  runtimeSockets:\n    extrapaths: []\n",
       "podgate.yaml: rules.runtimeSockets.extrapaths: unknown key (expected one of: action, paths, extraPaths, "
       "denyAllHostPaths, allowedHostPaths)"},
      {"rules:\n  images:\n    registries: []\n", "podgate.yaml: rules.images.registries: unknown key (expected one of: action, resolve, onResolveError, trustedRegistries, blocked, requireDigest, pinDigests, scan, signatures)"},
      {"server:\n  port: 8443\n",
       "podgate.yaml: server.port: unknown key (expected one of: listen, metricsListen, threads, shutdownGracePeriod, "
       "defaultReviewTimeout, tls, limits)"},
      {"server:\n  tls:\n    cert: x\n",
       "podgate.yaml: server.tls.cert: unknown key (expected one of: certFile, keyFile, clientCaFile, minVersion, "
       "reloadInterval)"},
      {"server:\n  limits:\n    maxBody: 1\n",
       "podgate.yaml: server.limits.maxBody: unknown key (expected one of: maxBodyBytes, maxHeaderBytes, "
       "handshakeTimeout, readTimeout, writeTimeout, idleTimeout, maxConnections, maxConnectionsPerPeer, "
       "maxBufferedBodyBytes)"},
      {"logging:\n  format: json\n", "podgate.yaml: logging.format: unknown key (expected one of: level, logAllowed)"},
      {"kubernetes:\n  server: https://x\n",
       "podgate.yaml: kubernetes.server: unknown key (expected one of: kubeconfig, qps, burst, timeout)"},
      {"scans:\n  sources:\n    grype: true\n",
       "podgate.yaml: scans.sources.grype: unknown key (expected one of: trivyOperator)"},
      {"scans:\n  trivyOperator: true\n",
       "podgate.yaml: scans.trivyOperator: unknown key (expected one of: store, database, apiTokenFile, maxReportBytes, "
       "cacheBytes, retention, findingsFloor, syncTimeout, sources)"},
      {"rules:\n  images:\n    resolve:\n      pullSecretTtl: 1m\n",
       "podgate.yaml: rules.images.resolve.pullSecretTtl: unknown key (expected one of: timeout, cacheTTL, errorTTL, "
       "maxEntries, maxManifestBytes, pullSecrets, pullSecretTTL)"},
      // Keys are case-sensitive, as in Kubernetes.
      {"Mode: audit\n", "podgate.yaml: Mode: unknown key (expected one of: mode, exemptions, rules, workloads, registries, kubernetes, scans, audit, server, logging)"},
      // YAML merge keys are not supported by yaml-cpp; they must not be silently ignored.
      {"base: &b {action: deny}\n", "podgate.yaml: base: unknown key"},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    CHECK_THAT(error_of(c.text), Catch::Matchers::StartsWith(c.message));
  }
  // A key that is not a plain identifier is shown quoted, escaped, on one line.
  CHECK(error_of("\"bad\\tkey\": 1\n").find("podgate.yaml: \"bad\\x09key\": unknown key") == 0);
  CHECK(error_of("? [a, b]\n: 1\n") == "podgate.yaml: <key>: keys must be strings, got a list");
}

TEST_CASE("wrong types name the expected type and what was found", "[config]") {
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {"server:\n  limits:\n    maxBodyBytes: lots\n",
       "podgate.yaml: server.limits.maxBodyBytes: expected a positive integer, got \"lots\""},
      {"server:\n  limits:\n    maxBodyBytes: [1]\n",
       "podgate.yaml: server.limits.maxBodyBytes: expected a positive integer, got a list"},
      {"server:\n  threads: many\n", "podgate.yaml: server.threads: expected a non-negative integer, got \"many\""},
      {"server:\n  threads: -1\n", "podgate.yaml: server.threads: expected a non-negative integer, got \"-1\""},
      {"server:\n  limits:\n    maxConnections: 1e3\n",
       "podgate.yaml: server.limits.maxConnections: expected a positive integer, got \"1e3\""},
      {"logging:\n  logAllowed: yes\n", "podgate.yaml: logging.logAllowed: expected true or false, got \"yes\""},
      {"rules:\n  runtimeSockets:\n    denyAllHostPaths: 1\n",
       "podgate.yaml: rules.runtimeSockets.denyAllHostPaths: expected true or false, got \"1\""},
      {"exemptions: [kube-system]\n", "podgate.yaml: exemptions: expected a mapping, got a list"},
      {"rules:\n  privileged: deny\n", "podgate.yaml: rules.privileged: expected a mapping, got \"deny\""},
      {"exemptions:\n  namespaces: kube-system\n",
       "podgate.yaml: exemptions.namespaces: expected a list, got \"kube-system\""},
      {"exemptions:\n  namespaces: [[a]]\n", "podgate.yaml: exemptions.namespaces[0]: expected a string, got a list"},
      {"server:\n  tls:\n    certFile: {a: 1}\n", "podgate.yaml: server.tls.certFile: expected a string, got a mapping"},
      {"server:\n  tls:\n    certFile: \"\"\n", "podgate.yaml: server.tls.certFile: must not be empty"},
      {"server:\n  tls:\n    keyFile:\n", "podgate.yaml: server.tls.keyFile: expected a string, got null"},
      {"server:\n  tls:\n    certFile: \"a\\0b\"\n",
       "podgate.yaml: server.tls.certFile: must not contain control characters, got \"a\\x00b\""},
      {"server:\n  listen: 8443\n",
       "podgate.yaml: server.listen: expected HOST:PORT, [IPv6]:PORT or :PORT, got \"8443\""},
      {"server:\n  listen: [a]\n", "podgate.yaml: server.listen: expected HOST:PORT, got a list"},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    CHECK_THAT(error_of(c.text), Catch::Matchers::StartsWith(c.message));
  }
  CHECK(parse("logging:\n  logAllowed: True\n").logging.logAllowed);
  CHECK(parse("server:\n  tls:\n    clientCaFile: \"\"\n").server.tls.clientCaFile.empty());
}

TEST_CASE("enum values are checked", "[config]") {
  CHECK(error_of("mode: block\n") == "podgate.yaml: mode: must be one of enforce, audit (got \"block\")");
  CHECK(error_of("mode: Enforce\n") == "podgate.yaml: mode: must be one of enforce, audit (got \"Enforce\")");
  CHECK(error_of("mode:\n") == "podgate.yaml: mode: must be one of enforce, audit (got null)");
  CHECK(parse("mode: audit\n").mode == Mode::Audit);
  CHECK(parse("mode: enforce\n").mode == Mode::Enforce);

  CHECK(error_of("rules:\n  privileged:\n    action: block\n") ==
        "podgate.yaml: rules.privileged.action: must be one of deny, warn, off (got \"block\")");
  CHECK(error_of("rules:\n  runtimeSockets:\n    action: [deny]\n") ==
        "podgate.yaml: rules.runtimeSockets.action: must be one of deny, warn, off (got a list)");
  for (const char* off : {"off", "\"off\"", "'off'"}) {
    INFO(off);
    const Config c = parse(std::string("rules:\n  privileged:\n    action: ") + off +
                           "\n  runtimeSockets:\n    action: " + off + "\n  images:\n    action: " + off + "\n");
    CHECK(c.rules.privileged.action == Action::Off);
    CHECK(c.rules.runtimeSockets.action == Action::Off);
    CHECK(c.rules.images.action == Action::Off);
  }
  CHECK(parse("rules:\n  privileged:\n    action: warn\n").rules.privileged.action == Action::Warn);
  CHECK(parse("rules:\n  privileged:\n    action: deny\n").rules.privileged.action == Action::Deny);

  CHECK(parse("rules:\n  images:\n    action: deny\n").rules.images.action == Action::Deny);
  CHECK(parse("rules:\n  images:\n    action: warn\n").rules.images.action == Action::Warn);
  CHECK(error_of("rules:\n  images:\n    onResolveError: ignore\n") ==
        "podgate.yaml: rules.images.onResolveError: must be one of deny, allow (got \"ignore\")");
  CHECK(error_of("rules:\n  images:\n    action: block\n") ==
        "podgate.yaml: rules.images.action: must be one of deny, warn, off (got \"block\")");

  CHECK(error_of("logging:\n  level: verbose\n") ==
        "podgate.yaml: logging.level: must be one of debug, info, warn, error (got \"verbose\")");
  for (const char* level : {"debug", "info", "warn", "error"}) CHECK(parse(std::string("logging: {level: ") + level + "}").logging.level == level);

  CHECK(parse("server:\n  tls:\n    minVersion: 1.3\n").server.tls.minVersion == "1.3");
  CHECK(parse("server:\n  tls:\n    minVersion: \"1.2\"\n").server.tls.minVersion == "1.2");
  CHECK(error_of("server:\n  tls:\n    minVersion: 1.1\n") ==
        "podgate.yaml: server.tls.minVersion: must be one of \"1.2\", \"1.3\" (got \"1.1\")");
  CHECK(error_of("server:\n  tls:\n    minVersion: 1.20\n").find("must be one of \"1.2\", \"1.3\"") != std::string::npos);
}

TEST_CASE("durations use Go/Kubernetes syntax", "[config]") {
  const auto timeout = [](const std::string& value) {
    return parse("server:\n  limits:\n    readTimeout: \"" + value + "\"\n").server.limits.readTimeout;
  };
  const std::pair<const char*, std::chrono::milliseconds> valid[] = {
      {"10s", 10s},     {"500ms", 500ms}, {"2m", 2min},         {"1m30s", 90s},      {"10m", 10min},
      {"1.5s", 1500ms}, {"0.5m", 30s},    {"1s500ms", 1500ms},  {"2000us", 2ms},     {"3000\xC2\xB5s", 3ms},
      {"1000000ns", 1ms}, {"1ms", 1ms},   {"+5s", 5s},          {".5s", 500ms},      {"9m59s999ms", 599999ms},
  };
  for (const auto& [text, expected] : valid) {
    INFO(text);
    REQUIRE(error_of(std::string("server:\n  limits:\n    readTimeout: \"") + text + "\"\n").empty());
    CHECK(timeout(text) == expected);
  }
  // Unquoted works the same.
  CHECK(parse("server:\n  limits:\n    idleTimeout: 1m30s\n").server.limits.idleTimeout == 90s);

  const std::string form = "expected a duration such as \"10s\", \"500ms\" or \"1m30s\", got ";
  const std::pair<const char*, std::string> invalid[] = {
      {"10", form + "\"10\""},  // a plain integer names the expected form
      {"0", form + "\"0\""},
      {"ten", form + "\"ten\""},
      {"10x", form + "\"10x\""},
      {"s", form + "\"s\""},
      {"", form + "\"\""},
      {"1ms500", form + "\"1ms500\""},
      {"1 s", form + "\"1 s\""},
      {"1.5", form + "\"1.5\""},
      {"0s", "must be greater than 0 and at most 10m (got \"0s\")"},
      {"-1s", "must be greater than 0 and at most 10m (got \"-1s\")"},
      {"10m1ms", "must be greater than 0 and at most 10m (got \"10m1ms\")"},
      {"1h", "must be greater than 0 and at most 10m (got \"1h\")"},
      {"99999999999999999999999999h", "must be greater than 0 and at most 10m (got \"99999999999999999999999999h\")"},
      {"1500us", "must be a whole number of milliseconds, got \"1500us\""},
      {"1ns", "must be a whole number of milliseconds, got \"1ns\""},
  };
  for (const auto& [text, message] : invalid) {
    INFO(text);
    CHECK(error_of(std::string("server:\n  limits:\n    readTimeout: \"") + text + "\"\n") ==
          "podgate.yaml: server.limits.readTimeout: " + message);
  }
  // Every duration key is validated the same way.
  for (const char* key : {"server.shutdownGracePeriod", "server.defaultReviewTimeout", "server.tls.reloadInterval",
                          "server.limits.readTimeout", "server.limits.writeTimeout", "server.limits.idleTimeout"}) {
    INFO(key);
    std::string path = key;
    std::string yaml;
    std::string indent;
    std::size_t start = 0;
    for (std::size_t dot; (dot = path.find('.', start)) != std::string::npos; start = dot + 1) {
      yaml += indent + path.substr(start, dot - start) + ":\n";
      indent += "  ";
    }
    const std::string leaf = indent + path.substr(start) + ": ";
    CHECK(error_of(yaml + leaf + "30\n") == "podgate.yaml: " + path + ": " + form + "\"30\"");
    CHECK(error_of(yaml + leaf + "11m\n") == "podgate.yaml: " + path + ": must be greater than 0 and at most 10m (got \"11m\")");
    CHECK(error_of(yaml + leaf + "250ms\n").empty());
  }
}

TEST_CASE("byte sizes accept integers and Kubernetes suffixes", "[config]") {
  const auto body = [](const std::string& value) {
    return parse("server:\n  limits:\n    maxBodyBytes: " + value + "\n").server.limits.maxBodyBytes;
  };
  const std::pair<const char*, std::size_t> valid[] = {
      {"1048576", 1048576}, {"3Mi", 3145728}, {"16Ki", 16384}, {"1Ki", 1024},      {"64Mi", 67108864},
      {"2M", 2000000},      {"1024", 1024},   {"2k", 2000},    {"\"1Mi\"", 1048576}, {"67108864", 67108864},
  };
  for (const auto& [text, expected] : valid) {
    INFO(text);
    CHECK(body(text) == expected);
  }
  const std::string prefix = "podgate.yaml: server.limits.maxBodyBytes: ";
  const std::pair<const char*, std::string> invalid[] = {
      {"lots", "expected a positive integer, got \"lots\""},
      {"-1", "expected a positive integer, got \"-1\""},
      {"1.5Mi", "expected a positive integer, got \"1.5Mi\""},
      {"0x10", "expected a positive integer, got \"0x10\""},
      {"Mi", "expected a positive integer, got \"Mi\""},
      {"3MB", "expected a positive integer, got \"3MB\""},
      {"3 Mi", "expected a positive integer, got \"3 Mi\""},
      {"1023", "must be between 1Ki and 64Mi bytes (got \"1023\")"},
      {"1k", "must be between 1Ki and 64Mi bytes (got \"1k\")"},
      {"0", "must be between 1Ki and 64Mi bytes (got \"0\")"},
      {"65Mi", "must be between 1Ki and 64Mi bytes (got \"65Mi\")"},
      {"67108865", "must be between 1Ki and 64Mi bytes (got \"67108865\")"},
      {"1Gi", "must be between 1Ki and 64Mi bytes (got \"1Gi\")"},
      {"99999999999999999999Gi", "must be between 1Ki and 64Mi bytes (got \"99999999999999999999Gi\")"},
      {"18446744073709551615Ki", "must be between 1Ki and 64Mi bytes (got \"18446744073709551615Ki\")"},
  };
  for (const auto& [text, message] : invalid) {
    INFO(text);
    CHECK_THAT(error_of(std::string("server:\n  limits:\n    maxBodyBytes: ") + text + "\n"),
               Catch::Matchers::StartsWith(prefix + message));
  }
  CHECK(parse("server:\n  limits:\n    maxHeaderBytes: 1Mi\n").server.limits.maxHeaderBytes == 1048576);
  CHECK(parse("server:\n  limits:\n    maxHeaderBytes: 1Ki\n").server.limits.maxHeaderBytes == 1024);
  CHECK(error_of("server:\n  limits:\n    maxHeaderBytes: 2Mi\n") ==
        "podgate.yaml: server.limits.maxHeaderBytes: must be between 1Ki and 1Mi bytes (got \"2Mi\")");
  CHECK(error_of("server:\n  limits:\n    maxHeaderBytes: 512\n") ==
        "podgate.yaml: server.limits.maxHeaderBytes: must be between 1Ki and 1Mi bytes (got \"512\")");
}

TEST_CASE("integer ranges", "[config]") {
  CHECK(parse("server: {threads: 0}").server.threads == 0);
  CHECK(parse("server: {threads: 256}").server.threads == 256);
  CHECK(error_of("server: {threads: 257}") == "podgate.yaml: server.threads: must be between 0 and 256 (got 257)");
  CHECK(error_of("server: {threads: 99999999999999999999999}") ==
        "podgate.yaml: server.threads: must be between 0 and 256 (got 99999999999999999999999)");
  CHECK(parse("server: {limits: {maxConnections: 1}}").server.limits.maxConnections == 1);
  CHECK(parse("server: {limits: {maxConnections: 1000000}}").server.limits.maxConnections == 1000000);
  CHECK(error_of("server: {limits: {maxConnections: 0}}") ==
        "podgate.yaml: server.limits.maxConnections: must be between 1 and 1000000 (got 0)");
  CHECK(error_of("server: {limits: {maxConnections: 1000001}}") ==
        "podgate.yaml: server.limits.maxConnections: must be between 1 and 1000000 (got 1000001)");
  CHECK(parse("server: {limits: {maxConnectionsPerPeer: 0}}").server.limits.maxConnectionsPerPeer == 0);
  CHECK(error_of("server: {limits: {maxConnectionsPerPeer: 1000001}}") ==
        "podgate.yaml: server.limits.maxConnectionsPerPeer: must be between 0 and 1000000 (got 1000001)");
}

TEST_CASE("the body budget is a byte size from 1Mi", "[config]") {
  CHECK(parse("server: {limits: {maxBufferedBodyBytes: 3Mi}}").server.limits.maxBufferedBodyBytes == 3u << 20);
  CHECK(error_of("server: {limits: {maxBufferedBodyBytes: 512Ki}}") ==
        "podgate.yaml: server.limits.maxBufferedBodyBytes: must be between 1Mi and 4Gi bytes (got \"512Ki\")");
}

TEST_CASE("exemption entries are validated", "[config]") {
  SECTION("namespaces are DNS-1123 labels") {
    CHECK(parse("exemptions: {namespaces: [a, kube-system, ns-1, 0abc]}").exemptions.namespaces.size() == 4);
    for (const char* bad : {"Kube-System", "kube_system", "-abc", "abc-", "a.b", "\"\"", "\"a b\""}) {
      INFO(bad);
      CHECK_THAT(error_of(std::string("exemptions:\n  namespaces: [ok, ") + bad + "]\n"),
                 Catch::Matchers::StartsWith("podgate.yaml: exemptions.namespaces[1]: must be a valid namespace name"));
    }
    const std::string label63(63, 'a');
    CHECK(error_of("exemptions: {namespaces: [" + label63 + "]}").empty());
    CHECK_FALSE(error_of("exemptions: {namespaces: [" + label63 + "a]}").empty());
  }
  SECTION("service accounts are namespace:name") {
    CHECK(parse("exemptions: {serviceAccounts: [\"ci:runner\", \"kube-system:default\"]}").exemptions.serviceAccounts ==
          std::vector<std::string>{"ci:runner", "kube-system:default"});
    for (const char* bad : {"default", "ns:", ":name", "NS:name", "ns:Name", "ns:name:extra", "ns/name", "ns: name"}) {
      INFO(bad);
      CHECK(error_of(std::string("exemptions:\n  serviceAccounts: [\"") + bad + "\"]\n") ==
            std::string("podgate.yaml: exemptions.serviceAccounts[0]: expected \"namespace:name\" with both parts "
                        "DNS-1123 labels, got \"") +
                bad + "\"");
    }
  }
  SECTION("image patterns are non-empty, without whitespace") {
    CHECK(parse("exemptions: {images: [\"**\", \"registry.example.com/*/app:*\", \"nginx\"]}").exemptions.images.size() ==
          3);
    for (const char* bad : {"", "nginx latest", "nginx\\t", " nginx"}) {
      INFO(bad);
      CHECK_THAT(error_of(std::string("exemptions:\n  images: [\"") + bad + "\"]\n"),
                 Catch::Matchers::StartsWith(
                     "podgate.yaml: exemptions.images[0]: must be a non-empty image pattern without whitespace, got"));
    }
  }
}

TEST_CASE("host paths must be absolute", "[config]") {
  for (const char* key : {"paths", "extraPaths", "allowedHostPaths"}) {
    INFO(key);
    const std::string base = std::string("rules:\n  runtimeSockets:\n    ") + key + ": [/ok, ";
    CHECK(error_of(base + "run/docker.sock]\n") ==
          std::string("podgate.yaml: rules.runtimeSockets.") + key +
              "[1]: must be an absolute path (starting with '/'), got \"run/docker.sock\"");
    CHECK(error_of(base + "\"\"]\n").find("must be an absolute path") != std::string::npos);
    CHECK(error_of(base + "./x]\n").find("must be an absolute path") != std::string::npos);
    CHECK(error_of(base + "/var/run/x.sock]\n").empty());
  }
}

TEST_CASE("listen addresses", "[config]") {
  using podgate::config::parse_host_port;
  struct Valid {
    const char* text;
    const char* host;
    unsigned short port;
  };
  for (const Valid& v : {Valid{"0.0.0.0:8443", "0.0.0.0", 8443}, Valid{":8443", "", 8443},
                         Valid{"[::1]:8443", "::1", 8443}, Valid{"[::]:0", "::", 0},
                         Valid{"localhost:65535", "localhost", 65535}, Valid{"127.0.0.1:0", "127.0.0.1", 0},
                         Valid{"[fe80::1%eth0]:443", "fe80::1%eth0", 443}, Valid{"my-host.example:80", "my-host.example", 80}}) {
    INFO(v.text);
    const auto hp = parse_host_port(v.text, "--listen");
    CHECK(hp.host == v.host);
    CHECK(hp.port == v.port);
  }
  const auto error = [](const std::string& text) {
    try {
      parse_host_port(text, "--listen");
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  const std::string form = "--listen: expected HOST:PORT, [IPv6]:PORT or :PORT, got ";
  for (const char* bad : {"8443", "", "::1:8443", "[::1]8443", "[]:80", "[127.0.0.1]:80", "ho st:80", "[::1]", "a/b:80"}) {
    INFO(bad);
    CHECK(error(bad) == form + "\"" + bad + "\"");
  }
  CHECK(error("host:") == "--listen: port must be a number from 0 to 65535, got \"\"");
  CHECK(error("host:65536") == "--listen: port must be a number from 0 to 65535, got \"65536\"");
  CHECK(error("host:-1") == "--listen: port must be a number from 0 to 65535, got \"-1\"");
  CHECK(error(":http") == "--listen: port must be a number from 0 to 65535, got \"http\"");
  CHECK(error(":0000008443") == "--listen: port must be a number from 0 to 65535, got \"0000008443\"");

  CHECK(error_of("server:\n  metricsListen: \"0.0.0.0:99999\"\n") ==
        "podgate.yaml: server.metricsListen: port must be a number from 0 to 65535, got \"99999\"");
  CHECK(parse("server: {listen: \"[::]:8443\", metricsListen: \":9090\"}").server.metricsListen == ":9090");
}

TEST_CASE("to_yaml writes image entries that load back as the same registry", "[config]") {
  // Entries are stored with the domain lower-cased. "MyRegistry/app" names the registry host
  // MyRegistry (upper case makes a bare label a domain), stored as myregistry/app, which would
  // load back as docker.io/myregistry/app; "docKer.io/app" is not Docker Hub's library/app, but
  // its stored docker.io/app would load back as that (found by tests/fuzz/config).
  const auto config = parse("rules:\n  images:\n    action: deny\n"
                            "    trustedRegistries: [MyRegistry, \"Mirror/team/\", ghcr.io]\n"
                            "    blocked: [\"MyRegistry/app:1.0\", \"Mirror/x\", evil/miner, \"docKer.io/app\", nginx]\n");
  CHECK(config.rules.images.blocked == std::vector<std::string>{"myregistry/app:1.0", "mirror/x", "docker.io/evil/miner",
                                                                "docker.io/app", "docker.io/library/nginx"});
  CHECK(config.rules.images.trustedRegistries == std::vector<std::string>{"myregistry", "mirror/team/", "ghcr.io"});
  CHECK(parse(podgate::config::to_yaml(config)) == config);
}

TEST_CASE("document-level errors", "[config]") {
  SECTION("syntax errors give the line and column") {
    const std::string message = error_of("mode: enforce\nrules:\n  privileged: [deny\n");
    CHECK_THAT(message, Catch::Matchers::StartsWith("podgate.yaml: line "));
    CHECK_THAT(message, Catch::Matchers::Contains("YAML syntax error"));
    CHECK(error_of("mode: audit\n  bad: indent\n").find("podgate.yaml: line 2, column ") == 0);
    CHECK(error_of("a: *undefined\n").find("podgate.yaml: line 1, column 4: YAML syntax error") == 0);
  }
  SECTION("a stray token after a top-level flow collection is an error, not endless documents") {
    // yaml-cpp 0.7 returned empty documents at the ',' forever and LoadAll ran out of memory
    // (found by tests/fuzz/config).
    CHECK(error_of("[],") ==
          "podgate.yaml: line 1, column 3: YAML syntax error: unexpected content after the end of the document");
    CHECK(error_of("{mode: audit},\n").find("podgate.yaml: line 1, column 14: YAML syntax error") == 0);
    CHECK(error_of("{\"mode\": \"audit\",\n \"logging\": {\"level\": \"warn\"}},\n")
              .find("podgate.yaml: line 2, column ") == 0);
  }
  SECTION("the top level must be a mapping") {
    CHECK(error_of("- mode\n- audit\n") == "podgate.yaml: expected a mapping at the top level, got a list");
    CHECK(error_of("enforce\n") == "podgate.yaml: expected a mapping at the top level, got \"enforce\"");
    CHECK(error_of("[]") == "podgate.yaml: expected a mapping at the top level, got a list");
  }
  SECTION("duplicate keys are refused") {
    CHECK(error_of("mode: audit\nmode: enforce\n") == "podgate.yaml: mode: duplicate key");
    CHECK(error_of("rules:\n  privileged:\n    action: warn\n    action: deny\n") ==
          "podgate.yaml: rules.privileged.action: duplicate key");
    CHECK(error_of(R"({"mode": "audit", "mode": "audit"})") == "podgate.yaml: mode: duplicate key");
  }
  SECTION("multi-document files are refused") {
    CHECK(error_of("mode: audit\n---\nmode: enforce\n") ==
          "podgate.yaml: holds 2 YAML documents; a config file holds exactly one (remove the extra '---')");
    CHECK(error_of("---\nmode: audit\n---\n---\n").find("holds 3 YAML documents") != std::string::npos);
  }
  SECTION("oversized text is refused before parsing") {
    const std::string big = "# " + std::string(podgate::config::kMaxConfigBytes, 'x') + "\n";
    CHECK_THAT(error_of(big), Catch::Matchers::Contains("the limit is 1 MiB"));
  }
  SECTION("deep nesting is an error, not a stack overflow") {
    CHECK_THAT(error_of(std::string(100000, '[')), Catch::Matchers::StartsWith("podgate.yaml: "));
    std::string nested;
    for (int i = 0; i < 5000; ++i) nested += "{a: ";
    CHECK_FALSE(error_of(nested).empty());
  }
  SECTION("values in errors are escaped and truncated to stay on one line") {
    const std::string message = error_of("mode: \"a\\nb\\u0001" + std::string(200, 'z') + "\"\n");
    CHECK_THAT(message, Catch::Matchers::StartsWith("podgate.yaml: mode: must be one of enforce, audit (got \"a\\x0ab\\x01zz"));
    CHECK_THAT(message, Catch::Matchers::EndsWith("zz...\")"));
    CHECK(message.size() < 160);
    // Non-ASCII (and invalid UTF-8) is escaped: errors end up in JSON log lines.
    CHECK(error_of("mode: \"\u00fc\"\n") == "podgate.yaml: mode: must be one of enforce, audit (got \"\\xc3\\xbc\")");
    CHECK(error_of("mode: \xff\n") == "podgate.yaml: mode: must be one of enforce, audit (got \"\\xff\")");
  }
  SECTION("aliases are read like the values they point to") {
    const Config c = parse("exemptions:\n  namespaces: &ns [a, b]\nrules:\n  privileged: {action: &w warn}\n  "
                           "runtimeSockets: {action: *w}\n");
    CHECK(c.exemptions.namespaces == std::vector<std::string>{"a", "b"});
    CHECK(c.rules.runtimeSockets.action == Action::Warn);
  }
}

TEST_CASE("malformed input only ever produces ConfigError", "[config]") {
  // Random byte mutations of the example: each either parses or is refused with a ConfigError.
  const std::string example = podgate::test::read_file(PODGATE_SOURCE_DIR "/examples/podgate.yaml");
  std::mt19937 rng(12345);
  const std::string alphabet = "{}[]:,-#&*!|>'\"%@`?\t\n 0aZ\\\x01\xff";
  int refused = 0;
  for (int round = 0; round < 1500; ++round) {
    std::string text = example;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const std::size_t pos = rng() % text.size();
      switch (rng() % 3) {
        case 0: text[pos] = alphabet[rng() % alphabet.size()]; break;
        case 1: text.insert(pos, 1, alphabet[rng() % alphabet.size()]); break;
        default: text.erase(pos, 1 + rng() % 8); break;
      }
    }
    if (!error_of(text).empty()) ++refused;
  }
  CHECK(refused > 0);  // the mutations do break things; error_of checked none escaped otherwise
}

TEST_CASE("to_yaml renders every key and parses back to an equal config", "[config]") {
  SECTION("defaults") {
    const std::string yaml = podgate::config::to_yaml(Config{});
    CHECK(parse(yaml) == Config{});
    CHECK_THAT(yaml, Catch::Matchers::Contains("    idleTimeout: 2m\n"));
    CHECK_THAT(yaml, Catch::Matchers::Contains("    readTimeout: 10s\n"));
    CHECK_THAT(yaml, Catch::Matchers::Contains("    maxBodyBytes: 3145728\n"));
    CHECK_THAT(yaml, Catch::Matchers::Contains("    action: \"off\"\n"));  // YAML 1.1 tools read bare off as false
    CHECK_THAT(yaml, Catch::Matchers::Contains("    minVersion: \"1.2\"\n"));
    std::vector<std::string> keys;
    collect_keys(YAML::Load(yaml), "", keys);
    CHECK(keys.size() == 97);
  }
  SECTION("a config with every value changed, including strings that need quoting") {
    Config c;
    c.mode = Mode::Audit;
    c.exemptions.namespaces = {"a", "yes", "null"};
    c.exemptions.serviceAccounts = {"ci:runner"};
    c.exemptions.images = {"*", "**/x:1.0", "&anchor", "#hash", "a\"b\\c", "-dash"};
    c.rules.privileged.action = Action::Warn;
    c.rules.runtimeSockets.action = Action::Off;
    c.rules.runtimeSockets.paths = {"/with space", "/colon: here", "/#x", "/üñí"};
    c.rules.runtimeSockets.extraPaths = {"/run/x.sock"};
    c.rules.runtimeSockets.denyAllHostPaths = true;
    c.rules.runtimeSockets.allowedHostPaths = {"/var/log"};
    c.rules.podSecurity.level = podgate::config::PodSecurityLevel::Restricted;
    c.rules.podSecurity.version.minor = 27;
    c.rules.podSecurity.action = Action::Warn;
    c.rules.podSecurity.namespaceLabels = true;
    c.server.listen = "[::1]:0";
    c.server.metricsListen = ":9091";
    c.server.threads = 7;
    c.server.shutdownGracePeriod = 90s;
    c.server.defaultReviewTimeout = 1500ms;
    c.server.tls.certFile = "relative/cert.pem";
    c.server.tls.keyFile = "/k: ey";
    c.server.tls.clientCaFile = "/ca.pem";
    c.server.tls.minVersion = "1.3";
    c.server.tls.reloadInterval = 1ms;
    c.server.limits.maxBodyBytes = 1025;
    c.server.limits.maxHeaderBytes = 1048576;
    c.server.limits.readTimeout = 10min;
    c.server.limits.writeTimeout = 61001ms;
    c.server.limits.idleTimeout = 3723ms;
    c.server.limits.maxConnections = 1000000;
    c.server.limits.handshakeTimeout = 1500ms;
    c.server.limits.maxConnectionsPerPeer = 0;
    c.server.limits.maxBufferedBodyBytes = 4ULL << 30;
    c.logging.level = "error";
    c.logging.logAllowed = true;
    c.kubernetes.kubeconfig = "/etc/podgate/kube: config";
    c.kubernetes.qps = 0.25;
    c.kubernetes.burst = 1;
    c.kubernetes.timeout = 2500ms;
    c.scans.store = podgate::config::ScanStore::Kubernetes;
    c.scans.retention = 90min;
    c.scans.findingsFloor = "NEGLIGIBLE";
    c.scans.syncTimeout = 45s;
    c.scans.trivyOperator = true;
    c.rules.images.resolve.pullSecrets = true;
    c.rules.images.resolve.pullSecretTTL = 5min;
    c.audit.enabled = true;
    c.audit.interval = 90min;
    c.audit.reports = podgate::config::AuditReports::OpenReports;
    c.audit.events = false;
    c.audit.podsPerSecond = 12.5;
    c.audit.cacheBytes = 2ULL << 20;
    c.audit.leaseNamespace = "security";
    c.audit.leaseName = "audit-leader";
    c.audit.leaseDuration = 20s;
    const std::string yaml = podgate::config::to_yaml(c);
    INFO(yaml);
    CHECK(error_of(yaml).empty());
    CHECK(parse(yaml) == c);
    CHECK(podgate::config::to_yaml(parse(yaml)) == yaml);
    CHECK_THAT(yaml, Catch::Matchers::Contains("writeTimeout: 1m1s1ms\n"));
    CHECK_THAT(yaml, Catch::Matchers::Contains("defaultReviewTimeout: 1s500ms\n"));
    CHECK_THAT(yaml, Catch::Matchers::Contains("  qps: 0.25\n"));
    CHECK_THAT(yaml, Catch::Matchers::Contains("  store: kubernetes\n"));
    CHECK_THAT(yaml, Catch::Matchers::Contains("  retention: 1h30m\n"));
    CHECK_THAT(yaml, Catch::Matchers::Contains("  sources:\n    trivyOperator: true\n"));
    CHECK_THAT(yaml, Catch::Matchers::Contains("  reports: openreports.io/v1alpha1\n"));
  }
}

TEST_CASE("load_file reads files and names the path in errors", "[config]") {
  using podgate::config::load_file;
  const podgate::test::TempDir dir("podgate-config-test");
  const auto error = [](const std::string& path) {
    try {
      load_file(path);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  SECTION("a valid file") {
    const auto path = dir.write("ok.yaml", "mode: audit\n");
    CHECK(load_file(path).mode == Mode::Audit);
  }
  SECTION("errors inside the file name the file") {
    const auto path = dir.write("bad.yaml", "rules:\n  privileged:\n    acton: deny\n");
    CHECK(error(path) == path + ": rules.privileged.acton: unknown key (expected one of: action)");
  }
  SECTION("missing file") {
    const auto path = dir.file("missing.yaml");
    CHECK(error(path) == path + ": cannot open: No such file or directory");
  }
  SECTION("a directory") {
    CHECK(error(dir.path()) == dir.path() + ": is a directory, not a config file");
  }
  SECTION("files over 1 MiB are refused") {
    const auto path = dir.write("big.yaml", std::string(podgate::config::kMaxConfigBytes + 1, '#'));
    CHECK(error(path) == path + ": file is larger than 1 MiB (1048576 bytes); a podgate config is a few KiB");
    const auto exact = dir.write("exact.yaml", "#" + std::string(podgate::config::kMaxConfigBytes - 1, 'x'));
    CHECK(error(exact).empty());
  }
  SECTION("an empty file is the defaults") {
    CHECK(load_file(dir.write("empty.yaml", "")) == Config{});
  }
}

TEST_CASE("docs/configuration.md documents every key and shows the defaults verbatim", "[config][docs]") {
  const std::string docs = podgate::test::read_file(PODGATE_SOURCE_DIR "/docs/configuration.md");
  const std::string defaults = podgate::config::to_yaml(Config{});
  CHECK_THAT(docs, Catch::Matchers::Contains(defaults));
  std::vector<std::string> keys;
  collect_keys(YAML::Load(defaults), "", keys);
  REQUIRE(keys.size() > 30);
  for (const auto& key : keys) {
    INFO(key);
    CHECK_THAT(docs, Catch::Matchers::Contains("`" + key + "`"));
  }
}

TEST_CASE("image rules: trusted registries and blocked images are normalised, registries are checked", "[config]") {
  const Config c = parse(R"(
rules:
  images:
    action: deny
    resolve: {timeout: 2s, cacheTTL: 30s, errorTTL: 1s, maxEntries: 500, maxManifestBytes: 1Mi}
    onResolveError: allow
    trustedRegistries: ["GHCR.io/myorg/", "index.docker.io", "registry.example.com:5000", "docker.io/library"]
    blocked:
      - evil/miner
      - "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
      - quay.io/x/y:1.0
      - localhost:5000/a@sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb
    requireDigest: true
registries:
  - host: "*.example.com"
    caFile: /etc/podgate/ca.crt
  - host: localhost:5000
    plainHTTP: true
    credentialsFile: /etc/podgate/docker.json
)");
  const auto& images = c.rules.images;
  CHECK(images.resolve.timeout == 2s);
  CHECK(images.resolve.cacheTTL == 30s);
  CHECK(images.resolve.maxEntries == 500);
  CHECK(images.resolve.maxManifestBytes == 1048576);
  CHECK(images.onResolveError == podgate::config::OnResolveError::Allow);
  CHECK(images.requireDigest);
  // Lower case domains; index.docker.io is docker.io; prefixes end in '/'.
  CHECK(images.trustedRegistries ==
        std::vector<std::string>{"ghcr.io/myorg/", "docker.io", "registry.example.com:5000", "docker.io/library/"});
  CHECK(images.blocked == std::vector<std::string>{
                              "docker.io/evil/miner",
                              "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                              "quay.io/x/y:1.0",
                              "localhost:5000/a@sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"});
  REQUIRE(c.registries.size() == 2);
  CHECK(c.registries[1].plainHTTP);
  CHECK(podgate::config::to_yaml(c).find("plainHTTP: true") != std::string::npos);
  CHECK(parse(podgate::config::to_yaml(c)) == c);

  CHECK(podgate::config::registry_host_matches("*.example.com", "reg.example.com"));
  CHECK_FALSE(podgate::config::registry_host_matches("*.example.com", "example.com"));
  CHECK_FALSE(podgate::config::registry_host_matches("*.example.com", "a.b.example.com"));
  CHECK_FALSE(podgate::config::registry_host_matches("*.example.com", "reg.example.com:5000"));
  CHECK(podgate::config::registry_host_matches("Index.Docker.io", "docker.io"));
  CHECK(podgate::config::find_registry(c.registries, "localhost:5000") == &c.registries[1]);

  // Refused, each with the key path and why.
  CHECK(error_of("rules:\n  images:\n    trustedRegistries: [quay]\n").find(
            "rules.images.trustedRegistries[0]: expected a registry such as") != std::string::npos);
  CHECK(error_of("rules:\n  images:\n    trustedRegistries: [\"ghcr.io/o:1/\"]\n").find("no tag or digest") !=
        std::string::npos);
  CHECK(error_of("rules:\n  images:\n    blocked: [\"Evil/Miner\"]\n").find("rules.images.blocked[0]") !=
        std::string::npos);
  CHECK(error_of("rules:\n  images:\n    blocked: [\"sha256:abc\"]\n").find("rules.images.blocked[0]") !=
        std::string::npos);
  CHECK(error_of("registries:\n  - host: https://reg.example.com\n").find("registries[0].host: expected a registry host") !=
        std::string::npos);
  CHECK(error_of("registries:\n  - caFile: /x\n") == "podgate.yaml: registries[0].host: is required");
  CHECK(error_of("registries:\n  - host: a.io\n  - host: a.io\n").find("duplicate registry") != std::string::npos);
  CHECK(error_of("registries:\n  - host: a.io\n    insecure: true\n").find("registries[0].insecure: unknown key") !=
        std::string::npos);
  CHECK(error_of("rules:\n  images:\n    resolve: {maxEntries: 0}\n").find("must be between 1 and") != std::string::npos);
}

TEST_CASE("examples/blocked-images.yaml loads and every entry is normalised", "[config]") {
  const Config c = podgate::config::load_file(std::string(PODGATE_SOURCE_DIR) + "/examples/blocked-images.yaml");
  CHECK(c.rules.images.action == Action::Deny);
  CHECK(c.rules.images.blocked.size() == 4);
  for (const auto& entry : c.rules.images.blocked) CHECK((entry.starts_with("docker.io/") || entry.starts_with("quay.io/") || entry.starts_with("sha256:")));
}

TEST_CASE("scan rule and scan cache settings", "[config]") {
  const Config c = parse(R"(
rules:
  images:
    action: deny
    scan:
      action: warn
      severityThreshold: high
      ignore:
        - CVE-2024-0001
        - {id: CVE-2024-0002, expires: "2027-01-31", reason: "not reachable from the network"}
      onUnscanned: warn
      maxScanAge: 72h
scans:
  database: /data/scans.db
  apiTokenFile: /etc/podgate/scan-token/token
  maxReportBytes: 32Mi
  cacheBytes: 256Mi
)");
  const auto& scan = c.rules.images.scan;
  CHECK(scan.action == Action::Warn);
  CHECK(scan.severityThreshold == "HIGH");
  REQUIRE(scan.ignore.size() == 2);
  CHECK(scan.ignore[0].id == "CVE-2024-0001");
  CHECK(scan.ignore[0].expiresAt == 0);
  CHECK(scan.ignore[1].expiresAt == 1801440000);  // 2027-02-01T00:00:00Z: the whole of Jan 31 counts
  CHECK(scan.onUnscanned == podgate::config::OnUnscanned::Warn);
  CHECK(scan.maxScanAge == std::chrono::hours(72));
  CHECK(c.scans.database == "/data/scans.db");
  CHECK(c.scans.maxReportBytes == 32u << 20);
  CHECK(c.scans.cacheBytes == 256u << 20);
  CHECK(parse(podgate::config::to_yaml(c)) == c);

  CHECK(parse("rules:\n  images:\n    action: warn\n    pinDigests: true\n").rules.images.pinDigests);
  CHECK(error_of("rules:\n  images:\n    pinDigests: true\n").find(
            "rules.images.pinDigests: pinning appends the digest the image rules resolve, so it needs "
            "rules.images.action deny or warn") != std::string::npos);
  CHECK(error_of("rules:\n  images:\n    action: deny\n    pinDigests: yes please\n").find("rules.images.pinDigests") !=
        std::string::npos);
  CHECK(error_of("rules:\n  images:\n    scan: {action: deny}\n").find(
            "rules.images.scan.action: the scan rule judges the digests the image rules resolve") != std::string::npos);
  CHECK(error_of("rules:\n  images:\n    action: deny\n    scan: {severityThreshold: severe}\n").find(
            "must be one of UNKNOWN, NEGLIGIBLE, LOW, MEDIUM, HIGH, CRITICAL") != std::string::npos);
  CHECK(error_of("rules:\n  images:\n    action: deny\n    scan: {ignore: [{id: CVE-1, expires: 2027-02-30}]}\n")
            .find("expected a date YYYY-MM-DD") != std::string::npos);
  CHECK(error_of("rules:\n  images:\n    action: deny\n    scan: {ignore: [{reason: x}]}\n").find(".id: is required") !=
        std::string::npos);
  CHECK(error_of("rules:\n  images:\n    action: deny\n    scan: {maxScanAge: 9000h}\n").find("at most 8784h") !=
        std::string::npos);
  CHECK(error_of("scans: {maxReportBytes: 1Gi}\n").find("scans.maxReportBytes") != std::string::npos);
  CHECK(error_of("scans: {cacheBytes: 1Ki}\n").find("scans.cacheBytes") != std::string::npos);
}

TEST_CASE("exemptions.users takes requesting identities, exactly as written", "[config]") {
  const Config c = parse("exemptions:\n  users: [alice, \"system:serviceaccount:platform:installer\"]\n");
  CHECK(c.exemptions.users == std::vector<std::string>{"alice", "system:serviceaccount:platform:installer"});
  CHECK(c.exemptions.namespaces == std::vector<std::string>{"kube-system"});  // the rest keep their defaults
  CHECK_THAT(error_of("exemptions:\n  users: [\"\"]\n"),
             Catch::Matchers::StartsWith("podgate.yaml: exemptions.users[0]: must be a non-empty user name"));
}

TEST_CASE("kubernetes: how podgate reaches the apiserver", "[config]") {
  const Config c = parse("kubernetes:\n  kubeconfig: /etc/podgate/kubeconfig\n  qps: 7.5\n  burst: 15\n  timeout: 30s\n");
  CHECK(c.kubernetes.kubeconfig == "/etc/podgate/kubeconfig");
  CHECK(c.kubernetes.qps == 7.5);
  CHECK(c.kubernetes.burst == 15);
  CHECK(c.kubernetes.timeout == 30s);
  CHECK(c.scans == Config{}.scans);  // the rest keep their defaults
  CHECK(parse(podgate::config::to_yaml(c)) == c);
  CHECK(parse("kubernetes: {kubeconfig: \"\"}").kubernetes.kubeconfig.empty());  // in cluster
  CHECK(parse("kubernetes: {qps: 10000}").kubernetes.qps == 10000);
  CHECK(parse("kubernetes: {qps: \"0.5\"}").kubernetes.qps == 0.5);
  CHECK(parse("kubernetes: {burst: 100000}").kubernetes.burst == 100000);

  const std::string qps = "podgate.yaml: kubernetes.qps: ";
  CHECK(error_of("kubernetes: {qps: 0}") == qps + "must be greater than 0 and at most 10000 (got \"0\")");
  CHECK(error_of("kubernetes: {qps: 0.0}") == qps + "must be greater than 0 and at most 10000 (got \"0.0\")");
  CHECK(error_of("kubernetes: {qps: 10000.5}") == qps + "must be greater than 0 and at most 10000 (got \"10000.5\")");
  for (const char* bad : {"-1", "fast", "1e3", ".5", "5.", "inf", "nan", "0x10", "+5", "1,5", ""}) {
    INFO(bad);
    CHECK(error_of(std::string("kubernetes: {qps: \"") + bad + "\"}") ==
          qps + "expected a number such as 20 or 0.5, got \"" + bad + "\"");
  }
  CHECK(error_of("kubernetes: {qps: [1]}") == qps + "expected a number, got a list");
  CHECK(error_of("kubernetes: {burst: 0}") ==
        "podgate.yaml: kubernetes.burst: must be between 1 and 100000 (got 0)");
  CHECK(error_of("kubernetes: {burst: 2.5}") ==
        "podgate.yaml: kubernetes.burst: expected a positive integer, got \"2.5\"");
  CHECK(error_of("kubernetes: {timeout: 10}") ==
        "podgate.yaml: kubernetes.timeout: expected a duration such as \"10s\", \"500ms\" or \"1m30s\", got \"10\"");
  CHECK(error_of("kubernetes: {timeout: 11m}") ==
        "podgate.yaml: kubernetes.timeout: must be greater than 0 and at most 10m (got \"11m\")");
  CHECK(error_of("kubernetes: {kubeconfig: [a]}") == "podgate.yaml: kubernetes.kubeconfig: expected a string, got a list");
  CHECK(error_of("kubernetes: [a]") == "podgate.yaml: kubernetes: expected a mapping, got a list");
}

TEST_CASE("scans: the kubernetes store, retention, the findings floor, the sync timeout, sources", "[config]") {
  using podgate::config::ScanStore;
  const Config c = parse(R"(
scans:
  store: kubernetes
  retention: 2160h
  findingsFloor: medium
  syncTimeout: 5m
  sources:
    trivyOperator: true
)");
  CHECK(c.scans.store == ScanStore::Kubernetes);
  CHECK(c.scans.retention == 2160h);
  CHECK(c.scans.findingsFloor == "MEDIUM");  // any case in, upper case stored
  CHECK(c.scans.syncTimeout == 5min);
  CHECK(c.scans.trivyOperator);
  CHECK(c.scans.database == "/var/lib/podgate/scans.db");
  CHECK(parse(podgate::config::to_yaml(c)) == c);

  CHECK(parse("scans: {store: sqlite}").scans.store == ScanStore::Sqlite);
  // Trivy Operator's reports are read through the client whatever the store: sqlite is allowed.
  const Config trivy_sqlite = parse("scans: {store: sqlite, sources: {trivyOperator: true}}");
  CHECK(trivy_sqlite.scans.store == ScanStore::Sqlite);
  CHECK(trivy_sqlite.scans.trivyOperator);
  CHECK_FALSE(parse("scans: {sources: {trivyOperator: false}}").scans.trivyOperator);
  CHECK_FALSE(parse("scans: {sources: }").scans.trivyOperator);  // an empty section keeps the default
  for (const char* floor : {"UNKNOWN", "negligible", "Low", "MEDIUM", "high", "CRITICAL"}) {
    INFO(floor);
    std::string upper = floor;
    for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    CHECK(parse(std::string("scans: {findingsFloor: ") + floor + "}").scans.findingsFloor == upper);
  }
  CHECK(parse("scans: {retention: 1h}").scans.retention == 1h);
  CHECK(parse("scans: {retention: 8784h}").scans.retention == 8784h);
  CHECK(parse("scans: {syncTimeout: 1h}").scans.syncTimeout == 1h);

  CHECK(error_of("scans: {store: etcd}") ==
        "podgate.yaml: scans.store: must be one of sqlite, kubernetes (got \"etcd\")");
  CHECK(error_of("scans: {store: Kubernetes}") ==
        "podgate.yaml: scans.store: must be one of sqlite, kubernetes (got \"Kubernetes\")");
  CHECK(error_of("scans: {retention: 59m}") ==
        "podgate.yaml: scans.retention: must be at least 1h and at most 8784h (a year) (got \"59m\")");
  CHECK(error_of("scans: {retention: 0s}") ==
        "podgate.yaml: scans.retention: must be at least 1h and at most 8784h (a year) (got \"0s\")");
  CHECK(error_of("scans: {retention: -720h}") ==
        "podgate.yaml: scans.retention: must be at least 1h and at most 8784h (a year) (got \"-720h\")");
  CHECK(error_of("scans: {retention: 8785h}") ==
        "podgate.yaml: scans.retention: must be at least 1h and at most 8784h (a year) (got \"8785h\")");
  CHECK(error_of("scans: {retention: 30d}") ==
        "podgate.yaml: scans.retention: expected a duration such as \"10s\", \"500ms\" or \"1m30s\", got \"30d\"");
  CHECK(error_of("scans: {findingsFloor: severe}") ==
        "podgate.yaml: scans.findingsFloor: must be one of UNKNOWN, NEGLIGIBLE, LOW, MEDIUM, HIGH, CRITICAL (got "
        "\"severe\")");
  CHECK(error_of("scans: {syncTimeout: 0s}") ==
        "podgate.yaml: scans.syncTimeout: must be greater than 0 and at most 1h (got \"0s\")");
  CHECK(error_of("scans: {syncTimeout: 61m}") ==
        "podgate.yaml: scans.syncTimeout: must be greater than 0 and at most 1h (got \"61m\")");
  CHECK(error_of("scans: {sources: {trivyOperator: yes}}") ==
        "podgate.yaml: scans.sources.trivyOperator: expected true or false, got \"yes\"");
  CHECK(error_of("scans: {sources: [trivyOperator]}") == "podgate.yaml: scans.sources: expected a mapping, got a list");
}

TEST_CASE("rules.images.resolve: pull secrets read from the cluster", "[config]") {
  const Config c = parse("rules:\n  images:\n    resolve:\n      pullSecrets: true\n      pullSecretTTL: 30s\n");
  CHECK(c.rules.images.resolve.pullSecrets);
  CHECK(c.rules.images.resolve.pullSecretTTL == 30s);
  CHECK(c.rules.images.resolve.cacheTTL == 60s);  // the rest keep their defaults
  CHECK(parse(podgate::config::to_yaml(c)) == c);
  CHECK(parse("rules: {images: {resolve: {pullSecretTTL: 10m}}}").rules.images.resolve.pullSecretTTL == 10min);

  const std::string prefix = "podgate.yaml: rules.images.resolve.";
  CHECK(error_of("rules: {images: {resolve: {pullSecrets: on}}}") == prefix + "pullSecrets: expected true or false, got \"on\"");
  CHECK(error_of("rules: {images: {resolve: {pullSecretTTL: 0s}}}") ==
        prefix + "pullSecretTTL: must be greater than 0 and at most 10m (got \"0s\")");
  CHECK(error_of("rules: {images: {resolve: {pullSecretTTL: 1h}}}") ==
        prefix + "pullSecretTTL: must be greater than 0 and at most 10m (got \"1h\")");
  CHECK(error_of("rules: {images: {resolve: {pullSecretTTL: 60}}}") ==
        prefix + "pullSecretTTL: expected a duration such as \"10s\", \"500ms\" or \"1m30s\", got \"60\"");
  CHECK(error_of("rules: {images: {resolve: {pullSecretTTL: 1500us}}}") ==
        prefix + "pullSecretTTL: must be a whole number of milliseconds, got \"1500us\"");
}

TEST_CASE("image rules: signature entries are normalised like references, and incomplete ones refused", "[config]") {
  const Config c = parse(R"(
rules:
  images:
    action: deny
    signatures:
      - images: ["nginx", "acme/*", "GHCR.io/Acme/**", "index.docker.io/team/app", "**/base"]
        keys: ["/etc/podgate/cosign.pub", "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n"]
      - images: ["*/x/*"]
        keys: ["/k.pub"]
        action: warn
)");
  const auto& s = c.rules.images.signatures;
  REQUIRE(s.size() == 2);
  CHECK(s[0].images == std::vector<std::string>{"docker.io/library/nginx", "docker.io/acme/*", "ghcr.io/acme/**",
                                                "docker.io/team/app", "**/base"});
  CHECK(s[0].action == podgate::config::Action::Deny);
  CHECK(s[0].keys.size() == 2);
  CHECK(s[1].images == std::vector<std::string>{"*/x/*"});
  CHECK(s[1].action == podgate::config::Action::Warn);
  // Rendered and read back unchanged.
  CHECK(parse(podgate::config::to_yaml(c)) == c);

  CHECK_THAT(error_of("rules: {images: {signatures: [{images: [\"a/b:1.0\"], keys: [\"/k\"]}]}}"),
             Catch::Matchers::Contains("without a tag or digest"));
  CHECK_THAT(error_of("rules: {images: {signatures: [{images: [\"a/b\"], keys: [\"k.pub\"]}]}}"),
             Catch::Matchers::Contains("absolute path to a PEM public key file or the PEM text"));
  CHECK_THAT(error_of("rules: {images: {signatures: [{images: [\"a/b\"]}]}}"),
             Catch::Matchers::Contains("rules.images.signatures[0].keys: needs at least one public key"));
  CHECK_THAT(error_of("rules: {images: {signatures: [{keys: [\"/k\"]}]}}"),
             Catch::Matchers::Contains("needs at least one image pattern"));
  CHECK_THAT(error_of("rules: {images: {signatures: [{images: [\"a\"], keys: [\"/k\"], action: off}]}}"),
             Catch::Matchers::Contains("deny"));
}

TEST_CASE("rules.podSecurity: level, version and action, with errors naming the key", "[config][podSecurity]") {
  using podgate::config::PodSecurityLevel;
  const Config d;
  CHECK(d.rules.podSecurity.level == PodSecurityLevel::Privileged);
  CHECK(d.rules.podSecurity.version.minor == podgate::config::PodSecurityVersion::kLatest);
  CHECK(d.rules.podSecurity.action == Action::Deny);
  CHECK_FALSE(d.rules.podSecurity.namespaceLabels);

  const Config c = parse("rules:\n  podSecurity: {level: restricted, version: v1.25, action: warn, namespaceLabels: true}\n");
  CHECK(c.rules.podSecurity.level == PodSecurityLevel::Restricted);
  CHECK(c.rules.podSecurity.version.minor == 25);
  CHECK(c.rules.podSecurity.action == Action::Warn);
  CHECK(c.rules.podSecurity.namespaceLabels);

  CHECK(parse("rules:\n  podSecurity: {level: privileged}\n").rules.podSecurity.level == PodSecurityLevel::Privileged);
  CHECK(parse("rules:\n  podSecurity: {level: \"off\"}\n").rules.podSecurity.level == PodSecurityLevel::Privileged);
  CHECK(parse("rules:\n  podSecurity: {level: baseline, version: latest}\n").rules.podSecurity.version.minor == -1);
  CHECK(parse("rules:\n  podSecurity: {version: v1.0}\n").rules.podSecurity.version.minor == 0);
  // Newer than podgate knows: kept as written (it judges as latest), and rendered back as written.
  const Config newer = parse("rules:\n  podSecurity: {level: baseline, version: v1.40}\n");
  CHECK(newer.rules.podSecurity.version.minor == 40);
  CHECK_THAT(podgate::config::to_yaml(newer), Catch::Matchers::Contains("    version: v1.40\n"));

  CHECK(error_of("rules:\n  podSecurity: {level: strict}\n") ==
        "podgate.yaml: rules.podSecurity.level: must be one of off, privileged, baseline, restricted (got \"strict\")");
  CHECK(error_of("rules:\n  podSecurity: {action: \"off\"}\n") ==
        "podgate.yaml: rules.podSecurity.action: must be one of deny, warn (got \"off\")");
  for (const char* bad : {"v1", "1.25", "v1.025", "v2.0", "v1.x", "Latest", "v1.", "v1.-1"}) {
    INFO(bad);
    CHECK(error_of(std::string("rules:\n  podSecurity: {version: \"") + bad + "\"}\n") ==
          std::string("podgate.yaml: rules.podSecurity.version: must be \"latest\" or \"v1.N\" (a Kubernetes minor "
                      "version, e.g. \"v1.34\"), got \"") + bad + "\"");
  }
  CHECK_THAT(error_of("rules:\n  podSecurity: {version: [v1.2]}\n"),
             Catch::Matchers::StartsWith("podgate.yaml: rules.podSecurity.version: expected"));
}
