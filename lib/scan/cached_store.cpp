// CachedStore: the admission path's scan lookups from memory. Sharded so server workers looking up
// different digests do not queue on one lock; each shard is an exact LRU with per-entry expiry,
// bounded by entries and by (estimated) bytes: a scan can carry hundreds of findings, so an entry
// bound alone let 100,000 cached scans take most of a GiB.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "scan/store.h"

namespace podgate::scan {

namespace {
using Clock = std::chrono::steady_clock;
using Records = std::shared_ptr<const std::vector<ScanRecord>>;

// Entries per shard before a cache is split: small caches stay one shard, so maxEntries is an
// exact LRU bound; large ones split into up to kMaxShards shards of maxEntries/shards each (the
// total still never exceeds maxEntries; eviction is LRU within a shard).
constexpr std::size_t kMinShardEntries = 1024;
constexpr std::size_t kMaxShards = 16;

std::size_t heap_bytes(const std::string& s) {
  // Short strings live inside the std::string (SSO); longer ones cost their capacity plus the
  // allocator's header.
  return s.capacity() > 15 ? s.capacity() + 1 + 16 : 0;
}

}  // namespace

std::size_t estimated_bytes(std::string_view digest, const std::vector<ScanRecord>& records) {
  std::size_t bytes = 64 /* list node */ + 48 /* index entry */ + digest.size() + 16;
  bytes += 64 /* shared_ptr control block + vector */ + records.capacity() * sizeof(ScanRecord);
  for (const ScanRecord& r : records) {
    bytes += heap_bytes(r.digest) + heap_bytes(r.scanner) + heap_bytes(r.scannerVersion) +
             heap_bytes(r.databaseVersion) + heap_bytes(r.artifact);
    bytes += r.findings.capacity() * sizeof(Finding) + 16;
    for (const Finding& f : r.findings)
      bytes += heap_bytes(f.kind) + heap_bytes(f.id) + heap_bytes(f.package) + heap_bytes(f.installedVersion) +
               heap_bytes(f.fixedVersion);
  }
  return bytes;
}

struct CachedStore::Impl {
  ChangeListener listener;
  struct Node {
    std::string digest;
    Records records;  // never null; empty: "never scanned"
    Clock::time_point expires;
    std::size_t bytes = 0;  // estimated_bytes() of this node
  };
  struct Shard {
    std::mutex mutex;
    std::list<Node> lru;  // front: most recently used
    // Keys view the Node's own digest; list nodes never move, so the views stay valid.
    std::unordered_map<std::string_view, std::list<Node>::iterator> index;
    // Bumped by every put() touching this shard: a miss whose backend read started before a put
    // must not cache what it read, which may predate the put.
    std::uint64_t generation = 0;
    std::size_t capacity = 0;
    std::size_t byteCapacity = 0;
    std::size_t bytes = 0;  // sum of the nodes' bytes
  };

  std::unique_ptr<Store> backend;
  std::chrono::milliseconds ttl, negativeTTL;
  std::size_t shardCount = 1;
  std::unique_ptr<Shard[]> shards;
  const Records none = std::make_shared<const std::vector<ScanRecord>>();

  Shard& shard_for(std::string_view digest) {
    // High bits: the map inside the shard uses the same hash modulo its bucket count.
    return shards[(std::hash<std::string_view>{}(digest) >> 32) % shardCount];
  }

  static void touch(Shard& shard, std::list<Node>::iterator node) {
    shard.lru.splice(shard.lru.begin(), shard.lru, node);
  }

  static void erase(Shard& shard, std::unordered_map<std::string_view, std::list<Node>::iterator>::iterator it) {
    auto node = it->second;
    shard.bytes -= node->bytes;
    shard.index.erase(it);
    shard.lru.erase(node);
  }

  // Drops least recently used entries until the shard is within both bounds.
  static void trim(Shard& shard) {
    while (!shard.lru.empty() && (shard.lru.size() > shard.capacity || shard.bytes > shard.byteCapacity)) {
      shard.bytes -= shard.lru.back().bytes;
      shard.index.erase(shard.lru.back().digest);
      shard.lru.pop_back();
    }
  }

  // Caller holds shard.mutex. An entry larger than the shard's byte budget is not kept (the caller
  // still gets it); it would only evict everything else.
  static void insert(Shard& shard, std::string_view digest, Records records, Clock::time_point expires) {
    if (shard.capacity == 0) return;
    const std::size_t bytes = estimated_bytes(digest, *records);
    if (auto it = shard.index.find(digest); it != shard.index.end()) erase(shard, it);
    if (bytes > shard.byteCapacity) return;
    shard.lru.push_front(Node{std::string(digest), std::move(records), expires, bytes});
    shard.index.emplace(shard.lru.front().digest, shard.lru.begin());
    shard.bytes += bytes;
    trim(shard);
  }

  static Records find_fresh(Shard& shard, std::string_view digest);

