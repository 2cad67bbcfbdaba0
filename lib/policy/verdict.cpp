// From findings to the answer: the decision and its message, kubectl warnings, the audit
// annotations, and the AdmissionReview response a verdict becomes.

#include <algorithm>
#include <string>
#include <vector>

#include "policy/rule_support.h"
#include "policy/verdict_json.h"

namespace podgate::policy {

const char* to_string(Decision d) {
  switch (d) {
    case Decision::Allowed: return "allowed";
    case Decision::Denied: return "denied";
    case Decision::WouldDeny: return "would_deny";
  }
  return "allowed";
}

admission::Response to_response(std::string_view uid, const Verdict& verdict) {
  admission::Response r;
  r.uid = std::string(uid);
  r.allowed = verdict.decision != Decision::Denied;
  if (!r.allowed) {
    r.code = 403;
    r.reason = "Forbidden";
    r.message = verdict.message;
  }
  r.warnings = verdict.warnings;
  r.auditAnnotations = verdict.auditAnnotations;
  return r;
}

namespace detail {

namespace {

using admission::Request;
using config::Action;

// The apiserver truncates each warning at 256 characters and all of them at about 4 KiB.
constexpr std::size_t kMaxWarningBytes = 250;
constexpr std::size_t kMaxWarnings = 15;
// Bounds for what one response carries about a pod with very many violations.
constexpr std::size_t kMaxMessageViolations = 20;
constexpr std::size_t kMaxAnnotatedViolations = 20;
constexpr std::size_t kMaxAnnotatedExemptions = 10;

// "Deployment default/web": how messages name the object under review.
std::string describe_object(const Request& request) {
  std::string name(request.object.name.empty() ? request.name : request.object.name);
  std::string out = printable(request.kind.kind);
  out += ' ';
  if (!request.namespace_.empty()) {
    out += printable(request.namespace_);
    out += '/';
  }
  out += name.empty() ? std::string("(unnamed)") : printable(name);
  return out;
}

// The annotations' strings from the request are made one-line and bounded by printable().
const ViolationText kAnnotationText{[](JsonWriter& w, std::string_view s) { util::write_string(w, printable(s)); }, {}};

std::string violations_json(const std::vector<Violation>& violations) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  write_violations(w, buffer, violations, {.maxEntries = kMaxAnnotatedViolations}, kAnnotationText);
  return util::to_string(buffer);
}

std::string exemptions_text(const std::vector<Exemption>& exemptions) {
  std::string out;
  for (std::size_t i = 0; i < exemptions.size() && i < kMaxAnnotatedExemptions; ++i) {
    if (!out.empty()) out += ',';
    out += exemptions[i].kind + "=" + printable(exemptions[i].value);
  }
  if (exemptions.size() > kMaxAnnotatedExemptions)
    out += ",+" + std::to_string(exemptions.size() - kMaxAnnotatedExemptions) + " more";
  return out;
}

void annotate(Verdict& v) {
  if (v.violations.empty() && v.exemptions.empty()) return;
  v.auditAnnotations.emplace_back("decision", to_string(v.decision));
  v.auditAnnotations.emplace_back("mode", config::to_string(v.mode));
  if (v.decision == Decision::WouldDeny) v.auditAnnotations.emplace_back("would-deny", "true");
  if (!v.violations.empty()) {
    v.auditAnnotations.emplace_back("violation-count", std::to_string(v.violations.size()));
    v.auditAnnotations.emplace_back("violations", violations_json(v.violations));
  }
  if (!v.exemptions.empty()) v.auditAnnotations.emplace_back("exempt", exemptions_text(v.exemptions));
}

// "images": the digest each container was judged as, so the apiserver's audit log shows exactly
// what was admitted (a tag can be re-pushed a second later).
void annotate_images(Verdict& v) {
  if (v.images.empty()) return;
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  write_bounded_array(w, buffer, v.images, {.maxEntries = kMaxAnnotatedViolations},
                      [](JsonWriter& out, const JudgedImage& j) { write_judged_image(out, j, kAnnotationText); });
  v.auditAnnotations.emplace_back("images", util::to_string(buffer));
}

// A known-malicious image is denied in audit mode (and on UPDATE) too. In audit mode it is then
// the only reason given; everything else stays a would-deny warning, as in any audit.
struct Denial {
  bool forced = false;
  bool auditForced = false;
  bool denies(const Finding& f) const {
    if (f.violation.action != Action::Deny) return false;
    if (auditForced) return f.violation.deniesInAudit;
    return !f.violation.preexisting || f.violation.deniesInAudit;
  }
};

Denial denial_for(const std::vector<Finding>& findings, const Verdict& verdict) {
  Denial d;
  d.forced = std::any_of(findings.begin(), findings.end(), [](const Finding& f) {
    return f.violation.action == Action::Deny && f.violation.deniesInAudit;
  });
  d.auditForced = d.forced && verdict.mode != config::Mode::Enforce;
  return d;
}

void decide(const Request& request, const std::vector<Finding>& findings, Verdict& verdict) {
  const Denial denial = denial_for(findings, verdict);
  std::vector<const Finding*> denying;
  for (const auto& f : findings)
    if (denial.denies(f)) denying.push_back(&f);
  if (denying.empty()) return;
  verdict.decision = verdict.mode == config::Mode::Enforce || denial.forced ? Decision::Denied : Decision::WouldDeny;
  std::string& m = verdict.message;
  m = verdict.decision == Decision::Denied ? "podgate denied " : "podgate would deny ";
  m += describe_object(request);
  m += ": ";
  if (denying.size() == 1) {
    m += denying.front()->detail;
    return;
  }
  m += std::to_string(denying.size()) + " violations:";
  for (std::size_t i = 0; i < denying.size() && i < kMaxMessageViolations; ++i)
    m += " (" + std::to_string(i + 1) + ") " + denying[i]->detail;
  if (denying.size() > kMaxMessageViolations)
    m += " (and " + std::to_string(denying.size() - kMaxMessageViolations) + " more)";
}

// One warning per violation that did not deny: every one in audit mode, warn-action ones and
// preexisting ones in enforce mode (denying violations are already in the deny message); then one
// per violation a weak exemption let through.
void add_warnings(const Request& request, const std::vector<Finding>& findings, const std::vector<std::string>& notes,
                  Verdict& verdict) {
  const Denial denial = denial_for(findings, verdict);
  const std::string object = describe_object(request);
  std::size_t unshown = 0;
  auto push = [&](std::string w) {
    if (verdict.warnings.size() == kMaxWarnings) {
      ++unshown;
      return;
    }
    truncate_utf8(w, kMaxWarningBytes);
    verdict.warnings.push_back(std::move(w));
  };
  for (const auto& f : findings) {
    if (denial.denies(f) && verdict.decision == Decision::Denied) continue;
    const bool would = f.violation.action == Action::Deny && !f.violation.preexisting;
    std::string w = would ? "[podgate] would deny: " : "[podgate] warning: ";
    w += object + ": " + f.summary;
    if (f.violation.preexisting) w += " (already present before this update, so not denied)";
    push(std::move(w));
  }
  for (const auto& note : notes) push("[podgate] exempt: " + object + ": " + note);
  if (unshown > 0)
    verdict.warnings.push_back("[podgate] " + std::to_string(unshown) +
                               " more violations not shown; see the audit annotations or podgate's decision log");
}

}  // namespace

void conclude(const Request& request, std::vector<Finding> findings, const std::vector<std::string>& notes,
              Verdict& verdict) {
  if (findings.empty() && verdict.exemptions.empty()) {  // the common case: nothing to say but the images
    annotate_images(verdict);
    return;
  }
  decide(request, findings, verdict);
  add_warnings(request, findings, notes, verdict);
  const std::string object = describe_object(request);
  verdict.violations.reserve(findings.size());
  for (auto& f : findings) {
    f.violation.message = object + ": " + f.detail;
    verdict.violations.push_back(std::move(f.violation));
  }
  annotate(verdict);
  annotate_images(verdict);
}

}  // namespace detail

}  // namespace podgate::policy
