// AdmissionReview response encoding. RapidJSON's Writer does the escaping; output goes straight
// into the returned string, sized up front so a typical response costs one allocation (and the
// writer's own stack none).

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

// The writer's stack of open objects and arrays (three deep at most here) comes from a buffer on
// the caller's stack, not the heap.
using JsonWriter =
    rapidjson::Writer<StringSink, rapidjson::UTF8<>, rapidjson::UTF8<>, rapidjson::MemoryPoolAllocator<>>;

void put_string(JsonWriter& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

void put_key(JsonWriter& w, std::string_view s) { w.Key(s.data(), static_cast<rapidjson::SizeType>(s.size())); }

// Standard base64 with padding (RFC 4648 §4): what Go's encoding/json expects of a []byte field.
std::string base64(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const unsigned v = static_cast<unsigned char>(bytes[i]) << 16 | static_cast<unsigned char>(bytes[i + 1]) << 8 |
                       static_cast<unsigned char>(bytes[i + 2]);
    for (int shift : {18, 12, 6, 0}) out.push_back(kAlphabet[(v >> shift) & 63]);
  }
  if (const std::size_t rest = bytes.size() - i; rest > 0) {
    unsigned v = static_cast<unsigned char>(bytes[i]) << 16;
    if (rest == 2) v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(rest == 2 ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

std::size_t estimate_size(const Response& r) {
  // Fixed text plus every string, with headroom for escapes.
  std::size_t n = 160 + r.uid.size() + r.reason.size() + r.message.size() + r.jsonPatch.size() * 4 / 3;
  for (const auto& w : r.warnings) n += w.size() + 4;
  for (const auto& [k, v] : r.auditAnnotations) n += k.size() + v.size() + 6;
  return n + n / 8;
}

}  // namespace

std::string encode(const Response& response) {
  std::string out;
  out.reserve(estimate_size(response));
  StringSink sink{&out};
  alignas(16) char levelBuffer[512];
  rapidjson::MemoryPoolAllocator<> levelAllocator(levelBuffer, sizeof levelBuffer);
  JsonWriter w(sink, &levelAllocator, 4);

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
  // The apiserver reads status only on a denial; a validating webhook never sends patch/patchType
  // (the caller leaves jsonPatch empty for it).
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
  if (!response.jsonPatch.empty()) {
    put_key(w, "patchType");
    put_string(w, "JSONPatch");
    put_key(w, "patch");
    put_string(w, base64(response.jsonPatch));
  }
  w.EndObject();
  w.EndObject();
  return out;
}

}  // namespace podgate::admission
