// AdmissionReview response encoding. RapidJSON's Writer does the escaping; a typical response
// costs one allocation, the returned string.

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>

#include "admission/admission.h"

namespace podgate::admission {
namespace {

// The answer is written into a RapidJSON string buffer (its Writer reserves and then puts each
// string's characters unchecked, where a std::string sink checked capacity per character), backed
// like the writer's stack of open objects by a buffer on the caller's stack, and copied once into
// the returned string.
using Pool = rapidjson::MemoryPoolAllocator<>;
using Buffer = rapidjson::GenericStringBuffer<rapidjson::UTF8<>, Pool>;
using JsonWriter = rapidjson::Writer<Buffer, rapidjson::UTF8<>, rapidjson::UTF8<>, Pool>;

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
  // A typical answer (a few hundred bytes) fits; a larger one spills to the heap.
  alignas(16) char scratch[4096];
  Pool pool(scratch, sizeof scratch);
  Buffer out(&pool, std::min<std::size_t>(estimate_size(response), 2048));
  JsonWriter w(out, &pool, 4);

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
  return std::string(out.GetString(), out.GetSize());
}

}  // namespace podgate::admission
