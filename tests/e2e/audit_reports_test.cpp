// audit::ReportWriter and audit::EventRecorder against the real kube-apiserver that
// tests/e2e/kube_client.sh starts, with the real PolicyReport (wgpolicyk8s.io/v1alpha2) and Report
// (openreports.io/v1alpha1) CRDs applied from tests/e2e/fixtures/: the apiserver validates every
// report against the schema clusters run (a timestamp that is not {seconds, nanos}, a severity
// outside the enum, are refused), and Events against events.k8s.io/v1's own validation. The
// environment is kube_client_test.cpp's, plus:
//
//   PODGATE_E2E_FIXTURES   tests/e2e/fixtures (the CRDs, re-applied by the availability case)
//   namespace podgate-audit, created by the script; the test user may use policyreports, reports
//   and events.k8s.io events.

#include <catch2/catch.hpp>
#include <fcntl.h>
#include <rapidjson/document.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "audit/auditor.h"
#include "audit/events.h"
#include "audit/reports.h"
#include "kube/client.h"
#include "kube/config.h"
#include "log/log.h"
#include "metrics/metrics.h"
#include "policy/policy.h"
#include "scan/store.h"
#include "support/temp_dir.h"
#include "kube_e2e.h"

using namespace std::chrono_literals;
using podgate::audit::EventRecorder;
using podgate::audit::EventRecorderOptions;
using podgate::audit::EventSpec;
using podgate::audit::ReportResult;
using podgate::audit::ReportWriter;
using podgate::audit::WorkloadRef;
using podgate::config::AuditReports;
using podgate::kube::Client;
using podgate::metrics::Metrics;

namespace {

using podgate::e2e::env_or_fail;
using podgate::e2e::eventually;
using podgate::e2e::metric;
using podgate::e2e::test_client;

constexpr const char* kNamespace = "podgate-audit";
constexpr const char* kPolicyReports = "/apis/wgpolicyk8s.io/v1alpha2/namespaces/";
constexpr const char* kReports = "/apis/openreports.io/v1alpha1/namespaces/";

std::string shell(const std::string& command) {
  std::string out;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (!p) return "popen failed";
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  const int rc = ::pclose(p);
  INFO(command << "\n" << out);
  REQUIRE(rc == 0);
  return out;
}

std::string kubectl(const std::string& args) {
  return shell("'" + env_or_fail("PODGATE_E2E_KUBECTL") + "' --kubeconfig '" + env_or_fail("PODGATE_E2E_ADMIN_KUBECONFIG") +
               "' --request-timeout=60s " + args);
}

// A uid of its own per call, so cases and runs never meet.
std::string new_uid() {
  static std::mt19937_64 rng(std::random_device{}());
  char buf[40];
  const auto a = rng(), b = rng();
  std::snprintf(buf, sizeof buf, "%08llx-%04llx-4%03llx-8%03llx-%012llx", static_cast<unsigned long long>(a >> 32),
                static_cast<unsigned long long>((a >> 16) & 0xffff), static_cast<unsigned long long>(a & 0xfff),
                static_cast<unsigned long long>(b >> 52), static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buf;
}

WorkloadRef deployment(const std::string& name, const std::string& ns = kNamespace) {
  return {"apps/v1", "Deployment", ns, name, new_uid()};
}

ReportResult result(const std::string& rule, const std::string& container, const std::string& verdict,
                    const std::string& severity, std::int64_t timestamp) {
  ReportResult r;
  r.rule = rule;
  r.container = container;
  r.result = verdict;
  r.severity = severity;
  r.category = "podgate images";
  r.message = rule + " of " + container + ": " + verdict;
  r.properties = {{"image", "registry.example/" + container + ":1"}, {"digest", "sha256:0123"}};
  r.timestamp = timestamp;
  return r;
}

rapidjson::Document parse(const std::string& json) {
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  REQUIRE_FALSE(doc.HasParseError());
  REQUIRE(doc.IsObject());
  return doc;
}

std::string str(const rapidjson::Value& v, const char* key) {
  return v.IsObject() && v.HasMember(key) && v[key].IsString() ? v[key].GetString() : std::string();
}

std::string report_path(AuditReports group, const WorkloadRef& w) {
  return std::string(group == AuditReports::OpenReports ? kReports : kPolicyReports) + w.namespace_ +
         (group == AuditReports::OpenReports ? "/reports/" : "/policyreports/") +
         podgate::audit::report_name(w);
}

// The report as the apiserver holds it; status 404 when absent.
podgate::kube::Response get_report(Client& client, AuditReports group, const WorkloadRef& w) {
  return client.get("policyreports", report_path(group, w));
}

std::string resource_version(const std::string& json) { return str(parse(json)["metadata"], "resourceVersion"); }

std::size_t count_lines(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t at = 0; (at = text.find(needle, at)) != std::string::npos; at += needle.size()) ++n;
  return n;
}

// A logger writing to a file the case reads back.
struct CapturedLog {
  podgate::test::TempDir dir{"podgate-audit-e2e"};
  std::string path = dir.file("log");
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  podgate::log::Logger logger{fd, podgate::log::Level::Debug};
  ~CapturedLog() { ::close(fd); }
  std::string text() const { return podgate::test::read_file(path); }
};

// The Events (events.k8s.io/v1) in `ns` about the object with `uid`.
std::vector<rapidjson::Document> events_about(Client& client, const std::string& ns, const std::string& uid) {
  const auto r = client.get("events", "/apis/events.k8s.io/v1/namespaces/" + ns + "/events");
  INFO(r.describe());
  REQUIRE(r.ok());
  const auto list = parse(r.body);
  std::vector<rapidjson::Document> out;
  for (const auto& item : list["items"].GetArray()) {
    if (!item.HasMember("regarding") || str(item["regarding"], "uid") != uid) continue;
    rapidjson::Document copy;
    copy.CopyFrom(item, copy.GetAllocator());
    out.push_back(std::move(copy));
  }
  return out;
}

EventSpec event_about(const WorkloadRef& w, const std::string& note) {
  EventSpec e;
  e.regarding = w;
  e.type = "Warning";
  e.reason = "MaliciousImageRunning";
  e.action = "Audit";
  e.note = note;
  return e;
}

EventRecorderOptions recorder_options() {
  EventRecorderOptions o;
  o.reportingInstance = "podgate-e2e-0";
  return o;
}

}  // namespace

