// capabilities_baseline (baseline, v1.0+): capabilities.add may hold only the container runtime's
// default set. At restricted from v1.22, capabilities_restricted replaces it.

#include <algorithm>
#include <array>

#include "policy/pod_security/controls.h"

namespace podgate::policy::detail::pod_security {

namespace {

constexpr std::array<std::string_view, 13> kAllowed{
    "AUDIT_WRITE", "CHOWN",   "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL",       "MKNOD",
    "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"};

}  // namespace

void check_capabilities_baseline(const Input& in, Hits& out) {
  for (const auto& c : in.spec.containers) {
    std::vector<std::string_view> bad;
    for (const auto cap : c.security.capabilitiesAdd)
      if (std::find(kAllowed.begin(), kAllowed.end(), cap) == kAllowed.end()) bad.push_back(cap);
    if (bad.empty()) continue;
    Hit h = container_hit(in, c, ".securityContext.capabilities.add", join(bad, ", "));
    h.what = "sets " + h.field + "=" + quoted_list(c.security.capabilitiesAdd);
    h.fix = "baseline allows only the runtime's default capabilities (" + join(kAllowed, ", ") + "); remove " +
            quoted_list(bad);
    out.push_back(std::move(h));
  }
}

}  // namespace podgate::policy::detail::pod_security
