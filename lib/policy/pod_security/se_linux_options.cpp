// seLinuxOptions (baseline, v1.0+; v1.31 adds container_engine_t): seLinuxOptions.type of the pod
// and of each container must be empty or a container type; user and role must be empty.

#include <algorithm>
#include <array>

#include "policy/pod_security/controls.h"
#include "policy/rule_support.h"

namespace podgate::policy::detail::pod_security {

namespace {

constexpr std::array<std::string_view, 5> kTypes{"", "container_t", "container_init_t", "container_kvm_t",
                                                 "container_engine_t"};

// `make(suffix, value)` builds the hit for the pod or the container that wrote `s`.
template <typename Make>
void check_options(const Input& in, const admission::SecurityFields& s, const Make& make, Hits& out) {
  if (!s.seLinuxOptions) return;
  const auto& o = *s.seLinuxOptions;
  // container_engine_t is allowed from v1.31.
  const auto end = in.version >= 31 ? kTypes.end() : kTypes.end() - 1;
  if (std::find(kTypes.begin(), end, o.type) == end) {
    Hit h = make(".type", printable(o.type));
    h.what = "sets " + h.field + "=" + quote(o.type);
    h.fix = std::string("a custom SELinux type can lift the container's confinement; allowed are container_t, "
                        "container_init_t, container_kvm_t") +
            (in.version >= 31 ? ", container_engine_t" : "") + " or none";
    out.push_back(std::move(h));
  }
  const struct {
    std::string_view value, name;
  } custom[] = {{o.user, ".user"}, {o.role, ".role"}};
  for (const auto& f : custom) {
    if (f.value.empty()) continue;
    Hit h = make(f.name, printable(f.value));
    h.what = "sets " + h.field + "=" + quote(f.value);
    h.fix = "a custom SELinux user or role can lift the container's confinement; remove it";
    out.push_back(std::move(h));
  }
}

}  // namespace

void check_se_linux_options(const Input& in, Hits& out) {
  check_options(
      in, in.spec.security,
      [&](std::string_view suffix, std::string value) {
        return pod_hit(in, "securityContext.seLinuxOptions" + std::string(suffix), std::move(value));
      },
      out);
  for (const auto& c : in.spec.containers)
    check_options(
        in, c.security,
        [&](std::string_view suffix, std::string value) {
          return container_hit(in, c, ".securityContext.seLinuxOptions" + std::string(suffix), std::move(value));
        },
        out);
}

}  // namespace podgate::policy::detail::pod_security
