// hostPorts (baseline, v1.0+): ports[].hostPort must be unset or 0.

#include "policy/pod_security/controls.h"

namespace podgate::policy::detail::pod_security {

void check_host_ports(const Input& in, Hits& out) {
  for (const auto& c : in.spec.containers) {
    const auto& ports = c.security.hostPorts;
    if (ports.empty()) continue;
    std::string value;
    for (std::size_t i = 0; i < ports.size(); ++i) {
      if (i) value += ", ";
      value += std::to_string(ports[i]);
    }
    Hit h = container_hit(in, c, ".ports[*].hostPort", value);
    h.what = "sets " + h.field + "=" + value;
    h.fix = "a host port binds the node's network interface; remove hostPort and expose the port with a Service";
    out.push_back(std::move(h));
  }
}

}  // namespace podgate::policy::detail::pod_security
