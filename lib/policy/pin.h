#pragma once
// Digest pinning (rules.images.pinDigests): which images of a request the mutating webhook
// rewrites from `repo:tag` to `repo:tag@sha256:...`, and the RFC 6902 JSON Patch that does it.
// Built from the request's ImagePlan once its resolutions are in, so /mutate and /validate ask the
// registry through the same digest cache and pin exactly the digest that is then judged.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "admission/admission.h"
#include "policy/policy.h"

namespace podgate::policy {

// One image rewritten.
struct DigestPin {
  std::string subject;  // "container \"app\"", "volume \"models\""
  std::string field;    // "spec.template.spec.containers[0].image"
  std::string pointer;  // "/spec/template/spec/containers/0/image" (RFC 6901)
  std::string image;    // as written
  std::string pinned;   // image + "@" + digest
};

// An image that would be pinned but the registry did not resolve: left as written.
struct UnresolvedImage {
  std::string subject;
  std::string field;
  std::string image;
  std::string why;  // the registry's error, or "no answer"
};

struct PinPlan {
  std::vector<DigestPin> pins;              // in spec order
  std::vector<UnresolvedImage> unresolved;  // in spec order
};

// The images of `request`'s object to pin, from `plan` with its resolutions in (ImagePlan::resolve):
// those judged (not exempt, not refused without a registry), without a digest, resolved. On
// UPDATE only images that differ from oldObject's image at the same field (a new or changed image):
// rewriting an unchanged tag would restart a running Pod's container or roll a workload out; on
// the ephemeralcontainers subresource, only ephemeral containers (the rest of the spec is
// immutable there). Nothing when the plan has no rule (image rules off, nothing judged, a
// namespace or user exemption).
PinPlan plan_pins(const admission::Request& request, const ImagePlan& plan);

// The image as written with "@<digest>" appended: "nginx:1.27" -> "nginx:1.27@sha256:...".
std::string pinned_image(std::string_view image, std::string_view digest);

// A PlannedImage field ("spec.containers[0].image") as the JSON pointer to the same value
// ("/spec/containers/0/image"), '~' and '/' escaped as RFC 6901 says.
std::string json_pointer(std::string_view field);

// The RFC 6902 patch: one {"op":"replace","path":...,"value":...} per pin, as JSON array text;
// "" when there is nothing to pin (the response then carries no patch).
std::string json_patch(const std::vector<DigestPin>& pins);

}  // namespace podgate::policy