TEST_CASE("ReportWriter: available() is false without the CRD and true once it is installed") {
  Metrics metrics;
  Client client = test_client(&metrics);
  CapturedLog log;
  ReportWriter writer(client, AuditReports::OpenReports, &metrics, &log.logger);
  const std::string crd = env_or_fail("PODGATE_E2E_FIXTURES") + "/openreports.io_reports.yaml";
  kubectl("delete crd reports.openreports.io --wait=true --ignore-not-found");
  // The CRD is put back whatever happens, for the cases after this one.
  struct Reinstall {
    std::string crd;
    ~Reinstall() {
      const std::string command = "'" + env_or_fail("PODGATE_E2E_KUBECTL") + "' --kubeconfig '" +
                                  env_or_fail("PODGATE_E2E_ADMIN_KUBECONFIG") + "' apply -f '" + crd + "' >/dev/null 2>&1";
      if (std::system(command.c_str()) != 0) std::fprintf(stderr, "could not re-apply %s\n", crd.c_str());
    }
  } reinstall{crd};
  REQUIRE(eventually([&] { return !writer.available(0s); }, 10s));
  CHECK_FALSE(writer.available(0s));
  CHECK(count_lines(log.text(), "the API is not served") == 1);  // said once, not on every check
  CHECK(log.text().find("reports.openreports.io") != std::string::npos);  // the CRD to install
  kubectl("apply -f '" + crd + "'");
  kubectl("wait --for condition=established --timeout=60s crd/reports.openreports.io");
  REQUIRE(eventually([&] { return writer.available(0s); }, 15s));
  CHECK(count_lines(log.text(), "the API is served now") == 1);
  // Cached: no further GET /apis within `recheck`.
  const double asked = metric(metrics, "podgate_kube_requests_total", {"resource=\"apis\""});
  for (int i = 0; i < 5; ++i) CHECK(writer.available(60s));
  CHECK(metric(metrics, "podgate_kube_requests_total", {"resource=\"apis\""}) == asked);
  // The other group is served throughout; "none" never is.
  ReportWriter wg(client, AuditReports::WgPolicy, &metrics, nullptr);
  CHECK(wg.available(0s));
  ReportWriter none(client, AuditReports::None, &metrics, nullptr);
  CHECK_FALSE(none.available(0s));
}

