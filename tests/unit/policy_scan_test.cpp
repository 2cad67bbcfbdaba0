// The scan rule (rules.images.scan) through policy::Evaluator::evaluate(request, route, facts):
// when it consults the scan cache at all, clean and vulnerable verdicts (threshold, findings from
// several scanners, the ignore list), unscanned and stale images under each onUnscanned, malicious
// images (denied in every mode and on UPDATE), index children, digest-pinned images, which images
// it never judges (refused, unresolved, exempt), and what it records per image (JudgedImage and
// the `images` audit annotation: the fields the metrics and the decision log read).
//
// Pure: the registry's answers are hand-made ImageResolutions, the scan cache is a map behind a
// ScanLookup that records every digest it is asked about (ScanDb, unit/judge.h), and facts.now is
// fixed, so scan ages and ignore expiry do not depend on the clock.
//
// Table-driven: each TEST_CASE is a table of Cases (the request, the scan records, the config, the
// route and time) with what is expected of the verdict; run() judges one and checks every
// expectation that is set. `more` holds what a table column cannot say.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "admission/admission.h"
#include "policy/policy.h"
#include "scan/scan.h"
#include "unit/judge.h"
#include "unit/registry_answers.h"
#include "unit/review_json.h"

using namespace podgate;
using namespace podgate::testing;
using config::Action;
using config::OnUnscanned;
using policy::Decision;
using policy::JudgedImage;
using policy::Route;
using policy::Verdict;
using policy::Violation;
using registry::Failure;
using scan::MalwareResult;
using scan::Severity;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

// facts.now in every test, and times relative to it with their UTC spelling (checked with
// `date -u -d @...`), so scanBasis can be compared with text written by hand.
constexpr std::int64_t kNow = 1796040000;  // 2026-11-30T12:00:00Z
constexpr std::int64_t kDay = 86400;
constexpr std::int64_t kHour = 3600;
constexpr std::int64_t kFresh = kNow - 3 * kDay - 2 * kHour;  // 2026-11-27T10:00:00Z
constexpr const char* kFreshIso = "2026-11-27T10:00:00Z";
constexpr std::int64_t kFresher = kNow - kDay;  // 2026-11-29T12:00:00Z
constexpr const char* kFresherIso = "2026-11-29T12:00:00Z";
constexpr std::int64_t kOld10 = kNow - 10 * kDay - 5 * kHour;  // 2026-11-20T07:00:00Z
constexpr const char* kOld10Iso = "2026-11-20T07:00:00Z";
constexpr std::int64_t kOld30 = kNow - 30 * kDay;  // 2026-10-31T12:00:00Z
constexpr const char* kOld30Iso = "2026-10-31T12:00:00Z";
constexpr std::int64_t kOld60 = kNow - 60 * kDay;  // 2026-10-01T12:00:00Z
constexpr const char* kOld60Iso = "2026-10-01T12:00:00Z";

// The apiserver's per-warning budget the other rules' warnings are cut to (policy.cpp).
constexpr std::size_t kMaxWarningBytes = 250;
const std::string kEllipsis = "\xE2\x80\xA6";

using podgate::test::Answers;
using podgate::test::sha;

scan::Finding vuln(const std::string& id, Severity severity, const std::string& package,
                   const std::string& fixedVersion = "") {
  scan::Finding f;
  f.kind = "vulnerability";
  f.id = id;
  f.package = package;
  f.installedVersion = "1.0.0";
  f.fixedVersion = fixedVersion;
  f.severity = severity;
  return f;
}

// A vulnerability scanner's record.
scan::ScanRecord scan_of(const std::string& digest, const std::string& scanner, const std::string& version,
                         std::int64_t at, std::vector<scan::Finding> findings = {}) {
  scan::ScanRecord r;
  r.digest = digest;
  r.scanner = scanner;
  r.scannerVersion = version;
  r.databaseVersion = "db-1";
  r.scannedAt = at;
  for (const auto& f : findings) ++r.counts[static_cast<std::size_t>(f.severity)];
  r.findings = std::move(findings);
  r.artifact = "test";
  return r;
}

// A malware scanner's record; a malicious one names what it found and where.
scan::ScanRecord malware_of(const std::string& digest, const std::string& scanner, std::int64_t at,
                            MalwareResult result, const std::string& signature = "", const std::string& path = "") {
  scan::ScanRecord r = scan_of(digest, scanner, "1.4.1", at);
  r.malware = result;
  if (!signature.empty()) {
    scan::Finding f;
    f.kind = "malware";
    f.id = signature;
    f.package = path;
    f.severity = Severity::Critical;
    r.findings.push_back(f);
    ++r.counts[static_cast<std::size_t>(Severity::Critical)];
  }
  return r;
}

// rules.images on (deny) and the scan rule at `action` with its defaults otherwise.
config::Config scan_config(Action action = Action::Deny) {
  config::Config cfg;
  cfg.rules.images.action = Action::Deny;
  cfg.rules.images.scan.action = action;
  return cfg;
}

std::string spec_with_images(const std::vector<std::string>& images) {
  std::vector<std::string> containers;
  for (std::size_t i = 0; i < images.size(); ++i) containers.push_back(container("c" + std::to_string(i), images[i]));
  return pod_spec({list("containers", containers)});
}

// A Pod "default/web" whose regular containers run `images` (named c0, c1, ...).
std::string pod_with_images(const std::vector<std::string>& images, const std::string& ns = "default") {
  return create_review(pod_kind(), spec_with_images(images), ns);
}

// An UPDATE of Pod default/web from `oldImages` to `newImages`.
std::string pod_update(const std::vector<std::string>& oldImages, const std::vector<std::string>& newImages) {
  return update_review(pod_kind(), spec_with_images(oldImages), spec_with_images(newImages));
}

std::vector<const Violation*> scan_violations(const Verdict& v) {
  std::vector<const Violation*> out;
  for (const Violation& x : v.violations)
    if (x.rule == "scan") out.push_back(&x);
  return out;
}

const Violation& only_scan_violation(const Verdict& v) {
  const auto all = scan_violations(v);
  REQUIRE(all.size() == 1);
  return *all.front();
}

