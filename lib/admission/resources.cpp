// Which resources podgate judges (and how), decided by request.resource and subResource.

#include "admission/resources.h"

namespace podgate::admission {

namespace detail {

namespace {
constexpr std::array<SpecLocation, 10> kSpecLocations{{
    {"Pod", {"spec"}, 1, "spec"},
    {"EphemeralContainers", {"spec"}, 1, "spec"},  // see find_pod_spec for the legacy object
    {"Deployment", {"spec", "template", "spec"}, 3, "spec.template.spec"},
    {"ReplicaSet", {"spec", "template", "spec"}, 3, "spec.template.spec"},
    {"StatefulSet", {"spec", "template", "spec"}, 3, "spec.template.spec"},
    {"DaemonSet", {"spec", "template", "spec"}, 3, "spec.template.spec"},
    {"Job", {"spec", "template", "spec"}, 3, "spec.template.spec"},
    {"ReplicationController", {"spec", "template", "spec"}, 3, "spec.template.spec"},
    {"PodTemplate", {"template", "spec"}, 2, "template.spec"},
    {"CronJob", {"spec", "jobTemplate", "spec", "template", "spec"}, 5, "spec.jobTemplate.spec.template.spec"},
}};

}  // namespace

const SpecLocation* spec_location(std::string_view kind) {
  for (const auto& loc : kSpecLocations)
    if (loc.kind == kind) return &loc;
  return nullptr;
}

namespace {

// The resources podgate judges, with the API groups that serve them (old ones included:
// extensions/v1beta1 Deployments) and the kind their objects must have.
struct JudgedResource {
  std::string_view resource;
  std::array<std::string_view, 2> groups;
  std::size_t groupCount;
  std::string_view kind;
  Target target;
};

constexpr std::array<JudgedResource, 10> kJudgedResources{{
    {"pods", {""}, 1, "Pod", Target::PodSpec},
    {"replicationcontrollers", {""}, 1, "ReplicationController", Target::PodSpec},
    {"podtemplates", {""}, 1, "PodTemplate", Target::PodSpec},
    {"persistentvolumes", {""}, 1, "PersistentVolume", Target::PersistentVolume},
    {"deployments", {"apps", "extensions"}, 2, "Deployment", Target::PodSpec},
    {"replicasets", {"apps", "extensions"}, 2, "ReplicaSet", Target::PodSpec},
    {"daemonsets", {"apps", "extensions"}, 2, "DaemonSet", Target::PodSpec},
    {"statefulsets", {"apps"}, 1, "StatefulSet", Target::PodSpec},
    {"jobs", {"batch"}, 1, "Job", Target::PodSpec},
    {"cronjobs", {"batch"}, 1, "CronJob", Target::PodSpec},
}};

bool in_groups(const JudgedResource& r, std::string_view group) {
  for (std::size_t i = 0; i < r.groupCount; ++i)
    if (r.groups[i] == group) return true;
  return false;
}

const JudgedResource* judged_resource(std::string_view group, std::string_view resource) {
  for (const auto& r : kJudgedResources)
    if (r.resource == resource && in_groups(r, group)) return &r;
  return nullptr;
}

const JudgedResource* judged_kind(std::string_view group, std::string_view kind) {
  for (const auto& r : kJudgedResources)
    if (r.kind == kind && in_groups(r, group)) return &r;
  return nullptr;
}

std::string describe_gr(std::string_view group, std::string_view name) {
  return std::string(name) + " (" + (group.empty() ? std::string("core") : std::string(group)) + ")";
}

void set_location(SpecPath& where, const SpecLocation& loc) {
  for (std::size_t i = 0; i < loc.depth; ++i) where.steps[i] = loc.steps[i];
  where.depth = loc.depth;
  where.fieldPath = loc.fieldPath;
}

// A custom workload's main resource is judged like a Deployment; its status and scale
// subresources carry no pod spec.
std::optional<std::string> classify_custom(Request& req, const CustomWorkload& c, SpecPath& where) {
  if (!req.subResource.empty()) return std::nullopt;
  if (req.kind.kind != c.kind || req.kind.group != c.group)
    return "request.kind " + describe_gr(req.kind.group, req.kind.kind) + " does not match request.resource " +
           describe_gr(req.resourceGroup, req.resource) + " (expected " + c.kind + ")";
  req.target = Target::PodSpec;
  req.podBearing = true;
  req.customWorkload = true;
  // The config checked the path (at most kMaxSpecSteps identifiers); the views point into `c`.
  const std::string_view path = c.podSpecPath;
  std::size_t start = 0;
  while (where.depth < kMaxSpecSteps) {
    const auto dot = path.find('.', start);
    where.steps[where.depth++] = path.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  where.fieldPath = path;
  return std::nullopt;
}

}  // namespace

// Decides what the rules judge from request.resource and subResource, and refuses a review whose
// kind disagrees with them: judging by kind alone would let a review that names one thing and
// carries another be waved through (or judged as the wrong shape).
std::optional<std::string> classify(Request& req, const CustomWorkloads* custom, SpecPath& where) {
  where.depth = 0;
  const JudgedResource* r = judged_resource(req.resourceGroup, req.resource);
  if (!r) {
    // Custom workloads only for what is not built in: the built-in path pays nothing for them.
    if (custom && !custom->empty()) {
      if (const CustomWorkload* c = custom->by_resource(req.resourceGroup, req.resource))
        return classify_custom(req, *c, where);
      if (custom->by_kind(req.kind.group, req.kind.kind))
        return req.resource.empty()
                   ? "request.resource: missing for kind " + describe_gr(req.kind.group, req.kind.kind)
                   : "request.kind " + describe_gr(req.kind.group, req.kind.kind) +
                         " does not match request.resource " + describe_gr(req.resourceGroup, req.resource);
    }
    const bool legacyEphemeral = req.kind.kind == "EphemeralContainers" && req.kind.group.empty();
    if (judged_kind(req.kind.group, req.kind.kind) || legacyEphemeral) {
      return req.resource.empty()
                 ? "request.resource: missing for kind " + describe_gr(req.kind.group, req.kind.kind)
                 : "request.kind " + describe_gr(req.kind.group, req.kind.kind) + " does not match request.resource " +
                       describe_gr(req.resourceGroup, req.resource);
    }
    return std::nullopt;  // not a resource podgate judges
  }
  const std::string_view sub = req.subResource;
  // The status subresource cannot change the spec (the apiserver keeps the old one).
  if (sub == "status") return std::nullopt;
  const bool kindMatches = req.kind.kind == r->kind && in_groups(*r, req.kind.group);
  const bool pods = r->resource == "pods";
  bool agrees = kindMatches;
  if (pods && sub == "ephemeralcontainers")  // older apiservers send kind EphemeralContainers
    agrees = kindMatches || (req.kind.kind == "EphemeralContainers" && req.kind.group.empty());
  const bool strict = sub.empty() || (pods && (sub == "ephemeralcontainers" || sub == "resize"));
  if (!agrees) {
    if (!strict) return std::nullopt;  // another subresource's own kind (Scale, Binding, Eviction): no spec
    return "request.kind " + describe_gr(req.kind.group, req.kind.kind) + " does not match request.resource " +
           describe_gr(req.resourceGroup, req.resource) + (sub.empty() ? "" : "/" + std::string(sub)) + " (expected " +
           std::string(r->kind) + ")";
  }
  req.target = r->target;
  req.podBearing = r->target == Target::PodSpec;
  if (req.podBearing)
    if (const SpecLocation* loc = spec_location(r->kind)) set_location(where, *loc);
  return std::nullopt;
}


}  // namespace detail

bool is_pod_bearing_kind(std::string_view kind) { return detail::spec_location(kind) != nullptr; }

ResourceName resource_for_kind(std::string_view kind) {
  for (const auto& r : detail::kJudgedResources)
    if (r.kind == kind) return ResourceName{r.groups[0], r.resource};
  if (kind == "EphemeralContainers") return ResourceName{"", "pods"};
  return {};
}

const CustomWorkload* CustomWorkloads::by_resource(std::string_view group, std::string_view resource) const {
  for (const auto& c : entries_)
    if (c.resource == resource && c.group == group) return &c;
  return nullptr;
}

const CustomWorkload* CustomWorkloads::by_kind(std::string_view group, std::string_view kind) const {
  for (const auto& c : entries_)
    if (c.kind == kind && c.group == group) return &c;
  return nullptr;
}

ResourceName resource_for(std::string_view apiVersion, std::string_view kind, const CustomWorkloads& custom) {
  const auto slash = apiVersion.find('/');
  const std::string_view group = slash == std::string_view::npos ? std::string_view() : apiVersion.substr(0, slash);
  // Custom first, by group: a custom kind may share a built-in kind's name in its own group.
  if (const CustomWorkload* c = custom.by_kind(group, kind)) return ResourceName{c->group, c->resource};
  return resource_for_kind(kind);
}

}  // namespace podgate::admission
