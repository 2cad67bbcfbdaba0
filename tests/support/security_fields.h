#pragma once
// Compares what two decoded pod specs show the Pod Security Standards (admission.h's PodSecurity,
// ContainerSecurity, Volume::sources): the audit's projection of a Pod must decode with the same
// fields as the Pod itself. Used by the unit tests and the pod_projection fuzz target.

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "admission/admission.h"

namespace podgate::testing {

// The annotations the standards read (the projection keeps these only).
inline bool security_annotation(std::string_view key) {
  for (std::string_view prefix : {"container.apparmor.security.beta.kubernetes.io/", "seccomp.security.alpha.kubernetes.io/",
                                  "container.seccomp.security.alpha.kubernetes.io/"})
    if (key.starts_with(prefix)) return true;
  return false;
}

namespace detail {

inline std::string same_fields(const admission::SecurityFields& a, const admission::SecurityFields& b) {
  if (a.seccompProfileType != b.seccompProfileType) return "seccompProfile.type";
  if (a.appArmorProfileType != b.appArmorProfileType) return "appArmorProfile.type";
  if (a.seLinuxOptions.has_value() != b.seLinuxOptions.has_value()) return "seLinuxOptions";
  if (a.seLinuxOptions && (a.seLinuxOptions->type != b.seLinuxOptions->type ||
                           a.seLinuxOptions->user != b.seLinuxOptions->user ||
                           a.seLinuxOptions->role != b.seLinuxOptions->role))
    return "seLinuxOptions";
  if (a.runAsNonRoot != b.runAsNonRoot) return "runAsNonRoot";
  if (a.runAsUser != b.runAsUser) return "runAsUser";
  return {};
}

}  // namespace detail

// "" when `a` and `b` show the standards the same fields, else the first field that differs.
// Annotations are compared on the keys the standards read.
inline std::string security_difference(const admission::PodSpec& a, const admission::PodSpec& b) {
  const admission::PodSecurity &p = a.security, &q = b.security;
  if (p.hostNetwork != q.hostNetwork) return "hostNetwork";
  if (p.hostPID != q.hostPID) return "hostPID";
  if (p.hostIPC != q.hostIPC) return "hostIPC";
  if (p.hostUsers != q.hostUsers) return "hostUsers";
  if (p.osName != q.osName) return "os.name";
  if (p.sysctls != q.sysctls) return "securityContext.sysctls";
  if (a.hostProcess != b.hostProcess) return "securityContext.windowsOptions.hostProcess";
  if (auto d = detail::same_fields(p, q); !d.empty()) return "securityContext." + d;
  const auto kept = [](const admission::PodSecurity& s) {
    std::vector<std::pair<std::string_view, std::string_view>> out;
    for (const auto& kv : s.annotations)
      if (security_annotation(kv.first)) out.push_back(kv);
    return out;
  };
  if (kept(p) != kept(q)) return "metadata.annotations";
  if (a.containers.size() != b.containers.size()) return "containers (count)";
  for (std::size_t i = 0; i < a.containers.size(); ++i) {
    const admission::Container &c = a.containers[i], &d = b.containers[i];
    const std::string at = std::string(admission::field_name(c.list)) + "[" + std::to_string(c.index) + "].";
    if (c.list != d.list || c.index != d.index || c.name != d.name) return at + "name";
    if (c.privileged != d.privileged) return at + "securityContext.privileged";
    if (c.hostProcess != d.hostProcess) return at + "securityContext.windowsOptions.hostProcess";
    const admission::ContainerSecurity &s = c.security, &t = d.security;
    if (s.capabilitiesAdd != t.capabilitiesAdd) return at + "securityContext.capabilities.add";
    if (s.capabilitiesDrop != t.capabilitiesDrop) return at + "securityContext.capabilities.drop";
    if (s.allowPrivilegeEscalation != t.allowPrivilegeEscalation) return at + "securityContext.allowPrivilegeEscalation";
    if (s.procMount != t.procMount) return at + "securityContext.procMount";
    if (auto diff = detail::same_fields(s, t); !diff.empty()) return at + "securityContext." + diff;
    if (s.hostPorts != t.hostPorts) return at + "ports[].hostPort";
    if (s.probeHosts != t.probeHosts) return at + "probe and lifecycle hosts";
  }
  if (a.volumes.size() != b.volumes.size()) return "volumes (count)";
  for (std::size_t i = 0; i < a.volumes.size(); ++i)
    if (a.volumes[i].name != b.volumes[i].name || a.volumes[i].sources != b.volumes[i].sources)
      return "volumes[" + std::to_string(i) + "] sources";
  return {};
}

}  // namespace podgate::testing
