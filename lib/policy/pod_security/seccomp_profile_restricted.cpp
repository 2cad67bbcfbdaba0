// seccompProfile_restricted (restricted, v1.19+; from v1.25 a pod with spec.os.name windows is
// exempt): seccompProfile.type must be RuntimeDefault or Localhost on the pod, or on every
// container that does not inherit a valid one from the pod; an explicit bad value anywhere is
// refused. Replaces seccompProfile_baseline at restricted.

#include "policy/pod_security/controls.h"
#include "policy/rule_support.h"

namespace podgate::policy::detail::pod_security {

void check_seccomp_profile_restricted(const Input& in, Hits& out) {
  if (in.version >= 25 && is_windows(in.spec)) return;
  const auto& pod = in.spec.security.seccompProfileType;
  const bool podSet = pod && valid_seccomp_type(*pod);
  if (pod && !podSet)
    out.push_back(seccomp_type_hit(pod_hit(in, "securityContext.seccompProfile.type", printable(*pod)), *pod));
  for (const auto& c : in.spec.containers) {
    const auto& type = c.security.seccompProfileType;
    if (type) {
      if (!valid_seccomp_type(*type))
        out.push_back(
            seccomp_type_hit(container_hit(in, c, ".securityContext.seccompProfile.type", printable(*type)), *type));
      continue;
    }
    if (podSet) continue;
    Hit h = container_hit(in, c, ".securityContext.seccompProfile.type", "");
    h.what = "does not set " + h.field + " and the pod sets no valid one";
    h.fix = "restricted requires a seccomp profile; set " + spec_path(in.spec, "securityContext.seccompProfile.type") +
            " (or the container's) to RuntimeDefault or Localhost";
    out.push_back(std::move(h));
  }
}

}  // namespace podgate::policy::detail::pod_security
