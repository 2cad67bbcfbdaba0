// windowsHostProcess (baseline, v1.0+): securityContext.windowsOptions.hostProcess, of the pod or
// of a container, must be unset or false.

#include "policy/pod_security/controls.h"

namespace podgate::policy::detail::pod_security {

namespace {
constexpr std::string_view kFix =
    "a Windows HostProcess container runs as a process on the node with its full access; remove "
    "windowsOptions.hostProcess or set it to false";
}  // namespace

void check_windows_host_process(const Input& in, Hits& out) {
  if (in.spec.hostProcess.value_or(false)) {
    Hit h = pod_hit(in, "securityContext.windowsOptions.hostProcess", "true");
    h.what = "sets " + h.field + "=true";
    h.fix = kFix;
    out.push_back(std::move(h));
  }
  for (const auto& c : in.spec.containers) {
    if (!c.hostProcess.value_or(false)) continue;
    Hit h = container_hit(in, c, ".securityContext.windowsOptions.hostProcess", "true");
    h.what = "sets " + h.field + "=true";
    h.fix = kFix;
    out.push_back(std::move(h));
  }
}

}  // namespace podgate::policy::detail::pod_security
