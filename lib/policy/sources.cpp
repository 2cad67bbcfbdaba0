#include "policy/sources.h"

#include "kube/config.h"
#include "scan/kube_store.h"

#include <functional>
#include <future>
#include <mutex>

namespace podgate::policy {

namespace {

std::shared_ptr<registry::Client> registry_client(const config::Config& config, metrics::Metrics* metrics,
                                                  log::Logger* logger) {
  return std::make_shared<registry::Client>(config.registries, registry::client_options(config.rules.images.resolve),
                                            metrics, logger);
}

std::shared_ptr<registry::DigestCache> digest_cache_over(std::shared_ptr<registry::Client> client,
                                                         const config::ResolveSettings& settings, metrics::Metrics* metrics) {
  registry::CacheOptions cache;
  cache.ttl = settings.cacheTTL;
  cache.errorTTL = settings.errorTTL;
  cache.maxEntries = settings.maxEntries;
  // The credential is chosen (the pod's pull secrets first, then the configured files) before
  // the cache is consulted: it is part of the cache key.
  return std::make_shared<registry::DigestCache>(
      [client](const image::Reference& ref, const registry::Keyring* pod) { return client->credential_for(ref, pod); },
      [client](const image::Reference& ref, const std::optional<registry::Credential>& credential,
               std::function<void(registry::Resolution)> done) { client->resolve(ref, credential, std::move(done)); },
      cache, metrics);
}

std::shared_ptr<trust::SignatureVerifier> verifier_over(std::shared_ptr<registry::Client> client,
                                                        const config::ResolveSettings& settings, metrics::Metrics* metrics) {
  trust::VerifierOptions options;
  options.ttl = settings.cacheTTL;
  options.errorTTL = settings.errorTTL;
  options.maxEntries = settings.maxEntries;
  return std::make_shared<trust::SignatureVerifier>(std::move(client), options, metrics);
}

}  // namespace

std::shared_ptr<registry::DigestCache> make_image_resolver(const config::Config& config, metrics::Metrics* metrics,
                                                           log::Logger* logger) {
  if (config.rules.images.action == config::Action::Off) return nullptr;
  return digest_cache_over(registry_client(config, metrics, logger), config.rules.images.resolve, metrics);
}

std::shared_ptr<trust::SignatureVerifier> make_signature_verifier(const config::Config& config, metrics::Metrics* metrics,
                                                                  log::Logger* logger) {
  const auto& images = config.rules.images;
  if (images.action == config::Action::Off || images.signatures.empty()) return nullptr;
  return verifier_over(registry_client(config, metrics, logger), images.resolve, metrics);
}

ImageServices make_image_services(const config::Config& config, metrics::Metrics* metrics, log::Logger* logger) {
  const auto& images = config.rules.images;
  if (images.action == config::Action::Off) return {};
  // One client for both: one connection pool and one bearer-token cache per registry.
  auto client = registry_client(config, metrics, logger);
  ImageServices out;
  out.digests = digest_cache_over(client, images.resolve, metrics);
  if (!images.signatures.empty()) out.signatures = verifier_over(std::move(client), images.resolve, metrics);
  return out;
}

std::shared_ptr<PullSecretCache> make_pull_secret_cache(const config::Config& config, kube::Client* client,
                                                        metrics::Metrics* metrics, log::Logger* logger) {
  const auto& images = config.rules.images;
  if (!client || images.action == config::Action::Off || !images.resolve.pullSecrets) return nullptr;
  PullSecretOptions options;
  options.ttl = images.resolve.pullSecretTTL;
  return std::make_shared<PullSecretCache>(
      [client](std::string_view resource, std::string_view target) { return client->get(resource, target); }, options,
      metrics, logger);
}

ImageResolutions resolve_images(registry::DigestCache* images, const std::vector<image::Reference>& refs,
                                std::chrono::steady_clock::time_point deadline) {
  ImageResolutions out;
  if (!images || refs.empty()) return out;
  struct Shared {
    std::mutex mutex;
    ImageResolutions results;
    std::size_t remaining;
    std::promise<void> all;
  };
  auto shared = std::make_shared<Shared>();
  shared->remaining = refs.size();
  auto finished = shared->all.get_future();
  for (const auto& ref : refs) {
    images->resolve(ref, deadline, [shared, key = ref.canonical()](registry::DigestCache::Result r) {
      std::lock_guard<std::mutex> lock(shared->mutex);
      shared->results[key] = std::move(r);
      if (--shared->remaining == 0) shared->all.set_value();
    });
  }
  finished.wait();
  std::lock_guard<std::mutex> lock(shared->mutex);
  return shared->results;
}

bool needs_cluster(const config::Config& config) {
  return config.scans.store == config::ScanStore::Kubernetes || config.scans.trivyOperator ||
         config.rules.images.resolve.pullSecrets || config.audit.enabled || config.rules.podSecurity.namespaceLabels;
}

std::unique_ptr<kube::Client> make_kube_client(const config::Config& config, const std::string& kubeconfig,
                                               metrics::Metrics* metrics, log::Logger* logger) {
  kube::ConfigSources sources;
  sources.kubeconfigPath = kubeconfig.empty() ? config.kubernetes.kubeconfig : kubeconfig;
  kube::ClientOptions options;
  options.qps = config.kubernetes.qps;
  options.burst = config.kubernetes.burst;
  options.timeout = config.kubernetes.timeout;
  return std::make_unique<kube::Client>(kube::load_cluster_config(sources), options, metrics, logger);
}

std::shared_ptr<scan::Store> open_scan_store(const config::Config& config, kube::Client* cluster) {
  const config::ScansConfig& scans = config.scans;
  const bool kubernetes = scans.store == config::ScanStore::Kubernetes;
  if (!kubernetes && !scans.trivyOperator)
    return std::make_shared<scan::CachedStore>(scan::open_sqlite_store(scans.database), scan::kCacheMaxEntries,
                                               scans.cacheBytes);
  if (!cluster) throw scan::StoreError("the scan cache reads from the cluster, and no Kubernetes client was made");
  scan::KubeStoreOptions options;
  options.limits.findingsFloor = scan::parse_severity(scans.findingsFloor).value_or(scan::Severity::High);
  options.cacheBytes = scans.cacheBytes;
  options.retention = std::chrono::duration_cast<std::chrono::seconds>(scans.retention);
  options.trivyOperator = scans.trivyOperator;
  options.trivyOperatorMaxBytes = scans.cacheBytes;  // the reports get a bound of their own, as large
  if (!kubernetes)
    options.primary = std::make_shared<scan::CachedStore>(scan::open_sqlite_store(scans.database),
                                                          scan::kCacheMaxEntries, scans.cacheBytes);
  return std::make_shared<scan::KubeStore>(*cluster, std::move(options));
}

std::function<std::string()> start_scan_store(const std::shared_ptr<scan::Store>& store) {
  auto kube_store = std::dynamic_pointer_cast<scan::KubeStore>(store);
  if (!kube_store) return nullptr;
  kube_store->start();
  return [kube_store]() -> std::string {
    if (kube_store->synced()) return {};
    const std::string why = kube_store->sync_error();
    return "scan state not synced from the cluster" + (why.empty() ? std::string() : ": " + why);
  };
}

std::shared_ptr<scan::Store> open_scan_cache(const config::Config& config, kube::Client* cluster) {
  if (config.rules.images.scan.action == config::Action::Off) return nullptr;
  auto store = open_scan_store(config, cluster);
  if (start_scan_store(store)) {
    auto kube_store = std::static_pointer_cast<scan::KubeStore>(store);
    if (!kube_store->wait_synced(config.scans.syncTimeout))
      throw scan::StoreError("cannot read the scans from the cluster within scans.syncTimeout: " +
                             kube_store->sync_error());
  }
  return store;
}

ScanLookup lookup_in(const ScanRecordMap& records) {
  return [&records](std::string_view digest) -> std::shared_ptr<const std::vector<scan::ScanRecord>> {
    const auto it = records.find(std::string(digest));
    return it == records.end() ? nullptr : it->second;
  };
}

// The signature lookups of a resolved plan, in parallel, waited for (at most until `deadline`).
void verify_signatures(trust::SignatureVerifier* verifier, ImagePlan& plan, std::chrono::steady_clock::time_point deadline) {
  const auto lookups = plan.signatures_to_verify();
  std::unordered_map<std::string, std::shared_ptr<const trust::SignatureCheck>> answers;
  if (verifier && !lookups.empty()) {
    std::vector<std::future<trust::SignatureVerifier::Result>> waiting;
    for (const auto& lookup : lookups) {
      auto promise = std::make_shared<std::promise<trust::SignatureVerifier::Result>>();
      waiting.push_back(promise->get_future());
      verifier->verify(lookup.image, lookup.digest, lookup.keys, deadline,
                       [promise](trust::SignatureVerifier::Result r) { promise->set_value(std::move(r)); });
    }
    for (std::size_t i = 0; i < lookups.size(); ++i) answers[lookups[i].key] = waiting[i].get();
  }
  if (!lookups.empty()) plan.put_signatures(answers);
}

Verdict judge_blocking(const Evaluator& evaluator, registry::DigestCache* images, scan::Store* scans,
                       const admission::Request& request, Route route, std::chrono::steady_clock::time_point deadline,
                       trust::SignatureVerifier* signatures) {
  ImagePlan plan = evaluator.plan_images(request);
  plan.resolve(resolve_images(images, plan.refs_to_resolve(), deadline));
  verify_signatures(signatures, plan, deadline);
  ScanRecordMap records;
  Facts facts;
  if (scans) {
    for (std::string& digest : plan.digests_to_scan()) {
      auto found = scans->lookup(digest);
      records.emplace(std::move(digest), std::move(found));
    }
    facts.scans = lookup_in(records);
  }
  return evaluator.evaluate(request, route, plan, facts);
}

}  // namespace podgate::policy
