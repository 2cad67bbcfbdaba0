// podgate check's report formats (lib/check_report): real manifests read by lib/manifest, judged
// by the real Evaluator, written as text, JSON, SARIF and JUnit. Schema validation of the same
// formats, against the published schemas, is in tests/integration/check_cli_test.cpp.

#include <catch2/catch.hpp>
#include <rapidjson/document.h>

#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "check_report/check_report.h"
#include "config/config.h"
#include "manifest/manifest.h"
#include "unit/judge.h"

namespace cr = podgate::check_report;
using podgate::testing::contains;

namespace {

// A privileged container (warned, by the config below) and a runtime socket (denied), a List
// whose second item podgate cannot read, and a document without a kind.
const std::string kManifests = R"(apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    spec:
      containers:
        - name: app
          image: nginx:1.27
          securityContext: {privileged: true}
      volumes:
        - name: sock
          hostPath: {path: /var/run/docker.sock}
---
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Pod
    metadata: {name: fine}
    spec:
      containers: [{name: c, image: busybox}]
  - apiVersion: v1
    kind: Pod
    metadata: {name: broken}
    spec:
      containers: "not a list"
---
metadata: {name: kindless}
)";

// Each document as webhook/check.cpp judges it: described, decoded as a CREATE, judged.
std::vector<cr::Document> judge_all(const std::string& text, const std::string& file) {
  const auto cfg = podgate::config::parse("rules:\n  privileged: {action: warn}\n");
  std::vector<cr::Document> out;
  for (const auto& doc : podgate::manifest::parse(text, file)) {
    const auto resource = podgate::admission::resource_for_kind(doc.kind);
    auto d = cr::describe(doc, "default", resource.resource == "persistentvolumes");
    if (doc.kind.empty()) {
      d.notes.push_back("skipped: no kind");
    } else {
      const std::string body = podgate::manifest::to_admission_review(doc, "default", resource.group, resource.resource);
      const auto refusal = podgate::testing::decode_refusal(body);
      if (!refusal.empty()) {
        d.error = refusal;
        d.denied = true;
      } else {
        d.judged = true;
        cr::add_verdict(d, podgate::testing::judge(body, cfg));
      }
    }
    out.push_back(std::move(d));
  }
  return out;
}

std::string render(cr::Format format, const std::vector<cr::Document>& docs, std::string* notes = nullptr) {
  std::ostringstream out, err;
  cr::write(format, docs, {"podgate", "9.9.9"}, out, err);
  if (notes) *notes = err.str();
  return out.str();
}

rapidjson::Document parse_json(const std::string& text) {
  rapidjson::Document d;
  d.Parse(text.c_str());
  REQUIRE_FALSE(d.HasParseError());
  return d;
}

std::string str(const rapidjson::Value& v) { return podgate::testing::json_text(v); }

}  // namespace

TEST_CASE("documents carry their file, line, namespace, findings, errors and notes", "[check_report]") {
  const auto docs = judge_all(kManifests, "deploy/web.yaml");
  REQUIRE(docs.size() == 4);
  CHECK(docs[0].source() == "deploy/web.yaml:1");
  CHECK(docs[0].namespace_ == "shop");
  CHECK(docs[0].denied);
  REQUIRE(docs[0].violations.size() == 2);
  CHECK(docs[0].violations[0].rule == "privileged");
  CHECK_FALSE(docs[0].violations[0].deny);
  CHECK(docs[0].violations[0].path == "spec.template.spec.containers[0].securityContext.privileged");
  CHECK(docs[0].violations[1].rule == "runtimeSockets");
  CHECK(docs[0].violations[1].deny);
  // The List's items, each at its own line, in the default namespace.
  CHECK(docs[1].line == 18);
  CHECK(docs[1].namespace_ == "default");
  CHECK_FALSE(docs[1].denied);
  CHECK(docs[2].line == 23);
  CHECK(docs[2].error == "spec.containers: expected an array, got a string");
  CHECK(docs[3].notes == std::vector<std::string>{"skipped: no kind"});

  const auto s = cr::summarize(docs);
  CHECK(s.documents == 4);
  CHECK(s.judged == 2);
  CHECK(s.violations == 2);
  CHECK(s.denied == 2);
  CHECK(s.errors == 1);
}

TEST_CASE("the summary counts in words, singular for one", "[check_report]") {
  CHECK(cr::summary_line({1, 1, 1, 0, 0}) == "1 document, 1 judged (pod specs, PersistentVolumes), 1 violation, 0 would be denied");
  CHECK(cr::summary_line({3, 2, 0, 2, 1}) ==
        "3 documents, 2 judged (pod specs, PersistentVolumes), 0 violations, 1 unreadable, 2 would be denied");
  CHECK(cr::parse_format("sarif") == cr::Format::Sarif);
  CHECK(cr::parse_format("junit") == cr::Format::Junit);
  CHECK_FALSE(cr::parse_format("xml"));
}

TEST_CASE("text: one line per finding as before, and notes go to the person", "[check_report]") {
  std::string notes;
  const std::string out = render(cr::Format::Text, judge_all(kManifests, "deploy/web.yaml"), &notes);
  CHECK(contains(out, "deploy/web.yaml:1: warn [privileged] Deployment shop/web: container \"app\" is privileged"));
  CHECK(contains(out, "deploy/web.yaml:1: deny [runtimeSockets] "));
  CHECK(contains(out, "deploy/web.yaml:23: error: spec.containers: expected an array, got a string\n"));
  CHECK_FALSE(contains(out, "skipped"));
  CHECK(notes == "deploy/web.yaml:29: skipped: no kind\n");
}

