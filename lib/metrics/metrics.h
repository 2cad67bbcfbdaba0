#pragma once
// Every Prometheus metric podgate exposes, in one place, named by Prometheus conventions
// (podgate_ prefix, base units, _total for counters); serialize() adds the process_* series of
// metrics/process.h. Label values must come from small fixed
// sets: callers map anything open-ended (an unknown kind, say) to "other" first.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace prometheus {
class Registry;
}  // namespace prometheus

namespace podgate::metrics {

class Metrics {
 public:
  Metrics();
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  std::shared_ptr<prometheus::Registry> registry() const;

  // podgate_admission_requests_total{decision,mode,kind,operation}
  void count_request(std::string_view decision, std::string_view mode, std::string_view kind,
                     std::string_view operation);
  // podgate_admission_denials_by_namespace_total{resource_namespace,decision}: one per denied or
  // would-deny review, so the dashboard can show which namespaces are stopped most. The label is
  // not "namespace" because Prometheus's scrape (a ServiceMonitor) sets that to podgate's own
  // namespace. `resource_namespace` is namespace_label() of the request's namespace.
  void count_denial_by_namespace(std::string_view resource_namespace, std::string_view decision);
  // podgate_admission_review_duration_seconds{route} (histogram, buckets from 50 us)
  void observe_review_duration(std::string_view route, double seconds);
  // podgate_admission_violations_total{rule,action}
  void count_violation(std::string_view rule, std::string_view action);
  // podgate_pod_security_violations_total{control,level,action}: control is PSA's check id (a
  // closed set of 18, so the series are bounded; they appear on first use)
  void count_pod_security_violation(std::string_view control, std::string_view level, std::string_view action);
  // podgate_admission_exemptions_total{kind}
  void count_exemption(std::string_view kind);
  // podgate_admission_skipped_total{reason}: requests allowed without judging (fail-open paths)
  void count_skipped(std::string_view reason);
  // podgate_admission_invalid_requests_total{reason}: bodies answered with HTTP 400
  void count_invalid_request(std::string_view reason);
  // podgate_http_requests_total{route,code}
  void count_http_request(std::string_view route, int code);
  // podgate_http_connections_rejected_total{reason}: max_connections, max_per_peer, evicted_idle,
  // evicted_handshake (all start at 0); podgate_http_connections_open
  void count_connection_rejected(std::string_view reason);
  void add_open_connections(double delta);
  // podgate_http_body_budget_rejections_total: requests answered 503 because the bodies held by all
  // connections would pass server.limits.maxBufferedBodyBytes; podgate_http_buffered_body_bytes:
  // the bytes reserved for bodies now
  void count_body_budget_rejection();
  void add_buffered_body_bytes(double delta);
  // podgate_scan_api_auth_failures_total{reason}: missing (no bearer token), invalid (a wrong one)
  void count_scan_api_auth_failure(std::string_view reason);
  // podgate_http_connection_timeouts_total{phase}: handshake, read, idle, write
  void count_connection_timeout(std::string_view phase);
  // podgate_config_reloads_total{result}; podgate_config_last_reload_success_timestamp_seconds
  void count_config_reload(bool success);
  // podgate_tls_certificate_reloads_total{result}; podgate_tls_serving_certificate_expiry_timestamp_seconds
  void count_certificate_reload(bool success);
  void set_certificate_expiry(double unix_seconds);

