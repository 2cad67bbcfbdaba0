#pragma once
// Internal to lib/metrics: the registry and every metric family podgate exports, with the known
// label values created at zero (metrics.cpp records into them). Split from the recording calls
// because the families alone are most of the code.

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

#include "metrics/process.h"
#include "version.h"

namespace podgate::metrics {

namespace detail {

// Family::Add takes a lock and compares label maps; the hot path instead looks the metric up by a
// joined key. Each thread first asks its own memo (no lock, no cache line shared with the other
// workers: a shared lock's counter alone bounced between cores on every request), then the
// shared map under a shared lock; only the first use of a label set pays for Add.
template <typename Metric>
class LabelledCache {
 public:
  explicit LabelledCache(prometheus::Family<Metric>& family) : family_(family), id_(next_id()) {}

  template <typename... Args>
  Metric& get(std::initializer_list<std::pair<const char*, std::string_view>> labels, Args&&... args) {
    // The key (this cache's id, then each value and a separator) in a buffer on the stack when it
    // fits, as the usual few short label values do.
    char buffer[192];
    std::size_t size = sizeof id_;
    std::memcpy(buffer, &id_, sizeof id_);
    bool fits = true;
    for (const auto& [name, value] : labels) {
      if (size + value.size() + 1 > sizeof buffer) {
        fits = false;
        break;
      }
      std::memcpy(buffer + size, value.data(), value.size());
      size += value.size();
      buffer[size++] = '\x1f';
    }
    std::string spilled;
    if (!fits) {
      spilled.assign(buffer, sizeof id_);
      for (const auto& [name, value] : labels) {
        spilled.append(value);
        spilled.push_back('\x1f');
      }
    }
    const std::string_view memoKey = fits ? std::string_view(buffer, size) : std::string_view(spilled);
    // A cache is never destroyed while its registry serves, but tests make many: ids are never
    // reused, so a memo entry of a destroyed cache is never found again (and is only a few bytes).
    thread_local std::unordered_map<std::string, Metric*, KeyHash, std::equal_to<>> memo;
    if (auto it = memo.find(memoKey); it != memo.end()) return *it->second;
    Metric& metric = shared_get(memoKey.substr(sizeof id_), labels, std::forward<Args>(args)...);
    memo.emplace(std::string(memoKey), &metric);
    return metric;
  }

 private:
  struct KeyHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view key) const { return std::hash<std::string_view>{}(key); }
  };

  static std::uint64_t next_id() {
    static std::atomic<std::uint64_t> ids{0};
    return ids.fetch_add(1, std::memory_order_relaxed);
  }

  template <typename... Args>
  Metric& shared_get(std::string_view key, std::initializer_list<std::pair<const char*, std::string_view>> labels,
                     Args&&... args) {
    {
      std::shared_lock lock(mutex_);
      auto it = cache_.find(key);
      if (it != cache_.end()) return *it->second;
    }
    prometheus::Labels map;
    for (const auto& [name, value] : labels) map.emplace(name, std::string(value));
    std::unique_lock lock(mutex_);
    auto [it, inserted] = cache_.try_emplace(std::string(key), nullptr);
    if (inserted) it->second = &family_.Add(map, std::forward<Args>(args)...);
    return *it->second;
  }

  prometheus::Family<Metric>& family_;
  const std::uint64_t id_;
  std::shared_mutex mutex_;
  std::unordered_map<std::string, Metric*, KeyHash, std::equal_to<>> cache_;
};

