// The scan rule (rules.images.scan) through policy::Evaluator::evaluate(request, route, facts):
// when it consults the scan cache at all, clean and vulnerable verdicts (threshold, findings from
// several scanners, the ignore list), unscanned and stale images under each onUnscanned, malicious
// images (denied in every mode and on UPDATE), index children, digest-pinned images, which images
// it never judges (refused, unresolved, exempt), and what it records per image (JudgedImage and
// the `images` audit annotation: the fields the metrics and the decision log read).
//
// Pure: the registry's answers are hand-made ImageResolutions, the scan cache is a map behind a
// ScanLookup that records every digest it is asked about, and facts.now is fixed, so scan ages and
// ignore expiry do not depend on the clock.

#include <catch2/catch.hpp>

#include <rapidjson/document.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "unit/registry_answers.h"
#include "admission/admission.h"
#include "image/reference.h"
#include "policy/policy.h"
#include "registry/client.h"
#include "scan/scan.h"
#include "unit/review_json.h"

using namespace podgate;
using namespace podgate::testing;
using config::Action;
using config::OnUnscanned;
using policy::Decision;
using policy::ImageResolutions;
using policy::JudgedImage;
using policy::Route;
using policy::Verdict;
using policy::Violation;
using registry::Failure;
using scan::MalwareResult;
using scan::Severity;

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

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