// What the Reviewer hands to the metrics (podgate_scan_lookups_total{verdict}) and the decision
// log for one image: the verdict, the digest and the scans it rested on.
struct Judged {
  std::string subject, digest, scan, basis;
  bool operator==(const Judged&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Judged& j) {
  return os << "{" << j.subject << ", " << j.digest << ", " << j.scan << ", " << j.basis << "}";
}

std::vector<Judged> judged(const Verdict& v) {
  std::vector<Judged> out;
  for (const JudgedImage& j : v.images) out.push_back(Judged{j.subject, j.digest, j.scan, j.scanBasis});
  return out;
}

// How scanBasis names one scan: scanner, version, time (UTC), digest.
std::string basis(const std::string& scanner, const std::string& version, const std::string& iso,
                  const std::string& digest) {
  return scanner + " " + version + " " + iso + " " + digest;
}

using Strings = std::vector<std::string>;

// The scan violation a case expects (only_scan_violation: exactly one), field by field.
struct ExpectViolation {
  std::optional<Action> action = {};
  std::optional<bool> deniesInAudit = {};
  std::optional<bool> preexisting = {};
  std::optional<std::string> subject = {};
  std::optional<std::string> fieldPath = {};
  std::optional<std::string> value = {};
  std::optional<std::string> message = {};        // the whole message
  std::optional<std::string> messageStarts = {};  // its beginning
  Strings messageContains = {};
  Strings messageLacks = {};
};

// The response the apiserver gets (policy::to_response).
struct ExpectResponse {
  bool allowed = true;
  std::optional<int> code = {};
  std::optional<std::string> messageStarts = {};
};

// What a case expects; what is left unset is not checked.
struct Expect {
  std::optional<Strings> calls = {};          // the digests looked up, in order
  std::optional<std::size_t> callCount = {};  // how many lookups
  std::optional<Strings> toResolve = {};      // what images_to_resolve gave
  std::optional<Decision> decision = {};
  std::optional<config::Mode> mode = {};
  std::optional<std::size_t> violations = {};      // all rules
  std::optional<std::size_t> scanViolations = {};  // the scan rule's
  std::optional<ExpectViolation> violation = {};   // the one scan violation
  std::optional<std::string> message = {};         // the deny message, whole
  std::optional<std::string> messageStarts = {};
  Strings messageContains = {};
  Strings messageLacks = {};
  std::optional<Strings> warnings = {};          // the warnings, whole
  std::optional<std::size_t> warningCount = {};  // (REQUIREd) how many warnings
  Strings warningStarts = {};                    // warnings[i] starts with warningStarts[i]
  Strings warningContains = {};                  // warnings[i] contains warningContains[i]
  std::optional<std::string> lastWarning = {};
  bool warningsWithinBudget = false;           // every warning but a lastWarning fits kMaxWarningBytes
  std::optional<std::size_t> imageCount = {};  // (REQUIREd) how many JudgedImages
  std::optional<std::string> scan = {};        // images[0].scan
  std::optional<std::string> digest = {};      // images[0].digest
  std::optional<std::string> basis = {};       // images[0].scanBasis, whole
  Strings basisContains = {};
  std::optional<std::vector<Judged>> judged = {};
  std::optional<std::vector<AnnotatedImage>> annotated = {};
  std::vector<std::pair<std::string, std::optional<std::string>>> annotations = {};  // nullopt: absent
  std::vector<std::pair<std::string, std::string>> annotationContains = {};          // present, containing
  std::optional<int> resolveFailuresDenied = {};
  std::optional<int> resolveFailuresAllowed = {};
  std::optional<ExpectResponse> response = {};
};

struct Case {
  std::string name = {};
  // The request: Pod default/web running `images`, or `body` when it is set.
  Strings images = {"nginx:1.25"};
  std::string body = {};
  // The facts: the scan cache's records (and digests it answers with an empty list), no
  // ScanLookup at all with `noLookup`, and facts.now.
  std::vector<scan::ScanRecord> records = {};
  Strings emptyAnswers = {};
  bool noLookup = false;
  std::int64_t now = kNow;
  // The config: `config` when set, else scan_config(action); then `tweak`.
  std::optional<config::Config> config = {};
  Action action = Action::Deny;
  std::function<void(config::Config&)> tweak = {};
  Route route = Route::Validate;
  Expect expect = {};
  // Checks no column says.
  std::function<void(const Outcome&, const ScanDb&)> more = {};
};

// Matchers rather than contains()/starts_with(), so a failure prints the text and what it lacked.
void check(const Expect& e, const Outcome& o, const ScanDb& db) {
  const Verdict& v = o.verdict;
  if (e.calls) CHECK(*db.calls == *e.calls);
  if (e.callCount) CHECK(db.calls->size() == *e.callCount);
  if (e.toResolve) CHECK(o.toResolve == *e.toResolve);
  if (e.decision) CHECK(v.decision == *e.decision);
  if (e.mode) CHECK(v.mode == *e.mode);
  if (e.violations) CHECK(v.violations.size() == *e.violations);
  if (e.scanViolations) CHECK(scan_violations(v).size() == *e.scanViolations);
  if (e.violation) {
    const ExpectViolation& ev = *e.violation;
    const Violation& x = only_scan_violation(v);
    if (ev.action) CHECK(x.action == *ev.action);
    if (ev.deniesInAudit) CHECK(x.deniesInAudit == *ev.deniesInAudit);
    if (ev.preexisting) CHECK(x.preexisting == *ev.preexisting);
    if (ev.subject) CHECK(x.subject == *ev.subject);
    if (ev.fieldPath) CHECK(x.fieldPath == *ev.fieldPath);
    if (ev.value) CHECK(x.value == *ev.value);
    if (ev.message) CHECK(x.message == *ev.message);
    if (ev.messageStarts) CHECK_THAT(x.message, StartsWith(*ev.messageStarts));
    for (const std::string& s : ev.messageContains) CHECK_THAT(x.message, Contains(s));
    for (const std::string& s : ev.messageLacks) CHECK_THAT(x.message, !Contains(s));
  }
  if (e.message) CHECK(v.message == *e.message);
  if (e.messageStarts) CHECK_THAT(v.message, StartsWith(*e.messageStarts));
  for (const std::string& s : e.messageContains) CHECK_THAT(v.message, Contains(s));
  for (const std::string& s : e.messageLacks) CHECK_THAT(v.message, !Contains(s));
  if (e.warnings) CHECK(v.warnings == *e.warnings);
  if (e.warningCount) REQUIRE(v.warnings.size() == *e.warningCount);
  for (std::size_t i = 0; i < e.warningStarts.size(); ++i) CHECK_THAT(v.warnings.at(i), StartsWith(e.warningStarts[i]));
  for (std::size_t i = 0; i < e.warningContains.size(); ++i)
    CHECK_THAT(v.warnings.at(i), Contains(e.warningContains[i]));
  if (e.lastWarning) CHECK(v.warnings.back() == *e.lastWarning);
  if (e.warningsWithinBudget) {
    const std::size_t budgeted = v.warnings.size() - (e.lastWarning ? 1 : 0);
    for (std::size_t i = 0; i < budgeted; ++i) CHECK(v.warnings[i].size() <= kMaxWarningBytes);
  }
  if (e.imageCount) REQUIRE(v.images.size() == *e.imageCount);
  if (e.scan) CHECK(v.images.at(0).scan == *e.scan);
  if (e.digest) CHECK(v.images.at(0).digest == *e.digest);
  if (e.basis) CHECK(v.images.at(0).scanBasis == *e.basis);
  for (const std::string& s : e.basisContains) CHECK_THAT(v.images.at(0).scanBasis, Contains(s));
  if (e.judged) CHECK(judged(v) == *e.judged);
  if (e.annotated) CHECK(annotated_images(v) == *e.annotated);
  for (const auto& [name, value] : e.annotations) CHECK(annotation(v, name) == value);
  for (const auto& [name, part] : e.annotationContains) {
    const std::optional<std::string> value = annotation(v, name);
    REQUIRE(value);
    CHECK_THAT(*value, Contains(part));
  }
  if (e.resolveFailuresDenied) CHECK(v.resolveFailuresDenied == *e.resolveFailuresDenied);
  if (e.resolveFailuresAllowed) CHECK(v.resolveFailuresAllowed == *e.resolveFailuresAllowed);
  if (e.response) {
    const admission::Response r = policy::to_response("uid-1", v);
    CHECK(r.allowed == e.response->allowed);
    if (e.response->code) CHECK(r.code == *e.response->code);
    if (e.response->messageStarts) CHECK_THAT(r.message, StartsWith(*e.response->messageStarts));
  }
}

// Judges one case against the registry's `answers` and checks what it expects.
Outcome run(const Case& c, const Answers& answers) {
  config::Config cfg = c.config ? *c.config : scan_config(c.action);
  if (c.tweak) c.tweak(cfg);
  ScanDb db;
  for (const scan::ScanRecord& r : c.records) db.add(r);
  db.emptyAnswers = c.emptyAnswers;
  const std::string body = c.body.empty() ? pod_with_images(c.images) : c.body;
  const Outcome o = judge(body, cfg, facts(&answers.map, c.noLookup ? nullptr : &db, c.now), c.route);
  check(c.expect, o, db);
  if (c.more) c.more(o, db);
  return o;
}

// Each case in a section of its own, named by the case.
void run_all(const std::vector<Case>& cases, const Answers& answers) {
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.name) { run(c, answers); }
  }
}

// Config tweaks.
std::function<void(config::Config&)> with_threshold(const std::string& severity) {
  return [severity](config::Config& c) { c.rules.images.scan.severityThreshold = severity; };
}
std::function<void(config::Config&)> on_unscanned(OnUnscanned value) {
  return [value](config::Config& c) { c.rules.images.scan.onUnscanned = value; };
}
void audit_mode(config::Config& c) { c.mode = config::Mode::Audit; }

}  // namespace

TEST_CASE("scan: the defaults are the documented ones", "[policy][scan]") {
  const config::ScanRule rule;
  CHECK(rule.action == Action::Off);
  CHECK(rule.severityThreshold == "CRITICAL");
  CHECK(rule.ignore.empty());
  CHECK(rule.onUnscanned == OnUnscanned::Deny);
  CHECK(rule.maxScanAge == std::chrono::hours(168));
}

TEST_CASE("scan: action off consults no scan and records no verdict", "[policy][scan][off]") {
  Answers answers;
  answers.digest("nginx:1.25", sha('1'));
  // Everything that would deny were the rule on: malware and a critical finding.
  const std::vector<scan::ScanRecord> records{
      malware_of(sha('1'), "clamav", kFresh, MalwareResult::Malicious, "Eicar-Test-Signature", "/x"),
      scan_of(sha('1'), "trivy", "0.50.1", kFresh, {vuln("CVE-2024-3094", Severity::Critical, "xz-utils")})};
  const std::string pinned = "ghcr.io/org/app@" + sha('1');

  run_all(
      {
          {.name = "the image rules on, the scan rule off", .images = {"nginx:1.25", pinned}, .records = records,
           .action = Action::Off,
           .expect = {.calls = Strings{}, .decision = Decision::Allowed, .violations = 0, .warnings = Strings{},
                      .judged = std::vector<Judged>{{"container \"c0\"", sha('1'), "", ""},
                                                    {"container \"c1\"", sha('1'), "", ""}},
                      // The images annotation is still written (the image rules ran), without scan verdicts.
                      .annotated = std::vector<AnnotatedImage>{{"container \"c0\"", "nginx:1.25", sha('1')},
                                                               {"container \"c1\"", pinned, sha('1')}}}},
          // Nor on UPDATE, where oldObject is judged too, nor in audit.
          {.name = "the image rules on, the scan rule off: UPDATE on the /audit route",
           .body = pod_update({"nginx:1.25"}, {"nginx:1.25"}), .records = records, .action = Action::Off,
           .route = Route::Audit, .expect = {.calls = Strings{}, .decision = Decision::Allowed, .violations = 0}},
          {.name =
               "the scan rule on but the image rules off (config validation refuses it, the Evaluator judges nothing)",
           .records = records, .tweak = [](config::Config& c) { c.rules.images.action = Action::Off; },
           .expect = {.calls = Strings{}, .toResolve = Strings{}, .decision = Decision::Allowed, .violations = 0,
                      .imageCount = 0, .annotations = {{"images", std::nullopt}}}},
      },
      answers);
}

TEST_CASE("scan: findings below the threshold are clean", "[policy][scan][clean]") {
  REQUIRE(scan_config().rules.images.scan.severityThreshold == "CRITICAL");
  Answers answers;
  answers.digest("nginx:1.25", sha('1'));
  const std::string b = basis("trivy", "0.50.1", kFreshIso, sha('1'));

  run_all(
      {
          {.name = "one scanner",
           .records = {scan_of(
               sha('1'), "trivy", "0.50.1", kFresh,
               {vuln("CVE-2024-0001", Severity::High, "openssl", "3.0.13"),
                vuln("CVE-2024-0002", Severity::Medium, "zlib"), vuln("CVE-2024-0003", Severity::Unknown, "curl")})},
           .expect = {.calls = Strings{sha('1')}, .decision = Decision::Allowed, .violations = 0, .message = "",
                      .warnings = Strings{}, .judged = std::vector<Judged>{{"container \"c0\"", sha('1'), "clean", b}},
                      .annotated =
                          std::vector<AnnotatedImage>{{"container \"c0\"", "nginx:1.25", sha('1'), "clean", b}},
                      // A clean pod carries no decision annotations, only the images one.
                      .annotations = {{"decision", std::nullopt}, {"violations", std::nullopt}}}},
          {.name = "several scanners, a clean malware scan and a scan with no findings: every fresh scan is named",
           .records = {scan_of(sha('1'), "trivy", "0.50.1", kFresh, {vuln("CVE-2024-0001", Severity::High, "openssl")}),
                       scan_of(sha('1'), "grype", "0.74.0", kFresher),
                       malware_of(sha('1'), "clamav", kFresher, MalwareResult::Clean)},
           .expect = {.decision = Decision::Allowed, .violations = 0, .imageCount = 1, .scan = "clean",
                      .digest = sha('1'),
                      .basisContains = {basis("trivy", "0.50.1", kFreshIso, sha('1')),
                                        basis("grype", "0.74.0", kFresherIso, sha('1')),
                                        basis("clamav", "1.4.1", kFresherIso, sha('1'))}},
           .more =
               [](const Outcome& o, const ScanDb&) {
                 const std::string& scans = o.verdict.images[0].scanBasis;
                 CHECK(std::count(scans.begin(), scans.end(), ',') == 2);
               }},
          {.name = "a scanner without a version is named by its name and time",
           .records = {scan_of(sha('1'), "inhouse", "", kFresh)},
           .expect = {.imageCount = 1, .scan = "clean", .basis = std::string("inhouse ") + kFreshIso + " " + sha('1')}},
      },
      answers);
}

