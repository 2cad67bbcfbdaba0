// A namespace's pod-security.kubernetes.io labels (policy/namespace_standards.h): parsed as PSA's
// api.PolicyToEvaluate parses them (every case of its helpers_test.go: missing labels, invalid
// levels failing closed for enforce and open for warn and audit, invalid versions, "latest", v1.N,
// warn defaulting to enforce), the cache a reflector feeds (list, relist sweep, watch events, its
// byte bound, invalid labels counted and logged once), the lookup's results and counters, and the
// Reviewer's lookup on the review path. A hidden [.bench] case fills the cache with 10,000
// namespaces (bench/RESULTS.md).

#include <catch2/catch.hpp>
#include <malloc.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <thread>
#include <string>
#include <utility>
#include <vector>

#include "config/config.h"
#include "metrics/metrics.h"
#include "policy/namespace_standards.h"
#include "policy/review.h"
#include "review_json.h"
#include "support/log_capture.h"

using namespace podgate;
using config::PodSecurityLevel;
using config::PodSecurityVersion;
using policy::NamespaceLookupResult;
using policy::NamespaceStandards;
using policy::NamespaceStandardsCache;
using policy::parse_namespace_labels;
using Catch::Matchers::Contains;

namespace {

using Labels = std::vector<std::pair<std::string_view, std::string_view>>;

const std::string kEnforce(policy::kEnforceLevelLabel), kEnforceV(policy::kEnforceVersionLabel),
    kWarn(policy::kWarnLevelLabel), kWarnV(policy::kWarnVersionLabel), kAudit(policy::kAuditLevelLabel),
    kAuditV(policy::kAuditVersionLabel);

NamespaceStandards::Mode mode(PodSecurityLevel level, int minor = PodSecurityVersion::kLatest) {
  NamespaceStandards::Mode m;
  m.set = true;
  m.level = level;
  m.version.minor = minor;
  return m;
}

NamespaceStandards::Mode unset(int minor = PodSecurityVersion::kLatest) {
  NamespaceStandards::Mode m;
  m.version.minor = minor;
  return m;
}

std::string namespace_json(const std::string& name, const std::vector<std::pair<std::string, std::string>>& labels) {
  std::string out = R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":")" + name +
                    R"(","uid":"0d2f1c4e-9a7b-4e11-8c55-)" + std::to_string(100000000000ULL + name.size()) +
                    R"(","resourceVersion":"12345","creationTimestamp":"2026-12-07T10:00:00Z","labels":{)" +
                    R"("kubernetes.io/metadata.name":")" + name + "\"";
  for (const auto& [k, v] : labels) out += ",\"" + k + "\":\"" + v + "\"";
  out += R"(},"managedFields":[{"manager":"kubectl","operation":"Update","apiVersion":"v1",)"
         R"("time":"2026-12-07T10:00:00Z","fieldsType":"FieldsV1","fieldsV1":{"f:metadata":{"f:labels":{}}}}]},)"
         R"("spec":{"finalizers":["kubernetes"]},"status":{"phase":"Active"}})";
  return out;
}

double counter(const metrics::Metrics& m, const std::string& series) {
  const std::string text = m.serialize();
  const auto at = text.find(series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + series.size() + 1));
}

}  // namespace

// ---- parsing: PSA's api.PolicyToEvaluate, case by case -------------------------------------------

TEST_CASE("no PSA labels: every mode unset, nothing labelled", "[namespace-standards]") {
  auto p = parse_namespace_labels({});
  CHECK_FALSE(p.labelled);
  CHECK(p.errors.empty());
  CHECK(p.standards == NamespaceStandards{});
  p = parse_namespace_labels({{"kubernetes.io/metadata.name", "team-a"}, {"pod-security.kubernetes.io/other", "x"},
                              {"pod-security.kubernetes.io/Enforce", "restricted"}});  // keys are case-sensitive
  CHECK_FALSE(p.labelled);
  CHECK(p.standards == NamespaceStandards{});
}

