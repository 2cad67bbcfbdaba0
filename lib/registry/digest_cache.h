#pragma once
// The tag->digest cache in front of the registry client: bounded (LRU), with a short life for
// failures, and coalescing: concurrent misses for one reference share one registry request.

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "image/reference.h"
#include "metrics/metrics.h"
#include "registry/client.h"

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

  DigestCache(Fetch fetch, CacheOptions options, metrics::Metrics* metrics);
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

  // The fresh cached entry for `ref`, or null. Counts nothing.
  Result peek(const image::Reference& ref) const;
  std::size_t size() const;
  std::size_t in_flight() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace podgate::registry
