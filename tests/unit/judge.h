#pragma once
// Judges an AdmissionReview body end to end (decode, then the Evaluator), for policy tests.

#include <catch2/catch.hpp>

#include <string>

#include "admission/admission.h"
#include "policy/policy.h"

namespace podgate::testing {

inline policy::Verdict judge(const std::string& body, const config::Config& cfg = config::Config{},
                             policy::Route route = policy::Route::Validate) {
  admission::DecodeResult decoded = admission::decode(body);
  INFO((decoded.error ? decoded.error->message : std::string()));
  REQUIRE(decoded);
  const policy::Evaluator evaluator(cfg);
  return evaluator.evaluate(decoded.review->request(), route);
}

// The one-line 400 message for a body podgate refuses to judge ("" when it decodes).
inline std::string decode_refusal(const std::string& body) {
  admission::DecodeResult decoded = admission::decode(body);
  return decoded ? std::string() : decoded.error->message;
}

}  // namespace podgate::testing