TEST_CASE("each level label sets its mode, versions default to latest", "[namespace-standards]") {
  auto p = parse_namespace_labels({{kEnforce, "baseline"}, {kWarn, "restricted"}, {kAudit, "privileged"}});
  CHECK(p.labelled);
  CHECK(p.errors.empty());
  CHECK(p.standards.enforce == mode(PodSecurityLevel::Baseline));
  CHECK(p.standards.warn == mode(PodSecurityLevel::Restricted));
  CHECK(p.standards.audit == mode(PodSecurityLevel::Privileged));
}

TEST_CASE("versions: latest and v1.N, with or without the level label", "[namespace-standards]") {
  auto p = parse_namespace_labels(
      {{kEnforce, "restricted"}, {kEnforceV, "v1.24"}, {kAudit, "baseline"}, {kAuditV, "latest"}, {kWarnV, "v1.0"}});
  CHECK(p.errors.empty());
  CHECK(p.standards.enforce == mode(PodSecurityLevel::Restricted, 24));
  CHECK(p.standards.audit == mode(PodSecurityLevel::Baseline));
  // warn-version without warn: PSA still applies it (to warn's level, defaulted from enforce).
  CHECK(p.standards.warn == mode(PodSecurityLevel::Restricted, 0));
  // A version alone: the mode stays unset (the configured level) but carries the version.
  p = parse_namespace_labels({{kEnforceV, "v1.30"}});
  CHECK(p.labelled);
  CHECK(p.errors.empty());
  CHECK(p.standards.enforce == unset(30));
  CHECK(p.standards.warn == unset());
  // Far past any release: Go's Atoi takes it (a 64-bit int), and so does podgate, as the newest.
  p = parse_namespace_labels({{kEnforce, "baseline"}, {kEnforceV, "v1.99999999999"}});
  CHECK(p.errors.empty());
  CHECK(p.standards.enforce.version.minor == 2147483647);
}

TEST_CASE("an invalid enforce level is restricted (PSA fails closed), and warn is not defaulted from it",
          "[namespace-standards]") {
  for (std::string bad : {"", "Restricted", "strict", "baseline ", "privileged,baseline"}) {
    INFO("enforce=\"" << bad << "\"");
    auto p = parse_namespace_labels({{kEnforce, bad}});
    CHECK(p.standards.enforce == mode(PodSecurityLevel::Restricted));
    CHECK(p.standards.warn == unset());  // PSA: "Don't default warn in case of error"
    REQUIRE(p.errors.size() == 1);
    CHECK(p.errors[0].label == kEnforce);
    CHECK(p.errors[0].value == bad);
    CHECK(p.errors[0].message == "must be one of privileged, baseline, restricted");
  }
}

TEST_CASE("an invalid warn or audit level is privileged (PSA fails open for those)", "[namespace-standards]") {
  auto p = parse_namespace_labels({{kWarn, "high"}, {kAudit, "RESTRICTED"}});
  CHECK(p.standards.warn == mode(PodSecurityLevel::Privileged));
  CHECK(p.standards.audit == mode(PodSecurityLevel::Privileged));
  CHECK(p.standards.enforce == unset());
  REQUIRE(p.errors.size() == 2);
  CHECK(p.errors[0].label == kAudit);  // PSA's order: enforce, audit, warn
  CHECK(p.errors[1].label == kWarn);
  // An explicit (if invalid) warn label stops warn from defaulting to enforce.
  p = parse_namespace_labels({{kEnforce, "restricted"}, {kWarn, "nope"}});
  CHECK(p.standards.enforce == mode(PodSecurityLevel::Restricted));
  CHECK(p.standards.warn == mode(PodSecurityLevel::Privileged));
}

TEST_CASE("an invalid version is latest, with PSA's message", "[namespace-standards]") {
  for (std::string bad : {"v1", "v1.", "1.24", "v2.0", "v1.024", "v1.-1", "v1.2.3", "V1.24", "Latest", "v1.24 ", ""}) {
    INFO("enforce-version=\"" << bad << "\"");
    auto p = parse_namespace_labels({{kEnforce, "baseline"}, {kEnforceV, bad}});
    CHECK(p.standards.enforce == mode(PodSecurityLevel::Baseline));
    REQUIRE(p.errors.size() == 1);
    CHECK(p.errors[0].label == kEnforceV);
    CHECK(p.errors[0].message == "must be \"latest\" or \"v1.x\"");
  }
  // Past Go's 64-bit int, Atoi fails too.
  auto p = parse_namespace_labels({{kWarn, "baseline"}, {kWarnV, "v1.99999999999999999999"}});
  CHECK(p.standards.warn == mode(PodSecurityLevel::Baseline));
  CHECK(p.errors.size() == 1);
  p = parse_namespace_labels({{kAudit, "baseline"}, {kAuditV, "v1.9223372036854775807"}});
  CHECK(p.errors.empty());
}

