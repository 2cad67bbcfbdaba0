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

  // Defined in insitu_parse.cpp, alone: the parser is the hot loop of every review, and GCC's
  // inlining within it (SkipWhitespace, ParseString into ParseObject) depends on what else its
  // translation unit holds. In admission.cpp, next to the decoder, it lost those inlines when the
  // Pod Security readers were added (+15% per 4 KB Pod review, measured).
  bool operator()(rapidjson::Document& doc);
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
