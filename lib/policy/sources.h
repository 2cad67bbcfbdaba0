#pragma once
// Where the review pipeline's facts come from, built from a config: the image resolver (the
// registry client behind the digest cache) and the scan cache. Shared by the server and the CLI
// so both judge with the same settings.

#include <chrono>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "admission/admission.h"
#include "config/config.h"
#include "image/reference.h"
#include "log/log.h"
#include "metrics/metrics.h"
#include "kube/client.h"
#include "policy/policy.h"
#include "policy/pull_secrets.h"
#include "registry/digest_cache.h"
#include "scan/store.h"

namespace podgate::policy {

// The image resolver for the image rules: the registry client behind the digest cache, built from
// a config's registries and rules.images.resolve. Null when the image rules are off.
std::shared_ptr<registry::DigestCache> make_image_resolver(const config::Config& config, metrics::Metrics* metrics,
                                                           log::Logger* logger);

// The cache of pods' pull secrets for the Reviewer, reading through `client` (client->get):
// null when rules.images.resolve.pullSecrets is off, the image rules are off, or there is no
// client. TTL rules.images.resolve.pullSecretTTL; bounds as PullSecretOptions' defaults (16 MiB,
// 10000 entries, 32 Secrets per request). `client` must outlive the cache.
std::shared_ptr<PullSecretCache> make_pull_secret_cache(const config::Config& config, kube::Client* client,
                                                        metrics::Metrics* metrics, log::Logger* logger);

// Resolves `refs` in parallel and waits for all of them (at most until `deadline`). With a null
// `images` nothing is resolved (each image then counts as a failed resolution). For the CLI.
ImageResolutions resolve_images(registry::DigestCache* images, const std::vector<image::Reference>& refs,
                                std::chrono::steady_clock::time_point deadline);

// The scan cache over the database `scans` names: a CachedStore of at most scan::kCacheMaxEntries
// digests and scans.cacheBytes. For the server (which opens it for the scan rule or the import
// API) and open_scan_cache. Throws scan::StoreError when the database cannot be opened.
std::shared_ptr<scan::Store> open_scan_store(const config::ScansConfig& scans);

// The scan cache for the CLI: the database the config names, when the scan rule is on (so
// `podgate review` and `podgate check` judge as the server would); null otherwise. Throws
// scan::StoreError when the database cannot be opened.
std::shared_ptr<scan::Store> open_scan_cache(const config::Config& config);

// Scan records read ahead of judging, by digest, and the ScanLookup that answers from them alone
// (a digest not in the map was never scanned).
using ScanRecordMap = std::unordered_map<std::string, std::shared_ptr<const std::vector<scan::ScanRecord>>>;
ScanLookup lookup_in(const ScanRecordMap& records);

// Judges one decoded request as the server would, waiting for the answers (the CLI's way:
// `podgate check`): the images planned once, resolved through `images` (null: none resolves), the
// scan records of their digests read from `scans` (null: none), then evaluated. The server's
// Reviewer takes the same steps without blocking its threads.
Verdict judge_blocking(const Evaluator& evaluator, registry::DigestCache* images, scan::Store* scans,
                       const admission::Request& request, Route route, std::chrono::steady_clock::time_point deadline);

}  // namespace podgate::policy
