// Scan reports in, ScanRecords out. The field paths are those of the scanners' own JSON writers:
//   Trivy  pkg/types/report.go (SchemaVersion 2; `Trivy.Version` since trivy#10065, January 2026;
//          `Trivy.Server` in client/server mode since trivy#10075) and trivy-db pkg/metadata
//          (VulnerabilityDB: Version, UpdatedAt, ...);
//   Grype  grype/presenter/models (document.go, match.go, source.go, descriptor.go), and the
//          database status it puts in `descriptor.db` (schema v5: {built, schemaVersion, ...};
//          schema v6: {status: {schemaVersion, from, built, path, valid}, providers: ...}).
// Every report is refused as a whole when anything podgate reads from it is malformed: a record
// built from half a report could let an image through on the half that was read.

#include "scan/report.h"
#include "util/json.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <initializer_list>
#include <new>
#include <unordered_set>
#include <utility>

#include "image/reference.h"

namespace podgate::scan {
namespace {

using rapidjson::Value;

// Real reports nest about 8 deep (Trivy's ImageConfig.history); 64 leaves room and keeps a
// hostile file from making any later walk over the tree deep.
constexpr std::size_t kMaxDepth = 64;
// One image with more findings than this is not a report to cache; refusing keeps the store and
// every lookup bounded.
constexpr std::size_t kMaxFindings = 100000;
// Every record carries all the findings, so the digests a report may name are bounded too. An
// image pulled under many names has one RepoDigests entry per name; 32 is plenty.
constexpr std::size_t kMaxDigests = 32;
// Every record repeats the findings, so what one report can make podgate store is bounded too:
// 4 digests at the findings limit, or 32 digests with 12,500 findings each.
constexpr std::size_t kMaxStoredFindings = 400000;
// A scan time further ahead than this is a broken clock: such a record would stay "newest" and
// never go stale, so it is refused.
constexpr std::int64_t kMaxFutureSeconds = 24 * 3600;

constexpr std::string_view kAcceptedFormats =
    "podgate reads Trivy JSON (trivy image --format json, SchemaVersion 2), Grype JSON (grype -o json) "
    "and podgate ScanVerdict JSON (docs/scan-verdicts.md)";

// Thrown inside this file only and caught in parse_report: the whole report is refused.
struct Refusal {
  std::string message;
};

[[noreturn]] void refuse(std::string message) { throw Refusal{std::move(message)}; }

// A string from the report, quoted for a one-line error: control bytes escaped, long text cut.
std::string quoted(std::string_view s) {
  constexpr std::size_t kMax = 100;
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size() && i < kMax; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') {
      static constexpr char hex[] = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > kMax) out += "...";
  out += '"';
  return out;
}

// Where in the report a value sits, rendered only when an error names it ("Results[2].Secrets[0]").
struct Path {
  const Path* parent = nullptr;
  std::string_view key;  // member name; empty for an array element
  std::size_t index = 0;

