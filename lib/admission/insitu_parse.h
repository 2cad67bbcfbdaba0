#pragma once
// Internal to lib/admission: RapidJSON's recursive in-situ parser under a nesting-depth bound.

#include <rapidjson/document.h>
#include <rapidjson/reader.h>

#include <cstdint>
#include <cstring>
#include <string_view>

#include "util/json_depth.h"

namespace podgate::admission::detail {

// Deeper than any Kubernetes object (a pod with affinity rules inside a CronJob is ~25 levels),
// shallow enough that the recursive parser's stack use stays small on any worker thread.
constexpr unsigned kMaxNestingDepth = 512;

// Parses `text` in situ into a Document (through GenericDocument::Populate), keeping the result.
struct InsituParse {
  char* text;
  bool validateUtf8;
  rapidjson::ParseResult result;
  bool tooDeep = false;

  bool operator()(rapidjson::Document& doc) {
    rapidjson::InsituStringStream stream(text);
    rapidjson::Reader reader;
    // The recursive parser is markedly faster than the iterative one; the depth bound makes it safe.
    util::DepthLimitedHandler<rapidjson::Document> limiter{doc, kMaxNestingDepth};
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
