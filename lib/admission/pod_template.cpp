// find_pod_template: where an object podgate does not judge keeps a pod template, so that
// `podgate check` can say that a workload (an Argo Rollout, a CloneSet) passes unjudged.

#include "admission/admission.h"
#include "util/json_depth.h"

#include <rapidjson/document.h>

#include <string>
#include <string_view>

namespace podgate::admission {

namespace {

using Value = rapidjson::Value;

// Deep enough for any workload's template; a manifest's own depth is bounded by the parse.
constexpr unsigned kMaxDepth = 64;

const Value* member(const Value& object, std::string_view name) {
  for (auto it = object.MemberBegin(); it != object.MemberEnd(); ++it)
    if (std::string_view(it->name.GetString(), it->name.GetStringLength()) == name) return &it->value;
  return nullptr;
}

// A pod template: an object whose "spec" is an object with a "containers" list.
bool is_pod_template(const Value& v) {
  if (!v.IsObject()) return false;
  const Value* spec = member(v, "spec");
  if (!spec || !spec->IsObject()) return false;
  const Value* containers = member(*spec, "containers");
  return containers && containers->IsArray();
}

// Depth first, in document order: the first "template" member that is a pod template.
bool find(const Value& v, const std::string& path, std::string& out) {
  if (v.IsObject()) {
    for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
      const std::string_view name(it->name.GetString(), it->name.GetStringLength());
      const std::string here = path.empty() ? std::string(name) : path + "." + std::string(name);
      if (name == "template" && is_pod_template(it->value)) {
        out = here + ".spec";
        return true;
      }
      if (find(it->value, here, out)) return true;
    }
  } else if (v.IsArray()) {
    for (rapidjson::SizeType i = 0; i < v.Size(); ++i)
      if (find(v[i], path + "[" + std::to_string(i) + "]", out)) return true;
  }
  return false;
}

}  // namespace

std::string find_pod_template(std::string_view objectJson) {
  rapidjson::Document doc;
  if (!util::parse_depth_limited(objectJson, doc, kMaxDepth)) return {};
  std::string out;
  find(doc, "", out);
  return out;
}

}  // namespace podgate::admission