  // Image resolution. `registry` label values are bounded by the caller (registry_label()).
  // podgate_registry_requests_total{registry,code}: every HTTP answer from a registry or its token
  // endpoint; code "error" when no answer arrived (refused, TLS failure, timeout)
  void count_registry_request(std::string_view registry, std::string_view code);
  // podgate_registry_errors_total{registry,kind}: failed resolutions by kind (not_found, unauthorized,
  // rate_limited, timeout, unreachable, tls, bad_response, too_large, server_error)
  void count_registry_error(std::string_view registry, std::string_view kind);
  // podgate_image_resolve_duration_seconds{registry}: one tag->digest resolution at the registry
  void observe_resolve_duration(std::string_view registry, double seconds);
  // podgate_image_digest_cache_lookups_total{result}: hit, miss (a registry request starts),
  // coalesced (waited for a request already in flight)
  void count_digest_cache(std::string_view result);
  // podgate_image_digest_cache_entries
  void set_digest_cache_entries(double entries);
  // podgate_image_signature_cache_lookups_total{result}: hit, miss (a signature lookup starts),
  // coalesced (waited for a lookup already in flight)
  void count_signature_cache(std::string_view result);
  // podgate_image_signature_checks_total{result}: per judged image under rules.images.signatures:
  // verified, unsigned, invalid, error_denied, error_allowed ("error_allowed" is the fail-open path)
  void count_signature_check(std::string_view result);
  // podgate_image_resolve_failures_total{outcome}: resolutions that failed while judging a pod, by
  // what onResolveError made of them (denied, allowed); "allowed" is the fail-open path
  void count_resolve_failure(std::string_view outcome);
  // Digest pinning (POST /mutate). podgate_image_digest_pins_total{result}: images rewritten to
  // their digest (pinned), or left as written because the registry did not resolve them
  // (unresolved); podgate_admission_mutations_total{result}: /mutate answers with a patch
  // (patched) or without one (unchanged)
  void count_digest_pins(std::string_view result, double images);
  void count_mutation(bool patched);
  // The scan cache.
  // podgate_scan_lookups_total{verdict}: per judged image: clean, vulnerable, malicious, unscanned, stale
  void count_scan_verdict(std::string_view verdict);
  // podgate_scan_imports_total{format,result}: reports imported (trivy, grype, podgate-verdict,
  // unknown; stored, unchanged (nothing newer), rejected, error)
  void count_scan_import(std::string_view format, std::string_view result);
  // podgate_scan_records; podgate_scan_oldest_timestamp_seconds / _newest_: the store's extent
  // (ages are time() minus these, computed in PromQL, as Prometheus conventions prefer)
  void set_scan_store(double records, double oldest_unix, double newest_unix);
  // The Kubernetes client (lib/kube). `resource` is a plural from podgate's own fixed set.
  // podgate_kube_requests_total{verb,resource,code}: every answer from the apiserver; code "error"
  // when none arrived
  void count_kube_request(std::string_view verb, std::string_view resource, std::string_view code);
  // podgate_kube_watch_restarts_total{resource,reason}: watches that ended and were opened again
  // (reason: closed, error, expired, too_large); podgate_kube_relists_total{resource}: full lists
  // after the first (a 410 Gone, or an event that could not be applied)
  void count_kube_watch_restart(std::string_view resource, std::string_view reason);
  void count_kube_relist(std::string_view resource);
  // podgate_kube_cache_last_event_timestamp_seconds{resource}: when the cache last heard from the
  // apiserver (an event or a bookmark); time() minus it is the sync lag.
  // podgate_kube_cache_synced{resource}: 1 once the first list is in; podgate_kube_watch_connected{resource}
  void set_kube_last_event(std::string_view resource, double unix_seconds);
  void set_kube_synced(std::string_view resource, bool synced);
  void set_kube_watch_connected(std::string_view resource, bool connected);
  // podgate_kube_cache_objects{resource} / podgate_kube_cache_bytes{resource}: what a cache holds
  void set_kube_cache(std::string_view resource, double objects, double bytes);

