#pragma once
// The digests that should be scanned and are not: those that run (the Pod cache) or were admitted
// (the admission ledger) with no scan newer than the scan rule's maxScanAge. Served by
// GET /v1/scans/wanted and `podgate scans wanted`, and read by the chart's scanner CronJob.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "audit/pod_cache.h"
#include "policy/admitted.h"
#include "scan/store.h"

namespace podgate::audit {

struct WantedImage {
  std::string digest;        // "sha256:..."
  std::string reference;     // "registry/repository@sha256:...": what a scanner pulls
  std::int64_t since = 0;    // unix seconds: when it was first seen running or admitted
  std::int64_t scannedAt = 0;  // the newest scan of it (0: never scanned)
  bool running = false;        // a cached Pod runs it now
  std::size_t pods = 0;        // how many cached Pods run it
};

// Oldest `since` first, at most `limit`. `pods` and `ledger` may be null. A digest counts as
// scanned when any scanner's record is newer than `maxAge` before `now` (unix seconds).
std::vector<WantedImage> wanted_images(const PodCache* pods, const policy::AdmissionLedger* ledger, scan::Store& store,
                                       std::chrono::milliseconds maxAge, std::int64_t now, std::size_t limit);

// {"apiVersion":"podgate.io/v1alpha1","kind":"WantedScans","items":[{digest, reference, since
// (RFC 3339), scannedAt (RFC 3339 or null), running, pods}]}
std::string wanted_json(const std::vector<WantedImage>& wanted);

}  // namespace podgate::audit
