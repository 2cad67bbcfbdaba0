#pragma once
// Internal to lib/admission: one read-only JSON value for the decoder, from either of the two
// parsers it uses (admission.cpp, Decoder::decode):
//   - simdjson's DOM, for every body: 5-7x faster than RapidJSON on reviews (bench/RESULTS.md,
//     issue 19), fully validating (grammar, UTF-8, nesting depth);
//   - RapidJSON's in-situ DOM, only for a body simdjson refuses, so that what is accepted and the
//     error messages (with their offsets) stay exactly RapidJSON's: simdjson refuses some numbers
//     RapidJSON reads as doubles (integers past 64 bits, which Go writes for a float64 of 1e20).
// The walk (admission.cpp, pod_security_fields.cpp) is written once against this class.
//
// Strings: RapidJSON's point into the body (parsed in situ) and live as long as the Review.
// simdjson's live in the thread's parser, which the next request reuses, so a string the Request
// keeps is copied by `kept()` into the review's own storage (KeptStrings).

#include <rapidjson/document.h>
#include <simdjson.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/json.h"

namespace podgate::admission::detail {

// Where the decoded strings a Request keeps are copied, for a review parsed by simdjson. The body
// itself is the first region: once parsed it is not read again, and no string decodes longer
// than its JSON text, so the strings of one object fit in it. Only a string kept twice could
// overflow it, into chunks the Review owns.
class KeptStrings {
 public:
  using Chunks = std::vector<std::unique_ptr<char[]>>;
  KeptStrings(char* region, std::size_t size, Chunks& overflow) : next_(region), left_(size), overflow_(overflow) {}
  KeptStrings(const KeptStrings&) = delete;
  KeptStrings& operator=(const KeptStrings&) = delete;

  std::string_view keep(std::string_view s) {
    if (s.empty()) return {};
    char* at;
    if (s.size() <= left_) {
      at = next_;
      next_ += s.size();
      left_ -= s.size();
    } else {
      overflow_.push_back(std::make_unique<char[]>(s.size()));
      at = overflow_.back().get();
    }
    std::memcpy(at, s.data(), s.size());
    return {at, s.size()};
  }

 private:
  char* next_;
  std::size_t left_;
  Chunks& overflow_;
};

class Value {
 public:
  Value() = default;
  explicit Value(const rapidjson::Value& v) : rapid_(&v) {}
  Value(simdjson::dom::element e, KeptStrings* kept) : simd_(e), kept_(kept) {}

  bool is_null() const { return rapid_ ? rapid_->IsNull() : simd_.is_null(); }
  bool is_object() const { return rapid_ ? rapid_->IsObject() : simd_.is_object(); }
  bool is_array() const { return rapid_ ? rapid_->IsArray() : simd_.is_array(); }
  bool is_string() const { return rapid_ ? rapid_->IsString() : simd_.is_string(); }
  bool is_bool() const { return rapid_ ? rapid_->IsBool() : simd_.is_bool(); }
  // An integer that fits int64: 1.0, 1e3 and larger integers are not (as RapidJSON's IsInt64).
  bool is_int64() const { return rapid_ ? rapid_->IsInt64() : simd_.is_int64(); }

  // Only after the matching is_*() check.
  bool boolean() const { return rapid_ ? rapid_->GetBool() : simd_.get_bool().value_unsafe(); }
  std::int64_t int64() const { return rapid_ ? rapid_->GetInt64() : simd_.get_int64().value_unsafe(); }
  // The string, valid only while the decoder runs (for comparisons and messages).
  std::string_view string() const {
    if (rapid_) return {rapid_->GetString(), rapid_->GetStringLength()};
    return simd_.get_string().value_unsafe();
  }
  // The string, valid as long as the Review: what the Request keeps.
  std::string_view kept() const { return keep(string()); }
  // A member name of this value's document, kept as long as the Review (see kept()).
  std::string_view keep(std::string_view s) const { return rapid_ ? s : kept_->keep(s); }

  // An array's elements or an object's members (0 for anything else).
  std::size_t size() const {
    if (rapid_) return rapid_->IsArray() ? rapid_->Size() : rapid_->IsObject() ? rapid_->MemberCount() : 0;
    if (simd_.is_array()) return simd_.get_array().value_unsafe().size();
    if (simd_.is_object()) return simd_.get_object().value_unsafe().size();
    return 0;
  }

