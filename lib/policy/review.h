#pragma once
// The review pipeline shared by the server and the CLI: decode an AdmissionReview body, judge it,
// encode the answer, count it and log it. Thread-safe; the Evaluator can be swapped on reload.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "registry/digest_cache.h"
#include "scan/store.h"

namespace boost::asio {
class thread_pool;
}

#include "log/log.h"
#include "metrics/metrics.h"
#include "policy/admitted.h"
#include "policy/namespace_standards.h"
#include "policy/policy.h"
#include "policy/pull_secrets.h"
#include "policy/sources.h"

namespace podgate::policy {

struct ReviewOutcome {
  int httpStatus = 200;             // 200 with an AdmissionReview, or 400 for an unusable body
  std::string body;                 // AdmissionReview JSON, or a one-line error for 400
  std::string contentType = "application/json";
  Decision decision = Decision::Allowed;  // meaningful when httpStatus == 200
};

// What Reviewer::reload did.
struct ReloadResult {
  config::Mode mode = config::Mode::Enforce;  // the mode now in force
  bool newResolver = false;  // a new image resolver (with an empty digest cache) replaced the old one
};

class Reviewer {
 public:
  // metrics and logger may be null (the CLI runs without them). `images` resolves tags for the
  // image rules; without it every image that needs resolving counts as a failed resolution.
  // `pullSecrets` (make_pull_secret_cache) reads each request's imagePullSecrets from the cluster
  // while rules.images.resolve.pullSecrets is on; null: only the configured credential files.
  Reviewer(std::shared_ptr<const Evaluator> evaluator, metrics::Metrics* metrics, log::Logger* logger,
           std::shared_ptr<registry::DigestCache> images = nullptr, std::shared_ptr<scan::Store> scans = nullptr,
           std::shared_ptr<PullSecretCache> pullSecrets = nullptr);
  // Waits for reviews still waiting on the registry (each ends by its deadline, so this is bounded)
  // or on a scan-cache read.
  ~Reviewer();
  Reviewer(const Reviewer&) = delete;
  Reviewer& operator=(const Reviewer&) = delete;

  // Blocks until no review is waiting on the registry or on a scan-cache read. Reviews finish by
  // their own deadlines, so this ends within the longest admission timeout (30 s) and the reads
  // in hand. Called at shutdown before the server's connections (which the answers go to) are
  // destroyed.
  void wait_idle() const;

  using Completion = std::function<void(ReviewOutcome)>;
  // Reviews one body. `done` is called exactly once: inline when nothing has to be asked of a
  // registry (the rules are off, or every digest is cached) or read from the scan database,
  // otherwise on a registry thread when the last image is resolved, or at `deadline` (when the
  // apiserver stops waiting, from ?timeout=) with what is known by then; or on the Reviewer's
  // scan-read thread when a scan record is not in memory (the caller's thread never reads the
  // database). The images of one pod resolve in parallel.
  void review_async(std::string body, Route route, std::chrono::steady_clock::time_point deadline,
                    Completion done) const;
  // The same, waiting for the answer (the CLI).
  ReviewOutcome review(std::string body, Route route, std::chrono::steady_clock::time_point deadline) const;

  // Swaps the rules in use (config reload). Requests in flight finish with the old ones. A null
  // `images` keeps the resolver in use.
  void replace(std::shared_ptr<const Evaluator> evaluator, std::shared_ptr<registry::DigestCache> images = nullptr,
               std::shared_ptr<scan::Store> scans = nullptr);
  std::shared_ptr<const Evaluator> evaluator() const;

  // A config reload (SIGHUP): rules, mode, exemptions, registries and logging.logAllowed apply to the
  // next request; server.* keeps the values in force (bound at start: listen, TLS files,
  // limits). A new image resolver, and so an empty digest cache, only when how registries are
  // reached changed (registries, rules.images.resolve) or the image rules were off. Throws
  // std::runtime_error, changing nothing, when the change needs a restart (scans.*, or the scan
  // rule turned on without a scan cache open) or the new resolver cannot be built. One caller at a
  // time (the server's signal thread).
  ReloadResult reload(config::Config config);

