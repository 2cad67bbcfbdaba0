// The review pipeline: decode -> judge -> encode, plus what it counts and logs.
#include <catch2/catch.hpp>
#include <rapidjson/document.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <future>
#include <mutex>
#include <thread>
#include <fstream>
#include <sstream>

#include "policy/review.h"
#include "review_json.h"
#include "scan/store.h"
#include "support/log_capture.h"
#include "support/temp_dir.h"

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

TEST_CASE("rules.podSecurity violations are counted per control and logged with it", "[review][podSecurity]") {
  metrics::Metrics m;
  test::LogCapture cap;
  std::string logs;
  {
    log::Logger logger(cap.writer());
    config::Config cfg;
    cfg.rules.podSecurity.level = config::PodSecurityLevel::Baseline;
    cfg.rules.podSecurity.action = config::Action::Warn;
    policy::Reviewer reviewer(std::make_shared<const policy::Evaluator>(cfg), &m, &logger);
    auto out = reviewer.review(fixture("pod-privileged.json"), policy::Route::Validate, far_deadline());
    REQUIRE(out.httpStatus == 200);
    CHECK(out.decision == policy::Decision::Denied);  // by the privileged rule; podSecurity only warns
  }
  logs = cap.drain();
  CHECK_THAT(logs, Contains(R"("rule":"podSecurity")"));
  CHECK_THAT(logs, Contains(R"("control":"privileged","level":"baseline")"));
  const auto text = m.serialize();
  CHECK_THAT(text, Contains(R"(podgate_pod_security_violations_total{action="warn",control="privileged",level="baseline"} 1)"));
  CHECK_THAT(text, Contains(R"(podgate_admission_violations_total{action="warn",rule="podSecurity"} 1)"));
}

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

TEST_CASE("reload() refuses what only a restart can change, and keeps the rules in force", "[review]") {
  policy::Reviewer reviewer(std::make_shared<const policy::Evaluator>(config::Config{}), nullptr, nullptr);
  config::Config audit;
  audit.audit.enabled = true;
  CHECK_THROWS_WITH(reviewer.reload(audit), Catch::Matchers::Contains("audit.* changed; restart podgate"));
  config::Config kubernetes;
  kubernetes.kubernetes.qps = 5;
  CHECK_THROWS_WITH(reviewer.reload(kubernetes), Catch::Matchers::Contains("kubernetes.* changed"));
  config::Config mode;
  mode.mode = config::Mode::Audit;
  CHECK(reviewer.reload(mode).mode == config::Mode::Audit);
}

TEST_CASE("reload() applies rules.podSecurity at once", "[review][podSecurity]") {
  // pod-privileged.json has a privileged container: with the privileged rule off, only the
  // standards can refuse it.
  config::Config off;
  off.rules.privileged.action = config::Action::Off;
  policy::Reviewer reviewer(std::make_shared<const policy::Evaluator>(off), nullptr, nullptr);
  CHECK(reviewer.review(fixture("pod-privileged.json"), policy::Route::Validate, far_deadline()).decision ==
        policy::Decision::Allowed);
  config::Config baseline = off;
  baseline.rules.podSecurity.level = config::PodSecurityLevel::Baseline;
  reviewer.reload(baseline);
  CHECK(reviewer.review(fixture("pod-privileged.json"), policy::Route::Validate, far_deadline()).decision ==
        policy::Decision::Denied);
  reviewer.reload(off);
  CHECK(reviewer.review(fixture("pod-privileged.json"), policy::Route::Validate, far_deadline()).decision ==
        policy::Decision::Allowed);
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

TEST_CASE("a review with thousands of violations and long names writes a bounded decision log line", "[review][log]") {
  // A dry-run object of a few MB once produced an 11 MB log line: every violation, in full.
  const std::size_t kContainers = 3000;
  std::string longName;
  for (int i = 0; i < 400; ++i) longName += "\xC3\xA9";  // two-byte characters: a cut must not split one
  std::string body = R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u-big",)"
                     R"("kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},)"
                     R"("operation":"CREATE","namespace":"team",)"
                     R"("dryRun":true,"userInfo":{"username":")" + std::string(5000, 'u') + R"(","groups":[)";
  for (int g = 0; g < 500; ++g) body += (g ? "," : "") + std::string("\"group-") + std::to_string(g) + "\"";
  body += R"(]},"object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"big"},"spec":{"containers":[)";
  for (std::size_t i = 0; i < kContainers; ++i) {
    if (i) body += ',';
    body += R"({"name":")" + longName + std::to_string(i) + R"(","image":"nginx:)" + std::string(2000, 'x') +
            R"(","securityContext":{"privileged":true}})";
  }
  body += "]}}}}";

  std::FILE* file = std::tmpfile();  // not a pipe: the old code's line would fill a pipe and block
  REQUIRE(file != nullptr);
  {
    log::Logger logger(::fileno(file));
    policy::Reviewer reviewer(std::make_shared<const policy::Evaluator>(config::Config{}), nullptr, &logger);
    auto out = reviewer.review(body, policy::Route::Validate, far_deadline());
    INFO(out.body);
    REQUIRE(out.httpStatus == 200);
    CHECK(out.decision == policy::Decision::Denied);
  }
  std::string logs;
  std::rewind(file);
  char buf[65536];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, file)) > 0;) logs.append(buf, n);
  std::fclose(file);

  REQUIRE(std::count(logs.begin(), logs.end(), '\n') == 1);
  CHECK(logs.size() < policy::kMaxDecisionLineBytes);
  rapidjson::Document line;
  line.Parse<rapidjson::kParseValidateEncodingFlag>(logs.c_str());  // truncation kept it valid UTF-8
  REQUIRE_FALSE(line.HasParseError());
  REQUIRE(line["violations"].IsArray());
  const auto logged = line["violations"].Size();
  CHECK(logged <= 20);
  CHECK(logged + line["violationsOmitted"].GetUint64() == kContainers);  // still says how many
  CHECK(line["groups"].Size() + line["groupsOmitted"].GetUint64() == 500);
  CHECK(std::string(line["user"].GetString()).size() <= 256);
  for (const auto& v : line["violations"].GetArray()) CHECK(v["subject"].GetStringLength() <= 256);
  std::printf("decision log line for %zu violations: %zu bytes\n", kContainers, logs.size());
}

