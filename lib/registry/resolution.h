#pragma once
// What resolving an image reference answered: its digest, or why there is none. The registry
// client produces it, the digest cache keeps it, and the image rules (lib/policy) read it, which
// is why it has a header of its own: policy needs this value type, not the client.

#include <chrono>
#include <string>
#include <vector>

namespace podgate::registry {

// Why a resolution failed. NotFound is an answer about the image (it does not exist); the others
// are about reaching the registry, and follow onResolveError.
enum class Failure {
  None,
  NotFound,      // 404, MANIFEST_UNKNOWN, NAME_UNKNOWN
  Unauthorized,  // 401/403 after the auth flow (no or wrong credentials)
  RateLimited,   // 429 (Retry-After honoured)
  Timeout,       // no complete answer within resolve.timeout or the admission deadline
  Unreachable,   // connection refused, DNS failure, connection reset
  Tls,           // certificate verification or handshake failure
  BadResponse,   // an answer that breaks the protocol (bad digest, unparsable manifest, bad redirect)
  TooLarge,      // manifest or token answer over its size limit
  ServerError,   // 5xx
};
const char* to_string(Failure failure);  // "not_found", "timeout", ... (metric label values; client.cpp)

struct ChildManifest {
  std::string platform;  // "linux/amd64", "linux/arm64/v8", "unknown/unknown" (attestations)
  std::string digest;
  bool operator==(const ChildManifest&) const = default;
};

struct Resolution {
  Failure failure = Failure::None;
  std::string error;      // one sentence for people: what happened, with the registry's host
  std::string digest;     // "sha256:..." when resolved
  std::string mediaType;  // of the resolved manifest
  std::vector<ChildManifest> children;  // the platform manifests of an index / manifest list
  std::chrono::seconds retryAfter{0};   // 429: what the registry asked for
  int requests = 0;                     // HTTP requests this resolution made (token fetches included)
  bool ok() const { return failure == Failure::None; }
};

}  // namespace podgate::registry
