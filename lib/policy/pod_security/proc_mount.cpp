// procMount (baseline, v1.0+): securityContext.procMount must be unset or Default. PSA's
// relaxPolicyForUserNamespacePods option (hostUsers: false) is off.

#include "policy/pod_security/controls.h"
#include "policy/rule_support.h"

namespace podgate::policy::detail::pod_security {

void check_proc_mount(const Input& in, Hits& out) {
  for (const auto& c : in.spec.containers) {
    const auto& mount = c.security.procMount;
    if (!mount || *mount == "Default") continue;
    Hit h = container_hit(in, c, ".securityContext.procMount", printable(*mount));
    h.what = "sets " + h.field + "=" + quote(*mount);
    h.fix = "an unmasked /proc exposes the node's kernel settings; remove procMount or set it to Default";
    out.push_back(std::move(h));
  }
}

}  // namespace podgate::policy::detail::pod_security