TEST_CASE("ReportWriter: a PolicyReport written, not rewritten when only times change, updated on a change") {
  Metrics metrics;
  Client client = test_client(&metrics);
  ReportWriter writer(client, AuditReports::WgPolicy, &metrics, nullptr);
  REQUIRE(writer.available());
  const WorkloadRef w = deployment("web");
  std::vector<ReportResult> results = {result("privileged", "app", "fail", "high", 1763630042),
                                       result("images", "app", "pass", "", 1763630042),
                                       result("scan", "sidecar", "warn", "critical", 1763630042)};
  REQUIRE(writer.write(w, results));
  auto r = get_report(client, AuditReports::WgPolicy, w);
  INFO(r.describe());
  REQUIRE(r.ok());
  {
    const auto doc = parse(r.body);
    CHECK(str(doc, "kind") == "PolicyReport");
    CHECK(str(doc["metadata"]["labels"], "app.kubernetes.io/managed-by") == "podgate");
    CHECK(str(doc["metadata"]["ownerReferences"][0], "uid") == w.uid);
    CHECK(str(doc["scope"], "uid") == w.uid);
    CHECK(doc["summary"]["fail"].GetInt() == 1);
    CHECK(doc["summary"]["pass"].GetInt() == 1);
    CHECK(doc["summary"]["warn"].GetInt() == 1);
    REQUIRE(doc["results"].Size() == 3);
    CHECK(doc["results"][0]["timestamp"]["seconds"].GetInt64() == 1763630042);
    CHECK(str(doc["results"][2], "severity") == "critical");
    CHECK(str(doc["results"][2]["properties"], "container") == "sidecar");
  }
  const std::string rv = resource_version(r.body);
  CHECK(metric(metrics, "podgate_audit_reports_total", {"operation=\"apply\"", "result=\"ok\""}) == 1);

  // The same findings an hour later: no request at all, the object untouched.
  for (auto& x : results) x.timestamp += 3600;
  REQUIRE(writer.write(w, results));
  CHECK(metric(metrics, "podgate_kube_requests_total", {"verb=\"patch\""}) == 1);
  CHECK(resource_version(get_report(client, AuditReports::WgPolicy, w).body) == rv);

  // A change: applied, and the list replaced (not merged) by server-side apply.
  results.erase(results.begin());
  results[1].result = "fail";
  REQUIRE(writer.write(w, results));
  r = get_report(client, AuditReports::WgPolicy, w);
  REQUIRE(r.ok());
  CHECK(resource_version(r.body) != rv);
  const auto doc = parse(r.body);
  CHECK(doc["results"].Size() == 2);
  CHECK(doc["summary"]["fail"].GetInt() == 1);
  CHECK(doc["summary"]["warn"].GetInt() == 0);
  CHECK(doc["results"][0]["timestamp"]["seconds"].GetInt64() == 1763630042 + 3600);

  // After forget() (a new leader) the same results are applied once more.
  writer.forget();
  REQUIRE(writer.write(w, results));
  CHECK(metric(metrics, "podgate_audit_reports_total", {"operation=\"apply\"", "result=\"ok\""}) == 3);
}

