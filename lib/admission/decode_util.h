#pragma once
// Internal to lib/admission: the decoder's reading conventions, shared by admission.cpp and
// pod_security_fields.cpp (see the top of admission.cpp for the type and duplicate-key policy).

#include <rapidjson/document.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "util/json.h"

namespace podgate::admission::detail {

using Value = rapidjson::Value;

inline std::string_view view(const Value& v) { return {v.GetString(), v.GetStringLength()}; }

// A field path, built on the stack as the decoder descends and rendered only for an error, so
// the happy path allocates nothing for it.
struct Path {
  const Path* parent = nullptr;
  std::string_view key;  // member name, or "" for an array element
  std::size_t index = 0;

  Path member(std::string_view k) const { return Path{this, k, 0}; }
  Path element(std::size_t i) const { return Path{this, {}, i}; }

  std::string render() const {
    std::string parentText = parent ? parent->render() : std::string();
    if (key.empty() && parent) return parentText + "[" + std::to_string(index) + "]";
    if (parentText.empty()) return std::string(key);
    return parentText + "." + std::string(key);
  }
};

struct Failure {
  std::string message;
};

// The members of an object that the decoder reads, found in one pass over it.
template <std::size_t N>
class Members {
 public:
  explicit Members(const std::array<std::string_view, N>& keys) : keys_(keys) {}

  // False (with `failure` set) for a duplicate key.
  bool scan(const Value& object, const Path& path, Failure& failure) {
    for (auto it = object.MemberBegin(); it != object.MemberEnd(); ++it) {
      const std::string_view name = view(it->name);
      for (std::size_t i = 0; i < N; ++i) {
        if (name != keys_[i]) continue;
        if (seen_[i]) {
          failure.message = path.member(name).render() + ": duplicate key";
          return false;
        }
        seen_[i] = true;
        // JSON null means "unset" to Kubernetes; treat it exactly like an absent key.
        values_[i] = it->value.IsNull() ? nullptr : &it->value;
        break;
      }
    }
    return true;
  }

  const Value* operator[](std::size_t i) const { return values_[i]; }

 private:
  const std::array<std::string_view, N>& keys_;
  std::array<const Value*, N> values_{};
  std::array<bool, N> seen_{};
};

inline bool wrong_type(const Path& path, const char* expected, const Value& got, Failure& failure) {
  failure.message = path.render() + ": expected " + expected + ", got " + util::json_type_name(got);
  return false;
}

inline bool read_string(const Value* v, const Path& path, std::string_view& out, Failure& failure) {
  if (!v) return true;
  if (!v->IsString()) return wrong_type(path, "a string", *v, failure);
  out = view(*v);
  return true;
}

inline bool read_string(const Value* v, const Path& path, std::optional<std::string_view>& out, Failure& failure) {
  if (!v) return true;
  if (!v->IsString()) return wrong_type(path, "a string", *v, failure);
  out = view(*v);
  return true;
}

inline bool read_bool(const Value* v, const Path& path, std::optional<bool>& out, Failure& failure) {
  if (!v) return true;
  if (!v->IsBool()) return wrong_type(path, "a boolean", *v, failure);
  out = v->GetBool();
  return true;
}

// An integer field (int32 or int64 in the schema): 1.0, 1e3 and values past int64 are refused,
// as the apiserver refuses them.
inline bool read_int(const Value* v, const Path& path, std::optional<std::int64_t>& out, Failure& failure) {
  if (!v) return true;
  if (!v->IsInt64()) return wrong_type(path, "an integer", *v, failure);
  out = v->GetInt64();
  return true;
}

inline bool check_object(const Value* v, const Path& path, Failure& failure) {
  if (!v || v->IsObject()) return true;
  return wrong_type(path, "an object", *v, failure);
}

inline bool check_array(const Value* v, const Path& path, Failure& failure) {
  if (!v || v->IsArray()) return true;
  return wrong_type(path, "an array", *v, failure);
}

// False (with `failure` set) when a member name of `object` appears twice: for the objects whose
// every member the decoder reads (a volume's sources, annotations), where Members cannot tell.
bool check_unique_names(const Value& object, const Path& path, Failure& failure);

}  // namespace podgate::admission::detail
