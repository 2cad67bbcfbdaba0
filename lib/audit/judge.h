#pragma once
// One running Pod judged as admission would judge it: the same Evaluator, with the digests the
// kubelet reports for what runs (the registry is asked only for images without one), and the scan
// records of those digests. Plus what admission cannot see: a running digest that differs from
// the one podgate judged at admission (the tag moved between admission and pull).
// Also the owner walk from a Pod to the workload its report is about. Blocking: audit threads and
// the CLI only.

#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "audit/pod_cache.h"
#include "audit/reports.h"
#include "kube/client.h"
#include "policy/admitted.h"
#include "policy/namespace_standards.h"
#include "policy/policy.h"
#include "registry/digest_cache.h"
#include "scan/store.h"

namespace podgate::audit {

// The rule name of the drift finding (a ReportResult and metric label beside the policy rules').
inline constexpr std::string_view kRuleImageDrift = "imageDrift";

struct PodFindings {
  std::string key;  // "namespace/name"
  std::string uid;
  std::string verdict;  // pass | warn | fail (fail: enforcement would deny it)
  std::vector<ReportResult> results;  // violations (fail, warn) and one pass per rule judged clean
  std::vector<std::string> digests;   // every digest the judgement rested on (the scan step's)
  std::vector<std::string> scans;     // each judged image's scan verdict (clean, malicious, ...)
  std::vector<std::pair<std::string, std::string>> violations;  // (rule, action) of each violation
};

struct JudgeInputs {
  const policy::Evaluator* evaluator = nullptr;
  registry::DigestCache* images = nullptr;        // null: images without a running digest fail to resolve
  scan::Store* scans = nullptr;                   // null: no scan records
  const policy::AdmissionLedger* ledger = nullptr;  // null: no drift check
  trust::SignatureVerifier* signatures = nullptr;   // null: the signature rule stays silent
  // The namespaces' PSA labels (rules.podSecurity.namespaceLabels), as admission reads them; null:
  // the configured level alone.
  const policy::NamespaceStandardsCache* namespaces = nullptr;
  std::chrono::milliseconds resolveTimeout{10000};
};

// A workload's results from its Pods' findings: identical results (but for the Pod) once, with a
// "pods" property counting them; failures first, then warnings, then passes.
std::vector<ReportResult> aggregate_results(const std::vector<const PodFindings*>& pods);
// The worst verdict among results: fail (a fail or error), warn, or pass.
std::string verdict_of(const std::vector<ReportResult>& results);

// Never throws for anything a Pod holds: a projection that does not decode is judged as an error
// result (rule "audit").
PodFindings judge_pod(const JudgeInputs& inputs, const PodProjection& pod, std::int64_t now);

// Pod -> controller -> its controller, as far as the reports go: a ReplicaSet to its Deployment,
// a Job to its CronJob; anything else stays as the Pod's controller; a Pod without one is its
// own workload. The intermediate objects are read (GET) once and kept (bounded, 10 min).
class OwnerResolver {
 public:
  explicit OwnerResolver(kube::Client* client, std::size_t maxEntries = 10000);
  WorkloadRef resolve(const PodProjection& pod);

 private:
  struct Entry {
    OwnerRef owner;  // the intermediate's own controller (empty kind: none)
    std::chrono::steady_clock::time_point expires;
  };
  OwnerRef controller_of(const std::string& namespace_, const OwnerRef& child);
  kube::Client* client_;
  std::size_t maxEntries_;
  std::mutex mutex_;
  std::unordered_map<std::string, Entry> cache_;  // by the intermediate's uid
};

}  // namespace podgate::audit