TEST_CASE("scan: the severity threshold is inclusive", "[policy][scan][threshold]") {
  const std::vector<Severity> severities{Severity::Unknown, Severity::Negligible, Severity::Low,
                                         Severity::Medium,  Severity::High,       Severity::Critical};
  Answers answers;
  answers.digest("nginx:1.25", sha('1'));
  for (const Severity threshold : severities) {
    for (const Severity found : severities) {
      CAPTURE(scan::to_string(threshold), scan::to_string(found));
      Case c{.records = {scan_of(sha('1'), "trivy", "0.50.1", kFresh, {vuln("CVE-2024-1000", found, "libfoo", "2.0")})},
             .tweak = with_threshold(scan::to_string(threshold)),  // upper case, as config::parse stores it
             .expect = {.imageCount = 1}};
      if (static_cast<int>(found) >= static_cast<int>(threshold)) {
        c.expect.scan = "vulnerable";
        c.expect.decision = Decision::Denied;
        c.expect.violation = ExpectViolation{.messageContains = {std::string("with 1 finding at or above ") +
                                                                 scan::to_string(threshold) + ": CVE-2024-1000 (" +
                                                                 scan::to_string(found) + ", libfoo, fixed in 2.0)"}};
      } else {
        c.expect.scan = "clean";
        c.expect.decision = Decision::Allowed;
        c.expect.violations = 0;
      }
      run(c, answers);
    }
  }

  SECTION("HIGH, CRITICAL and LOW from the config file (any case) on one set of findings") {
    struct Row {
      std::string written;
      std::string stored;
      std::string verdict;
      std::string count;
    };
    for (const Row& row : {Row{"high", "HIGH", "vulnerable", "1 finding"}, Row{"Critical", "CRITICAL", "clean", ""},
                           Row{"LOW", "LOW", "vulnerable", "3 findings"}}) {
      CAPTURE(row.written);
      const config::Config cfg = config::parse(
          "rules:\n  images:\n    action: deny\n    scan:\n      action: deny\n"
          "      severityThreshold: " +
          row.written + "\n");
      CHECK(cfg.rules.images.scan.severityThreshold == row.stored);
      Case c{.records = {scan_of(sha('1'), "trivy", "0.50.1", kFresh,
                                 {vuln("CVE-L", Severity::Low, "a"), vuln("CVE-M", Severity::Medium, "b"),
                                  vuln("CVE-H", Severity::High, "c")})},
             .config = cfg, .expect = {.imageCount = 1, .scan = row.verdict}};
      if (row.verdict == "vulnerable")
        c.expect.violation =
            ExpectViolation{.messageContains = {"with " + row.count + " at or above " + row.stored + ": "}};
      else
        c.expect.violations = 0;
      run(c, answers);
    }
  }
}

TEST_CASE("scan: a vulnerable image", "[policy][scan][vulnerable]") {
  Answers answers;
  answers.digest("nginx:1.25", sha('1')).digest("nginx:1.24", sha('9'));
  std::vector<std::string> many;
  for (int i = 0; i < 17; ++i) {
    many.push_back("ghcr.io/org/app:" + std::to_string(i));
    answers.digest(many.back(), sha('1'));
  }
  // Two scanners, in no particular order of severity; CVE-B is found by both (same package).
  const std::vector<scan::ScanRecord> records{
      scan_of(sha('1'), "trivy", "0.50.1", kFresh,
              {vuln("CVE-E", Severity::Low, "bash", "5.2"), vuln("CVE-A", Severity::High, "openssl", "3.0.13"),
               vuln("CVE-B", Severity::Critical, "xz-utils"), vuln("CVE-N", Severity::Negligible, "tar")}),
      scan_of(sha('1'), "grype", "0.74.0", kFresher,
              {vuln("CVE-B", Severity::Critical, "xz-utils"), vuln("CVE-D", Severity::Medium, "zlib", "1.3.1")})};
  std::vector<scan::ScanRecord> withOld = records;
  withOld.push_back(scan_of(sha('9'), "trivy", "0.50.1", kFresh));
  const auto low = with_threshold("LOW");
  const std::string expectedSummary =
      "container \"c0\" uses image \"nginx:1.25\" with 4 findings at or above LOW: "
      "CVE-B (CRITICAL, xz-utils, no fix yet); CVE-A (HIGH, openssl, fixed in 3.0.13); "
      "CVE-D (MEDIUM, zlib, fixed in 1.3.1); ...";
  const std::string fix =
      "; update the packages (or the base image) and re-scan, or record an accepted risk in rules.images.scan.ignore.";
  // The audit mode and the /audit route: a would-deny, not a deny.
  const Expect wouldDeny{.decision = Decision::WouldDeny,
                         .message = "podgate would deny Pod default/web: " + expectedSummary + fix, .warningCount = 1,
                         .warningStarts = {"[podgate] would deny: Pod default/web: container \"c0\" uses image "
                                           "\"nginx:1.25\" with 4 findings at or above LOW: CVE-B (CRITICAL"},
                         .warningsWithinBudget = true, .response = ExpectResponse{.allowed = true}};

  run_all(
      {
          {.name = "deny: the three worst, worst first, deduplicated across scanners", .records = records, .tweak = low,
           .expect = {.decision = Decision::Denied,
                      .violation = ExpectViolation{.action = Action::Deny, .deniesInAudit = false, .preexisting = false,
                                                   .subject = "container \"c0\"",
                                                   .fieldPath = "spec.containers[0].image", .value = "nginx:1.25",
                                                   .message = "Pod default/web: " + expectedSummary + fix},
                      .message = "podgate denied Pod default/web: " + expectedSummary + fix, .warnings = Strings{},
                      .imageCount = 1, .scan = "vulnerable",
                      .basis = basis("trivy", "0.50.1", kFreshIso, sha('1')) + ", " +
                               basis("grype", "0.74.0", kFresherIso, sha('1')),
                      .annotations = {{"decision", "denied"}},
                      .annotationContains = {{"violations", "\"rule\":\"scan\""}},
                      // The response the apiserver gets.
                      .response =
                          ExpectResponse{
                              .allowed = false, .code = 403, .messageStarts = "podgate denied Pod default/web: "}}},
          {.name = "exactly three findings: no \"...\"", .records = records, .tweak = with_threshold("MEDIUM"),
           .expect = {.violation =
                          ExpectViolation{
                              .messageContains =
                                  {"with 3 findings at or above MEDIUM: CVE-B (CRITICAL, xz-utils, no fix yet); "
                                   "CVE-A (HIGH, openssl, fixed in 3.0.13); CVE-D (MEDIUM, zlib, fixed in 1.3.1)" +
                                   fix},
                              .messageLacks = {"..."}}}},
          {.name = "one finding: singular", .records = records, .tweak = with_threshold("CRITICAL"),
           .expect = {.violation =
                          ExpectViolation{
                              .messageContains = {"uses image \"nginx:1.25\" with 1 finding at or above CRITICAL: "
                                                  "CVE-B (CRITICAL, xz-utils, no fix yet)" +
                                                  fix}}}},
          {.name = "the same id in another package is another finding",
           .records = {scan_of(sha('1'), "trivy", "0.50.1", kFresh,
                               {vuln("CVE-X", Severity::Critical, "libssl3", "3.0.14"),
                                vuln("CVE-X", Severity::Critical, "openssl", "3.0.14")}),
                       scan_of(sha('1'), "grype", "0.74.0", kFresh,
                               {vuln("CVE-X", Severity::Critical, "openssl", "3.0.14")})},
           .expect = {.violation = ExpectViolation{.messageContains = {"with 2 findings at or above CRITICAL: "
                                                                       "CVE-X (CRITICAL, libssl3, fixed in 3.0.14); "
                                                                       "CVE-X (CRITICAL, openssl, fixed in 3.0.14)" +
                                                                       fix}}}},
          {.name = "names and versions from a report are made printable",
           .records = {scan_of(sha('1'), "trivy", "0.50.1", kFresh,
                               {vuln("CVE-\n1", Severity::Critical, "lib\x01x", "1\t2")})},
           .expect = {.violation = ExpectViolation{.messageContains = {"CVE-?1 (CRITICAL, lib?x, fixed in 1?2)"}},
                      .messageLacks = {"\n"}}},
          {.name = "warn: a warning naming the same findings, and the pod is allowed", .records = records,
           .action = Action::Warn, .tweak = low,
           .expect = {.decision = Decision::Allowed,
                      // The violation's message (audit annotation, decision log) keeps all of it.
                      .violation = ExpectViolation{.action = Action::Warn,
                                                   .message = "Pod default/web: " + expectedSummary + fix},
                      .message = "",
                      // Short enough to be shown whole (the cut is tested below).
                      .warnings = Strings{"[podgate] warning: Pod default/web: " + expectedSummary},
                      .scan = "vulnerable"}},
          {.name = "audit mode: a would-deny, not a deny", .records = records,
           .tweak =
               [low](config::Config& c) {
                 low(c);
                 audit_mode(c);
               },
           .expect = wouldDeny},
          {.name = "the /audit route: a would-deny, not a deny", .records = records, .tweak = low,
           .route = Route::Audit, .expect = wouldDeny},
          {.name = "UPDATE: a vulnerable image already in oldObject only warns",
           .body = pod_update({"nginx:1.25"}, {"nginx:1.25"}), .records = records, .tweak = low,
           .expect = {.decision = Decision::Allowed, .violation = ExpectViolation{.preexisting = true},
                      .warningCount = 1,
                      .warningContains = {"[podgate] warning: Pod default/web: container \"c0\" uses image"},
                      .scan = "vulnerable"}},
          {.name = "UPDATE: a vulnerable image not in oldObject denies",
           .body = pod_update({"nginx:1.24"}, {"nginx:1.25"}), .records = withOld, .tweak = low,
           .expect = {.decision = Decision::Denied, .violation = ExpectViolation{.preexisting = false}}},
          {.name = "many vulnerable images in warn mode: at most 15 warnings and a count of the rest", .images = many,
           .records = records, .action = Action::Warn, .tweak = low,
           .expect = {.decision = Decision::Allowed, .scanViolations = 17, .warningCount = 16,
                      .lastWarning =
                          "[podgate] 2 more violations not shown; see the audit annotations or podgate's decision log",
                      .warningsWithinBudget = true}},
      },
      answers);
}

