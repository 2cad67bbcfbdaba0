// wanted.h's functions over the Pod cache and the admission ledger themselves. Apart from
// wanted.cpp so that what links only the data functions (their tests, the CLI) needs neither.

#include "audit/wanted.h"

namespace podgate::audit {

std::vector<RunningImage> running_images(const PodCache& pods) { return running_images(pods.snapshot()); }

std::vector<WantedImage> wanted_images(const PodCache* pods, const policy::AdmissionLedger* ledger, scan::Store& store,
                                       std::chrono::milliseconds maxAge, std::int64_t now, std::size_t limit) {
  return wanted_images(pods ? running_images(*pods) : std::vector<RunningImage>{},
                       ledger ? ledger->digests() : std::vector<policy::AdmittedDigest>{}, store, maxAge, now, limit);
}

}  // namespace podgate::audit
