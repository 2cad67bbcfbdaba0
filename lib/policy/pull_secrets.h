#pragma once
// A pod's own image pull credentials, read from the cluster: the Secrets its imagePullSecrets
// name (for a workload template with none, those of its ServiceAccount, as the ServiceAccount
// admission plugin will copy them into its Pods), decoded into a registry::Keyring the registry
// client tries before the configured credential files. See docs/architecture.md "Pull secrets"
// and /work/shared/reference/pull-secrets.md for what the kubelet does.
//
// Reads block (kube::Client::get): call keyring() only off the admission worker threads (the
// Reviewer does it on its pull-secret thread); cached() never does I/O.
//
// Security: only the request's own namespace is read; names are checked to be Kubernetes object
// names before they go into a URL; decoded credentials live in memory only, for `ttl`; logs and
// errors name namespace/name and the result, never a Secret's data.

#include <chrono>
#include <cstddef>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "admission/admission.h"
#include "kube/client.h"
#include "log/log.h"
#include "metrics/metrics.h"
#include "registry/credentials.h"

namespace podgate::policy {

// How the cache reads the apiserver: GET `target`, `resource` being the plural for metrics
// ("secrets", "serviceaccounts"). kube::Client::get in production; unit tests pass a fake.
using KubeGet = std::function<kube::Response(std::string_view resource, std::string_view target)>;

struct PullSecretOptions {
  std::chrono::milliseconds ttl{60000};  // every answer (found, missing, refused, failed) is kept this long
  std::size_t maxBytes = 16u << 20;      // decoded Secret data and names held, all entries together
  std::size_t maxEntries = 10000;        // Secrets and ServiceAccounts held
  std::size_t maxNamesPerRequest = 32;   // Secrets read for one request; the rest are not used
};

// The pull secrets one request's pods will pull with, as far as the request tells.
struct PullSecretRefs {
  std::string namespace_;
  std::vector<std::string> secrets;  // imagePullSecrets names, in order, without duplicates
  // When `secrets` is empty, read this ServiceAccount's imagePullSecrets instead ("": do not).
  // Set for workload templates only: a Pod's list already holds its ServiceAccount's (the
  // ServiceAccount admission plugin ran before any validating webhook).
  std::string serviceAccount;
  bool empty() const { return namespace_.empty() || (secrets.empty() && serviceAccount.empty()); }
};

// What request.object's pod spec names: a Pod ("spec") its imagePullSecrets as given; a template
// its own list, else ServiceAccount template.spec.serviceAccountName (or "default"). Empty for a
// request without a namespace or a pod spec.
PullSecretRefs pull_secret_refs(const admission::Request& request);

class PullSecretCache {
 public:
  // metrics and logger may be null.
  PullSecretCache(KubeGet get, PullSecretOptions options, metrics::Metrics* metrics, log::Logger* logger);
  PullSecretCache(const PullSecretCache&) = delete;
  PullSecretCache& operator=(const PullSecretCache&) = delete;

  using Clock = std::chrono::steady_clock;

  // The credentials of the Secrets `refs` leads to, in order (earlier Secrets first among equally
  // specific keys), reading what the cache does not hold fresh. A Secret that is missing, of
  // another type, refused (403) or unreadable is left out: counted, logged once per TTL, and not
  // read again before its TTL ends. No reads start after `deadline`. Null when no Secret gave a
  // credential. Never throws for anything the apiserver answers.
  std::shared_ptr<const registry::Keyring> keyring(const PullSecretRefs& refs, Clock::time_point deadline = Clock::time_point::max());
  std::shared_ptr<const registry::Keyring> keyring(std::string_view namespace_, const std::vector<std::string>& secrets,
                                                   std::string_view serviceAccount);

  // The same from memory alone: the keyring (possibly null) when every entry it needs is cached
  // and fresh; nullopt when a read is needed (then call keyring() off the worker thread).
  std::optional<std::shared_ptr<const registry::Keyring>> cached(const PullSecretRefs& refs);

  std::size_t size() const;
  std::size_t bytes() const;

 private:
  struct Entry {
    std::string key;
    Clock::time_point expires;
    std::size_t bytes = 0;
    std::shared_ptr<const registry::Keyring> keyring;  // a Secret that gave credentials
    std::vector<std::string> names;                    // a ServiceAccount's imagePullSecrets
  };
  using Found = std::optional<std::shared_ptr<const Entry>>;

  std::shared_ptr<const Entry> lookup(const std::string& key);  // fresh entry or null
  void store(std::shared_ptr<Entry> entry);
  std::shared_ptr<const Entry> read_secret(const std::string& ns, const std::string& name);
  std::shared_ptr<const Entry> read_service_account(const std::string& ns, const std::string& name);
  std::vector<std::string> secret_names(const PullSecretRefs& refs, const Entry* serviceAccount) const;
  static std::shared_ptr<const registry::Keyring> combine(const std::vector<std::shared_ptr<const Entry>>& secrets);
  void count(std::string_view result);
  void report(std::string_view what, const std::string& ns, const std::string& name, std::string_view result,
              const std::string& why);

  KubeGet get_;
  PullSecretOptions options_;
  metrics::Metrics* metrics_;
  log::Logger* logger_;

  mutable std::mutex mutex_;  // guards the LRU
  std::list<std::shared_ptr<const Entry>> lru_;  // front: most recently used
  std::unordered_map<std::string, std::list<std::shared_ptr<const Entry>>::iterator> index_;
  std::size_t bytes_ = 0;
};

}  // namespace podgate::policy
