#pragma once
// rules.podSecurity.namespaceLabels: what PSA would enforce, warn about and audit in each namespace,
// read from its pod-security.kubernetes.io labels exactly as PSA reads them (api.PolicyToEvaluate),
// and kept per namespace from a reflector over /api/v1/namespaces, bounded in bytes. Only the
// parsed result is kept (a few dozen bytes a namespace), never the Namespace object.

#include <atomic>
#include <cstddef>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "kube/reflector.h"
#include "log/log.h"
#include "metrics/metrics.h"
#include "policy/policy.h"

namespace podgate::policy {

// PSA's label names (k8s.io/pod-security-admission/api/constants.go).
inline constexpr std::string_view kEnforceLevelLabel = "pod-security.kubernetes.io/enforce";
inline constexpr std::string_view kEnforceVersionLabel = "pod-security.kubernetes.io/enforce-version";
inline constexpr std::string_view kWarnLevelLabel = "pod-security.kubernetes.io/warn";
inline constexpr std::string_view kWarnVersionLabel = "pod-security.kubernetes.io/warn-version";
inline constexpr std::string_view kAuditLevelLabel = "pod-security.kubernetes.io/audit";
inline constexpr std::string_view kAuditVersionLabel = "pod-security.kubernetes.io/audit-version";

// One label value PSA refuses, with PSA's own message ("must be one of privileged, baseline,
// restricted", "must be \"latest\" or \"v1.x\"").
struct NamespaceLabelError {
  std::string label, value, message;
  bool operator==(const NamespaceLabelError&) const = default;
};

struct ParsedNamespaceLabels {
  NamespaceStandards standards;
  std::vector<NamespaceLabelError> errors;  // empty when PSA would accept every label
  bool labelled = false;                    // at least one of the six labels is present
};

// PSA's api.PolicyToEvaluate over a namespace's labels, with PSA's own defaults (privileged,
// latest) standing for "unset" (podgate's configured level applies instead). Exactly as PSA:
// - a mode is `set` when its level label is present. An invalid enforce level is Restricted (PSA
//   fails closed); an invalid warn or audit level is Privileged (PSA fails open for those).
// - a version label ("latest" or v1.N, N without a leading zero) sets the version even without its
//   level label (PSA applies it to the default level: a mode unset here may still carry one); an
//   invalid version is latest.
// - warn with no warn label takes the enforce level (and, without a warn-version label, its
//   version) when the enforce label is valid and stricter than privileged, so workloads in an
//   enforce=restricted namespace are warned about, as PSA warns on them; it is then `set`.
// Every invalid value is in `errors` (PSA refuses such labels on a Namespace create or update,
// but a namespace may carry them from before PSA, or from a cluster where it is off).
// `labels` are the namespace's metadata.labels; others than the six are ignored.
ParsedNamespaceLabels parse_namespace_labels(const std::vector<std::pair<std::string_view, std::string_view>>& labels);

// What a review's namespace lookup found (podgate_pod_security_namespace_lookups_total{result}).
enum class NamespaceLookupResult {
  Hit,       // the namespace is known; its standards (null: it has no PSA labels)
  Miss,      // the cache is synced but does not hold it: created a moment ago, or past the bound
  Unsynced,  // the first list has not reached the cache yet
};
const char* to_string(NamespaceLookupResult result);  // "hit", "miss", "unsynced"

struct NamespaceLookup {
  NamespaceLookupResult result = NamespaceLookupResult::Unsynced;
  // The namespace's standards; null on a miss, before the sync, and for a namespace without PSA
  // labels: podgate's configured level alone applies (for a miss or before the sync that is a
  // fail-open fallback, counted).
  std::shared_ptr<const NamespaceStandards> standards;
};

// The cache's bound: 10,000 namespaces take 1.7 MB by its estimate (bench/RESULTS.md), so this
// holds about 95,000; a namespace past it is not kept and its reviews are counted as misses.
inline constexpr std::size_t kNamespaceStandardsMaxBytes = 16u << 20;

struct NamespaceStandardsOptions {
  std::size_t maxBytes = kNamespaceStandardsMaxBytes;
};

// A kube::ReflectorSink over Namespaces that keeps each one's parsed PSA labels. lookup() is the
// review path's call: a shared read lock, a find with no allocation, one shared_ptr copy.
class NamespaceStandardsCache final : public kube::ReflectorSink {
 public:
  // metrics (podgate_kube_cache_objects/_bytes{resource="namespaces"}, the lookup and label-error
  // counters) and logger may be null.
  NamespaceStandardsCache(NamespaceStandardsOptions options, metrics::Metrics* metrics, log::Logger* logger);

  // The namespace's standards, counted by result (`count`: false for the audit, whose judgements
  // are not admission requests). "" (a cluster-scoped request) is a hit without standards.
  NamespaceLookup lookup(std::string_view ns, bool count = true) const;
  bool synced() const { return synced_.load(std::memory_order_acquire); }
  std::size_t size() const;
  std::size_t bytes() const;

  // kube::ReflectorSink
  void list_begin() override;
  void list_end() override;
  void upsert(std::string_view key, std::string_view objectJson) override;
  void remove(std::string_view key) override;

  // What one entry costs the cache (estimated): the node, the name's heap bytes, the standards.
  static std::size_t entry_bytes(std::string_view name, bool labelled);

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  struct Entry {
    std::shared_ptr<const NamespaceStandards> standards;  // null: no PSA labels
    std::size_t bytes = 0;
  };
  void store(std::string_view name, ParsedNamespaceLabels parsed);
  void erase(std::string_view name);
  void publish() const;
  void report_invalid(std::string_view name, const std::vector<NamespaceLabelError>& errors);

  NamespaceStandardsOptions options_;
  metrics::Metrics* metrics_;
  log::Logger* logger_;
  mutable std::shared_mutex mutex_;  // guards namespaces_, bytes_, seen_, listing_, warnedFull_, logged_
  std::unordered_map<std::string, Entry, Hash, std::equal_to<>> namespaces_;
  std::size_t bytes_ = 0;
  std::unordered_set<std::string> seen_;  // names upserted since list_begin (during a list)
  bool listing_ = false;
  bool warnedFull_ = false;
  // The namespaces whose invalid labels were logged (each once while it stays invalid; at most 64).
  std::unordered_set<std::string> logged_;
  std::atomic<bool> synced_{false};
};

}  // namespace podgate::policy