// Review latency is tens of microseconds warm and up to the admission timeout cold, so the
// buckets start at 50 us and reach 10 s.
// One instance: the recording call passes it to every lookup, which copies it only for Add.
inline const prometheus::Histogram::BucketBoundaries& review_buckets() {
  static const prometheus::Histogram::BucketBoundaries buckets{
      0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  return buckets;
}

inline double now_unix_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace detail

using detail::LabelledCache;
using detail::now_unix_seconds;
using detail::review_buckets;

struct Metrics::Impl {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  // process_*: read from /proc at each serialize(), outside the registry (which holds only the
  // families it built).
  ProcessCollector process;

  prometheus::Family<prometheus::Counter>& requests =
      prometheus::BuildCounter()
          .Name("podgate_admission_requests_total")
          .Help("Admission reviews answered, by decision (allowed, denied, would_deny), mode, kind and operation.")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& denialsByNamespace =
      prometheus::BuildCounter()
          .Name("podgate_admission_denials_by_namespace_total")
          .Help("Denied and would-deny reviews, by the object's namespace (the first " +
                std::to_string(Metrics::kMaxNamespaceLabels) +
                " distinct ones, then _other; _none without one) and decision (denied, would_deny).")
          .Register(*registry);
  prometheus::Family<prometheus::Histogram>& durations =
      prometheus::BuildHistogram()
          .Name("podgate_admission_review_duration_seconds")
          .Help("Time from a complete request body to an encoded AdmissionReview response, by route.")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& violations =
      prometheus::BuildCounter()
          .Name("podgate_admission_violations_total")
          .Help("Rule violations found, by rule and the action taken (deny, warn).")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& podSecurityViolations =
      prometheus::BuildCounter()
          .Name("podgate_pod_security_violations_total")
          .Help("rules.podSecurity violations found, by PSA check id (control), the level judged at (baseline, "
                "restricted) and the action taken (deny, warn).")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& exemptions =
      prometheus::BuildCounter()
          .Name("podgate_admission_exemptions_total")
          .Help("Requests or violations let through by an exemption, by exemption kind.")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& skipped =
      prometheus::BuildCounter()
          .Name("podgate_admission_skipped_total")
          .Help("Requests allowed without judging a pod spec, by reason (unknown_kind, no_pod_spec).")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& invalid =
      prometheus::BuildCounter()
          .Name("podgate_admission_invalid_requests_total")
          .Help("Request bodies refused with HTTP 400, by reason.")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& http =
      prometheus::BuildCounter()
          .Name("podgate_http_requests_total")
          .Help("HTTP requests served on the webhook port, by route and status code.")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& rejected =
      prometheus::BuildCounter()
          .Name("podgate_http_connections_rejected_total")
          .Help("Connections closed at accept, by reason.")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& open =
      prometheus::BuildGauge()
          .Name("podgate_http_connections_open")
          .Help("Connections currently open on the webhook port.")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& timeouts =
      prometheus::BuildCounter()
          .Name("podgate_http_connection_timeouts_total")
          .Help("Connections closed by a deadline, by phase (handshake, read, idle, write).")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& bodyBudgetRejections =
      prometheus::BuildCounter()
          .Name("podgate_http_body_budget_rejections_total")
          .Help("Requests answered 503 because the request bodies held in memory would pass "
                "server.limits.maxBufferedBodyBytes.")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& bufferedBodyBytes =
      prometheus::BuildGauge()
          .Name("podgate_http_buffered_body_bytes")
          .Help("Bytes reserved for request bodies held in memory, on all connections.")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& scanAuthFailures =
      prometheus::BuildCounter()
          .Name("podgate_scan_api_auth_failures_total")
          .Help("Scan API requests refused with 401, by reason (missing, invalid).")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& configReloads =
      prometheus::BuildCounter()
          .Name("podgate_config_reloads_total")
          .Help("Config reloads (SIGHUP), by result (success, failure).")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& configLastReload =
      prometheus::BuildGauge()
          .Name("podgate_config_last_reload_success_timestamp_seconds")
          .Help("Unix time of the last successful config load.")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& certReloads =
      prometheus::BuildCounter()
          .Name("podgate_tls_certificate_reloads_total")
          .Help("Serving certificate reloads after the files changed, by result (success, failure).")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& certExpiry =
      prometheus::BuildGauge()
          .Name("podgate_tls_serving_certificate_expiry_timestamp_seconds")
          .Help("Unix time at which the serving certificate in use expires (notAfter).")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& buildInfo =
      prometheus::BuildGauge()
          .Name("podgate_build_info")
          .Help("Always 1; labels carry the podgate version.")
          .Register(*registry);

  prometheus::Family<prometheus::Counter>& registryRequests =
      prometheus::BuildCounter()
          .Name("podgate_registry_requests_total")
          .Help("HTTP requests to registries and their token endpoints, by registry and status code (\"error\": no answer).")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& registryErrors =
      prometheus::BuildCounter()
          .Name("podgate_registry_errors_total")
          .Help("Failed tag-to-digest resolutions, by registry and kind.")
          .Register(*registry);
  prometheus::Family<prometheus::Histogram>& resolveDurations =
      prometheus::BuildHistogram()
          .Name("podgate_image_resolve_duration_seconds")
          .Help("Time to resolve one image tag to its digest at the registry (cache misses only), by registry.")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& digestCache =
      prometheus::BuildCounter()
          .Name("podgate_image_digest_cache_lookups_total")
          .Help("Digest cache lookups, by result (hit, miss, coalesced).")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& digestCacheEntries =
      prometheus::BuildGauge()
          .Name("podgate_image_digest_cache_entries")
          .Help("Entries in the tag-to-digest cache.")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& signatureCache =
      prometheus::BuildCounter()
          .Name("podgate_image_signature_cache_lookups_total")
          .Help("Signature cache lookups, by result (hit, miss, coalesced).")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& signatureChecks =
      prometheus::BuildCounter()
          .Name("podgate_image_signature_checks_total")
          .Help("Signature checks of judged images, by result (verified, unsigned, invalid, error_denied, "
                "error_allowed: fail-open).")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& resolveFailures =
      prometheus::BuildCounter()
          .Name("podgate_image_resolve_failures_total")
          .Help("Image resolutions that failed while judging a pod, by outcome (denied, allowed: fail-open).")
          .Register(*registry);

  prometheus::Family<prometheus::Counter>& digestPins =
      prometheus::BuildCounter()
          .Name("podgate_image_digest_pins_total")
          .Help("Images /mutate pinned to their digest (pinned) or left as written, not resolved (unresolved).")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& mutations =
      prometheus::BuildCounter()
          .Name("podgate_admission_mutations_total")
          .Help("/mutate answers, by result (patched: with a JSON Patch, unchanged: without).")
          .Register(*registry);

  prometheus::Family<prometheus::Counter>& scanLookups =
      prometheus::BuildCounter()
          .Name("podgate_scan_lookups_total")
          .Help("Scan verdicts of judged images, by verdict (clean, vulnerable, malicious, unscanned, stale).")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& scanImports =
      prometheus::BuildCounter()
          .Name("podgate_scan_imports_total")
          .Help("Scan reports imported, by format and result (stored, unchanged, rejected, error).")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& scanRecords =
      prometheus::BuildGauge()
          .Name("podgate_scan_records")
          .Help("Scan records (digest and scanner pairs) in the scan cache's database.")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& scanOldest =
      prometheus::BuildGauge()
          .Name("podgate_scan_oldest_timestamp_seconds")
          .Help("Unix time of the oldest scan in the scan cache (0 when empty).")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& scanNewest =
      prometheus::BuildGauge()
          .Name("podgate_scan_newest_timestamp_seconds")
          .Help("Unix time of the newest scan in the scan cache (0 when empty).")
          .Register(*registry);
  LabelledCache<prometheus::Counter> scanLookupsCache{scanLookups};
  LabelledCache<prometheus::Counter> scanImportsCache{scanImports};
  prometheus::Gauge& scanRecordsGauge = scanRecords.Add({});
  prometheus::Gauge& scanOldestGauge = scanOldest.Add({});
  prometheus::Gauge& scanNewestGauge = scanNewest.Add({});

  prometheus::Family<prometheus::Counter>& kubeRequests =
      prometheus::BuildCounter()
          .Name("podgate_kube_requests_total")
          .Help("Answers from the Kubernetes apiserver, by verb, resource and HTTP code (error: no answer).")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& kubeWatchRestarts =
      prometheus::BuildCounter()
          .Name("podgate_kube_watch_restarts_total")
          .Help("Watches opened again after they ended, by resource and reason (closed, error, expired, too_large).")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& kubeRelists =
      prometheus::BuildCounter()
          .Name("podgate_kube_relists_total")
          .Help("Full lists after the first one (a 410 Gone or an event that could not be applied), by resource.")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& kubeLastEvent =
      prometheus::BuildGauge()
          .Name("podgate_kube_cache_last_event_timestamp_seconds")
          .Help("Unix time a cache last heard from the apiserver (an event or a bookmark), by resource.")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& kubeSynced =
      prometheus::BuildGauge()
          .Name("podgate_kube_cache_synced")
          .Help("1 once a cache's first list from the apiserver is complete, by resource.")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& kubeWatchConnected =
      prometheus::BuildGauge()
          .Name("podgate_kube_watch_connected")
          .Help("1 while a cache's watch on the apiserver is open, by resource.")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& kubeCacheObjects =
      prometheus::BuildGauge()
          .Name("podgate_kube_cache_objects")
          .Help("Objects a cache of cluster state holds, by resource.")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& kubeCacheBytes =
      prometheus::BuildGauge()
          .Name("podgate_kube_cache_bytes")
          .Help("Estimated bytes a cache of cluster state holds, by resource.")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& pullSecretReads =
      prometheus::BuildCounter()
          .Name("podgate_pull_secret_reads_total")
          .Help("Reads of pods' imagePullSecrets from the apiserver, by result (found, not_found, forbidden, "
                "wrong_type, error).")
          .Register(*registry);
  LabelledCache<prometheus::Counter> pullSecretReadsCache{pullSecretReads};
  prometheus::Family<prometheus::Counter>& customMissingPodSpec =
      prometheus::BuildCounter()
          .Name("podgate_custom_workload_missing_pod_spec_total")
          .Help("Objects of a workloads.custom kind with nothing at its podSpecPath, allowed unjudged, by group "
                "and kind (a wrong podSpecPath shows here).")
          .Register(*registry);
  LabelledCache<prometheus::Counter> customMissingPodSpecCache{customMissingPodSpec};
  LabelledCache<prometheus::Counter> kubeRequestsCache{kubeRequests};
  LabelledCache<prometheus::Counter> kubeWatchRestartsCache{kubeWatchRestarts};
  LabelledCache<prometheus::Counter> kubeRelistsCache{kubeRelists};
  LabelledCache<prometheus::Gauge> kubeLastEventCache{kubeLastEvent};
  LabelledCache<prometheus::Gauge> kubeSyncedCache{kubeSynced};
  LabelledCache<prometheus::Gauge> kubeWatchConnectedCache{kubeWatchConnected};
  LabelledCache<prometheus::Gauge> kubeCacheObjectsCache{kubeCacheObjects};
  LabelledCache<prometheus::Gauge> kubeCacheBytesCache{kubeCacheBytes};

  prometheus::Family<prometheus::Gauge>& auditLeader =
      prometheus::BuildGauge()
          .Name("podgate_audit_leader")
          .Help("1 while this replica holds the audit Lease and writes reports and Events.")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& auditLeaderTransitions =
      prometheus::BuildCounter()
          .Name("podgate_audit_leader_transitions_total")
          .Help("Times this replica became or stopped being the audit leader.")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& auditRunningPods =
      prometheus::BuildGauge()
          .Name("podgate_audit_running_pods")
          .Help("Running Pods by audit verdict (pass, warn, fail: enforcement would deny them), as the leader judged them.")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& auditRunningViolations =
      prometheus::BuildGauge()
          .Name("podgate_audit_running_violations")
          .Help("Running Pods with at least one violation of a rule, by rule and action.")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& auditRunningContainers =
      prometheus::BuildGauge()
          .Name("podgate_audit_running_containers")
          .Help("Running containers by the scan verdict of the digest they run (clean, vulnerable, malicious, unscanned, stale).")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& auditJudgements =
      prometheus::BuildCounter()
          .Name("podgate_audit_pods_judged_total")
          .Help("Pod judgements by the audit, by trigger (pod, verdict, rules, interval, start).")
          .Register(*registry);
  prometheus::Family<prometheus::Histogram>& auditPass =
      prometheus::BuildHistogram()
          .Name("podgate_audit_pass_duration_seconds")
          .Help("One full audit pass over every cached Pod, paced by audit.podsPerSecond.")
          .Register(*registry);
  prometheus::Family<prometheus::Histogram>& auditVerdictLatency =
      prometheus::BuildHistogram()
          .Name("podgate_audit_verdict_to_report_seconds")
          .Help("From a scan verdict change to the reports of the Pods that run the digest being written.")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& auditReports =
      prometheus::BuildCounter()
          .Name("podgate_audit_reports_total")
          .Help("PolicyReport writes by operation (apply, delete) and result (ok, error).")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& auditEvents =
      prometheus::BuildCounter()
          .Name("podgate_audit_events_total")
          .Help("Audit Events by result (created, series, throttled, dropped, error).")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& auditPodsDropped =
      prometheus::BuildCounter()
          .Name("podgate_audit_pods_dropped_total")
          .Help("Pods the audit's cache did not keep, by reason (bytes, too_large, malformed).")
          .Register(*registry);
  prometheus::Gauge& auditLeaderGauge = auditLeader.Add({});
  prometheus::Counter& auditLeaderTransitionsCounter = auditLeaderTransitions.Add({});
  prometheus::Histogram& auditPassHistogram = auditPass.Add(
      {}, prometheus::Histogram::BucketBoundaries{0.01, 0.1, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600});
  prometheus::Histogram& auditVerdictLatencyHistogram =
      auditVerdictLatency.Add({}, prometheus::Histogram::BucketBoundaries{0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60});
  LabelledCache<prometheus::Gauge> auditRunningPodsCache{auditRunningPods};
  LabelledCache<prometheus::Gauge> auditRunningViolationsCache{auditRunningViolations};
  LabelledCache<prometheus::Gauge> auditRunningContainersCache{auditRunningContainers};
  LabelledCache<prometheus::Counter> auditJudgementsCache{auditJudgements};
  LabelledCache<prometheus::Counter> auditReportsCache{auditReports};
  LabelledCache<prometheus::Counter> auditEventsCache{auditEvents};
  LabelledCache<prometheus::Counter> auditPodsDroppedCache{auditPodsDropped};

  prometheus::Family<prometheus::Gauge>& imageScans =
      prometheus::BuildGauge()
          .Name("podgate_scan_imagescans")
          .Help("ImageScan objects (one per scanned digest) in the shared scan state.")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& imageScanBytes =
      prometheus::BuildGauge()
          .Name("podgate_scan_imagescan_bytes")
          .Help("JSON bytes of the ImageScan objects, as the apiserver holds them.")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& trivyOperatorReports =
      prometheus::BuildCounter()
          .Name("podgate_scan_trivy_operator_reports_total")
          .Help("Trivy Operator VulnerabilityReports read, by result (used, or why not: no_digest, malformed_digest, ...).")
          .Register(*registry);
  prometheus::Gauge& imageScansGauge = imageScans.Add({});
  prometheus::Gauge& imageScanBytesGauge = imageScanBytes.Add({});
  LabelledCache<prometheus::Counter> trivyOperatorReportsCache{trivyOperatorReports};

  // rules.podSecurity.namespaceLabels (lib/policy/namespace_standards.*). The lookup counters are
  // resolved once: the review path increments one without building a label key.
  prometheus::Family<prometheus::Counter>& podSecurityNamespaceLookups =
      prometheus::BuildCounter()
          .Name("podgate_pod_security_namespace_lookups_total")
          .Help("Reviews' lookups of their namespace's PSA labels, by result (hit; miss and unsynced: judged at the "
                "configured level).")
          .Register(*registry);
  prometheus::Counter& podSecurityNamespaceHit = podSecurityNamespaceLookups.Add({{"result", "hit"}});
  prometheus::Counter& podSecurityNamespaceMiss = podSecurityNamespaceLookups.Add({{"result", "miss"}});
  prometheus::Counter& podSecurityNamespaceUnsynced = podSecurityNamespaceLookups.Add({{"result", "unsynced"}});
  prometheus::Family<prometheus::Counter>& podSecurityLabelErrors =
      prometheus::BuildCounter()
          .Name("podgate_pod_security_namespace_label_errors_total")
          .Help("Invalid pod-security.kubernetes.io namespace label values read, by label (enforce, enforce-version, "
                "warn, warn-version, audit, audit-version).")
          .Register(*registry);
  LabelledCache<prometheus::Counter> podSecurityLabelErrorsCache{podSecurityLabelErrors};

  LabelledCache<prometheus::Counter> registryRequestsCache{registryRequests};
  LabelledCache<prometheus::Counter> registryErrorsCache{registryErrors};
  LabelledCache<prometheus::Histogram> resolveDurationsCache{resolveDurations};
  LabelledCache<prometheus::Counter> digestCacheCache{digestCache};
  LabelledCache<prometheus::Counter> signatureCacheCache{signatureCache};
  LabelledCache<prometheus::Counter> signatureChecksCache{signatureChecks};
  LabelledCache<prometheus::Counter> resolveFailuresCache{resolveFailures};
  LabelledCache<prometheus::Counter> digestPinsCache{digestPins};
  LabelledCache<prometheus::Counter> mutationsCache{mutations};
  prometheus::Gauge& digestCacheEntriesGauge = digestCacheEntries.Add({});
  std::mutex registryLabelsMutex;
  std::vector<std::string> registryLabels;

  LabelledCache<prometheus::Counter> requestsCache{requests};
  LabelledCache<prometheus::Counter> denialsByNamespaceCache{denialsByNamespace};
  std::mutex namespaceLabelsMutex;
  std::unordered_set<std::string> namespaceLabels;
  LabelledCache<prometheus::Histogram> durationsCache{durations};
  LabelledCache<prometheus::Counter> violationsCache{violations};
  LabelledCache<prometheus::Counter> podSecurityViolationsCache{podSecurityViolations};
  LabelledCache<prometheus::Counter> exemptionsCache{exemptions};
  LabelledCache<prometheus::Counter> skippedCache{skipped};
  LabelledCache<prometheus::Counter> invalidCache{invalid};
  LabelledCache<prometheus::Counter> httpCache{http};
  LabelledCache<prometheus::Counter> rejectedCache{rejected};
  LabelledCache<prometheus::Counter> timeoutsCache{timeouts};

  prometheus::Gauge& openGauge = open.Add({});
  prometheus::Counter& bodyBudgetRejected = bodyBudgetRejections.Add({});
  prometheus::Gauge& bufferedBodyGauge = bufferedBodyBytes.Add({});
  LabelledCache<prometheus::Counter> scanAuthFailuresCache{scanAuthFailures};
  prometheus::Counter& configOk = configReloads.Add({{"result", "success"}});
  prometheus::Counter& configFailed = configReloads.Add({{"result", "failure"}});
  prometheus::Gauge& configLast = configLastReload.Add({});
  prometheus::Counter& certOk = certReloads.Add({{"result", "success"}});
  prometheus::Counter& certFailed = certReloads.Add({{"result", "failure"}});
  prometheus::Gauge& certExpiryGauge = certExpiry.Add({});

  Impl() {
    buildInfo.Add({{"version", kVersion}}).Set(1);
    // Known label values start at 0, so rate() and alerts see the first event.
    for (const char* reason : {"max_connections", "max_per_peer", "evicted_idle", "evicted_handshake"})
      rejectedCache.get({{"reason", reason}});
    for (const char* reason : {"missing", "invalid"}) scanAuthFailuresCache.get({{"reason", reason}});
    configLast.Set(now_unix_seconds());  // the config loaded at start counts as the first success
    create_known_series();
  }

  // Every series whose labels are known in advance exists from the start at 0, so an idle podgate
  // already exports what the dashboard and alerts query: rate() and increase() need a series to
  // see the first increment, and a query over a missing series is empty, not 0 (Prometheus'
  // guidance: "avoid missing metrics"). Open-ended labels (kind, namespace, registry) are not
  // guessed; podgate_admission_requests_total gets its decision x mode series under the commonest
  // kind and operation (Pod, CREATE), which the dashboard sums away.
  void create_known_series() {
    static constexpr std::string_view kRouteLabels[] = {"validate", "audit", "mutate"};
    const std::pair<std::string_view, std::string_view> decisions[] = {
        {"allowed", "enforce"}, {"denied", "enforce"}, {"allowed", "audit"}, {"would_deny", "audit"}, {"denied", "audit"}};
    for (const auto& [decision, mode] : decisions)
      requestsCache.get({{"decision", decision}, {"mode", mode}, {"kind", "Pod"}, {"operation", "CREATE"}});
    for (auto route : kRouteLabels) {
      durationsCache.get({{"route", route}}, review_buckets());
      for (auto code : {"200", "400", "500"}) httpCache.get({{"route", route}, {"code", code}});
    }
    for (auto rule : {"privileged", "runtimeSockets", "images", "scan", "podSecurity"})
      for (auto action : {"deny", "warn"}) violationsCache.get({{"rule", rule}, {"action", action}});
    for (auto kind : {"namespace", "user", "serviceAccount", "image"}) exemptionsCache.get({{"kind", kind}});
    for (auto reason : {"unknown_kind", "no_pod_spec"}) skippedCache.get({{"reason", reason}});
    invalidCache.get({{"reason", "invalid_review"}});
    for (auto phase : {"handshake", "read", "idle", "write"}) timeoutsCache.get({{"phase", phase}});
    for (auto result : {"hit", "miss", "coalesced"}) digestCacheCache.get({{"result", result}});
    for (auto result : {"hit", "miss", "coalesced"}) signatureCacheCache.get({{"result", result}});
    for (auto result : {"verified", "unsigned", "invalid", "error_denied", "error_allowed"})
      signatureChecksCache.get({{"result", result}});
    for (auto outcome : {"denied", "allowed"}) resolveFailuresCache.get({{"outcome", outcome}});
    for (auto result : {"pinned", "unresolved"}) digestPinsCache.get({{"result", result}});
    for (auto result : {"patched", "unchanged"}) mutationsCache.get({{"result", result}});
    for (auto verdict : {"clean", "vulnerable", "malicious", "unscanned", "stale"})
      scanLookupsCache.get({{"verdict", verdict}});
    for (auto result : {"found", "not_found", "forbidden", "wrong_type", "error"})
      pullSecretReadsCache.get({{"result", result}});
    for (auto format : {"trivy", "grype", "podgate-verdict", "unknown"})
      for (auto result : {"stored", "unchanged", "rejected", "error"})
        scanImportsCache.get({{"format", format}, {"result", result}});
    for (auto verdict : {"pass", "warn", "fail"}) auditRunningPodsCache.get({{"verdict", verdict}});
    for (auto rule : {"privileged", "runtimeSockets", "images", "scan", "imageDrift"})
      for (auto action : {"deny", "warn"}) auditRunningViolationsCache.get({{"rule", rule}, {"action", action}});
    for (auto scan : {"clean", "vulnerable", "malicious", "unscanned", "stale"})
      auditRunningContainersCache.get({{"scan", scan}});
    for (auto trigger : {"pod", "verdict", "rules", "interval", "start"}) auditJudgementsCache.get({{"trigger", trigger}});
    for (auto operation : {"apply", "delete"})
      for (auto result : {"ok", "error"}) auditReportsCache.get({{"operation", operation}, {"result", result}});
    for (auto result : {"created", "series", "throttled", "dropped", "error"}) auditEventsCache.get({{"result", result}});
    for (auto reason : {"bytes", "too_large", "malformed"}) auditPodsDroppedCache.get({{"reason", reason}});
    for (auto label : {"enforce", "enforce-version", "warn", "warn-version", "audit", "audit-version"})
      podSecurityLabelErrorsCache.get({{"label", label}});
  }
};

}  // namespace podgate::metrics
