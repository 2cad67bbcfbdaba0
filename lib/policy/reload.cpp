// Reviewer::reload: which config changes a running server can take (rules, mode, exemptions,
// registries) and which need a restart (server.*, scans.*, audit.*, kubernetes.*).

#include <stdexcept>

#include "policy/review.h"

namespace podgate::policy {

ReloadResult Reviewer::reload(config::Config config) {
  std::shared_ptr<const Evaluator> current;
  bool scanStoreOpen = false;
  bool pullSecretsReadable = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    current = evaluator_;
    scanStoreOpen = scans_ != nullptr;
    pullSecretsReadable = pullSecrets_ != nullptr;
  }
  const config::Config& old = current->config();
  config.server = old.server;  // server settings keep their start-up values, flags included
  // The scan cache is opened at start; a reload cannot move it or open it.
  if (config.scans != old.scans) throw std::runtime_error("scans.* changed; restart podgate to apply it");
  // The audit (its Pod cache, Lease and client) and the Kubernetes client are built at start too.
  if (config.audit != old.audit) throw std::runtime_error("audit.* changed; restart podgate to apply it");
  if (config.kubernetes != old.kubernetes) throw std::runtime_error("kubernetes.* changed; restart podgate to apply it");
  if (config.rules.images.scan.action != config::Action::Off && !scanStoreOpen)
    throw std::runtime_error("rules.images.scan turned on; restart podgate so it opens the scan cache");
  // The pull secret cache (and its apiserver client) is built at start; turning the key off
  // applies at once, turning it on or changing pullSecretTTL needs a restart.
  if (config.rules.images.resolve.pullSecrets && !pullSecretsReadable)
    throw std::runtime_error("rules.images.resolve.pullSecrets turned on; restart podgate so it reads pull secrets from the cluster");
  // The namespace watch is started at start only; turning the key off applies at once.
  if (config.rules.podSecurity.namespaceLabels && !namespaceStandards_)
    throw std::runtime_error(
        "rules.podSecurity.namespaceLabels turned on; restart podgate so it watches the cluster's namespaces");

  ReloadResult result;
  result.mode = config.mode;
  // A new resolver (and an empty digest cache) only when how registries are reached changed.
  // The signature verifier likewise, over the same client (its answers are keyed by the keys, so
  // new keys need none).
  std::shared_ptr<registry::DigestCache> images;
  std::shared_ptr<trust::SignatureVerifier> verifier;
  if (config.registries != old.registries || config.rules.images.resolve != old.rules.images.resolve ||
      (old.rules.images.action == config::Action::Off && config.rules.images.action != config::Action::Off)) {
    auto services = make_image_services(config, metrics_, logger_);
    images = std::move(services.digests);
    verifier = std::move(services.signatures);
  }
  result.newResolver = images != nullptr;
  bool haveVerifier = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    haveVerifier = signatures_ != nullptr;
  }
  if (!verifier && !config.rules.images.signatures.empty() && !haveVerifier)
    verifier = make_signature_verifier(config, metrics_, logger_);
  auto evaluator = std::make_shared<const Evaluator>(std::move(config));  // throws on an unusable key: nothing changes
  if (verifier) set_signature_verifier(std::move(verifier));
  replace(std::move(evaluator), std::move(images));
  return result;
}

}  // namespace podgate::policy