TEST_CASE("scan: warnings are cut exactly as the other rules' are", "[policy][scan][warnings]") {
  Answers answers;
  answers.digest("nginx:1.25", sha('1'));
  // A runtime-socket hostPath spelled at length beside it: that rule's warning is cut too.
  std::string path = "/var/run";
  for (int i = 0; i < 60; ++i) path += "/.";
  path += "/docker.sock";
  run({.body = create_review(pod_kind(), pod_spec({list("containers", {container("c0", "nginx:1.25")}),
                                                   list("volumes", {host_path_volume("sock", path)})})),
       .records = {scan_of(sha('1'), "trivy", "0.50.1", kFresh,
                           {vuln("CVE-2024-1", Severity::Critical, std::string(200, 'p'))})},
       .action = Action::Warn, .tweak = [](config::Config& c) { c.rules.runtimeSockets.action = Action::Warn; },
       .expect = {.decision = Decision::Allowed,
                  // The violation keeps the whole summary, the package bounded like every name from outside.
                  .violation = ExpectViolation{.messageContains = {"(CRITICAL, " + std::string(125, 'p') + kEllipsis +
                                                                   ", no fix yet); update the packages"}},
                  // Rule order: runtime sockets, then images.
                  .warningCount = 2,
                  .warningStarts = {"[podgate] warning: Pod default/web: volume \"sock\" mounts hostPath",
                                    "[podgate] warning: Pod default/web: container \"c0\" uses image \"nginx:1.25\" "
                                    "with 1 finding at or above CRITICAL: CVE-2024-1 (CRITICAL, ppp"}},
       .more =
           [](const Outcome& o, const ScanDb&) {
             for (const std::string& w : o.verdict.warnings) {
               CAPTURE(w);
               CHECK(w.size() <= kMaxWarningBytes);
               CHECK(w.size() > kMaxWarningBytes - 8);
               CHECK(w.substr(w.size() - kEllipsis.size()) == kEllipsis);
             }
             CHECK(o.verdict.warnings[0].size() == o.verdict.warnings[1].size());
           }},
      answers);
}

TEST_CASE("scan: the ignore list", "[policy][scan][ignore]") {
  Answers answers;
  answers.digest("nginx:1.25", sha('1'));
  const std::vector<scan::ScanRecord> records{
      scan_of(sha('1'), "trivy", "0.50.1", kFresh,
              {vuln("CVE-2024-0001", Severity::Critical, "a"), vuln("CVE-2024-0002", Severity::High, "b"),
               vuln("CVE-2024-0003", Severity::High, "c")})};

  SECTION("entries built by hand: plain, unexpired, expired (expiresAt is exclusive)") {
    auto ignore = [](const std::string& id, std::int64_t expiresAt) {
      config::IgnoredFinding f;
      f.id = id;
      f.reason = "accepted";
      f.expiresAt = expiresAt;
      return f;
    };
    struct Row {
      std::string name;
      std::vector<config::IgnoredFinding> ignore;
      std::string verdict;
      std::string counted;  // "with N finding(s) at or above HIGH: <first>"
    };
    const std::vector<Row> rows{
        {"nothing ignored", {}, "vulnerable", "with 3 findings at or above HIGH: CVE-2024-0001 "},
        {"a plain id", {ignore("CVE-2024-0001", 0)}, "vulnerable", "with 2 findings at or above HIGH: CVE-2024-0002 "},
        {"unexpired",
         {ignore("CVE-2024-0001", kNow + 1)},
         "vulnerable",
         "with 2 findings at or above HIGH: CVE-2024-0002 "},
        {"expired just now",
         {ignore("CVE-2024-0001", kNow)},
         "vulnerable",
         "with 3 findings at or above HIGH: CVE-2024-0001 "},
        {"expired long ago",
         {ignore("CVE-2024-0001", kNow - 30 * kDay)},
         "vulnerable",
         "with 3 findings at or above HIGH: CVE-2024-0001 "},
        {"another id with the same prefix",
         {ignore("CVE-2024-000", 0), ignore("cve-2024-0001", 0)},
         "vulnerable",
         "with 3 findings at or above HIGH: CVE-2024-0001 "},
        {"all of them",
         {ignore("CVE-2024-0001", 0), ignore("CVE-2024-0002", kNow + kDay), ignore("CVE-2024-0003", 0)},
         "clean",
         ""},
        {"all but one expired",
         {ignore("CVE-2024-0001", 0), ignore("CVE-2024-0002", kNow - 1), ignore("CVE-2024-0003", 0)},
         "vulnerable",
         "with 1 finding at or above HIGH: CVE-2024-0002 "},
    };
    for (const Row& row : rows) {
      CAPTURE(row.name);
      Case c{.records = records,
             .tweak =
                 [&row](config::Config& cfg) {
                   cfg.rules.images.scan.severityThreshold = "HIGH";
                   cfg.rules.images.scan.ignore = row.ignore;
                 },
             .expect = {.imageCount = 1, .scan = row.verdict}};
      if (row.verdict == "clean") {
        c.expect.decision = Decision::Allowed;
        c.expect.violations = 0;
        // A clean verdict still names the scan it rested on.
        c.expect.basis = basis("trivy", "0.50.1", kFreshIso, sha('1'));
      } else {
        c.expect.decision = Decision::Denied;
        c.expect.violation = ExpectViolation{.messageContains = {row.counted}};
      }
      run(c, answers);
    }
  }

  SECTION("entries from the config file: the whole expiry day counts, in UTC, measured at facts.now") {
    const config::Config cfg = config::parse(R"(
rules:
  images:
    action: deny
    scan:
      action: deny
      severityThreshold: HIGH
      ignore:
        - CVE-2024-0001
        - {id: CVE-2024-0002, expires: "2026-11-30", reason: until the base image is rebuilt}
        - {id: CVE-2024-0003, expires: "2026-11-29", reason: expired yesterday}
)");
    REQUIRE(cfg.rules.images.scan.ignore.size() == 3);
    // 2026-11-30T23:59:59Z: still ignored. 2026-12-01T00:00:00Z: expired.
    const std::int64_t endOfDay = 1796083200;
    run_all(
        {
            {.name = "today", .records = records, .now = kNow, .config = cfg,
             .expect = {.violation =
                            ExpectViolation{.messageContains = {"with 1 finding at or above HIGH: CVE-2024-0003 "
                                                                "(HIGH, c, no fix yet)"}},
                        .scan = "vulnerable"}},
            {.name = "the last second of the expiry day", .records = records, .now = endOfDay - 1, .config = cfg,
             .expect = {.violation = ExpectViolation{.messageContains = {"with 1 finding at or above HIGH"}}}},
            {.name = "the next day", .records = records, .now = endOfDay, .config = cfg,
             .expect =
                 {.violation =
                      ExpectViolation{
                          .messageContains = {"with 2 findings at or above HIGH: CVE-2024-0002 (HIGH, b, no fix yet); "
                                              "CVE-2024-0003 (HIGH, c, no fix yet)"}}}},
        },
        answers);
  }

  SECTION("ignoring a malware signature does not admit a malicious image") {
    run({.records = {malware_of(sha('1'), "clamav", kFresh, MalwareResult::Malicious, "Eicar-Test-Signature",
                                "/eicar.com")},
         .tweak =
             [](config::Config& c) {
               c.rules.images.scan.ignore = {config::IgnoredFinding{"Eicar-Test-Signature", "", "", 0}};
             },
         .expect = {.decision = Decision::Denied, .scan = "malicious"}},
        answers);
  }
}

