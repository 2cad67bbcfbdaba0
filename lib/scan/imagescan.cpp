// The ImageScan object: written as a server-side apply body, read back from the apiserver
// (imagescan.h; the schema is charts/podgate/crds/imagescans.podgate.io.yaml).

#include "scan/imagescan.h"

#include <algorithm>
#include <array>
#include <new>
#include <numeric>
#include <stdexcept>

#include "image/reference.h"
#include "scan/report_reader.h"
#include "util/json.h"
#include "util/text.h"
#include "util/time.h"

namespace podgate::scan {
namespace {

using namespace report_detail;

// The lowercase names counts are keyed by, index = Severity.
constexpr std::array<std::string_view, kSeverityCount> kCountKeys = {"unknown", "negligible", "low",
                                                                     "medium",  "high",       "critical"};
constexpr std::int64_t kMaxScannedAt = 253402300799;  // 9999-12-31T23:59:59Z, as the SQLite store
constexpr unsigned kMaxDepth = 32;  // an ImageScan nests 7 deep; managedFields' fieldsV1 a little more

bool valid_scanner(std::string_view s) {
  if (s.empty() || s.size() > kImageScanMaxScannerBytes) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || is_digit(c) || c == '-' || c == '_' || c == '.';
  });
}



// One finding as it is written: UTF-8, or nullopt when a string is past the schema's bound (such a
// finding is counted, not listed).
struct Written {
  std::string kind, id, package, installed, fixed;
  Severity severity;
  std::size_t index;  // in the record
};

std::optional<Written> writable(const Finding& f, std::size_t index) {
  const auto s = static_cast<std::size_t>(f.severity);
  if (s >= kSeverityCount) return std::nullopt;
  Written w{util::valid_utf8(f.kind),
            util::valid_utf8(f.id),
            util::valid_utf8(f.package),
            util::valid_utf8(f.installedVersion),
            util::valid_utf8(f.fixedVersion),
            f.severity,
            index};
  if (w.id.empty() || w.kind.size() > kImageScanMaxKindBytes || w.id.size() > kImageScanMaxIdBytes ||
      w.package.size() > kImageScanMaxPackageBytes || w.installed.size() > kImageScanMaxPackageVersionBytes ||
      w.fixed.size() > kImageScanMaxPackageVersionBytes)
    return std::nullopt;
  return w;
}

void write_finding(util::JsonWriter& w, const Written& f) {
  w.StartObject();
  util::write_members(w, {{"id", f.id}, {"severity", to_string(f.severity)}});
  if (!f.package.empty()) util::write_members(w, {{"package", f.package}});
  if (!f.installed.empty()) util::write_members(w, {{"installed", f.installed}});
  if (!f.fixed.empty()) util::write_members(w, {{"fixed", f.fixed}});
  if (f.kind != "vulnerability") util::write_members(w, {{"kind", f.kind}});
  w.EndObject();
}

struct Entry {  // the record-level fields, already UTF-8 and within bounds
  std::string digest, name, scanner, scannerVersion, databaseVersion, scannedAt, artifact;
  MalwareResult malware;
  std::array<std::int64_t, kSeverityCount> counts{};
  std::int64_t total = 0;
};