TEST_CASE("warn defaults to a valid, stricter enforce level and its version", "[namespace-standards]") {
  // As PSA's TestPolicyToEvaluate: enforce=restricted:v1.24 alone warns at restricted:v1.24.
  auto p = parse_namespace_labels({{kEnforce, "restricted"}, {kEnforceV, "v1.24"}});
  CHECK(p.standards.warn == mode(PodSecurityLevel::Restricted, 24));
  CHECK(p.standards.audit == unset());
  // ... keeping its own version when it has one.
  p = parse_namespace_labels({{kEnforce, "baseline"}, {kEnforceV, "v1.24"}, {kWarnV, "v1.25"}});
  CHECK(p.standards.warn == mode(PodSecurityLevel::Baseline, 25));
  // enforce=privileged is not stricter than the default warn level: warn stays unset.
  p = parse_namespace_labels({{kEnforce, "privileged"}});
  CHECK(p.standards.enforce == mode(PodSecurityLevel::Privileged));
  CHECK(p.standards.warn == unset());
  // An explicit warn label wins, even a looser one.
  p = parse_namespace_labels({{kEnforce, "restricted"}, {kWarn, "baseline"}});
  CHECK(p.standards.warn == mode(PodSecurityLevel::Baseline));
  // Audit is never defaulted.
  CHECK(p.standards.audit == unset());
}

TEST_CASE("a duplicate label key: the last value wins, as Go's JSON decoder", "[namespace-standards]") {
  auto p = parse_namespace_labels({{kEnforce, "restricted"}, {kEnforce, "baseline"}});
  CHECK(p.standards.enforce == mode(PodSecurityLevel::Baseline));
}

// ---- the cache -----------------------------------------------------------------------------------

TEST_CASE("the cache answers unsynced until a whole list is in, then hit or miss", "[namespace-standards]") {
  metrics::Metrics m;
  NamespaceStandardsCache cache({}, &m, nullptr);
  CHECK(cache.lookup("team-a").result == NamespaceLookupResult::Unsynced);
  cache.list_begin();
  cache.upsert("team-a", namespace_json("team-a", {{kEnforce, "restricted"}, {kEnforceV, "v1.30"}}));
  cache.upsert("plain", namespace_json("plain", {}));
  CHECK(cache.lookup("team-a").result == NamespaceLookupResult::Unsynced);  // the list is not over
  cache.list_end();
  CHECK(cache.synced());
  auto a = cache.lookup("team-a");
  CHECK(a.result == NamespaceLookupResult::Hit);
  REQUIRE(a.standards);
  CHECK(a.standards->enforce == mode(PodSecurityLevel::Restricted, 30));
  CHECK(a.standards->warn == mode(PodSecurityLevel::Restricted, 30));
  auto plain = cache.lookup("plain");
  CHECK(plain.result == NamespaceLookupResult::Hit);
  CHECK_FALSE(plain.standards);  // known, no labels: the configured level alone
  auto missing = cache.lookup("created-a-moment-ago");
  CHECK(missing.result == NamespaceLookupResult::Miss);
  CHECK_FALSE(missing.standards);
  CHECK(cache.lookup("").result == NamespaceLookupResult::Hit);  // a cluster-scoped request
  CHECK(counter(m, R"(podgate_pod_security_namespace_lookups_total{result="unsynced"})") == 2);
  CHECK(counter(m, R"(podgate_pod_security_namespace_lookups_total{result="hit"})") == 3);
  CHECK(counter(m, R"(podgate_pod_security_namespace_lookups_total{result="miss"})") == 1);
  CHECK(counter(m, R"(podgate_kube_cache_objects{resource="namespaces"})") == 2);
  CHECK(counter(m, R"(podgate_kube_cache_bytes{resource="namespaces"})") == static_cast<double>(cache.bytes()));
}

