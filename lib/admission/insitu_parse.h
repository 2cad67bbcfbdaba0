#pragma once
// Internal to lib/admission: RapidJSON's recursive in-situ parser under a nesting-depth bound.

#include <rapidjson/document.h>
#include <rapidjson/reader.h>

#include <cstdint>
#include <cstring>
#include <string_view>

namespace podgate::admission::detail {

// Deeper than any Kubernetes object (a pod with affinity rules inside a CronJob is ~25 levels),
// shallow enough that the recursive parser's stack use stays small on any worker thread.
constexpr unsigned kMaxNestingDepth = 512;

// Forwards RapidJSON's SAX events to the Document building the DOM, refusing nesting beyond
// kMaxNestingDepth before the parser recurses into it. The recursive parser is used because it
// is markedly faster than the iterative one; this bound is what makes it safe.
template <typename Handler>
struct DepthLimiter {
  Handler& next;
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
  bool enter() {
    if (++depth <= kMaxNestingDepth) return true;
    tooDeep = true;
    return false;
  }
};

// Parses `text` in situ into a Document (through GenericDocument::Populate), keeping the result.
struct InsituParse {
  char* text;
  bool validateUtf8;
  rapidjson::ParseResult result;
  bool tooDeep = false;

  bool operator()(rapidjson::Document& doc) {
    rapidjson::InsituStringStream stream(text);
    rapidjson::Reader reader;
    DepthLimiter<rapidjson::Document> limiter{doc};
    // Validating UTF-8 means every string podgate echoes back (uid, names) is valid JSON text in
    // the response. Pure ASCII, the usual case, is valid by construction and skips the cost.
    result = validateUtf8
                 ? reader.Parse<rapidjson::kParseInsituFlag | rapidjson::kParseValidateEncodingFlag>(stream, limiter)
                 : reader.Parse<rapidjson::kParseInsituFlag>(stream, limiter);
    tooDeep = limiter.tooDeep;
    return !result.IsError();
  }
};

// Eight bytes at a time: this runs over every body, and the byte loop does not vectorise at -O2.
inline bool is_ascii(std::string_view text) {
  std::uint64_t any = 0;
  std::size_t i = 0;
  for (; i + 8 <= text.size(); i += 8) {
    std::uint64_t word;
    std::memcpy(&word, text.data() + i, sizeof word);
    any |= word;
  }
  for (; i < text.size(); ++i) any |= static_cast<unsigned char>(text[i]);
  return (any & 0x8080808080808080ULL) == 0;
}

}  // namespace podgate::admission::detail
