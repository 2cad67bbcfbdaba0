// The audit's report object (audit/reports.h) for both API groups, parsed back: metadata, owner,
// scope, summary, results and their bounds (the result cap, the message cut on a UTF-8 boundary),
// hostile strings; and the Event helpers (audit/events.h). The apiserver's view of the same objects
// (the real CRDs) is tests/e2e/audit_reports_test.cpp.

#include <catch2/catch.hpp>
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <string>
#include <string_view>
#include <vector>

#include "audit/events.h"
#include "audit/reports.h"

using namespace podgate::audit;
using podgate::config::AuditReports;

namespace {

const WorkloadRef kDeployment{"apps/v1", "Deployment", "shop", "web", "3f6c1a9e-8b2d-4c1e-9f0a-1b2c3d4e5f60"};

ReportResult result(std::string rule, std::string container, std::string verdict, std::string severity = "") {
  ReportResult r;
  r.rule = std::move(rule);
  r.container = std::move(container);
  r.result = std::move(verdict);
  r.severity = std::move(severity);
  r.category = "podgate images";
  r.message = "a message";
  r.timestamp = 1763630042;
  return r;
}

// Parsed as the apiserver would: valid UTF-8 required.
rapidjson::Document parse(const std::string& json) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseValidateEncodingFlag>(json.data(), json.size());
  INFO(rapidjson::GetParseError_En(doc.GetParseError()));
  REQUIRE_FALSE(doc.HasParseError());
  REQUIRE(doc.IsObject());
  return doc;
}

std::string str(const rapidjson::Value& v, const char* key) {
  REQUIRE(v.IsObject());
  REQUIRE(v.HasMember(key));
  REQUIRE(v[key].IsString());
  return std::string(v[key].GetString(), v[key].GetStringLength());
}

bool valid_utf8(std::string_view s) {
  rapidjson::Document doc;
  std::string json = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') json += '\\';
    json += c;
  }
  json += '"';
  doc.Parse<rapidjson::kParseValidateEncodingFlag>(json.data(), json.size());
  return !doc.HasParseError();
}

}  // namespace

TEST_CASE("report_json: a PolicyReport's metadata, owner, scope and summary", "[audit]") {
  const std::vector<ReportResult> results = {result("privileged", "app", "fail", "high"),
                                             result("images", "app", "pass"), result("scan", "", "warn", "medium"),
                                             result("runtimeSockets", "sidecar", "pass")};
  const auto doc = parse(report_json(AuditReports::WgPolicy, kDeployment, results));
  CHECK(str(doc, "apiVersion") == "wgpolicyk8s.io/v1alpha2");
  CHECK(str(doc, "kind") == "PolicyReport");
  CHECK_FALSE(doc.HasMember("source"));  // the wgpolicyk8s.io schema has no top-level source
  const auto& meta = doc["metadata"];
  CHECK(str(meta, "name") == "podgate-" + kDeployment.uid);
  CHECK(str(meta, "namespace") == "shop");
  CHECK(str(meta["labels"], "app.kubernetes.io/managed-by") == "podgate");
  REQUIRE(meta["ownerReferences"].IsArray());
  REQUIRE(meta["ownerReferences"].Size() == 1);
  const auto& owner = meta["ownerReferences"][0];
  CHECK(str(owner, "apiVersion") == "apps/v1");
  CHECK(str(owner, "kind") == "Deployment");
  CHECK(str(owner, "name") == "web");
  CHECK(str(owner, "uid") == kDeployment.uid);
  CHECK(owner["controller"].IsFalse());
  CHECK(owner["blockOwnerDeletion"].IsFalse());
  const auto& scope = doc["scope"];
  CHECK(str(scope, "apiVersion") == "apps/v1");
  CHECK(str(scope, "kind") == "Deployment");
  CHECK(str(scope, "name") == "web");
  CHECK(str(scope, "namespace") == "shop");
  CHECK(str(scope, "uid") == kDeployment.uid);
  const auto& summary = doc["summary"];
  CHECK(summary["pass"].GetInt() == 2);
  CHECK(summary["fail"].GetInt() == 1);
  CHECK(summary["warn"].GetInt() == 1);
  CHECK(summary["error"].GetInt() == 0);
  CHECK(summary["skip"].GetInt() == 0);
  CHECK(doc["results"].Size() == 4);
}

