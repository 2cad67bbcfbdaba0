#include "registry/digest_cache.h"

#include <atomic>
#include <list>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "registry/timers.h"

namespace podgate::registry {

using Clock = std::chrono::steady_clock;

namespace {

struct Waiter {
  DigestCache::Callback done;
  std::atomic<bool> called{false};
  std::shared_ptr<Timers::Handle> timer;

  void deliver(DigestCache::Result result) {
    if (called.exchange(true)) return;
    if (timer) timer->cancel();
    auto callback = std::move(done);
    callback(std::move(result));
  }
};

struct Entry {
  std::string key;
  DigestCache::Result result;
  Clock::time_point expires;
};

// The key names exactly what is asked of the registry: the canonical reference (tag and digest),
// and with which credential (its id, never the credential itself).
std::string cache_key(const image::Reference& ref, const std::optional<Credential>& credential) {
  return ref.canonical() + "\x1f" + credential_id(credential);
}

}  // namespace

struct DigestCache::Impl : std::enable_shared_from_this<DigestCache::Impl> {
  Choose choose;
  CredentialFetch fetch;
  CacheOptions options;
  metrics::Metrics* metrics;

  mutable std::mutex mutex;
  std::list<Entry> lru;  // front: most recently used
  std::unordered_map<std::string, std::list<Entry>::iterator> index;
  std::unordered_map<std::string, std::vector<std::shared_ptr<Waiter>>> inflight;

  // Caller holds the mutex. A fresh entry moves to the front; a stale one is dropped.
  Result lookup_locked(const std::string& key) {
    auto it = index.find(key);
    if (it == index.end()) return nullptr;
    if (it->second->expires <= Clock::now()) {
      lru.erase(it->second);
      index.erase(it);
      return nullptr;
    }
    lru.splice(lru.begin(), lru, it->second);
    return it->second->result;
  }

  void store_locked(const std::string& key, Result result) {
    auto life = options.ttl;
    if (!result->ok()) {
      life = options.errorTTL;
      if (result->failure == Failure::RateLimited)
        life = std::max<std::chrono::milliseconds>(life, std::chrono::duration_cast<std::chrono::milliseconds>(result->retryAfter));
    }
    if (auto it = index.find(key); it != index.end()) {
      lru.erase(it->second);
      index.erase(it);
    }
    lru.push_front(Entry{key, std::move(result), Clock::now() + life});
    index[key] = lru.begin();
    while (lru.size() > options.maxEntries) {
      index.erase(lru.back().key);
      lru.pop_back();
    }
    if (metrics) metrics->set_digest_cache_entries(static_cast<double>(lru.size()));
  }

  void complete(const std::string& key, Resolution resolution) {
    auto result = std::make_shared<const Resolution>(std::move(resolution));
    std::vector<std::shared_ptr<Waiter>> waiters;
    {
      std::lock_guard<std::mutex> lock(mutex);
      store_locked(key, result);
      auto it = inflight.find(key);
      if (it != inflight.end()) {
        waiters = std::move(it->second);
        inflight.erase(it);
      }
    }
    for (auto& w : waiters) w->deliver(result);
  }
};

DigestCache::DigestCache(Fetch fetch, CacheOptions options, metrics::Metrics* metrics)
    : DigestCache([](const image::Reference&, const Keyring*) { return std::optional<Credential>(); },
                  [fetch = std::move(fetch)](const image::Reference& ref, const std::optional<Credential>&,
                                             std::function<void(Resolution)> done) { fetch(ref, std::move(done)); },
                  options, metrics) {}

DigestCache::DigestCache(Choose choose, CredentialFetch fetch, CacheOptions options, metrics::Metrics* metrics)
    : impl_(std::make_shared<Impl>()) {
  impl_->choose = std::move(choose);
  impl_->fetch = std::move(fetch);
  impl_->options = options;
  if (impl_->options.maxEntries == 0) impl_->options.maxEntries = 1;
  impl_->metrics = metrics;
}

DigestCache::~DigestCache() = default;

void DigestCache::resolve(const image::Reference& ref, Clock::time_point deadline, Callback done) {
  resolve(ref, nullptr, deadline, std::move(done));
}

void DigestCache::resolve(const image::Reference& ref, const Keyring* pod, Clock::time_point deadline, Callback done) {
  std::optional<Credential> credential = impl_->choose(ref, pod);
  const std::string key = cache_key(ref, credential);
  auto waiter = std::make_shared<Waiter>();
  waiter->done = std::move(done);
  Result hit;
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    hit = impl_->lookup_locked(key);
  }
  if (hit) {
    if (impl_->metrics) impl_->metrics->count_digest_cache("hit");
    return waiter->deliver(std::move(hit));
  }

  // The waiter's own deadline: the answer it gets if the registry is slower than the apiserver.
  // Armed before the waiter is published, so deliver() on another thread sees the timer set. The
  // timer holds only a weak reference; the inflight list owns the waiter until delivery.
  const std::string host = ref.registry_host();
  const auto budget_ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  std::weak_ptr<Waiter> weak = waiter;
  waiter->timer = Timers::shared().at(deadline, [weak, host, budget_ms] {
    auto w = weak.lock();
    if (!w) return;
    Resolution r;
    r.failure = Failure::Timeout;
    r.error = "registry " + host + " did not answer before the admission deadline (" +
              std::to_string(std::max<long long>(budget_ms, 0)) + "ms)";
    w->deliver(std::make_shared<const Resolution>(std::move(r)));
  });

  bool first = false;
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    hit = impl_->lookup_locked(key);  // filled while the timer was armed
    if (!hit) {
      auto& list = impl_->inflight[key];
      first = list.empty();
      list.push_back(waiter);
    }
  }
  if (hit) {
    if (impl_->metrics) impl_->metrics->count_digest_cache("hit");
    return waiter->deliver(std::move(hit));
  }
  if (impl_->metrics) impl_->metrics->count_digest_cache(first ? "miss" : "coalesced");
  if (first) {
    std::weak_ptr<Impl> impl = impl_;
    impl_->fetch(ref, credential, [impl, key](Resolution resolution) {
      if (auto self = impl.lock()) self->complete(key, std::move(resolution));
    });
  }
}

DigestCache::Result DigestCache::peek(const image::Reference& ref, const Keyring* pod) const {
  const std::string key = cache_key(ref, impl_->choose(ref, pod));
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->lookup_locked(key);
}

std::size_t DigestCache::size() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->lru.size();
}

std::size_t DigestCache::in_flight() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->inflight.size();
}

}  // namespace podgate::registry
