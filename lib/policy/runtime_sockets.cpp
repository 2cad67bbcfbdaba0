// The runtime-socket rule: a node path (a Pod's hostPath volume, a PersistentVolume's hostPath or
// local path) that exposes a container-runtime socket, lies inside a runtime directory or /proc,
// or (strict mode) is not on the allowlist.
//
// Each configured runtime path counts both ways: a path equal to or above it exposes it (a parent
// directory exposes the socket inside), and a path below it is inside it. The second direction is
// what makes directory entries such as /run/containerd (containerd.sock, its ttrpc and shim
// sockets), /run/docker or /proc cover whatever lives in them.

#include <algorithm>

#include "policy/rule_support.h"

namespace podgate::policy::detail {

namespace {

using admission::Container;
using admission::PodSpec;

constexpr std::string_view kRuleRuntimeSockets = "runtimeSockets";

struct PathJudgement {
  std::string summary;
  std::string detail;
};

// The first configured runtime path the node path hits, and how.
struct Hit {
  const std::string* path = nullptr;
  bool inside = false;     // the node path lies inside it (rather than exposing it)
  bool viaVarRun = false;  // exposed through /var on nodes where /var/run is a real directory
  std::size_t count = 0;
};

Hit find_hit(const std::vector<std::string>& sockets, const std::string& normalised) {
  // Normalised paths never spell /var/run, but on nodes where /var/run is a real directory
  // (older distributions) the sockets live there, so "/var" is their parent too.
  const bool coversVarRun = covers(normalised, "/var/run");
  Hit hit;
  for (const auto& socket : sockets) {
    const bool exposes = covers_pattern(normalised, socket);
    const bool exposesTwin = !exposes && coversVarRun && covers("/run", socket);
    const bool within = !exposes && !exposesTwin && inside_pattern(normalised, socket);
    if (!exposes && !exposesTwin && !within) continue;
    if (!hit.path) {
      hit.path = &socket;
      hit.inside = within;
      hit.viaVarRun = exposesTwin;
    }
    ++hit.count;
  }
  return hit;
}

std::string hit_summary(const std::string& head, const Hit& hit) {
  const bool procfs = covers("/proc", *hit.path);
  std::string summary = head + ", ";
  if (procfs) summary += "which is " + *hit.path + " or under it";
  else summary += (hit.inside ? "inside the container runtime directory " : "exposing the container runtime socket ") +
                  std::string(hit.viaVarRun ? "/var" : "") + *hit.path;
  if (hit.count > 1) summary += " (and " + std::to_string(hit.count - 1) + " more runtime paths)";
  return summary;
}

std::string hit_detail(const std::string& summary, const Hit& hit) {
  if (covers("/proc", *hit.path))
    return summary +
           "; /proc/<pid>/root, /proc/self/root and /proc/<pid>/cwd are links that the node follows to its own root "
           "filesystem before the mount, so a path under /proc reaches every runtime socket on the node. Remove the "
           "hostPath volume (a node agent that truly needs /proc needs an exemption).";
  return summary +
         "; whoever reaches a runtime socket controls every container on the node. Remove the hostPath volume (use "
         "emptyDir, a ConfigMap, a Secret or a CSI volume instead).";
}

// Why a node path (as written) is refused, or nullopt when it is not. `head` starts the summary:
// "volume \"x\" mounts hostPath \"/run\" at spec.volumes[0].hostPath.path".
std::optional<PathJudgement> judge_node_path(const RuleSet& rules, std::string_view written, const std::string& head) {
  const std::string normalised = normalize_host_path(written);
  PathJudgement j;
  if (normalised.empty()) {
    j.summary = head + ", which is not an absolute path";
    j.detail = j.summary + "; podgate cannot tell what it exposes, so it is refused. Use an absolute path.";
    return j;
  }
  if (const Hit hit = find_hit(rules.sockets, normalised); hit.path) {
    j.summary = hit_summary(head, hit);
    j.detail = hit_detail(j.summary, hit);
    return j;
  }
  const bool allowed = std::any_of(rules.allowed.begin(), rules.allowed.end(),
                                   [&](const std::string& a) { return covers(a, normalised); });
  if (!rules.config.rules.runtimeSockets.denyAllHostPaths || allowed) return std::nullopt;
  j.summary = head + ", which is not in allowedHostPaths";
  j.detail = j.summary +
             "; hostPath is denied except for the allowlist (rules.runtimeSockets.allowedHostPaths), because a "
             "symlink on the node can point anywhere. Use another volume type or get the path allowlisted.";
  return j;
}

std::string shown_path(std::string_view label, std::string_view written) {
  std::string shown = std::string(label) + " " + quote(written);
  const std::string normalised = normalize_host_path(written);
  if (!normalised.empty() && normalised != written) shown += " (normalised: " + normalised + ")";
  return shown;
}

bool mounts(const Container& c, std::string_view volume) {
  return std::find(c.volumeMounts.begin(), c.volumeMounts.end(), volume) != c.volumeMounts.end();
}

// The containers that reach a volume: those that mount it, and those that reach another one's
// files through /proc/<pid>/root: every container when the pod shares its process namespace,
// and an ephemeral container targeting one that mounts it (kubectl debug --target).
bool reaches(const PodSpec& spec, const Container& c, std::string_view volume) {
  if (mounts(c, volume)) return true;
  const auto mounted_by = [&](auto&& which) {
    return std::any_of(spec.containers.begin(), spec.containers.end(),
                       [&](const Container& o) { return which(o) && mounts(o, volume); });
  };
  if (spec.shareProcessNamespace) return mounted_by([](const Container&) { return true; });
  if (c.list != admission::ContainerList::Ephemeral || c.targetContainerName.empty()) return false;
  return mounted_by([&](const Container& o) {
    return o.list != admission::ContainerList::Ephemeral && o.name == c.targetContainerName;
  });
}

// A hostPath volume is exempt when some container reaches it and every container reaching it is
// exempt, or when the pod's service account is exempt and no container outside the exemption's
// reach mounts it. An unmounted volume is not exempt by image: an ephemeral container added
// later could mount it.
std::optional<ExemptionRef> volume_exemption(const RuleSet& rules, const Scope& scope, const PodSpec& spec,
                                             std::string_view volume, std::vector<ExemptionRef>& by,
                                             std::vector<std::string>& holders) {
  bool all = true;
  for (const Container& c : spec.containers) {
    if (!reaches(spec, c, volume)) continue;
    holders.push_back(container_key(c));
    if (auto e = container_exemption(rules, scope, c)) by.push_back(*e);
    else all = false;
  }
  if (!all) return std::nullopt;
  if (!by.empty()) return by.front();
  if (scope.serviceAccount) return ExemptionRef{"serviceAccount", *scope.serviceAccount};
  return std::nullopt;
}

}  // namespace

// The rule's entries (rules.cpp): a pod spec's hostPath volumes, and a PersistentVolume's paths.
void check_runtime_sockets(const PodSpecInput& in, std::vector<Finding>& findings) {
  const RuleSet& rules = in.rules;
  const PodSpec& spec = in.spec;
  const auto& rule = rules.config.rules.runtimeSockets;
  if (rule.action == config::Action::Off) return;
  for (const auto& volume : spec.volumes) {
    if (!volume.hostPath) continue;
    const std::string_view written = volume.hostPath->path;
    const std::string field = field_prefix(spec) + "volumes[" + std::to_string(volume.index) + "].hostPath.path";
    const std::string subject = "volume " + quote(volume.name);
    auto judged = judge_node_path(rules, written, subject + " mounts " + shown_path("hostPath", written) + " at " + field);
    if (!judged) continue;

    std::vector<ExemptionRef> by;
    Finding f;
    if (auto e = volume_exemption(rules, in.scope, spec, volume.name, by, f.holders)) {
      in.exempt.suppressed(*e, judged->summary);
      for (const auto& b : by) in.exempt.add(b.kind, b.value);
      continue;
    }
    f.violation.rule = kRuleRuntimeSockets;
    f.violation.action = rule.action;
    f.violation.subject = subject;
    f.violation.fieldPath = field;
    f.violation.value = std::string(written);
    f.summary = std::move(judged->summary);
    f.detail = std::move(judged->detail);
    findings.push_back(std::move(f));
  }
}

void check_persistent_volume(const RuleSet& rules, const admission::ObjectInfo& object, std::vector<Finding>& findings) {
  const auto& rule = rules.config.rules.runtimeSockets;
  if (rule.action == config::Action::Off) return;
  for (const auto& source : object.nodePaths) {
    const bool local = source.field == "spec.local.path";
    const std::string subject = local ? "local volume source" : "hostPath volume source";
    const std::string head = subject + " has " + shown_path("path", source.path) + " at " + std::string(source.field);
    auto judged = judge_node_path(rules, source.path, head);
    if (!judged) continue;
    Finding f;
    f.violation.rule = kRuleRuntimeSockets;
    f.violation.action = rule.action;
    f.violation.subject = subject;
    f.violation.fieldPath = std::string(source.field);
    f.violation.value = std::string(source.path);
    f.summary = std::move(judged->summary);
    f.detail = judged->detail + " Every Pod that claims this PersistentVolume gets the same mount.";
    findings.push_back(std::move(f));
  }
}

}  // namespace podgate::policy::detail