TEST_CASE("report_json: each result's fields, in the given order", "[audit]") {
  ReportResult r = result("scan", "app", "fail", "critical");
  r.properties = {{"image", "registry.example/app:1"}, {"digest", "sha256:abc"}, {"image", "a repeat"}};
  ReportResult pod = result("privileged", "", "pass");
  pod.category.clear();
  const auto doc = parse(report_json(AuditReports::WgPolicy, kDeployment, {r, pod}));
  const auto& first = doc["results"][0];
  CHECK(str(first, "source") == "podgate");
  CHECK(str(first, "policy") == "podgate");
  CHECK(str(first, "rule") == "scan");
  CHECK(str(first, "category") == "podgate images");
  CHECK(str(first, "severity") == "critical");
  CHECK(str(first, "result") == "fail");
  CHECK(first["scored"].IsTrue());
  // A protobuf Timestamp object, as the CRD requires, not an RFC 3339 string.
  REQUIRE(first["timestamp"].IsObject());
  CHECK(first["timestamp"]["seconds"].GetInt64() == 1763630042);
  CHECK(first["timestamp"]["nanos"].GetInt() == 0);
  CHECK(str(first, "message") == "a message");
  const auto& props = first["properties"];
  CHECK(str(props, "container") == "app");
  CHECK(str(props, "image") == "registry.example/app:1");  // the first of a repeated key
  CHECK(str(props, "digest") == "sha256:abc");
  CHECK(props.MemberCount() == 3);
  const auto& second = doc["results"][1];
  CHECK(str(second, "rule") == "privileged");
  CHECK_FALSE(second.HasMember("severity"));  // "" is no value of the enum: left out
  CHECK_FALSE(second.HasMember("category"));
  CHECK_FALSE(second.HasMember("properties"));  // a pod-level result with no properties
  CHECK_FALSE(second.HasMember("resources"));   // the scope says what the report is about
}

TEST_CASE("report_json: values outside the schema's enums are not written", "[audit]") {
  const auto doc = parse(report_json(AuditReports::WgPolicy, kDeployment, {result("images", "app", "denied", "severe")}));
  CHECK(str(doc["results"][0], "result") == "error");
  CHECK_FALSE(doc["results"][0].HasMember("severity"));
  CHECK(doc["summary"]["error"].GetInt() == 1);
}

TEST_CASE("report_json: an OpenReports Report", "[audit]") {
  const auto doc = parse(report_json(AuditReports::OpenReports, kDeployment, {result("images", "app", "skip")}));
  CHECK(str(doc, "apiVersion") == "openreports.io/v1alpha1");
  CHECK(str(doc, "kind") == "Report");
  CHECK(str(doc, "source") == "podgate");
  CHECK(str(doc["metadata"], "name") == "podgate-" + kDeployment.uid);
  CHECK(str(doc["scope"], "kind") == "Deployment");
  CHECK(doc["summary"]["skip"].GetInt() == 1);
  CHECK(str(doc["results"][0], "source") == "podgate");
}

TEST_CASE("report_json: a Pod without a controller owns its own report", "[audit]") {
  const WorkloadRef pod{"v1", "Pod", "shop", "debug", "9a8b7c6d-0000-4000-8000-000000000001"};
  const auto doc = parse(report_json(AuditReports::WgPolicy, pod, {}));
  CHECK(str(doc["metadata"]["ownerReferences"][0], "kind") == "Pod");
  CHECK(str(doc["scope"], "apiVersion") == "v1");
  CHECK(doc["results"].Size() == 0);
  CHECK(doc["summary"]["pass"].GetInt() == 0);
  // No uid: no owner reference (the apiserver refuses one without a uid).
  const auto orphan = parse(report_json(AuditReports::WgPolicy, WorkloadRef{"v1", "Pod", "shop", "x", ""}, {}));
  CHECK_FALSE(orphan["metadata"].HasMember("ownerReferences"));
}

TEST_CASE("report_json: at most kMaxReportResults results, and the summary counts them all", "[audit]") {
  std::vector<ReportResult> results;
  for (int i = 0; i < 600; ++i) results.push_back(result("images", "c" + std::to_string(i), i % 3 == 0 ? "fail" : "pass"));
  results.back().timestamp = 1763630999;
  const auto doc = parse(report_json(AuditReports::WgPolicy, kDeployment, results));
  REQUIRE(doc["results"].Size() == kMaxReportResults);
  CHECK(str(doc["results"][0], "rule") == "images");
  CHECK(str(doc["results"][0]["properties"], "container") == "c0");
  CHECK(str(doc["results"][kMaxReportResults - 2]["properties"], "container") == "c498");
  const auto& last = doc["results"][kMaxReportResults - 1];
  CHECK(str(last, "rule") == "truncated");
  CHECK(str(last, "result") == "warn");
  CHECK(str(last, "message") == "101 more results not shown");
  CHECK(last["timestamp"]["seconds"].GetInt64() == 1763630999);  // the newest result's time
  CHECK(doc["summary"]["fail"].GetInt() == 200);
  CHECK(doc["summary"]["pass"].GetInt() == 400);
  CHECK(doc["summary"]["warn"].GetInt() == 0);  // the note is no result of the audit
  // Exactly at the cap: nothing cut, no note.
  results.resize(kMaxReportResults);
  const auto full = parse(report_json(AuditReports::WgPolicy, kDeployment, results));
  CHECK(full["results"].Size() == kMaxReportResults);
  CHECK(str(full["results"][kMaxReportResults - 1], "rule") == "images");
}

