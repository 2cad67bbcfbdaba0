// PodCache: the Pods that run, as compact projections (pod_projection.cpp makes them), kept from a
// reflector's list and watch, bounded in bytes.

#include "audit/pod_cache.h"

#include <algorithm>
#include <string>
#include <tuple>
#include <utility>

namespace podgate::audit {

namespace {

constexpr std::size_t kMaxLoggedDrops = 64;  // Pods whose drop is logged by name at once
constexpr std::string_view kResource = "pods";

}  // namespace

// ---- PodCache ----------------------------------------------------------------------------------

PodCache::PodCache(PodCacheOptions options, metrics::Metrics* metrics, log::Logger* logger)
    : options_(std::move(options)), metrics_(metrics), logger_(logger) {}

void PodCache::set_listener(Listener listener) { listener_ = std::move(listener); }

std::shared_ptr<const PodProjection> PodCache::get(std::string_view key) const {
  std::lock_guard lock(mutex_);
  auto it = pods_.find(std::string(key));
  return it == pods_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<const PodProjection>> PodCache::snapshot() const {
  std::vector<std::shared_ptr<const PodProjection>> out;
  {
    std::lock_guard lock(mutex_);
    out.reserve(pods_.size());
    for (const auto& [key, pod] : pods_) out.push_back(pod);
  }
  // A controller's Pods next to each other (sorted outside the lock: the reflector waits for it).
  // A full pass writes the reports as it goes; in the map's order the 10 Pods of a ReplicaSet were
  // spread over the whole pass, so its report was applied once per flush that had judged more of
  // them: 3.8 applies per report at 10,000 Pods (bench/audit.sh), each under kubernetes.qps.
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return std::tie(a->namespace_, a->owner.name, a->owner.uid, a->name) <
           std::tie(b->namespace_, b->owner.name, b->owner.uid, b->name);
  });
  return out;
}

std::size_t PodCache::size() const {
  std::lock_guard lock(mutex_);
  return pods_.size();
}

std::size_t PodCache::bytes() const {
  std::lock_guard lock(mutex_);
  return bytes_;
}

void PodCache::publish() const {
  if (!metrics_) return;
  std::size_t count, held;
  {
    std::lock_guard lock(mutex_);
    count = pods_.size();
    held = bytes_;
  }
  metrics_->set_kube_cache(kResource, static_cast<double>(count), static_cast<double>(held));
}

void PodCache::list_begin() {
  std::lock_guard lock(mutex_);
  listing_ = true;
  seen_.clear();
}

void PodCache::list_end() {
  std::vector<std::string> gone;
  {
    std::lock_guard lock(mutex_);
    if (!listing_) return;
    for (auto it = pods_.begin(); it != pods_.end();) {
      if (seen_.count(it->first)) {
        ++it;
        continue;
      }
      bytes_ -= it->second->bytes;
      forget_logged(it->first);
      gone.push_back(it->first);
      it = pods_.erase(it);
    }
    listing_ = false;
    seen_ = {};  // its memory too: a list of 10,000 Pods is not kept between lists
    note_room();
  }
  publish();
  if (listener_)
    for (const std::string& key : gone) listener_(key, nullptr);
}

void PodCache::upsert(std::string_view key, std::string_view objectJson) {
  std::string k(key);
  {
    std::lock_guard lock(mutex_);
    if (listing_) seen_[k] = true;
  }
  // Exempt namespaces are never judged: skip them before paying for the projection.
  const std::string_view ns = key.substr(0, key.find('/'));
  const auto skipped = [&](std::string_view n) {
    const auto& skip = options_.skipNamespaces;
    return std::find(skip.begin(), skip.end(), n) != skip.end();
  };
  if (skipped(ns)) return erase(k);
  std::string error;
  std::optional<PodProjection> pod = project_pod(objectJson, &error);
  if (!pod) {
    if (!error.empty()) dropped(k, "malformed", error);
    return erase(k);  // ended (Succeeded, Failed) or unreadable: not kept either way
  }
  if (skipped(pod->namespace_)) return erase(k);
  if (pod->bytes > kMaxProjectionBytes) {
    dropped(k, "too_large",
            "the projection is " + std::to_string(pod->bytes) + " bytes, more than " +
                std::to_string(kMaxProjectionBytes));
    return erase(k);
  }
  store(k, std::move(*pod));
}

void PodCache::store(const std::string& key, PodProjection pod) {
  auto next = std::make_shared<const PodProjection>(std::move(pod));
  bool kept = false, removed = false, warn = false;
  std::size_t held = 0;
  {
    std::lock_guard lock(mutex_);
    auto it = pods_.find(key);
    if (it != pods_.end() && *it->second == *next) return;  // a status update the projection does not keep
    const std::size_t old = it != pods_.end() ? it->second->bytes : 0;
    if (bytes_ - old + next->bytes <= options_.maxBytes) {
      bytes_ = bytes_ - old + next->bytes;
      if (it != pods_.end()) it->second = next;
      else pods_.emplace(key, next);
      kept = true;
      note_room();
    } else {
      // Past the bound: not kept, and the older projection goes too rather than stay stale.
      if (it != pods_.end()) {
        bytes_ -= old;
        pods_.erase(it);
        removed = true;
      }
      warn = !std::exchange(warnedFull_, true);
      held = bytes_;
    }
  }
  if (!kept) {
    if (metrics_) metrics_->count_audit_pod_dropped("bytes");
    if (warn && logger_)
      logger_->line(log::Level::Warn, "audit: the Pod cache is full (audit.cacheBytes); Pods past it are not audited")
          .str("pod", key, 256)
          .integer("bytes", static_cast<long long>(held))
          .integer("maxBytes", static_cast<long long>(options_.maxBytes));
  }
  if (!kept && !removed) return;
  publish();
  if (listener_) listener_(key, kept ? next : nullptr);
}

void PodCache::remove(std::string_view key) {
  const std::string k(key);
  {
    std::lock_guard lock(mutex_);
    forget_logged(k);  // a Pod of that name created later is a new one, logged again if dropped
  }
  erase(k);
}

void PodCache::erase(const std::string& key) {
  {
    std::lock_guard lock(mutex_);
    auto it = pods_.find(key);
    if (it == pods_.end()) return;
    bytes_ -= it->second->bytes;
    pods_.erase(it);
    note_room();
  }
  publish();
  if (listener_) listener_(key, nullptr);
}

void PodCache::dropped(const std::string& key, std::string_view reason, std::string_view why) {
  if (metrics_) metrics_->count_audit_pod_dropped(reason);
  if (!logger_) return;
  {
    std::lock_guard lock(mutex_);
    if (loggedDrops_.size() >= kMaxLoggedDrops || !loggedDrops_.insert(key).second) return;
  }
  logger_->line(log::Level::Warn, "audit: Pod not cached, not audited")
      .str("pod", key, 256)
      .str("reason", reason)
      .str("error", why, 512);
}

void PodCache::forget_logged(const std::string& key) {
  if (!loggedDrops_.empty()) loggedDrops_.erase(key);
}

// "Full" is logged again only once the cache has come down to 90% of its bound, so a cache at its
// bound does not log at every Pod that comes and goes.
void PodCache::note_room() {
  if (warnedFull_ && bytes_ <= options_.maxBytes / 10 * 9) warnedFull_ = false;
}

}  // namespace podgate::audit
