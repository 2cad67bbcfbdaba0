// runAsUser (restricted, v1.23+): runAsUser of the pod and of each container must not be 0.
// PSA's relaxPolicyForUserNamespacePods option is off.

#include "policy/pod_security/controls.h"

namespace podgate::policy::detail::pod_security {

namespace {
constexpr std::string_view kFix = "restricted forbids running as root (UID 0); set runAsUser to a non-zero UID or remove it";
}  // namespace

void check_run_as_user(const Input& in, Hits& out) {
  if (in.spec.security.runAsUser == 0) {
    Hit h = pod_hit(in, "securityContext.runAsUser", "0");
    h.what = "sets " + h.field + "=0";
    h.fix = kFix;
    out.push_back(std::move(h));
  }
  for (const auto& c : in.spec.containers) {
    if (c.security.runAsUser != 0) continue;
    Hit h = container_hit(in, c, ".securityContext.runAsUser", "0");
    h.what = "sets " + h.field + "=0";
    h.fix = kFix;
    out.push_back(std::move(h));
  }
}

}  // namespace podgate::policy::detail::pod_security
