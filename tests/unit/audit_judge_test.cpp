// The audit's judgement of one running Pod (lib/audit/judge.h): the kubelet's digest is what is
// judged, drift against the admission ledger is a finding, and a workload's Pods merge into one
// set of results. The Pods are projections built by hand: the projection itself is tested in
// audit_pod_cache_test.cpp.

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

#include "admission/admission.h"
#include "audit/judge.h"
#include "policy/admitted.h"
#include "scan/store.h"
#include "support/temp_dir.h"

using podgate::audit::ContainerStatus;
using podgate::audit::JudgeInputs;
using podgate::audit::PodFindings;
using podgate::audit::PodProjection;
using podgate::audit::ReportResult;

namespace {

const std::string kRunning = "sha256:" + std::string(64, 'a');
const std::string kAdmitted = "sha256:" + std::string(64, 'b');

PodProjection pod(bool privileged = false) {
  PodProjection p;
  p.namespace_ = "shop";
  p.name = "web-1";
  p.uid = "uid-web-1";
  p.phase = "Running";
  p.object = std::string(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"web-1","namespace":"shop","uid":"uid-web-1"},)") +
             R"("spec":{"containers":[{"name":"app","image":"registry.example/shop/web:1")" +
             (privileged ? R"(,"securityContext":{"privileged":true})" : "") + "}]}}";
  p.statuses.push_back(ContainerStatus{"containers", "app", "registry.example/shop/web:1", kRunning});
  return p;
}

podgate::config::Config images_on() {
  podgate::config::Config cfg;
  cfg.rules.images.action = podgate::config::Action::Deny;
  cfg.rules.images.scan.action = podgate::config::Action::Deny;
  return cfg;
}

const ReportResult* find(const PodFindings& f, const std::string& rule, const std::string& result) {
  const auto it = std::find_if(f.results.begin(), f.results.end(),
                               [&](const ReportResult& r) { return r.rule == rule && r.result == result; });
  return it == f.results.end() ? nullptr : &*it;
}

std::string property(const ReportResult& r, const std::string& key) {
  for (const auto& [k, v] : r.properties)
    if (k == key) return v;
  return "";
}

}  // namespace

TEST_CASE("a running Pod is judged with the digest the kubelet reports", "[audit]") {
  const podgate::test::TempDir dir("podgate-audit-judge");
  auto store = podgate::scan::open_sqlite_store(dir.file("scans.db"));
  podgate::scan::ScanRecord record;
  record.digest = kRunning;
  record.scanner = "clamav";
  record.scannedAt = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  record.malware = podgate::scan::MalwareResult::Malicious;
  store->put({record});
  const podgate::policy::Evaluator evaluator(images_on());
  JudgeInputs in;
  in.evaluator = &evaluator;
  in.scans = store.get();
  in.resolveTimeout = std::chrono::milliseconds(100);
  const PodFindings f = podgate::audit::judge_pod(in, pod(), 1000);
  INFO(f.results.size());
  CHECK(f.verdict == "fail");
  const ReportResult* scan = find(f, "scan", "fail");
  REQUIRE(scan);
  CHECK(scan->container == "app");
  CHECK(scan->severity == "critical");
  CHECK(property(*scan, "digest") == kRunning);
  CHECK(property(*scan, "scan") == "malicious");
  CHECK(find(f, "privileged", "pass"));
  CHECK(std::find(f.digests.begin(), f.digests.end(), kRunning) != f.digests.end());
  CHECK(std::find(f.scans.begin(), f.scans.end(), "malicious") != f.scans.end());
}

TEST_CASE("a running Pod without violations passes every rule that is on", "[audit]") {
  const podgate::policy::Evaluator evaluator{podgate::config::Config{}};
  JudgeInputs in;
  in.evaluator = &evaluator;
  const PodFindings clean = podgate::audit::judge_pod(in, pod(), 1000);
  CHECK(clean.verdict == "pass");
  CHECK(find(clean, "privileged", "pass"));
  CHECK(find(clean, "runtimeSockets", "pass"));
  CHECK_FALSE(find(clean, "images", "pass"));  // off by default: not judged, not reported
  const PodFindings privileged = podgate::audit::judge_pod(in, pod(true), 1000);
  CHECK(privileged.verdict == "fail");
  const ReportResult* r = find(privileged, "privileged", "fail");
  REQUIRE(r);
  CHECK(r->container == "app");
  CHECK(property(*r, "field") == "spec.containers[0].securityContext.privileged");
  CHECK(privileged.violations == std::vector<std::pair<std::string, std::string>>{{"privileged", "deny"}});
}

TEST_CASE("a running digest other than the admitted one is drift", "[audit]") {
  const podgate::policy::Evaluator evaluator{podgate::config::Config{}};
  podgate::policy::AdmissionLedger ledger;
  auto decoded = podgate::admission::decode(podgate::audit::to_admission_review(pod()));
  REQUIRE(decoded);
  podgate::policy::Verdict admitted;
  admitted.images.push_back({"container \"app\"", "registry.example/shop/web:1", kAdmitted, "clean", "", "", "", ""});
  ledger.record(decoded.review->request(), admitted, 900);
  JudgeInputs in;
  in.evaluator = &evaluator;
  in.ledger = &ledger;
  const PodFindings f = podgate::audit::judge_pod(in, pod(), 1000);
  const ReportResult* drift = find(f, "imageDrift", "fail");
  REQUIRE(drift);
  CHECK(property(*drift, "admittedDigest") == kAdmitted);
  CHECK(property(*drift, "digest") == kRunning);
  CHECK(f.verdict == "fail");

  // The same digest running as admitted: no drift.
  podgate::policy::AdmissionLedger same;
  admitted.images[0].digest = kRunning;
  same.record(decoded.review->request(), admitted, 900);
  in.ledger = &same;
  CHECK_FALSE(find(podgate::audit::judge_pod(in, pod(), 1000), "imageDrift", "fail"));
}

