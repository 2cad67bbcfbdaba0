#pragma once
// The scan cache's record: a Store interface (so a shared backend can come later) with a SQLite
// implementation, and a bounded in-memory cache in front of it for the admission path.

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "scan/scan.h"

namespace podgate::scan {

class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// put() refused a record itself (a string over 4 KiB, too many findings, a bad digest): the
// report's fault, not the database's.
class RecordRefused : public StoreError {
 public:
  using StoreError::StoreError;
};

// What one put() did with each record.
struct PutOutcome {
  std::string digest, scanner;
  bool stored = false;   // false: an equal or newer scan from that scanner was already there
};

struct Summary {  // one (digest, scanner) as `podgate scans list` shows it
  std::string digest, scanner, scannerVersion;
  std::int64_t scannedAt = 0;
  std::array<int, kSeverityCount> counts{};
  MalwareResult malware = MalwareResult::None;
  std::string artifact;
};

struct StoreStats {
  std::int64_t records = 0;       // (digest, scanner) pairs
  std::int64_t digests = 0;
  std::int64_t oldestScan = 0;    // unix seconds; 0 when empty
  std::int64_t newestScan = 0;
};

class Store {
 public:
  virtual ~Store() = default;
  // Stores all records in one transaction, or none (throws StoreError). For each (digest, scanner)
  // only the latest scan is kept: a record older than or as old as the stored one is skipped and
  // reported as not stored. When put() returns, the records are durable (they survive kill -9).
  virtual std::vector<PutOutcome> put(const std::vector<ScanRecord>& records) = 0;
  // Every scanner's latest record for a digest (empty when never scanned), findings included.
  virtual std::vector<ScanRecord> get(std::string_view digest) = 0;
  // The same, shared and read-only: the admission path's call. The default copies get()'s
  // answer; CachedStore returns its cached vector without copying.
  virtual std::shared_ptr<const std::vector<ScanRecord>> lookup(std::string_view digest) {
    return std::make_shared<const std::vector<ScanRecord>>(get(digest));
  }
  // lookup()'s answer when it is in memory, without blocking: null when answering would take a
  // read of the database (then call lookup(), off any thread that must not wait). A plain store
  // keeps nothing in memory; CachedStore answers from its cache.
  virtual std::shared_ptr<const std::vector<ScanRecord>> lookup_cached(std::string_view digest) {
    (void)digest;
    return nullptr;
  }
  // Summaries, newest scan first.
  virtual std::vector<Summary> list(std::size_t limit, std::size_t offset) = 0;

  // Called with the digest of each record that changed: stored through put() on this store, or
  // (a KubeStore) an ImageScan or Trivy Operator report that appeared, changed or went. The audit
  // re-judges the Pods that run it. Called on the writer's or the reflector's thread, outside the
  // store's locks: it must not block. Set once, before the store is used. A plain store never
  // calls it (records another process writes to its file are not seen).
  using ChangeListener = std::function<void(const std::string& digest)>;
  virtual void set_change_listener(ChangeListener listener) { (void)listener; }
  virtual StoreStats stats() = 0;
};

// What a digest's records cost in a memory cache, estimated from the containers' sizes: the list
// node, the index entry, the shared vector and every string's heap buffer. Close enough to bound
// RSS; exact malloc accounting would cost more than it saves. Every scan cache bounds itself by it.
std::size_t estimated_bytes(std::string_view digest, const std::vector<ScanRecord>& records);

// Opens (creating if needed) a SQLite database at `path`: WAL journal, synchronous=FULL, a busy
// timeout so concurrent importers and readers wait instead of failing, schema versioned through
// PRAGMA user_version with migrations applied in order. Throws StoreError naming the path.
// Safe to use from many threads (each call takes its own connection from a small pool, or
// serialises; readers never block on a writer thanks to WAL).
std::unique_ptr<Store> open_sqlite_store(const std::string& path);

// The admission path's view: the latest records per digest, from memory. A digest not in memory
// is read from the store once and kept (a bounded LRU), so a hot digest never costs disk I/O.
// put() through here updates memory at once; records written to the database by another process
// (`podgate scans import` on the same file) are seen when an entry expires: `ttl` for known
// digests, `negativeTTL` for "never scanned" answers. Memory is bounded by `maxEntries` and by
// `maxBytes` (estimated from the records' sizes; a scan can carry hundreds of findings).
//
// kCacheMaxEntries, the entry bound podgate uses: the byte bound (scans.cacheBytes) is the one that
// matters, as a scan with findings costs KiBs; this one only caps the count of small entries, such
// as "never scanned" answers (about 260 bytes each by the estimate, so 26 MiB at most, under the
// 64 MiB default). It was the cache's only bound before the byte bound came, and
// docs/configuration.md (scans.cacheBytes) promises it: "also at most 100,000 digests".
inline constexpr std::size_t kCacheMaxEntries = 100000;

class CachedStore final : public Store {
 public:
  CachedStore(std::unique_ptr<Store> backend, std::size_t maxEntries = kCacheMaxEntries,
              std::size_t maxBytes = 64u << 20,
              std::chrono::milliseconds ttl = std::chrono::seconds(60),
              std::chrono::milliseconds negativeTTL = std::chrono::seconds(5));
  std::vector<PutOutcome> put(const std::vector<ScanRecord>& records) override;
  std::vector<ScanRecord> get(std::string_view digest) override;
  std::shared_ptr<const std::vector<ScanRecord>> lookup(std::string_view digest) override;
  std::shared_ptr<const std::vector<ScanRecord>> lookup_cached(std::string_view digest) override;
  std::vector<Summary> list(std::size_t limit, std::size_t offset) override;
  StoreStats stats() override;
  void set_change_listener(ChangeListener listener) override;
  std::size_t cached_entries() const;
  std::size_t cached_bytes() const;  // the estimate the byte bound is kept by

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace podgate::scan
