// capabilities_restricted (restricted, v1.22+; from v1.25 a pod with spec.os.name windows is
// exempt): every container must drop ALL, and may add only NET_BIND_SERVICE. Replaces
// capabilities_baseline at restricted.

#include <algorithm>

#include "policy/pod_security/controls.h"

namespace podgate::policy::detail::pod_security {

void check_capabilities_restricted(const Input& in, Hits& out) {
  if (in.version >= 25 && is_windows(in.spec)) return;
  for (const auto& c : in.spec.containers) {
    const auto& drop = c.security.capabilitiesDrop;
    if (std::find(drop.begin(), drop.end(), "ALL") == drop.end()) {
      Hit h = container_hit(in, c, ".securityContext.capabilities.drop", join(drop, ", "));
      h.what = drop.empty() ? "does not set " + h.field : "sets " + h.field + "=" + quoted_list(drop);
      h.fix = "restricted requires dropping every capability; set capabilities.drop to [\"ALL\"]";
      out.push_back(std::move(h));
    }
    std::vector<std::string_view> bad;
    for (const auto cap : c.security.capabilitiesAdd)
      if (cap != "NET_BIND_SERVICE" && std::find(bad.begin(), bad.end(), cap) == bad.end()) bad.push_back(cap);
    if (bad.empty()) continue;
    Hit h = container_hit(in, c, ".securityContext.capabilities.add", join(bad, ", "));
    h.what = "sets " + h.field + "=" + quoted_list(c.security.capabilitiesAdd);
    h.fix = "restricted allows adding only NET_BIND_SERVICE; remove " + quoted_list(bad);
    out.push_back(std::move(h));
  }
}

}  // namespace podgate::policy::detail::pod_security