TEST_CASE("watch events relabel and remove, and a relist sweeps what is gone", "[namespace-standards]") {
  NamespaceStandardsCache cache({}, nullptr, nullptr);
  cache.list_begin();
  cache.upsert("a", namespace_json("a", {{kEnforce, "baseline"}}));
  cache.upsert("b", namespace_json("b", {}));
  cache.list_end();
  const auto before = cache.lookup("a").standards;
  REQUIRE(before);
  // A relabel (MODIFIED): a new immutable snapshot; a review holding the old one keeps it intact.
  cache.upsert("a", namespace_json("a", {{kEnforce, "restricted"}, {kWarn, "restricted"}}));
  const auto after = cache.lookup("a").standards;
  REQUIRE(after);
  CHECK(after->enforce.level == PodSecurityLevel::Restricted);
  CHECK(before->enforce.level == PodSecurityLevel::Baseline);
  // Labels removed: known, no standards (bytes shrink to an unlabelled entry).
  const auto labelledBytes = cache.bytes();
  cache.upsert("a", namespace_json("a", {}));
  CHECK(cache.lookup("a").result == NamespaceLookupResult::Hit);
  CHECK_FALSE(cache.lookup("a").standards);
  CHECK(cache.bytes() < labelledBytes);
  // An update PSA does not read (another label) changes nothing.
  cache.upsert("b", namespace_json("b", {{"team", "x"}}));
  CHECK_FALSE(cache.lookup("b").standards);
  // DELETED.
  cache.remove("b");
  CHECK(cache.lookup("b").result == NamespaceLookupResult::Miss);
  // A relist (after a 410) that no longer lists "a" drops it; "c" is new.
  cache.list_begin();
  cache.upsert("c", namespace_json("c", {{kAudit, "restricted"}}));
  cache.list_end();
  CHECK(cache.lookup("a").result == NamespaceLookupResult::Miss);
  CHECK(cache.lookup("c").standards->audit == mode(PodSecurityLevel::Restricted));
  CHECK(cache.size() == 1);
  CHECK(cache.bytes() == NamespaceStandardsCache::entry_bytes("c", true));
}

TEST_CASE("the cache is bounded in bytes: namespaces past it are misses, logged once", "[namespace-standards]") {
  metrics::Metrics m;
  test::LogCapture capture;
  log::Logger logger(capture.writer(), log::Level::Info);
  const std::size_t one = NamespaceStandardsCache::entry_bytes("ns-00", true);
  NamespaceStandardsCache cache({.maxBytes = one * 3}, &m, &logger);
  cache.list_begin();
  for (int i = 0; i < 5; ++i) {
    const std::string name = "ns-0" + std::to_string(i);
    cache.upsert(name, namespace_json(name, {{kEnforce, "restricted"}}));
  }
  cache.list_end();
  CHECK(cache.size() == 3);
  CHECK(cache.bytes() <= one * 3);
  CHECK(cache.lookup("ns-02").result == NamespaceLookupResult::Hit);
  CHECK(cache.lookup("ns-03").result == NamespaceLookupResult::Miss);  // counted, configured level
  // Room again: a long name without labels costs what a short labelled one does.
  const std::string longName(40, 'x');
  cache.remove("ns-02");
  cache.upsert(longName, namespace_json(longName, {}));
  CHECK(cache.lookup(longName).result == NamespaceLookupResult::Hit);
  CHECK(cache.bytes() == one * 3);
  // An entry that grows past the bound (labelled now) is dropped rather than kept stale.
  cache.upsert(longName, namespace_json(longName, {{kEnforce, "baseline"}}));
  CHECK(cache.lookup(longName).result == NamespaceLookupResult::Miss);
  CHECK(cache.size() == 2);
  const std::string text = capture.drain();
  std::size_t fullLines = 0;
  for (std::size_t at = text.find("label cache is full"); at != std::string::npos; at = text.find("label cache is full", at + 1))
    ++fullLines;
  CHECK(fullLines == 2);  // once when it filled (not for ns-04 too), again after it had had room
  CHECK(counter(m, R"(podgate_pod_security_namespace_lookups_total{result="miss"})") == 2);
}

