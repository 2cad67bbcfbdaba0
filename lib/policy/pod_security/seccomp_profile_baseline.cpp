// seccompProfile_baseline (baseline): before v1.19 the seccomp.security.alpha.kubernetes.io
// annotations (pod, and container.../<name> for each container) must be runtime/default,
// docker/default or localhost/*; from v1.19 seccompProfile.type of the pod and of each container
// must be unset, RuntimeDefault or Localhost (a seccompProfile without a type is refused). At
// restricted from v1.19, seccompProfile_restricted replaces it.

#include "policy/pod_security/controls.h"
#include "policy/rule_support.h"

namespace podgate::policy::detail::pod_security {

namespace {

constexpr std::string_view kPodAnnotation = "seccomp.security.alpha.kubernetes.io/pod";
constexpr std::string_view kContainerAnnotationPrefix = "container.seccomp.security.alpha.kubernetes.io/";
constexpr std::string_view kFieldFix =
    "an Unconfined seccomp profile lets the container make any system call; set seccompProfile.type to "
    "RuntimeDefault or Localhost, or remove it";

bool valid_annotation(std::string_view v) {
  return v == "runtime/default" || v == "docker/default" || v.substr(0, 10) == "localhost/";
}

const std::string_view* annotation(const admission::PodSpec& spec, std::string_view key) {
  for (const auto& [k, v] : spec.security.annotations)
    if (k == key) return &v;
  return nullptr;
}

void annotation_hit(const Input& in, std::string_view key, std::string_view value, Hits& out) {
  Hit h;
  h.subject = "pod";
  h.field = metadata_path(in.spec) + ".annotations[" + quote(key) + "]";
  h.value = printable(value);
  h.what = "sets " + h.field + "=" + quote(value);
  h.fix = "an unconfined seccomp profile lets the container make any system call; set the annotation to "
          "runtime/default or localhost/<profile>, or remove it";
  out.push_back(std::move(h));
}

void annotations_1_0(const Input& in, Hits& out) {
  if (const auto* v = annotation(in.spec, kPodAnnotation); v && !valid_annotation(*v))
    annotation_hit(in, kPodAnnotation, *v, out);
  std::string key(kContainerAnnotationPrefix);
  for (const auto& c : in.spec.containers) {
    key.resize(kContainerAnnotationPrefix.size());
    key += c.name;
    const auto* v = annotation(in.spec, key);
    if (!v || valid_annotation(*v)) continue;
    // PSA reports a set of annotations: two containers of the same name name it once.
    const std::string field = metadata_path(in.spec) + ".annotations[" + quote(key) + "]";
    bool seen = false;
    for (const auto& h : out) seen = seen || h.field == field;
    if (!seen) annotation_hit(in, key, *v, out);
  }
}

}  // namespace

bool valid_seccomp_type(std::string_view type) { return type == "RuntimeDefault" || type == "Localhost"; }

Hit seccomp_type_hit(Hit h, std::string_view type) {
  h.what = "sets " + h.field + "=" + quote(type);
  h.fix = kFieldFix;
  return h;
}

void check_seccomp_profile_baseline(const Input& in, Hits& out) {
  if (in.version < 19) return annotations_1_0(in, out);
  const auto& pod = in.spec.security.seccompProfileType;
  if (pod && !valid_seccomp_type(*pod))
    out.push_back(seccomp_type_hit(pod_hit(in, "securityContext.seccompProfile.type", printable(*pod)), *pod));
  for (const auto& c : in.spec.containers) {
    const auto& type = c.security.seccompProfileType;
    if (type && !valid_seccomp_type(*type))
      out.push_back(
          seccomp_type_hit(container_hit(in, c, ".securityContext.seccompProfile.type", printable(*type)), *type));
  }
}

}  // namespace podgate::policy::detail::pod_security
