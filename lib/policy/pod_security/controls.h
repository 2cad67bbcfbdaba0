#pragma once
// Internal to lib/policy/pod_security: the Pod Security Standards' controls, one file each, with
// PSA's check ids, levels, versions and overrides (k8s.io/pod-security-admission policy/*.go), and
// what they share. The rule that runs them is pod_security.cpp.

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "admission/admission.h"
#include "config/config.h"

namespace podgate::policy::detail::pod_security {

// One control's input: the pod spec and the version of the standards it is judged at (the minor
// of v1.N, already clamped to the newest known: "latest" and newer versions are 34).
struct Input {
  const admission::PodSpec& spec;
  int version;
};

// What a control found: one field of one container, of the pod or of one volume.
struct Hit {
  const admission::Container* container = nullptr;  // the container it is about; null: the pod or a volume
  std::string subject;  // "container \"app\"", "pod", "volume \"data\""
  std::string field;    // full path, with the spec's prefix: "spec.template.spec.containers[0].securityContext.privileged"
  std::string value;    // as written ("true", "SYS_ADMIN, NET_RAW", "Unconfined")
  std::string what;     // "sets <field>=<value>" or "does not set <field>": follows the subject
  std::string fix;      // why it is refused and what to write instead
};
using Hits = std::vector<Hit>;

using CheckFn = void (*)(const Input& in, Hits& out);

struct Control {
  std::string_view id;             // PSA's check id, Violation::control
  config::PodSecurityLevel level;  // the level that introduces it
  // The minors at which its behaviour starts or changes (PSA's VersionedCheck.MinimumVersion),
  // ascending, -1 padded. It runs from versions[0] on.
  int versions[4];
  // At restricted: the baseline control this one replaces wherever this one runs (OverrideCheckIDs).
  std::string_view overrides;
  CheckFn check;
};

// Every control, in PSA's order of evaluation: baseline ids sorted, then restricted ids sorted.
std::span<const Control> controls();

// Whether `control` runs for a pod judged at `level` and `version` (clamped), as PSA's registry
// decides: the control's level is at most `level`, `version` is at least its first version, and
// at restricted no restricted control that runs there overrides it.
bool runs(const Control& control, config::PodSecurityLevel level, int version);

// The version a configured or labelled one judges as: latest and minors newer than the newest
// known become the newest known.
int effective_version(config::PodSecurityVersion version);

// Text and path helpers the controls share.
std::string container_subject(const admission::Container& c);  // "init container \"setup\""
std::string container_path(const admission::PodSpec& spec, const admission::Container& c);  // "spec.containers[0]"
std::string spec_path(const admission::PodSpec& spec, std::string_view rest);  // "spec.template.spec." + rest
// The pod metadata beside the spec: "metadata" for a Pod, "spec.template.metadata" in a workload.
std::string metadata_path(const admission::PodSpec& spec);
std::string join(std::span<const std::string_view> items, std::string_view sep);
std::string quoted_list(std::span<const std::string_view> items);  // ["a", "b"], each made printable
bool is_windows(const admission::PodSpec& spec);  // spec.os.name == "windows"

// A container-level hit: subject and field filled from `c` and `suffix` (".securityContext.privileged").
Hit container_hit(const Input& in, const admission::Container& c, std::string_view suffix, std::string value);
// A pod-level hit: "pod", field spec_path(suffix).
Hit pod_hit(const Input& in, std::string_view suffix, std::string value);

// seccompProfile.type RuntimeDefault or Localhost, and the hit for a bad one (both seccomp controls).
bool valid_seccomp_type(std::string_view type);
Hit seccomp_type_hit(Hit h, std::string_view type);

// The controls (one file each).
void check_app_armor_profile(const Input& in, Hits& out);
void check_capabilities_baseline(const Input& in, Hits& out);
void check_host_namespaces(const Input& in, Hits& out);
void check_host_path_volumes(const Input& in, Hits& out);
void check_host_ports(const Input& in, Hits& out);
void check_host_probes_and_host_lifecycle(const Input& in, Hits& out);
void check_privileged(const Input& in, Hits& out);
void check_proc_mount(const Input& in, Hits& out);
void check_se_linux_options(const Input& in, Hits& out);
void check_seccomp_profile_baseline(const Input& in, Hits& out);
void check_sysctls(const Input& in, Hits& out);
void check_windows_host_process(const Input& in, Hits& out);
void check_allow_privilege_escalation(const Input& in, Hits& out);
void check_capabilities_restricted(const Input& in, Hits& out);
void check_restricted_volumes(const Input& in, Hits& out);
void check_run_as_non_root(const Input& in, Hits& out);
void check_run_as_user(const Input& in, Hits& out);
void check_seccomp_profile_restricted(const Input& in, Hits& out);

}  // namespace podgate::policy::detail::pod_security
