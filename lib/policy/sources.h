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
#include "kube/client.h"
#include "log/log.h"
#include "metrics/metrics.h"
#include "kube/client.h"
#include "policy/policy.h"
#include "policy/pull_secrets.h"
#include "registry/digest_cache.h"
#include "scan/store.h"
#include "trust/verifier.h"

namespace podgate::policy {

// The image resolver for the image rules: the registry client behind the digest cache, built from
// a config's registries and rules.images.resolve. Null when the image rules are off.
std::shared_ptr<registry::DigestCache> make_image_resolver(const config::Config& config, metrics::Metrics* metrics,
                                                           log::Logger* logger);

// The signature verifier for rules.images.signatures (a registry client of its own, the same
// registries and resolve settings; answers live resolve.cacheTTL, failures errorTTL). Null when
// the image rules are off or no signature entry is configured.
std::shared_ptr<trust::SignatureVerifier> make_signature_verifier(const config::Config& config, metrics::Metrics* metrics,
                                                                  log::Logger* logger);

// Both of the above over one registry client (one connection pool and bearer-token cache per
// registry): what the server and the CLI use. Each member null as its function would return.
struct ImageServices {
  std::shared_ptr<registry::DigestCache> digests;
  std::shared_ptr<trust::SignatureVerifier> signatures;
};
ImageServices make_image_services(const config::Config& config, metrics::Metrics* metrics, log::Logger* logger);

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

// Whether a config needs the Kubernetes API: scans.store kubernetes, scans.sources.trivyOperator,
// rules.images.resolve.pullSecrets, audit.enabled or rules.podSecurity.namespaceLabels.
bool needs_cluster(const config::Config& config);

// The Kubernetes client for a config (kubernetes.*; `kubeconfig`, the --kubeconfig flag, wins
// over kubernetes.kubeconfig when not empty). Throws kube::ConfigError saying where it looked.
std::unique_ptr<kube::Client> make_kube_client(const config::Config& config, const std::string& kubeconfig,
                                               metrics::Metrics* metrics, log::Logger* logger);

// The scan cache a config names, not yet started:
// - scans.store sqlite: a CachedStore over the SQLite database (at most scan::kCacheMaxEntries
//   digests and scans.cacheBytes);
// - scans.store kubernetes: a scan::KubeStore of ImageScans through `cluster`;
// - with scans.sources.trivyOperator, a KubeStore that adds the operator's reports in front of
//   the SQLite one.
// A KubeStore must be started (start_scan_store) before it answers. `cluster` may be null only when
// the config does not need it. Throws scan::StoreError when the database cannot be opened.
std::shared_ptr<scan::Store> open_scan_store(const config::Config& config, kube::Client* cluster);

// Starts what open_scan_store opened when it reads from the cluster; returns the readiness check
// for /readyz ("" when synced, else why not), or null for a store that needs no sync.
std::function<std::string()> start_scan_store(const std::shared_ptr<scan::Store>& store);

// The scan cache for the CLI, when the scan rule is on (so `podgate review` and `podgate check`
// judge as the server would); null otherwise. A store read from the cluster is started and
// waited for (scans.syncTimeout); throws scan::StoreError when the database cannot be opened or
// the cluster's scans cannot be read in time.
std::shared_ptr<scan::Store> open_scan_cache(const config::Config& config, kube::Client* cluster);

// Scan records read ahead of judging, by digest, and the ScanLookup that answers from them alone
// (a digest not in the map was never scanned).
using ScanRecordMap = std::unordered_map<std::string, std::shared_ptr<const std::vector<scan::ScanRecord>>>;
ScanLookup lookup_in(const ScanRecordMap& records);

// Judges one decoded request as the server would, waiting for the answers (the CLI's way:
// `podgate check`): the images planned once, resolved through `images` (null: none resolves), the
// scan records of their digests read from `scans` (null: none), the signatures rules.images.signatures
// asks for looked up through `signatures` (null: each counts as a failed lookup), then evaluated.
// The server's Reviewer takes the same steps without blocking its threads.
Verdict judge_blocking(const Evaluator& evaluator, registry::DigestCache* images, scan::Store* scans,
                       const admission::Request& request, Route route, std::chrono::steady_clock::time_point deadline,
                       trust::SignatureVerifier* signatures = nullptr);

// The signature lookups of a resolved plan through `verifier`, waited for (at most until
// `deadline`) and put into the plan.
void verify_signatures(trust::SignatureVerifier* verifier, ImagePlan& plan, std::chrono::steady_clock::time_point deadline);

}  // namespace podgate::policy