  // Remembers what each allowed request was judged as (the audit compares running digests with
  // it, and /v1/scans/wanted offers its digests). Set once, before serving.
  void set_admission_ledger(std::shared_ptr<AdmissionLedger> ledger) { ledger_ = std::move(ledger); }
  // Looks up the signatures rules.images.signatures asks for, between resolution and judgement
  // (make_signature_verifier). Null: every such image counts as a failed lookup. Set before
  // serving, and again on a reload that needs a new one.
  void set_signature_verifier(std::shared_ptr<trust::SignatureVerifier> verifier);
  // Each namespace's PSA labels (rules.podSecurity.namespaceLabels): while that is on, every
  // judged request looks its namespace up here and hands the standards to the Evaluator
  // (Facts::namespaceStandards). Null: the configured level alone. Set once, before serving.
  void set_namespace_standards(std::shared_ptr<const NamespaceStandardsCache> cache) {
    namespaceStandards_ = std::move(cache);
  }
  // The signature verifier in use (null without one), for the audit.
  std::shared_ptr<trust::SignatureVerifier> signature_verifier() const;
  // The images and digest cache in use, for the audit (which judges through the same cache).
  std::shared_ptr<registry::DigestCache> image_resolver() const;
  std::shared_ptr<scan::Store> scan_store() const { return scans_; }

 private:
  struct Pending;
  void note_missing_pod_spec(const admission::Request& request) const;
  void start_resolutions(const std::shared_ptr<Pending>& pending, const std::shared_ptr<registry::DigestCache>& images,
                         const std::vector<image::Reference>& refs, const registry::Keyring* pod,
                         std::chrono::steady_clock::time_point deadline) const;
  void resolved(const std::shared_ptr<Pending>& pending) const;
  void read_scans(const std::shared_ptr<Pending>& pending) const;
  void finish(const std::shared_ptr<Pending>& pending, bool readScans = false) const;
  ReviewOutcome judge(const std::shared_ptr<Pending>& pending) const;
  ReviewOutcome mutate(const std::shared_ptr<Pending>& pending) const;
  ReviewOutcome internal_error(const std::exception& e) const;
  void begin_wait() const;
  void end_wait() const;

  mutable std::mutex idleMutex_;  // guards waiting_
  mutable std::condition_variable idle_;
  mutable std::size_t waiting_ = 0;  // reviews waiting on the registry or on scanReads_
  mutable std::mutex mutex_;  // guards evaluator_ and images_ (held only to copy the pointers)
  std::shared_ptr<const Evaluator> evaluator_;
  std::shared_ptr<registry::DigestCache> images_;
  std::shared_ptr<trust::SignatureVerifier> signatures_;  // guarded by mutex_ too
  std::shared_ptr<scan::Store> scans_;  // the scan cache (a CachedStore); null when the scan rule is off
  std::shared_ptr<PullSecretCache> pullSecrets_;  // null: pods' imagePullSecrets are not read
  std::shared_ptr<AdmissionLedger> ledger_;       // null: nothing is remembered
  std::shared_ptr<const NamespaceStandardsCache> namespaceStandards_;  // null: namespaces' labels are not read
  metrics::Metrics* metrics_;
  log::Logger* logger_;
  // Reads the scan records not in memory, so no server I/O thread waits on the database. Last:
  // destroyed (joined) first.
  std::unique_ptr<boost::asio::thread_pool> scanReads_;
  // Reads the pull secrets not in memory from the apiserver (blocking, rate limited), before the
  // request's resolutions start; two threads, so one slow read does not hold every review. Only
  // with pullSecrets_.
  std::unique_ptr<boost::asio::thread_pool> secretReads_;
};

// The largest decision log line a review writes, whatever the request holds: lists are cut at 20
// entries (the rest counted in "violationsOmitted", "imagesOmitted", ...) and strings at 256 bytes.
inline constexpr std::size_t kMaxDecisionLineBytes = 64 * 1024;

// The metric label for a kind: the kind itself for the pod-bearing kinds podgate knows, else "other".
std::string_view kind_label(std::string_view kind);

}  // namespace podgate::policy
