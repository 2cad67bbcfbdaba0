// appArmorProfile (baseline, v1.0+): appArmorProfile.type of the pod and of each container must be
// unset, RuntimeDefault or Localhost (an appArmorProfile without a type is refused, as PSA does);
// the deprecated container.apparmor.security.beta.kubernetes.io/* annotations must be empty,
// runtime/default or localhost/*.

#include "policy/pod_security/controls.h"
#include "policy/rule_support.h"

namespace podgate::policy::detail::pod_security {

namespace {

constexpr std::string_view kAnnotationPrefix = "container.apparmor.security.beta.kubernetes.io/";
constexpr std::string_view kFix =
    "Unconfined (or no type) turns the node's AppArmor protection off; set appArmorProfile.type to "
    "RuntimeDefault or Localhost, or remove it";

bool allowed_type(const std::optional<std::string_view>& type) {
  return !type || *type == "RuntimeDefault" || *type == "Localhost";
}

bool allowed_annotation(std::string_view v) {
  return v.empty() || v == "runtime/default" || v.substr(0, 10) == "localhost/";
}

Hit type_hit(Hit h, std::string_view type) {
  h.what = "sets " + h.field + "=" + quote(type);
  h.fix = kFix;
  return h;
}

}  // namespace

void check_app_armor_profile(const Input& in, Hits& out) {
  const auto& pod = in.spec.security.appArmorProfileType;
  if (!allowed_type(pod))
    out.push_back(type_hit(pod_hit(in, "securityContext.appArmorProfile.type", printable(*pod)), *pod));
  for (const auto& c : in.spec.containers) {
    const auto& type = c.security.appArmorProfileType;
    if (!allowed_type(type))
      out.push_back(type_hit(container_hit(in, c, ".securityContext.appArmorProfile.type", printable(*type)), *type));
  }
  for (const auto& [key, value] : in.spec.security.annotations) {
    if (key.substr(0, kAnnotationPrefix.size()) != kAnnotationPrefix || allowed_annotation(value)) continue;
    Hit h;
    h.subject = "pod";
    h.field = metadata_path(in.spec) + ".annotations[" + quote(key) + "]";
    h.value = printable(value);
    h.what = "sets " + h.field + "=" + quote(value);
    h.fix = "an unconfined AppArmor profile turns the node's protection off; set the annotation to runtime/default "
            "or localhost/<profile>, or remove it";
    out.push_back(std::move(h));
  }
}

}  // namespace podgate::policy::detail::pod_security
