// docs/operations.md lists what /metrics shows: every family Metrics::serialize() can write (the
// /metrics body, lib/server/metrics_listener.h) is in one of its tables, and every podgate_* or
// process_* name those tables list is one podgate writes. No exposer_* series: podgate serves
// /metrics itself, not through prometheus-cpp's civetweb exposer.

#include <catch2/catch.hpp>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "metrics/metrics.h"

namespace {

std::string read(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Every family podgate has, each used once (families without a series are not written at all).
std::string every_family() {
  podgate::metrics::Metrics m;
  m.count_request("denied", "enforce", "Pod", "CREATE");
  m.count_denial_by_namespace("team-a", "denied");
  m.observe_review_duration("validate", 0.001);
  m.count_violation("privileged", "deny");
  m.count_pod_security_violation("hostNamespaces", "baseline", "deny");
  m.count_exemption("namespace");
  m.count_skipped("unknown_kind");
  m.count_invalid_request("invalid_review");
  m.count_http_request("validate", 200);
  m.count_connection_rejected("max_connections");
  m.add_open_connections(1);
  m.count_body_budget_rejection();
  m.add_buffered_body_bytes(10);
  m.count_scan_api_auth_failure("missing");
  m.count_connection_timeout("read");
  m.count_config_reload(true);
  m.count_certificate_reload(true);
  m.set_certificate_expiry(1.9e9);
  m.count_registry_request("ghcr.io", "200");
  m.count_registry_error("ghcr.io", "timeout");
  m.observe_resolve_duration("ghcr.io", 0.1);
  m.count_digest_cache("hit");
  m.set_digest_cache_entries(1);
  m.count_signature_cache("hit");
  m.count_signature_check("verified");
  m.count_resolve_failure("denied");
  m.count_digest_pins("pinned", 1);
  m.count_mutation(true);
  m.count_scan_verdict("clean");
  m.count_scan_import("trivy", "stored");
  m.set_scan_store(1, 1.7e9, 1.7e9);
  m.count_kube_request("list", "imagescans", "200");
  m.count_kube_watch_restart("imagescans", "closed");
  m.count_kube_relist("imagescans");
  m.set_kube_last_event("imagescans", 1.7e9);
  m.set_kube_synced("imagescans", true);
  m.set_kube_watch_connected("imagescans", true);
  m.set_kube_cache("imagescans", 1, 100);
  m.set_imagescans(1, 100);
  m.count_trivy_operator_report("used");
  m.count_pull_secret_read("found");
  m.count_pod_security_namespace_lookup("hit");
  m.count_pod_security_label_error("enforce");
  m.count_custom_workload_missing_pod_spec("argoproj.io", "Rollout");
  m.set_audit_leader(true);
  m.set_audit_running_pods("pass", 1);
  m.set_audit_running_violations("privileged", "deny", 1);
  m.set_audit_running_containers("clean", 1);
  m.count_audit_judgements("pod", 1);
  m.observe_audit_pass(0.5);
  m.observe_audit_verdict_latency(0.5);
  m.count_audit_report("apply", "ok");
  m.count_audit_event("created");
  m.count_audit_pod_dropped("bytes");
  return m.serialize();
}

std::set<std::string> exposed_families(const std::string& text) {
  std::set<std::string> names;
  static const std::regex type_line(R"(^# TYPE (\w+) \w+$)");
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (std::regex_match(line, m, type_line)) names.insert(m[1]);
  }
  return names;
}

// The names in the first column of every table row of docs/operations.md ("| `name{labels}`, `other` | ...").
std::set<std::string> documented_metrics(const std::string& doc) {
  std::set<std::string> names;
  static const std::regex name(R"(`((?:podgate|process)_\w+)(?:\{[^`]*\})?`)");
  std::istringstream in(doc);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("| `", 0) != 0) continue;
    const std::string first = line.substr(1, line.find('|', 1) - 1);
    for (std::sregex_iterator it(first.begin(), first.end(), name), end; it != end; ++it) names.insert((*it)[1]);
  }
  return names;
}

}  // namespace

TEST_CASE("every family on /metrics is documented in docs/operations.md, and nothing more", "[metrics][docs]") {
  const std::string text = every_family();
  const auto exposed = exposed_families(text);
  // The test uses every family families.h builds, plus the process collector's seven.
  const std::string families = read(PODGATE_SOURCE_DIR "/lib/metrics/families.h");
  std::size_t built = 0;
  for (auto at = families.find(".Name(\""); at != std::string::npos; at = families.find(".Name(\"", at + 1)) ++built;
  CHECK(exposed.size() == built + 7);

  const auto documented = documented_metrics(read(PODGATE_SOURCE_DIR "/docs/operations.md"));
  for (const auto& name : exposed) {
    INFO(name << " is on /metrics but in no table of docs/operations.md");
    CHECK(documented.count(name) == 1);
  }
  for (const auto& name : documented) {
    INFO(name << " is documented but podgate does not write it");
    CHECK(exposed.count(name) == 1);
  }
  CHECK(text.find("exposer_") == std::string::npos);
}