  // "a string", "an object", ...: for error messages.
  const char* type_name() const;

  struct Member;  // {name, value}: below, where Value is complete

  // The members of an object, in document order (duplicates included), or its elements of an
  // array: for (const Member& m : v.members()), for (const Value& e : v.elements()). Only after
  // is_object() / is_array().
  class MemberIterator;
  class ElementIterator;
  template <typename It>
  struct Range {
    It first, last;
    It begin() const { return first; }
    It end() const { return last; }
  };
  using MemberRange = Range<MemberIterator>;
  using ElementRange = Range<ElementIterator>;
  MemberRange members() const;
  ElementRange elements() const;

 private:
  const rapidjson::Value* rapid_ = nullptr;  // set: a RapidJSON value; null: simd_
  simdjson::dom::element simd_;
  KeptStrings* kept_ = nullptr;
};

struct Value::Member {
  std::string_view name;  // valid while the decoder runs; Value::keep() to keep it
  Value value;
};

// Stepping over RapidJSON's or simdjson's elements, whichever document the value is from.
template <typename RapidIt, typename SimdIt>
class EitherIterator {
 public:
  explicit EitherIterator(RapidIt r) : rapid_(r) {}
  EitherIterator(SimdIt s, KeptStrings* kept) : simd_(s), kept_(kept) {}
  bool operator!=(const EitherIterator& other) const { return simd_ ? *simd_ != *other.simd_ : rapid_ != other.rapid_; }

 protected:
  void step() {
    if (simd_) ++*simd_;
    else ++rapid_;
  }
  RapidIt rapid_{};
  std::optional<SimdIt> simd_;  // the simdjson walk (its iterators have no default constructor)
  KeptStrings* kept_ = nullptr;
};

class Value::MemberIterator
    : public EitherIterator<rapidjson::Value::ConstMemberIterator, simdjson::dom::object::iterator> {
 public:
  using EitherIterator::EitherIterator;
  Member operator*() const { return {name(), value()}; }
  // Apart, for a walk that looks at every name and only some values.
  std::string_view name() const {
    if (!simd_) return {rapid_->name.GetString(), rapid_->name.GetStringLength()};
    return simd_->key();
  }
  Value value() const { return simd_ ? Value(simd_->value(), kept_) : Value(rapid_->value); }
  MemberIterator& operator++() {
    step();
    return *this;
  }
};

class Value::ElementIterator
    : public EitherIterator<rapidjson::Value::ConstValueIterator, simdjson::dom::array::iterator> {
 public:
  using EitherIterator::EitherIterator;
  Value operator*() const { return simd_ ? Value(**simd_, kept_) : Value(*rapid_); }
  ElementIterator& operator++() {
    step();
    return *this;
  }
};

inline Value::MemberRange Value::members() const {
  using It = MemberIterator;
  if (rapid_) return {It(rapid_->MemberBegin()), It(rapid_->MemberEnd())};
  const simdjson::dom::object object = simd_.get_object().value_unsafe();
  return {It(object.begin(), kept_), It(object.end(), kept_)};
}

inline Value::ElementRange Value::elements() const {
  using It = ElementIterator;
  if (rapid_) return {It(rapid_->Begin()), It(rapid_->End())};
  const simdjson::dom::array array = simd_.get_array().value_unsafe();
  return {It(array.begin(), kept_), It(array.end(), kept_)};
}

// The same names as util::json_type_name, which answers for RapidJSON's values.
inline const char* Value::type_name() const {
  if (rapid_) return util::json_type_name(*rapid_);
  switch (simd_.type()) {
    case simdjson::dom::element_type::NULL_VALUE: return "null";
    case simdjson::dom::element_type::BOOL: return "a boolean";
    case simdjson::dom::element_type::OBJECT: return "an object";
    case simdjson::dom::element_type::ARRAY: return "an array";
    case simdjson::dom::element_type::STRING: return "a string";
    case simdjson::dom::element_type::INT64:
    case simdjson::dom::element_type::UINT64:
    case simdjson::dom::element_type::DOUBLE: break;
  }
  return "a number";
}

}  // namespace podgate::admission::detail
