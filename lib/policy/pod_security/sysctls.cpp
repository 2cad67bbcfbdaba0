// sysctls (baseline; the safe set grows at v1.27, v1.29 and v1.32): securityContext.sysctls may
// name only namespaced sysctls isolated from other pods.

#include <algorithm>
#include <array>

#include "policy/pod_security/controls.h"
#include "policy/rule_support.h"

namespace podgate::policy::detail::pod_security {

namespace {

struct Safe {
  std::string_view name;
  int since;  // the first v1.N that allows it
};
constexpr std::array<Safe, 12> kSafe{{
    {"kernel.shm_rmid_forced", 0},
    {"net.ipv4.ip_local_port_range", 0},
    {"net.ipv4.tcp_syncookies", 0},
    {"net.ipv4.ping_group_range", 0},
    {"net.ipv4.ip_unprivileged_port_start", 0},
    {"net.ipv4.ip_local_reserved_ports", 27},
    {"net.ipv4.tcp_keepalive_time", 29},
    {"net.ipv4.tcp_fin_timeout", 29},
    {"net.ipv4.tcp_keepalive_intvl", 29},
    {"net.ipv4.tcp_keepalive_probes", 29},
    {"net.ipv4.tcp_rmem", 32},
    {"net.ipv4.tcp_wmem", 32},
}};

bool safe(std::string_view name, int version) {
  return std::any_of(kSafe.begin(), kSafe.end(), [&](const Safe& s) { return s.name == name && version >= s.since; });
}

}  // namespace

void check_sysctls(const Input& in, Hits& out) {
  const auto& sysctls = in.spec.security.sysctls;
  for (std::size_t i = 0; i < sysctls.size(); ++i) {
    if (safe(sysctls[i], in.version)) continue;
    Hit h = pod_hit(in, "securityContext.sysctls[" + std::to_string(i) + "].name", printable(sysctls[i]));
    h.what = "sets " + h.field + "=" + quote(sysctls[i]);
    std::string allowed;
    for (const auto& s : kSafe) {
      if (in.version < s.since) continue;
      if (!allowed.empty()) allowed += ", ";
      allowed += s.name;
    }
    h.fix = "only sysctls isolated from other pods and the node are allowed (" + allowed + "); remove it";
    out.push_back(std::move(h));
  }
}

}  // namespace podgate::policy::detail::pod_security
