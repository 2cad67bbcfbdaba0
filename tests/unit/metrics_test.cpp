// The Prometheus metrics (lib/metrics): names and labels, counts from many threads, the bounded
// namespace label, and every series the dashboard and alerts use exported at 0 when idle.

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "metrics/metrics.h"

using Catch::Matchers::Contains;

TEST_CASE("metrics use Prometheus names and count by label", "[metrics]") {
  podgate::metrics::Metrics m;
  m.count_request("denied", "enforce", "Pod", "CREATE");
  m.count_request("denied", "enforce", "Pod", "CREATE");
  m.count_request("allowed", "enforce", "Deployment", "UPDATE");
  m.observe_review_duration("validate", 0.00003);
  m.count_violation("privileged", "deny");
  m.count_exemption("namespace");
  m.count_skipped("unknown_kind");
  m.count_invalid_request("invalid_review");
  m.count_http_request("validate", 200);
  m.count_connection_rejected("max_connections");
  m.count_connection_timeout("read");
  m.add_open_connections(2);
  m.add_open_connections(-1);
  m.count_config_reload(false);
  m.count_certificate_reload(true);
  m.set_certificate_expiry(1.9e9);

  const std::string text = m.serialize();
  CHECK_THAT(text, Contains(R"(podgate_admission_requests_total{decision="denied",kind="Pod",mode="enforce",operation="CREATE"} 2)"));
  CHECK_THAT(text, Contains(R"(podgate_admission_requests_total{decision="allowed",kind="Deployment",mode="enforce",operation="UPDATE"} 1)"));
  // The first bucket is 50 us: a 30 us review lands in it.
  CHECK_THAT(text, Contains(R"(podgate_admission_review_duration_seconds_bucket{route="validate",le="5e-05"} 1)"));
  CHECK_THAT(text, Contains(R"(podgate_admission_violations_total{action="deny",rule="privileged"} 1)"));
  CHECK_THAT(text, Contains(R"(podgate_admission_exemptions_total{kind="namespace"} 1)"));
  CHECK_THAT(text, Contains(R"(podgate_admission_skipped_total{reason="unknown_kind"} 1)"));
  CHECK_THAT(text, Contains(R"(podgate_admission_invalid_requests_total{reason="invalid_review"} 1)"));
  CHECK_THAT(text, Contains(R"(podgate_http_requests_total{code="200",route="validate"} 1)"));
  CHECK_THAT(text, Contains(R"(podgate_http_connections_rejected_total{reason="max_connections"} 1)"));
  CHECK_THAT(text, Contains(R"(podgate_http_connection_timeouts_total{phase="read"} 1)"));
  CHECK_THAT(text, Contains("podgate_http_connections_open 1"));
  CHECK_THAT(text, Contains(R"(podgate_config_reloads_total{result="failure"} 1)"));
  CHECK_THAT(text, Contains(R"(podgate_tls_certificate_reloads_total{result="success"} 1)"));
  CHECK_THAT(text, Contains("podgate_tls_serving_certificate_expiry_timestamp_seconds 1900000000"));
  CHECK_THAT(text, Contains("podgate_build_info{version="));
}

TEST_CASE("metric updates from many threads are all counted", "[metrics][concurrency]") {
  podgate::metrics::Metrics m;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&m, t] {
      for (int i = 0; i < 2000; ++i) {
        m.count_request("allowed", "enforce", t % 2 ? "Pod" : "Job", "CREATE");
        m.observe_review_duration("validate", 0.0001);
      }
    });
  for (auto& th : threads) th.join();
  const std::string text = m.serialize();
  CHECK_THAT(text, Contains(R"(podgate_admission_requests_total{decision="allowed",kind="Pod",mode="enforce",operation="CREATE"} 4000)"));
  CHECK_THAT(text, Contains(R"(podgate_admission_requests_total{decision="allowed",kind="Job",mode="enforce",operation="CREATE"} 4000)"));
  CHECK_THAT(text, Contains(R"(podgate_admission_review_duration_seconds_count{route="validate"} 8000)"));
}

