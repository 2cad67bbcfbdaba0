// hostNamespaces (baseline, v1.0+): hostNetwork, hostPID and hostIPC must be unset or false.

#include "policy/pod_security/controls.h"

namespace podgate::policy::detail::pod_security {

void check_host_namespaces(const Input& in, Hits& out) {
  const auto& s = in.spec.security;
  const struct {
    const std::optional<bool>& value;
    std::string_view field;
    std::string_view why;
  } fields[] = {
      {s.hostNetwork, "hostNetwork", "the node's network reaches the kubelet, node-local services and the cloud metadata API"},
      {s.hostPID, "hostPID", "the node's processes can be seen and entered (nsenter)"},
      {s.hostIPC, "hostIPC", "the node's shared memory and IPC objects are shared"},
  };
  for (const auto& f : fields) {
    if (!f.value.value_or(false)) continue;
    Hit h = pod_hit(in, f.field, "true");
    h.what = "sets " + h.field + "=true";
    h.fix = std::string(f.why) + "; remove " + std::string(f.field) + " or set it to false";
    out.push_back(std::move(h));
  }
}

}  // namespace podgate::policy::detail::pod_security