TEST_CASE("scan: an unscanned image follows onUnscanned", "[policy][scan][unscanned]") {
  REQUIRE(scan_config(Action::Deny).rules.images.scan.onUnscanned == OnUnscanned::Deny);
  Answers answers;
  answers.digest("nginx:1.25", sha('1'));
  const std::string summary =
      "container \"c0\" uses image \"nginx:1.25\" (" + sha('1') + "), which has not been scanned";
  const std::vector<Judged> judgedUnscanned{{"container \"c0\"", sha('1'), "unscanned", ""}};
  const std::vector<AnnotatedImage> annotatedUnscanned{{"container \"c0\"", "nginx:1.25", sha('1'), "unscanned", ""}};

  run_all(
      {
          {.name = "deny with action deny: denied",
           .expect = {.calls = Strings{sha('1')}, .decision = Decision::Denied,
                      .violation = ExpectViolation{.action = Action::Deny, .deniesInAudit = false,
                                                   .fieldPath = "spec.containers[0].image",
                                                   .messageStarts = "Pod default/web: " + summary + "; "},
                      .messageStarts = "podgate denied Pod default/web: " + summary + "; ",
                      .messageContains = {"import the report"}, .judged = judgedUnscanned,
                      .annotated = annotatedUnscanned}},
          // Not forced in audit mode: a would-deny.
          {.name = "deny with action deny, in audit mode: a would-deny", .tweak = audit_mode,
           .expect = {.decision = Decision::WouldDeny}},
          {.name = "deny with action deny, on the /audit route: a would-deny", .route = Route::Audit,
           .expect = {.decision = Decision::WouldDeny}},
          {.name = "deny with action warn: the rule's action, a warning", .action = Action::Warn,
           .expect = {.decision = Decision::Allowed, .violation = ExpectViolation{.action = Action::Warn},
                      .warnings = Strings{"[podgate] warning: Pod default/web: " + summary}, .scan = "unscanned"}},
          {.name = "warn: a warning even when the rule's action is deny", .tweak = on_unscanned(OnUnscanned::Warn),
           .expect = {.decision = Decision::Allowed, .violation = ExpectViolation{.action = Action::Warn},
                      .message = "", .warnings = Strings{"[podgate] warning: Pod default/web: " + summary},
                      .scan = "unscanned"}},
          {.name = "allow: no violation, no warning, and the annotation says unscanned",
           .tweak = on_unscanned(OnUnscanned::Allow),
           .expect = {.calls = Strings{sha('1')}, .decision = Decision::Allowed, .violations = 0, .warnings = Strings{},
                      .judged = judgedUnscanned, .annotated = annotatedUnscanned}},
          // null, an empty list and no lookup at all are the same: unscanned.
          {.name = "an empty list is unscanned", .emptyAnswers = {sha('1')},
           .expect = {.decision = Decision::Denied, .scan = "unscanned"},
           .more = [](const Outcome&, const ScanDb& db) { CHECK(db.calls_for(sha('1')) == 1); }},
          {.name = "no ScanLookup is unscanned", .noLookup = true,
           .expect = {.decision = Decision::Denied, .messageContains = {"which has not been scanned"},
                      .scan = "unscanned"}},
          // Records about another digest say nothing about this one.
          {.name = "records of another digest: unscanned", .records = {scan_of(sha('2'), "trivy", "0.50.1", kFresh)},
           .expect = {.scan = "unscanned"}},
      },
      answers);
}

TEST_CASE("scan: a stale image follows onUnscanned", "[policy][scan][stale]") {
  Answers answers;
  answers.digest("nginx:1.25", sha('1'));
  // Both older than maxScanAge (7 days); the newest is 10 days and 5 hours old. The one with a
  // critical finding does not count: an old scan counts as none.
  const std::vector<scan::ScanRecord> records{
      scan_of(sha('1'), "trivy", "0.50.1", kOld10),
      scan_of(sha('1'), "grype", "0.74.0", kOld30, {vuln("CVE-2024-3094", Severity::Critical, "xz-utils")})};
  const std::string days = std::to_string((kNow - kOld10) / kDay);
  REQUIRE(days == "10");
  const std::string summary = "container \"c0\" uses image \"nginx:1.25\" (" + sha('1') + "), whose newest scan is " +
                              days + " days old (rules.images.scan.maxScanAge is 7 days)";
  const auto twoDays = [](config::Config& c) { c.rules.images.scan.maxScanAge = std::chrono::hours(48); };

  run_all(
      {
          {.name = "deny", .records = records,
           .expect = {.decision = Decision::Denied,
                      .violation = ExpectViolation{.action = Action::Deny,
                                                   .messageStarts = "Pod default/web: " + summary + "; "},
                      .messageStarts = "podgate denied Pod default/web: " + summary + "; ",
                      .messageLacks = {"CVE-2024-3094"}, .imageCount = 1, .scan = "stale", .digest = sha('1')},
           .more =
               [](const Outcome& o, const ScanDb&) {
                 const AnnotatedImage a = annotated_images(o.verdict).at(0);
                 CHECK(a.scan == std::optional<std::string>("stale"));
                 REQUIRE(a.scans);
                 CHECK_FALSE(a.scans->empty());
               }},
          // The age is measured from facts.now, not the clock.
          {.name = "the age is measured from facts.now: later", .records = records, .now = kNow + 5 * kDay,
           .expect = {.violation = ExpectViolation{.messageContains = {"whose newest scan is 15 days old"}}}},
          // Back when the trivy scan was 6 days old it was fresh, and the stale grype one did not count.
          {.name = "the age is measured from facts.now: earlier", .records = records, .now = kOld10 + 6 * kDay,
           .expect = {.decision = Decision::Allowed, .scan = "clean",
                      .basis = basis("trivy", "0.50.1", kOld10Iso, sha('1'))}},
          // maxScanAge is the limit, inclusive, and the message says it in days.
          {.name = "maxScanAge is the limit, inclusive",
           .records = {scan_of(sha('1'), "trivy", "0.50.1", kNow - 2 * kDay)}, .tweak = twoDays,
           .expect = {.scan = "clean"}},
          {.name = "a second past maxScanAge: stale, the message says it in days",
           .records = {scan_of(sha('1'), "trivy", "0.50.1", kNow - 2 * kDay - 1)}, .tweak = twoDays,
           .expect = {.violation = ExpectViolation{.messageContains = {"whose newest scan is 2 days old "
                                                                       "(rules.images.scan.maxScanAge is 2 days)"}},
                      .scan = "stale"}},
          {.name = "warn", .records = records, .tweak = on_unscanned(OnUnscanned::Warn),
           .expect = {.decision = Decision::Allowed, .violation = ExpectViolation{.action = Action::Warn},
                      .warnings = Strings{"[podgate] warning: Pod default/web: " + summary}, .scan = "stale"}},
          {.name = "allow", .records = records, .tweak = on_unscanned(OnUnscanned::Allow),
           .expect = {.decision = Decision::Allowed, .violations = 0, .warnings = Strings{}, .scan = "stale"},
           .more =
               [](const Outcome& o, const ScanDb&) {
                 CHECK(annotated_images(o.verdict).at(0).scan == std::optional<std::string>("stale"));
               }},
          {.name = "action warn with onUnscanned deny: the rule's action", .records = records, .action = Action::Warn,
           .expect = {.decision = Decision::Allowed, .violation = ExpectViolation{.action = Action::Warn}}},
      },
      answers);
}

// A fixed bug, kept as a regression case: for a stale image scanBasis was the first record the
// lookup returned, not the newest one the verdict and the message rest on. Input: grype at 2026-10-31T12:00:00Z returned before trivy at
// 2026-11-20T07:00:00Z, now 2026-11-30T12:00:00Z, maxScanAge 7 days. The message says "whose newest
// scan is 10 days old" (trivy), so the `images` annotation and decision log must name that scan:
// scanBasis contains "trivy 0.50.1 2026-11-20T07:00:00Z sha256:111...", not the
// "grype 0.74.0 2026-10-31T12:00:00Z sha256:111..." it named before the fix.
TEST_CASE("scan: regression: a stale verdict's basis names the newest scan", "[policy][scan][stale]") {
  Answers answers;
  answers.digest("nginx:1.25", sha('1'));
  run({.records = {scan_of(sha('1'), "grype", "0.74.0", kOld30), scan_of(sha('1'), "trivy", "0.50.1", kOld10)},
       .expect = {.imageCount = 1},
       .more =
           [](const Outcome& o, const ScanDb&) {
             REQUIRE(o.verdict.images[0].scan == "stale");
             REQUIRE(contains(only_scan_violation(o.verdict).message, "whose newest scan is 10 days old"));
             INFO("scanBasis: " << o.verdict.images[0].scanBasis);
             CHECK(contains(o.verdict.images[0].scanBasis, basis("trivy", "0.50.1", kOld10Iso, sha('1'))));
           }},
      answers);
}

TEST_CASE("scan: a fresh scan is used and an old one ignored", "[policy][scan][stale]") {
  Answers answers;
  answers.digest("nginx:1.25", sha('1'));
  run_all(
      {
          {.name = "fresh clean, old vulnerable: clean, resting on the fresh scan only",
           .records = {scan_of(sha('1'), "grype", "0.70.0", kOld30,
                               {vuln("CVE-2024-3094", Severity::Critical, "xz-utils")}),
                       scan_of(sha('1'), "trivy", "0.50.1", kFresh)},
           .expect = {.decision = Decision::Allowed, .violations = 0,
                      .judged = std::vector<Judged>{{"container \"c0\"", sha('1'), "clean",
                                                     basis("trivy", "0.50.1", kFreshIso, sha('1'))}}}},
          {.name = "fresh vulnerable, old clean: vulnerable",
           .records = {scan_of(sha('1'), "trivy", "0.49.0", kOld30),
                       scan_of(sha('1'), "grype", "0.74.0", kFresher,
                               {vuln("CVE-2024-3094", Severity::Critical, "xz-utils", "5.6.1-r2")})},
           .expect = {.decision = Decision::Denied,
                      .violation =
                          ExpectViolation{.messageContains = {"with 1 finding at or above CRITICAL: CVE-2024-3094 "
                                                              "(CRITICAL, xz-utils, fixed in 5.6.1-r2)"}},
                      .judged = std::vector<Judged>{{"container \"c0\"", sha('1'), "vulnerable",
                                                     basis("grype", "0.74.0", kFresherIso, sha('1'))}}}},
      },
      answers);
}