TEST_CASE("namespace labels are bounded: the first 200 keep their name, later ones are _other", "[metrics]") {
  podgate::metrics::Metrics m;
  static_assert(podgate::metrics::Metrics::kMaxNamespaceLabels == 200, "docs/operations.md says 200");
  for (std::size_t i = 0; i < podgate::metrics::Metrics::kMaxNamespaceLabels; ++i) {
    const std::string ns = "team-" + std::to_string(i);
    REQUIRE(m.namespace_label(ns) == ns);
  }
  // Past the limit a new namespace shares one label, while those already seen keep theirs.
  CHECK(m.namespace_label("team-200") == "_other");
  CHECK(m.namespace_label("late") == "_other");
  CHECK(m.namespace_label("team-0") == "team-0");
  CHECK(m.namespace_label("team-199") == "team-199");
  // No namespace is a label of its own, and does not use up a slot or collide with "other".
  CHECK(m.namespace_label("") == "_none");

  for (int i = 0; i < 3; ++i) m.count_denial_by_namespace(m.namespace_label("team-7"), "denied");
  m.count_denial_by_namespace(m.namespace_label("team-7"), "would_deny");
  m.count_denial_by_namespace(m.namespace_label("late"), "denied");
  m.count_denial_by_namespace(m.namespace_label("later"), "denied");
  const std::string text = m.serialize();
  CHECK_THAT(text, Contains(R"(podgate_admission_denials_by_namespace_total{decision="denied",resource_namespace="team-7"} 3)"));
  CHECK_THAT(text, Contains(R"(podgate_admission_denials_by_namespace_total{decision="would_deny",resource_namespace="team-7"} 1)"));
  CHECK_THAT(text, Contains(R"(podgate_admission_denials_by_namespace_total{decision="denied",resource_namespace="_other"} 2)"));
}

TEST_CASE("namespace labels stay bounded and consistent under concurrent first uses", "[metrics][concurrency]") {
  podgate::metrics::Metrics m;
  // 4 threads x 100 namespaces, half of them shared by all threads: 250 distinct namespaces, so
  // exactly 200 get their own name, and each namespace gets the same label in every thread.
  std::vector<std::thread> threads;
  std::vector<std::vector<std::pair<std::string, std::string>>> got(4);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&m, &got, t] {
      for (int i = 0; i < 100; ++i) {
        const std::string ns =
            i < 50 ? "shared-" + std::to_string(i) : "own-" + std::to_string(t) + "-" + std::to_string(i);
        got[t].emplace_back(ns, m.namespace_label(ns));
      }
    });
  for (auto& th : threads) th.join();
  std::map<std::string, std::string> label;
  for (const auto& pairs : got)
    for (const auto& [ns, l] : pairs) {
      CHECK((l == ns || l == "_other"));
      auto [it, inserted] = label.emplace(ns, l);
      if (!inserted) CHECK(it->second == l);
    }
  REQUIRE(label.size() == 250);
  const auto named = std::count_if(label.begin(), label.end(), [](const auto& kv) { return kv.second != "_other"; });
  CHECK(named == 200);
}

