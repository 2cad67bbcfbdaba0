#pragma once
// Judges an AdmissionReview body end to end (decode, then the Evaluator) for the policy tests, and
// the helpers they share to read a Verdict.
//
// Every policy test reaches the Evaluator through judge(body, cfg, facts, route) below, the one
// place that calls Evaluator::evaluate(request, route, Facts) and images_to_resolve(request), and
// ScanDb below is the one place that turns scan records into a Facts::scans lookup: if that API
// moves, these two are what to adapt.

#include <catch2/catch.hpp>
#include <rapidjson/document.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "admission/admission.h"
#include "image/reference.h"
#include "policy/policy.h"
#include "scan/scan.h"

namespace podgate::testing {

inline bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

inline bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

// Whether any kubectl warning line contains `needle`.
inline bool any_warning(const policy::Verdict& v, const std::string& needle) {
  return std::any_of(v.warnings.begin(), v.warnings.end(), [&](const std::string& w) { return contains(w, needle); });
}

// The value of audit annotation `name`, if the verdict has it.
inline std::optional<std::string> annotation(const policy::Verdict& v, const std::string& name) {
  for (const auto& [k, value] : v.auditAnnotations)
    if (k == name) return value;
  return std::nullopt;
}

// RapidJSON 1.1's Value comparison operators recurse forever under C++20's rewritten comparisons,
// so tests compare values as plain strings.
inline std::string json_text(const rapidjson::Value& v) {
  return v.IsString() ? std::string(v.GetString(), v.GetStringLength()) : "<not a string>";
}

// One entry of the `images` audit annotation: scan and scans only for images the scan rule judged.
struct AnnotatedImage {
  std::string subject, image, digest;
  std::optional<std::string> scan, scans;
  AnnotatedImage(std::string subject_, std::string image_, std::string digest_,
                 std::optional<std::string> scan_ = std::nullopt, std::optional<std::string> scans_ = std::nullopt)
      : subject(std::move(subject_)), image(std::move(image_)), digest(std::move(digest_)), scan(std::move(scan_)),
        scans(std::move(scans_)) {}
  bool operator==(const AnnotatedImage&) const = default;
};

inline std::ostream& operator<<(std::ostream& os, const AnnotatedImage& a) {
  os << "{" << a.subject << ", " << a.image << ", " << a.digest;
  if (a.scan || a.scans) os << ", scan=" << a.scan.value_or("<none>") << ", scans=" << a.scans.value_or("<none>");
  return os << "}";
}

// The `images` audit annotation, parsed: a JSON array of {subject, image, digest} objects, with
// scan and scans together or not at all.
inline std::vector<AnnotatedImage> annotated_images(const policy::Verdict& v) {
  const std::optional<std::string> json = annotation(v, "images");
  REQUIRE(json);
  rapidjson::Document doc;
  doc.Parse(json->c_str(), json->size());
  INFO(*json);
  REQUIRE_FALSE(doc.HasParseError());
  REQUIRE(doc.IsArray());
  std::vector<AnnotatedImage> out;
  for (const auto& e : doc.GetArray()) {
    REQUIRE(e.IsObject());
    REQUIRE(e.HasMember("subject"));
    REQUIRE(e.HasMember("image"));
    REQUIRE(e.HasMember("digest"));
    AnnotatedImage a{json_text(e["subject"]), json_text(e["image"]), json_text(e["digest"])};
    REQUIRE(e.HasMember("scan") == e.HasMember("scans"));
    REQUIRE(e.MemberCount() == (e.HasMember("scan") ? 5u : 3u));
    if (e.HasMember("scan")) {
      a.scan = json_text(e["scan"]);
      a.scans = json_text(e["scans"]);
    }
    out.push_back(std::move(a));
  }
  return out;
}

// What the Evaluator made of one review: what it would ask the registry for, and the verdict.
struct Outcome {
  std::vector<std::string> toResolve;  // canonical references, in the order images_to_resolve gave them
  policy::Verdict verdict;
};

inline Outcome judge(const std::string& body, const config::Config& cfg, const policy::Facts& facts,
                     policy::Route route = policy::Route::Validate) {
  const policy::Evaluator evaluator(cfg);
  admission::DecodeResult decoded = admission::decode(body, evaluator.custom_workloads());
  INFO((decoded.error ? decoded.error->message : std::string()));
  REQUIRE(decoded);
  Outcome out;
  for (const image::Reference& r : evaluator.images_to_resolve(decoded.review->request()))
    out.toResolve.push_back(r.canonical());
  out.verdict = evaluator.evaluate(decoded.review->request(), route, facts);
  return out;
}

// With the registry's answers only (no scan lookup, the clock's time).
inline Outcome judge(const std::string& body, const config::Config& cfg, const policy::ImageResolutions* resolutions,
                     policy::Route route = policy::Route::Validate) {
  policy::Facts facts;
  facts.resolutions = resolutions;
  return judge(body, cfg, facts, route);
}

// With no facts at all: the rules that need none (privileged, runtime sockets).
inline policy::Verdict judge(const std::string& body, const config::Config& cfg = config::Config{},
                             policy::Route route = policy::Route::Validate) {
  return judge(body, cfg, policy::Facts{}, route).verdict;
}

// The one-line 400 message for a body podgate refuses to judge ("" when it decodes).
inline std::string decode_refusal(const std::string& body) {
  admission::DecodeResult decoded = admission::decode(body);
  return decoded ? std::string() : decoded.error->message;
}

// The scan cache as a map behind a policy::ScanLookup, recording which digests the rule asked
// about (in order). A copy shares the records' values but not `calls`, unless `calls` is copied.
struct ScanDb {
  std::map<std::string, std::vector<scan::ScanRecord>> records;
  std::vector<std::string> emptyAnswers;  // digests answered with an empty list rather than null
  std::shared_ptr<std::vector<std::string>> calls = std::make_shared<std::vector<std::string>>();

  ScanDb& add(scan::ScanRecord r) {
    records[r.digest].push_back(std::move(r));
    return *this;
  }
  // The lookup refers to this ScanDb: keep it alive while the lookup is in use.
  policy::ScanLookup lookup() const {
    return [this](std::string_view digest) -> std::shared_ptr<const std::vector<scan::ScanRecord>> {
      calls->emplace_back(digest);
      if (std::find(emptyAnswers.begin(), emptyAnswers.end(), digest) != emptyAnswers.end())
        return std::make_shared<const std::vector<scan::ScanRecord>>();
      const auto it = records.find(std::string(digest));
      if (it == records.end()) return nullptr;
      return std::make_shared<const std::vector<scan::ScanRecord>>(it->second);
    };
  }
  std::size_t calls_for(const std::string& digest) const {
    return static_cast<std::size_t>(std::count(calls->begin(), calls->end(), digest));
  }
  // A copy with the same records and no calls recorded yet.
  ScanDb fresh() const {
    ScanDb copy = *this;
    copy.calls = std::make_shared<std::vector<std::string>>();
    return copy;
  }
};

// Facts from the registry's answers, a scan cache (null: no lookup at all) and a fixed time.
inline policy::Facts facts(const policy::ImageResolutions* resolutions, const ScanDb* scans, std::int64_t now) {
  policy::Facts f;
  f.resolutions = resolutions;
  if (scans) f.scans = scans->lookup();
  f.now = now;
  return f;
}

}  // namespace podgate::testing
