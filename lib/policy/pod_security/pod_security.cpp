// The podSecurity rule: the Pod Security Standards' controls (controls.h) of the configured level
// and version, or of the namespace's PSA labels when rules.podSecurity.namespaceLabels is on, with
// podgate's exemptions and messages.
//
// Exemptions are as for the privileged rule: a container's finding is lifted by the container's
// service-account or image exemption; a finding about the pod or a volume (host namespaces,
// sysctls, a pod-level securityContext) by an exemption covering every container of the pod,
// since every container shares it.

#include "policy/pod_security/controls.h"
#include "policy/rule_support.h"

namespace podgate::policy::detail {

namespace {

using config::PodSecurityLevel;
using config::PodSecurityVersion;
using namespace pod_security;

constexpr std::string_view kRule = "podSecurity";

std::optional<ExemptionRef> pod_exemption(const PodSpecInput& in) {
  std::optional<ExemptionRef> first;
  for (const auto& c : in.spec.containers) {
    auto by = container_exemption(in.rules, in.scope, c);
    if (!by) return std::nullopt;
    if (!first) first = by;
  }
  if (!first && in.scope.serviceAccount) first = ExemptionRef{"serviceAccount", *in.scope.serviceAccount};
  return first;
}

// Whether a finding of the same control, field and value is already among `findings` from `from` on.
bool reported(const std::vector<Finding>& findings, std::size_t from, std::string_view control, const Hit& h) {
  for (std::size_t i = from; i < findings.size(); ++i) {
    const Violation& v = findings[i].violation;
    if (v.control == control && v.fieldPath == h.field && v.value == h.value) return true;
  }
  return false;
}

// Runs every control of `level` at `version` and appends what they find with `action`; with
// `dedupe`, a finding already reported (from `from` on) is left out.
void judge(const PodSpecInput& in, PodSecurityLevel level, PodSecurityVersion version, config::Action action,
           bool dedupe, std::size_t from, std::vector<Finding>& findings) {
  const int effective = effective_version(version);
  const Input input{in.spec, effective};
  std::string standard;  // "baseline latest", built on the first hit: a clean pod allocates nothing
  Hits hits;
  for (const Control& control : controls()) {
    if (!runs(control, level, effective)) continue;
    hits.clear();
    control.check(input, hits);
    if (!hits.empty() && standard.empty())
      standard = std::string(config::to_string(level)) + " " + config::to_string(version);
    for (Hit& h : hits) {
      if (dedupe && reported(findings, from, control.id, h)) continue;
      Finding f;
      f.violation.rule = kRule;
      f.violation.control = control.id;
      f.violation.level = config::to_string(level);
      f.violation.action = action;
      f.violation.subject = std::move(h.subject);
      f.violation.fieldPath = std::move(h.field);
      f.violation.value = std::move(h.value);
      const std::string head = f.violation.subject + " " + h.what;
      f.summary = head + " (Pod Security Standards " + standard + ": " + std::string(control.id) + ")";
      f.detail = head + "; " + h.fix + " (Pod Security Standards " + standard + ": " + std::string(control.id) + ").";
      const auto by = h.container ? container_exemption(in.rules, in.scope, *h.container) : pod_exemption(in);
      if (by) in.exempt.suppressed(*by, f.summary);
      else findings.push_back(std::move(f));
    }
  }
}

}  // namespace

// The rule's entry (rules.cpp).
void check_pod_security(const PodSpecInput& in, std::vector<Finding>& findings) {
  const config::PodSecurityRule& rule = in.rules.config.rules.podSecurity;
  const NamespaceStandards* labels = rule.namespaceLabels ? in.rules.namespaceStandards : nullptr;
  if (rule.level == PodSecurityLevel::Privileged && !labels) return;  // off: no cost at all
  const std::size_t from = findings.size();
  // A stricter enforce label raises the level, with its own version; the configured standard is
  // still judged as well, so a label's older version cannot drop a check the floor has (baseline
  // latest's hostProbesAndHostLifecycle under "restricted, v1.22"). A label never lowers the floor.
  const bool raised = labels && labels->enforce.set && labels->enforce.level > rule.level;
  if (raised) judge(in, labels->enforce.level, labels->enforce.version, rule.action, false, from, findings);
  if (rule.level != PodSecurityLevel::Privileged) judge(in, rule.level, rule.version, rule.action, raised, from, findings);
  if (!labels) return;
  // PSA's warn and audit labels: warnings for what the enforced standard did not already report.
  for (const NamespaceStandards::Mode* mode : {&labels->warn, &labels->audit})
    if (mode->set && mode->level != PodSecurityLevel::Privileged)
      judge(in, mode->level, mode->version, config::Action::Warn, true, from, findings);
}

}  // namespace podgate::policy::detail