TEST_CASE("an idle podgate exports every series the dashboard and alerts use, at 0", "[metrics]") {
  // rate() and increase() only see an increment on a series that existed before it, and a query
  // over a missing series is empty rather than 0: every series with known labels starts at 0.
  const std::string text = podgate::metrics::Metrics().serialize();
  const std::vector<std::string> expected = {
      R"(podgate_admission_requests_total{decision="allowed",kind="Pod",mode="enforce",operation="CREATE"} 0)",
      R"(podgate_admission_requests_total{decision="denied",kind="Pod",mode="enforce",operation="CREATE"} 0)",
      R"(podgate_admission_requests_total{decision="allowed",kind="Pod",mode="audit",operation="CREATE"} 0)",
      R"(podgate_admission_requests_total{decision="would_deny",kind="Pod",mode="audit",operation="CREATE"} 0)",
      R"(podgate_admission_requests_total{decision="denied",kind="Pod",mode="audit",operation="CREATE"} 0)",
      R"(podgate_admission_review_duration_seconds_count{route="validate"} 0)",
      R"(podgate_admission_review_duration_seconds_bucket{route="audit",le="+Inf"} 0)",
      R"(podgate_http_requests_total{code="200",route="validate"} 0)",
      R"(podgate_http_requests_total{code="500",route="validate"} 0)",
      R"(podgate_http_requests_total{code="500",route="audit"} 0)",
      R"(podgate_admission_violations_total{action="deny",rule="privileged"} 0)",
      R"(podgate_admission_violations_total{action="warn",rule="runtimeSockets"} 0)",
      R"(podgate_admission_violations_total{action="deny",rule="images"} 0)",
      R"(podgate_admission_violations_total{action="warn",rule="scan"} 0)",
      R"(podgate_admission_exemptions_total{kind="namespace"} 0)",
      R"(podgate_admission_exemptions_total{kind="serviceAccount"} 0)",
      R"(podgate_admission_exemptions_total{kind="image"} 0)",
      R"(podgate_admission_skipped_total{reason="unknown_kind"} 0)",
      R"(podgate_admission_skipped_total{reason="no_pod_spec"} 0)",
      R"(podgate_admission_invalid_requests_total{reason="invalid_review"} 0)",
      R"(podgate_http_connections_rejected_total{reason="max_connections"} 0)",
      R"(podgate_http_connections_rejected_total{reason="evicted_idle"} 0)",
      R"(podgate_http_connection_timeouts_total{phase="handshake"} 0)",
      R"(podgate_http_connection_timeouts_total{phase="write"} 0)",
      "podgate_http_connections_open 0",
      R"(podgate_config_reloads_total{result="success"} 0)",
      R"(podgate_config_reloads_total{result="failure"} 0)",
      R"(podgate_tls_certificate_reloads_total{result="success"} 0)",
      R"(podgate_tls_certificate_reloads_total{result="failure"} 0)",
      "podgate_tls_serving_certificate_expiry_timestamp_seconds 0",
      R"(podgate_image_digest_cache_lookups_total{result="hit"} 0)",
      R"(podgate_image_digest_cache_lookups_total{result="miss"} 0)",
      R"(podgate_image_digest_cache_lookups_total{result="coalesced"} 0)",
      "podgate_image_digest_cache_entries 0",
      R"(podgate_image_resolve_failures_total{outcome="denied"} 0)",
      R"(podgate_image_resolve_failures_total{outcome="allowed"} 0)",
      R"(podgate_image_digest_pins_total{result="pinned"} 0)",
      R"(podgate_image_digest_pins_total{result="unresolved"} 0)",
      R"(podgate_admission_mutations_total{result="patched"} 0)",
      R"(podgate_admission_mutations_total{result="unchanged"} 0)",
      R"(podgate_http_requests_total{code="200",route="mutate"} 0)",
      R"(podgate_pull_secret_reads_total{result="found"} 0)",
      R"(podgate_pull_secret_reads_total{result="forbidden"} 0)",
      R"(podgate_pull_secret_reads_total{result="wrong_type"} 0)",
      R"(podgate_pod_security_namespace_lookups_total{result="hit"} 0)",
      R"(podgate_pod_security_namespace_lookups_total{result="miss"} 0)",
      R"(podgate_pod_security_namespace_lookups_total{result="unsynced"} 0)",
      R"(podgate_pod_security_namespace_label_errors_total{label="enforce"} 0)",
      R"(podgate_pod_security_namespace_label_errors_total{label="warn-version"} 0)",
      R"(podgate_scan_lookups_total{verdict="clean"} 0)",
      R"(podgate_scan_lookups_total{verdict="malicious"} 0)",
      R"(podgate_scan_lookups_total{verdict="stale"} 0)",
      R"(podgate_scan_imports_total{format="trivy",result="rejected"} 0)",
      R"(podgate_scan_imports_total{format="podgate-verdict",result="error"} 0)",
      R"(podgate_scan_imports_total{format="unknown",result="rejected"} 0)",
      "podgate_scan_records 0",
      "podgate_scan_oldest_timestamp_seconds 0",
      "podgate_scan_newest_timestamp_seconds 0",
  };
  for (const auto& series : expected) CHECK_THAT(text, Contains(series + "\n"));
  // Open-ended labels are not guessed.
  CHECK_THAT(text, !Contains("podgate_admission_denials_by_namespace_total{"));
  CHECK_THAT(text, !Contains("podgate_registry_requests_total{"));
  CHECK_THAT(text, !Contains("podgate_registry_errors_total{"));
}
