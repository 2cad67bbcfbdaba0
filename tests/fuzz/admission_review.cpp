// The admission path without sockets: admission::decode an AdmissionReview body, judge it with the
// default config (plus two workloads.custom entries) on both routes (policy::Evaluator::evaluate), and admission::encode the answer.
// Invariants: decode gives a review or an error, never both or neither; /audit never denies
// (default config: no image rules, so nothing is known-malicious); the encoded answer is JSON that
// carries the request's uid back unchanged and agrees with the verdict; the Pod Security fields are
// as documented (non-zero host ports, non-empty probe hosts, no "name" among a volume's sources)
// and every view of them points into the review's buffer. Differential: the decoder's fallback
// parser (RapidJSON) accepts every body the fast one (simdjson) accepts, and decodes it alike (the
// same request fields, or the same error message). The one known exception: RapidJSON refuses a
// number whose exponent is out of double's range even when its value is not (0e400 is 0; simdjson
// and Go read it so).

#include <rapidjson/document.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <string_view>

#include "admission/admission.h"
#include "fuzz_check.h"
#include "policy/policy.h"

namespace {

using podgate::policy::Decision;
using podgate::policy::Route;

// The default config plus custom workloads (a Rollout at spec.template.spec, and a deeper path),
// so the fuzzer reaches the custom path of the decoder as well as the built-in one.
const podgate::policy::Evaluator& evaluator() {
  static const podgate::policy::Evaluator instance{[] {
    podgate::config::Config config;
    config.workloads.custom = {{"argoproj.io", "Rollout", "rollouts", {"*"}, "spec.template.spec"},
                               {"example.com", "Deep", "deeps", {"v1"}, "spec.a.b.c.d.e.f.template.spec"}};
    return config;
  }()};
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

// The Pod Security fields as admission.h documents them, and their views in the review's buffer.
// The buffer is private, but request.uid is a view into it and the buffer is the body plus 3
// bytes, so every view into it lies within body.size() + 3 bytes either side of the uid: a view
// into the parser's stack or a temporary would not.
void check_security_fields(const podgate::admission::Request& request, std::size_t bodySize) {
  using namespace podgate::admission;
  if (!request.object.podSpec) return;
  const PodSpec& spec = *request.object.podSpec;
  const auto address = [](std::string_view v) { return reinterpret_cast<std::uintptr_t>(v.data()); };
  const std::uintptr_t uid = address(request.uid);
  const std::uintptr_t lo = uid - std::min<std::uintptr_t>(uid, bodySize), hi = uid + bodySize + 3;
  const auto in_buffer = [&](std::string_view v) {
    FUZZ_CHECK(v.empty() || (address(v) >= lo && address(v) + v.size() <= hi));
  };
  for (const auto& [key, value] : spec.security.annotations) {
    in_buffer(key);
    in_buffer(value);
  }
  for (std::string_view s : spec.security.sysctls) in_buffer(s);
  in_buffer(spec.security.osName);
  for (const Container& c : spec.containers) {
    for (std::int64_t port : c.security.hostPorts) FUZZ_CHECK(port != 0);
    for (std::string_view host : c.security.probeHosts) {
      FUZZ_CHECK(!host.empty());
      in_buffer(host);
    }
    for (std::string_view s : c.security.capabilitiesAdd) in_buffer(s);
    for (std::string_view s : c.security.capabilitiesDrop) in_buffer(s);
    if (c.security.procMount) in_buffer(*c.security.procMount);
    if (c.security.seccompProfileType) in_buffer(*c.security.seccompProfileType);
  }
  for (const Volume& v : spec.volumes)
    for (std::string_view source : v.sources) {
      FUZZ_CHECK(source != "name");
      in_buffer(source);
    }
}

// The fields every rule reads, compared between the two parsers' decodes.
void check_same_request(const podgate::admission::Request& a, const podgate::admission::Request& b) {
  using namespace podgate::admission;
  FUZZ_CHECK(a.uid == b.uid && a.kind.group == b.kind.group && a.kind.version == b.kind.version &&
             a.kind.kind == b.kind.kind && a.resource == b.resource && a.resourceGroup == b.resourceGroup &&
             a.subResource == b.subResource && a.name == b.name && a.namespace_ == b.namespace_ &&
             a.operationText == b.operationText && a.dryRun == b.dryRun && a.target == b.target);
  FUZZ_CHECK(a.userInfo.username == b.userInfo.username && a.userInfo.groups == b.userInfo.groups);
  for (auto [x, y] : {std::pair{&a.object, &b.object}, std::pair{&a.oldObject, &b.oldObject}}) {
    FUZZ_CHECK(x->name == y->name && x->uid == y->uid && x->podSpec.has_value() == y->podSpec.has_value());
    FUZZ_CHECK(x->nodePaths.size() == y->nodePaths.size());
    if (!x->podSpec) continue;
    const PodSpec &p = *x->podSpec, &q = *y->podSpec;
    FUZZ_CHECK(p.containers.size() == q.containers.size() && p.volumes.size() == q.volumes.size());
    FUZZ_CHECK(p.serviceAccountName == q.serviceAccountName && p.imagePullSecrets == q.imagePullSecrets);
    FUZZ_CHECK(p.security.annotations == q.security.annotations && p.security.sysctls == q.security.sysctls);
    FUZZ_CHECK(p.security.hostPID == q.security.hostPID && p.security.osName == q.security.osName);
    for (std::size_t i = 0; i < p.containers.size() && i < q.containers.size(); ++i) {
      const Container &c = p.containers[i], &d = q.containers[i];
      FUZZ_CHECK(c.name == d.name && c.image == d.image && c.privileged == d.privileged &&
                 c.volumeMounts == d.volumeMounts && c.security.capabilitiesAdd == d.security.capabilitiesAdd &&
                 c.security.probeHosts == d.security.probeHosts && c.security.hostPorts == d.security.hostPorts &&
                 c.security.runAsUser == d.security.runAsUser);
    }
    for (std::size_t i = 0; i < p.volumes.size() && i < q.volumes.size(); ++i) {
      const Volume &v = p.volumes[i], &w = q.volumes[i];
      FUZZ_CHECK(v.name == w.name && v.sources == w.sources && v.imageReference == w.imageReference &&
                 v.hostPath.has_value() == w.hostPath.has_value());
      if (v.hostPath && w.hostPath) FUZZ_CHECK(v.hostPath->path == w.hostPath->path);
    }
  }
}

void check_fallback_parser_agrees(const std::uint8_t* data, std::size_t size,
                                  const podgate::admission::DecodeResult& decoded) {
  if (std::memchr(data, '\0', size)) {  // no JSON text holds a raw NUL: refused, whichever parser
    FUZZ_CHECK(!decoded);
    return;
  }
  const auto fallback = podgate::admission::detail::decode_with_fallback_parser(
      std::string(reinterpret_cast<const char*>(data), size), evaluator().custom_workloads());
  if (fallback.error && fallback.error->message.rfind("body is not valid JSON: Number too big", 0) == 0) return;
  if (decoded) {
    FUZZ_CHECK(fallback.review.has_value());
    if (fallback) check_same_request(decoded.review->request(), fallback.review->request());
  } else if (fallback.error && decoded.error->message.rfind("body is not valid JSON", 0) != 0) {
    // Both parsed the JSON, and the walk refused it: with the same message.
    FUZZ_CHECK(decoded.error->message == fallback.error->message);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto decoded = podgate::admission::decode(std::string(reinterpret_cast<const char*>(data), size),
                                            evaluator().custom_workloads());
  FUZZ_CHECK(decoded.review.has_value() != decoded.error.has_value());
  check_fallback_parser_agrees(data, size, decoded);
  if (!decoded) {
    FUZZ_CHECK(!decoded.error->message.empty());
    return 0;
  }
  const auto& request = decoded.review->request();
  check_security_fields(request, size);
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
