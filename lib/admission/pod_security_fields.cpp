// The fields the Pod Security Standards judge (policy/pod_security), read with the decoder's
// conventions: a wrong JSON type is a DecodeError naming the field (reading `hostPID: "true"` as
// absent would be a bypass), null is absent, a duplicate key is refused, and every string_view
// points into the review's buffer. Vectors are filled only when the field has entries, and sized
// once, so a Pod that sets none of these costs no allocation here.

#include "admission/pod_security_fields.h"

#include <algorithm>
#include <array>
#include <vector>

namespace podgate::admission::detail {

bool check_unique_names(const Value& object, const Path& path, Failure& failure) {
  const auto fail = [&](std::string_view name) {
    failure.message = path.member(name).render() + ": duplicate key";
    return false;
  };
  const std::size_t n = object.size();
  if (n < 2) return true;
  // The usual object (a volume, a Pod's few annotations) is small: compare pairwise, no allocation.
  if (n <= 16) {
    std::array<std::string_view, 16> names;
    std::size_t i = 0;
    for (const Value::Member member : object.members()) {
      for (std::size_t j = 0; j < i; ++j)
        if (member.name == names[j]) return fail(member.name);
      names[i++] = member.name;
    }
    return true;
  }
  // A larger one (hundreds of annotations) is sorted: n log n, bounded by the body limit.
  std::vector<std::string_view> names;
  names.reserve(n);
  for (const Value::Member member : object.members()) names.push_back(member.name);
  std::sort(names.begin(), names.end());
  const auto dup = std::adjacent_find(names.begin(), names.end());
  return dup == names.end() || fail(*dup);
}

namespace {

constexpr std::array<std::string_view, 1> kTypeKeys{"type"};
constexpr std::array<std::string_view, 3> kSELinuxKeys{"type", "user", "role"};
constexpr std::array<std::string_view, 1> kHostProcessKeys{"hostProcess"};
constexpr std::array<std::string_view, 2> kCapabilitiesKeys{"add", "drop"};
constexpr std::array<std::string_view, 1> kHostPortKeys{"hostPort"};
constexpr std::array<std::string_view, 2> kHandlerKeys{"httpGet", "tcpSocket"};
constexpr std::array<std::string_view, 1> kHostKeys{"host"};
constexpr std::array<std::string_view, 2> kLifecycleKeys{"postStart", "preStop"};
constexpr std::array<std::string_view, 1> kNameKeys{"name"};
constexpr std::array<std::string_view, 1> kAnnotationsKeys{"annotations"};

// Both securityContexts share members 1..6, so one reader serves both.
constexpr std::array<std::string_view, 10> kContainerContextKeys{
    "privileged",   "windowsOptions", "seccompProfile",           "appArmorProfile", "seLinuxOptions",
    "runAsNonRoot", "runAsUser",      "allowPrivilegeEscalation", "procMount",       "capabilities"};
constexpr std::array<std::string_view, 7> kPodContextKeys{"sysctls",        "windowsOptions", "seccompProfile",
                                                          "appArmorProfile", "seLinuxOptions", "runAsNonRoot",
                                                          "runAsUser"};

// securityContext.windowsOptions.hostProcess (container or pod level): Windows' privileged.
bool read_host_process(const Value* windowsOptions, const Path& path, std::optional<bool>& out, Failure& failure) {
  if (!check_object(windowsOptions, path, failure)) return false;
  if (!windowsOptions) return true;
  Members<1> wo(kHostProcessKeys);
  if (!wo.scan(*windowsOptions, path, failure)) return false;
  return read_bool(wo[0], path.member("hostProcess"), out, failure);
}

// seccompProfile / appArmorProfile: the type, "" when the profile is there without one.
bool read_profile_type(const Value* profile, const Path& path, std::optional<std::string_view>& out,
                       Failure& failure) {
  if (!check_object(profile, path, failure)) return false;
  if (!profile) return true;
  Members<1> m(kTypeKeys);
  if (!m.scan(*profile, path, failure)) return false;
  std::string_view type;
  if (!read_string(m[0], path.member("type"), type, failure)) return false;
  out = type;
  return true;
}

bool read_selinux(const Value* options, const Path& path, std::optional<SELinuxOptions>& out, Failure& failure) {
  if (!check_object(options, path, failure)) return false;
  if (!options) return true;
  Members<3> m(kSELinuxKeys);
  if (!m.scan(*options, path, failure)) return false;
  SELinuxOptions o;
  if (!read_string(m[0], path.member("type"), o.type, failure)) return false;
  if (!read_string(m[1], path.member("user"), o.user, failure)) return false;
  if (!read_string(m[2], path.member("role"), o.role, failure)) return false;
  out = o;
  return true;
}

// Members 1..6 of either securityContext (kContainerContextKeys, kPodContextKeys).
template <std::size_t N>
bool read_common(const Members<N>& m, const Path& path, std::optional<bool>& hostProcess, SecurityFields& out,
                 Failure& failure) {
  return read_host_process(m[1], path.member("windowsOptions"), hostProcess, failure) &&
         read_profile_type(m[2], path.member("seccompProfile"), out.seccompProfileType, failure) &&
         read_profile_type(m[3], path.member("appArmorProfile"), out.appArmorProfileType, failure) &&
         read_selinux(m[4], path.member("seLinuxOptions"), out.seLinuxOptions, failure) &&
         read_bool(m[5], path.member("runAsNonRoot"), out.runAsNonRoot, failure) &&
         read_int(m[6], path.member("runAsUser"), out.runAsUser, failure);
}

// A list of strings (capabilities.add / drop). A null element is refused like any non-string:
// the apiserver would have stored it as "", not left it out.
bool read_strings(const Value* list, const Path& path, std::vector<std::string_view>& out, Failure& failure) {
  if (!check_array(list, path, failure)) return false;
  if (!list || list->size() == 0) return true;
  out.reserve(list->size());
  std::size_t i = 0;
  for (const Value item : list->elements()) {
    if (!item.is_string()) return wrong_type(path.element(i), "a string", item, failure);
    out.push_back(view(item));
    ++i;
  }
  return true;
}

bool read_capabilities(const Value* caps, const Path& path, ContainerSecurity& out, Failure& failure) {
  if (!check_object(caps, path, failure)) return false;
  if (!caps) return true;
  Members<2> m(kCapabilitiesKeys);
  if (!m.scan(*caps, path, failure)) return false;
  return read_strings(m[0], path.member("add"), out.capabilitiesAdd, failure) &&
         read_strings(m[1], path.member("drop"), out.capabilitiesDrop, failure);
}

// One probe or lifecycle handler: the non-empty host of its httpGet and tcpSocket, in that order.
bool read_handler_hosts(const Value* handler, const Path& path, ContainerSecurity& out, Failure& failure) {
  if (!check_object(handler, path, failure)) return false;
  if (!handler) return true;
  Members<2> m(kHandlerKeys);
  if (!m.scan(*handler, path, failure)) return false;
  for (std::size_t i = 0; i < 2; ++i) {
    const Path actionPath = path.member(kHandlerKeys[i]);
    if (!check_object(m[i], actionPath, failure)) return false;
    if (!m[i]) continue;
    Members<1> h(kHostKeys);
    if (!h.scan(*m[i], actionPath, failure)) return false;
    std::string_view host;
    if (!read_string(h[0], actionPath.member("host"), host, failure)) return false;
    if (!host.empty()) out.probeHosts.push_back(host);
  }
  return true;
}

}  // namespace

bool read_container_security_context(const Value* sc, const Path& path, Container& c, Failure& failure) {
  if (!check_object(sc, path, failure)) return false;
  if (!sc) return true;
  Members<10> m(kContainerContextKeys);
  if (!m.scan(*sc, path, failure)) return false;
  ContainerSecurity& out = c.security;
  return read_bool(m[0], path.member("privileged"), c.privileged, failure) &&
         read_common(m, path, c.hostProcess, out, failure) &&
         read_bool(m[7], path.member("allowPrivilegeEscalation"), out.allowPrivilegeEscalation, failure) &&
         read_string(m[8], path.member("procMount"), out.procMount, failure) &&
         read_capabilities(m[9], path.member("capabilities"), out, failure);
}

bool read_host_ports(const Value* ports, const Path& path, ContainerSecurity& out, Failure& failure) {
  if (!check_array(ports, path, failure)) return false;
  if (!ports) return true;
  std::size_t i = 0;
  for (const Value item : ports->elements()) {
    const Path itemPath = path.element(i++);
    if (item.is_null()) continue;  // as imagePullSecrets: an entry that opens nothing
    if (!item.is_object()) return wrong_type(itemPath, "an object", item, failure);
    Members<1> m(kHostPortKeys);
    if (!m.scan(item, itemPath, failure)) return false;
    std::optional<std::int64_t> hostPort;
    if (!read_int(m[0], itemPath.member("hostPort"), hostPort, failure)) return false;
    if (hostPort.value_or(0) != 0) out.hostPorts.push_back(*hostPort);
  }
  return true;
}

bool read_probe_hosts(const ProbeMembers& members, const Path& container, ContainerSecurity& out, Failure& failure) {
  if (!read_handler_hosts(members.livenessProbe, container.member("livenessProbe"), out, failure)) return false;
  if (!read_handler_hosts(members.readinessProbe, container.member("readinessProbe"), out, failure)) return false;
  if (!read_handler_hosts(members.startupProbe, container.member("startupProbe"), out, failure)) return false;
  const Path lifecyclePath = container.member("lifecycle");
  if (!check_object(members.lifecycle, lifecyclePath, failure)) return false;
  if (!members.lifecycle) return true;
  Members<2> m(kLifecycleKeys);
  if (!m.scan(*members.lifecycle, lifecyclePath, failure)) return false;
  return read_handler_hosts(m[0], lifecyclePath.member("postStart"), out, failure) &&
         read_handler_hosts(m[1], lifecyclePath.member("preStop"), out, failure);
}

bool read_pod_security_context(const Value* sc, const Path& path, PodSpec& spec, Failure& failure) {
  if (!check_object(sc, path, failure)) return false;
  if (!sc) return true;
  Members<7> m(kPodContextKeys);
  if (!m.scan(*sc, path, failure)) return false;
  if (!read_common(m, path, spec.hostProcess, spec.security, failure)) return false;

  const Path sysctlsPath = path.member("sysctls");
  if (!check_array(m[0], sysctlsPath, failure)) return false;
  if (!m[0] || m[0]->size() == 0) return true;
  spec.security.sysctls.reserve(m[0]->size());
  std::size_t i = 0;
  for (const Value item : m[0]->elements()) {
    const Path itemPath = sysctlsPath.element(i++);
    if (item.is_null()) continue;  // as imagePullSecrets: an entry that sets nothing
    if (!item.is_object()) return wrong_type(itemPath, "an object", item, failure);
    Members<1> s(kNameKeys);
    if (!s.scan(item, itemPath, failure)) return false;
    // An entry without a name is kept as "": no sysctl is allowed by that name, so it is judged.
    std::string_view name;
    if (!read_string(s[0], itemPath.member("name"), name, failure)) return false;
    spec.security.sysctls.push_back(name);
  }
  return true;
}

bool read_os(const Value* os, const Path& path, PodSecurity& out, Failure& failure) {
  if (!check_object(os, path, failure)) return false;
  if (!os) return true;
  Members<1> m(kNameKeys);
  if (!m.scan(*os, path, failure)) return false;
  return read_string(m[0], path.member("name"), out.osName, failure);
}

bool read_pod_annotations(const Value* metadata, const Path& path, PodSecurity& out, Failure& failure) {
  if (!check_object(metadata, path, failure)) return false;
  if (!metadata) return true;
  Members<1> m(kAnnotationsKeys);
  if (!m.scan(*metadata, path, failure)) return false;
  const Value* annotations = m[0];
  const Path annotationsPath = path.member("annotations");
  if (!check_object(annotations, annotationsPath, failure)) return false;
  if (!annotations || annotations->size() == 0) return true;
  // Two values under one key: Go keeps the last, RapidJSON iterates both; the standards read
  // these keys (the legacy seccomp and AppArmor forms), so podgate must see what the cluster sees.
  if (!check_unique_names(*annotations, annotationsPath, failure)) return false;
  out.annotations.reserve(annotations->size());
  for (const Value::Member member : annotations->members()) {
    if (member.value.is_null()) continue;
    if (!member.value.is_string()) return wrong_type(annotationsPath.member(member.name), "a string", member.value, failure);
    out.annotations.emplace_back(annotations->keep(member.name), view(member.value));
  }
  return true;
}

bool read_volume_sources(const Value& volume, const Path& path, Volume& out, Failure& failure) {
  // Members only caught duplicates of the keys it looks for; every key is read here.
  if (!check_unique_names(volume, path, failure)) return false;
  for (const Value::Member member : volume.members()) {
    const std::string_view key = member.name;
    if (key == "name" || member.value.is_null()) continue;
    // Every volume source is an object in the schema; anything else is not one.
    if (!member.value.is_object()) return wrong_type(path.member(key), "an object", member.value, failure);
    if (out.sources.empty()) out.sources.reserve(volume.size());
    out.sources.push_back(volume.keep(key));
  }
  return true;
}

}  // namespace podgate::admission::detail
