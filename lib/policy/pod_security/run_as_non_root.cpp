// runAsNonRoot (restricted, v1.0+): runAsNonRoot=true on the pod or on every container; an
// explicit false anywhere is refused. PSA's relaxPolicyForUserNamespacePods option is off.
// Each container without a setting is reported on its own (PSA lists them only when nothing sets
// false): an exempt container must not hide another's violation.

#include "policy/pod_security/controls.h"

namespace podgate::policy::detail::pod_security {

void check_run_as_non_root(const Input& in, Hits& out) {
  const auto& pod = in.spec.security.runAsNonRoot;
  if (pod && !*pod) {
    Hit h = pod_hit(in, "securityContext.runAsNonRoot", "false");
    h.what = "sets " + h.field + "=false";
    h.fix = "restricted requires running as a non-root user; set runAsNonRoot to true";
    out.push_back(std::move(h));
  }
  const bool podTrue = pod.value_or(false);
  for (const auto& c : in.spec.containers) {
    const auto& v = c.security.runAsNonRoot;
    if (v ? *v : podTrue) continue;
    Hit h = container_hit(in, c, ".securityContext.runAsNonRoot", v ? "false" : "");
    h.what = v ? "sets " + h.field + "=false" : "does not set " + h.field + " and the pod does not set it to true";
    h.fix = "restricted requires running as a non-root user; set " +
            spec_path(in.spec, "securityContext.runAsNonRoot") + " (or the container's) to true";
    out.push_back(std::move(h));
  }
}

}  // namespace podgate::policy::detail::pod_security
