#pragma once
// Internal to lib/admission: which resources podgate judges, the kind each must carry, and where
// each keeps its pod spec. The decoder judges a request by its resource, not by its kind.

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "admission/admission.h"

namespace podgate::admission::detail {

// Where each pod-bearing kind keeps its pod spec. Matched on the kind alone, whatever the group
// and version, so old and future versions (batch/v1beta1 CronJob, extensions/v1beta1 Deployment)
// are judged by the path to the spec rather than waved through by a version whitelist.
struct SpecLocation {
  std::string_view kind;
  std::array<std::string_view, 5> steps;
  std::size_t depth;
  const char* fieldPath;
};

const SpecLocation* spec_location(std::string_view kind);

// Where the judged resource keeps its pod spec, built in or custom: the member names from the
// object down to the spec, and the spec's dotted field path.
inline constexpr std::size_t kMaxSpecSteps = 16;  // config::kMaxPodSpecPathSegments
struct SpecPath {
  std::array<std::string_view, kMaxSpecSteps> steps{};
  std::size_t depth = 0;  // 0: the resource carries no pod spec
  std::string_view fieldPath;
};

// Sets req.target, req.podBearing and req.customWorkload from request.resource and subResource
// (`custom` may be null), and `where` to where the pod spec is; returns the one-line 400 message
// for a review whose kind disagrees with them.
std::optional<std::string> classify(Request& req, const CustomWorkloads* custom, SpecPath& where);

}  // namespace podgate::admission::detail