std::string write_body(const Entry& e, const std::vector<const Written*>& findings) {
  rapidjson::StringBuffer buffer;
  util::JsonWriter w(buffer);
  w.StartObject();
  util::write_members(w, {{"apiVersion", kImageScanApiVersion}, {"kind", kImageScanKind}});
  util::write_key(w, "metadata");
  w.StartObject();
  util::write_members(w, {{"name", e.name}});
  w.EndObject();
  util::write_key(w, "spec");
  w.StartObject();
  util::write_members(w, {{"digest", e.digest}});
  util::write_key(w, "scans");
  w.StartArray();
  w.StartObject();
  util::write_members(w, {{"scanner", e.scanner}});
  if (!e.scannerVersion.empty()) util::write_members(w, {{"scannerVersion", e.scannerVersion}});
  if (!e.databaseVersion.empty()) util::write_members(w, {{"databaseVersion", e.databaseVersion}});
  util::write_members(w, {{"scannedAt", e.scannedAt}, {"malware", to_string(e.malware)}});
  if (!e.artifact.empty()) util::write_members(w, {{"artifact", e.artifact}});
  util::write_key(w, "counts");
  w.StartObject();
  // Every severity, zeros too: server-side apply turns a map whose owned keys all go into null
  // (a clean rescan of a digest once found bad), which the CRD refuses.
  for (std::size_t s = kSeverityCount; s-- > 0;) {  // worst first, as people read them
    util::write_key(w, kCountKeys[s]);
    w.Int64(e.counts[s]);
  }
  w.EndObject();
  util::write_key(w, "findingsOmitted");
  w.Int64(e.total - static_cast<std::int64_t>(findings.size()));
  util::write_key(w, "findings");
  w.StartArray();
  for (const Written* f : findings) write_finding(w, *f);
  w.EndArray();
  w.EndObject();
  w.EndArray();
  w.EndObject();
  w.EndObject();
  return util::to_string(buffer);
}

std::size_t written_size(const Written& f) {
  rapidjson::StringBuffer buffer;
  util::JsonWriter w(buffer);
  write_finding(w, f);
  return buffer.GetSize();
}

}  // namespace

std::string imagescan_name(std::string_view digest) {
  if (!image::is_valid_digest(digest)) return {};
  std::string name(digest);
  name[name.find(':')] = '-';
  return name;
}

std::string imagescan_field_manager(std::string_view scanner) {
  std::string out = "podgate-";
  for (const char c : scanner.substr(0, kImageScanMaxScannerBytes)) {
    const char l = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    const bool ok = (l >= 'a' && l <= 'z') || is_digit(l) || l == '-' || l == '_' || l == '.';
    out += ok ? l : '-';
  }
  return out;
}

