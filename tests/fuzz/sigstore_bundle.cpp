// trust::verify_bundle with a fixed key, and the referrer parsers (parse_referrers,
// parse_bundle_manifest) on the same bytes.
// Invariants: never throws; a verified bundle names the fixed key, anything else has a reason;
// referrers are bundle artifacts with sha256 digests, at most the bound; a referrer manifest's
// bundle layer has the bundle media type and a sha256 digest.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "trust/cosign.h"
#include "trust_fixed_key.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace podgate::trust;
  using podgate::fuzz::kFuzzImageDigest;
  static const podgate::fuzz::FixedKey fixed;
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  const Verification v = verify_bundle(input, kFuzzImageDigest, fixed.keys());
  if (v.verified()) {
    FUZZ_CHECK(v.keyId == fixed.key().id() && v.reason.empty());
  } else {
    FUZZ_CHECK(!v.reason.empty() && v.keyId.empty());
  }

  std::string why;
  if (const auto referrers = parse_referrers(input, &why)) {
    FUZZ_CHECK(referrers->size() <= kMaxReferrers);
    for (const Descriptor& d : *referrers)
      // A bundle, or a candidate whose registry named its artifactType after the config (the
      // empty type) or not at all: its referrer manifest decides.
      FUZZ_CHECK((d.artifactType == kBundleMediaType || d.artifactType == kEmptyMediaType || d.artifactType.empty()) &&
                 is_sha256_digest(d.digest));
  } else {
    FUZZ_CHECK(!why.empty());
  }
  if (const auto layer = parse_bundle_manifest(input, kFuzzImageDigest, &why))
    FUZZ_CHECK(layer->mediaType == kBundleMediaType && is_sha256_digest(layer->digest));
  else
    FUZZ_CHECK(!why.empty());
  return 0;
}