TEST_CASE("ReportWriter: the CRD's schema is enforced; podgate's largest report passes it") {
  Metrics metrics;
  Client client = test_client(&metrics);
  // What the real CRD refuses: a timestamp written as RFC 3339, a severity outside its enum.
  const WorkloadRef w = deployment("schema");
  std::string body = podgate::audit::report_json(AuditReports::WgPolicy, w, {result("scan", "app", "fail", "high", 1)});
  const std::string stamp = "\"timestamp\":{\"seconds\":1,\"nanos\":0}";
  REQUIRE(body.find(stamp) != std::string::npos);
  std::string badTime = body;
  badTime.replace(badTime.find(stamp), stamp.size(), "\"timestamp\":\"2025-11-20T09:14:02Z\"");
  auto r = client.apply("policyreports", report_path(AuditReports::WgPolicy, w), badTime, "podgate-e2e");
  // Server-side apply answers a type mismatch with 500 "failed to create typed patch object"
  // (kube-apiserver 1.34), a create with 422 Invalid: refused either way.
  INFO(r.describe());
  CHECK_FALSE(r.ok());
  const std::string collection = std::string(kPolicyReports) + w.namespace_ + "/policyreports";
  r = client.create("policyreports", collection, badTime);
  CHECK(r.status == 422);
  std::string badSeverity = body;
  badSeverity.replace(badSeverity.find("\"high\""), 6, "\"severe\"");
  r = client.apply("policyreports", report_path(AuditReports::WgPolicy, w), badSeverity, "podgate-e2e");
  CHECK(r.status == 422);

  // The writer's own: more results than the cap, 1 KiB messages, hostile text.
  ReportWriter writer(client, AuditReports::WgPolicy, &metrics, nullptr);
  std::vector<ReportResult> many;
  for (int i = 0; i < 700; ++i) {
    many.push_back(result("images", "c" + std::to_string(i), i % 2 ? "pass" : "fail", "medium", 1763630042));
    many.back().message = std::string(3000, 'x') + "\"}\\\x01\xff";
  }
  REQUIRE(writer.write(w, many));
  r = get_report(client, AuditReports::WgPolicy, w);
  REQUIRE(r.ok());
  const auto doc = parse(r.body);
  CHECK(doc["results"].Size() == podgate::audit::kMaxReportResults);
  CHECK(doc["summary"]["fail"].GetInt() == 350);
  CHECK(doc["summary"]["pass"].GetInt() == 350);
  CHECK(str(doc["results"][podgate::audit::kMaxReportResults - 1], "rule") == "truncated");
  CHECK(str(doc["results"][0], "message").size() <= 1024);
  writer.remove(w);
}

TEST_CASE("ReportWriter: an OpenReports Report is written and removed") {
  Metrics metrics;
  Client client = test_client(&metrics);
  ReportWriter writer(client, AuditReports::OpenReports, &metrics, nullptr);
  REQUIRE(eventually([&] { return writer.available(0s); }, 15s));
  const WorkloadRef w = deployment("api");
  REQUIRE(writer.write(w, {result("runtimeSockets", "app", "fail", "critical", 1763630042)}));
  auto r = client.get("reports", report_path(AuditReports::OpenReports, w));
  INFO(r.describe());
  REQUIRE(r.ok());
  const auto doc = parse(r.body);
  CHECK(str(doc, "apiVersion") == "openreports.io/v1alpha1");
  CHECK(str(doc, "kind") == "Report");
  CHECK(str(doc, "source") == "podgate");
  CHECK(doc["summary"]["fail"].GetInt() == 1);
  CHECK(str(doc["results"][0], "source") == "podgate");
  REQUIRE(writer.remove(w));
  CHECK(client.get("reports", report_path(AuditReports::OpenReports, w)).status == 404);
  CHECK(writer.remove(w));  // already gone: done, not an error
  CHECK(metric(metrics, "podgate_audit_reports_total", {"operation=\"delete\"", "result=\"ok\""}) == 2);
  CHECK(metric(metrics, "podgate_audit_reports_total", {"result=\"error\""}) == 0);
}

TEST_CASE("ReportWriter: remove() deletes a PolicyReport, and the next write creates it again") {
  Client client = test_client(nullptr);
  ReportWriter writer(client, AuditReports::WgPolicy, nullptr, nullptr);
  const WorkloadRef w = deployment("worker");
  const std::vector<ReportResult> results = {result("images", "app", "pass", "", 1763630042)};
  REQUIRE(writer.write(w, results));
  REQUIRE(get_report(client, AuditReports::WgPolicy, w).ok());
  REQUIRE(writer.remove(w));
  CHECK(get_report(client, AuditReports::WgPolicy, w).status == 404);
  REQUIRE(writer.write(w, results));  // removed, so forgotten: written again
  CHECK(get_report(client, AuditReports::WgPolicy, w).ok());
  writer.remove(w);
}