namespace {

// The entry's fields from the record, checked and bounded; counts cover everything the record
// lists, whatever its counts say, so nothing is under-counted.
Entry entry_of(const ScanRecord& record) {
  Entry e;
  e.name = imagescan_name(record.digest);
  if (e.name.empty()) throw std::invalid_argument("ImageScan: not a valid digest: " + quoted(record.digest));
  if (!valid_scanner(record.scanner))
    throw std::invalid_argument("ImageScan: the scanner must be 1-64 characters of a-z 0-9 . _ -: " +
                                quoted(record.scanner));
  if (record.scannedAt <= 0 || record.scannedAt > kMaxScannedAt)
    throw std::invalid_argument("ImageScan: scannedAt " + std::to_string(record.scannedAt) + " is out of range");
  e.digest = record.digest;
  e.scanner = record.scanner;
  e.scannerVersion = util::valid_utf8(record.scannerVersion, kImageScanMaxVersionBytes);
  e.databaseVersion = util::valid_utf8(record.databaseVersion, kImageScanMaxVersionBytes);
  e.artifact = util::valid_utf8(record.artifact, kImageScanMaxArtifactBytes);
  e.scannedAt = util::rfc3339(record.scannedAt);
  const int malware = static_cast<int>(record.malware);
  e.malware = malware >= 0 && malware <= static_cast<int>(MalwareResult::Error) ? record.malware : MalwareResult::Error;

  std::array<std::int64_t, kSeverityCount> listed{};
  for (const Finding& f : record.findings) {
    const auto s = static_cast<std::size_t>(f.severity);
    ++listed[s < kSeverityCount ? s : static_cast<std::size_t>(Severity::Unknown)];
  }
  // A finding of an out-of-range severity is counted as UNKNOWN (above) and not listed.
  for (std::size_t s = 0; s < kSeverityCount; ++s) {
    e.counts[s] = std::min<std::int64_t>(std::max<std::int64_t>(record.counts[s], listed[s]), kImageScanMaxCount);
    e.total += e.counts[s];
  }
  return e;
}

// The findings that may be listed: at or above the floor, within the bounds, and no more at a
// severity than its count (only when a count hit kImageScanMaxCount).
std::vector<Written> listable_findings(const ScanRecord& record, const Entry& e, Severity floor) {
  std::vector<Written> candidates;
  std::array<std::int64_t, kSeverityCount> taken{};
  for (std::size_t i = 0; i < record.findings.size(); ++i) {
    const Finding& f = record.findings[i];
    if (static_cast<int>(f.severity) < static_cast<int>(floor)) continue;
    if (candidates.size() == kImageScanMaxFindings) break;
    auto w = writable(f, i);
    if (!w) continue;
    const auto s = static_cast<std::size_t>(w->severity);
    if (taken[s] == e.counts[s]) continue;
    ++taken[s];
    candidates.push_back(std::move(*w));
  }
  return candidates;
}

// The body when all candidates do not fit: drop the findings lowest severity first, within a
// severity the last listed first, until the estimate fits (the body without findings, with
// findingsOmitted at its widest, plus each finding and the commas between them: never short),
// then write and check.
std::string body_within(const Entry& e, const std::vector<Written>& candidates, std::size_t maxBytes) {
  const std::string bare = write_body(e, {});
  if (bare.size() > maxBytes)
    throw std::invalid_argument("ImageScan: the object without findings is " + std::to_string(bare.size()) +
                                " bytes, more than maxObjectBytes (" + std::to_string(maxBytes) + ")");
  std::vector<std::size_t> sizes(candidates.size());
  std::size_t total = bare.size() + (candidates.empty() ? 0 : candidates.size() - 1);  // the commas
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    sizes[i] = written_size(candidates[i]);
    total += sizes[i];
  }
  std::vector<std::size_t> order(candidates.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (candidates[a].severity != candidates[b].severity)
      return static_cast<int>(candidates[a].severity) < static_cast<int>(candidates[b].severity);
    return a > b;
  });
  std::vector<bool> dropped(candidates.size(), false);
  std::vector<const Written*> keep;
  std::size_t next = 0;
  for (;;) {
    while (total > maxBytes && next < order.size()) {
      dropped[order[next]] = true;
      total -= sizes[order[next]] + (next + 1 < order.size() ? 1 : 0);
      ++next;
    }
    keep.clear();
    for (std::size_t i = 0; i < candidates.size(); ++i)
      if (!dropped[i]) keep.push_back(&candidates[i]);
    std::string body = write_body(e, keep);
    if (body.size() <= maxBytes || next == order.size()) return body;
    total = body.size();  // the estimate was short (it cannot be, but never return too much)
  }
}

}  // namespace

std::string imagescan_apply_body(const ScanRecord& record, const ImageScanLimits& limits) {
  const Entry e = entry_of(record);
  const std::vector<Written> candidates = listable_findings(record, e, limits.findingsFloor);
  std::vector<const Written*> keep;
  keep.reserve(candidates.size());
  for (const Written& w : candidates) keep.push_back(&w);
  std::string body = write_body(e, keep);
  if (body.size() <= limits.maxObjectBytes) return body;
  return body_within(e, candidates, limits.maxObjectBytes);
}

// ---- reading ----------------------------------------------------------------------------------

