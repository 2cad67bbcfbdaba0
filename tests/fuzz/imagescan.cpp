// scan::parse_imagescan, the reader of ImageScan objects from the apiserver (lists and watches).
// Invariants: a refusal says why; an accepted object's name is its digest's, every record carries
// that digest, a valid scanner (unique), counts that cover what it lists, newestScan is the latest
// scan; and writing any accepted record back (imagescan_apply_body, every finding listed) and
// reading it again gives the same record, within maxObjectBytes when the cap is set.

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdio>
#include <cstdint>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "image/reference.h"
#include "scan/imagescan.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace podgate::scan;
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  std::string why;
  const auto o = parse_imagescan(json, &why);
  if (!o) {
    FUZZ_CHECK(why.starts_with("ImageScan refused: "));
    return 0;
  }
  FUZZ_CHECK(why.empty());
  FUZZ_CHECK(podgate::image::is_valid_digest(o->digest));
  FUZZ_CHECK(o->name == imagescan_name(o->digest));
  FUZZ_CHECK(o->bytes == size);
  FUZZ_CHECK(o->records.size() <= kImageScanMaxScans);
  std::set<std::string> scanners;
  std::int64_t newest = 0;
  for (const auto& r : o->records) {
    FUZZ_CHECK(r.digest == o->digest);
    FUZZ_CHECK(scanners.insert(r.scanner).second);
    FUZZ_CHECK(r.findings.size() <= kImageScanMaxFindings);
    std::array<int, kSeverityCount> listed{};
    for (const auto& f : r.findings) ++listed[static_cast<std::size_t>(f.severity)];
    for (std::size_t s = 0; s < kSeverityCount; ++s) FUZZ_CHECK(listed[s] <= r.counts[s]);
    newest = std::max(newest, r.scannedAt);

    // Write it back: the same record, every finding listed (the counts may say more than is listed,
    // which is kept as it is).
    std::string body;
    try {
      body = imagescan_apply_body(r, {.findingsFloor = Severity::Unknown, .maxObjectBytes = 8u << 20});
    } catch (const std::invalid_argument&) {
      FUZZ_CHECK(false);  // whatever parse accepts, apply_body must take
    }
    std::string again;
    const auto back = parse_imagescan(body, &again);
    if (!back) std::fprintf(stderr, "%s\n", again.c_str());
    FUZZ_CHECK(back.has_value());
    FUZZ_CHECK(back->records.size() == 1);
    FUZZ_CHECK(back->records[0] == r);

    // And under a small cap: within it, counts kept, nothing worse dropped before something milder.
    try {
      const std::string small = imagescan_apply_body(r, {.findingsFloor = Severity::Unknown, .maxObjectBytes = 2048});
      FUZZ_CHECK(small.size() <= 2048);
      const auto cut = parse_imagescan(small);
      FUZZ_CHECK(cut.has_value());
      FUZZ_CHECK(cut->records.at(0).counts == r.counts);
    } catch (const std::invalid_argument&) {
      // the object without findings is over 2048 bytes (long versions or artifact): allowed
    }
  }
  FUZZ_CHECK(o->newestScan == newest);
  return 0;
}
