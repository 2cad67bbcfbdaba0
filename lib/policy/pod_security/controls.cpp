// The controls' table, PSA's registry logic (which controls run for a level and version), and the
// helpers the controls share.

#include "policy/pod_security/controls.h"

#include <array>

#include "policy/rule_support.h"

namespace podgate::policy::detail::pod_security {

namespace {

using config::PodSecurityLevel;
constexpr auto B = PodSecurityLevel::Baseline;
constexpr auto R = PodSecurityLevel::Restricted;

// PSA v0.34's checks (policy/check_*.go). Its registry evaluates baseline ids sorted, then
// restricted ids sorted (byte order: "seLinuxOptions" before "seccompProfile_baseline").
constexpr std::array kControls{
    Control{"appArmorProfile", B, {0, -1, -1, -1}, "", check_app_armor_profile},
    Control{"capabilities_baseline", B, {0, -1, -1, -1}, "", check_capabilities_baseline},
    Control{"hostNamespaces", B, {0, -1, -1, -1}, "", check_host_namespaces},
    Control{"hostPathVolumes", B, {0, -1, -1, -1}, "", check_host_path_volumes},
    Control{"hostPorts", B, {0, -1, -1, -1}, "", check_host_ports},
    Control{"hostProbesAndHostLifecycle", B, {34, -1, -1, -1}, "", check_host_probes_and_host_lifecycle},
    Control{"privileged", B, {0, -1, -1, -1}, "", check_privileged},
    Control{"procMount", B, {0, -1, -1, -1}, "", check_proc_mount},
    Control{"seLinuxOptions", B, {0, 31, -1, -1}, "", check_se_linux_options},
    Control{"seccompProfile_baseline", B, {0, 19, -1, -1}, "", check_seccomp_profile_baseline},
    Control{"sysctls", B, {0, 27, 29, 32}, "", check_sysctls},
    Control{"windowsHostProcess", B, {0, -1, -1, -1}, "", check_windows_host_process},
    Control{"allowPrivilegeEscalation", R, {8, 25, -1, -1}, "", check_allow_privilege_escalation},
    Control{"capabilities_restricted", R, {22, 25, -1, -1}, "capabilities_baseline", check_capabilities_restricted},
    Control{"restrictedVolumes", R, {0, -1, -1, -1}, "hostPathVolumes", check_restricted_volumes},
    Control{"runAsNonRoot", R, {0, -1, -1, -1}, "", check_run_as_non_root},
    Control{"runAsUser", R, {23, -1, -1, -1}, "", check_run_as_user},
    Control{"seccompProfile_restricted", R, {19, 25, -1, -1}, "seccompProfile_baseline", check_seccomp_profile_restricted},
};

}  // namespace

std::span<const Control> controls() { return kControls; }

bool runs(const Control& control, PodSecurityLevel level, int version) {
  if (level == PodSecurityLevel::Privileged || control.level > level || version < control.versions[0]) return false;
  if (level != R || control.level != B) return true;
  for (const Control& other : kControls)
    if (other.level == R && other.overrides == control.id && version >= other.versions[0]) return false;
  return true;
}

int effective_version(config::PodSecurityVersion version) {
  if (version.minor == config::PodSecurityVersion::kLatest || version.minor > config::kNewestPodSecurityMinor)
    return config::kNewestPodSecurityMinor;
  return version.minor;
}

std::string container_subject(const admission::Container& c) {
  return std::string(container_noun(c.list)) + " " + quote(c.name);
}

std::string container_path(const admission::PodSpec& spec, const admission::Container& c) {
  return field_prefix(spec) + admission::field_name(c.list) + "[" + std::to_string(c.index) + "]";
}

std::string spec_path(const admission::PodSpec& spec, std::string_view rest) {
  std::string out = field_prefix(spec);
  out += rest;
  return out;
}

std::string metadata_path(const admission::PodSpec& spec) {
  std::string_view path(spec.fieldPath);
  if (path == "spec" || path.empty()) return "metadata";
  if (path.size() > 5 && path.substr(path.size() - 5) == ".spec") return std::string(path.substr(0, path.size() - 4)) + "metadata";
  return std::string(path) + ".metadata";
}

std::string join(std::span<const std::string_view> items, std::string_view sep) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += sep;
    out += printable(items[i]);
  }
  return out;
}

std::string quoted_list(std::span<const std::string_view> items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += ", ";
    out += quote(items[i]);
  }
  return out + "]";
}

bool is_windows(const admission::PodSpec& spec) { return spec.security.osName == "windows"; }

Hit container_hit(const Input& in, const admission::Container& c, std::string_view suffix, std::string value) {
  Hit h;
  h.container = &c;
  h.subject = container_subject(c);
  h.field = container_path(in.spec, c);
  h.field += suffix;
  h.value = std::move(value);
  return h;
}

Hit pod_hit(const Input& in, std::string_view suffix, std::string value) {
  Hit h;
  h.subject = "pod";
  h.field = spec_path(in.spec, suffix);
  h.value = std::move(value);
  return h;
}

}  // namespace podgate::policy::detail::pod_security
