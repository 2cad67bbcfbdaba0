#pragma once
// A bounded LRU of answers with a life each, where concurrent misses for one key share one fetch
// and each caller still gets an answer by its own deadline. The digest cache (tag -> digest) and
// the signature cache (digest + keys -> verdict) are both this, over different answers.

#include <atomic>
#include <chrono>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "registry/timers.h"

namespace podgate::registry {

template <class Value>
class CoalescingCache {
 public:
  using Clock = std::chrono::steady_clock;
  using Result = std::shared_ptr<const Value>;
  using Callback = std::function<void(Result)>;
  // Starts the fetch of a missing key; must call its argument exactly once, on any thread.
  using Start = std::function<void(std::function<void(Value)>)>;
  // How long an answer is kept (an answer may ask for less, or more, than the default).
  using Lifetime = std::function<std::chrono::milliseconds(const Value&)>;
  enum class Outcome { Hit, Miss, Coalesced };

  CoalescingCache(std::size_t maxEntries, Lifetime lifetime)
      : impl_(std::make_shared<Impl>(maxEntries == 0 ? 1 : maxEntries, std::move(lifetime))) {}

  // Calls `done` exactly once: inline with a fresh entry; else when the fetch (started now by the
  // first miss, joined by later ones) ends; or at `deadline` with `late()` if it has not. A late
  // fetch goes on and its answer is kept for the next caller. Returns what happened, for metrics.
  Outcome get(const std::string& key, Clock::time_point deadline, std::function<Value()> late, const Start& start,
              Callback done) {
    auto waiter = std::make_shared<Waiter>();
    waiter->done = std::move(done);
    if (Result hit = impl_->lookup(key)) {
      waiter->deliver(std::move(hit));
      return Outcome::Hit;
    }
    // Armed before the waiter is published, so deliver() on another thread sees the timer set. The
    // timer holds only a weak reference; the inflight list owns the waiter until delivery.
    std::weak_ptr<Waiter> weak = waiter;
    waiter->timer = Timers::shared().at(deadline, [weak, late = std::move(late)] {
      if (auto w = weak.lock()) w->deliver(std::make_shared<const Value>(late()));
    });
    bool first = false;
    Result hit;
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
      waiter->deliver(std::move(hit));
      return Outcome::Hit;
    }
    if (first) {
      std::weak_ptr<Impl> impl = impl_;
      start([impl, key](Value value) {
        if (auto self = impl.lock()) self->complete(key, std::move(value));
      });
    }
    return first ? Outcome::Miss : Outcome::Coalesced;
  }

  Result peek(const std::string& key) const { return impl_->lookup(key); }
  std::size_t size() const {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    return impl_->lru.size();
  }
  std::size_t in_flight() const {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    return impl_->inflight.size();
  }

 private:
  struct Waiter {
    Callback done;
    std::atomic<bool> called{false};
    std::shared_ptr<Timers::Handle> timer;
    void deliver(Result result) {
      if (called.exchange(true)) return;
      if (timer) timer->cancel();
      auto callback = std::move(done);
      callback(std::move(result));
    }
  };
  struct Entry {
    std::string key;
    Result result;
    Clock::time_point expires;
  };
  struct Impl {
    Impl(std::size_t max, Lifetime life) : maxEntries(max), lifetime(std::move(life)) {}
    const std::size_t maxEntries;
    const Lifetime lifetime;
    mutable std::mutex mutex;
    std::list<Entry> lru;  // front: most recently used
    std::unordered_map<std::string, typename std::list<Entry>::iterator> index;
    std::unordered_map<std::string, std::vector<std::shared_ptr<Waiter>>> inflight;

    Result lookup(const std::string& key) {
      std::lock_guard<std::mutex> lock(mutex);
      return lookup_locked(key);
    }
    // A fresh entry moves to the front; a stale one is dropped.
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
      const auto life = lifetime(*result);
      if (auto it = index.find(key); it != index.end()) {
        lru.erase(it->second);
        index.erase(it);
      }
      lru.push_front(Entry{key, std::move(result), Clock::now() + life});
      index[key] = lru.begin();
      while (lru.size() > maxEntries) {
        index.erase(lru.back().key);
        lru.pop_back();
      }
    }
    void complete(const std::string& key, Value value) {
      auto result = std::make_shared<const Value>(std::move(value));
      std::vector<std::shared_ptr<Waiter>> waiters;
      {
        std::lock_guard<std::mutex> lock(mutex);
        store_locked(key, result);
        if (auto it = inflight.find(key); it != inflight.end()) {
          waiters = std::move(it->second);
          inflight.erase(it);
        }
      }
      for (auto& w : waiters) w->deliver(result);
    }
  };
  std::shared_ptr<Impl> impl_;
};

}  // namespace podgate::registry
