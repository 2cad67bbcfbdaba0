#pragma once
// The continuous audit: what runs, judged whenever the facts change. Every replica list-watches
// the Pods (the cache behind /v1/scans/wanted and a warm standby); the replica holding the Lease
// judges them and writes PolicyReports, Events and the running-Pod metrics:
// - a Pod added or changed (a new imageID): that Pod, at once;
// - a scan verdict changed for a digest (an import, an ImageScan, a Trivy Operator report): the
//   Pods that run it, at once;
// - the rules changed (rules_changed()), or leadership was just won: a full pass;
// - every audit.interval: a full pass, paced at audit.podsPerSecond.
// docs/operations.md "What runs" is the user's account of it.

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "audit/pod_cache.h"
#include "config/config.h"
#include "kube/client.h"
#include "log/log.h"
#include "metrics/metrics.h"
#include "policy/admitted.h"
#include "policy/namespace_standards.h"
#include "policy/policy.h"
#include "registry/digest_cache.h"
#include "scan/store.h"

namespace podgate::audit {

// Where the audit takes the rules and facts from: the ones admission uses right now (they change
// on reload), so both judge alike.
struct AuditSources {
  std::function<std::shared_ptr<const policy::Evaluator>()> evaluator;
  std::function<std::shared_ptr<registry::DigestCache>()> images;  // may return null
  std::shared_ptr<scan::Store> scans;                              // may be null (scan rule off)
  std::shared_ptr<policy::AdmissionLedger> ledger;                 // may be null
  std::function<std::shared_ptr<trust::SignatureVerifier>()> signatures;  // may be null or return null
  std::shared_ptr<const policy::NamespaceStandardsCache> namespaces;      // may be null (namespaceLabels off)
};

class Auditor {
 public:
  // `client` must outlive the Auditor. metrics and logger may be null.
  Auditor(kube::Client& client, config::AuditConfig config, std::vector<std::string> skipNamespaces, AuditSources sources,
          metrics::Metrics* metrics, log::Logger* logger);
  ~Auditor();  // stops
  Auditor(const Auditor&) = delete;
  Auditor& operator=(const Auditor&) = delete;

  void start();  // the Pod reflector, the leader election and the worker
  void stop();   // releases the Lease; writes nothing more

  // A scan verdict changed for `digest` (Store::ChangeListener): re-judge the Pods that run it.
  void verdict_changed(const std::string& digest);
  // The rules changed (a reload): a full pass.
  void rules_changed();

  const PodCache& pods() const;
  // The Pod cache's first list is in. Not part of /readyz: admission does not need the audit, and
  // a replica that cannot list Pods must still judge reviews.
  bool synced() const;
  bool is_leader() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace podgate::audit
