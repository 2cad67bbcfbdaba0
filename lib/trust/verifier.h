#pragma once
// Is this image digest signed by one of these keys? Looks the signatures up in the image's own
// repository the way `cosign verify` does, in its order: Sigstore bundles attached as OCI 1.1
// referrers (the referrers API, else the `sha256-<hex>` referrers tag), then the legacy
// `sha256-<hex>.sig` tag. Answers are cached by repository, digest, key set and credential, and
// concurrent checks of one image share one lookup (the digest cache's coalescing).
//
// Key-based only, as cosign's --insecure-ignore-tlog: no Rekor transparency-log check, no keyless
// (Fulcio) certificates.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "image/reference.h"
#include "metrics/metrics.h"
#include "registry/client.h"
#include "registry/credentials.h"
#include "trust/keys.h"

namespace podgate::trust {

enum class SignatureStatus {
  Verified,  // a signature by one of the keys over this digest
  Unsigned,  // the registry holds no signature for it
  Invalid,   // signatures exist, none verifies with these keys for this digest (detail says why)
  Error,     // the registry could not be asked (failure says how): not an answer about the image
};
const char* to_string(SignatureStatus status);  // "verified", "unsigned", "invalid", "error"

struct SignatureCheck {
  SignatureStatus status = SignatureStatus::Error;
  std::string format;  // Verified: "bundle" (Sigstore bundle referrer) or "legacy" (.sig tag)
  std::string keyId;   // Verified: the short id of the key that verified
  std::string detail;  // not Verified: one sentence an operator can act on (keys tried, why each failed)
  registry::Failure failure = registry::Failure::None;  // Error: how the registry failed
  int requests = 0;    // registry requests the lookup made
  bool verified() const { return status == SignatureStatus::Verified; }
};

struct VerifierOptions {
  std::chrono::milliseconds ttl{60000};      // an answer about the image (verified, unsigned, invalid)
  std::chrono::milliseconds errorTTL{5000};  // a registry failure
  std::size_t maxEntries = 10000;
  std::size_t maxCandidates = 8;             // bundles and legacy layers tried per lookup
};

class SignatureVerifier {
 public:
  using Result = std::shared_ptr<const SignatureCheck>;
  using Callback = std::function<void(Result)>;
  // `client` does the registry requests (its fetch()); it must outlive the verifier's lookups.
  SignatureVerifier(std::shared_ptr<registry::Client> client, VerifierOptions options, metrics::Metrics* metrics);
  ~SignatureVerifier();
  SignatureVerifier(const SignatureVerifier&) = delete;
  SignatureVerifier& operator=(const SignatureVerifier&) = delete;

  // Checks `digest` ("sha256:<hex>") of `image`'s repository against `keys`, sending `credential`
  // (the one its resolution used). `done` is called exactly once: inline on a cache hit, else on a
  // registry thread, or at `deadline` with an Error (Timeout) if the lookup is slower.
  void verify(const image::Reference& image, const std::string& digest, std::shared_ptr<const KeySet> keys,
              const std::optional<registry::Credential>& credential, std::chrono::steady_clock::time_point deadline,
              Callback done);
  // The same with the credential the client would choose for `image` (the configured files).
  void verify(const image::Reference& image, const std::string& digest, std::shared_ptr<const KeySet> keys,
              std::chrono::steady_clock::time_point deadline, Callback done);

  // The credential a lookup for `image` sends: the pod's pull secrets (`pod`, may be null) first,
  // then the configured files, as its resolution chose.
  std::optional<registry::Credential> credential_for(const image::Reference& image,
                                                     const registry::Keyring* pod = nullptr) const;

  std::size_t size() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace podgate::trust