  // podgate_scan_imagescans / podgate_scan_imagescan_bytes: the ImageScan objects of the shared
  // scan state and their JSON bytes, as the apiserver (and etcd) hold them
  void set_imagescans(double objects, double bytes);
  // podgate_scan_trivy_operator_reports_total{result}: Trivy Operator reports read, by result
  // (used, or why not: no_digest, malformed_digest, malformed_report, not_json, too_large, ...)
  void count_trivy_operator_report(std::string_view result);
  // podgate_pull_secret_reads_total{result}: reads of a pod's imagePullSecrets from the apiserver
  // (cache misses only): found, not_found, forbidden (RBAC), wrong_type (not a docker config
  // Secret, or its key missing), error (anything else: no answer, a bad body, too large)
  void count_pull_secret_read(std::string_view result);
  // podgate_custom_workload_missing_pod_spec_total{group,kind}: an object of a workloads.custom
  // kind with nothing at its podSpecPath, allowed unjudged (group and kind come from the config,
  // so the series are bounded by it)
  void count_custom_workload_missing_pod_spec(std::string_view group, std::string_view kind);
  // rules.podSecurity.namespaceLabels. podgate_pod_security_namespace_lookups_total{result}: a
  // review's lookup of its namespace's PSA labels: hit (known; with or without labels), miss (the
  // cache is synced and does not hold it) or unsynced (the first list is not in yet); a miss and an
  // unsynced lookup are judged at the configured level alone. No allocation: on the review path.
  void count_pod_security_namespace_lookup(std::string_view result);
  // podgate_pod_security_namespace_label_errors_total{label}: invalid label values read (label:
  // enforce, enforce-version, warn, warn-version, audit, audit-version)
  void count_pod_security_label_error(std::string_view label);

  // The continuous audit (lib/audit). No Pod, image or namespace labels: cardinality is fixed.
  // podgate_audit_leader: 1 while this replica holds the audit Lease (it writes reports and Events);
  // podgate_audit_leader_transitions_total: times this replica became or stopped being the leader
  void set_audit_leader(bool leader);
  // podgate_audit_running_pods{verdict}: Pods now running, by their audit verdict (pass, warn,
  // fail; fail: enforcement would deny them). Set by the leader after each judgement.
  void set_audit_running_pods(std::string_view verdict, double pods);
  // podgate_audit_running_violations{rule,action}: running Pods with a violation of the rule
  void set_audit_running_violations(std::string_view rule, std::string_view action, double pods);
  // podgate_audit_running_containers{scan}: running containers by scan verdict (clean, vulnerable,
  // malicious, unscanned, stale)
  void set_audit_running_containers(std::string_view scan, double containers);
  // podgate_audit_pods_judged_total{trigger}: Pod judgements, by what caused them (pod: the Pod
  // changed; verdict: a scan verdict changed; rules; interval: the periodic pass; start)
  void count_audit_judgements(std::string_view trigger, double pods);
  // podgate_audit_pass_duration_seconds: one full pass over every cached Pod (histogram)
  void observe_audit_pass(double seconds);
  // podgate_audit_verdict_to_report_seconds: from a scan verdict change to the reports of the Pods
  // it concerns being written (histogram)
  void observe_audit_verdict_latency(double seconds);
  // podgate_audit_reports_total{operation,result}: report writes (apply, delete) by result (ok, error)
  void count_audit_report(std::string_view operation, std::string_view result);
  // podgate_audit_events_total{result}: Events created, series (an isomorphic event counted again),
  // throttled (the per-object spam filter), dropped (queue full), error
  void count_audit_event(std::string_view result);
  // podgate_audit_pods_dropped_total{reason}: Pods the cache did not keep (bytes: audit.cacheBytes
  // reached; too_large: one Pod's projection over its bound; malformed)
  void count_audit_pod_dropped(std::string_view reason);

  // The label for a registry: its domain for the first 64 distinct ones, "other" afterwards, so a
  // pod spec naming random hosts cannot grow the series without bound.
  std::string registry_label(std::string_view domain);
  // The label for a request's namespace, bounded the same way: the namespace itself for the first
  // kMaxNamespaceLabels distinct ones (in order of first denial, for the process's lifetime),
  // "_other" afterwards, and "_none" for a request without one. The underscore keeps both apart
  // from real namespaces, which are DNS labels (a namespace may well be called "other").
  static constexpr std::size_t kMaxNamespaceLabels = 200;
  std::string namespace_label(std::string_view ns);

  // Text exposition of the registry and of the process_* series (metrics/process.h, read from
  // /proc now): the /metrics body (lib/server/metrics_listener.h).
  std::string serialize() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace podgate::metrics