TEST_CASE("invalid labels are counted each time read and logged once per namespace", "[namespace-standards]") {
  metrics::Metrics m;
  test::LogCapture capture;
  log::Logger logger(capture.writer(), log::Level::Info);
  NamespaceStandardsCache cache({}, &m, &logger);
  cache.list_begin();
  cache.upsert("bad", namespace_json("bad", {{kEnforce, "strict"}, {kWarnV, "v1.x"}}));
  cache.list_end();
  cache.upsert("bad", namespace_json("bad", {{kEnforce, "strict"}, {kWarnV, "v1.x"}, {"other", "1"}}));
  auto s = cache.lookup("bad").standards;
  REQUIRE(s);
  CHECK(s->enforce == mode(PodSecurityLevel::Restricted));  // fail closed
  CHECK(counter(m, R"(podgate_pod_security_namespace_label_errors_total{label="enforce"})") == 2);
  CHECK(counter(m, R"(podgate_pod_security_namespace_label_errors_total{label="warn-version"})") == 2);
  CHECK(counter(m, R"(podgate_pod_security_namespace_label_errors_total{label="audit"})") == 0);
  const std::string text = capture.drain();
  CHECK_THAT(text, Contains("invalid pod-security.kubernetes.io label"));
  CHECK_THAT(text, Contains(R"(pod-security.kubernetes.io/enforce=\"strict\": must be one of privileged, baseline, restricted)"));
  CHECK(text.find("invalid pod-security") == text.rfind("invalid pod-security"));  // once
}

TEST_CASE("an unreadable Namespace is kept without labels, never throws", "[namespace-standards]") {
  NamespaceStandardsCache cache({}, nullptr, nullptr);
  cache.list_begin();
  for (std::string body : std::vector<std::string>{"", "not json", "[]", R"({"metadata":{"labels":["x"]}})",
                           R"({"metadata":{"labels":{"pod-security.kubernetes.io/enforce":7}}})",
                           std::string(100, '[') + std::string(100, ']')})
    cache.upsert("odd", body);
  cache.list_end();
  CHECK(cache.lookup("odd").result == NamespaceLookupResult::Hit);
  CHECK_FALSE(cache.lookup("odd").standards);
}

TEST_CASE("lookups run concurrently with the watch's relabels, and a held snapshot never changes",
          "[namespace-standards][concurrency]") {
  NamespaceStandardsCache cache({}, nullptr, nullptr);
  cache.list_begin();
  cache.upsert("a", namespace_json("a", {{kEnforce, "baseline"}}));
  cache.list_end();
  std::atomic<bool> stop{false};
  std::atomic<long> lookups{0}, torn{0}, missing{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t)
    readers.emplace_back([&] {
      while (!stop.load()) {
        auto l = cache.lookup("a");
        if (!l.standards) {
          ++missing;
          continue;
        }
        const NamespaceStandards copy = *l.standards;
        // Each snapshot is one of the two written below, whole: enforce and warn move together.
        if (!(copy.enforce.level == copy.warn.level)) ++torn;
        if (!(*l.standards == copy)) ++torn;
        ++lookups;
      }
    });
  for (int i = 0; i < 2000; ++i)
    cache.upsert("a", namespace_json("a", {{kEnforce, i % 2 ? "restricted" : "baseline"}}));
  stop = true;
  for (auto& t : readers) t.join();
  CHECK(lookups.load() > 0);
  CHECK(torn.load() == 0);
  CHECK(missing.load() == 0);
}

// ---- the Reviewer --------------------------------------------------------------------------------

