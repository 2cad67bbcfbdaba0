#pragma once
// Internal to lib/admission: the decoder's reading conventions, shared by admission.cpp and
// pod_security_fields.cpp (see the top of admission.cpp for the type and duplicate-key policy).

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "admission/json_value.h"

namespace podgate::admission::detail {

// A string the Request keeps (valid as long as the Review).
inline std::string_view view(const Value& v) { return v.kept(); }

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

// a == b, inline: the decoder compares every member name of the objects it reads with its keys,
// and a call to memcmp per comparison cost more than the comparison (2% of a review's CPU under
// load).
inline bool same_key(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  const std::size_t n = a.size();
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t x, y;
    std::memcpy(&x, a.data() + i, 8);
    std::memcpy(&y, b.data() + i, 8);
    if (x != y) return false;
  }
  for (; i < n; ++i)
    if (a[i] != b[i]) return false;
  return true;
}

// The members of an object that the decoder reads, found in one pass over it.
template <std::size_t N>
class Members {
  static_assert(N > 0 && N <= 32, "one bit per key in a std::uint32_t");

 public:
  explicit Members(const std::array<std::string_view, N>& keys) : keys_(keys) {
    if constexpr (kIndexed)
      for (std::size_t i = 0; i < N; ++i) candidates(keys[i].size()) |= std::uint32_t{1} << i;
  }

  // False (with `failure` set) for a duplicate key.
  bool scan(const Value& object, const Path& path, Failure& failure) {
    const Value::MemberRange members = object.members();
    for (auto it = members.begin(), end = members.end(); it != end; ++it) {
      const std::string_view name = it.name();
      if constexpr (kIndexed) {
        // Only the keys of the name's length are compared: a container or a pod spec has a dozen
        // members and as many keys, and most members (env, resources, ...) match none.
        for (std::uint32_t c = candidates(name.size()); c != 0; c &= c - 1) {
          const auto i = static_cast<std::size_t>(__builtin_ctz(c));
          if (same_key(name, keys_[i])) {
            if (!take(i, it.value(), name, path, failure)) return false;
            break;
          }
        }
      } else {
        for (std::size_t i = 0; i < N; ++i) {
          if (!same_key(name, keys_[i])) continue;
          if (!take(i, it.value(), name, path, failure)) return false;
          break;
        }
      }
    }
    return true;
  }

  // The member's value, or null when absent or JSON null.
  const Value* operator[](std::size_t i) const { return present_[i] ? &values_[i] : nullptr; }

 private:
  // A handful of keys are compared directly; more are indexed by length (bit i: keys_[i]).
  static constexpr bool kIndexed = N > 4;
  static constexpr std::size_t kLengths = 32;  // lengths 0..30 each, and 31 for every longer one

  std::uint32_t& candidates(std::size_t length) { return byLength_[length < kLengths ? length : kLengths - 1]; }

  bool take(std::size_t i, const Value& value, std::string_view name, const Path& path, Failure& failure) {
    if (seen_[i]) {
      failure.message = path.member(name).render() + ": duplicate key";
      return false;
    }
    seen_[i] = true;
    // JSON null means "unset" to Kubernetes; treat it exactly like an absent key.
    present_[i] = !value.is_null();
    values_[i] = value;
    return true;
  }

  const std::array<std::string_view, N>& keys_;
  std::array<Value, N> values_{};
  std::array<bool, N> present_{};
  std::array<bool, N> seen_{};
  std::array<std::uint32_t, kIndexed ? kLengths : 1> byLength_{};
};

inline bool wrong_type(const Path& path, const char* expected, const Value& got, Failure& failure) {
  failure.message = path.render() + ": expected " + expected + ", got " + got.type_name();
  return false;
}

inline bool read_string(const Value* v, const Path& path, std::string_view& out, Failure& failure) {
  if (!v) return true;
  if (!v->is_string()) return wrong_type(path, "a string", *v, failure);
  out = view(*v);
  return true;
}

inline bool read_string(const Value* v, const Path& path, std::optional<std::string_view>& out, Failure& failure) {
  if (!v) return true;
  if (!v->is_string()) return wrong_type(path, "a string", *v, failure);
  out = view(*v);
  return true;
}

inline bool read_bool(const Value* v, const Path& path, std::optional<bool>& out, Failure& failure) {
  if (!v) return true;
  if (!v->is_bool()) return wrong_type(path, "a boolean", *v, failure);
  out = v->boolean();
  return true;
}

// An integer field (int32 or int64 in the schema): 1.0, 1e3 and values past int64 are refused,
// as the apiserver refuses them.
inline bool read_int(const Value* v, const Path& path, std::optional<std::int64_t>& out, Failure& failure) {
  if (!v) return true;
  if (!v->is_int64()) return wrong_type(path, "an integer", *v, failure);
  out = v->int64();
  return true;
}

inline bool check_object(const Value* v, const Path& path, Failure& failure) {
  if (!v || v->is_object()) return true;
  return wrong_type(path, "an object", *v, failure);
}

inline bool check_array(const Value* v, const Path& path, Failure& failure) {
  if (!v || v->is_array()) return true;
  return wrong_type(path, "an array", *v, failure);
}

// False (with `failure` set) when a member name of `object` appears twice: for the objects whose
// every member the decoder reads (a volume's sources, annotations), where Members cannot tell.
bool check_unique_names(const Value& object, const Path& path, Failure& failure);

}  // namespace podgate::admission::detail