TEST_CASE("json: one object per document and the summary", "[check_report]") {
  const auto d = parse_json(render(cr::Format::Json, judge_all(kManifests, "deploy/web.yaml")));
  CHECK(str(d["tool"]["version"]) == "9.9.9");
  const auto& docs = d["documents"];
  REQUIRE(docs.Size() == 4);
  const auto& web = docs[0];
  CHECK(str(web["file"]) == "deploy/web.yaml");
  CHECK(web["line"].GetInt() == 1);
  CHECK(str(web["kind"]) == "Deployment");
  CHECK(str(web["name"]) == "web");
  CHECK(str(web["namespace"]) == "shop");
  CHECK(web["denied"].GetBool());
  CHECK_FALSE(web.HasMember("error"));
  const auto& sock = web["violations"][1];
  CHECK(str(sock["rule"]) == "runtimeSockets");
  CHECK(str(sock["action"]) == "deny");
  CHECK(str(sock["path"]) == "spec.template.spec.volumes[0].hostPath.path");
  CHECK(contains(str(sock["message"]), "docker.sock"));
  CHECK(str(web["violations"][0]["action"]) == "warn");
  CHECK(docs[2]["line"].GetInt() == 23);
  CHECK(str(docs[2]["error"]) == "spec.containers: expected an array, got a string");
  CHECK(str(docs[3]["notes"][0]) == "skipped: no kind");
  CHECK(d["summary"]["denied"].GetInt() == 2);
  CHECK(d["summary"]["errors"].GetInt() == 1);
}

TEST_CASE("sarif: rules by id, results at the document's line, error for deny and warning for warn", "[check_report]") {
  const auto d = parse_json(render(cr::Format::Sarif, judge_all(kManifests, "deploy/my web.yaml")));
  CHECK(str(d["version"]) == "2.1.0");
  const auto& run = d["runs"][0];
  const auto& driver = run["tool"]["driver"];
  CHECK(str(driver["name"]) == "podgate");
  CHECK_FALSE(driver.HasMember("informationUri"));
  std::set<std::string> ids;
  for (const auto& rule : driver["rules"].GetArray()) {
    CHECK(ids.insert(str(rule["id"])).second);  // each id once
    CHECK_FALSE(str(rule["shortDescription"]["text"]).empty());
    CHECK_FALSE(str(rule["help"]["text"]).empty());
  }
  CHECK(ids.count("privileged") == 1);
  CHECK(ids.count("podSecurity") == 1);
  const auto& results = run["results"];
  REQUIRE(results.Size() == 4);  // warn, deny, the unreadable item, the note
  std::vector<std::string> levels;
  for (const auto& r : results.GetArray()) {
    levels.push_back(str(r["level"]));
    // ruleIndex points at the rule named by ruleId.
    CHECK(str(driver["rules"][r["ruleIndex"].GetUint()]["id"]) == str(r["ruleId"]));
    CHECK(str(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]) == "deploy/my%20web.yaml");
  }
  CHECK(levels == std::vector<std::string>{"warning", "error", "error", "note"});
  CHECK(str(results[1]["ruleId"]) == "runtimeSockets");
  CHECK(results[1]["locations"][0]["physicalLocation"]["region"]["startLine"].GetInt() == 1);
  CHECK(str(results[1]["properties"]["path"]) == "spec.template.spec.volumes[0].hostPath.path");
  CHECK(str(results[2]["ruleId"]) == "unreadable");
  CHECK(results[2]["locations"][0]["physicalLocation"]["region"]["startLine"].GetInt() == 23);
  CHECK(str(results[2]["message"]["text"]) == "spec.containers: expected an array, got a string");
}

TEST_CASE("junit: a testsuite per file, failure for deny, error for unreadable, warnings in system-out", "[check_report]") {
  auto docs = judge_all(kManifests, "deploy/web.yaml");
  auto more = judge_all("kind: Pod\nmetadata: {name: \"a\\u0001<b>\"}\nspec: {containers: [{name: c, image: x}]}\n", "p.yaml");
  docs.insert(docs.end(), more.begin(), more.end());
  const std::string out = render(cr::Format::Junit, docs);
  CHECK(contains(out, R"(<testsuites name="podgate check" tests="4" failures="1" errors="1">)"));
  CHECK(contains(out, R"(<testsuite name="deploy/web.yaml" tests="3" failures="1" errors="1" skipped="0" file="deploy/web.yaml">)"));
  CHECK(contains(out, R"(<testcase name="Deployment/shop/web" classname="deploy/web.yaml">)"));
  CHECK(contains(out, R"(<failure type="runtimeSockets" message=")"));
  CHECK(contains(out, "<system-out>deploy/web.yaml:1: warn [privileged] "));
  CHECK(contains(out, R"(<testcase name="Pod/default/fine" classname="deploy/web.yaml">)"));
  CHECK(contains(out, R"(<error type="unreadable" message="spec.containers: expected an array, got a string">)"));
  CHECK_FALSE(contains(out, "kindless"));  // not judged, not a test
  // Markup escaped; a control character, which XML 1.0 cannot hold, replaced.
  CHECK(contains(out, "name=\"Pod/default/a\xEF\xBF\xBD&lt;b&gt;\""));
}
