// RapidJSON's recursive in-situ parser under the nesting-depth bound (insitu_parse.h), in its own
// translation unit so that its inlining does not depend on the decoder's code.

#include "admission/insitu_parse.h"

namespace podgate::admission::detail {

bool InsituParse::operator()(rapidjson::Document& doc) {
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

}  // namespace podgate::admission::detail
