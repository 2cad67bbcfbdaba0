// Digest pinning: see pin.h. Only images whose resolution succeeded are pinned; the rest are left
// as written for the validating webhook to judge (a failed resolution, a refused image).

#include "policy/pin.h"

#include <algorithm>
#include <unordered_map>

#include "util/json.h"

namespace podgate::policy {

namespace {

// The image of a plan entry worth pinning, or why not.
bool pinnable(const PlannedImage& image) {
  return !image.old && !image.exemption && !image.refused && image.parsed && image.parsed.reference->digest.empty();
}

bool ephemeral_field(std::string_view field) { return field.find(".ephemeralContainers[") != std::string_view::npos; }

// oldObject's images by field, on UPDATE (empty otherwise).
std::unordered_map<std::string_view, std::string_view> images_before(const admission::Request& request,
                                                                     const ImagePlan& plan) {
  std::unordered_map<std::string_view, std::string_view> before;
  if (request.operation != admission::Operation::Update) return before;
  for (const PlannedImage& image : plan.images)
    if (image.old) before.emplace(image.field, image.image);
  return before;
}

// Whether this request may rewrite `image` (see plan_pins): on UPDATE only a new or changed image,
// on the ephemeralcontainers subresource only an ephemeral container's.
bool rewritable(const admission::Request& request, const PlannedImage& image,
                const std::unordered_map<std::string_view, std::string_view>& before) {
  if (!pinnable(image)) return false;
  if (request.subResource == "ephemeralcontainers" && !ephemeral_field(image.field)) return false;
  const auto it = before.find(image.field);
  return it == before.end() || it->second != image.image;
}

}  // namespace

std::string pinned_image(std::string_view image, std::string_view digest) {
  std::string out(image);
  out += '@';
  out += digest;
  return out;
}

std::string json_pointer(std::string_view field) {
  std::string out;
  out.reserve(field.size() + 4);
  out += '/';
  for (const char c : field) {
    switch (c) {
      case '.':
      case '[': out += '/'; break;
      case ']': break;
      case '~': out += "~0"; break;
      case '/': out += "~1"; break;
      default: out += c;
    }
  }
  return out;
}

PinPlan plan_pins(const admission::Request& request, const ImagePlan& plan) {
  PinPlan out;
  if (!plan.rule || !plan.rule->pinDigests) return out;
  const auto before = images_before(request, plan);
  for (const PlannedImage& image : plan.images) {
    if (!rewritable(request, image, before)) continue;
    const auto& r = image.resolution;
    if (!r || !r->ok() || r->digest.empty()) {
      out.unresolved.push_back(UnresolvedImage{image.subject, image.field, image.image,
                                               r && !r->error.empty() ? r->error : std::string("no answer from the registry")});
      continue;
    }
    out.pins.push_back(DigestPin{image.subject, image.field, json_pointer(image.field), image.image,
                                 pinned_image(image.image, r->digest)});
  }
  return out;
}

std::string json_patch(const std::vector<DigestPin>& pins) {
  if (pins.empty()) return {};
  rapidjson::StringBuffer buffer;
  util::JsonWriter w(buffer);
  w.StartArray();
  for (const DigestPin& pin : pins) {
    w.StartObject();
    util::write_members(w, {{"op", "replace"}, {"path", pin.pointer}, {"value", pin.pinned}});
    w.EndObject();
  }
  w.EndArray();
  return util::to_string(buffer);
}

}  // namespace podgate::policy