TEST_CASE("report_json: hostile strings stay strings", "[audit]") {
  const std::string hostile = "\"},\"kind\":\"Secret\",\"x\":{\"a\\\n\t\x01\x1f </script> \xe2\x80\xa8";
  ReportResult r = result(hostile, hostile, "fail");
  r.message = hostile;
  r.properties = {{hostile, hostile}};
  const WorkloadRef w{"apps/v1", hostile, "shop", hostile, "uid-1"};
  const auto doc = parse(report_json(AuditReports::WgPolicy, w, {r}));
  CHECK(str(doc, "kind") == "PolicyReport");
  CHECK(str(doc["scope"], "kind") == hostile);
  CHECK(str(doc["scope"], "name") == hostile);
  CHECK(str(doc["results"][0], "rule") == hostile);
  CHECK(str(doc["results"][0], "message") == hostile);
  CHECK(str(doc["results"][0]["properties"], "container") == hostile);
  CHECK(str(doc["results"][0]["properties"], hostile.c_str()) == hostile);
  // Bytes that are not UTF-8 become U+FFFD: the apiserver would refuse (or mangle) them.
  ReportResult bad = result("images", "app\xff", "pass");
  bad.message = "bad \xc3\x28 and \xed\xa0\x80 end";
  const auto fixed = parse(report_json(AuditReports::WgPolicy, kDeployment, {bad}));
  CHECK(str(fixed["results"][0]["properties"], "container") == "app\xef\xbf\xbd");
  CHECK(str(fixed["results"][0], "message") ==
        "bad \xef\xbf\xbd( and \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd end");
}

TEST_CASE("report_json: a message is cut at 1024 bytes on a UTF-8 boundary", "[audit]") {
  for (std::size_t pad = 0; pad < 4; ++pad) {
    ReportResult r = result("scan", "app", "fail");
    r.message = std::string(pad, 'x');
    while (r.message.size() < 3000) r.message += "\xe2\x82\xac";  // the euro sign: 3 bytes
    const auto doc = parse(report_json(AuditReports::WgPolicy, kDeployment, {r}));
    const std::string message = str(doc["results"][0], "message");
    CHECK(message.size() <= 1024);
    CHECK(message.size() >= 1024 - 5);
    CHECK(message.substr(message.size() - 3) == "...");
    CHECK(valid_utf8(message));
    CHECK(message.substr(0, pad) == std::string(pad, 'x'));
  }
}

TEST_CASE("bounded_text: short texts unchanged, long ones cut with an ellipsis", "[audit]") {
  CHECK(bounded_text("", 1024).empty());
  CHECK(bounded_text("short", 1024) == "short");
  const std::string exact(1024, 'a');
  CHECK(bounded_text(exact, 1024) == exact);
  const std::string over(1025, 'a');
  CHECK(bounded_text(over, 1024) == std::string(1021, 'a') + "...");
  CHECK(bounded_text("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 7) == "\xc3\xa9\xc3\xa9...");
  CHECK(bounded_text("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 6) == "\xc3\xa9...");  // never half an é
  CHECK(bounded_text("a\x80" "b", 10) == "a\xef\xbf\xbd" "b");
  CHECK(bounded_text(std::string(5000, '\xff'), 1024).size() <= 1024);
  CHECK(valid_utf8(bounded_text(std::string(5000, '\xff'), 1024)));
}

TEST_CASE("report_name: podgate- and the workload's uid", "[audit]") {
  CHECK(report_name(kDeployment) == "podgate-3f6c1a9e-8b2d-4c1e-9f0a-1b2c3d4e5f60");
}

TEST_CASE("event_name: the regarding object's name and the time in hex, a DNS subdomain", "[audit]") {
  CHECK(event_name("web-7d4b9c", 0x1872a3b4c5d6e7f8) == "web-7d4b9c.1872a3b4c5d6e7f8");
  // A name at the 253-character bound is cut to leave room, and never ends the cut on a '-'.
  std::string longName(231, 'a');
  longName += std::string(5, '-') + std::string(18, 'b');
  const std::string name = event_name(longName, 0x1872a3b4c5d6e7f8);
  CHECK(name.size() <= 253);
  CHECK(name.find("-.") == std::string::npos);
  CHECK(name.substr(name.size() - 17) == ".1872a3b4c5d6e7f8");
  CHECK(event_name("", 1) == "podgate.1");
}
