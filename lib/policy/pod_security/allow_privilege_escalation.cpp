// allowPrivilegeEscalation (restricted, v1.8+; from v1.25 a pod with spec.os.name windows is
// exempt): every container must set securityContext.allowPrivilegeEscalation=false.

#include "policy/pod_security/controls.h"

namespace podgate::policy::detail::pod_security {

void check_allow_privilege_escalation(const Input& in, Hits& out) {
  if (in.version >= 25 && is_windows(in.spec)) return;
  for (const auto& c : in.spec.containers) {
    const auto& ape = c.security.allowPrivilegeEscalation;
    if (ape && !*ape) continue;
    Hit h = container_hit(in, c, ".securityContext.allowPrivilegeEscalation", ape ? "true" : "");
    h.what = ape ? "sets " + h.field + "=true" : "does not set " + h.field;
    h.fix = "set-user-ID programs could raise its privileges; set allowPrivilegeEscalation to false";
    out.push_back(std::move(h));
  }
}

}  // namespace podgate::policy::detail::pod_security
