#pragma once
// Trivy Operator's VulnerabilityReport and ClusterVulnerabilityReport objects
// (aquasecurity.github.io/v1alpha1, data under the top-level `report`) as scan records, so a
// cluster that runs the operator feeds podgate's scan cache without a second scanner.
// The field paths are those of the operator's vulnerability_types.go (see
// docs/architecture.md, "Trivy Operator reports").

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "scan/scan.h"

namespace podgate::scan {

// A report larger than this is refused unread. The operator's own objects stop at etcd's 1.5 MiB
// request limit; the rest is room for what the apiserver adds.
inline constexpr std::size_t kTrivyOperatorMaxReportBytes = 4 * 1024 * 1024;

struct TrivyOperatorScan {
  std::optional<ScanRecord> record;  // set when the report is usable
  // Why not, when record is empty: a short fixed text fit for a metric label or a log field:
  // "too large", "not json", "not a vulnerability report", "no digest", "malformed digest",
  // "malformed report".
  std::string skipReason;
  std::string detail;  // for a skipped report: what exactly, and where in it
  // The normalised image the report is about ("docker.io/library/nginx:1.27"), also when skipped
  // (when the report names one), for logs.
  std::string image;
};

// One object as the apiserver returns it (a list item, a watch event's object). Never throws.
// The record: digest = report.artifact.digest (sha256 only), scanner "trivy" with
// report.scanner.version, scannedAt = report.updateTimestamp, findings (id, severity, package,
// installed and fixed version; each (id, package, installed) once), counts that never fall below
// report.summary (what the summary counts beyond the entries listed is counted, not listed),
// artifact = `image`. Unknown keys are ignored (the CRD preserves unknown fields).
TrivyOperatorScan parse_vulnerability_report(std::string_view objectJson);

}  // namespace podgate::scan
