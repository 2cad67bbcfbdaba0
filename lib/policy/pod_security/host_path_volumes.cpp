// hostPathVolumes (baseline, v1.0+): no hostPath volumes. At restricted, restrictedVolumes
// replaces it.

#include "policy/pod_security/controls.h"
#include "policy/rule_support.h"

namespace podgate::policy::detail::pod_security {

void check_host_path_volumes(const Input& in, Hits& out) {
  for (const auto& v : in.spec.volumes) {
    if (!v.hostPath) continue;
    Hit h;
    h.subject = "volume " + quote(v.name);
    h.field = spec_path(in.spec, "volumes[" + std::to_string(v.index) + "].hostPath");
    h.value = printable(v.hostPath->path);
    h.what = "is a hostPath volume (" + h.field + ".path=" + quote(v.hostPath->path) + ")";
    h.fix = "a hostPath volume exposes the node's filesystem; use an emptyDir, configMap, secret or "
            "persistentVolumeClaim volume instead";
    out.push_back(std::move(h));
  }
}

}  // namespace podgate::policy::detail::pod_security