TEST_CASE("ReportWriter: collect_garbage deletes the reports of workloads that are gone, over pages") {
  Metrics metrics;
  Client client = test_client(&metrics);
  ReportWriter writer(client, AuditReports::WgPolicy, &metrics, nullptr);
  const WorkloadRef live = deployment("live");
  const WorkloadRef liveDefault = deployment("live", "default");
  REQUIRE(writer.write(live, {result("images", "app", "pass", "", 1)}));
  REQUIRE(writer.write(liveDefault, {result("images", "app", "pass", "", 1)}));
  std::vector<WorkloadRef> gone;
  for (int i = 0; i < 120; ++i) {  // more than two of the writer's list pages (50)
    gone.push_back(deployment("gone-" + std::to_string(i), i % 2 ? kNamespace : "default"));
    REQUIRE(writer.write(gone.back(), {result("images", "app", "fail", "low", 1)}));
  }
  // Somebody else's PolicyReport (no managed-by label) is never podgate's to delete.
  const WorkloadRef foreign = deployment("foreign");
  std::string body = podgate::audit::report_json(AuditReports::WgPolicy, foreign, {});
  const std::string label = "\"app.kubernetes.io/managed-by\":\"podgate\"";
  body.replace(body.find(label), label.size(), "\"app.kubernetes.io/managed-by\":\"kyverno\"");
  REQUIRE(client.apply("policyreports", report_path(AuditReports::WgPolicy, foreign), body, "kyverno").ok());

  const std::unordered_set<std::string> liveUids = {live.uid, liveDefault.uid};
  // At least the 120 (reports other cases left behind go too: they are podgate's, and not live).
  CHECK(writer.collect_garbage(liveUids) >= 120);
  CHECK(metric(metrics, "podgate_kube_requests_total", {"verb=\"get\"", "resource=\"policyreports\""}) >= 3);
  for (const auto& g : gone) CHECK(get_report(client, AuditReports::WgPolicy, g).status == 404);
  CHECK(get_report(client, AuditReports::WgPolicy, live).ok());
  CHECK(get_report(client, AuditReports::WgPolicy, liveDefault).ok());
  CHECK(get_report(client, AuditReports::WgPolicy, foreign).ok());
  CHECK(writer.collect_garbage(liveUids) == 0);
  // A collected report is forgotten: the workload's next write (were it back) creates it.
  REQUIRE(writer.write(gone[0], {result("images", "app", "fail", "low", 1)}));
  CHECK(get_report(client, AuditReports::WgPolicy, gone[0]).ok());
  for (const auto& w : {live, liveDefault, gone[0], foreign}) client.remove("policyreports", report_path(AuditReports::WgPolicy, w));
}