TEST_CASE("scan: a malicious image is denied everywhere", "[policy][scan][malicious]") {
  Answers answers;
  answers.digest("nginx:1.25", sha('1'));
  const scan::ScanRecord mirai =
      malware_of(sha('1'), "clamav", kFresh, MalwareResult::Malicious, "Unix.Trojan.Mirai-7100807-0", "/usr/bin/.x");
  const std::string summary = "container \"c0\" uses image \"nginx:1.25\" (" + sha('1') +
                              "), which clamav found malicious (Unix.Trojan.Mirai-7100807-0 in /usr/bin/.x)";
  const std::string malBasis = basis("clamav", "1.4.1", kFreshIso, sha('1'));

  // What every malicious verdict below must show, in any mode, on any route.
  auto malicious = [&](bool preexisting, std::optional<config::Mode> mode = std::nullopt) {
    return Expect{
        .decision = Decision::Denied, .mode = mode,
        .violation = ExpectViolation{.action = Action::Deny, .deniesInAudit = true, .preexisting = preexisting,
                                     .fieldPath = "spec.containers[0].image",
                                     .messageStarts = "Pod default/web: " + summary + "; "},
        .messageStarts = "podgate denied Pod default/web: " + summary + "; ",
        .messageContains = {"refused in every mode, audit included"}, .warnings = Strings{},
        .judged = std::vector<Judged>{{"container \"c0\"", sha('1'), "malicious", malBasis}},
        .annotated = std::vector<AnnotatedImage>{{"container \"c0\"", "nginx:1.25", sha('1'), "malicious", malBasis}},
        .annotations = {{"decision", "denied"}, {"would-deny", std::nullopt}},
        .response = ExpectResponse{.allowed = false, .code = 403}};
  };
  const std::string update = pod_update({"nginx:1.25"}, {"nginx:1.25"});

  run_all(
      {
          {.name = "enforce", .records = {mirai}, .expect = malicious(false)},
          {.name = "the scan rule's action warn does not soften it", .records = {mirai}, .action = Action::Warn,
           .expect = malicious(false)},
          {.name = "audit mode", .records = {mirai}, .tweak = audit_mode,
           .expect = malicious(false, config::Mode::Audit)},
          {.name = "the /audit route", .records = {mirai}, .route = Route::Audit,
           .expect = malicious(false, config::Mode::Audit)},
          {.name = "UPDATE of a pod that already ran it: preexisting, still denied", .body = update, .records = {mirai},
           .expect = malicious(true)},
          {.name = "UPDATE of a pod that already ran it: preexisting, still denied on the /audit route", .body = update,
           .records = {mirai}, .route = Route::Audit, .expect = malicious(true)},
          {.name = "malicious beats a clean fresh scan, and a clean malware scan by another scanner",
           .records = {scan_of(sha('1'), "trivy", "0.50.1", kFresher),
                       malware_of(sha('1'), "yara", kFresher, MalwareResult::Clean), mirai},
           .expect = malicious(false)},
          {.name = "a stale malicious scan still denies (a backdoor does not age out)",
           .records = {malware_of(sha('1'), "clamav", kOld60, MalwareResult::Malicious)},
           .expect = {.decision = Decision::Denied,
                      // Without a signature the message just says it was found malicious.
                      .violation = ExpectViolation{.deniesInAudit = true,
                                                   .messageContains = {"uses image \"nginx:1.25\" (" + sha('1') +
                                                                       "), which clamav found malicious; "}},
                      .judged = std::vector<Judged>{{"container \"c0\"", sha('1'), "malicious",
                                                     basis("clamav", "1.4.1", kOld60Iso, sha('1'))}}}},
          // Even under onUnscanned allow, where a stale scan is otherwise let through silently.
          {.name = "a stale malicious scan still denies under onUnscanned allow",
           .records = {malware_of(sha('1'), "clamav", kOld60, MalwareResult::Malicious)},
           .tweak = on_unscanned(OnUnscanned::Allow), .expect = {.decision = Decision::Denied}},
      },
      answers);

  SECTION("a malware scan that was clean or errored, or a record that is no malware scan, is not malicious") {
    for (const MalwareResult result : {MalwareResult::Clean, MalwareResult::Error, MalwareResult::None}) {
      CAPTURE(scan::to_string(result));
      run({.records = {malware_of(sha('1'), "clamav", kFresh, result)},
           .more =
               [](const Outcome& o, const ScanDb&) {
                 CHECK(o.verdict.images.at(0).scan != "malicious");
                 CHECK(std::none_of(o.verdict.violations.begin(), o.verdict.violations.end(),
                                    [](const Violation& v) { return v.deniesInAudit; }));
               }},
          answers);
    }
  }
}

TEST_CASE("scan: an index is judged by its digest and its children's", "[policy][scan][index]") {
  Answers answers;
  answers.digest("ghcr.io/org/multi:1", sha('c'),
                 {{"linux/amd64", sha('d')}, {"linux/arm64/v8", sha('e')}, {"unknown/unknown", sha('f')}});
  const std::string image = "ghcr.io/org/multi:1";
  const std::vector<scan::ScanRecord> maliciousChild{
      scan_of(sha('c'), "trivy", "0.50.1", kFresh),
      malware_of(sha('e'), "clamav", kFresh, MalwareResult::Malicious, "Win.Test.EICAR_HDB-1", "/eicar")};
  const Expect childDenies{.decision = Decision::Denied, .violation = ExpectViolation{.deniesInAudit = true},
                           .messageStarts = "podgate denied Pod default/web: container \"c0\" uses image \"" + image +
                                            "\" (" + sha('e') +
                                            "), which clamav found malicious (Win.Test.EICAR_HDB-1 in /eicar)",
                           .judged = std::vector<Judged>{{"container \"c0\"", sha('c'), "malicious",
                                                          basis("clamav", "1.4.1", kFreshIso, sha('e'))}}};

  run_all(
      {
          {.name = "a vulnerable child makes the index vulnerable", .images = {image},
           .records = {scan_of(sha('c'), "trivy", "0.50.1", kFresh),
                       scan_of(sha('e'), "grype", "0.74.0", kFresher,
                               {vuln("CVE-2024-3094", Severity::Critical, "xz-utils")})},
           // The index first, then every child.
           .expect = {.calls = Strings{sha('c'), sha('d'), sha('e'), sha('f')}, .decision = Decision::Denied,
                      .violation =
                          ExpectViolation{.messageContains = {"uses image \"" + image +
                                                              "\" with 1 finding at or above CRITICAL: "
                                                              "CVE-2024-3094 (CRITICAL, xz-utils, no fix yet)"}},
                      .imageCount = 1, .scan = "vulnerable", .digest = sha('c'),
                      .basis = basis("trivy", "0.50.1", kFreshIso, sha('c')) + ", " +
                               basis("grype", "0.74.0", kFresherIso, sha('e'))}},
          {.name = "the same finding in two platforms counts once", .images = {image},
           .records =
               {scan_of(sha('d'), "trivy", "0.50.1", kFresh, {vuln("CVE-2024-3094", Severity::Critical, "xz-utils")}),
                scan_of(sha('e'), "trivy", "0.50.1", kFresh, {vuln("CVE-2024-3094", Severity::Critical, "xz-utils")})},
           .expect = {.violation = ExpectViolation{.messageContains = {"with 1 finding at or above CRITICAL"}}}},
          {.name = "children scanned, the index not: scanned", .images = {image},
           .records = {scan_of(sha('d'), "trivy", "0.50.1", kFresh)},
           .expect = {.decision = Decision::Allowed,
                      .judged = std::vector<Judged>{{"container \"c0\"", sha('c'), "clean",
                                                     basis("trivy", "0.50.1", kFreshIso, sha('d'))}}}},
          {.name = "nothing scanned: the unscanned message names the index digest", .images = {image},
           .expect = {.callCount = 4,
                      .messageContains = {"podgate denied Pod default/web: container \"c0\" uses image \"" + image +
                                          "\" (" + sha('c') + "), which has not been scanned"},
                      .scan = "unscanned"}},
          {.name = "a malicious child denies in audit mode; the message names the child", .images = {image},
           .records = maliciousChild, .tweak = audit_mode, .expect = childDenies},
          {.name = "a malicious child denies in audit mode, on the /audit route too", .images = {image},
           .records = maliciousChild, .tweak = audit_mode, .route = Route::Audit, .expect = childDenies},
          // On UPDATE too, where the image was already running.
          {.name = "a malicious child denies in audit mode, on UPDATE too", .body = pod_update({image}, {image}),
           .records = maliciousChild, .tweak = audit_mode, .route = Route::Audit,
           .expect = {.decision = Decision::Denied, .violation = ExpectViolation{.preexisting = true}}},
      },
      answers);
}

TEST_CASE("scan: a digest-pinned image is judged by its own digest", "[policy][scan][digest]") {
  const std::string pinned = "ghcr.io/org/app@" + sha('a');
  const std::string taggedAndPinned = "ghcr.io/org/app:1.0@" + sha('b');
  const Answers none;  // no registry involved
  run({.images = {pinned, taggedAndPinned},
       .records = {scan_of(sha('a'), "trivy", "0.50.1", kFresh,
                           {vuln("CVE-2024-3094", Severity::Critical, "xz-utils")}),
                   scan_of(sha('b'), "trivy", "0.50.1", kFresh)},
       // Fetched too (the scan step needs an index's platforms); without an answer each is judged
       // by its own digest.
       .expect = {.calls = Strings{sha('a'), sha('b')}, .toResolve = Strings{pinned, taggedAndPinned},
                  .decision = Decision::Denied,
                  .violation = ExpectViolation{.subject = "container \"c0\"", .value = pinned},
                  .messageStarts = "podgate denied Pod default/web: container \"c0\" uses image \"" + pinned +
                                   "\" with 1 finding at or above CRITICAL: CVE-2024-3094",
                  .judged =
                      std::vector<Judged>{
                          {"container \"c0\"", sha('a'), "vulnerable", basis("trivy", "0.50.1", kFreshIso, sha('a'))},
                          {"container \"c1\"", sha('b'), "clean", basis("trivy", "0.50.1", kFreshIso, sha('b'))}},
                  .resolveFailuresDenied = 0}},
      none);
}