namespace {

// The real SQLite store, noting which thread each database read runs on: the Reviewer promises
// that a scan-cache miss is read on its own scan-read thread, never on the caller's (a server
// worker).
class ThreadNotingStore final : public scan::Store {
 public:
  explicit ThreadNotingStore(std::unique_ptr<scan::Store> db) : db_(std::move(db)) {}
  std::vector<scan::PutOutcome> put(const std::vector<scan::ScanRecord>& records) override { return db_->put(records); }
  std::vector<scan::ScanRecord> get(std::string_view digest) override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      readers_.push_back(std::this_thread::get_id());
    }
    return db_->get(digest);
  }
  std::vector<scan::Summary> list(std::size_t limit, std::size_t offset) override { return db_->list(limit, offset); }
  scan::StoreStats stats() override { return db_->stats(); }
  std::vector<std::thread::id> readers() {
    std::lock_guard<std::mutex> lock(mutex_);
    return readers_;
  }

 private:
  std::unique_ptr<scan::Store> db_;
  std::mutex mutex_;
  std::vector<std::thread::id> readers_;
};

}  // namespace

TEST_CASE("a scan-cache miss is read off the caller's thread, a hit answers inline", "[review][scan]") {
  podgate::test::TempDir dir("podgate-review-scan");
  auto noting = std::make_unique<ThreadNotingStore>(scan::open_sqlite_store(dir.file("scans.db")));
  ThreadNotingStore* db = noting.get();
  const std::string digest = "sha256:" + std::string(64, 'a');
  scan::ScanRecord record;
  record.digest = digest;
  record.scanner = "trivy";
  record.scannerVersion = "0.50.1";
  record.scannedAt = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch()).count();
  db->put({record});  // written straight to the database: the cache in front has not seen it
  auto cache = std::make_shared<scan::CachedStore>(std::move(noting));

  config::Config cfg;
  cfg.rules.images.action = config::Action::Deny;
  cfg.rules.images.scan.action = config::Action::Deny;
  policy::Reviewer reviewer(std::make_shared<const policy::Evaluator>(cfg), nullptr, nullptr, nullptr, cache);
  using namespace podgate::testing;
  const std::string body =
      create_review(pod_kind(), pod_spec({list("containers", {container("app", "registry.example/app@" + digest)})}));

  // Which thread answered, not whether review_async had returned: a scan-read thread can answer
  // before the caller gets back from posting to it (it did, under ASan).
  auto review_on_this_thread = [&] {
    std::promise<policy::ReviewOutcome> answer;
    auto answered = answer.get_future();
    bool inline_answer = false;  // written before the promise is set, read after: ordered by it
    const std::thread::id caller = std::this_thread::get_id();
    reviewer.review_async(body, policy::Route::Validate, far_deadline(), [&](policy::ReviewOutcome outcome) {
      inline_answer = std::this_thread::get_id() == caller;
      answer.set_value(std::move(outcome));
    });
    const policy::ReviewOutcome outcome = answered.get();
    REQUIRE(outcome.httpStatus == 200);
    CHECK(outcome.decision == policy::Decision::Allowed);  // scanned clean
    return inline_answer;
  };

  // A miss: the database read happens on another thread, and so does the answer.
  CHECK_FALSE(review_on_this_thread());
  REQUIRE(db->readers().size() == 1);
  CHECK(db->readers().front() != std::this_thread::get_id());
  // A hit: answered inline, with no database read at all.
  CHECK(review_on_this_thread());
  CHECK(db->readers().size() == 1);
}
