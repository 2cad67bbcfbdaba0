// trust::parse_signature_manifest and the simple-signing payload checks of
// trust::verify_simple_signing. The input is read both as a .sig manifest and as a payload; the
// payload is signed here with the fixed key so the checks after the signature run on it.
// Invariants: never throws; a parsed layer is a simple-signing layer with a sha256 digest and a
// signature, and no more than the bound; a verified payload names the image digest and the key;
// a failure has a reason; the signature by the fixed key over other bytes never verifies.

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

  std::string why;
  if (const auto layers = parse_signature_manifest(input, &why)) {
    FUZZ_CHECK(layers->size() <= kMaxSignatureLayers);
    for (const SignatureLayer& l : *layers) {
      FUZZ_CHECK(l.blob.mediaType == kSimpleSigningMediaType && is_sha256_digest(l.blob.digest));
      FUZZ_CHECK(!l.signatureBase64.empty());
      // The manifest cannot be its own layer's blob (it would contain its own digest).
      FUZZ_CHECK(!verify_signature_layer(l, input, kFuzzImageDigest, fixed.keys()).verified());
    }
  } else {
    FUZZ_CHECK(!why.empty());
  }

  const std::string signature = podgate::fuzz::base64(fixed.sign(input));
  const Verification v = verify_simple_signing(input, signature, kFuzzImageDigest, fixed.keys());
  FUZZ_CHECK(v.status == Verification::Status::Verified || v.status == Verification::Status::Failed);
  if (v.verified()) {
    FUZZ_CHECK(v.keyId == fixed.key().id() && v.reason.empty());
    FUZZ_CHECK(input.find(kFuzzImageDigest) != std::string_view::npos);
  } else {
    FUZZ_CHECK(!v.reason.empty() && v.keyId.empty());
  }
  const std::string other = std::string(input) + "x";
  FUZZ_CHECK(!verify_simple_signing(other, signature, kFuzzImageDigest, fixed.keys()).verified());
  return 0;
}