namespace {

Finding read_finding(const Value& v, const Path& at) {
  const auto bounded = [&](std::string_view name, std::size_t max, Need need) {
    std::string s = string_member(v, name, at, need);
    if (s.size() > max)
      refuse((at / name).str() + " is " + std::to_string(s.size()) + " bytes, more than " + std::to_string(max));
    return s;
  };
  Finding f;
  f.id = bounded("id", kImageScanMaxIdBytes, Need::NonEmpty);
  f.severity = severity_member(v, "severity", at);
  f.package = bounded("package", kImageScanMaxPackageBytes, Need::Optional);
  f.installedVersion = bounded("installed", kImageScanMaxPackageVersionBytes, Need::Optional);
  f.fixedVersion = bounded("fixed", kImageScanMaxPackageVersionBytes, Need::Optional);
  const Value* kind = find(v, "kind", at);
  f.kind = kind == nullptr || kind->IsNull() ? std::string("vulnerability")
                                              : bounded("kind", kImageScanMaxKindBytes, Need::Optional);
  return f;
}

ScanRecord read_scan(const Value& v, const Path& at, const std::string& digest) {
  ScanRecord r;
  r.digest = digest;
  r.scanner = string_member(v, "scanner", at, Need::NonEmpty);
  if (!valid_scanner(r.scanner))
    refuse((at / "scanner").str() + " " + quoted(r.scanner) + " is not 1-64 characters of a-z 0-9 . _ -");
  const auto bounded = [&](std::string_view name, std::size_t max) {
    std::string s = string_member(v, name, at);
    if (s.size() > max)
      refuse((at / name).str() + " is " + std::to_string(s.size()) + " bytes, more than " + std::to_string(max));
    return s;
  };
  r.scannerVersion = bounded("scannerVersion", kImageScanMaxVersionBytes);
  r.databaseVersion = bounded("databaseVersion", kImageScanMaxVersionBytes);
  r.artifact = bounded("artifact", kImageScanMaxArtifactBytes);
  r.scannedAt = time_member(v, "scannedAt", at);
  const std::string malware = string_member(v, "malware", at, Need::NonEmpty);
  if (malware == "none") {
    r.malware = MalwareResult::None;
  } else if (const auto m = parse_malware_result(malware)) {
    r.malware = *m;
  } else {
    refuse((at / "malware").str() + ": unknown result " + quoted(malware) + " (expected none, clean, malicious or error)");
  }

  // counts: every key known, so a misspelt one cannot hide findings.
  const Path countsPath = at / "counts";
  const Value* counts = object_member(v, "counts", at);
  if (counts == nullptr) refuse(countsPath.str() + " is missing");
  for (const auto& m : counts->GetObject()) {
    const std::string_view key(m.name.GetString(), m.name.GetStringLength());
    const auto known = std::find(kCountKeys.begin(), kCountKeys.end(), key);
    if (known == kCountKeys.end())
      refuse((countsPath / key).str() + ": unknown severity (expected critical, high, medium, low, negligible, unknown)");
    const auto s = static_cast<std::size_t>(known - kCountKeys.begin());
    r.counts[s] = static_cast<int>(int_member(*counts, key, countsPath, 0, kImageScanMaxCount));
  }

  const Value* findings = array_member(v, "findings", at);
  if (findings != nullptr && findings->Size() > kImageScanMaxFindings)
    refuse((at / "findings").str() + " lists " + std::to_string(findings->Size()) + " findings, more than " +
           std::to_string(kImageScanMaxFindings));
  std::array<std::int64_t, kSeverityCount> listed{};
  for_each_object(v, "findings", at, [&](const Value& f, const Path& fat) {
    r.findings.push_back(read_finding(f, fat));
    ++listed[static_cast<std::size_t>(r.findings.back().severity)];
  });
  std::int64_t total = 0;
  for (std::size_t s = 0; s < kSeverityCount; ++s) {
    if (listed[s] > r.counts[s])
      refuse(at.str() + ": " + std::to_string(listed[s]) + " findings listed at " + to_string(static_cast<Severity>(s)) +
             " but counts." + std::string(kCountKeys[s]) + " is " + std::to_string(r.counts[s]));
    total += r.counts[s];
  }
  const std::int64_t omitted = int_member(v, "findingsOmitted", at, 0, kImageScanMaxCount * 6, -1);
  if (omitted < 0) refuse((at / "findingsOmitted").str() + " is missing");
  if (omitted != total - static_cast<std::int64_t>(r.findings.size()))
    refuse((at / "findingsOmitted").str() + " is " + std::to_string(omitted) + ", but counts add up to " +
           std::to_string(total) + " and " + std::to_string(r.findings.size()) + " are listed");
  return r;
}

ImageScanObject read_object(const Value& root) {
  const Path top;
  if (!root.IsObject()) wrong_type(top, root, "an object");
  // From a list, items carry apiVersion and kind; when they are there they must be ours.
  if (const Value* v = find(root, "apiVersion", top); v != nullptr) {
    const std::string s = string_of(*v, top / "apiVersion");
    if (s != kImageScanApiVersion) refuse("apiVersion " + quoted(s) + " is not " + std::string(kImageScanApiVersion));
  }
  if (const Value* v = find(root, "kind", top); v != nullptr) {
    const std::string s = string_of(*v, top / "kind");
    if (s != kImageScanKind) refuse("kind " + quoted(s) + " is not " + std::string(kImageScanKind));
  }
  ImageScanObject o;
  const Path metadataPath = top / "metadata";
  const Value* metadata = object_member(root, "metadata", top);
  if (metadata == nullptr) refuse("metadata is missing");
  o.name = string_member(*metadata, "name", metadataPath, Need::NonEmpty);
  o.resourceVersion = string_member(*metadata, "resourceVersion", metadataPath);
  if (o.resourceVersion.size() > 64) refuse("metadata.resourceVersion is longer than 64 bytes");

  const Path specPath = top / "spec";
  const Value* spec = object_member(root, "spec", top);
  if (spec == nullptr) refuse("spec is missing");
  o.digest = string_member(*spec, "digest", specPath, Need::NonEmpty);
  if (!image::is_valid_digest(o.digest))
    refuse("spec.digest: malformed digest " + quoted(o.digest) + " (expected sha256:<64 lowercase hex>)");
  if (o.name != imagescan_name(o.digest))
    refuse("metadata.name " + quoted(o.name) + " does not match spec.digest " + o.digest + " (expected " +
           imagescan_name(o.digest) + ")");

  const Value* scans = array_member(*spec, "scans", specPath);
  if (scans != nullptr && scans->Size() > kImageScanMaxScans)
    refuse("spec.scans has " + std::to_string(scans->Size()) + " entries, more than " +
           std::to_string(kImageScanMaxScans));
  for_each_object(*spec, "scans", specPath, [&](const Value& v, const Path& at) {
    ScanRecord r = read_scan(v, at, o.digest);
    for (const ScanRecord& other : o.records)
      if (other.scanner == r.scanner) refuse((at / "scanner").str() + ": scanner " + quoted(r.scanner) + " is listed twice");
    o.newestScan = std::max(o.newestScan, r.scannedAt);
    o.records.push_back(std::move(r));
  });
  return o;
}

}  // namespace

std::optional<ImageScanObject> parse_imagescan(std::string_view json, std::string* why) {
  const auto fail = [&](std::string message) -> std::optional<ImageScanObject> {
    if (why != nullptr) *why = "ImageScan refused: " + std::move(message);
    return std::nullopt;
  };
  if (json.size() > kImageScanMaxParseBytes)
    return fail("the object is " + std::to_string(json.size()) + " bytes, more than the limit of " +
                std::to_string(kImageScanMaxParseBytes));
  try {
    rapidjson::Document doc;
    parse_document(json, doc, kMaxDepth);
    ImageScanObject o = read_object(doc);
    o.bytes = json.size();
    if (why != nullptr) why->clear();
    return o;
  } catch (const Refusal& refusal) {
    return fail(refusal.message);
  } catch (const std::bad_alloc&) {
    return fail("out of memory while reading it");
  }
}

}  // namespace podgate::scan
