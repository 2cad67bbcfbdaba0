// hostProbesAndHostLifecycle (baseline, v1.34+): the httpGet.host and tcpSocket.host of probes
// and lifecycle handlers must be unset or empty: the kubelet connects from the node, so a host
// there reaches whatever the node reaches. PSA's skipProbeHostEnforcement option is off.

#include "policy/pod_security/controls.h"

namespace podgate::policy::detail::pod_security {

void check_host_probes_and_host_lifecycle(const Input& in, Hits& out) {
  for (const auto& c : in.spec.containers) {
    const auto& hosts = c.security.probeHosts;
    if (hosts.empty()) continue;
    Hit h = container_hit(in, c, ".{livenessProbe,readinessProbe,startupProbe,lifecycle}.*.host", join(hosts, ", "));
    h.what = "sets a probe or lifecycle handler host (" + container_path(in.spec, c) + " ...httpGet/tcpSocket.host=" +
             quoted_list(hosts) + ")";
    h.fix = "the kubelet connects to it from the node; remove host so the probe or handler targets the pod's own IP";
    out.push_back(std::move(h));
  }
}

}  // namespace podgate::policy::detail::pod_security
