#pragma once
// Scan reports in, ScanRecords out: Trivy JSON (SchemaVersion 2), Grype JSON, and podgate's own
// verdict format for scanners without a JSON report (docs/scan-verdicts.md).

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "scan/scan.h"

namespace podgate::scan {

enum class ReportFormat { Unknown, Trivy, Grype, PodgateVerdict };
const char* to_string(ReportFormat format);  // "unknown", "trivy", "grype", "podgate-verdict"

struct ParsedReport {
  ReportFormat format = ReportFormat::Unknown;
  std::vector<ScanRecord> records;  // one per distinct digest the report names; same findings each
  std::string error;                // set when the report is refused as a whole (records then empty)
  explicit operator bool() const { return error.empty(); }
};

inline constexpr std::size_t kMaxReportBytes = 64 * 1024 * 1024;

// Detects the format and converts. Never throws on bad input; refuses (error set, no records):
// unparsable JSON, an unknown format, a report with no usable manifest digest (Trivy's ImageID is
// a config blob and is never used), malformed digests, bad severities or times. `source` names the
// report in errors ("trivy-alpine.json").
ParsedReport parse_report(std::string_view json, std::string_view source);

}  // namespace podgate::scan
