// The config model's values that are neither read nor rendered here: the enums' names, the
// built-in runtime socket paths, and how a registries[] host pattern matches an image's domain.

#include "config/config.h"
#include "util/text.h"
#include "config/config_internal.h"

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace podgate::config {

const char* to_string(Mode mode) {
  switch (mode) {
    case Mode::Enforce: return "enforce";
    case Mode::Audit: return "audit";
  }
  return "enforce";
}

const char* to_string(Action action) {
  switch (action) {
    case Action::Deny: return "deny";
    case Action::Warn: return "warn";
    case Action::Off: return "off";
  }
  return "deny";
}

const char* to_string(PodSecurityLevel level) {
  switch (level) {
    case PodSecurityLevel::Privileged: return "privileged";
    case PodSecurityLevel::Baseline: return "baseline";
    case PodSecurityLevel::Restricted: return "restricted";
  }
  return "privileged";
}

std::optional<PodSecurityVersion> parse_pod_security_version(std::string_view text) {
  if (text == "latest") return PodSecurityVersion{};
  if (text.size() < 4 || text.substr(0, 3) != "v1.") return std::nullopt;
  const std::string_view digits = text.substr(3);
  if (digits.size() > 1 && digits.front() == '0') return std::nullopt;
  long long minor = 0;
  for (const char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    if (minor < 999999999) minor = minor * 10 + (c - '0');
  }
  return PodSecurityVersion{static_cast<int>(std::min<long long>(minor, 999999999))};
}

std::string to_string(PodSecurityVersion version) {
  if (version.minor == PodSecurityVersion::kLatest) return "latest";
  return "v1." + std::to_string(version.minor);
}

std::optional<PodSecurityLevel> parse_pod_security_level(std::string_view text) {
  if (text == "privileged") return PodSecurityLevel::Privileged;
  if (text == "baseline") return PodSecurityLevel::Baseline;
  if (text == "restricted") return PodSecurityLevel::Restricted;
  return std::nullopt;
}

const char* to_string(OnUnscanned value) {
  switch (value) {
    case OnUnscanned::Deny: return "deny";
    case OnUnscanned::Warn: return "warn";
    case OnUnscanned::Allow: return "allow";
  }
  return "deny";
}

const char* to_string(OnResolveError value) { return value == OnResolveError::Allow ? "allow" : "deny"; }

const char* to_string(ScanStore value) { return value == ScanStore::Kubernetes ? "kubernetes" : "sqlite"; }

const char* to_string(AuditReports value) {
  switch (value) {
    case AuditReports::WgPolicy: return "wgpolicyk8s.io/v1alpha2";
    case AuditReports::OpenReports: return "openreports.io/v1alpha1";
    case AuditReports::None: return "none";
  }
  return "none";
}

std::vector<std::string> RuntimeSocketsRule::default_socket_paths() {
  // Sockets and the runtime state directories that hold them. The policy treats a hostPath as
  // dangerous when it is one of these or an ancestor of one, so "/run" or "/" are caught too, and
  // when it lies inside one. A '*' component matches any one directory ("/run/user/*": any uid).
  // docs/configuration.md lists each with its source.
  return {
      "/run/docker.sock",           // Docker Engine API
      "/run/docker",                // Docker state dir: containerd shim sockets of older Docker
      "/run/containerd",            // containerd.sock, its ttrpc socket and the shim sockets
      "/run/crio",                  // crio.sock (CRI-O)
      "/run/cri-dockerd.sock",      // cri-dockerd, the CRI shim in front of Docker
      "/run/podman",                // podman.sock (Podman API service)
      "/run/buildkit",              // buildkitd.sock: BuildKit runs containers too
      "/run/dockershim.sock",       // dockershim of kubelets before 1.24
      "/run/k3s/containerd",        // k3s's and RKE2's embedded containerd
      "/run/k0s",                   // k0s: containerd.sock and k0s's own status socket
      "/var/snap/microk8s/common/run",  // microk8s: containerd.sock and its state
      "/run/host-containerd",       // Bottlerocket's host containerd
      "/system/run/containerd",     // Talos's system containerd
      "/run/firecracker-containerd",  // firecracker-containerd
      "/run/user/*/docker.sock",    // rootless Docker ($XDG_RUNTIME_DIR/docker.sock), any uid
      "/run/user/*/docker",         // rootless Docker's exec root
      "/run/user/*/containerd",     // rootless containerd (nerdctl)
      "/run/user/*/containerd-rootless",  // RootlessKit's state for rootless containerd
      "/run/user/*/podman",         // rootless Podman (podman.sock)
      "/run/user/*/buildkit",       // rootless BuildKit (buildkitd.sock)
      "/var/lib/lxd/unix.socket",   // LXD (containers and VMs on the node)
      "/var/snap/lxd/common/lxd/unix.socket",  // LXD from the snap
      "/var/lib/incus/unix.socket", // Incus
      // procfs: /proc/<pid>/root, /proc/self/root and /proc/<pid>/cwd are magic links that the
      // kubelet and the runtime follow before the bind mount, so anything under /proc reaches the
      // node's root filesystem, every runtime socket on it included.
      "/proc",
      "/var/run/docker.sock",       // /var/run is normalised to /run by the policy; listed for readers
      "/var/run/cri-dockerd.sock",  // likewise
  };
}

namespace detail {

std::string fold_docker_hub(std::string domain) {
  return domain == "index.docker.io" ? std::string("docker.io") : domain;
}

}  // namespace detail

namespace {

using detail::fold_docker_hub;

struct SplitHost {
  std::string_view host, port;
};
SplitHost split_host(std::string_view text) {
  std::size_t colon = text.rfind(':');
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    colon = (close != std::string_view::npos && close + 1 < text.size() && text[close + 1] == ':') ? close + 1
                                                                                                  : std::string_view::npos;
  }
  if (colon == std::string_view::npos) return {text, {}};
  return {text.substr(0, colon), text.substr(colon + 1)};
}

}  // namespace

bool registry_host_matches(std::string_view pattern, std::string_view domain) {
  const std::string p = fold_docker_hub(util::ascii_lowercase(pattern));
  const std::string d = fold_docker_hub(util::ascii_lowercase(domain));
  if (p == d) return true;
  const SplitHost ph = split_host(p), dh = split_host(d);
  if (ph.port != dh.port || p.find('*') == std::string::npos) return false;
  // Label by label: "*" matches exactly one label, so "*.example.com" is not "example.com".
  std::string_view a = ph.host, b = dh.host;
  while (true) {
    const auto da = a.find('.'), db = b.find('.');
    const std::string_view la = a.substr(0, da), lb = b.substr(0, db);
    if (lb.empty() || (la != "*" && !util::ascii_iequals(la, lb))) return false;
    if (da == std::string_view::npos || db == std::string_view::npos) return da == db;
    a.remove_prefix(da + 1);
    b.remove_prefix(db + 1);
  }
}

const RegistryConfig* find_registry(const std::vector<RegistryConfig>& registries, std::string_view domain) {
  for (const auto& r : registries)
    if (registry_host_matches(r.host, domain)) return &r;
  return nullptr;
}

}  // namespace podgate::config
