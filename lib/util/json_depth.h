#pragma once
// A RapidJSON SAX handler that forwards every event and refuses nesting past a bound, so a hostile
// document cannot make a parse (or any later walk over its tree) go arbitrarily deep.

#include <rapidjson/document.h>
#include <rapidjson/reader.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace podgate::util {

template <typename Handler>
struct DepthLimitedHandler {
  Handler& next;
  unsigned maxDepth;
  unsigned depth = 0;
  bool tooDeep = false;

  bool Null() { return next.Null(); }
  bool Bool(bool b) { return next.Bool(b); }
  bool Int(int i) { return next.Int(i); }
  bool Uint(unsigned i) { return next.Uint(i); }
  bool Int64(std::int64_t i) { return next.Int64(i); }
  bool Uint64(std::uint64_t i) { return next.Uint64(i); }
  bool Double(double d) { return next.Double(d); }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool copy) { return next.RawNumber(s, n, copy); }
  bool String(const char* s, rapidjson::SizeType n, bool copy) { return next.String(s, n, copy); }
  bool Key(const char* s, rapidjson::SizeType n, bool copy) { return next.Key(s, n, copy); }
  bool StartObject() { return enter() && next.StartObject(); }
  bool EndObject(rapidjson::SizeType members) {
    --depth;
    return next.EndObject(members);
  }
  bool StartArray() { return enter() && next.StartArray(); }
  bool EndArray(rapidjson::SizeType elements) {
    --depth;
    return next.EndArray(elements);
  }

 private:
  // Refused before the parser descends, so the recursive parser's stack stays bounded too.
  bool enter() {
    if (++depth <= maxDepth) return true;
    tooDeep = true;
    return false;
  }
};

// Parses `json` into `doc` without recursion (RapidJSON's iterative parser), validating UTF-8 and
// refusing nesting past `maxDepth`, so neither the parse nor a later recursive walk of the tree
// (Accept, a writer) can be driven arbitrarily deep by what someone else wrote. False on failure,
// with `why` (when given) saying what, never quoting the text.
bool parse_depth_limited(std::string_view json, rapidjson::Document& doc, unsigned maxDepth, std::string* why = nullptr);

}  // namespace podgate::util
