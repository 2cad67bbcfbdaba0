#include "util/json.h"
#include "util/json_depth.h"

#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>

#include <cstring>

namespace podgate::util {

const char* json_type_name(const rapidjson::Value& v) {
  switch (v.GetType()) {
    case rapidjson::kNullType: return "null";
    case rapidjson::kFalseType:
    case rapidjson::kTrueType: return "a boolean";
    case rapidjson::kObjectType: return "an object";
    case rapidjson::kArrayType: return "an array";
    case rapidjson::kStringType: return "a string";
    case rapidjson::kNumberType: return "a number";
  }
  return "an unknown value";
}

bool parse_depth_limited(std::string_view json, rapidjson::Document& doc, unsigned maxDepth, std::string* why) {
  // A raw NUL cannot occur in JSON text, and the reader would take it for the end of input.
  if (const void* nul = std::memchr(json.data(), '\0', json.size())) {
    if (why) *why = "not valid JSON: a NUL byte at offset " + std::to_string(static_cast<const char*>(nul) - json.data());
    return false;
  }
  struct Generator {
    std::string_view json;
    unsigned maxDepth;
    rapidjson::ParseResult result;
    bool tooDeep = false;
    bool operator()(rapidjson::Document& d) {
      DepthLimitedHandler<rapidjson::Document> handler{d, maxDepth};
      rapidjson::MemoryStream stream(json.data(), json.size());
      rapidjson::Reader reader;
      result = reader.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag>(stream, handler);
      tooDeep = handler.tooDeep;
      return !result.IsError();
    }
  } generator{json, maxDepth, {}, false};
  doc.Populate(generator);
  if (generator.tooDeep) {
    if (why) *why = "JSON nested deeper than " + std::to_string(maxDepth) + " levels";
    return false;
  }
  if (generator.result.IsError()) {
    if (why)
      *why = std::string("not valid JSON: ") + rapidjson::GetParseError_En(generator.result.Code()) + " (at byte " +
             std::to_string(generator.result.Offset()) + ")";
    return false;
  }
  return true;
}

}  // namespace podgate::util