  std::string str() const {
    if (parent == nullptr) return std::string(key);
    std::string out = parent->str();
    if (key.empty()) {
      out += '[';
      out += std::to_string(index);
      out += ']';
    } else {
      if (!out.empty()) out += '.';
      out += key;
    }
    return out;
  }
  Path operator/(std::string_view name) const { return Path{this, name, 0}; }
  Path operator[](std::size_t i) const { return Path{this, {}, i}; }
};

using util::json_type_name;

[[noreturn]] void wrong_type(const Path& at, const Value& v, const char* expected) {
  refuse(at.str() + " is " + json_type_name(v) + ", expected " + expected);
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

enum class Need { Optional, NonEmpty };

std::string string_member(const Value& object, std::string_view name, const Path& at, Need need = Need::Optional) {
  const Value* v = find(object, name, at);
  if (v == nullptr || v->IsNull()) {
    if (need == Need::NonEmpty) refuse((at / name).str() + " is missing");
    return {};
  }
  if (!v->IsString()) wrong_type(at / name, *v, "a string");
  std::string s(v->GetString(), v->GetStringLength());
  if (need == Need::NonEmpty && s.empty()) refuse((at / name).str() + " is empty");
  return s;
}

std::string string_of(const Value& v, const Path& at) {
  if (!v.IsString()) wrong_type(at, v, "a string");
  return std::string(v.GetString(), v.GetStringLength());
}

// ---- time -----------------------------------------------------------------------------------

constexpr bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool digits(std::string_view s, std::size_t at, std::size_t n, int& out) {
  if (at + n > s.size()) return false;
  out = 0;
  for (std::size_t i = at; i < at + n; ++i) {
    if (!is_digit(s[i])) return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

// RFC 3339 date-time, as Go's time.Time marshals it ("2024-03-05T10:20:30.123456789-05:00",
// "...Z"): fractional seconds of any length (dropped), numeric offsets applied. Leap seconds
// (":60") are refused, as Go refuses them.
std::optional<std::int64_t> parse_rfc3339(std::string_view s) {
  int year, month, day, hour, minute, second;
  if (!digits(s, 0, 4, year) || s.size() < 20 || s[4] != '-' || !digits(s, 5, 2, month) || s[7] != '-' ||
      !digits(s, 8, 2, day) || (s[10] != 'T' && s[10] != 't') || !digits(s, 11, 2, hour) || s[13] != ':' ||
      !digits(s, 14, 2, minute) || s[16] != ':' || !digits(s, 17, 2, second))
    return std::nullopt;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (month < 1 || month > 12 || day < 1 || day > kDays[month - 1] + (month == 2 && leap ? 1 : 0) || hour > 23 ||
      minute > 59 || second > 59)
    return std::nullopt;
  std::size_t i = 19;
  if (i < s.size() && s[i] == '.') {
    const std::size_t start = ++i;
    while (i < s.size() && is_digit(s[i])) ++i;
    if (i == start) return std::nullopt;
  }
  std::int64_t offset = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    int oh, om;
    if (!digits(s, i + 1, 2, oh) || i + 3 >= s.size() || s[i + 3] != ':' || !digits(s, i + 4, 2, om) || oh > 23 ||
        om > 59)
      return std::nullopt;
    offset = (s[i] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
    i += 6;
  } else {
    return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  return days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 + hour * 3600 +
         minute * 60 + second - offset;
}

std::int64_t time_member(const Value& object, std::string_view name, const Path& at) {
  const std::string text = string_member(object, name, at, Need::NonEmpty);
  const auto t = parse_rfc3339(text);
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

class Digests {
 public:
  void add(std::string digest) {
    if (std::find(list_.begin(), list_.end(), digest) != list_.end()) return;
    if (list_.size() == kMaxDigests)
      refuse("the report names more than " + std::to_string(kMaxDigests) + " distinct digests");
    list_.push_back(std::move(digest));
  }
  const std::vector<std::string>& list() const { return list_; }

 private:
  std::vector<std::string> list_;
};

// Findings in report order, each (kind, id, package, installed version) once: Trivy and Grype list
// a vulnerability once per place the package was found (the same jar in two paths, Go's stdlib in
// two binaries).
class Findings {
 public:
  void add(Finding f) {
    std::string key;
    key.reserve(f.kind.size() + f.id.size() + f.package.size() + f.installedVersion.size() + 3);
    key.append(f.kind).append(1, '\0').append(f.id).append(1, '\0').append(f.package).append(1, '\0').append(
        f.installedVersion);
    if (!seen_.insert(std::move(key)).second) return;
    if (list_.size() == kMaxFindings)
      refuse("the report has more than " + std::to_string(kMaxFindings) + " distinct findings");
    list_.push_back(std::move(f));
  }
  std::size_t size() const { return list_.size(); }
  std::vector<Finding> take() { return std::move(list_); }

 private:
  std::vector<Finding> list_;
  std::unordered_set<std::string> seen_;
};

Severity severity_member(const Value& object, std::string_view name, const Path& at) {
  const std::string text = string_member(object, name, at, Need::NonEmpty);
  const auto severity = parse_severity(text);
  if (!severity)
    refuse((at / name).str() + ": unknown severity " + quoted(text) +
           " (expected UNKNOWN, NEGLIGIBLE, LOW, MEDIUM, HIGH or CRITICAL)");
  return *severity;
}

// What parse_trivy/parse_grype/parse_verdict produce: one record's contents and the digests it
// applies to. finish() turns it into one ScanRecord per digest.
struct Parsed {
  ScanRecord record;
  Digests digests;
  Findings findings;
};

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

// ---- Trivy ------------------------------------------------------------------------------------

// "v2 updated 2026-11-29T06:14:03Z" from a trivy-db metadata object.
std::string trivy_database(const Value& db, const Path& at) {
  std::string out;
  if (const Value* version = find(db, "Version", at); version != nullptr && !version->IsNull()) {
    if (!version->IsInt64()) wrong_type(at / "Version", *version, "an integer");
    out = "v" + std::to_string(version->GetInt64());
  }
  const std::string updated = string_member(db, "UpdatedAt", at);
  if (!updated.empty()) out += (out.empty() ? "updated " : " updated ") + updated;
  return out;
}

std::vector<ScanRecord> parse_trivy(const Value& root) {
  const Path top;
  Parsed p;
  p.record.scanner = "trivy";

  const Value& schema = *find(root, "SchemaVersion", top);
  if (!schema.IsInt()) wrong_type(top / "SchemaVersion", schema, "the integer 2");
  if (schema.GetInt() != 2)
    refuse("Trivy SchemaVersion " + std::to_string(schema.GetInt()) +
           " is not supported; podgate reads SchemaVersion 2 (Trivy 0.20 and later)");

  // The digests: RepoDigests only. Metadata.ImageID is the digest of the image's config blob,
  // which no pod spec and no registry lookup ever names, so it is never a key.
  const Path metadataPath = top / "Metadata";
  if (const Value* metadata = object_member(root, "Metadata", top)) {
    const Path repoDigestsPath = metadataPath / "RepoDigests";
    if (const Value* repoDigests = array_member(*metadata, "RepoDigests", metadataPath)) {
      for (rapidjson::SizeType i = 0; i < repoDigests->Size(); ++i) {
        const Path entry = repoDigestsPath[i];
        p.digests.add(digest_of(string_of((*repoDigests)[i], entry), entry));
      }
    }
  }
  if (p.digests.list().empty()) {
    const std::string type = string_member(root, "ArtifactType", top);
    if (!type.empty() && type != "container_image")
      refuse("no manifest digest: ArtifactType is " + quoted(type) +
             ", not a container image; podgate keys scans by image digest (trivy image IMAGE)");
    refuse("no manifest digest: Metadata.RepoDigests is empty (an image archive scan?); scan the image from its "
           "registry, or write a podgate verdict");
  }

  p.record.scannedAt = time_member(root, "CreatedAt", top);
  p.record.artifact = string_member(root, "ArtifactName", top);

  // Scanner and database versions: Trivy.Version (trivy#10065); the vulnerability database's
  // metadata under Trivy.VulnerabilityDB (proposed for standalone mode, trivy#10076) or, in
  // client/server mode, Trivy.Server.VulnerabilityDB (trivy#10075). Standalone reports carry
  // neither today.
  const Path trivyPath = top / "Trivy";
  if (const Value* trivy = object_member(root, "Trivy", top)) {
    p.record.scannerVersion = string_member(*trivy, "Version", trivyPath);
    const Path serverPath = trivyPath / "Server";
    const Value* server = object_member(*trivy, "Server", trivyPath);
    if (const Value* db = object_member(*trivy, "VulnerabilityDB", trivyPath)) {
      p.record.databaseVersion = trivy_database(*db, trivyPath / "VulnerabilityDB");
    } else if (server != nullptr) {
      if (const Value* serverDb = object_member(*server, "VulnerabilityDB", serverPath))
        p.record.databaseVersion = trivy_database(*serverDb, serverPath / "VulnerabilityDB");
    }
  }

  // Findings: Vulnerabilities (packages) and Secrets (credentials baked into a layer are a finding
  // of their own). Not read: Misconfigurations, which judge configuration files (a Dockerfile,
  // Kubernetes YAML found in the image) rather than what the image runs; Licenses; and
  // ExperimentalModifiedFindings, which are what the user suppressed (VEX, .trivyignore), like
  // Grype's ignoredMatches.
  const Path resultsPath = top / "Results";
  if (const Value* results = array_member(root, "Results", top)) {
    for (rapidjson::SizeType r = 0; r < results->Size(); ++r) {
      const Path resultPath = resultsPath[r];
      const Value& result = (*results)[r];
      if (!result.IsObject()) wrong_type(resultPath, result, "an object");

      const Path vulnsPath = resultPath / "Vulnerabilities";
      if (const Value* vulns = array_member(result, "Vulnerabilities", resultPath)) {
        for (rapidjson::SizeType i = 0; i < vulns->Size(); ++i) {
          const Path at = vulnsPath[i];
          const Value& v = (*vulns)[i];
          if (!v.IsObject()) wrong_type(at, v, "an object");
          Finding f;
          f.kind = "vulnerability";
          f.id = string_member(v, "VulnerabilityID", at, Need::NonEmpty);
          f.package = string_member(v, "PkgName", at, Need::NonEmpty);
          f.installedVersion = string_member(v, "InstalledVersion", at);
          f.fixedVersion = string_member(v, "FixedVersion", at);
          f.severity = severity_member(v, "Severity", at);
          p.findings.add(std::move(f));
        }
      }

      const Path secretsPath = resultPath / "Secrets";
      if (const Value* secrets = array_member(result, "Secrets", resultPath)) {
        for (rapidjson::SizeType i = 0; i < secrets->Size(); ++i) {
          const Path at = secretsPath[i];
          const Value& s = (*secrets)[i];
          if (!s.IsObject()) wrong_type(at, s, "an object");
          Finding f;
          f.kind = "secret";
          f.id = string_member(s, "RuleID", at, Need::NonEmpty);
          // Where the secret is: the Result's Target (the file), so two files with the same
          // rule stay two findings and the message can say which.
          f.package = string_member(result, "Target", resultPath);
          f.severity = severity_member(s, "Severity", at);
          p.findings.add(std::move(f));
        }
      }
    }
  }
  return finish(p);
}

// ---- Grype ------------------------------------------------------------------------------------

// "v6.0.2 built 2026-11-29T06:14:03Z" from descriptor.db: schema v6 nests the status under
// "status", schema v5 and earlier put {built, schemaVersion (a number)} directly in "db".
std::string grype_database(const Value& db, const Path& dbPath) {
  const Path statusPath = dbPath / "status";
  const Value* status = object_member(db, "status", dbPath);
  const Value& s = status != nullptr ? *status : db;
  const Path& at = status != nullptr ? statusPath : dbPath;
  std::string out;
  if (const Value* schema = find(s, "schemaVersion", at); schema != nullptr && !schema->IsNull()) {
    if (schema->IsInt64()) {
      out = "v" + std::to_string(schema->GetInt64());
    } else if (schema->IsString()) {
      out = string_of(*schema, at / "schemaVersion");
      if (!out.empty() && out.front() != 'v') out.insert(out.begin(), 'v');
    } else {
      wrong_type(at / "schemaVersion", *schema, "a string or an integer");
    }
  }
  const std::string built = string_member(s, "built", at);
  if (!built.empty()) out += (out.empty() ? "built " : " built ") + built;
  return out;
}

std::vector<ScanRecord> parse_grype(const Value& root) {
  const Path top;
  Parsed p;
  p.record.scanner = "grype";

  const Path descriptorPath = top / "descriptor";
  const Value* descriptor = object_member(root, "descriptor", top);
  if (descriptor == nullptr) refuse("descriptor is missing");
  const std::string name = string_member(*descriptor, "name", descriptorPath);
  if (!name.empty() && name != "grype") refuse("descriptor.name is " + quoted(name) + ", expected \"grype\"");

  // Digests: repoDigests (what the tag resolved to, often a multi-architecture index) first, then
  // manifestDigest (the platform manifest that was scanned). Both name this image's content, and
  // admission may see either, so each gets a record.
  const Path sourcePath = top / "source";
  const Value* source = object_member(root, "source", top);
  if (source == nullptr)
    refuse("no manifest digest: the report has no source (an SBOM scan?); scan the image from its registry "
           "(grype IMAGE), or write a podgate verdict");
  const std::string sourceType = string_member(*source, "type", sourcePath);
  if (sourceType != "image")
    refuse("no manifest digest: source.type is " + quoted(sourceType) +
           ", not an image; podgate keys scans by image digest (grype IMAGE)");
  const Path targetPath = sourcePath / "target";
  const Value* target = object_member(*source, "target", sourcePath);
  if (target == nullptr) refuse("no manifest digest: source.target is missing");
  const Path repoDigestsPath = targetPath / "repoDigests";
  if (const Value* repoDigests = array_member(*target, "repoDigests", targetPath)) {
    for (rapidjson::SizeType i = 0; i < repoDigests->Size(); ++i) {
      const Path entry = repoDigestsPath[i];
      p.digests.add(digest_of(string_of((*repoDigests)[i], entry), entry));
    }
  }
  const std::string manifestDigest = string_member(*target, "manifestDigest", targetPath);
  if (!manifestDigest.empty()) p.digests.add(digest_of(manifestDigest, targetPath / "manifestDigest"));
  if (p.digests.list().empty())
    refuse("no manifest digest: source.target.repoDigests and manifestDigest are empty (an image archive scan?); "
           "scan the image from its registry, or write a podgate verdict");
  p.record.artifact = string_member(*target, "userInput", targetPath);

  p.record.scannedAt = time_member(*descriptor, "timestamp", descriptorPath);
  p.record.scannerVersion = string_member(*descriptor, "version", descriptorPath);
  if (const Value* db = object_member(*descriptor, "db", descriptorPath))
    p.record.databaseVersion = grype_database(*db, descriptorPath / "db");

  // matches are the findings; ignoredMatches (what the user's ignore rules suppressed) are not.
  const Path matchesPath = top / "matches";
  const Value* matches = array_member(root, "matches", top);
  if (matches == nullptr) refuse("matches is missing");
  for (rapidjson::SizeType i = 0; i < matches->Size(); ++i) {
    const Path at = matchesPath[i];
    const Value& m = (*matches)[i];
    if (!m.IsObject()) wrong_type(at, m, "an object");
    const Path vulnPath = at / "vulnerability";
    const Value* vuln = object_member(m, "vulnerability", at);
    if (vuln == nullptr) refuse(vulnPath.str() + " is missing");
    const Path artifactPath = at / "artifact";
    const Value* artifact = object_member(m, "artifact", at);
    if (artifact == nullptr) refuse(artifactPath.str() + " is missing");

    Finding f;
    f.kind = "vulnerability";
    f.id = string_member(*vuln, "id", vulnPath, Need::NonEmpty);
    f.severity = severity_member(*vuln, "severity", vulnPath);
    f.package = string_member(*artifact, "name", artifactPath, Need::NonEmpty);
    f.installedVersion = string_member(*artifact, "version", artifactPath);
    const Path fixPath = vulnPath / "fix";
    if (const Value* fix = object_member(*vuln, "fix", vulnPath)) {
      const std::string state = string_member(*fix, "state", fixPath);
      const Path versionsPath = fixPath / "versions";
      const Value* versions = array_member(*fix, "versions", fixPath);
      if (versions != nullptr) {
        for (rapidjson::SizeType v = 0; v < versions->Size(); ++v) {
          std::string version = string_of((*versions)[v], versionsPath[v]);
          if (v == 0 && state == "fixed") f.fixedVersion = std::move(version);
        }
      }
    }
    p.findings.add(std::move(f));
  }
  return finish(p);
}

// ---- podgate ScanVerdict ------------------------------------------------------------------------

void only_known_keys(const Value& object, std::initializer_list<std::string_view> known, const Path& at) {
  for (const auto& m : object.GetObject()) {
    const std::string_view key(m.name.GetString(), m.name.GetStringLength());
    if (std::find(known.begin(), known.end(), key) == known.end())
      refuse((at / key).str() + ": unknown field " + quoted(key) + " (docs/scan-verdicts.md lists the fields)");
  }
}

bool valid_scanner_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alnum = (c >= 'a' && c <= 'z') || is_digit(c);
    if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-'))) return false;
  }
  return true;
}

std::vector<ScanRecord> parse_verdict(const Value& root) {
  const Path top;
  Parsed p;
  const std::string apiVersion = string_member(root, "apiVersion", top, Need::NonEmpty);
  if (apiVersion != "podgate.io/v1")
    refuse("apiVersion " + quoted(apiVersion) + " is not supported; podgate reads podgate.io/v1 verdicts");
  const std::string kind = string_member(root, "kind", top, Need::NonEmpty);
  if (kind != "ScanVerdict") refuse("kind " + quoted(kind) + " is not ScanVerdict");
  // Strict: a misspelt optional field ("artefact") would otherwise vanish without a word.
  only_known_keys(root,
                  {"apiVersion", "kind", "digest", "digests", "artifact", "scanner", "time", "result", "findings"}, top);

  // One image's content may be named by several digests (an index and its platform manifest);
  // "digests" lets one verdict cover them all.
  const Value* one = find(root, "digest", top);
  const Value* many = find(root, "digests", top);
  if ((one != nullptr) == (many != nullptr)) refuse("a verdict needs exactly one of \"digest\" and \"digests\"");
  if (one != nullptr) {
    p.digests.add(digest_of(string_of(*one, top / "digest"), top / "digest"));
  } else {
    const Path digestsPath = top / "digests";
    if (!many->IsArray()) wrong_type(digestsPath, *many, "an array");
    for (rapidjson::SizeType i = 0; i < many->Size(); ++i) {
      const Path entry = digestsPath[i];
      p.digests.add(digest_of(string_of((*many)[i], entry), entry));
    }
    if (p.digests.list().empty()) refuse("no manifest digest: digests is empty");
  }
  p.record.artifact = string_member(root, "artifact", top);

  const Path scannerPath = top / "scanner";
  const Value* scanner = object_member(root, "scanner", top);
  if (scanner == nullptr) refuse("scanner is missing");
  only_known_keys(*scanner, {"name", "version", "database"}, scannerPath);
  p.record.scanner = string_member(*scanner, "name", scannerPath, Need::NonEmpty);
  if (!valid_scanner_name(p.record.scanner))
    refuse("scanner.name " + quoted(p.record.scanner) +
           " must be lowercase letters, digits, '.', '_' or '-' (at most 64, starting with a letter or digit)");
  // A verdict named "trivy" would replace Trivy's own record for the digest (one record per
  // digest and scanner); those names belong to the reports of those scanners.
  if (p.record.scanner == "trivy" || p.record.scanner == "grype")
    refuse("scanner.name " + quoted(p.record.scanner) +
           " is reserved for that scanner's own report; import the report itself");
  p.record.scannerVersion = string_member(*scanner, "version", scannerPath, Need::NonEmpty);
  p.record.databaseVersion = string_member(*scanner, "database", scannerPath);

  p.record.scannedAt = time_member(root, "time", top);
  const std::string result = string_member(root, "result", top, Need::NonEmpty);
  const auto malware = parse_malware_result(result);
  if (!malware) refuse("result " + quoted(result) + " is not one of clean, malicious, error");
  p.record.malware = *malware;

  const Path findingsPath = top / "findings";
  if (const Value* findings = array_member(root, "findings", top)) {
    for (rapidjson::SizeType i = 0; i < findings->Size(); ++i) {
      const Path at = findingsPath[i];
      const Value& v = (*findings)[i];
      if (!v.IsObject()) wrong_type(at, v, "an object");
      only_known_keys(v, {"id", "path", "severity"}, at);
      Finding f;
      f.kind = "malware";
      f.id = string_member(v, "id", at, Need::NonEmpty);
      f.package = string_member(v, "path", at);
      // A signature match is treated as the worst case unless the scanner grades it.
      f.severity = find(v, "severity", at) != nullptr ? severity_member(v, "severity", at) : Severity::Critical;
      p.findings.add(std::move(f));
    }
  }
  // Findings with a clean (or failed) result contradict each other; a malicious result without
  // findings is allowed (a scanner that only says yes or no).
  if (p.record.malware != MalwareResult::Malicious && p.findings.size() > 0)
    refuse("result " + quoted(result) + " with findings; a verdict with findings must say \"malicious\"");
  return finish(p);
}

// ---- parsing ----------------------------------------------------------------------------------

// Forwards SAX events to the document and stops the parse past kMaxDepth. The reader runs
// iteratively (kParseIterativeFlag), so the depth it can reach costs heap, not stack; this bound
// is for the walks over the tree afterwards.
class DepthLimited {
 public:
  explicit DepthLimited(rapidjson::Document& doc) : doc_(doc) {}
  bool too_deep() const { return tooDeep_; }

  bool Null() { return doc_.Null(); }
  bool Bool(bool b) { return doc_.Bool(b); }
  bool Int(int i) { return doc_.Int(i); }
  bool Uint(unsigned u) { return doc_.Uint(u); }
  bool Int64(std::int64_t i) { return doc_.Int64(i); }
  bool Uint64(std::uint64_t u) { return doc_.Uint64(u); }
  bool Double(double d) { return doc_.Double(d); }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool copy) { return doc_.RawNumber(s, n, copy); }
  bool String(const char* s, rapidjson::SizeType n, bool copy) { return doc_.String(s, n, copy); }
  bool Key(const char* s, rapidjson::SizeType n, bool copy) { return doc_.Key(s, n, copy); }
  bool StartObject() { return enter() && doc_.StartObject(); }
  bool EndObject(rapidjson::SizeType n) { --depth_; return doc_.EndObject(n); }
  bool StartArray() { return enter() && doc_.StartArray(); }
  bool EndArray(rapidjson::SizeType n) { --depth_; return doc_.EndArray(n); }

 private:
  bool enter() {
    if (++depth_ > kMaxDepth) tooDeep_ = true;
    return !tooDeep_;
  }
  rapidjson::Document& doc_;
  std::size_t depth_ = 0;
  bool tooDeep_ = false;
};

struct Generator {
  std::string_view json;
  rapidjson::ParseResult result;
  bool tooDeep = false;

  bool operator()(rapidjson::Document& doc) {
    DepthLimited handler(doc);
    rapidjson::MemoryStream stream(json.data(), json.size());
    rapidjson::Reader reader;
    result = reader.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag>(stream, handler);
    tooDeep = handler.too_deep();
    return !result.IsError();
  }
};

ReportFormat detect(const Value& root) {
  if (!root.IsObject()) return ReportFormat::Unknown;
  const Path top;
  const Value* apiVersion = find(root, "apiVersion", top);
  if (apiVersion != nullptr && apiVersion->IsString() &&
      std::string_view(apiVersion->GetString(), apiVersion->GetStringLength()).substr(0, 11) == "podgate.io/")
    return ReportFormat::PodgateVerdict;
  if (find(root, "SchemaVersion", top) != nullptr) return ReportFormat::Trivy;
  if (find(root, "matches", top) != nullptr && find(root, "descriptor", top) != nullptr) return ReportFormat::Grype;
  return ReportFormat::Unknown;
}

}  // namespace

const char* to_string(ReportFormat format) {
  switch (format) {
    case ReportFormat::Unknown: return "unknown";
    case ReportFormat::Trivy: return "trivy";
    case ReportFormat::Grype: return "grype";
    case ReportFormat::PodgateVerdict: return "podgate-verdict";
  }
  return "unknown";
}

ParsedReport parse_report(std::string_view json, std::string_view source) {
  ParsedReport out;
  const auto fail = [&](const std::string& message) {
    out.records.clear();
    out.error = source.empty() ? message : std::string(source) + ": " + message;
    return out;
  };
  if (json.size() > kMaxReportBytes)
    return fail("the report is " + std::to_string(json.size()) + " bytes, more than the limit of " +
                std::to_string(kMaxReportBytes) + " bytes");
  // Some Windows tools start UTF-8 files with a byte order mark; JSON does not allow one.
  if (json.substr(0, 3) == "\xEF\xBB\xBF") json.remove_prefix(3);
  // A raw NUL cannot occur in JSON text, and the reader would take it for the end of input (and
  // ignore whatever follows).
  if (const void* nul = std::memchr(json.data(), '\0', json.size()))
    return fail("not valid JSON: a NUL byte at offset " +
                std::to_string(static_cast<const char*>(nul) - json.data()));
  try {
    rapidjson::Document doc;
    Generator generator{json, {}, false};
    doc.Populate(generator);
    if (generator.tooDeep)
      return fail("not a scan report: JSON nested deeper than " + std::to_string(kMaxDepth) + " levels");
    if (generator.result.IsError())
      return fail(std::string("not valid JSON: ") + rapidjson::GetParseError_En(generator.result.Code()) +
                  " (at byte " + std::to_string(generator.result.Offset()) + ")");
    out.format = detect(doc);
    switch (out.format) {
      case ReportFormat::Trivy: out.records = parse_trivy(doc); break;
      case ReportFormat::Grype: out.records = parse_grype(doc); break;
      case ReportFormat::PodgateVerdict: out.records = parse_verdict(doc); break;
      case ReportFormat::Unknown: return fail("unrecognised report format; " + std::string(kAcceptedFormats));
    }
  } catch (const Refusal& refusal) {
    return fail(out.format == ReportFormat::Unknown
                    ? refusal.message
                    : std::string(to_string(out.format)) + " report refused: " + refusal.message);
  } catch (const std::bad_alloc&) {
    return fail("out of memory while reading the report");
  }
  return out;
}

}  // namespace podgate::scan