TEST_CASE("scan: images already refused or not resolved are not looked up", "[policy][scan][refused]") {
  Answers answers;
  answers.digest("ghcr.io/org/blocked:2", sha('b'))
      .failure("ghcr.io/org/slow:1", Failure::Timeout, "ghcr.io timed out")
      .failure("ghcr.io/org/gone:1", Failure::NotFound, "ghcr.io answered 404 MANIFEST_UNKNOWN")
      .digest("nginx:1.25", sha('c'));
  // Records that would deny (or, for a blocked digest, be moot) if they were consulted.
  const std::vector<scan::ScanRecord> records{
      malware_of(sha('b'), "clamav", kFresh, MalwareResult::Malicious, "Sig", "/x"),
      malware_of(sha('c'), "clamav", kFresh, MalwareResult::Malicious, "Sig", "/x")};
  const std::vector<std::string> images{
      "quay.io/x/y:1",            // untrusted
      "evil/miner:1",             // blocked by name
      "ghcr.io/org/blocked:2",    // blocked by the digest it resolves to
      "ghcr.io/org/slow:1",       // resolution failed
      "ghcr.io/org/gone:1",       // not found
      "ghcr.io/org/unasked:1",    // no resolution at all
      "Bad/Name",                 // invalid
      "quay.io/x/y@" + sha('c'),  // pinned, but untrusted
      "evil/miner@" + sha('c'),   // pinned, but blocked by name
  };
  const auto refusing = [](config::OnResolveError onError) {
    return [onError](config::Config& c) {
      c.rules.images.trustedRegistries = {"docker.io", "ghcr.io"};
      c.rules.images.blocked = {"docker.io/evil/miner", sha('b')};
      c.rules.images.onResolveError = onError;
    };
  };
  const auto noScanVerdicts = [](const Outcome& o, const ScanDb&) {
    for (const JudgedImage& j : o.verdict.images) {
      CAPTURE(j.image);
      CHECK(j.scan.empty());
      CHECK(j.scanBasis.empty());
    }
    for (const AnnotatedImage& a : annotated_images(o.verdict)) CHECK_FALSE(a.scan);
  };
  const Expect nothingLookedUp{
      .calls = Strings{}, .violations = images.size(), .scanViolations = 0, .imageCount = images.size()};

  run_all(
      {
          {.name = "onResolveError deny", .images = images, .records = records,
           .tweak = refusing(config::OnResolveError::Deny), .expect = nothingLookedUp, .more = noScanVerdicts},
          {.name = "onResolveError allow", .images = images, .records = records,
           .tweak = refusing(config::OnResolveError::Allow), .expect = nothingLookedUp, .more = noScanVerdicts},
          {.name = "requireDigest: a tag-only image is refused without a lookup", .records = records,
           .tweak = [](config::Config& c) { c.rules.images.requireDigest = true; },
           .expect = {.calls = Strings{}, .scanViolations = 0},
           .more =
               [](const Outcome& o, const ScanDb&) {
                 REQUIRE(o.verdict.violations.size() == 1);
                 CHECK(o.verdict.violations[0].rule == "images");
               }},
      },
      answers);
}

TEST_CASE("scan: exemptions skip the rule", "[policy][scan][exemptions]") {
  Answers answers;
  answers.digest("quay.io/vendor/agent:1", sha('1')).digest("nginx:1.25", sha('2'));
  const std::vector<scan::ScanRecord> records{
      malware_of(sha('1'), "clamav", kFresh, MalwareResult::Malicious, "Sig", "/x"),
      scan_of(sha('2'), "trivy", "0.50.1", kFresh)};
  // The one exemption a verdict records: its kind, and its value when one is given.
  const auto exempted = [](std::string kind, std::string value = "") {
    return [kind, value](const Outcome& o, const ScanDb&) {
      REQUIRE(o.verdict.exemptions.size() == 1);
      CHECK(o.verdict.exemptions[0].kind == kind);
      if (!value.empty()) CHECK(o.verdict.exemptions[0].value == value);
    };
  };
  const auto exemptImage = [](config::Config& c) { c.exemptions.images = {"quay.io/vendor/**"}; };
  const Expect othersLookedUp{.calls = Strings{sha('2')}, .decision = Decision::Allowed, .violations = 0,
                              .judged = std::vector<Judged>{{"container \"c1\"", sha('2'), "clean",
                                                             basis("trivy", "0.50.1", kFreshIso, sha('2'))}}};

  run_all(
      {
          {.name = "an exempt namespace: nothing looked up, allowed",
           .body = pod_with_images({"quay.io/vendor/agent:1"}, "kube-system"), .records = records,
           .expect = {.calls = Strings{}, .decision = Decision::Allowed, .violations = 0, .imageCount = 0},
           .more = exempted("namespace")},
          {.name = "an exempt image: that image is not looked up, the others are",
           .images = {"quay.io/vendor/agent:1", "nginx:1.25"}, .records = records, .tweak = exemptImage,
           .expect = othersLookedUp, .more = exempted("image", "quay.io/vendor/agent:1")},
          {.name = "an exempt image: that image is not looked up, the others are, in audit mode too",
           .images = {"quay.io/vendor/agent:1", "nginx:1.25"}, .records = records,
           .tweak =
               [exemptImage](config::Config& c) {
                 exemptImage(c);
                 audit_mode(c);
               },
           .expect = othersLookedUp, .more = exempted("image", "quay.io/vendor/agent:1")},
          {.name = "an exempt service account: nothing looked up",
           .body = create_review(pod_kind(),
                                 pod_spec({R"("serviceAccountName":"vendor")",
                                           list("containers", {container("agent", "quay.io/vendor/agent:1")})})),
           .records = records, .tweak = [](config::Config& c) { c.exemptions.serviceAccounts = {"default:vendor"}; },
           .expect = {.calls = Strings{}, .decision = Decision::Allowed, .imageCount = 0}},
      },
      answers);
}

TEST_CASE("scan: every verdict in one pod, as the metrics and the audit annotation see it", "[policy][scan][metrics]") {
  Answers answers;
  answers.digest("ghcr.io/org/clean:1", sha('1'))
      .digest("ghcr.io/org/vuln:1", sha('2'))
      .digest("ghcr.io/org/mal:1", sha('3'))
      .digest("ghcr.io/org/none:1", sha('4'))
      .digest("ghcr.io/org/old:1", sha('5'));
  const std::vector<scan::ScanRecord> records{
      scan_of(sha('1'), "trivy", "0.50.1", kFresh, {vuln("CVE-2024-0001", Severity::High, "openssl")}),
      scan_of(sha('2'), "trivy", "0.50.1", kFresh, {vuln("CVE-2024-3094", Severity::Critical, "xz-utils")}),
      malware_of(sha('3'), "clamav", kFresher, MalwareResult::Malicious, "Sig", "/x"),
      scan_of(sha('5'), "grype", "0.74.0", kOld30)};
  const std::vector<std::string> images{"ghcr.io/org/clean:1", "ghcr.io/org/vuln:1", "ghcr.io/org/mal:1",
                                        "ghcr.io/org/none:1", "ghcr.io/org/old:1"};
  const std::vector<Judged> expected{
      {"container \"c0\"", sha('1'), "clean", basis("trivy", "0.50.1", kFreshIso, sha('1'))},
      {"container \"c1\"", sha('2'), "vulnerable", basis("trivy", "0.50.1", kFreshIso, sha('2'))},
      {"container \"c2\"", sha('3'), "malicious", basis("clamav", "1.4.1", kFresherIso, sha('3'))},
      {"container \"c3\"", sha('4'), "unscanned", ""},
      {"container \"c4\"", sha('5'), "stale", basis("grype", "0.74.0", kOld30Iso, sha('5'))},
  };
  std::vector<AnnotatedImage> annotated;
  for (std::size_t i = 0; i < expected.size(); ++i)
    annotated.push_back(
        AnnotatedImage{expected[i].subject, images[i], expected[i].digest, expected[i].scan, expected[i].basis});

  run_all(
      {
          {.name = "onUnscanned deny", .images = images, .records = records,
           // Four denying violations, in spec order, behind the one prefix.
           .expect = {.decision = Decision::Denied,
                      .messageStarts = "podgate denied Pod default/web: 4 violations: (1) container \"c1\" uses image",
                      .messageContains = {"(2) container \"c2\" uses image \"ghcr.io/org/mal:1\"",
                                          "(3) container \"c3\" uses image \"ghcr.io/org/none:1\"",
                                          "(4) container \"c4\" uses image \"ghcr.io/org/old:1\""},
                      .judged = expected, .annotated = annotated, .annotations = {{"violation-count", "4"}},
                      .resolveFailuresDenied = 0, .resolveFailuresAllowed = 0},
           .more =
               [](const Outcome& o, const ScanDb&) {
                 const auto violations = scan_violations(o.verdict);
                 REQUIRE(violations.size() == 4);
                 CHECK(violations[0]->subject == "container \"c1\"");
                 CHECK(violations[1]->subject == "container \"c2\"");
                 CHECK(violations[2]->subject == "container \"c3\"");
                 CHECK(violations[3]->subject == "container \"c4\"");
               }},
          // Under onUnscanned allow the verdicts are the same; only the violations change.
          {.name = "onUnscanned allow", .images = images, .records = records, .tweak = on_unscanned(OnUnscanned::Allow),
           .expect = {.scanViolations = 2, .judged = expected}},
      },
      answers);
}

