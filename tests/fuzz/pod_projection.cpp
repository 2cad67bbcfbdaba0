// audit::project_pod, the reader of every Pod the continuous audit list-watches, and the
// AdmissionReview it makes of one (to_admission_review) through admission::decode and the
// Evaluator. Invariants: a refusal says why; a kept Pod's review always decodes, as the Pod's
// CREATE, with its pod spec, and (when the Pod itself decodes as a review) with the same Pod
// Security fields as the Pod; the projection reads back as itself; its digests are well formed and
// listed once; the cache keeps exactly what fits its bound.

#include <rapidjson/document.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "admission/admission.h"
#include "audit/pod_cache.h"
#include "../support/security_fields.h"
#include "fuzz_check.h"
#include "policy/policy.h"
#include "util/json_depth.h"

namespace {

const podgate::policy::Evaluator& evaluator() {
  static const podgate::policy::Evaluator instance{podgate::config::Config{}};
  return instance;
}

bool valid_digest(std::string_view d) {
  if (d.size() != 71 || !d.starts_with("sha256:")) return false;
  return std::all_of(d.begin() + 7, d.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// The projection keeps every field the Pod Security Standards read: when the Pod itself, as a
// CREATE review, decodes with a pod spec, the projection's review decodes with the same fields.
void check_security_fields(std::string_view json, const podgate::audit::PodProjection& pod) {
  using namespace podgate::admission;
  const std::string original =
      R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"group":"","version":"v1","kind":"Pod"},)"
      R"("resource":{"group":"","version":"v1","resource":"pods"},"operation":"CREATE","object":)" + std::string(json) + "}}";
  auto a = decode(original);
  if (!a || !a.review->request().object.podSpec) return;
  auto b = decode(podgate::audit::to_admission_review(pod));
  FUZZ_CHECK(b.review.has_value() && b.review->request().object.podSpec.has_value());
  const std::string difference =
      podgate::testing::security_difference(*a.review->request().object.podSpec, *b.review->request().object.podSpec);
  if (!difference.empty()) std::fprintf(stderr, "differs: %s\n", difference.c_str());
  FUZZ_CHECK(difference.empty());
}

void check_review(const podgate::audit::PodProjection& pod) {
  using namespace podgate::admission;
  auto decoded = decode(podgate::audit::to_admission_review(pod));
  if (!decoded) std::fprintf(stderr, "%s\n", decoded.error->message.c_str());
  FUZZ_CHECK(decoded.review.has_value());
  const Request& r = decoded.review->request();
  FUZZ_CHECK(r.operation == Operation::Create);
  FUZZ_CHECK(r.target == Target::PodSpec);
  FUZZ_CHECK(r.name == pod.name);
  FUZZ_CHECK(r.namespace_ == pod.namespace_);
  FUZZ_CHECK(r.uid == (pod.uid.empty() ? std::string_view("audit") : std::string_view(pod.uid)));
  FUZZ_CHECK(r.object.uid == pod.uid);
  FUZZ_CHECK(r.userInfo.username.empty() && r.userInfo.groups.empty());
  FUZZ_CHECK(r.object.podSpec.has_value());
  const auto verdict = evaluator().evaluate(r, podgate::policy::Route::Validate);
  if (verdict.decision == podgate::policy::Decision::Denied) FUZZ_CHECK(!verdict.message.empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace podgate::audit;
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  std::string why = "stale";
  const auto pod = project_pod(json, &why);
  if (!pod) {
    FUZZ_CHECK(why.empty() || why.starts_with("not a readable Pod: "));
    return 0;
  }
  FUZZ_CHECK(why.empty());
  FUZZ_CHECK(!pod->name.empty());
  FUZZ_CHECK(pod->phase != "Succeeded" && pod->phase != "Failed");
  FUZZ_CHECK(pod->bytes > pod->object.size());
  rapidjson::Document doc;
  FUZZ_CHECK(podgate::util::parse_depth_limited(pod->object, doc, 100) && doc.IsObject());

  const auto digests = pod->running_digests();
  for (const auto& s : pod->statuses) {
    FUZZ_CHECK(s.list == "initContainers" || s.list == "containers" || s.list == "ephemeralContainers");
    FUZZ_CHECK(s.digest.empty() || valid_digest(s.digest));
    FUZZ_CHECK(s.digest.empty() || std::count(digests.begin(), digests.end(), s.digest) == 1);
  }
  FUZZ_CHECK(std::none_of(digests.begin(), digests.end(), [](const std::string& d) { return d.empty(); }));

  check_review(*pod);
  check_security_fields(json, *pod);

  // Read back, a projection is itself: nothing in it is reshaped, so nothing is judged twice differently.
  std::string again;
  const auto back = project_pod(pod->object, &again);
  if (!back) std::fprintf(stderr, "%s\n", again.c_str());
  FUZZ_CHECK(back.has_value());
  FUZZ_CHECK(back->object == pod->object);

  // The cache keeps it when it fits, under its own key, as projected.
  PodCache cache({.maxBytes = 16 * 1024, .skipNamespaces = {}}, nullptr, nullptr);
  const std::string key = pod->namespace_ + "/" + pod->name;
  cache.upsert(key, json);
  const auto held = cache.get(key);
  const bool fits = pod->bytes <= kMaxProjectionBytes && pod->bytes <= 16 * 1024;
  FUZZ_CHECK(fits == (held != nullptr));
  FUZZ_CHECK(!held || *held == *pod);
  FUZZ_CHECK(cache.bytes() == (held ? pod->bytes : 0));
  cache.remove(key);
  FUZZ_CHECK(cache.size() == 0 && cache.bytes() == 0);
  return 0;
}
