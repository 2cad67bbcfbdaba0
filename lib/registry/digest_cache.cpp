#include "registry/digest_cache.h"

#include "registry/coalescing_cache.h"

namespace podgate::registry {

using Clock = std::chrono::steady_clock;

namespace {

// The key names exactly what is asked of the registry: the canonical reference (tag and digest),
// and with which credential (its id, never the credential itself).
std::string cache_key(const image::Reference& ref, const std::optional<Credential>& credential) {
  return ref.canonical() + "\x1f" + credential_id(credential);
}

}  // namespace

struct DigestCache::Impl {
  Impl(std::size_t maxEntries, CoalescingCache<Resolution>::Lifetime lifetime) : cache(maxEntries, std::move(lifetime)) {}
  Choose choose;
  CredentialFetch fetch;
  metrics::Metrics* metrics = nullptr;
  CoalescingCache<Resolution> cache;
};

DigestCache::DigestCache(Fetch fetch, CacheOptions options, metrics::Metrics* metrics)
    : DigestCache([](const image::Reference&, const Keyring*) { return std::optional<Credential>(); },
                  [fetch = std::move(fetch)](const image::Reference& ref, const std::optional<Credential>&,
                                             std::function<void(Resolution)> done) { fetch(ref, std::move(done)); },
                  options, metrics) {}

DigestCache::DigestCache(Choose choose, CredentialFetch fetch, CacheOptions options, metrics::Metrics* metrics)
    : impl_(std::make_shared<Impl>(options.maxEntries, [options](const Resolution& r) {
        if (r.ok()) return options.ttl;
        // A failure lives errorTTL, so an outage is not a request storm; a 429 at least as long
        // as the registry asked.
        if (r.failure == Failure::RateLimited)
          return std::max<std::chrono::milliseconds>(options.errorTTL,
                                                     std::chrono::duration_cast<std::chrono::milliseconds>(r.retryAfter));
        return options.errorTTL;
      })) {
  impl_->choose = std::move(choose);
  impl_->fetch = std::move(fetch);
  impl_->metrics = metrics;
}

DigestCache::~DigestCache() = default;

void DigestCache::resolve(const image::Reference& ref, Clock::time_point deadline, Callback done) {
  resolve(ref, nullptr, deadline, std::move(done));
}

void DigestCache::resolve(const image::Reference& ref, const Keyring* pod, Clock::time_point deadline, Callback done) {
  std::optional<Credential> credential = impl_->choose(ref, pod);
  const std::string key = cache_key(ref, credential);
  const std::string host = ref.registry_host();
  const auto budget_ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  // The answer a waiter gets if the registry is slower than the apiserver.
  auto late = [host, budget_ms] {
    Resolution r;
    r.failure = Failure::Timeout;
    r.error = "registry " + host + " did not answer before the admission deadline (" +
              std::to_string(std::max<long long>(budget_ms, 0)) + "ms)";
    return r;
  };
  std::weak_ptr<Impl> weak = impl_;
  auto start = [weak, ref, credential](std::function<void(Resolution)> complete) {
    auto self = weak.lock();
    if (!self) return;
    self->fetch(ref, credential, [weak, complete = std::move(complete)](Resolution r) {
      complete(std::move(r));
      if (auto s = weak.lock(); s && s->metrics) s->metrics->set_digest_cache_entries(static_cast<double>(s->cache.size()));
    });
  };
  using Outcome = CoalescingCache<Resolution>::Outcome;
  const Outcome outcome = impl_->cache.get(key, deadline, late, start, std::move(done));
  if (impl_->metrics)
    impl_->metrics->count_digest_cache(outcome == Outcome::Hit ? "hit" : outcome == Outcome::Miss ? "miss" : "coalesced");
}

DigestCache::Result DigestCache::peek(const image::Reference& ref, const Keyring* pod) const {
  return impl_->cache.peek(cache_key(ref, impl_->choose(ref, pod)));
}

std::size_t DigestCache::size() const { return impl_->cache.size(); }

std::size_t DigestCache::in_flight() const { return impl_->cache.in_flight(); }

}  // namespace podgate::registry
