#pragma once
// The digests that should be scanned and are not: those that run (the Pod cache) or were admitted
// (the admission ledger) with no scan newer than the scan rule's maxScanAge. Served by
// GET /v1/scans/wanted and `podgate scans wanted`, and read by the chart's scanner CronJob.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
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

// A digest that runs, as the Pods report it: the input of wanted_images, as plain data.
struct RunningImage {
  std::string digest;       // "sha256:..." (a ContainerStatus digest)
  std::string reference;    // "registry/repository@sha256:..."
  std::int64_t since = 0;   // the earliest creationTimestamp of the Pods that run it (unix seconds)
  std::size_t pods = 0;     // how many Pods run it
};

// One entry per digest the Pods' statuses report, ordered by digest. The repository comes from the
// status image, or from the spec image (in `object`) when the status image is empty or names no
// repository (a bare "sha256:..." image ID); a digest none of whose containers names a repository
// is left out, since a scanner could not pull it.
std::vector<RunningImage> running_images(const std::vector<std::shared_ptr<const PodProjection>>& pods);
// The same over every cached Pod (snapshot()). In wanted_pods.cpp, apart from the data functions,
// so what links only those does not need the Pod cache.
std::vector<RunningImage> running_images(const PodCache& pods);

// Oldest `since` first, at most `limit`: the digests that run or were admitted and have no scan
// `maxAge` old or younger at `now` (unix seconds), as the scan rule counts freshness. A digest both
// running and admitted is one entry (the earlier `since`, the running reference). An admitted
// digest with no reference is left out. Throws what store.lookup() throws (scan::StoreError).
std::vector<WantedImage> wanted_images(const std::vector<RunningImage>& running,
                                       const std::vector<policy::AdmittedDigest>& admitted, scan::Store& store,
                                       std::chrono::milliseconds maxAge, std::int64_t now, std::size_t limit);
// The same from the Pod cache and the admission ledger (either may be null). In wanted_pods.cpp.
std::vector<WantedImage> wanted_images(const PodCache* pods, const policy::AdmissionLedger* ledger, scan::Store& store,
                                       std::chrono::milliseconds maxAge, std::int64_t now, std::size_t limit);

// {"apiVersion":"podgate.io/v1alpha1","kind":"WantedScans","items":[{digest, reference, since
// (RFC 3339), scannedAt (RFC 3339 or null), running, pods}]}
std::string wanted_json(const std::vector<WantedImage>& wanted);

}  // namespace podgate::audit
