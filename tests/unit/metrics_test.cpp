#include <catch2/catch.hpp>

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
