// The JSON walk the report readers share: typed member access that names where it failed.

#include "scan/report_reader.h"
#include "util/text.h"

#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <chrono>
#include <cstring>
#include <optional>

#include "image/reference.h"
#include "util/json.h"
#include "util/json_depth.h"
#include "util/time.h"

namespace podgate::scan::report_detail {

void refuse(std::string message) { throw Refusal{std::move(message)}; }

// A string from the report, quoted for a one-line error: control bytes escaped, long text cut.
std::string quoted(std::string_view s) { return util::quoted(s, 100); }

void wrong_type(const Path& at, const Value& v, const char* expected) {
  refuse(at.str() + " is " + util::json_type_name(v) + ", expected " + expected);
}

// The member `name` of an object, nullptr when absent. A key given twice is refused: JSON readers
// disagree on which one counts (Go keeps the last, RapidJSON finds the first), and a report must
// not say one thing to jq and another to podgate.
const Value* find(const Value& object, std::string_view name, const Path& at) {
  const Value* found = nullptr;
  for (const auto& m : object.GetObject()) {
    if (std::string_view(m.name.GetString(), m.name.GetStringLength()) != name) continue;
    if (found != nullptr) refuse((at / name).str() + " is given twice");
    found = &m.value;
  }
  return found;
}

// Go writes nil slices, maps and pointers as null, so null counts as absent throughout.
const Value* object_member(const Value& object, std::string_view name, const Path& at) {
  const Value* v = find(object, name, at);
  if (v == nullptr || v->IsNull()) return nullptr;
  if (!v->IsObject()) wrong_type(at / name, *v, "an object");
  return v;
}

const Value* array_member(const Value& object, std::string_view name, const Path& at) {
  const Value* v = find(object, name, at);
  if (v == nullptr || v->IsNull()) return nullptr;
  if (!v->IsArray()) wrong_type(at / name, *v, "an array");
  return v;
}

std::string string_member(const Value& object, std::string_view name, const Path& at, Need need) {
  const Value* v = find(object, name, at);
  if (v == nullptr || v->IsNull()) {
    if (need == Need::NonEmpty) refuse((at / name).str() + " is missing");
    return {};
  }
  if (!v->IsString()) wrong_type(at / name, *v, "a string");
  std::string s = string_of(*v, at / name);
  if (need == Need::NonEmpty && s.empty()) refuse((at / name).str() + " is empty");
  return s;
}

// RapidJSON lets a lone surrogate escape ("\udc0f") or invalid bytes through; Go's decoder, and so
// the apiserver, reads them as U+FFFD. Every string a report gives is made valid UTF-8 here, so what
// is stored, written to an ImageScan and read back is the same text.
std::string string_of(const Value& v, const Path& at) {
  if (!v.IsString()) wrong_type(at, v, "a string");
  return util::valid_utf8(std::string_view(v.GetString(), v.GetStringLength()));
}

// ---- time ----------------------------------------------------------------------------------

std::int64_t time_member(const Value& object, std::string_view name, const Path& at) {
  const std::string text = string_member(object, name, at, Need::NonEmpty);
  const auto t = util::parse_rfc3339(text);
  if (!t) refuse((at / name).str() + " is not an RFC 3339 time: " + quoted(text));
  // Go's zero time (0001-01-01T00:00:00Z) is how an unset time shows; it and anything before 1970
  // are not a scan time.
  if (*t <= 0) refuse((at / name).str() + " is not a plausible scan time: " + quoted(text));
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  if (*t > now + kMaxFutureSeconds)
    refuse((at / name).str() + " is more than a day in the future: " + quoted(text) +
           " (a wrong clock on the scanner?)");
  return *t;
}

// ---- digests and findings ---------------------------------------------------------------------

// "<repository>@sha256:<hex>" (Trivy's and Grype's RepoDigests, "alpine@sha256:..." included) or
// a bare "sha256:<hex>" (Grype's manifestDigest): the digest.
std::string digest_of(std::string_view entry, const Path& at) {
  const auto sep = entry.rfind('@');
  const std::string_view digest = sep == std::string_view::npos ? entry : entry.substr(sep + 1);
  if (sep == 0 || !image::is_valid_digest(digest))
    refuse(at.str() + ": malformed digest " + quoted(entry) +
           " (expected <repository>@sha256:<64 lowercase hex> or sha256:<64 lowercase hex>)");
  return std::string(digest);
}

Severity severity_member(const Value& object, std::string_view name, const Path& at) {
  const std::string text = string_member(object, name, at, Need::NonEmpty);
  const auto severity = parse_severity(text);
  if (!severity)
    refuse((at / name).str() + ": unknown severity " + quoted(text) +
           " (expected UNKNOWN, NEGLIGIBLE, LOW, MEDIUM, HIGH or CRITICAL)");
  return *severity;
}

std::vector<ScanRecord> finish(Parsed& p) {
  if (p.findings.size() * p.digests.list().size() > kMaxStoredFindings)
    refuse(std::to_string(p.findings.size()) + " findings for each of " + std::to_string(p.digests.list().size()) +
           " digests is more than the " + std::to_string(kMaxStoredFindings) + " findings one report may store");
  p.record.findings = p.findings.take();
  p.record.counts = {};
  for (const Finding& f : p.record.findings) ++p.record.counts[static_cast<std::size_t>(f.severity)];
  std::vector<ScanRecord> records;
  records.reserve(p.digests.list().size());
  for (const std::string& digest : p.digests.list()) {
    records.push_back(p.record);
    records.back().digest = digest;
  }
  return records;
}

void parse_document(std::string_view json, rapidjson::Document& doc, unsigned maxDepth) {
  std::string why;
  if (!util::parse_depth_limited(json, doc, maxDepth, &why)) refuse(why);
}

std::int64_t int_member(const Value& object, std::string_view name, const Path& at, std::int64_t min,
                        std::int64_t max, std::int64_t fallback) {
  const Value* v = find(object, name, at);
  if (v == nullptr || v->IsNull()) return fallback;
  if (!v->IsInt64()) wrong_type(at / name, *v, "an integer");
  const std::int64_t n = v->GetInt64();
  if (n < min || n > max)
    refuse((at / name).str() + " is " + std::to_string(n) + ", outside " + std::to_string(min) + ".." +
           std::to_string(max));
  return n;
}

}  // namespace podgate::scan::report_detail
