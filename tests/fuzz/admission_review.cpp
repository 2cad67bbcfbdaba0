// The admission path without sockets: admission::decode an AdmissionReview body, judge it with the
// default config on both routes (policy::Evaluator::evaluate), and admission::encode the answer.
// Invariants: decode gives a review or an error, never both or neither; /audit never denies
// (default config: no image rules, so nothing is known-malicious); the encoded answer is JSON that
// carries the request's uid back unchanged and agrees with the verdict.

#include <rapidjson/document.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "admission/admission.h"
#include "fuzz_check.h"
#include "policy/policy.h"

namespace {

using podgate::policy::Decision;
using podgate::policy::Route;

const podgate::policy::Evaluator& evaluator() {
  static const podgate::policy::Evaluator instance{podgate::config::Config{}};
  return instance;
}

void check_answer(const std::string& body, std::string_view uid, const podgate::policy::Verdict& verdict) {
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  FUZZ_CHECK(!doc.HasParseError() && doc.IsObject());
  FUZZ_CHECK(doc.HasMember("response") && doc["response"].IsObject());
  const auto& response = doc["response"];
  FUZZ_CHECK(response.HasMember("uid") && response["uid"].IsString());
  FUZZ_CHECK(std::string_view(response["uid"].GetString(), response["uid"].GetStringLength()) == uid);
  FUZZ_CHECK(response.HasMember("allowed") && response["allowed"].IsBool());
  FUZZ_CHECK(response["allowed"].GetBool() == (verdict.decision != Decision::Denied));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto decoded = podgate::admission::decode(std::string(reinterpret_cast<const char*>(data), size));
  FUZZ_CHECK(decoded.review.has_value() != decoded.error.has_value());
  if (!decoded) {
    FUZZ_CHECK(!decoded.error->message.empty());
    return 0;
  }
  const auto& request = decoded.review->request();
  // Default config: the image rules are off, so there is nothing to resolve.
  FUZZ_CHECK(evaluator().images_to_resolve(request).empty());
  for (Route route : {Route::Validate, Route::Audit}) {
    const auto verdict = evaluator().evaluate(request, route);
    if (route == Route::Audit) FUZZ_CHECK(verdict.decision != Decision::Denied);
    if (verdict.decision == Decision::Denied) FUZZ_CHECK(!verdict.message.empty());
    const std::string body = podgate::admission::encode(podgate::policy::to_response(request.uid, verdict));
    check_answer(body, request.uid, verdict);
  }
  return 0;
}
