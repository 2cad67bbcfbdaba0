#pragma once
// What scanners found about an image manifest (or index), keyed by digest: the record the scan
// cache stores and the image policy judges. One record per (digest, scanner); the latest wins.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace podgate::scan {

// Trivy: UNKNOWN LOW MEDIUM HIGH CRITICAL; Grype: Unknown Negligible Low Medium High Critical.
enum class Severity { Unknown = 0, Negligible = 1, Low = 2, Medium = 3, High = 4, Critical = 5 };
inline constexpr std::size_t kSeverityCount = 6;
const char* to_string(Severity severity);  // "UNKNOWN", "NEGLIGIBLE", "LOW", "MEDIUM", "HIGH", "CRITICAL"
// Case-insensitive, both scanners' spellings; nullopt for anything else.
std::optional<Severity> parse_severity(std::string_view text);

// A malware scanner's result. None: the record is not a malware scan (a vulnerability report).
enum class MalwareResult { None, Clean, Malicious, Error };
const char* to_string(MalwareResult result);  // "none", "clean", "malicious", "error"
std::optional<MalwareResult> parse_malware_result(std::string_view text);  // clean|malicious|error

struct Finding {
  std::string kind;              // "vulnerability", "secret", "malware"
  std::string id;                // "CVE-2024-3094", a secret rule id, a malware signature
  std::string package;           // "xz-utils"; the file for secrets (Trivy's Target) and for malware
  std::string installedVersion;
  std::string fixedVersion;      // "" when there is no fix
  Severity severity = Severity::Unknown;
  bool operator==(const Finding&) const = default;
};

struct ScanRecord {
  std::string digest;           // "sha256:<64 hex>": a manifest or an index digest, never a config blob
  std::string scanner;          // "trivy", "grype", "clamav", ... (lowercase)
  std::string scannerVersion;   // "0.50.1"
  std::string databaseVersion;  // the vulnerability or signature database the scan used
  std::int64_t scannedAt = 0;   // unix seconds: when the scan ran (the report's own time)
  std::array<int, kSeverityCount> counts{};  // findings per Severity (index = enum value)
  std::vector<Finding> findings;
  MalwareResult malware = MalwareResult::None;
  std::string artifact;         // what the report was about, for people ("alpine:3.19")
  bool operator==(const ScanRecord&) const = default;
};

}  // namespace podgate::scan
