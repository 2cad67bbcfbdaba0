#pragma once
// The tag->digest cache in front of the registry client: bounded (LRU), with a short life for
// failures, and coalescing: concurrent misses for one reference share one registry request.
// Entries are keyed by the reference and by which credential resolved it (credential_id), so an
// answer earned with one pod's pull secret is never served to a request without that credential.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "image/reference.h"
#include "metrics/metrics.h"
#include "registry/client.h"
#include "registry/credentials.h"

namespace podgate::registry {

struct CacheOptions {
  std::chrono::milliseconds ttl{60000};       // a resolved digest (tags move: keep this short)
  std::chrono::milliseconds errorTTL{5000};   // a failure, so an outage is not a request storm
  std::size_t maxEntries = 100000;
};

class DigestCache {
 public:
  using Result = std::shared_ptr<const Resolution>;
  using Callback = std::function<void(Result)>;
  // How a miss is resolved: the registry client in production. Must call its callback exactly once.
  using Fetch = std::function<void(const image::Reference&, std::function<void(Resolution)>)>;
  // The same, told which credential to send (nullopt: anonymous).
  using CredentialFetch =
      std::function<void(const image::Reference&, const std::optional<Credential>&, std::function<void(Resolution)>)>;
  // Which credential a resolution of the reference sends, given the request's own keyring (a pod's
  // pull secrets; may be null): Client::credential_for in production. Called before the cache is
  // consulted, since the credential is part of the key.
  using Choose = std::function<std::optional<Credential>(const image::Reference&, const Keyring* pod)>;

  // Without credential choice: every lookup is keyed as anonymous, and `fetch` sends what it likes.
  DigestCache(Fetch fetch, CacheOptions options, metrics::Metrics* metrics);
  DigestCache(Choose choose, CredentialFetch fetch, CacheOptions options, metrics::Metrics* metrics);
  ~DigestCache();
  DigestCache(const DigestCache&) = delete;
  DigestCache& operator=(const DigestCache&) = delete;

  // Calls `done` exactly once with the resolution of `ref`:
  // - inline, with the cached entry, when a fresh one exists (a "hit");
  // - otherwise when the registry answers: the first miss for a reference starts one fetch, and
  //   later misses for it wait on the same fetch ("coalesced");
  // - or at `deadline`, with a Timeout resolution, if the fetch has not finished by then. The
  //   fetch goes on (bounded by its own timeout) and its answer is cached for the next request.
  // The fetched answer is cached for `ttl` when resolved, for `errorTTL` when it failed (for a
  // 429, at least the Retry-After the registry asked for).
  void resolve(const image::Reference& ref, std::chrono::steady_clock::time_point deadline, Callback done);
  // The same for a request that brings its own credentials (`pod`, may be null; only read during
  // the call): the credential is chosen now, and the entry looked up, shared with concurrent
  // misses and stored is the one for that credential alone.
  void resolve(const image::Reference& ref, const Keyring* pod, std::chrono::steady_clock::time_point deadline,
               Callback done);

  // The fresh cached entry for `ref` (resolved with the credential `pod` leads to), or null.
  // Counts nothing.
  Result peek(const image::Reference& ref, const Keyring* pod = nullptr) const;
  std::size_t size() const;
  std::size_t in_flight() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace podgate::registry
