#include "metrics/metrics.h"

#include "metrics/families.h"

namespace podgate::metrics {

Metrics::Metrics() : impl_(std::make_unique<Impl>()) {}
Metrics::~Metrics() = default;

std::shared_ptr<prometheus::Registry> Metrics::registry() const { return impl_->registry; }

void Metrics::count_request(std::string_view decision, std::string_view mode, std::string_view kind,
                            std::string_view operation) {
  impl_->requestsCache.get({{"decision", decision}, {"mode", mode}, {"kind", kind}, {"operation", operation}})
      .Increment();
}

void Metrics::count_denial_by_namespace(std::string_view resource_namespace, std::string_view decision) {
  impl_->denialsByNamespaceCache.get({{"resource_namespace", resource_namespace}, {"decision", decision}}).Increment();
}

void Metrics::observe_review_duration(std::string_view route, double seconds) {
  impl_->durationsCache.get({{"route", route}}, review_buckets()).Observe(seconds);
}

void Metrics::count_violation(std::string_view rule, std::string_view action) {
  impl_->violationsCache.get({{"rule", rule}, {"action", action}}).Increment();
}

void Metrics::count_pod_security_violation(std::string_view control, std::string_view level, std::string_view action) {
  impl_->podSecurityViolationsCache.get({{"control", control}, {"level", level}, {"action", action}}).Increment();
}

void Metrics::count_exemption(std::string_view kind) { impl_->exemptionsCache.get({{"kind", kind}}).Increment(); }

void Metrics::count_skipped(std::string_view reason) { impl_->skippedCache.get({{"reason", reason}}).Increment(); }

void Metrics::count_invalid_request(std::string_view reason) {
  impl_->invalidCache.get({{"reason", reason}}).Increment();
}

void Metrics::count_registry_request(std::string_view registry, std::string_view code) {
  impl_->registryRequestsCache.get({{"registry", registry}, {"code", code}}).Increment();
}

void Metrics::count_registry_error(std::string_view registry, std::string_view kind) {
  impl_->registryErrorsCache.get({{"registry", registry}, {"kind", kind}}).Increment();
}

void Metrics::observe_resolve_duration(std::string_view registry, double seconds) {
  // A registry round trip: milliseconds on a LAN, seconds when it is slow or far away.
  static const prometheus::Histogram::BucketBoundaries buckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                                 0.25,  0.5,    1,     2.5,  5,     10};
  impl_->resolveDurationsCache.get({{"registry", registry}}, buckets).Observe(seconds);
}

void Metrics::count_digest_cache(std::string_view result) {
  impl_->digestCacheCache.get({{"result", result}}).Increment();
}

void Metrics::set_digest_cache_entries(double entries) { impl_->digestCacheEntriesGauge.Set(entries); }

void Metrics::count_signature_cache(std::string_view result) {
  impl_->signatureCacheCache.get({{"result", result}}).Increment();
}

void Metrics::count_signature_check(std::string_view result) {
  impl_->signatureChecksCache.get({{"result", result}}).Increment();
}

void Metrics::count_resolve_failure(std::string_view outcome) {
  impl_->resolveFailuresCache.get({{"outcome", outcome}}).Increment();
}

void Metrics::count_digest_pins(std::string_view result, double images) {
  impl_->digestPinsCache.get({{"result", result}}).Increment(images);
}

void Metrics::count_mutation(bool patched) {
  impl_->mutationsCache.get({{"result", patched ? "patched" : "unchanged"}}).Increment();
}

void Metrics::count_scan_verdict(std::string_view verdict) {
  impl_->scanLookupsCache.get({{"verdict", verdict}}).Increment();
}

void Metrics::count_scan_import(std::string_view format, std::string_view result) {
  impl_->scanImportsCache.get({{"format", format}, {"result", result}}).Increment();
}

void Metrics::set_scan_store(double records, double oldest_unix, double newest_unix) {
  impl_->scanRecordsGauge.Set(records);
  impl_->scanOldestGauge.Set(oldest_unix);
  impl_->scanNewestGauge.Set(newest_unix);
}

void Metrics::count_pull_secret_read(std::string_view result) {
  impl_->pullSecretReadsCache.get({{"result", result}}).Increment();
}
void Metrics::count_custom_workload_missing_pod_spec(std::string_view group, std::string_view kind) {
  impl_->customMissingPodSpecCache.get({{"group", group}, {"kind", kind}}).Increment();
}
void Metrics::count_pod_security_namespace_lookup(std::string_view result) {
  if (result == "hit") impl_->podSecurityNamespaceHit.Increment();
  else if (result == "miss") impl_->podSecurityNamespaceMiss.Increment();
  else impl_->podSecurityNamespaceUnsynced.Increment();
}
void Metrics::count_pod_security_label_error(std::string_view label) {
  impl_->podSecurityLabelErrorsCache.get({{"label", label}}).Increment();
}