using podgate::test::Answers;
using podgate::test::key;
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
scan::ScanRecord malware_of(const std::string& digest, const std::string& scanner, std::int64_t at, MalwareResult result,
                            const std::string& signature = "", const std::string& path = "") {
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

// The scan cache as a map, recording which digests the rule asked about (in order).
struct ScanDb {
  std::map<std::string, std::vector<scan::ScanRecord>> records;
  std::vector<std::string> emptyAnswers;  // digests answered with an empty list rather than null
  std::shared_ptr<std::vector<std::string>> calls = std::make_shared<std::vector<std::string>>();

  ScanDb& add(scan::ScanRecord r) {
    records[r.digest].push_back(std::move(r));
    return *this;
  }
  policy::ScanLookup lookup() const {
    return [this](std::string_view digest) -> std::shared_ptr<const std::vector<scan::ScanRecord>> {
      calls->emplace_back(digest);
      if (std::find(emptyAnswers.begin(), emptyAnswers.end(), digest) != emptyAnswers.end())
        return std::make_shared<const std::vector<scan::ScanRecord>>();
      const auto it = records.find(std::string(digest));
      if (it == records.end()) return nullptr;
      return std::make_shared<const std::vector<scan::ScanRecord>>(it->second);
    };
  }
  std::size_t calls_for(const std::string& digest) const {
    return static_cast<std::size_t>(std::count(calls->begin(), calls->end(), digest));
  }
};

// rules.images on (deny) and the scan rule at `action` with its defaults otherwise.
config::Config scan_config(Action action = Action::Deny) {
  config::Config cfg;
  cfg.rules.images.action = Action::Deny;
  cfg.rules.images.scan.action = action;
  return cfg;
}

struct Outcome {
  std::vector<std::string> toResolve;
  Verdict verdict;
};

Outcome judge_facts(const std::string& body, const config::Config& cfg, const policy::Facts& facts,
                    Route route = Route::Validate) {
  admission::DecodeResult decoded = admission::decode(body);
  INFO((decoded.error ? decoded.error->message : std::string()));
  REQUIRE(decoded);
  const policy::Evaluator evaluator(cfg);
  Outcome out;
  for (const image::Reference& r : evaluator.images_to_resolve(decoded.review->request()))
    out.toResolve.push_back(r.canonical());
  out.verdict = evaluator.evaluate(decoded.review->request(), route, facts);
  return out;
}

Outcome judge(const std::string& body, const config::Config& cfg, const Answers& answers, const ScanDb& db,
              Route route = Route::Validate, std::int64_t now = kNow) {
  policy::Facts facts;
  facts.resolutions = &answers.map;
  facts.scans = db.lookup();
  facts.now = now;
  return judge_facts(body, cfg, facts, route);
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
  ReviewOptions o;
  o.operation = "UPDATE";
  o.oldObject = wrap_pod_spec(pod_kind(), spec_with_images(oldImages));
  o.object = wrap_pod_spec(pod_kind(), spec_with_images(newImages));
  return review_json(pod_kind(), o);
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

std::optional<std::string> annotation(const Verdict& v, const std::string& name) {
  for (const auto& [k, value] : v.auditAnnotations)
    if (k == name) return value;
  return std::nullopt;
}

// RapidJSON 1.1's Value comparison operators recurse forever under C++20's rewritten comparisons,
// so values are compared as plain strings.
std::string text(const rapidjson::Value& v) {
  return v.IsString() ? std::string(v.GetString(), v.GetStringLength()) : "<not a string>";
}

// One entry of the `images` audit annotation; scan/scans absent for images the rule did not judge.
struct AnnotatedImage {
  std::string subject, image, digest;
  std::optional<std::string> scan, scans;
  bool operator==(const AnnotatedImage&) const = default;
};

std::ostream& operator<<(std::ostream& os, const AnnotatedImage& a) {
  return os << "{" << a.subject << ", " << a.image << ", " << a.digest << ", scan=" << a.scan.value_or("<none>")
            << ", scans=" << a.scans.value_or("<none>") << "}";
}

std::vector<AnnotatedImage> annotated_images(const Verdict& v) {
  const std::optional<std::string> json = annotation(v, "images");
  REQUIRE(json);
  rapidjson::Document doc;
  doc.Parse(json->c_str(), json->size());
  INFO(*json);
  REQUIRE_FALSE(doc.HasParseError());
  REQUIRE(doc.IsArray());
  std::vector<AnnotatedImage> out;
  for (const auto& e : doc.GetArray()) {
    REQUIRE(e.IsObject());
    REQUIRE(e.HasMember("subject"));
    REQUIRE(e.HasMember("image"));
    REQUIRE(e.HasMember("digest"));
    AnnotatedImage a{text(e["subject"]), text(e["image"]), text(e["digest"]), std::nullopt, std::nullopt};
    // scan and scans come together or not at all.
    REQUIRE(e.HasMember("scan") == e.HasMember("scans"));
    REQUIRE(e.MemberCount() == (e.HasMember("scan") ? 5u : 3u));
    if (e.HasMember("scan")) {
      a.scan = text(e["scan"]);
      a.scans = text(e["scans"]);
    }
    out.push_back(std::move(a));
  }
  return out;
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
  ScanDb db;
  // Everything that would deny were the rule on: malware and a critical finding.
  db.add(malware_of(sha('1'), "clamav", kFresh, MalwareResult::Malicious, "Eicar-Test-Signature", "/x"));
  db.add(scan_of(sha('1'), "trivy", "0.50.1", kFresh, {vuln("CVE-2024-3094", Severity::Critical, "xz-utils")}));

  SECTION("the image rules on, the scan rule off") {
    const config::Config cfg = scan_config(Action::Off);
    const Outcome o = judge(pod_with_images({"nginx:1.25", "ghcr.io/org/app@" + sha('1')}), cfg, answers, db);
    CHECK(db.calls->empty());
    CHECK(o.verdict.decision == Decision::Allowed);
    CHECK(o.verdict.violations.empty());
    CHECK(o.verdict.warnings.empty());
    CHECK(judged(o.verdict) == std::vector<Judged>{{"container \"c0\"", sha('1'), "", ""},
                                                   {"container \"c1\"", sha('1'), "", ""}});
    // The images annotation is still written (the image rules ran), without scan verdicts.
    CHECK(annotated_images(o.verdict) ==
          std::vector<AnnotatedImage>{{"container \"c0\"", "nginx:1.25", sha('1'), std::nullopt, std::nullopt},
                                      {"container \"c1\"", "ghcr.io/org/app@" + sha('1'), sha('1'), std::nullopt,
                                       std::nullopt}});

    // Nor on UPDATE, where oldObject is judged too, nor in audit.
    const Outcome u = judge(pod_update({"nginx:1.25"}, {"nginx:1.25"}), cfg, answers, db, Route::Audit);
    CHECK(db.calls->empty());
    CHECK(u.verdict.decision == Decision::Allowed);
    CHECK(u.verdict.violations.empty());
  }

  SECTION("the scan rule on but the image rules off (config validation refuses it; the Evaluator judges nothing)") {
    config::Config cfg = scan_config(Action::Deny);
    cfg.rules.images.action = Action::Off;
    const Outcome o = judge(pod_with_images({"nginx:1.25"}), cfg, answers, db);
    CHECK(db.calls->empty());
    CHECK(o.toResolve.empty());
    CHECK(o.verdict.decision == Decision::Allowed);
    CHECK(o.verdict.violations.empty());
    CHECK(o.verdict.images.empty());
    CHECK_FALSE(annotation(o.verdict, "images"));
  }
}

TEST_CASE("scan: findings below the threshold are clean", "[policy][scan][clean]") {
  const config::Config cfg = scan_config();
  REQUIRE(cfg.rules.images.scan.severityThreshold == "CRITICAL");
  Answers answers;
  answers.digest("nginx:1.25", sha('1'));

  SECTION("one scanner") {
    ScanDb db;
    db.add(scan_of(sha('1'), "trivy", "0.50.1", kFresh,
                   {vuln("CVE-2024-0001", Severity::High, "openssl", "3.0.13"), vuln("CVE-2024-0002", Severity::Medium, "zlib"),
                    vuln("CVE-2024-0003", Severity::Unknown, "curl")}));
    const Outcome o = judge(pod_with_images({"nginx:1.25"}), cfg, answers, db);
    CHECK(*db.calls == std::vector<std::string>{sha('1')});
    CHECK(o.verdict.decision == Decision::Allowed);
    CHECK(o.verdict.violations.empty());
    CHECK(o.verdict.warnings.empty());
    CHECK(o.verdict.message.empty());
    const std::string b = basis("trivy", "0.50.1", kFreshIso, sha('1'));
    CHECK(judged(o.verdict) == std::vector<Judged>{{"container \"c0\"", sha('1'), "clean", b}});
    CHECK(annotated_images(o.verdict) ==
          std::vector<AnnotatedImage>{{"container \"c0\"", "nginx:1.25", sha('1'), "clean", b}});
    // A clean pod carries no decision annotations, only the images one.
    CHECK_FALSE(annotation(o.verdict, "decision"));
    CHECK_FALSE(annotation(o.verdict, "violations"));
  }

  SECTION("several scanners, a clean malware scan and a scan with no findings: every fresh scan is named") {
    ScanDb db;
    db.add(scan_of(sha('1'), "trivy", "0.50.1", kFresh, {vuln("CVE-2024-0001", Severity::High, "openssl")}));
    db.add(scan_of(sha('1'), "grype", "0.74.0", kFresher));
    db.add(malware_of(sha('1'), "clamav", kFresher, MalwareResult::Clean));
    const Outcome o = judge(pod_with_images({"nginx:1.25"}), cfg, answers, db);
    CHECK(o.verdict.decision == Decision::Allowed);
    CHECK(o.verdict.violations.empty());
    REQUIRE(o.verdict.images.size() == 1);
    const JudgedImage& j = o.verdict.images[0];
    CHECK(j.scan == "clean");
    CHECK(j.digest == sha('1'));
    CHECK(contains(j.scanBasis, basis("trivy", "0.50.1", kFreshIso, sha('1'))));
    CHECK(contains(j.scanBasis, basis("grype", "0.74.0", kFresherIso, sha('1'))));
    CHECK(contains(j.scanBasis, basis("clamav", "1.4.1", kFresherIso, sha('1'))));
    CHECK(std::count(j.scanBasis.begin(), j.scanBasis.end(), ',') == 2);
  }

  SECTION("a scanner without a version is named by its name and time") {
    ScanDb db;
    scan::ScanRecord r = scan_of(sha('1'), "inhouse", "", kFresh);
    db.add(r);
    const Outcome o = judge(pod_with_images({"nginx:1.25"}), cfg, answers, db);
    REQUIRE(o.verdict.images.size() == 1);
    CHECK(o.verdict.images[0].scan == "clean");
    CHECK(o.verdict.images[0].scanBasis == std::string("inhouse ") + kFreshIso + " " + sha('1'));
  }
}

TEST_CASE("scan: the severity threshold is inclusive", "[policy][scan][threshold]") {
  const std::vector<Severity> severities{Severity::Unknown, Severity::Negligible, Severity::Low,
                                         Severity::Medium,  Severity::High,       Severity::Critical};
  Answers answers;
  answers.digest("nginx:1.25", sha('1'));
  for (const Severity threshold : severities) {
    for (const Severity found : severities) {
      config::Config cfg = scan_config();
      cfg.rules.images.scan.severityThreshold = scan::to_string(threshold);  // upper case, as config::parse stores it
      CAPTURE(scan::to_string(threshold), scan::to_string(found));
      ScanDb db;
      db.add(scan_of(sha('1'), "trivy", "0.50.1", kFresh, {vuln("CVE-2024-1000", found, "libfoo", "2.0")}));
      const Outcome o = judge(pod_with_images({"nginx:1.25"}), cfg, answers, db);
      REQUIRE(o.verdict.images.size() == 1);
      if (static_cast<int>(found) >= static_cast<int>(threshold)) {
        CHECK(o.verdict.images[0].scan == "vulnerable");
        CHECK(o.verdict.decision == Decision::Denied);
        const Violation& v = only_scan_violation(o.verdict);
        CHECK(contains(v.message, std::string("with 1 finding at or above ") + scan::to_string(threshold) +
                                      ": CVE-2024-1000 (" + scan::to_string(found) + ", libfoo, fixed in 2.0)"));
      } else {
        CHECK(o.verdict.images[0].scan == "clean");
        CHECK(o.verdict.decision == Decision::Allowed);
        CHECK(o.verdict.violations.empty());
      }
    }
  }

  SECTION("HIGH, CRITICAL and LOW from the config file (any case) on one set of findings") {
    ScanDb db;
    db.add(scan_of(sha('1'), "trivy", "0.50.1", kFresh,
                   {vuln("CVE-L", Severity::Low, "a"), vuln("CVE-M", Severity::Medium, "b"), vuln("CVE-H", Severity::High, "c")}));
    struct Row {
      std::string written;
      std::string stored;
      std::string verdict;
      std::string count;
    };
    for (const Row& row : {Row{"high", "HIGH", "vulnerable", "1 finding"}, Row{"Critical", "CRITICAL", "clean", ""},
                           Row{"LOW", "LOW", "vulnerable", "3 findings"}}) {
      CAPTURE(row.written);
      const config::Config cfg = config::parse("rules:\n  images:\n    action: deny\n    scan:\n      action: deny\n"
                                               "      severityThreshold: " + row.written + "\n");
      CHECK(cfg.rules.images.scan.severityThreshold == row.stored);
      const Outcome o = judge(pod_with_images({"nginx:1.25"}), cfg, answers, db);
      REQUIRE(o.verdict.images.size() == 1);
      CHECK(o.verdict.images[0].scan == row.verdict);
      if (row.verdict == "vulnerable")
        CHECK(contains(only_scan_violation(o.verdict).message, "with " + row.count + " at or above " + row.stored + ": "));
      else
        CHECK(o.verdict.violations.empty());
    }
  }
}

TEST_CASE("scan: a vulnerable image", "[policy][scan][vulnerable]") {
  config::Config cfg = scan_config();
  cfg.rules.images.scan.severityThreshold = "LOW";
  Answers answers;
  answers.digest("nginx:1.25", sha('1'));
  // Two scanners, in no particular order of severity; CVE-B is found by both (same package).
  ScanDb db;
  db.add(scan_of(sha('1'), "trivy", "0.50.1", kFresh,
                 {vuln("CVE-E", Severity::Low, "bash", "5.2"), vuln("CVE-A", Severity::High, "openssl", "3.0.13"),
                  vuln("CVE-B", Severity::Critical, "xz-utils"), vuln("CVE-N", Severity::Negligible, "tar")}));
  db.add(scan_of(sha('1'), "grype", "0.74.0", kFresher,
                 {vuln("CVE-B", Severity::Critical, "xz-utils"), vuln("CVE-D", Severity::Medium, "zlib", "1.3.1")}));
  const std::string expectedSummary =
      "container \"c0\" uses image \"nginx:1.25\" with 4 findings at or above LOW: "
      "CVE-B (CRITICAL, xz-utils, no fix yet); CVE-A (HIGH, openssl, fixed in 3.0.13); "
      "CVE-D (MEDIUM, zlib, fixed in 1.3.1); ...";
  const std::string fix =
      "; update the packages (or the base image) and re-scan, or record an accepted risk in rules.images.scan.ignore.";

  SECTION("deny: the three worst, worst first, deduplicated across scanners") {
    const Outcome o = judge(pod_with_images({"nginx:1.25"}), cfg, answers, db);
    CHECK(o.verdict.decision == Decision::Denied);
    const Violation& v = only_scan_violation(o.verdict);
    CHECK(v.action == Action::Deny);
    CHECK(v.subject == "container \"c0\"");
    CHECK(v.fieldPath == "spec.containers[0].image");
    CHECK(v.value == "nginx:1.25");
    CHECK_FALSE(v.preexisting);
    CHECK_FALSE(v.deniesInAudit);
    CHECK(v.message == "Pod default/web: " + expectedSummary + fix);
    CHECK(o.verdict.message == "podgate denied Pod default/web: " + expectedSummary + fix);
    CHECK(o.verdict.warnings.empty());
    REQUIRE(o.verdict.images.size() == 1);
    CHECK(o.verdict.images[0].scan == "vulnerable");
    CHECK(o.verdict.images[0].scanBasis == basis("trivy", "0.50.1", kFreshIso, sha('1')) + ", " +
                                              basis("grype", "0.74.0", kFresherIso, sha('1')));
    CHECK(annotation(o.verdict, "decision") == std::optional<std::string>("denied"));
    const std::optional<std::string> violations = annotation(o.verdict, "violations");
    REQUIRE(violations);
    CHECK(contains(*violations, "\"rule\":\"scan\""));
    // The response the apiserver gets.
    const admission::Response r = policy::to_response("uid-1", o.verdict);
    CHECK_FALSE(r.allowed);
    CHECK(r.code == 403);
    CHECK(starts_with(r.message, "podgate denied Pod default/web: "));
  }

  SECTION("exactly three findings: no \"...\"; one finding: singular") {
    cfg.rules.images.scan.severityThreshold = "MEDIUM";
    const Outcome three = judge(pod_with_images({"nginx:1.25"}), cfg, answers, db);
    const Violation& v3 = only_scan_violation(three.verdict);
    CHECK(contains(v3.message, "with 3 findings at or above MEDIUM: CVE-B (CRITICAL, xz-utils, no fix yet); "
                               "CVE-A (HIGH, openssl, fixed in 3.0.13); CVE-D (MEDIUM, zlib, fixed in 1.3.1)" + fix));
    CHECK_FALSE(contains(v3.message, "..."));

    cfg.rules.images.scan.severityThreshold = "CRITICAL";
    const Outcome one = judge(pod_with_images({"nginx:1.25"}), cfg, answers, db);
    CHECK(contains(only_scan_violation(one.verdict).message,
                   "uses image \"nginx:1.25\" with 1 finding at or above CRITICAL: CVE-B (CRITICAL, xz-utils, no fix yet)" + fix));
  }

  SECTION("the same id in another package is another finding") {
    ScanDb two;
    two.add(scan_of(sha('1'), "trivy", "0.50.1", kFresh,
                    {vuln("CVE-X", Severity::Critical, "libssl3", "3.0.14"), vuln("CVE-X", Severity::Critical, "openssl", "3.0.14")}));
    two.add(scan_of(sha('1'), "grype", "0.74.0", kFresh, {vuln("CVE-X", Severity::Critical, "openssl", "3.0.14")}));
    const Outcome o = judge(pod_with_images({"nginx:1.25"}), scan_config(), answers, two);
    CHECK(contains(only_scan_violation(o.verdict).message, "with 2 findings at or above CRITICAL: "
                                                           "CVE-X (CRITICAL, libssl3, fixed in 3.0.14); "
                                                           "CVE-X (CRITICAL, openssl, fixed in 3.0.14)" + fix));
  }

  SECTION("names and versions from a report are made printable") {
    ScanDb odd;
    odd.add(scan_of(sha('1'), "trivy", "0.50.1", kFresh, {vuln("CVE-\n1", Severity::Critical, "lib\x01x", "1\t2")}));
    const Outcome o = judge(pod_with_images({"nginx:1.25"}), scan_config(), answers, odd);
    CHECK(contains(only_scan_violation(o.verdict).message, "CVE-?1 (CRITICAL, lib?x, fixed in 1?2)"));
    CHECK_FALSE(contains(o.verdict.message, "\n"));
  }

  SECTION("warn: a warning naming the same findings, and the pod is allowed") {
    cfg.rules.images.scan.action = Action::Warn;
    const Outcome o = judge(pod_with_images({"nginx:1.25"}), cfg, answers, db);
    CHECK(o.verdict.decision == Decision::Allowed);
    CHECK(o.verdict.message.empty());
    const Violation& v = only_scan_violation(o.verdict);
    CHECK(v.action == Action::Warn);
    // Short enough to be shown whole (the cut is tested below).
    REQUIRE(o.verdict.warnings.size() == 1);
    CHECK(o.verdict.warnings[0] == "[podgate] warning: Pod default/web: " + expectedSummary);
    // The violation's message (audit annotation, decision log) keeps all of it.
    CHECK(v.message == "Pod default/web: " + expectedSummary + fix);
    CHECK(o.verdict.images.at(0).scan == "vulnerable");
  }

  SECTION("audit mode and the /audit route: a would-deny, not a deny") {
    for (const bool auditMode : {true, false}) {
      CAPTURE(auditMode);
      config::Config c = cfg;
      if (auditMode) c.mode = config::Mode::Audit;
      const Outcome o = judge(pod_with_images({"nginx:1.25"}), c, answers, db, auditMode ? Route::Validate : Route::Audit);
      CHECK(o.verdict.decision == Decision::WouldDeny);
      CHECK(o.verdict.message == "podgate would deny Pod default/web: " + expectedSummary + fix);
      REQUIRE(o.verdict.warnings.size() == 1);
      CHECK(starts_with(o.verdict.warnings[0], "[podgate] would deny: Pod default/web: container \"c0\" uses image "
                                               "\"nginx:1.25\" with 4 findings at or above LOW: CVE-B (CRITICAL"));
      CHECK(o.verdict.warnings[0].size() <= kMaxWarningBytes);
      CHECK(policy::to_response("uid-1", o.verdict).allowed);
    }
  }

  SECTION("UPDATE: a vulnerable image already in oldObject only warns") {
    const Outcome same = judge(pod_update({"nginx:1.25"}, {"nginx:1.25"}), cfg, answers, db);
    CHECK(same.verdict.decision == Decision::Allowed);
    const Violation& v = only_scan_violation(same.verdict);
    CHECK(v.preexisting);
    REQUIRE(same.verdict.warnings.size() == 1);
    CHECK(contains(same.verdict.warnings[0], "[podgate] warning: Pod default/web: container \"c0\" uses image"));
    CHECK(same.verdict.images.at(0).scan == "vulnerable");

    answers.digest("nginx:1.24", sha('9'));
    ScanDb withOld = db;
    withOld.add(scan_of(sha('9'), "trivy", "0.50.1", kFresh));
    const Outcome changed = judge(pod_update({"nginx:1.24"}, {"nginx:1.25"}), cfg, answers, withOld);
    CHECK(changed.verdict.decision == Decision::Denied);
    CHECK_FALSE(only_scan_violation(changed.verdict).preexisting);
  }

  SECTION("many vulnerable images in warn mode: at most 15 warnings and a count of the rest") {
    cfg.rules.images.scan.action = Action::Warn;
    std::vector<std::string> images;
    for (int i = 0; i < 17; ++i) {
      images.push_back("ghcr.io/org/app:" + std::to_string(i));
      answers.digest(images.back(), sha('1'));
    }
    const Outcome o = judge(pod_with_images(images), cfg, answers, db);
    CHECK(o.verdict.decision == Decision::Allowed);
    CHECK(scan_violations(o.verdict).size() == 17);
    REQUIRE(o.verdict.warnings.size() == 16);
    CHECK(o.verdict.warnings.back() ==
          "[podgate] 2 more violations not shown; see the audit annotations or podgate's decision log");
    for (std::size_t i = 0; i + 1 < o.verdict.warnings.size(); ++i) CHECK(o.verdict.warnings[i].size() <= kMaxWarningBytes);
  }
}

TEST_CASE("scan: warnings are cut exactly as the other rules' are", "[policy][scan][warnings]") {
  config::Config cfg = scan_config(Action::Warn);
  cfg.rules.runtimeSockets.action = Action::Warn;
  Answers answers;
  answers.digest("nginx:1.25", sha('1'));
  ScanDb db;
  db.add(scan_of(sha('1'), "trivy", "0.50.1", kFresh, {vuln("CVE-2024-1", Severity::Critical, std::string(200, 'p'))}));
  // A runtime-socket hostPath spelled at length beside it: that rule's warning is cut too.
  std::string path = "/var/run";
  for (int i = 0; i < 60; ++i) path += "/.";
  path += "/docker.sock";
  const std::string spec = pod_spec({list("containers", {container("c0", "nginx:1.25")}),
                                     list("volumes", {host_path_volume("sock", path)})});
  const Outcome o = judge(create_review(pod_kind(), spec), cfg, answers, db);
  CHECK(o.verdict.decision == Decision::Allowed);
  // Rule order: runtime sockets, then images.
  REQUIRE(o.verdict.warnings.size() == 2);
  CHECK(starts_with(o.verdict.warnings[0], "[podgate] warning: Pod default/web: volume \"sock\" mounts hostPath"));
  CHECK(starts_with(o.verdict.warnings[1], "[podgate] warning: Pod default/web: container \"c0\" uses image \"nginx:1.25\" "
                                           "with 1 finding at or above CRITICAL: CVE-2024-1 (CRITICAL, ppp"));
  for (const std::string& w : o.verdict.warnings) {
    CAPTURE(w);
    CHECK(w.size() <= kMaxWarningBytes);
    CHECK(w.size() > kMaxWarningBytes - 8);
    CHECK(w.substr(w.size() - kEllipsis.size()) == kEllipsis);
  }
  CHECK(o.verdict.warnings[0].size() == o.verdict.warnings[1].size());
  // The violation keeps the whole summary, the package bounded like every name from outside.
  const Violation& v = only_scan_violation(o.verdict);
  CHECK(contains(v.message, "(CRITICAL, " + std::string(125, 'p') + kEllipsis + ", no fix yet); update the packages"));
}

TEST_CASE("scan: the ignore list", "[policy][scan][ignore]") {
  Answers answers;
  answers.digest("nginx:1.25", sha('1'));
  ScanDb db;
  db.add(scan_of(sha('1'), "trivy", "0.50.1", kFresh,
                 {vuln("CVE-2024-0001", Severity::Critical, "a"), vuln("CVE-2024-0002", Severity::High, "b"),
                  vuln("CVE-2024-0003", Severity::High, "c")}));

  SECTION("entries built by hand: plain, unexpired, expired (expiresAt is exclusive)") {
    config::Config cfg = scan_config();
    cfg.rules.images.scan.severityThreshold = "HIGH";
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
        {"unexpired", {ignore("CVE-2024-0001", kNow + 1)}, "vulnerable", "with 2 findings at or above HIGH: CVE-2024-0002 "},
        {"expired just now", {ignore("CVE-2024-0001", kNow)}, "vulnerable", "with 3 findings at or above HIGH: CVE-2024-0001 "},
        {"expired long ago", {ignore("CVE-2024-0001", kNow - 30 * kDay)}, "vulnerable",
         "with 3 findings at or above HIGH: CVE-2024-0001 "},
        {"another id with the same prefix", {ignore("CVE-2024-000", 0), ignore("cve-2024-0001", 0)}, "vulnerable",
         "with 3 findings at or above HIGH: CVE-2024-0001 "},
        {"all of them", {ignore("CVE-2024-0001", 0), ignore("CVE-2024-0002", kNow + kDay), ignore("CVE-2024-0003", 0)},
         "clean", ""},
        {"all but one expired", {ignore("CVE-2024-0001", 0), ignore("CVE-2024-0002", kNow - 1), ignore("CVE-2024-0003", 0)},
         "vulnerable", "with 1 finding at or above HIGH: CVE-2024-0002 "},
    };
    for (const Row& row : rows) {
      CAPTURE(row.name);
      config::Config c = cfg;
      c.rules.images.scan.ignore = row.ignore;
      const Outcome o = judge(pod_with_images({"nginx:1.25"}), c, answers, db);
      REQUIRE(o.verdict.images.size() == 1);
      CHECK(o.verdict.images[0].scan == row.verdict);
      if (row.verdict == "clean") {
        CHECK(o.verdict.decision == Decision::Allowed);
        CHECK(o.verdict.violations.empty());
        // A clean verdict still names the scan it rested on.
        CHECK(o.verdict.images[0].scanBasis == basis("trivy", "0.50.1", kFreshIso, sha('1')));
      } else {
        CHECK(o.verdict.decision == Decision::Denied);
        CHECK(contains(only_scan_violation(o.verdict).message, row.counted));
      }
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
    const Outcome today = judge(pod_with_images({"nginx:1.25"}), cfg, answers, db, Route::Validate, kNow);
    CHECK(today.verdict.images.at(0).scan == "vulnerable");
    CHECK(contains(only_scan_violation(today.verdict).message,
                   "with 1 finding at or above HIGH: CVE-2024-0003 (HIGH, c, no fix yet)"));

    // 2026-11-30T23:59:59Z: still ignored. 2026-12-01T00:00:00Z: expired.
    const std::int64_t endOfDay = 1796083200;
    const Outcome lastSecond = judge(pod_with_images({"nginx:1.25"}), cfg, answers, db, Route::Validate, endOfDay - 1);
    CHECK(contains(only_scan_violation(lastSecond.verdict).message, "with 1 finding at or above HIGH"));
    const Outcome nextDay = judge(pod_with_images({"nginx:1.25"}), cfg, answers, db, Route::Validate, endOfDay);
    CHECK(contains(only_scan_violation(nextDay.verdict).message,
                   "with 2 findings at or above HIGH: CVE-2024-0002 (HIGH, b, no fix yet); CVE-2024-0003 (HIGH, c, no fix yet)"));
  }

  SECTION("ignoring a malware signature does not admit a malicious image") {
    config::Config cfg = scan_config();
    cfg.rules.images.scan.ignore = {config::IgnoredFinding{"Eicar-Test-Signature", "", "", 0}};
    ScanDb bad;
    bad.add(malware_of(sha('1'), "clamav", kFresh, MalwareResult::Malicious, "Eicar-Test-Signature", "/eicar.com"));
    const Outcome o = judge(pod_with_images({"nginx:1.25"}), cfg, answers, bad);
    CHECK(o.verdict.decision == Decision::Denied);
    CHECK(o.verdict.images.at(0).scan == "malicious");
  }
}

TEST_CASE("scan: an unscanned image follows onUnscanned", "[policy][scan][unscanned]") {
  Answers answers;
  answers.digest("nginx:1.25", sha('1'));
  const std::string summary =
      "container \"c0\" uses image \"nginx:1.25\" (" + sha('1') + "), which has not been scanned";

  SECTION("deny with action deny: denied") {
    const config::Config cfg = scan_config(Action::Deny);
    REQUIRE(cfg.rules.images.scan.onUnscanned == OnUnscanned::Deny);
    ScanDb db;
    const Outcome o = judge(pod_with_images({"nginx:1.25"}), cfg, answers, db);
    CHECK(*db.calls == std::vector<std::string>{sha('1')});
    CHECK(o.verdict.decision == Decision::Denied);
    const Violation& v = only_scan_violation(o.verdict);
    CHECK(v.action == Action::Deny);
    CHECK_FALSE(v.deniesInAudit);
    CHECK(v.fieldPath == "spec.containers[0].image");
    CHECK(starts_with(v.message, "Pod default/web: " + summary + "; "));
    CHECK(starts_with(o.verdict.message, "podgate denied Pod default/web: " + summary + "; "));
    CHECK(contains(o.verdict.message, "import the report"));
    CHECK(judged(o.verdict) == std::vector<Judged>{{"container \"c0\"", sha('1'), "unscanned", ""}});
    CHECK(annotated_images(o.verdict) ==
          std::vector<AnnotatedImage>{{"container \"c0\"", "nginx:1.25", sha('1'), "unscanned", ""}});
    // Not forced in audit mode: a would-deny.
    config::Config audit = cfg;
    audit.mode = config::Mode::Audit;
    CHECK(judge(pod_with_images({"nginx:1.25"}), audit, answers, db).verdict.decision == Decision::WouldDeny);
    CHECK(judge(pod_with_images({"nginx:1.25"}), cfg, answers, db, Route::Audit).verdict.decision == Decision::WouldDeny);
  }

  SECTION("deny with action warn: the rule's action, a warning") {
    const config::Config cfg = scan_config(Action::Warn);
    ScanDb db;
    const Outcome o = judge(pod_with_images({"nginx:1.25"}), cfg, answers, db);
    CHECK(o.verdict.decision == Decision::Allowed);
    CHECK(only_scan_violation(o.verdict).action == Action::Warn);
    REQUIRE(o.verdict.warnings.size() == 1);
    CHECK(o.verdict.warnings[0] == "[podgate] warning: Pod default/web: " + summary);
    CHECK(o.verdict.images.at(0).scan == "unscanned");
  }

  SECTION("warn: a warning even when the rule's action is deny") {
    config::Config cfg = scan_config(Action::Deny);
    cfg.rules.images.scan.onUnscanned = OnUnscanned::Warn;
    ScanDb db;
    const Outcome o = judge(pod_with_images({"nginx:1.25"}), cfg, answers, db);
    CHECK(o.verdict.decision == Decision::Allowed);
    CHECK(o.verdict.message.empty());
    CHECK(only_scan_violation(o.verdict).action == Action::Warn);
    REQUIRE(o.verdict.warnings.size() == 1);
    CHECK(o.verdict.warnings[0] == "[podgate] warning: Pod default/web: " + summary);
    CHECK(o.verdict.images.at(0).scan == "unscanned");
  }

  SECTION("allow: no violation, no warning, and the annotation says unscanned") {
    config::Config cfg = scan_config(Action::Deny);
    cfg.rules.images.scan.onUnscanned = OnUnscanned::Allow;
    ScanDb db;
    const Outcome o = judge(pod_with_images({"nginx:1.25"}), cfg, answers, db);
    CHECK(*db.calls == std::vector<std::string>{sha('1')});
    CHECK(o.verdict.decision == Decision::Allowed);
    CHECK(o.verdict.violations.empty());
    CHECK(o.verdict.warnings.empty());
    CHECK(judged(o.verdict) == std::vector<Judged>{{"container \"c0\"", sha('1'), "unscanned", ""}});
    CHECK(annotated_images(o.verdict) ==
          std::vector<AnnotatedImage>{{"container \"c0\"", "nginx:1.25", sha('1'), "unscanned", ""}});
  }

  SECTION("null, an empty list and no lookup at all are the same: unscanned") {
    const config::Config cfg = scan_config(Action::Deny);
    ScanDb empty;
    empty.emptyAnswers = {sha('1')};
    const Outcome e = judge(pod_with_images({"nginx:1.25"}), cfg, answers, empty);
    CHECK(empty.calls_for(sha('1')) == 1);
    CHECK(e.verdict.images.at(0).scan == "unscanned");
    CHECK(e.verdict.decision == Decision::Denied);

    policy::Facts facts;  // no ScanLookup
    facts.resolutions = &answers.map;
    facts.now = kNow;
    const Outcome n = judge_facts(pod_with_images({"nginx:1.25"}), cfg, facts);
    CHECK(n.verdict.images.at(0).scan == "unscanned");
    CHECK(n.verdict.decision == Decision::Denied);
    CHECK(contains(n.verdict.message, "which has not been scanned"));

    // Records about another digest say nothing about this one.
    ScanDb other;
    other.add(scan_of(sha('2'), "trivy", "0.50.1", kFresh));
    CHECK(judge(pod_with_images({"nginx:1.25"}), cfg, answers, other).verdict.images.at(0).scan == "unscanned");
  }
}

TEST_CASE("scan: a stale image follows onUnscanned", "[policy][scan][stale]") {
  Answers answers;
  answers.digest("nginx:1.25", sha('1'));
  ScanDb db;
  // Both older than maxScanAge (7 days); the newest is 10 days and 5 hours old. The one with a
  // critical finding does not count: an old scan counts as none.
  db.add(scan_of(sha('1'), "trivy", "0.50.1", kOld10));
  db.add(scan_of(sha('1'), "grype", "0.74.0", kOld30, {vuln("CVE-2024-3094", Severity::Critical, "xz-utils")}));
  const std::string days = std::to_string((kNow - kOld10) / kDay);
  REQUIRE(days == "10");
  const std::string summary = "container \"c0\" uses image \"nginx:1.25\" (" + sha('1') + "), whose newest scan is " +
                              days + " days old (rules.images.scan.maxScanAge is 7 days)";

  SECTION("deny") {
    const config::Config cfg = scan_config();
    const Outcome o = judge(pod_with_images({"nginx:1.25"}), cfg, answers, db);
    CHECK(o.verdict.decision == Decision::Denied);
    const Violation& v = only_scan_violation(o.verdict);
    CHECK(v.action == Action::Deny);
    CHECK(starts_with(v.message, "Pod default/web: " + summary + "; "));
    CHECK(starts_with(o.verdict.message, "podgate denied Pod default/web: " + summary + "; "));
    CHECK_FALSE(contains(o.verdict.message, "CVE-2024-3094"));
    REQUIRE(o.verdict.images.size() == 1);
    CHECK(o.verdict.images[0].scan == "stale");
    CHECK(o.verdict.images[0].digest == sha('1'));
    const AnnotatedImage a = annotated_images(o.verdict).at(0);
    CHECK(a.scan == std::optional<std::string>("stale"));
    REQUIRE(a.scans);
    CHECK_FALSE(a.scans->empty());
  }

  SECTION("the age is measured from facts.now, not the clock") {
    const Outcome later = judge(pod_with_images({"nginx:1.25"}), scan_config(), answers, db, Route::Validate, kNow + 5 * kDay);
    CHECK(contains(only_scan_violation(later.verdict).message, "whose newest scan is 15 days old"));
    // Back when the trivy scan was 6 days old it was fresh, and the stale grype one did not count.
    const Outcome earlier =
        judge(pod_with_images({"nginx:1.25"}), scan_config(), answers, db, Route::Validate, kOld10 + 6 * kDay);
    CHECK(earlier.verdict.decision == Decision::Allowed);
    CHECK(earlier.verdict.images.at(0).scan == "clean");
    CHECK(earlier.verdict.images.at(0).scanBasis == basis("trivy", "0.50.1", kOld10Iso, sha('1')));
  }

  SECTION("maxScanAge is the limit, inclusive, and the message says it in days") {
    config::Config cfg = scan_config();
    cfg.rules.images.scan.maxScanAge = std::chrono::hours(48);
    ScanDb edge;
    edge.add(scan_of(sha('1'), "trivy", "0.50.1", kNow - 2 * kDay));
    CHECK(judge(pod_with_images({"nginx:1.25"}), cfg, answers, edge).verdict.images.at(0).scan == "clean");
    ScanDb past;
    past.add(scan_of(sha('1'), "trivy", "0.50.1", kNow - 2 * kDay - 1));
    const Outcome o = judge(pod_with_images({"nginx:1.25"}), cfg, answers, past);
    CHECK(o.verdict.images.at(0).scan == "stale");
    CHECK(contains(only_scan_violation(o.verdict).message,
                   "whose newest scan is 2 days old (rules.images.scan.maxScanAge is 2 days)"));
  }

  SECTION("warn and allow") {
    config::Config cfg = scan_config();
    cfg.rules.images.scan.onUnscanned = OnUnscanned::Warn;
    const Outcome w = judge(pod_with_images({"nginx:1.25"}), cfg, answers, db);
    CHECK(w.verdict.decision == Decision::Allowed);
    CHECK(only_scan_violation(w.verdict).action == Action::Warn);
    REQUIRE(w.verdict.warnings.size() == 1);
    CHECK(w.verdict.warnings[0] == "[podgate] warning: Pod default/web: " + summary);
    CHECK(w.verdict.images.at(0).scan == "stale");

    cfg.rules.images.scan.onUnscanned = OnUnscanned::Allow;
    const Outcome a = judge(pod_with_images({"nginx:1.25"}), cfg, answers, db);
    CHECK(a.verdict.decision == Decision::Allowed);
    CHECK(a.verdict.violations.empty());
    CHECK(a.verdict.warnings.empty());
    CHECK(a.verdict.images.at(0).scan == "stale");
    CHECK(annotated_images(a.verdict).at(0).scan == std::optional<std::string>("stale"));
  }

  SECTION("action warn with onUnscanned deny: the rule's action") {
    const Outcome o = judge(pod_with_images({"nginx:1.25"}), scan_config(Action::Warn), answers, db);
    CHECK(o.verdict.decision == Decision::Allowed);
    CHECK(only_scan_violation(o.verdict).action == Action::Warn);
  }
}

// BUG (lib/policy/policy.cpp check_scan, stale branch): for a stale image scanBasis is
// describe_scan(all.front()), the first record the lookup returned, not the newest one the verdict
// and the message rest on. Input: grype at 2026-10-31T12:00:00Z returned before trivy at
// 2026-11-20T07:00:00Z, now 2026-11-30T12:00:00Z, maxScanAge 7 days. The message says "whose newest
// scan is 10 days old" (trivy), so the `images` annotation and decision log should name that scan.
// Expected: scanBasis contains "trivy 0.50.1 2026-11-20T07:00:00Z sha256:111...". Actual:
// "grype 0.74.0 2026-10-31T12:00:00Z sha256:111...".
TEST_CASE("scan: BUG: a stale verdict's basis names the newest scan", "[policy][scan][stale]") {
  Answers answers;
  answers.digest("nginx:1.25", sha('1'));
  ScanDb db;
  db.add(scan_of(sha('1'), "grype", "0.74.0", kOld30));
  db.add(scan_of(sha('1'), "trivy", "0.50.1", kOld10));
  const Outcome o = judge(pod_with_images({"nginx:1.25"}), scan_config(), answers, db);
  REQUIRE(o.verdict.images.size() == 1);
  REQUIRE(o.verdict.images[0].scan == "stale");
  REQUIRE(contains(only_scan_violation(o.verdict).message, "whose newest scan is 10 days old"));
  INFO("scanBasis: " << o.verdict.images[0].scanBasis);
  CHECK(contains(o.verdict.images[0].scanBasis, basis("trivy", "0.50.1", kOld10Iso, sha('1'))));
}

TEST_CASE("scan: a fresh scan is used and an old one ignored", "[policy][scan][stale]") {
  Answers answers;
  answers.digest("nginx:1.25", sha('1'));
  const config::Config cfg = scan_config();

  SECTION("fresh clean, old vulnerable: clean, resting on the fresh scan only") {
    ScanDb db;
    db.add(scan_of(sha('1'), "grype", "0.70.0", kOld30, {vuln("CVE-2024-3094", Severity::Critical, "xz-utils")}));
    db.add(scan_of(sha('1'), "trivy", "0.50.1", kFresh));
    const Outcome o = judge(pod_with_images({"nginx:1.25"}), cfg, answers, db);
    CHECK(o.verdict.decision == Decision::Allowed);
    CHECK(o.verdict.violations.empty());
    CHECK(judged(o.verdict) ==
          std::vector<Judged>{{"container \"c0\"", sha('1'), "clean", basis("trivy", "0.50.1", kFreshIso, sha('1'))}});
  }

  SECTION("fresh vulnerable, old clean: vulnerable") {
    ScanDb db;
    db.add(scan_of(sha('1'), "trivy", "0.49.0", kOld30));
    db.add(scan_of(sha('1'), "grype", "0.74.0", kFresher, {vuln("CVE-2024-3094", Severity::Critical, "xz-utils", "5.6.1-r2")}));
    const Outcome o = judge(pod_with_images({"nginx:1.25"}), cfg, answers, db);
    CHECK(o.verdict.decision == Decision::Denied);
    CHECK(contains(only_scan_violation(o.verdict).message,
                   "with 1 finding at or above CRITICAL: CVE-2024-3094 (CRITICAL, xz-utils, fixed in 5.6.1-r2)"));
    CHECK(judged(o.verdict) == std::vector<Judged>{{"container \"c0\"", sha('1'), "vulnerable",
                                                    basis("grype", "0.74.0", kFresherIso, sha('1'))}});
  }
}

TEST_CASE("scan: a malicious image is denied everywhere", "[policy][scan][malicious]") {
  Answers answers;
  answers.digest("nginx:1.25", sha('1'));
  ScanDb db;
  db.add(malware_of(sha('1'), "clamav", kFresh, MalwareResult::Malicious, "Unix.Trojan.Mirai-7100807-0", "/usr/bin/.x"));
  const std::string summary = "container \"c0\" uses image \"nginx:1.25\" (" + sha('1') +
                              "), which clamav found malicious (Unix.Trojan.Mirai-7100807-0 in /usr/bin/.x)";
  const std::string malBasis = basis("clamav", "1.4.1", kFreshIso, sha('1'));

  auto check_malicious = [&](const Outcome& o, bool preexisting) {
    CHECK(o.verdict.decision == Decision::Denied);
    const Violation& v = only_scan_violation(o.verdict);
    CHECK(v.action == Action::Deny);
    CHECK(v.deniesInAudit);
    CHECK(v.preexisting == preexisting);
    CHECK(v.fieldPath == "spec.containers[0].image");
    CHECK(starts_with(v.message, "Pod default/web: " + summary + "; "));
    CHECK(starts_with(o.verdict.message, "podgate denied Pod default/web: " + summary + "; "));
    CHECK(contains(o.verdict.message, "refused in every mode, audit included"));
    CHECK(o.verdict.warnings.empty());
    CHECK(judged(o.verdict) == std::vector<Judged>{{"container \"c0\"", sha('1'), "malicious", malBasis}});
    CHECK(annotated_images(o.verdict) ==
          std::vector<AnnotatedImage>{{"container \"c0\"", "nginx:1.25", sha('1'), "malicious", malBasis}});
    CHECK(annotation(o.verdict, "decision") == std::optional<std::string>("denied"));
    CHECK_FALSE(annotation(o.verdict, "would-deny"));
    const admission::Response r = policy::to_response("uid-1", o.verdict);
    CHECK_FALSE(r.allowed);
    CHECK(r.code == 403);
  };

  SECTION("enforce") { check_malicious(judge(pod_with_images({"nginx:1.25"}), scan_config(), answers, db), false); }

  SECTION("the scan rule's action warn does not soften it") {
    check_malicious(judge(pod_with_images({"nginx:1.25"}), scan_config(Action::Warn), answers, db), false);
  }

  SECTION("audit mode and the /audit route") {
    config::Config audit = scan_config();
    audit.mode = config::Mode::Audit;
    const Outcome a = judge(pod_with_images({"nginx:1.25"}), audit, answers, db);
    CHECK(a.verdict.mode == config::Mode::Audit);
    check_malicious(a, false);
    const Outcome r = judge(pod_with_images({"nginx:1.25"}), scan_config(), answers, db, Route::Audit);
    CHECK(r.verdict.mode == config::Mode::Audit);
    check_malicious(r, false);
  }

  SECTION("UPDATE of a pod that already ran it: preexisting, still denied, on either route") {
    check_malicious(judge(pod_update({"nginx:1.25"}, {"nginx:1.25"}), scan_config(), answers, db), true);
    check_malicious(judge(pod_update({"nginx:1.25"}, {"nginx:1.25"}), scan_config(), answers, db, Route::Audit), true);
  }

  SECTION("malicious beats a clean fresh scan, and a clean malware scan by another scanner") {
    ScanDb mixed;
    mixed.add(scan_of(sha('1'), "trivy", "0.50.1", kFresher));
    mixed.add(malware_of(sha('1'), "yara", kFresher, MalwareResult::Clean));
    mixed.add(malware_of(sha('1'), "clamav", kFresh, MalwareResult::Malicious, "Unix.Trojan.Mirai-7100807-0", "/usr/bin/.x"));
    check_malicious(judge(pod_with_images({"nginx:1.25"}), scan_config(), answers, mixed), false);
  }

  SECTION("a stale malicious scan still denies (a backdoor does not age out)") {
    ScanDb old;
    old.add(malware_of(sha('1'), "clamav", kOld60, MalwareResult::Malicious));
    const Outcome o = judge(pod_with_images({"nginx:1.25"}), scan_config(), answers, old);
    CHECK(o.verdict.decision == Decision::Denied);
    const Violation& v = only_scan_violation(o.verdict);
    CHECK(v.deniesInAudit);
    // Without a signature the message just says it was found malicious.
    CHECK(contains(v.message, "uses image \"nginx:1.25\" (" + sha('1') + "), which clamav found malicious; "));
    CHECK(judged(o.verdict) == std::vector<Judged>{{"container \"c0\"", sha('1'), "malicious",
                                                    basis("clamav", "1.4.1", kOld60Iso, sha('1'))}});
    // Even under onUnscanned allow, where a stale scan is otherwise let through silently.
    config::Config lax = scan_config();
    lax.rules.images.scan.onUnscanned = OnUnscanned::Allow;
    CHECK(judge(pod_with_images({"nginx:1.25"}), lax, answers, old).verdict.decision == Decision::Denied);
  }

  SECTION("a malware scan that was clean or errored, or a record that is no malware scan, is not malicious") {
    for (const MalwareResult result : {MalwareResult::Clean, MalwareResult::Error, MalwareResult::None}) {
      CAPTURE(scan::to_string(result));
      ScanDb other;
      other.add(malware_of(sha('1'), "clamav", kFresh, result));
      const Outcome o = judge(pod_with_images({"nginx:1.25"}), scan_config(), answers, other);
      CHECK(o.verdict.images.at(0).scan != "malicious");
      CHECK(std::none_of(o.verdict.violations.begin(), o.verdict.violations.end(),
                         [](const Violation& v) { return v.deniesInAudit; }));
    }
  }
}

TEST_CASE("scan: an index is judged by its digest and its children's", "[policy][scan][index]") {
  Answers answers;
  answers.digest("ghcr.io/org/multi:1", sha('c'),
                 {{"linux/amd64", sha('d')}, {"linux/arm64/v8", sha('e')}, {"unknown/unknown", sha('f')}});
  const std::string image = "ghcr.io/org/multi:1";

  SECTION("a vulnerable child makes the index vulnerable") {
    ScanDb db;
    db.add(scan_of(sha('c'), "trivy", "0.50.1", kFresh));
    db.add(scan_of(sha('e'), "grype", "0.74.0", kFresher, {vuln("CVE-2024-3094", Severity::Critical, "xz-utils")}));
    const Outcome o = judge(pod_with_images({image}), scan_config(), answers, db);
    // The index first, then every child.
    CHECK(*db.calls == std::vector<std::string>{sha('c'), sha('d'), sha('e'), sha('f')});
    CHECK(o.verdict.decision == Decision::Denied);
    CHECK(contains(only_scan_violation(o.verdict).message,
                   "uses image \"" + image + "\" with 1 finding at or above CRITICAL: CVE-2024-3094 (CRITICAL, xz-utils, no fix yet)"));
    REQUIRE(o.verdict.images.size() == 1);
    CHECK(o.verdict.images[0].digest == sha('c'));
    CHECK(o.verdict.images[0].scan == "vulnerable");
    CHECK(o.verdict.images[0].scanBasis == basis("trivy", "0.50.1", kFreshIso, sha('c')) + ", " +
                                              basis("grype", "0.74.0", kFresherIso, sha('e')));
  }

  SECTION("the same finding in two platforms counts once") {
    ScanDb db;
    db.add(scan_of(sha('d'), "trivy", "0.50.1", kFresh, {vuln("CVE-2024-3094", Severity::Critical, "xz-utils")}));
    db.add(scan_of(sha('e'), "trivy", "0.50.1", kFresh, {vuln("CVE-2024-3094", Severity::Critical, "xz-utils")}));
    const Outcome o = judge(pod_with_images({image}), scan_config(), answers, db);
    CHECK(contains(only_scan_violation(o.verdict).message, "with 1 finding at or above CRITICAL"));
  }

  SECTION("children scanned, the index not: scanned") {
    ScanDb db;
    db.add(scan_of(sha('d'), "trivy", "0.50.1", kFresh));
    const Outcome o = judge(pod_with_images({image}), scan_config(), answers, db);
    CHECK(o.verdict.decision == Decision::Allowed);
    CHECK(judged(o.verdict) == std::vector<Judged>{{"container \"c0\"", sha('c'), "clean",
                                                    basis("trivy", "0.50.1", kFreshIso, sha('d'))}});
  }

  SECTION("nothing scanned: the unscanned message names the index digest") {
    ScanDb db;
    const Outcome o = judge(pod_with_images({image}), scan_config(), answers, db);
    CHECK(db.calls->size() == 4);
    CHECK(o.verdict.images.at(0).scan == "unscanned");
    CHECK(contains(o.verdict.message, "podgate denied Pod default/web: container \"c0\" uses image \"" + image + "\" (" +
                                          sha('c') + "), which has not been scanned"));
  }

  SECTION("a malicious child denies in audit mode; the message names the child") {
    ScanDb db;
    db.add(scan_of(sha('c'), "trivy", "0.50.1", kFresh));
    db.add(malware_of(sha('e'), "clamav", kFresh, MalwareResult::Malicious, "Win.Test.EICAR_HDB-1", "/eicar"));
    config::Config audit = scan_config();
    audit.mode = config::Mode::Audit;
    for (const Route route : {Route::Validate, Route::Audit}) {
      const Outcome o = judge(pod_with_images({image}), audit, answers, db, route);
      CHECK(o.verdict.decision == Decision::Denied);
      const Violation& v = only_scan_violation(o.verdict);
      CHECK(v.deniesInAudit);
      CHECK(starts_with(o.verdict.message, "podgate denied Pod default/web: container \"c0\" uses image \"" + image + "\" (" +
                                               sha('e') + "), which clamav found malicious (Win.Test.EICAR_HDB-1 in /eicar)"));
      CHECK(judged(o.verdict) == std::vector<Judged>{{"container \"c0\"", sha('c'), "malicious",
                                                      basis("clamav", "1.4.1", kFreshIso, sha('e'))}});
    }
    // On UPDATE too, where the image was already running.
    const Outcome u = judge(pod_update({image}, {image}), audit, answers, db, Route::Audit);
    CHECK(u.verdict.decision == Decision::Denied);
    CHECK(only_scan_violation(u.verdict).preexisting);
  }
}

TEST_CASE("scan: a digest-pinned image is judged by its own digest", "[policy][scan][digest]") {
  const std::string pinned = "ghcr.io/org/app@" + sha('a');
  const std::string taggedAndPinned = "ghcr.io/org/app:1.0@" + sha('b');
  Answers none;  // no registry involved
  ScanDb db;
  db.add(scan_of(sha('a'), "trivy", "0.50.1", kFresh, {vuln("CVE-2024-3094", Severity::Critical, "xz-utils")}));
  db.add(scan_of(sha('b'), "trivy", "0.50.1", kFresh));
  const Outcome o = judge(pod_with_images({pinned, taggedAndPinned}), scan_config(), none, db);
  CHECK(o.toResolve.empty());
  CHECK(*db.calls == std::vector<std::string>{sha('a'), sha('b')});
  CHECK(o.verdict.decision == Decision::Denied);
  const Violation& v = only_scan_violation(o.verdict);
  CHECK(v.subject == "container \"c0\"");
  CHECK(v.value == pinned);
  CHECK(starts_with(o.verdict.message, "podgate denied Pod default/web: container \"c0\" uses image \"" + pinned +
                                           "\" with 1 finding at or above CRITICAL: CVE-2024-3094"));
  CHECK(judged(o.verdict) ==
        std::vector<Judged>{{"container \"c0\"", sha('a'), "vulnerable", basis("trivy", "0.50.1", kFreshIso, sha('a'))},
                            {"container \"c1\"", sha('b'), "clean", basis("trivy", "0.50.1", kFreshIso, sha('b'))}});
  CHECK(o.verdict.resolveFailuresDenied == 0);
}

TEST_CASE("scan: images already refused or not resolved are not looked up", "[policy][scan][refused]") {
  config::Config cfg = scan_config();
  cfg.rules.images.trustedRegistries = {"docker.io", "ghcr.io"};
  cfg.rules.images.blocked = {"docker.io/evil/miner", sha('b')};
  Answers answers;
  answers.digest("ghcr.io/org/blocked:2", sha('b'))
      .failure("ghcr.io/org/slow:1", Failure::Timeout, "ghcr.io timed out")
      .failure("ghcr.io/org/gone:1", Failure::NotFound, "ghcr.io answered 404 MANIFEST_UNKNOWN");
  // Records that would deny (or, for a blocked digest, be moot) if they were consulted.
  ScanDb db;
  db.add(malware_of(sha('b'), "clamav", kFresh, MalwareResult::Malicious, "Sig", "/x"));
  db.add(malware_of(sha('c'), "clamav", kFresh, MalwareResult::Malicious, "Sig", "/x"));
  const std::vector<std::string> images{
      "quay.io/x/y:1",               // untrusted
      "evil/miner:1",                // blocked by name
      "ghcr.io/org/blocked:2",       // blocked by the digest it resolves to
      "ghcr.io/org/slow:1",          // resolution failed
      "ghcr.io/org/gone:1",          // not found
      "ghcr.io/org/unasked:1",       // no resolution at all
      "Bad/Name",                    // invalid
      "quay.io/x/y@" + sha('c'),     // pinned, but untrusted
      "evil/miner@" + sha('c'),      // pinned, but blocked by name
  };

  for (const auto onError : {config::OnResolveError::Deny, config::OnResolveError::Allow}) {
    CAPTURE(config::to_string(onError));
    cfg.rules.images.onResolveError = onError;
    ScanDb fresh = db;
    fresh.calls = std::make_shared<std::vector<std::string>>();
    const Outcome o = judge(pod_with_images(images), cfg, answers, fresh);
    CHECK(fresh.calls->empty());
    CHECK(scan_violations(o.verdict).empty());
    CHECK(o.verdict.violations.size() == images.size());
    REQUIRE(o.verdict.images.size() == images.size());
    for (const JudgedImage& j : o.verdict.images) {
      CAPTURE(j.image);
      CHECK(j.scan.empty());
      CHECK(j.scanBasis.empty());
    }
    for (const AnnotatedImage& a : annotated_images(o.verdict)) CHECK_FALSE(a.scan);
  }

  SECTION("requireDigest: a tag-only image is refused without a lookup") {
    config::Config strict = scan_config();
    strict.rules.images.requireDigest = true;
    Answers a;
    a.digest("nginx:1.25", sha('c'));
    ScanDb fresh = db;
    fresh.calls = std::make_shared<std::vector<std::string>>();
    const Outcome o = judge(pod_with_images({"nginx:1.25"}), strict, a, fresh);
    CHECK(fresh.calls->empty());
    CHECK(scan_violations(o.verdict).empty());
    REQUIRE(o.verdict.violations.size() == 1);
    CHECK(o.verdict.violations[0].rule == "images");
  }
}

TEST_CASE("scan: exemptions skip the rule", "[policy][scan][exemptions]") {
  Answers answers;
  answers.digest("quay.io/vendor/agent:1", sha('1')).digest("nginx:1.25", sha('2'));
  ScanDb db;
  db.add(malware_of(sha('1'), "clamav", kFresh, MalwareResult::Malicious, "Sig", "/x"));
  db.add(scan_of(sha('2'), "trivy", "0.50.1", kFresh));

  SECTION("an exempt namespace: nothing looked up, allowed") {
    const config::Config cfg = scan_config();
    const Outcome o = judge(pod_with_images({"quay.io/vendor/agent:1"}, "kube-system"), cfg, answers, db);
    CHECK(db.calls->empty());
    CHECK(o.verdict.decision == Decision::Allowed);
    CHECK(o.verdict.violations.empty());
    CHECK(o.verdict.images.empty());
    REQUIRE(o.verdict.exemptions.size() == 1);
    CHECK(o.verdict.exemptions[0].kind == "namespace");
  }

  SECTION("an exempt image: that image is not looked up, the others are") {
    config::Config cfg = scan_config();
    cfg.exemptions.images = {"quay.io/vendor/**"};
    config::Config audit = cfg;
    audit.mode = config::Mode::Audit;
    for (const config::Config* c : {&cfg, &audit}) {
      ScanDb fresh = db;
      fresh.calls = std::make_shared<std::vector<std::string>>();
      const Outcome o = judge(pod_with_images({"quay.io/vendor/agent:1", "nginx:1.25"}), *c, answers, fresh);
      CHECK(*fresh.calls == std::vector<std::string>{sha('2')});
      CHECK(o.verdict.decision == Decision::Allowed);
      CHECK(o.verdict.violations.empty());
      REQUIRE(o.verdict.exemptions.size() == 1);
      CHECK(o.verdict.exemptions[0].kind == "image");
      CHECK(o.verdict.exemptions[0].value == "quay.io/vendor/agent:1");
      CHECK(judged(o.verdict) ==
            std::vector<Judged>{{"container \"c1\"", sha('2'), "clean", basis("trivy", "0.50.1", kFreshIso, sha('2'))}});
    }
  }

  SECTION("an exempt service account: nothing looked up") {
    config::Config cfg = scan_config();
    cfg.exemptions.serviceAccounts = {"default:vendor"};
    const std::string spec = pod_spec({R"("serviceAccountName":"vendor")",
                                       list("containers", {container("agent", "quay.io/vendor/agent:1")})});
    const Outcome o = judge(create_review(pod_kind(), spec), cfg, answers, db);
    CHECK(db.calls->empty());
    CHECK(o.verdict.decision == Decision::Allowed);
    CHECK(o.verdict.images.empty());
  }
}

TEST_CASE("scan: every verdict in one pod, as the metrics and the audit annotation see it", "[policy][scan][metrics]") {
  Answers answers;
  answers.digest("ghcr.io/org/clean:1", sha('1'))
      .digest("ghcr.io/org/vuln:1", sha('2'))
      .digest("ghcr.io/org/mal:1", sha('3'))
      .digest("ghcr.io/org/none:1", sha('4'))
      .digest("ghcr.io/org/old:1", sha('5'));
  ScanDb db;
  db.add(scan_of(sha('1'), "trivy", "0.50.1", kFresh, {vuln("CVE-2024-0001", Severity::High, "openssl")}));
  db.add(scan_of(sha('2'), "trivy", "0.50.1", kFresh, {vuln("CVE-2024-3094", Severity::Critical, "xz-utils")}));
  db.add(malware_of(sha('3'), "clamav", kFresher, MalwareResult::Malicious, "Sig", "/x"));
  db.add(scan_of(sha('5'), "grype", "0.74.0", kOld30));
  const std::vector<std::string> images{"ghcr.io/org/clean:1", "ghcr.io/org/vuln:1", "ghcr.io/org/mal:1",
                                        "ghcr.io/org/none:1", "ghcr.io/org/old:1"};
  const std::vector<Judged> expected{
      {"container \"c0\"", sha('1'), "clean", basis("trivy", "0.50.1", kFreshIso, sha('1'))},
      {"container \"c1\"", sha('2'), "vulnerable", basis("trivy", "0.50.1", kFreshIso, sha('2'))},
      {"container \"c2\"", sha('3'), "malicious", basis("clamav", "1.4.1", kFresherIso, sha('3'))},
      {"container \"c3\"", sha('4'), "unscanned", ""},
      {"container \"c4\"", sha('5'), "stale", basis("grype", "0.74.0", kOld30Iso, sha('5'))},
  };

  const Outcome o = judge(pod_with_images(images), scan_config(), answers, db);
  CHECK(judged(o.verdict) == expected);
  std::vector<AnnotatedImage> annotated;
  for (std::size_t i = 0; i < expected.size(); ++i)
    annotated.push_back(AnnotatedImage{expected[i].subject, images[i], expected[i].digest, expected[i].scan, expected[i].basis});
  CHECK(annotated_images(o.verdict) == annotated);
  CHECK(o.verdict.resolveFailuresDenied == 0);
  CHECK(o.verdict.resolveFailuresAllowed == 0);
  // Four denying violations, in spec order, behind the one prefix.
  CHECK(o.verdict.decision == Decision::Denied);
  const auto violations = scan_violations(o.verdict);
  REQUIRE(violations.size() == 4);
  CHECK(violations[0]->subject == "container \"c1\"");
  CHECK(violations[1]->subject == "container \"c2\"");
  CHECK(violations[2]->subject == "container \"c3\"");
  CHECK(violations[3]->subject == "container \"c4\"");
  CHECK(starts_with(o.verdict.message, "podgate denied Pod default/web: 4 violations: (1) container \"c1\" uses image"));
  CHECK(contains(o.verdict.message, "(2) container \"c2\" uses image \"ghcr.io/org/mal:1\""));
  CHECK(contains(o.verdict.message, "(3) container \"c3\" uses image \"ghcr.io/org/none:1\""));
  CHECK(contains(o.verdict.message, "(4) container \"c4\" uses image \"ghcr.io/org/old:1\""));
  CHECK(annotation(o.verdict, "violation-count") == std::optional<std::string>("4"));

  // Under onUnscanned allow the verdicts are the same; only the violations change.
  config::Config lax = scan_config();
  lax.rules.images.scan.onUnscanned = OnUnscanned::Allow;
  const Outcome l = judge(pod_with_images(images), lax, answers, db);
  CHECK(judged(l.verdict) == expected);
  CHECK(scan_violations(l.verdict).size() == 2);
}

// BUG (lib/policy/policy.cpp evaluate, deny message): in audit mode (config mode audit, or the
// /audit route) a malicious image forces a deny, but every other Deny-action violation is then put
// into the deny message as if it had denied too, and gets no "would deny" warning. Input: Pod
// default/web with c0 ghcr.io/org/vuln:1 (a fresh CRITICAL finding) and c1 ghcr.io/org/mal:1
// (clamav malicious), scan action deny, mode audit. Expected: the request is denied naming only the
// malicious image ("podgate denied Pod default/web: container \"c1\" uses image ... found
// malicious ..."), and c0 is reported as "[podgate] would deny: ..." in the warnings, as it is when
// the malicious image is absent. Actual: message "podgate denied Pod default/web: 2 violations: (1)
// container \"c0\" ... at or above CRITICAL ... (2) container \"c1\" ... malicious ...", and no
// warnings: audit mode claims to deny for a finding it only audits.
TEST_CASE("scan: BUG: in audit mode a malicious image's deny names only what denies in audit",
          "[policy][scan][malicious]") {
  Answers answers;
  answers.digest("ghcr.io/org/vuln:1", sha('2')).digest("ghcr.io/org/mal:1", sha('3'));
  ScanDb db;
  db.add(scan_of(sha('2'), "trivy", "0.50.1", kFresh, {vuln("CVE-2024-3094", Severity::Critical, "xz-utils")}));
  db.add(malware_of(sha('3'), "clamav", kFresh, MalwareResult::Malicious, "Sig", "/x"));
  config::Config cfg = scan_config();
  cfg.mode = config::Mode::Audit;
  const Outcome o = judge(pod_with_images({"ghcr.io/org/vuln:1", "ghcr.io/org/mal:1"}), cfg, answers, db);
  REQUIRE(o.verdict.decision == Decision::Denied);
  INFO("message: " << o.verdict.message);
  CHECK(starts_with(o.verdict.message, "podgate denied Pod default/web: container \"c1\" uses image \"ghcr.io/org/mal:1\""));
  CHECK_FALSE(contains(o.verdict.message, "CVE-2024-3094"));
  REQUIRE(o.verdict.warnings.size() == 1);
  CHECK(starts_with(o.verdict.warnings[0], "[podgate] would deny: Pod default/web: container \"c0\""));
}

// BUG (lib/policy/policy.cpp check_scan, deduplication): when two scanners report the same finding
// (id and package) with different severities, the first record's copy is kept, so the message can
// leave out the worst finding although it promises "the three worst ... worst first" (and which
// one is named depends on the order the cache returns the scanners in). Input: threshold HIGH;
// trivy: CVE-A/a, CVE-B/b, CVE-C/c, CVE-D/d all HIGH; grype: CVE-D/d CRITICAL; trivy returned
// first. Expected: "with 4 findings at or above HIGH: CVE-D (CRITICAL, d, no fix yet); ...". Actual:
// "with 4 findings at or above HIGH: CVE-A (HIGH, a, no fix yet); CVE-B (HIGH, b, no fix yet); CVE-C
// (HIGH, c, no fix yet); ..." (CVE-D kept as HIGH, not named).
TEST_CASE("scan: BUG: a finding two scanners rate differently counts at its worst severity",
          "[policy][scan][vulnerable]") {
  config::Config cfg = scan_config();
  cfg.rules.images.scan.severityThreshold = "HIGH";
  Answers answers;
  answers.digest("nginx:1.25", sha('1'));
  ScanDb db;
  db.add(scan_of(sha('1'), "trivy", "0.50.1", kFresh,
                 {vuln("CVE-A", Severity::High, "a"), vuln("CVE-B", Severity::High, "b"), vuln("CVE-C", Severity::High, "c"),
                  vuln("CVE-D", Severity::High, "d")}));
  db.add(scan_of(sha('1'), "grype", "0.74.0", kFresh, {vuln("CVE-D", Severity::Critical, "d")}));
  const Outcome o = judge(pod_with_images({"nginx:1.25"}), cfg, answers, db);
  REQUIRE(o.verdict.decision == Decision::Denied);
  INFO("message: " << only_scan_violation(o.verdict).message);
  CHECK(contains(only_scan_violation(o.verdict).message,
                 "with 4 findings at or above HIGH: CVE-D (CRITICAL, d, no fix yet); "));
}
