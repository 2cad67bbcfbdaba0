// scan::parse_report, the Trivy, Grype and podgate-verdict importers behind POST /v1/scans and
// `podgate scans import`. Invariants: a refusal carries an error and no records; an accepted report
// has a known format and at least one record, one per distinct valid digest, each with a scanner
// name and counts that agree with its findings.

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "image/reference.h"
#include "scan/report.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using podgate::scan::ReportFormat;
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  const auto report = podgate::scan::parse_report(json, "fuzz.json");
  if (!report) {
    FUZZ_CHECK(report.records.empty());
    FUZZ_CHECK(report.error.starts_with("fuzz.json: "));
    return 0;
  }
  FUZZ_CHECK(report.format != ReportFormat::Unknown);
  FUZZ_CHECK(!report.records.empty());
  std::set<std::string> digests;
  for (const auto& record : report.records) {
    FUZZ_CHECK(podgate::image::is_valid_digest(record.digest));
    FUZZ_CHECK(digests.insert(record.digest).second);
    FUZZ_CHECK(!record.scanner.empty());
    std::array<int, podgate::scan::kSeverityCount> counts{};
    for (const auto& finding : record.findings) ++counts[static_cast<std::size_t>(finding.severity)];
    FUZZ_CHECK(counts == record.counts);
    // "same findings each": the records differ only by digest.
    FUZZ_CHECK(record.findings == report.records.front().findings);
  }
  return 0;
}
