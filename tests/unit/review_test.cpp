// The review pipeline: decode -> judge -> encode, plus what it counts and logs.
#include <catch2/catch.hpp>
#include <rapidjson/document.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "policy/review.h"
#include "support/log_capture.h"

using Catch::Matchers::Contains;
using namespace podgate;

namespace {

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(PODGATE_FIXTURES_DIR) + "/reviews/" + name);
  REQUIRE(in);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

auto far_deadline() { return std::chrono::steady_clock::now() + std::chrono::seconds(10); }

rapidjson::Document parse(const std::string& body) {
  rapidjson::Document doc;
  doc.Parse(body.c_str());
  REQUIRE_FALSE(doc.HasParseError());
  return doc;
}

}  // namespace

TEST_CASE("a privileged Pod is denied, counted and logged with who asked", "[review]") {
  metrics::Metrics m;
  test::LogCapture cap;
  std::string logs;
  {
    log::Logger logger(cap.writer());
    policy::Reviewer reviewer(std::make_shared<const policy::Evaluator>(config::Config{}), &m, &logger);
    auto out = reviewer.review(fixture("pod-privileged.json"), policy::Route::Validate, far_deadline());
    REQUIRE(out.httpStatus == 200);
    CHECK(out.decision == policy::Decision::Denied);
    auto doc = parse(out.body);
    CHECK(std::string(doc["apiVersion"].GetString()) == "admission.k8s.io/v1");
    CHECK_FALSE(doc["response"]["allowed"].GetBool());
    CHECK(std::string(doc["response"]["uid"].GetString()) == "b7e4d1a0-0c1f-4f2a-8e3d-5a6b7c8d9e0f");
    CHECK(doc["response"]["status"]["code"].GetInt() == 403);
  }
  logs = cap.drain();
  auto line = parse(logs.substr(0, logs.find('\n')));
  CHECK(std::string(line["decision"].GetString()) == "denied");
  CHECK(std::string(line["kind"].GetString()) == "Pod");
  CHECK(line.HasMember("user"));
  CHECK(line["groups"].IsArray());
  CHECK(line["violations"].Size() >= 1);
  CHECK(std::string(line["violations"][0]["rule"].GetString()) == "privileged");
  CHECK(line.HasMember("latencyMs"));
  const auto text = m.serialize();
  CHECK_THAT(text, Contains(R"(podgate_admission_requests_total{decision="denied",kind="Pod",mode="enforce",operation="CREATE"} 1)"));
  CHECK_THAT(text, Contains(R"(podgate_admission_violations_total{action="deny",rule="privileged"})"));
  CHECK_THAT(text, Contains(R"(podgate_admission_review_duration_seconds_count{route="validate"} 1)"));
}

TEST_CASE("the audit route never denies and records would_deny", "[review]") {
  metrics::Metrics m;
  policy::Reviewer reviewer(std::make_shared<const policy::Evaluator>(config::Config{}), &m, nullptr);
  auto out = reviewer.review(fixture("pod-privileged.json"), policy::Route::Audit, far_deadline());
  REQUIRE(out.httpStatus == 200);
  CHECK(out.decision == policy::Decision::WouldDeny);
  auto doc = parse(out.body);
  CHECK(doc["response"]["allowed"].GetBool());
  CHECK(doc["response"]["warnings"].Size() >= 1);
  CHECK(doc["response"]["auditAnnotations"].IsObject());
  CHECK_THAT(m.serialize(), Contains(R"(decision="would_deny",kind="Pod",mode="audit")"));
}

TEST_CASE("unusable bodies get a 400 with a one-line reason and are counted", "[review]") {
  metrics::Metrics m;
  policy::Reviewer reviewer(std::make_shared<const policy::Evaluator>(config::Config{}), &m, nullptr);
  for (std::string body : {std::string("not json"), std::string("{}"),
                           std::string(R"({"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{"uid":"x"}})")}) {
    auto out = reviewer.review(body, policy::Route::Validate, far_deadline());
    CHECK(out.httpStatus == 400);
    CHECK(out.body.rfind("invalid AdmissionReview: ", 0) == 0);
    CHECK(std::count(out.body.begin(), out.body.end(), '\n') == 1);
  }
  CHECK_THAT(m.serialize(), Contains(R"(podgate_admission_invalid_requests_total{reason="invalid_review"} 3)"));
}