TEST_CASE("the Reviewer looks up each judged request's namespace while namespaceLabels is on", "[namespace-standards]") {
  metrics::Metrics m;
  auto cache = std::make_shared<NamespaceStandardsCache>(policy::NamespaceStandardsOptions{}, &m, nullptr);
  config::Config cfg;
  cfg.rules.podSecurity.namespaceLabels = true;
  policy::Reviewer reviewer(std::make_shared<const policy::Evaluator>(cfg), &m, nullptr);
  reviewer.set_namespace_standards(cache);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  const std::string spec = R"({"containers":[{"name":"app","image":"busybox:1.36"}]})";
  const auto review = [&](const std::string& ns) {
    auto out = reviewer.review(testing::create_review(testing::pod_kind(), spec, ns), policy::Route::Validate, deadline);
    CHECK(out.httpStatus == 200);
  };
  review("team-a");  // before the first list: the configured level, counted
  CHECK(counter(m, R"(podgate_pod_security_namespace_lookups_total{result="unsynced"})") == 1);
  cache->list_begin();
  cache->upsert("team-a", namespace_json("team-a", {{kEnforce, "restricted"}}));
  cache->list_end();
  review("team-a");
  review("team-b");
  CHECK(counter(m, R"(podgate_pod_security_namespace_lookups_total{result="hit"})") == 1);
  CHECK(counter(m, R"(podgate_pod_security_namespace_lookups_total{result="miss"})") == 1);
  // Off: no lookup at all (and a reload may turn it off, but not on without a restart).
  cfg.rules.podSecurity.namespaceLabels = false;
  reviewer.replace(std::make_shared<const policy::Evaluator>(cfg));
  review("team-a");
  CHECK(counter(m, R"(podgate_pod_security_namespace_lookups_total{result="hit"})") == 1);
}

TEST_CASE("a reload cannot turn namespaceLabels on without the namespace cache", "[namespace-standards]") {
  policy::Reviewer reviewer(std::make_shared<const policy::Evaluator>(config::Config{}), nullptr, nullptr);
  config::Config cfg;
  cfg.rules.podSecurity.namespaceLabels = true;
  CHECK_THROWS_WITH(reviewer.reload(cfg), Contains("rules.podSecurity.namespaceLabels turned on; restart podgate"));
  CHECK_FALSE(reviewer.evaluator()->config().rules.podSecurity.namespaceLabels);
}

// Hidden (run with "[.bench]"): 10,000 namespaces as the apiserver lists them, a third labelled,
// for what the cache holds by its own estimate and what the process's RSS says it costs.
TEST_CASE("bench: the namespace label cache at 10,000 namespaces", "[.bench]") {
  constexpr int kNamespaces = 10000;
  const auto rss = [] {
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);)
      if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
    return 0L;
  };
  std::vector<std::pair<std::string, std::string>> objects;  // built first: their memory is not the cache's
  objects.reserve(kNamespaces);
  for (int i = 0; i < kNamespaces; ++i) {
    const std::string name = "team-" + std::to_string(i % 500) + "-service-" + std::to_string(i);
    std::vector<std::pair<std::string, std::string>> labels{{"team", "team-" + std::to_string(i % 500)}};
    if (i % 3 == 0) labels.insert(labels.end(), {{kEnforce, "restricted"}, {kEnforceV, "v1.30"}, {kWarn, "restricted"}});
    objects.emplace_back(name, namespace_json(name, labels));
  }
  NamespaceStandardsCache cache({}, nullptr, nullptr);
  const long before = rss();
  const std::size_t heapBefore = mallinfo2().uordblks;  // live heap: what the list's garbage does not count in
  const auto t0 = std::chrono::steady_clock::now();
  cache.list_begin();
  for (const auto& [key, json] : objects) cache.upsert(key, json);
  cache.list_end();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const long after = rss();
  const std::size_t heapAfter = mallinfo2().uordblks;
  // The review path's cost: one lookup (a shared lock, a find, a shared_ptr copy).
  constexpr int kLookups = 1000000;
  std::size_t found = 0;
  const auto l0 = std::chrono::steady_clock::now();
  for (int i = 0; i < kLookups; ++i) found += cache.lookup(objects[static_cast<std::size_t>(i) % kNamespaces].first).standards != nullptr;
  const double lookupNs = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - l0).count() / kLookups;
  WARN("10,000 namespaces: " << cache.size() << " held, " << cache.bytes() << " bytes by the cache's estimate ("
                             << cache.bytes() / cache.size() << " per namespace; input " << objects[0].second.size()
                             << " bytes each), live heap grew " << (heapAfter - heapBefore) << " bytes, RSS grew "
                             << (after - before) << " KiB, "
                             << static_cast<int>(kNamespaces / seconds) << " upserts/s, lookup " << lookupNs << " ns");
  CHECK(cache.size() == static_cast<std::size_t>(kNamespaces));
  CHECK(found == static_cast<std::size_t>(kLookups / kNamespaces * ((kNamespaces + 2) / 3)));
  CHECK(cache.bytes() <= policy::kNamespaceStandardsMaxBytes);
}