// A fixed bug, kept as a regression case: in audit mode (config mode
// audit, or the /audit route) a malicious image forces a deny, and every other Deny-action
// violation used to be put into the deny message as if it had denied too, with no "would deny"
// warning. Input: Pod default/web with c0 ghcr.io/org/vuln:1 (a fresh CRITICAL finding) and c1
// ghcr.io/org/mal:1 (clamav malicious), scan action deny, mode audit. The request must be denied
// naming only the malicious image ("podgate denied Pod default/web: container \"c1\" uses image ...
// found malicious ..."), and c0 reported as "[podgate] would deny: ..." in the warnings, as it is
// when the malicious image is absent; before the fix the message was "podgate denied Pod
// default/web: 2 violations: (1) container \"c0\" ... (2) container \"c1\" ...", with no warnings.
TEST_CASE("scan: regression: in audit mode a malicious image's deny names only what denies in audit",
          "[policy][scan][malicious]") {
  Answers answers;
  answers.digest("ghcr.io/org/vuln:1", sha('2')).digest("ghcr.io/org/mal:1", sha('3'));
  run({.images = {"ghcr.io/org/vuln:1", "ghcr.io/org/mal:1"},
       .records = {scan_of(sha('2'), "trivy", "0.50.1", kFresh,
                           {vuln("CVE-2024-3094", Severity::Critical, "xz-utils")}),
                   malware_of(sha('3'), "clamav", kFresh, MalwareResult::Malicious, "Sig", "/x")},
       .tweak = audit_mode,
       .more =
           [](const Outcome& o, const ScanDb&) {
             REQUIRE(o.verdict.decision == Decision::Denied);
             INFO("message: " << o.verdict.message);
             CHECK(starts_with(o.verdict.message,
                               "podgate denied Pod default/web: container \"c1\" uses image \"ghcr.io/org/mal:1\""));
             CHECK_FALSE(contains(o.verdict.message, "CVE-2024-3094"));
             REQUIRE(o.verdict.warnings.size() == 1);
             CHECK(starts_with(o.verdict.warnings[0], "[podgate] would deny: Pod default/web: container \"c0\""));
           }},
      answers);
}

// A fixed bug, kept as a regression case: when two scanners reported
// the same finding (id and package) with different severities, the first record's copy was kept, so
// the message could leave out the worst finding although it promises "the three worst ... worst
// first". Input: threshold HIGH; trivy: CVE-A/a, CVE-B/b, CVE-C/c, CVE-D/d all HIGH; grype: CVE-D/d
// CRITICAL; trivy returned first. The message must read "with 4 findings at or above HIGH: CVE-D
// (CRITICAL, d, no fix yet); ...", not name CVE-A, CVE-B and CVE-C first with CVE-D kept as HIGH.
TEST_CASE("scan: regression: a finding two scanners rate differently counts at its worst severity",
          "[policy][scan][vulnerable]") {
  Answers answers;
  answers.digest("nginx:1.25", sha('1'));
  run({.records = {scan_of(sha('1'), "trivy", "0.50.1", kFresh,
                           {vuln("CVE-A", Severity::High, "a"), vuln("CVE-B", Severity::High, "b"),
                            vuln("CVE-C", Severity::High, "c"), vuln("CVE-D", Severity::High, "d")}),
                   scan_of(sha('1'), "grype", "0.74.0", kFresh, {vuln("CVE-D", Severity::Critical, "d")})},
       .tweak = with_threshold("HIGH"),
       .more =
           [](const Outcome& o, const ScanDb&) {
             REQUIRE(o.verdict.decision == Decision::Denied);
             INFO("message: " << only_scan_violation(o.verdict).message);
             CHECK(contains(only_scan_violation(o.verdict).message,
                            "with 4 findings at or above HIGH: CVE-D (CRITICAL, d, no fix yet); "));
           }},
      answers);
}

// An ImageScan lists findings at or above its floor only and may drop more to stay small
// (scan/imagescan.h); its counts keep all of them. What a record counts but does not list, at or
// above the threshold, cannot be matched against the ignore list, so it counts as bad.
TEST_CASE("scan: findings counted but not stored count as bad", "[policy][scan][omitted]") {
  Answers answers;
  answers.digest("nginx:1.25", sha('1'));
  // A record as parse_imagescan gives it: `extra` more findings counted at each severity than listed.
  const auto omitted = [](std::vector<scan::Finding> listed, std::vector<std::pair<Severity, int>> extra,
                          const std::string& scanner = "trivy") {
    scan::ScanRecord r = scan_of(sha('1'), scanner, "0.67.2", kFresh, std::move(listed));
    for (const auto& [s, n] : extra) r.counts[static_cast<std::size_t>(s)] += n;
    return r;
  };
  auto ignore_all = [](std::vector<std::string> ids) {
    return [ids](config::Config& c) {
      for (const auto& id : ids) c.rules.images.scan.ignore.push_back(config::IgnoredFinding{id, "", "accepted", 0});
    };
  };
  const std::string floorHint = "lower scans.findingsFloor (HIGH by default; what ImageScans list) to ";
  const std::string head = "container \"c0\" uses image \"nginx:1.25\" with ";

  run_all(
      {
          {.name = "the threshold (CRITICAL) above the floor, nothing omitted there: clean",
           .records = {omitted({vuln("CVE-H", Severity::High, "a")}, {{Severity::Medium, 40}, {Severity::Low, 9}})},
           .expect = {.decision = Decision::Allowed, .violations = 0, .scan = "clean"}},
          {.name = "CRITICAL findings dropped for size: denied, and the message says how many and how to store them",
           .records = {omitted({vuln("CVE-C", Severity::Critical, "xz-utils")}, {{Severity::Critical, 2}})},
           .expect = {.decision = Decision::Denied,
                      .violation = ExpectViolation{.action = Action::Deny,
                                                   .messageContains = {head + "3 findings at or above CRITICAL: 2 "
                                                                              "findings at CRITICAL not stored with the "
                                                                              "scan (trivy); CVE-C (CRITICAL, xz-utils",
                                                                       floorHint + "CRITICAL or below",
                                                                       "cannot be matched against "
                                                                       "rules.images.scan.ignore"}},
                      .scan = "vulnerable"}},
          {.name = "every listed finding ignored, but one unlisted at the threshold: still denied",
           .records = {omitted({vuln("CVE-C", Severity::Critical, "xz-utils")}, {{Severity::Critical, 1}})},
           .tweak = ignore_all({"CVE-C"}),
           .expect = {.decision = Decision::Denied,
                      .violation = ExpectViolation{.messageContains = {head + "1 finding at or above CRITICAL: 1 "
                                                                              "finding at CRITICAL not stored with the "
                                                                              "scan (trivy)"},
                                                   .messageLacks = {"CVE-C"}},
                      .scan = "vulnerable"}},
          {.name = "a threshold below the floor: the MEDIUM findings were never stored, so they deny",
           .records = {omitted({vuln("CVE-H", Severity::High, "a")}, {{Severity::Medium, 5}, {Severity::Low, 3}})},
           .tweak = [&](config::Config& c) {
             with_threshold("MEDIUM")(c);
             ignore_all({"CVE-H"})(c);
           },
           .expect = {.decision = Decision::Denied,
                      .violation = ExpectViolation{.messageContains = {head + "5 findings at or above MEDIUM: 5 "
                                                                              "findings at MEDIUM not stored",
                                                                       floorHint + "MEDIUM or below"},
                                                   .messageLacks = {"LOW", "CVE-H"}},
                      .scan = "vulnerable"}},
          {.name = "several severities, worst first, with the listed ones after",
           .records = {omitted({vuln("CVE-H", Severity::High, "a", "1.1")},
                               {{Severity::Critical, 1}, {Severity::High, 2}, {Severity::Low, 9}})},
           .tweak = with_threshold("HIGH"),
           .expect = {.decision = Decision::Denied,
                      .violation = ExpectViolation{.messageContains = {head + "4 findings at or above HIGH: 1 finding "
                                                                              "at CRITICAL and 2 at HIGH not stored "
                                                                              "with the scan (trivy); CVE-H (HIGH, a, "
                                                                              "fixed in 1.1)"}}}},
          {.name = "two scanners omitting: the most either leaves out, and both named",
           .records = {omitted({}, {{Severity::Critical, 2}}, "trivy"),
                       omitted({}, {{Severity::Critical, 3}}, "grype")},
           .expect = {.decision = Decision::Denied,
                      .violation = ExpectViolation{.messageContains = {head + "3 findings at or above CRITICAL: 3 "
                                                                              "findings at CRITICAL not stored with the "
                                                                              "scan (trivy, grype)"}}}},
          {.name = "one scanner lists what another omitted: the omission still counts (it cannot be matched)",
           .records = {omitted({}, {{Severity::Critical, 1}}, "trivy"),
                       scan_of(sha('1'), "grype", "0.74.0", kFresh, {vuln("CVE-C", Severity::Critical, "xz-utils")})},
           .tweak = ignore_all({"CVE-C"}),
           .expect = {.decision = Decision::Denied,
                      .violation = ExpectViolation{.messageContains = {"1 finding at CRITICAL not stored with the "
                                                                       "scan (trivy)"}}}},
          {.name = "counts below what is listed (a record from another source) invent nothing",
           .records = {[] {
             scan::ScanRecord r = scan_of(sha('1'), "trivy", "0.67.2", kFresh, {vuln("CVE-C", Severity::Critical, "x")});
             r.counts = {};
             return r;
           }()},
           .tweak = ignore_all({"CVE-C"}),
           .expect = {.decision = Decision::Allowed, .violations = 0, .scan = "clean"}},
          {.name = "warn action: a warning, not a deny",
           .records = {omitted({}, {{Severity::Critical, 1}})},
           .action = Action::Warn,
           .expect = {.decision = Decision::Allowed, .warningCount = 1,
                      .warningContains = {"1 finding at CRITICAL not stored with the scan (trivy)"}}},
      },
      answers);

  SECTION("an old scan with omissions beside a fresh clean one: the old one is not judged") {
    scan::ScanRecord old = omitted({}, {{Severity::Critical, 4}}, "grype");
    old.scannedAt = kOld30;
    run({.records = {old, scan_of(sha('1'), "trivy", "0.67.2", kFresher)},
         .expect = {.decision = Decision::Allowed, .violations = 0, .scan = "clean"}},
        answers);
  }
}
