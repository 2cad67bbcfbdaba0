// scan::parse_vulnerability_report, Trivy Operator VulnerabilityReports from the apiserver.
// Invariants: never throws; a skip has a reason from the fixed list and no record; a record has
// a valid sha256 digest, scanner "trivy", counts that cover what it lists (never fewer), and it
// makes an ImageScan apply body that reads back.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "image/reference.h"
#include "scan/imagescan.h"
#include "scan/trivy_operator.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace podgate::scan;
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  const TrivyOperatorScan s = parse_vulnerability_report(json);
  static const std::set<std::string> kReasons = {"too large",        "not json",         "not a vulnerability report",
                                                 "no digest",        "malformed digest", "malformed report"};
  if (!s.record) {
    FUZZ_CHECK(kReasons.count(s.skipReason) == 1);
    FUZZ_CHECK(!s.detail.empty());
    return 0;
  }
  FUZZ_CHECK(s.skipReason.empty());
  const ScanRecord& r = *s.record;
  FUZZ_CHECK(r.digest.starts_with("sha256:") && podgate::image::is_valid_digest(r.digest));
  FUZZ_CHECK(r.scanner == "trivy");
  FUZZ_CHECK(r.artifact == s.image);
  std::array<int, kSeverityCount> listed{};
  for (const auto& f : r.findings) {
    FUZZ_CHECK(f.kind == "vulnerability" && !f.id.empty());
    ++listed[static_cast<std::size_t>(f.severity)];
  }
  for (std::size_t i = 0; i < kSeverityCount; ++i) FUZZ_CHECK(listed[i] <= r.counts[i]);

  // Its ImageScan reads back with the same counts (capped at the schema's maximum).
  const auto o = parse_imagescan(imagescan_apply_body(r));
  FUZZ_CHECK(o.has_value());
  for (std::size_t i = 0; i < kSeverityCount; ++i)
    FUZZ_CHECK(o->records.at(0).counts[i] == std::min<std::int64_t>(r.counts[i], kImageScanMaxCount));
  return 0;
}
