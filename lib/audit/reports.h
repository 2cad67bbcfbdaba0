#pragma once
// PolicyReports: what the audit found about each workload, in the format Policy Reporter and
// Kyverno's tooling read (wgpolicyk8s.io/v1alpha2 PolicyReport, or openreports.io/v1alpha1 Report).
// One report per workload, named "podgate-<workload uid>", scoped to the workload, owned by it (so
// the garbage collector removes it with the workload), labelled app.kubernetes.io/managed-by=podgate,
// written with server-side apply. See /work/shared/reference/policy-reports.md.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "config/config.h"
#include "kube/client.h"
#include "log/log.h"
#include "metrics/metrics.h"

namespace podgate::audit {

// The workload a report is about: a Pod's controller resolved up through a ReplicaSet to its
// Deployment and a Job to its CronJob, or the Pod itself when it has no controller.
struct WorkloadRef {
  std::string apiVersion;  // "apps/v1"
  std::string kind;        // "Deployment"
  std::string namespace_;
  std::string name;
  std::string uid;
  bool operator==(const WorkloadRef&) const = default;
};

// One result: a rule about one container (or the pod: container "").
struct ReportResult {
  std::string rule;       // privileged | runtimeSockets | images | scan | imageDrift (result.rule)
  std::string container;  // container name; "" for a pod-level result
  std::string result;     // pass | fail | warn | error | skip
  std::string severity;   // critical | high | medium | low | info ("" = none)
  std::string category;   // "podgate images", ...
  std::string message;    // result.message; at most 1 KiB kept
  std::vector<std::pair<std::string, std::string>> properties;  // image, digest, scan, pods, ...
  std::int64_t timestamp = 0;  // unix seconds (written as {seconds, nanos})
  bool operator==(const ReportResult&) const = default;
};

// A report holds at most this many results (a report is one etcd object: it must stay well under
// 1.5 MiB); the summary still counts every result, and a last result says how many were left out.
inline constexpr std::size_t kMaxReportResults = 500;

// The report's object name for a workload: "podgate-" + uid.
std::string report_name(const WorkloadRef& workload);

// `text` as valid UTF-8 (a byte that starts no valid sequence becomes U+FFFD) of at most `maxBytes`
// bytes (maxBytes >= 3): a longer text is cut on a character boundary and ends in "...". For
// report messages and Event notes, whose bounds the apiserver enforces (or a reader expects).
std::string bounded_text(std::string_view text, std::size_t maxBytes);

// The report object (JSON) for `group` (WgPolicy or OpenReports): apiVersion, kind, metadata (name,
// namespace, the managed-by label, an ownerReference to the workload), scope, summary (consistent
// with results), results in the given order (capped at kMaxReportResults), and for OpenReports
// `source: podgate`. Every string is escaped; nothing from the cluster is trusted as JSON.
std::string report_json(config::AuditReports group, const WorkloadRef& workload, const std::vector<ReportResult>& results);

// Writes reports through the Kubernetes client. Thread-safe. Blocking (call it off admission threads).
class ReportWriter {
 public:
  // metrics (podgate_audit_reports_total) and logger may be null. `fieldManager` is the apply
  // field manager ("podgate-audit").
  ReportWriter(kube::Client& client, config::AuditReports group, metrics::Metrics* metrics, log::Logger* logger,
               std::string fieldManager = "podgate-audit");

  // Whether the group/version is served (GET /apis, re-asked at most every `recheck`; a missing
  // group is logged once, with the CRD to install, until it appears). False for AuditReports::None.
  bool available(std::chrono::seconds recheck = std::chrono::seconds(60));

  // Applies the workload's report, unless the same results (timestamps aside) were the last
  // written for it. Returns false on an error (logged, counted); the next write tries again.
  bool write(const WorkloadRef& workload, const std::vector<ReportResult>& results);
  // Deletes the workload's report (404 counts as done).
  bool remove(const WorkloadRef& workload);
  // Lists podgate's reports (the managed-by label, every namespace, paged) and deletes those whose
  // workload uid is not in `live`: reports of workloads that went while podgate was not watching.
  // Returns how many were deleted.
  std::size_t collect_garbage(const std::unordered_set<std::string>& liveWorkloadUids);
  // Forgets what was written (a new leader must write everything again once).
  void forget();

 private:
  struct ListedReport {
    std::string namespace_, name, uid;
  };
  std::string collection_path(std::string_view namespace_) const;  // ".../namespaces/NS/policyreports"
  std::string object_path(std::string_view namespace_, std::string_view name) const;
  void count(std::string_view operation, bool ok);
  void note_served(bool served);  // with mutex_ held
  bool delete_report(const std::string& namespace_, const std::string& name);
  bool list_reports(std::vector<ListedReport>& out);
  kube::Client& client_;
  config::AuditReports group_;
  metrics::Metrics* metrics_;
  log::Logger* logger_;
  std::string fieldManager_;
  std::mutex mutex_;  // guards the fields below
  std::unordered_map<std::string, std::size_t> written_;  // workload uid -> hash of the results last written
  std::chrono::steady_clock::time_point checkedAt_{};
  bool served_ = false;
  bool checked_ = false;
  bool warnedMissing_ = false;
};

}  // namespace podgate::audit
