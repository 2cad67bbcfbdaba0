// AdmissionReview response encoding. RapidJSON's Writer does the escaping; output goes straight
// into the returned string, sized up front so a typical response costs one allocation.

#include <rapidjson/writer.h>

#include "admission/admission.h"

namespace podgate::admission {
namespace {

// The minimal output stream RapidJSON's Writer needs, appending to a std::string.
struct StringSink {
  using Ch = char;
  std::string* out;
  void Put(char c) { out->push_back(c); }
  void Flush() {}
};

using JsonWriter = rapidjson::Writer<StringSink>;

void put_string(JsonWriter& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

void put_key(JsonWriter& w, std::string_view s) { w.Key(s.data(), static_cast<rapidjson::SizeType>(s.size())); }

std::size_t estimate_size(const Response& r) {
  // Fixed text plus every string, with headroom for escapes.
  std::size_t n = 160 + r.uid.size() + r.reason.size() + r.message.size();
  for (const auto& w : r.warnings) n += w.size() + 4;
  for (const auto& [k, v] : r.auditAnnotations) n += k.size() + v.size() + 6;
  return n + n / 8;
}

}  // namespace

std::string encode(const Response& response) {
  std::string out;
  out.reserve(estimate_size(response));
  StringSink sink{&out};
  JsonWriter w(sink);

  w.StartObject();
  put_key(w, "apiVersion");
  put_string(w, "admission.k8s.io/v1");
  put_key(w, "kind");
  put_string(w, "AdmissionReview");
  put_key(w, "response");
  w.StartObject();
  put_key(w, "uid");
  put_string(w, response.uid);
  put_key(w, "allowed");
  w.Bool(response.allowed);
  // The apiserver reads status only on a denial; a validating webhook never sends patch/patchType.
  if (!response.allowed) {
    put_key(w, "status");
    w.StartObject();
    put_key(w, "code");
    w.Int(response.code);
    if (!response.reason.empty()) {
      put_key(w, "reason");
      put_string(w, response.reason);
    }
    if (!response.message.empty()) {
      put_key(w, "message");
      put_string(w, response.message);
    }
    w.EndObject();
  }
  if (!response.warnings.empty()) {
    put_key(w, "warnings");
    w.StartArray();
    for (const auto& warning : response.warnings) put_string(w, warning);
    w.EndArray();
  }
  if (!response.auditAnnotations.empty()) {
    put_key(w, "auditAnnotations");
    w.StartObject();
    for (const auto& [key, value] : response.auditAnnotations) {
      put_key(w, key);
      put_string(w, value);
    }
    w.EndObject();
  }
  w.EndObject();
  w.EndObject();
  return out;
}

}  // namespace podgate::admission