  // Replaces a node's records in place (put() of a known digest), keeping the byte count right.
  static void replace(Shard& shard, std::list<Node>::iterator node, Records records) {
    const std::size_t bytes = estimated_bytes(node->digest, *records);
    shard.bytes = shard.bytes - node->bytes + bytes;
    node->records = std::move(records);
    node->bytes = bytes;
    trim(shard);  // may drop this very node if it outgrew the budget: the next lookup reads the store
  }
};

CachedStore::CachedStore(std::unique_ptr<Store> backend, std::size_t maxEntries, std::size_t maxBytes,
                         std::chrono::milliseconds ttl, std::chrono::milliseconds negativeTTL)
    : impl_(std::make_shared<Impl>()) {
  impl_->backend = std::move(backend);
  impl_->ttl = ttl;
  impl_->negativeTTL = negativeTTL;
  impl_->shardCount = std::clamp<std::size_t>(maxEntries / kMinShardEntries, 1, kMaxShards);
  impl_->shards = std::make_unique<Impl::Shard[]>(impl_->shardCount);
  for (std::size_t i = 0; i < impl_->shardCount; ++i) {
    impl_->shards[i].capacity = maxEntries / impl_->shardCount;
    impl_->shards[i].byteCapacity = maxBytes / impl_->shardCount;
  }
}

// The entry for `digest` while it has not expired (refreshing its place in the LRU), else null,
// dropping an expired one. Caller holds shard.mutex.
Records CachedStore::Impl::find_fresh(Shard& shard, std::string_view digest) {
  auto it = shard.index.find(digest);
  if (it == shard.index.end()) return nullptr;
  if (it->second->expires > Clock::now()) {
    touch(shard, it->second);
    return it->second->records;
  }
  erase(shard, it);
  return nullptr;
}

std::shared_ptr<const std::vector<ScanRecord>> CachedStore::lookup_cached(std::string_view digest) {
  Impl::Shard& shard = impl_->shard_for(digest);
  std::lock_guard lock(shard.mutex);
  return Impl::find_fresh(shard, digest);
}

std::shared_ptr<const std::vector<ScanRecord>> CachedStore::lookup(std::string_view digest) {
  Impl& impl = *impl_;
  Impl::Shard& shard = impl.shard_for(digest);
  std::uint64_t generation = 0;
  {
    std::lock_guard lock(shard.mutex);
    if (Records cached = Impl::find_fresh(shard, digest)) return cached;
    generation = shard.generation;
  }
  // Outside the lock: the backend may take milliseconds, and other digests in this shard must not
  // wait for it. Two concurrent misses for one digest both read; the second insert overwrites.
  std::vector<ScanRecord> fetched = impl.backend->get(digest);
  Records records = fetched.empty() ? impl.none : std::make_shared<const std::vector<ScanRecord>>(std::move(fetched));
  const auto expires = Clock::now() + (records->empty() ? impl.negativeTTL : impl.ttl);
  std::lock_guard lock(shard.mutex);
  if (shard.generation == generation) Impl::insert(shard, digest, records, expires);
  return records;
}

std::vector<ScanRecord> CachedStore::get(std::string_view digest) { return *lookup(digest); }

std::vector<PutOutcome> CachedStore::put(const std::vector<ScanRecord>& records) {
  Impl& impl = *impl_;
  std::vector<PutOutcome> outcomes = impl.backend->put(records);  // throws: nothing stored, nothing to update
  // The backend answers one outcome per record, in order; if another backend did not, forget
  // every digest named rather than guess which records were stored.
  const bool matched = outcomes.size() == records.size();
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (matched && !outcomes[i].stored) continue;
    const ScanRecord& record = records[i];
    Impl::Shard& shard = impl.shard_for(record.digest);
    std::lock_guard lock(shard.mutex);
    ++shard.generation;
    auto it = shard.index.find(record.digest);
    if (it == shard.index.end()) continue;
    Impl::Node& node = *it->second;
    // A "never scanned" entry, or one about to expire anyway, is dropped: the next lookup reads
    // the database, which may also hold other scanners' records this cache has never seen.
    if (!matched || node.records->empty() || node.expires <= Clock::now()) {
      Impl::erase(shard, it);
      continue;
    }
    // A known digest is updated in place: its other scanners' records are already here. The
    // vector is shared with lookups in flight, so it is copied, never changed.
    auto merged = std::make_shared<std::vector<ScanRecord>>(*node.records);
    auto same = std::find_if(merged->begin(), merged->end(),
                             [&](const ScanRecord& r) { return r.scanner == record.scanner; });
    if (same == merged->end()) {
      merged->push_back(record);
      // The backend's order: by scanner.
      std::sort(merged->begin(), merged->end(),
                [](const ScanRecord& a, const ScanRecord& b) { return a.scanner < b.scanner; });
    } else if (same->scannedAt < record.scannedAt) {
      *same = record;
    }
    Impl::replace(shard, it->second, std::move(merged));
  }
  if (impl.listener) {
    for (std::size_t i = 0; i < records.size(); ++i)
      if (!matched || outcomes[i].stored) impl.listener(records[i].digest);
  }
  return outcomes;
}

void CachedStore::set_change_listener(ChangeListener listener) { impl_->listener = std::move(listener); }

std::vector<Summary> CachedStore::list(std::size_t limit, std::size_t offset) {
  return impl_->backend->list(limit, offset);
}

StoreStats CachedStore::stats() { return impl_->backend->stats(); }

std::size_t CachedStore::cached_bytes() const {
  std::size_t total = 0;
  for (std::size_t i = 0; i < impl_->shardCount; ++i) {
    std::lock_guard lock(impl_->shards[i].mutex);
    total += impl_->shards[i].bytes;
  }
  return total;
}

std::size_t CachedStore::cached_entries() const {
  std::size_t total = 0;
  for (std::size_t i = 0; i < impl_->shardCount; ++i) {
    std::lock_guard lock(impl_->shards[i].mutex);
    total += impl_->shards[i].lru.size();
  }
  return total;
}

}  // namespace podgate::scan