void Metrics::count_kube_request(std::string_view verb, std::string_view resource, std::string_view code) {
  impl_->kubeRequestsCache.get({{"verb", verb}, {"resource", resource}, {"code", code}}).Increment();
}
void Metrics::count_kube_watch_restart(std::string_view resource, std::string_view reason) {
  impl_->kubeWatchRestartsCache.get({{"resource", resource}, {"reason", reason}}).Increment();
}
void Metrics::count_kube_relist(std::string_view resource) {
  impl_->kubeRelistsCache.get({{"resource", resource}}).Increment();
}
void Metrics::set_kube_last_event(std::string_view resource, double unix_seconds) {
  impl_->kubeLastEventCache.get({{"resource", resource}}).Set(unix_seconds);
}
void Metrics::set_kube_synced(std::string_view resource, bool synced) {
  impl_->kubeSyncedCache.get({{"resource", resource}}).Set(synced ? 1 : 0);
}
void Metrics::set_kube_watch_connected(std::string_view resource, bool connected) {
  impl_->kubeWatchConnectedCache.get({{"resource", resource}}).Set(connected ? 1 : 0);
}
void Metrics::set_kube_cache(std::string_view resource, double objects, double bytes) {
  impl_->kubeCacheObjectsCache.get({{"resource", resource}}).Set(objects);
  impl_->kubeCacheBytesCache.get({{"resource", resource}}).Set(bytes);
}

void Metrics::set_audit_leader(bool leader) {
  const double value = leader ? 1 : 0;
  if (impl_->auditLeaderGauge.Value() != value) impl_->auditLeaderTransitionsCounter.Increment();
  impl_->auditLeaderGauge.Set(value);
}
void Metrics::set_audit_running_pods(std::string_view verdict, double pods) {
  impl_->auditRunningPodsCache.get({{"verdict", verdict}}).Set(pods);
}
void Metrics::set_audit_running_violations(std::string_view rule, std::string_view action, double pods) {
  impl_->auditRunningViolationsCache.get({{"rule", rule}, {"action", action}}).Set(pods);
}
void Metrics::set_audit_running_containers(std::string_view scan, double containers) {
  impl_->auditRunningContainersCache.get({{"scan", scan}}).Set(containers);
}
void Metrics::count_audit_judgements(std::string_view trigger, double pods) {
  impl_->auditJudgementsCache.get({{"trigger", trigger}}).Increment(pods);
}
void Metrics::observe_audit_pass(double seconds) { impl_->auditPassHistogram.Observe(seconds); }
void Metrics::observe_audit_verdict_latency(double seconds) { impl_->auditVerdictLatencyHistogram.Observe(seconds); }
void Metrics::count_audit_report(std::string_view operation, std::string_view result) {
  impl_->auditReportsCache.get({{"operation", operation}, {"result", result}}).Increment();
}
void Metrics::count_audit_event(std::string_view result) { impl_->auditEventsCache.get({{"result", result}}).Increment(); }
void Metrics::count_audit_pod_dropped(std::string_view reason) {
  impl_->auditPodsDroppedCache.get({{"reason", reason}}).Increment();
}

void Metrics::set_imagescans(double objects, double bytes) {
  impl_->imageScansGauge.Set(objects);
  impl_->imageScanBytesGauge.Set(bytes);
}
void Metrics::count_trivy_operator_report(std::string_view result) {
  impl_->trivyOperatorReportsCache.get({{"result", result}}).Increment();
}

std::string Metrics::registry_label(std::string_view domain) {
  static constexpr std::size_t kMaxRegistryLabels = 64;
  std::lock_guard<std::mutex> lock(impl_->registryLabelsMutex);
  for (const auto& known : impl_->registryLabels)
    if (known == domain) return known;
  if (impl_->registryLabels.size() >= kMaxRegistryLabels) return "other";
  impl_->registryLabels.emplace_back(domain);
  return std::string(domain);
}

std::string Metrics::namespace_label(std::string_view ns) {
  if (ns.empty()) return "_none";
  std::lock_guard<std::mutex> lock(impl_->namespaceLabelsMutex);
  // A set, unlike registry_label's list: a cluster may have hundreds of namespaces.
  std::string key(ns);
  if (impl_->namespaceLabels.count(key)) return key;
  if (impl_->namespaceLabels.size() >= kMaxNamespaceLabels) return "_other";
  impl_->namespaceLabels.insert(key);
  return key;
}

void Metrics::count_http_request(std::string_view route, int code) {
  impl_->httpCache.get({{"route", route}, {"code", std::to_string(code)}}).Increment();
}

void Metrics::count_connection_rejected(std::string_view reason) {
  impl_->rejectedCache.get({{"reason", reason}}).Increment();
}

void Metrics::add_open_connections(double delta) { impl_->openGauge.Increment(delta); }

void Metrics::count_body_budget_rejection() { impl_->bodyBudgetRejected.Increment(); }

void Metrics::add_buffered_body_bytes(double delta) { impl_->bufferedBodyGauge.Increment(delta); }

void Metrics::count_scan_api_auth_failure(std::string_view reason) {
  impl_->scanAuthFailuresCache.get({{"reason", reason}}).Increment();
}

void Metrics::count_connection_timeout(std::string_view phase) {
  impl_->timeoutsCache.get({{"phase", phase}}).Increment();
}

void Metrics::count_config_reload(bool success) {
  if (success) {
    impl_->configOk.Increment();
    impl_->configLast.Set(now_unix_seconds());
  } else {
    impl_->configFailed.Increment();
  }
}

void Metrics::count_certificate_reload(bool success) { (success ? impl_->certOk : impl_->certFailed).Increment(); }

void Metrics::set_certificate_expiry(double unix_seconds) { impl_->certExpiryGauge.Set(unix_seconds); }

std::string Metrics::serialize() const {
  prometheus::TextSerializer serializer;
  auto families = impl_->registry->Collect();
  for (auto& f : impl_->process.Collect()) families.push_back(std::move(f));
  return serializer.Serialize(families);
}

}  // namespace podgate::metrics
