// privileged (baseline, v1.0+): securityContext.privileged must be unset or false.

#include "policy/pod_security/controls.h"

namespace podgate::policy::detail::pod_security {

void check_privileged(const Input& in, Hits& out) {
  for (const auto& c : in.spec.containers) {
    if (!c.privileged.value_or(false)) continue;
    Hit h = container_hit(in, c, ".securityContext.privileged", "true");
    h.what = "sets " + h.field + "=true";
    h.fix = "a privileged container has full access to the node; remove securityContext.privileged or set it to false";
    out.push_back(std::move(h));
  }
}

}  // namespace podgate::policy::detail::pod_security