TEST_CASE("the admission ledger keeps allowed Pods and digests, bounded", "[audit]") {
  auto decoded = podgate::admission::decode(podgate::audit::to_admission_review(pod()));
  REQUIRE(decoded);
  podgate::policy::Verdict v;
  v.images.push_back({"container \"app\"", "registry.example/shop/web:1", kAdmitted, "clean", "", "", "", ""});
  podgate::policy::AdmissionLedger ledger(4096);
  ledger.record(decoded.review->request(), v, 900);
  REQUIRE(ledger.pod("uid-web-1"));
  CHECK(ledger.pod("uid-web-1")->at(0).digest == kAdmitted);
  REQUIRE(ledger.digests().size() == 1);
  CHECK(ledger.digests()[0].reference == "registry.example/shop/web@" + kAdmitted);
  CHECK(ledger.digests()[0].firstSeen == 900);

  podgate::policy::Verdict denied = v;
  denied.decision = podgate::policy::Decision::Denied;
  podgate::policy::AdmissionLedger none;
  none.record(decoded.review->request(), denied, 900);
  CHECK_FALSE(none.pod("uid-web-1"));
  CHECK(none.digests().empty());

  // Thousands of admissions stay within the bound.
  for (int i = 0; i < 2000; ++i) {
    podgate::policy::Verdict each;
    char hex[65];
    std::snprintf(hex, sizeof hex, "%064x", i);
    each.images.push_back({"container \"app\"", "registry.example/shop/web:1", std::string("sha256:") + hex, "", "", "", "", ""});
    ledger.record(decoded.review->request(), each, 1000 + i);
  }
  CHECK(ledger.bytes() <= 4096);
  CHECK_FALSE(ledger.digests().empty());
}

TEST_CASE("a workload's Pods merge into one result per finding, failures first", "[audit]") {
  PodFindings a, b;
  ReportResult fail{"privileged", "app", "fail", "critical", "", "privileged", {}, 1};
  ReportResult pass{"runtimeSockets", "", "pass", "", "", "ok", {}, 1};
  a.results = {pass, fail};
  b.results = {fail, pass};
  const auto merged = podgate::audit::aggregate_results({&a, &b});
  REQUIRE(merged.size() == 2);
  CHECK(merged[0].result == "fail");
  CHECK(property(merged[0], "pods") == "2");
  CHECK(podgate::audit::verdict_of(merged) == "fail");
}

TEST_CASE("the same finding in two Pods of a workload is one result, its message without the Pod", "[audit]") {
  const podgate::policy::Evaluator evaluator{podgate::config::Config{}};
  JudgeInputs in;
  in.evaluator = &evaluator;
  PodProjection second = pod(true);
  second.name = "web-2";
  second.uid = "uid-web-2";
  const std::string from = R"("name":"web-1")";
  second.object.replace(second.object.find(from), from.size(), R"("name":"web-2")");
  const PodFindings a = podgate::audit::judge_pod(in, pod(true), 1000);
  const PodFindings b = podgate::audit::judge_pod(in, second, 1000);
  const ReportResult* fa = find(a, "privileged", "fail");
  const ReportResult* fb = find(b, "privileged", "fail");
  REQUIRE(fa);
  REQUIRE(fb);
  CHECK(fa->message == fb->message);
  CHECK(fa->message.find("web-1") == std::string::npos);
  CHECK(fa->message.rfind("container \"app\"", 0) == 0);
  const auto merged = podgate::audit::aggregate_results({&a, &b});
  REQUIRE(std::count_if(merged.begin(), merged.end(), [](const ReportResult& r) { return r.result == "fail"; }) == 1);
  CHECK(merged[0].rule == "privileged");
  CHECK(property(merged[0], "pods") == "2");
}

TEST_CASE("a running Pod is judged by the Pod Security Standards when they are on", "[audit][podSecurity]") {
  podgate::config::Config cfg;
  cfg.rules.privileged.action = podgate::config::Action::Off;
  cfg.rules.podSecurity.level = podgate::config::PodSecurityLevel::Baseline;
  const podgate::policy::Evaluator evaluator{cfg};
  JudgeInputs in;
  in.evaluator = &evaluator;
  CHECK(find(podgate::audit::judge_pod(in, pod(), 1000), "podSecurity", "pass"));
  const PodFindings f = podgate::audit::judge_pod(in, pod(true), 1000);
  CHECK(f.verdict == "fail");
  const ReportResult* r = find(f, "podSecurity", "fail");
  REQUIRE(r);
  CHECK(r->container == "app");
  CHECK(r->severity == "high");
  CHECK(r->category == "podgate pod security");
  CHECK(property(*r, "control") == "privileged");
  CHECK(property(*r, "field") == "spec.containers[0].securityContext.privileged");
  // Off (the default): not judged, not reported.
  const podgate::policy::Evaluator off{podgate::config::Config{}};
  in.evaluator = &off;
  CHECK_FALSE(find(podgate::audit::judge_pod(in, pod(), 1000), "podSecurity", "pass"));
}
