#pragma once
// The scan cache shared by every replica: ImageScan objects (lib/scan/imagescan.h) in the
// apiserver, list-watched into memory by each replica. Writes are server-side applies (one field
// manager per scanner, so two scanners reporting on one digest merge); reads are answered from
// memory. Optionally, Trivy Operator's VulnerabilityReports are read as scans too, also in front of
// another store (KubeStoreOptions::primary) when the scans themselves stay in SQLite.

#include <chrono>
#include <memory>
#include <string>

#include "kube/client.h"
#include "scan/imagescan.h"
#include "scan/store.h"

namespace podgate::scan {

struct KubeStoreOptions {
  ImageScanLimits limits;                              // what an ImageScan carries
  std::size_t cacheBytes = 64u << 20;                  // records held in memory (estimated_bytes)
  std::chrono::seconds retention{30 * 24 * 3600};      // ImageScans whose newest scan is older are deleted
  std::chrono::seconds retentionInterval{600};         // how often a replica looks for them
  bool trivyOperator = false;                          // also watch (Cluster)VulnerabilityReports
  // A report the operator deleted (its TTL rescan) keeps counting this long, so the gap before
  // the new report is not "unscanned".
  std::chrono::seconds trivyOperatorGrace{3600};
  // Reports held (one per workload container), bounded in count and in estimated bytes; each
  // keeps only the findings at or above limits.findingsFloor, as an ImageScan does. A report past
  // either bound is not held (counted as over_bound): its image stays unscanned, never clean.
  std::size_t trivyOperatorMaxReports = 50000;
  std::size_t trivyOperatorMaxBytes = 64u << 20;
  // Set: scans are stored there (the SQLite store of one replica), not as ImageScans, and this
  // store only adds Trivy Operator's reports to its answers.
  std::shared_ptr<Store> primary;
};

class KubeStore final : public Store {
 public:
  // `client` must outlive the store. Nothing is read until start().
  KubeStore(kube::Client& client, KubeStoreOptions options);
  ~KubeStore() override;

  // Starts the list-watches and the retention loop.
  void start();
  void stop();
  // Every watched collection has been listed once: until then the store cannot tell "never
  // scanned" from "not read yet", and /readyz says 503.
  bool synced() const;
  bool wait_synced(std::chrono::milliseconds timeout) const;
  // Why the store is not synced or not watching now ("" when it is), for logs and /readyz.
  std::string sync_error() const;

  // One server-side apply per record (after skipping a record no newer than the one held); the
  // memory cache is updated at once, other replicas see it through their watch. Throws StoreError
  // when the apiserver refuses or cannot be reached: nothing is half-stored silently, the caller
  // (an importer) retries.
  std::vector<PutOutcome> put(const std::vector<ScanRecord>& records) override;
  std::vector<ScanRecord> get(std::string_view digest) override;
  // From memory; a digest known to exist but evicted by the byte bound is read from the apiserver.
  std::shared_ptr<const std::vector<ScanRecord>> lookup(std::string_view digest) override;
  // From memory without blocking: null only for a digest that exists but was evicted, or before
  // the first sync.
  std::shared_ptr<const std::vector<ScanRecord>> lookup_cached(std::string_view digest) override;
  std::vector<Summary> list(std::size_t limit, std::size_t offset) override;
  StoreStats stats() override;
  // Also set on the primary store, whose puts it forwards.
  void set_change_listener(ChangeListener listener) override;

  // Deletes the ImageScans whose newest scan is older than the retention (what the loop runs);
  // returns how many were deleted. Any replica may run it: a delete of a gone object is fine, and
  // a precondition on resourceVersion keeps an object updated meanwhile.
  std::size_t delete_expired();
  std::size_t cached_bytes() const;
  std::size_t imagescan_bytes() const;  // the objects' JSON bytes, as the apiserver holds them

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace podgate::scan