TEST_CASE("DELETE is allowed and counted as skipped, unknown kinds as other", "[review]") {
  metrics::Metrics m;
  policy::Reviewer reviewer(std::make_shared<const policy::Evaluator>(config::Config{}), &m, nullptr);
  auto out = reviewer.review(fixture("pod-delete.json"), policy::Route::Validate, far_deadline());
  REQUIRE(out.httpStatus == 200);
  CHECK(parse(out.body)["response"]["allowed"].GetBool());
  out = reviewer.review(
      R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u1","kind":{"group":"","version":"v1","kind":"ConfigMap"},"operation":"CREATE","namespace":"x","object":{"data":{}}}})",
      policy::Route::Validate, far_deadline());
  REQUIRE(out.httpStatus == 200);
  CHECK(parse(out.body)["response"]["allowed"].GetBool());
  const auto text = m.serialize();
  CHECK_THAT(text, Contains(R"(podgate_admission_skipped_total{reason="no_pod_spec"} 1)"));
  CHECK_THAT(text, Contains(R"(podgate_admission_skipped_total{reason="unknown_kind"} 1)"));
  CHECK_THAT(text, Contains(R"(kind="other")"));
}

TEST_CASE("replace() swaps the rules for the next review", "[review]") {
  policy::Reviewer reviewer(std::make_shared<const policy::Evaluator>(config::Config{}), nullptr, nullptr);
  CHECK(reviewer.review(fixture("pod-privileged.json"), policy::Route::Validate, far_deadline()).decision ==
        policy::Decision::Denied);
  config::Config audit;
  audit.mode = config::Mode::Audit;
  reviewer.replace(std::make_shared<const policy::Evaluator>(audit));
  CHECK(reviewer.review(fixture("pod-privileged.json"), policy::Route::Validate, far_deadline()).decision ==
        policy::Decision::WouldDeny);
}

TEST_CASE("kind_label bounds the label values", "[review]") {
  CHECK(policy::kind_label("Deployment") == "Deployment");
  CHECK(policy::kind_label("CronJob") == "CronJob");
  CHECK(policy::kind_label("Secret") == "other");
  CHECK(policy::kind_label("") == "other");
}

TEST_CASE("denies and would-denies are counted by the request's namespace, allows are not", "[review]") {
  metrics::Metrics m;
  policy::Reviewer reviewer(std::make_shared<const policy::Evaluator>(config::Config{}), &m, nullptr);
  // pod-privileged.json is in "default", deployment-docker-sock.json in "ci", pod-clean-4k.json in "shop".
  CHECK(reviewer.review(fixture("pod-privileged.json"), policy::Route::Validate, far_deadline()).decision ==
        policy::Decision::Denied);
  CHECK(reviewer.review(fixture("pod-privileged.json"), policy::Route::Validate, far_deadline()).decision ==
        policy::Decision::Denied);
  CHECK(reviewer.review(fixture("deployment-docker-sock.json"), policy::Route::Audit, far_deadline()).decision ==
        policy::Decision::WouldDeny);
  CHECK(reviewer.review(fixture("pod-clean-4k.json"), policy::Route::Validate, far_deadline()).decision ==
        policy::Decision::Allowed);
  const auto text = m.serialize();
  CHECK_THAT(text, Contains(R"(podgate_admission_denials_by_namespace_total{decision="denied",resource_namespace="default"} 2)"));
  CHECK_THAT(text, Contains(R"(podgate_admission_denials_by_namespace_total{decision="would_deny",resource_namespace="ci"} 1)"));
  CHECK_THAT(text, !Contains(R"(resource_namespace="shop")"));
}
