// restrictedVolumes (restricted, v1.0+): every volume must be of a type that reaches nothing
// outside the pod's own objects: configMap, csi, downwardAPI, emptyDir, ephemeral, image,
// persistentVolumeClaim, projected or secret. PSA decodes the volume into its Go type, so a volume
// passes when any of its members is one of these. A volume with no source at all is an emptyDir:
// the apiserver defaults it so before admission (PSA's fixtures rely on it), and `podgate check`
// sees manifests before that. A volume whose only members are unknown to PSA's types is refused
// ("unknown"): stricter than PSA, which never sees such members (the apiserver drops them), so a
// source newer than podgate is not let through unjudged. Replaces hostPathVolumes at restricted.

#include <algorithm>
#include <array>

#include "policy/pod_security/controls.h"
#include "policy/rule_support.h"

namespace podgate::policy::detail::pod_security {

namespace {

constexpr std::array<std::string_view, 9> kAllowed{"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
                                                    "image", "persistentVolumeClaim", "projected", "secret"};
// The restricted types PSA names, in its order; any other member is "unknown" to it.
constexpr std::array<std::string_view, 21> kKnown{
    "hostPath", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "nfs", "iscsi", "glusterfs",
    "rbd", "flexVolume", "cinder", "cephfs", "flocker", "fc", "azureFile", "vsphereVolume", "quobyte",
    "azureDisk", "photonPersistentDisk", "portworxVolume", "scaleIO", "storageos"};

bool contains(std::span<const std::string_view> list, std::string_view s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

}  // namespace

void check_restricted_volumes(const Input& in, Hits& out) {
  for (const auto& v : in.spec.volumes) {
    // The decoder lists every member; a hostPath it read is a source even if `sources` is empty.
    if (std::any_of(v.sources.begin(), v.sources.end(), [](std::string_view s) { return contains(kAllowed, s); }))
      continue;
    if (v.sources.empty() && !v.hostPath) continue;  // the implicit emptyDir
    std::string_view type = v.hostPath ? std::string_view("hostPath") : std::string_view();
    for (const auto known : kKnown)
      if (type.empty() && contains(v.sources, known)) type = known;
    if (type.empty()) type = "unknown";
    Hit h;
    h.subject = "volume " + quote(v.name);
    h.field = spec_path(in.spec, "volumes[" + std::to_string(v.index) + "]");
    h.value = std::string(type);
    h.what = "is a " + std::string(type) + " volume (" + h.field + ")";
    h.fix = "restricted allows only configMap, csi, downwardAPI, emptyDir, ephemeral, image, persistentVolumeClaim, "
            "projected and secret volumes; use one of them (a persistentVolumeClaim for network storage)";
    out.push_back(std::move(h));
  }
}

}  // namespace podgate::policy::detail::pod_security
