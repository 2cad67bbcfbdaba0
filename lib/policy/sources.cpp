#include "policy/sources.h"

#include <functional>
#include <future>
#include <mutex>

namespace podgate::policy {

std::shared_ptr<registry::DigestCache> make_image_resolver(const config::Config& config, metrics::Metrics* metrics,
                                                           log::Logger* logger) {
  if (config.rules.images.action == config::Action::Off) return nullptr;
  const auto& settings = config.rules.images.resolve;
  auto client =
      std::make_shared<registry::Client>(config.registries, registry::client_options(settings), metrics, logger);
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

std::shared_ptr<scan::Store> open_scan_store(const config::ScansConfig& scans) {
  return std::make_shared<scan::CachedStore>(scan::open_sqlite_store(scans.database), scan::kCacheMaxEntries,
                                             scans.cacheBytes);
}

std::shared_ptr<scan::Store> open_scan_cache(const config::Config& config) {
  if (config.rules.images.scan.action == config::Action::Off) return nullptr;
  return open_scan_store(config.scans);
}

ScanLookup lookup_in(const ScanRecordMap& records) {
  return [&records](std::string_view digest) -> std::shared_ptr<const std::vector<scan::ScanRecord>> {
    const auto it = records.find(std::string(digest));
    return it == records.end() ? nullptr : it->second;
  };
}

Verdict judge_blocking(const Evaluator& evaluator, registry::DigestCache* images, scan::Store* scans,
                       const admission::Request& request, Route route, std::chrono::steady_clock::time_point deadline) {
  ImagePlan plan = evaluator.plan_images(request);
  plan.resolve(resolve_images(images, plan.refs_to_resolve(), deadline));
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
