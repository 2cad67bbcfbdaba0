// The privileged rule: securityContext.privileged on Linux, and its Windows counterpart, a
// HostProcess container (securityContext.windowsOptions.hostProcess), which runs as a process on
// the node with the node's full access.

#include "policy/rule_support.h"

namespace podgate::policy::detail {

namespace {

using admission::Container;
using admission::PodSpec;

constexpr std::string_view kRulePrivileged = "privileged";

std::string container_field(const PodSpec& spec, const Container& c) {
  return field_prefix(spec) + admission::field_name(c.list) + "[" + std::to_string(c.index) + "]";
}

Finding container_finding(config::Action action, const Container& c, std::string field, std::string value) {
  Finding f;
  f.violation.rule = kRulePrivileged;
  f.violation.action = action;
  f.violation.subject = std::string(container_noun(c.list)) + " " + quote(c.name);
  f.violation.fieldPath = std::move(field);
  f.violation.value = std::move(value);
  return f;
}

Finding privileged_finding(config::Action action, const PodSpec& spec, const Container& c) {
  Finding f = container_finding(action, c, container_field(spec, c) + ".securityContext.privileged", "true");
  f.summary = f.violation.subject + " is privileged (" + f.violation.fieldPath + "=true)";
  f.detail = f.summary +
             "; privileged containers get full access to the node. Remove securityContext.privileged or set it "
             "to false.";
  return f;
}

// A container is HostProcess when it says so, or when the pod says so and the container does not
// say otherwise (the API refuses a container that contradicts the pod, but podgate check may see one).
Finding host_process_finding(config::Action action, const PodSpec& spec, const Container& c) {
  Finding f = container_finding(action, c,
                                c.hostProcess ? container_field(spec, c) + ".securityContext.windowsOptions.hostProcess"
                                              : field_prefix(spec) + "securityContext.windowsOptions.hostProcess",
                                "hostProcess");
  f.summary = f.violation.subject + " is a Windows HostProcess container (" + f.violation.fieldPath + "=true)";
  f.detail = f.summary +
             "; a HostProcess container runs as a process on the Windows node with its full access, Windows' "
             "privileged. Remove windowsOptions.hostProcess or set it to false.";
  return f;
}

}  // namespace

// The rule's entry (rules.cpp).
void check_privileged(const PodSpecInput& in, std::vector<Finding>& findings) {
  const config::Action action = in.rules.config.rules.privileged.action;
  if (action == config::Action::Off) return;
  const PodSpec& spec = in.spec;
  for (const Container& c : spec.containers) {
    Finding found[2];
    int n = 0;
    if (c.privileged.value_or(false)) found[n++] = privileged_finding(action, spec, c);
    if (c.hostProcess.value_or(spec.hostProcess.value_or(false))) found[n++] = host_process_finding(action, spec, c);
    if (n == 0) continue;
    const auto by = container_exemption(in.rules, in.scope, c);
    for (int i = 0; i < n; ++i) {
      if (by) in.exempt.suppressed(*by, found[i].summary);
      else findings.push_back(std::move(found[i]));
    }
  }
}

}  // namespace podgate::policy::detail
