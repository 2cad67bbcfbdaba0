// The scan step of the image rule (rules.images.scan): verdicts from the scan cache on the digests
// the image rule resolved. In three steps: malicious (by any scan), freshness (no scan younger
// than maxScanAge follows onUnscanned), then the findings of the fresh scans.

#include <algorithm>
#include <array>
#include <chrono>

#include "policy/rule_support.h"
#include "scan/scan.h"
#include "util/time.h"

namespace podgate::policy::detail {

namespace {

using config::Action;

bool severity_at_least(scan::Severity s, const std::string& threshold) {
  const auto t = scan::parse_severity(threshold);
  return static_cast<int>(s) >= static_cast<int>(t.value_or(scan::Severity::Critical));
}

// One scanner's record about one of the image's digests.
struct Seen {
  const scan::ScanRecord* record;
  std::string digest;
};

// Every record about the image's digests, in digest order.
struct Scans {
  std::vector<std::shared_ptr<const std::vector<scan::ScanRecord>>> hold;  // keeps the records alive
  std::vector<Seen> all;
};

Scans gather(const RuleSet& rules, const std::vector<std::string>& digests) {
  Scans scans;
  for (const auto& d : digests) {
    auto records = rules.scans && *rules.scans ? (*rules.scans)(d) : nullptr;
    if (!records) continue;
    scans.hold.push_back(records);
    for (const auto& r : *records) scans.all.push_back(Seen{&r, d});
  }
  return scans;
}

// "trivy 0.50.1 2026-11-28T10:00:00Z sha256:...": which scan a verdict rests on.
std::string describe_scan(const Seen& s) {
  std::string out = s.record->scanner;
  if (!s.record->scannerVersion.empty()) out += " " + s.record->scannerVersion;
  return out + " " + util::rfc3339(s.record->scannedAt) + " " + s.digest;
}

Finding scan_finding(const PlannedImage& image, Action action) {
  Finding f;
  f.violation.rule = "scan";
  f.violation.action = action;
  f.violation.subject = image.subject;
  f.violation.fieldPath = image.field;
  f.violation.value = image.image;
  return f;
}

// Malicious, by any scan however old: a backdoor does not become safe with time. Returns whether
// one was found (then it is the verdict).
bool check_malicious(const PlannedImage& image, const std::vector<Seen>& all, JudgedImage& judged,
                     std::vector<Finding>& findings) {
  for (const auto& s : all) {
    if (s.record->malware != scan::MalwareResult::Malicious) continue;
    Finding f = scan_finding(image, Action::Deny);
    f.violation.deniesInAudit = true;
    std::string what;
    for (const auto& x : s.record->findings)
      if (x.kind == "malware") {
        what = x.id + (x.package.empty() ? "" : " in " + x.package);
        break;
      }
    f.summary = image.subject + " uses image " + quote(image.image) + " (" + s.digest + "), which " +
                s.record->scanner + " found malicious" + (what.empty() ? "" : " (" + printable(what) + ")");
    f.detail = f.summary + "; known-malicious images are refused in every mode, audit included. Remove the image "
                           "and investigate where it came from.";
    judged.scan = "malicious";
    judged.scanBasis = describe_scan(s);
    findings.push_back(std::move(f));
    return true;
  }
  return false;
}

// No fresh scan: "stale" when there are only old ones, else "unscanned"; onUnscanned decides.
void check_unscanned(const RuleSet& rules, const PlannedImage& image, const std::vector<std::string>& digests,
                     const std::vector<Seen>& all, JudgedImage& judged, std::vector<Finding>& findings) {
  const auto& rule = rules.config.rules.images.scan;
  const std::int64_t max_age = std::chrono::duration_cast<std::chrono::seconds>(rule.maxScanAge).count();
  const Seen* newest = nullptr;
  for (const auto& s : all)
    if (!newest || s.record->scannedAt > newest->record->scannedAt) newest = &s;
  judged.scan = newest ? "stale" : "unscanned";
  if (newest) judged.scanBasis = describe_scan(*newest);  // the scan "N days old" refers to
  if (rule.onUnscanned == config::OnUnscanned::Allow) return;
  const Action action = rule.onUnscanned == config::OnUnscanned::Warn ? Action::Warn : rule.action;
  Finding f = scan_finding(image, action);
  if (newest) {
    const std::int64_t days = (rules.now - newest->record->scannedAt) / 86400;
    f.summary = image.subject + " uses image " + quote(image.image) + " (" + digests.front() +
                "), whose newest scan is " + std::to_string(days) + " days old (rules.images.scan.maxScanAge is " +
                std::to_string(max_age / 86400) + " days)";
    f.detail = f.summary + "; new vulnerabilities are found every day, so an old scan counts as none. Re-scan the "
                           "image and import the report (podgate scans import, or POST /v1/scans).";
  } else {
    f.summary = image.subject + " uses image " + quote(image.image) + " (" + digests.front() + "), which has not been scanned";
    f.detail = f.summary + "; scan it (Trivy, Grype) and import the report (podgate scans import, or POST "
                           "/v1/scans) before deploying it.";
  }
  findings.push_back(std::move(f));
}

// Findings at or above the threshold, from every fresh scan, less what is ignored; worst first.
std::vector<const scan::Finding*> bad_findings(const RuleSet& rules, const std::vector<const Seen*>& fresh) {
  const auto& rule = rules.config.rules.images.scan;
  std::vector<const scan::Finding*> bad;
  for (const Seen* s : fresh) {
    for (const auto& x : s->record->findings) {
      if (!severity_at_least(x.severity, rule.severityThreshold)) continue;
      const bool ignored = std::any_of(rule.ignore.begin(), rule.ignore.end(), [&](const config::IgnoredFinding& i) {
        return i.id == x.id && (i.expiresAt == 0 || rules.now < i.expiresAt);
      });
      if (ignored) continue;
      // The same finding from two scanners counts once, at the worse of their ratings.
      auto same = std::find_if(bad.begin(), bad.end(), [&](const scan::Finding* y) {
        return y->id == x.id && y->package == x.package;
      });
      if (same == bad.end()) bad.push_back(&x);
      else if (static_cast<int>(x.severity) > static_cast<int>((*same)->severity)) *same = &x;
    }
  }
  std::stable_sort(bad.begin(), bad.end(), [](const scan::Finding* a, const scan::Finding* b) {
    return static_cast<int>(a->severity) > static_cast<int>(b->severity);
  });
  return bad;
}

// Findings a record counts but does not list, at or above the threshold. An ImageScan object
// lists only findings at or above its floor and drops more to stay small (scan/imagescan.h),
// keeping all of them in counts. What is not listed cannot be matched against the ignore list, so
// it is bad; per severity, the most any one fresh scan leaves unlisted (two scanners' unlisted
// findings are likely the same ones).
struct Unlisted {
  std::array<int, scan::kSeverityCount> count{};
  int total = 0;
  std::string scanners;  // "trivy, grype": whose scans left them out
};

Unlisted unlisted_findings(const RuleSet& rules, const std::vector<const Seen*>& fresh) {
  const auto& rule = rules.config.rules.images.scan;
  Unlisted out;
  for (const Seen* s : fresh) {
    std::array<int, scan::kSeverityCount> listed{};
    for (const auto& x : s->record->findings) {
      const auto i = static_cast<std::size_t>(x.severity);
      if (i < scan::kSeverityCount) ++listed[i];
    }
    bool any = false;
    for (std::size_t i = 0; i < scan::kSeverityCount; ++i) {
      if (!severity_at_least(static_cast<scan::Severity>(i), rule.severityThreshold)) continue;
      const int extra = s->record->counts[i] - listed[i];
      if (extra <= 0) continue;
      any = true;
      out.count[i] = std::max(out.count[i], extra);
    }
    if (any && out.scanners.find(s->record->scanner) == std::string::npos)
      out.scanners += (out.scanners.empty() ? "" : ", ") + printable(s->record->scanner);
  }
  for (int c : out.count) out.total += c;
  return out;
}

// "2 findings at CRITICAL and 1 at HIGH", worst first.
std::string describe_unlisted(const Unlisted& u) {
  std::string out;
  bool first = true;
  for (std::size_t i = scan::kSeverityCount; i-- > 0;) {
    if (u.count[i] == 0) continue;
    if (!first) out += " and ";
    out += std::to_string(u.count[i]) + (first ? (u.count[i] == 1 ? " finding" : " findings") : "") + " at " +
           scan::to_string(static_cast<scan::Severity>(i));
    first = false;
  }
  return out;
}

// The fresh scans' findings: "clean", or "vulnerable" with the worst three named.
void check_findings(const RuleSet& rules, const PlannedImage& image, const std::vector<const Seen*>& fresh,
                    JudgedImage& judged, std::vector<Finding>& findings) {
  const auto& rule = rules.config.rules.images.scan;
  const std::vector<const scan::Finding*> bad = bad_findings(rules, fresh);
  const Unlisted unlisted = unlisted_findings(rules, fresh);
  if (bad.empty() && unlisted.total == 0) {
    judged.scan = "clean";
    return;
  }
  judged.scan = "vulnerable";
  std::string worst;
  for (std::size_t i = 0; i < bad.size() && i < 3; ++i) {
    const auto* x = bad[i];
    if (i) worst += "; ";
    worst += printable(x->id) + " (" + scan::to_string(x->severity) + ", " + printable(x->package);
    worst += x->fixedVersion.empty() ? std::string(", no fix yet") : ", fixed in " + printable(x->fixedVersion);
    worst += ")";
  }
  if (bad.size() > 3) worst += "; ...";
  const std::size_t total = bad.size() + static_cast<std::size_t>(unlisted.total);
  Finding f = scan_finding(image, rule.action);
  f.summary = image.subject + " uses image " + quote(image.image) + " with " + std::to_string(total) + " finding" +
              (total == 1 ? "" : "s") + " at or above " + rule.severityThreshold + ": ";
  if (unlisted.total > 0) {
    f.summary += describe_unlisted(unlisted) + " not stored with the scan (" + unlisted.scanners + ")" +
                 (worst.empty() ? "" : "; " + worst);
  } else {
    f.summary += worst;
  }
  f.detail = f.summary;
  if (unlisted.total > 0)
    f.detail += "; findings that were not stored cannot be matched against rules.images.scan.ignore, so they "
                "count. To store them, lower scans.findingsFloor (HIGH by default; what ImageScans list) to " +
                rule.severityThreshold + " or below and re-scan";
  f.detail += "; update the packages (or the base image) and re-scan, or record an accepted risk in "
              "rules.images.scan.ignore.";
  findings.push_back(std::move(f));
}

}  // namespace

// The scan step, on a digest (and an index's children: scanners record either): malicious on
// any of them denies, always; findings at or above the threshold (less the ignored ones) deny
// with the rule's action; no scan younger than maxScanAge follows onUnscanned.
void check_scan(const RuleSet& rules, const PlannedImage& image, const std::vector<std::string>& digests,
                JudgedImage& judged, std::vector<Finding>& findings) {
  Scans scans = gather(rules, digests);
  if (check_malicious(image, scans.all, judged, findings)) return;
  // A malware scan that failed (result "error") is no scan at all.
  std::erase_if(scans.all, [](const Seen& s) { return s.record->malware == scan::MalwareResult::Error; });
  const std::int64_t max_age =
      std::chrono::duration_cast<std::chrono::seconds>(rules.config.rules.images.scan.maxScanAge).count();
  std::vector<const Seen*> fresh;
  for (const auto& s : scans.all)
    if (rules.now - s.record->scannedAt <= max_age) fresh.push_back(&s);
  if (fresh.empty()) return check_unscanned(rules, image, digests, scans.all, judged, findings);
  for (const Seen* s : fresh) judged.scanBasis += (judged.scanBasis.empty() ? "" : ", ") + describe_scan(*s);
  check_findings(rules, image, fresh, judged, findings);
}

}  // namespace podgate::policy::detail