TEST_CASE("EventRecorder: an Event in events.k8s.io/v1 with every field") {
  Metrics metrics;
  Client client = test_client(&metrics);
  const WorkloadRef w = deployment("evented");
  {
    EventRecorder recorder(client, recorder_options(), &metrics, nullptr);
    recorder.record(event_about(w, "image registry.example/app:1 is malicious"));
    EventSpec longNote = event_about(w, std::string(5000, 'n'));
    longNote.reason = "VulnerableImageRunning";
    recorder.record(longNote);
    REQUIRE(recorder.flush(30s));
  }
  CHECK(metric(metrics, "podgate_audit_events_total", {"result=\"created\""}) == 2);
  const auto events = events_about(client, kNamespace, w.uid);
  REQUIRE(events.size() == 2);
  for (const auto& e : events) {
    INFO(str(e["metadata"], "name"));
    CHECK(str(e["metadata"], "name").rfind("evented.", 0) == 0);
    CHECK(std::regex_match(str(e, "eventTime"), std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)")));
    CHECK(str(e, "reportingController") == "podgate.io/audit");
    CHECK(str(e, "reportingInstance") == "podgate-e2e-0");
    CHECK(str(e, "action") == "Audit");
    CHECK(str(e, "type") == "Warning");
    CHECK(str(e["regarding"], "apiVersion") == "apps/v1");
    CHECK(str(e["regarding"], "kind") == "Deployment");
    CHECK(str(e["regarding"], "name") == "evented");
    CHECK(str(e["regarding"], "namespace") == kNamespace);
    CHECK_FALSE(e.HasMember("series"));
    if (str(e, "reason") == "MaliciousImageRunning") {
      CHECK(str(e, "note") == "image registry.example/app:1 is malicious");
    } else {
      CHECK(str(e, "reason") == "VulnerableImageRunning");
      CHECK(str(e, "note") == std::string(1021, 'n') + "...");  // the apiserver's 1024-byte bound
    }
  }
}

TEST_CASE("EventRecorder: the same Event again is one Event with a series") {
  Metrics metrics;
  Client client = test_client(&metrics);
  const WorkloadRef w = deployment("repeated");
  EventRecorder recorder(client, recorder_options(), &metrics, nullptr);
  recorder.record(event_about(w, "privileged container app"));
  REQUIRE(recorder.flush(30s));
  auto events = events_about(client, kNamespace, w.uid);
  REQUIRE(events.size() == 1);
  CHECK_FALSE(events[0].HasMember("series"));
  recorder.record(event_about(w, "privileged container app"));
  REQUIRE(recorder.flush(30s));
  events = events_about(client, kNamespace, w.uid);
  REQUIRE(events.size() == 1);
  REQUIRE(events[0].HasMember("series"));
  CHECK(events[0]["series"]["count"].GetInt() == 2);
  CHECK(std::regex_match(str(events[0]["series"], "lastObservedTime"),
                         std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)")));
  recorder.record(event_about(w, "privileged container app"));
  REQUIRE(recorder.flush(30s));
  CHECK(events_about(client, kNamespace, w.uid)[0]["series"]["count"].GetInt() == 3);
  // Another note is another Event.
  recorder.record(event_about(w, "privileged container sidecar"));
  REQUIRE(recorder.flush(30s));
  CHECK(events_about(client, kNamespace, w.uid).size() == 2);
  CHECK(metric(metrics, "podgate_audit_events_total", {"result=\"created\""}) == 2);
  CHECK(metric(metrics, "podgate_audit_events_total", {"result=\"series\""}) == 2);
}

TEST_CASE("EventRecorder: 30 Events about one object: 25 written, the rest throttled") {
  Metrics metrics;
  Client client = test_client(&metrics);
  const WorkloadRef w = deployment("stormy");
  const WorkloadRef calm = deployment("calm");
  EventRecorder recorder(client, recorder_options(), &metrics, nullptr);
  for (int i = 0; i < 30; ++i) recorder.record(event_about(w, i % 2 ? "the same finding" : "finding " + std::to_string(i)));
  recorder.record(event_about(calm, "one finding"));  // another object has its own bucket
  REQUIRE(recorder.flush(60s));
  CHECK(metric(metrics, "podgate_audit_events_total", {"result=\"throttled\""}) == 5);
  const double created = metric(metrics, "podgate_audit_events_total", {"result=\"created\""});
  const double series = metric(metrics, "podgate_audit_events_total", {"result=\"series\""});
  CHECK(created + series == 26);
  // What the apiserver holds says the same: 25 observations of the stormy object, in fewer Events.
  int observed = 0;
  const auto events = events_about(client, kNamespace, w.uid);
  for (const auto& e : events) observed += e.HasMember("series") ? e["series"]["count"].GetInt() : 1;
  CHECK(observed == 25);
  CHECK(events.size() < 25);
  CHECK(events_about(client, kNamespace, calm.uid).size() == 1);
}

TEST_CASE("EventRecorder: a cluster-scoped object's Events go to default; a full queue drops") {
  Metrics metrics;
  Client client = test_client(&metrics);
  const WorkloadRef node{"v1", "Node", "", "node-e2e", new_uid()};
  EventRecorderOptions o = recorder_options();
  o.maxQueued = 1;
  EventRecorder recorder(client, o, &metrics, nullptr);
  recorder.record(event_about(node, "a node finding"));
  REQUIRE(recorder.flush(30s));
  const auto events = events_about(client, "default", node.uid);
  REQUIRE(events.size() == 1);
  CHECK(str(events[0]["regarding"], "kind") == "Node");
  CHECK_FALSE(events[0]["regarding"].HasMember("namespace"));
  // One queued at a time while the writer waits on the apiserver: most of a burst is dropped,
  // never blocks the caller, and every Event is accounted for.
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 200; ++i) recorder.record(event_about(deployment("many-" + std::to_string(i)), "x"));
  CHECK(std::chrono::steady_clock::now() - start < 1s);
  REQUIRE(recorder.flush(60s));
  const double dropped = metric(metrics, "podgate_audit_events_total", {"result=\"dropped\""});
  CHECK(dropped >= 1);
  CHECK(dropped + metric(metrics, "podgate_audit_events_total", {"result=\"created\""}) == 201);
}

// ---- the whole loop: audit::Auditor on a real Pod ------------------------------------------------
// The Pod is created and given a kubelet's status (no kubelet runs here) with kubectl as the admin;
// the Auditor lists and watches it, wins its Lease, writes its report, and judges it again when
// the scan store says its digest's verdict changed. Under TSan (CI) this is the audit's threads:
// the Pod reflector, the elector, the worker and the Event writer.
TEST_CASE("Auditor: a running Pod is reported, judged again on a verdict change, and its report goes with it",
          "[auditor]") {
  Metrics metrics;
  Client client = test_client(&metrics);
  const podgate::test::TempDir dir("podgate-e2e-auditor");
  auto store = std::make_shared<podgate::scan::CachedStore>(podgate::scan::open_sqlite_store(dir.file("scans.db")));
  const std::string id = new_uid();
  const std::string digest = "sha256:" + std::string(52, 'c') + id.substr(0, 8) + id.substr(9, 4);
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  podgate::scan::ScanRecord record;
  record.digest = digest;
  record.scanner = "e2e-av";
  record.scannedAt = now - 10;
  record.malware = podgate::scan::MalwareResult::Clean;
  store->put({record});

  podgate::config::Config cfg;
  cfg.rules.images.action = podgate::config::Action::Deny;
  cfg.rules.images.scan.action = podgate::config::Action::Deny;
  auto evaluator = std::make_shared<const podgate::policy::Evaluator>(cfg);
  podgate::audit::AuditSources sources;
  sources.evaluator = [evaluator] { return evaluator; };
  sources.images = [] { return std::shared_ptr<podgate::registry::DigestCache>(); };
  sources.scans = store;
  podgate::config::AuditConfig audit;
  audit.enabled = true;
  audit.leaseNamespace = kNamespace;
  audit.leaseName = "auditor-" + id.substr(0, 8);
  audit.leaseDuration = 5s;
  podgate::audit::Auditor auditor(client, audit, {"kube-system"}, sources, &metrics, nullptr);
  store->set_change_listener([&auditor](const std::string& d) { auditor.verdict_changed(d); });

  const std::string pod = "auditor-" + id.substr(0, 8);
  kubectl("-n " + std::string(kNamespace) + " run " + pod + " --image=registry.test.invalid/app:1 --restart=Never");
  kubectl("-n " + std::string(kNamespace) + " patch pod " + pod + " --subresource=status --type=merge -p " +
          "'{\"status\":{\"phase\":\"Running\",\"containerStatuses\":[{\"name\":\"" + pod +
          "\",\"image\":\"registry.test.invalid/app:1\",\"imageID\":\"registry.test.invalid/app@" + digest +
          "\",\"ready\":true,\"restartCount\":0,\"state\":{\"running\":{}}}]}}'");
  const std::string uid = str(parse(kubectl("-n " + std::string(kNamespace) + " get pod " + pod + " -o json"))["metadata"], "uid");
  const WorkloadRef workload{"v1", "Pod", kNamespace, pod, uid};
  const auto scan_result = [&](const std::string& want) {
    const auto r = get_report(client, AuditReports::WgPolicy, workload);
    if (r.status != 200) return false;
    const auto doc = parse(r.body);
    for (const auto& result : doc["results"].GetArray())
      if (str(result, "rule") == "scan" && str(result, "result") == want) return true;
    return false;
  };

  auditor.start();
  REQUIRE(eventually([&] { return auditor.synced() && auditor.is_leader(); }, 20s));
  CHECK(eventually([&] { return scan_result("pass"); }, 20s));

  record.scannedAt = now;
  record.malware = podgate::scan::MalwareResult::Malicious;
  record.findings.push_back({"malware", "Unix.Trojan.E2E-0", "/usr/bin/.x", "", "", podgate::scan::Severity::Critical});
  record.counts[static_cast<std::size_t>(podgate::scan::Severity::Critical)] = 1;
  const auto changed = std::chrono::steady_clock::now();
  store->put({record});
  CHECK(eventually([&] { return scan_result("fail"); }, 5s));
  INFO("verdict to report: " << std::chrono::duration<double>(std::chrono::steady_clock::now() - changed).count() << " s");
  // The gauges and the latency are set just after the report is written: wait for them too.
  CHECK(eventually([&] { return metric(metrics, "podgate_audit_running_containers", {"scan=\"malicious\""}) >= 1; }, 5s));
  CHECK(eventually([&] { return metric(metrics, "podgate_audit_verdict_to_report_seconds_count") >= 1; }, 5s));
  CHECK(eventually([&] { return !events_about(client, kNamespace, uid).empty(); }, 10s));

  kubectl("-n " + std::string(kNamespace) + " delete pod " + pod + " --wait=false");
  CHECK(eventually([&] { return get_report(client, AuditReports::WgPolicy, workload).status == 404; }, 15s));
  auditor.stop();
  CHECK(metric(metrics, "podgate_audit_leader") == 0);
}
