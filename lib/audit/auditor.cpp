#include "audit/auditor.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <set>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "audit/events.h"
#include "audit/judge.h"
#include "audit/reports.h"
#include "kube/lease.h"
#include "kube/reflector.h"

namespace podgate::audit {

namespace {

using Clock = std::chrono::steady_clock;

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// The label values the gauges are set for, so a value that drops to none is set to 0, not left stale.
constexpr std::array<std::string_view, 3> kVerdicts{"pass", "warn", "fail"};
constexpr std::array<std::string_view, 6> kRules{"privileged", "runtimeSockets", "images", "scan", "imageDrift",
                                                 "podSecurity"};
constexpr std::array<std::string_view, 2> kActions{"deny", "warn"};
constexpr std::array<std::string_view, 5> kScans{"clean", "vulnerable", "malicious", "unscanned", "stale"};

// The Event reason for a newly found result, UpperCamelCase as Kubernetes reasons are.
std::string event_reason(const ReportResult& r) {
  if (r.rule == "scan") {
    for (const auto& [key, value] : r.properties) {
      if (key != "scan") continue;
      if (value == "malicious") return "MaliciousImageRunning";
      if (value == "vulnerable") return "VulnerableImageRunning";
    }
    return "UnscannedImageRunning";
  }
  if (r.rule == "privileged") return "PrivilegedContainerRunning";
  if (r.rule == "runtimeSockets") return "RuntimeSocketMounted";
  if (r.rule == "podSecurity") return "PodSecurityViolationRunning";
  if (r.rule == "images") return "ImageNotAllowedRunning";
  if (r.rule == kRuleImageDrift) return "ImageDigestMismatch";
  return "AuditError";
}

// A result's identity within a workload (the Events' "newly found").
std::string identity_of(const ReportResult& r) { return r.rule + '\0' + r.container + '\0' + r.result + '\0' + r.message; }

}  // namespace

struct Auditor::Impl {
  struct PodState {
    WorkloadRef workload;
    PodFindings findings;
  };
  struct Workload {
    WorkloadRef ref;
    std::set<std::string> pods;
    std::unordered_set<std::string> found;  // identities of the fail/warn results last reported
  };

  kube::Client& client;
  config::AuditConfig config;
  AuditSources sources;
  metrics::Metrics* metrics;
  log::Logger* logger;
  PodCache cache;
  ReportWriter writer;
  OwnerResolver owners;
  std::string identity = kube::lease_identity();
  std::unique_ptr<kube::Reflector> reflector;
  std::unique_ptr<kube::LeaderElector> elector;
  std::unique_ptr<EventRecorder> events;

  // Shared with the notifying threads (guarded by mutex).
  std::mutex mutex;
  std::condition_variable wake;
  std::deque<std::string> podQueue;  // pod keys to judge again
  std::unordered_set<std::string> podQueued;
  std::unordered_map<std::string, Clock::time_point> changedDigests;  // verdict changes not yet handled
  std::string passTrigger;  // "" = no full pass asked for
  bool stopping = false;
  std::atomic<bool> leader{false};
  std::atomic<bool> leading{false};  // the worker acts as leader (set on the worker thread)

  // The worker's own state.
  std::unordered_map<std::string, PodState> pods;                       // by pod key
  std::unordered_map<std::string, std::set<std::string>> podsByDigest;  // digest -> pod keys
  std::unordered_map<std::string, Workload> workloads;                  // by workload uid
  std::unordered_set<std::string> dirty;                                // workload uids to report
  Clock::time_point nextPass = Clock::now() + std::chrono::hours(24 * 365);
  std::thread worker;

  Impl(kube::Client& c, config::AuditConfig cfg, std::vector<std::string> skip, AuditSources s, metrics::Metrics* m,
       log::Logger* l)
      : client(c),
        config(std::move(cfg)),
        sources(std::move(s)),
        metrics(m),
        logger(l),
        cache({config.cacheBytes, std::move(skip)}, m, l),
        writer(c, config.reports, m, l),
        owners(&c) {}

  void queue_pod(const std::string& key) {
    {
      const std::lock_guard lock(mutex);
      if (!podQueued.insert(key).second) return;
      podQueue.push_back(key);
    }
    wake.notify_one();
  }

  void ask_pass(std::string trigger) {
    {
      const std::lock_guard lock(mutex);
      if (passTrigger.empty()) passTrigger = std::move(trigger);
    }
    wake.notify_one();
  }

  JudgeInputs inputs(const policy::Evaluator& evaluator, registry::DigestCache* images,
                     trust::SignatureVerifier* signatures) const {
    JudgeInputs in;
    in.evaluator = &evaluator;
    in.images = images;
    in.signatures = signatures;
    in.scans = sources.scans.get();
    in.ledger = sources.ledger.get();
    in.namespaces = sources.namespaces.get();
    in.resolveTimeout = evaluator.config().rules.images.resolve.timeout;
    return in;
  }

  // ---- the worker's state ----------------------------------------------------------------------

  void forget_pod(const std::string& key) {
    const auto it = pods.find(key);
    if (it == pods.end()) return;
    for (const std::string& digest : it->second.findings.digests) {
      auto& keys = podsByDigest[digest];
      keys.erase(key);
      if (keys.empty()) podsByDigest.erase(digest);
    }
    const std::string uid = it->second.workload.uid;
    auto w = workloads.find(uid);
    if (w != workloads.end()) {
      w->second.pods.erase(key);
      dirty.insert(uid);
    }
    pods.erase(it);
  }

  void judge(const std::string& key) {
    const auto pod = cache.get(key);
    forget_pod(key);
    if (!pod) return;
    const auto evaluator = sources.evaluator();
    if (!evaluator) return;
    const auto images = sources.images ? sources.images() : nullptr;
    const auto signatures = sources.signatures ? sources.signatures() : nullptr;
    PodState state;
    state.workload = owners.resolve(*pod);
    state.findings = judge_pod(inputs(*evaluator, images.get(), signatures.get()), *pod, unix_now());
    for (const std::string& digest : state.findings.digests) podsByDigest[digest].insert(key);
    Workload& w = workloads[state.workload.uid];
    w.ref = state.workload;
    w.pods.insert(key);
    dirty.insert(state.workload.uid);
    pods[key] = std::move(state);
  }

  std::vector<ReportResult> aggregate(const Workload& w) const {
    std::vector<const PodFindings*> findings;
    for (const std::string& key : w.pods) {
      const auto it = pods.find(key);
      if (it != pods.end()) findings.push_back(&it->second.findings);
    }
    return aggregate_results(findings);
  }

  void record_events(Workload& w, const std::vector<ReportResult>& results) {
    std::unordered_set<std::string> found;
    for (const ReportResult& r : results) {
      if (r.result == "pass") continue;
      const std::string id = identity_of(r);
      found.insert(id);
      if (!events || w.found.contains(id)) continue;
      EventSpec event;
      event.regarding = w.ref;
      event.type = "Warning";
      event.reason = event_reason(r);
      event.action = "Audit";
      event.note = r.message;
      events->record(std::move(event));
    }
    w.found = std::move(found);
  }

  // Writes the reports (and Events) of the workloads whose Pods were judged or went.
  void flush() {
    const bool reporting = config.reports != config::AuditReports::None && writer.available();
    for (const std::string& uid : dirty) {
      auto it = workloads.find(uid);
      if (it == workloads.end()) continue;
      Workload& w = it->second;
      if (w.pods.empty()) {
        if (reporting) writer.remove(w.ref);
        workloads.erase(it);
        continue;
      }
      const std::vector<ReportResult> results = aggregate(w);
      record_events(w, results);
      if (reporting) writer.write(w.ref, results);
    }
    dirty.clear();
    publish();
  }

  void publish() const {
    if (!metrics) return;
    std::map<std::string, double> verdicts, violations, scans;
    for (const auto& [key, state] : pods) {
      verdicts[state.findings.verdict] += 1;
      std::set<std::pair<std::string, std::string>> seen(state.findings.violations.begin(), state.findings.violations.end());
      for (const auto& [rule, action] : seen) violations[rule + '\0' + action] += 1;
      for (const std::string& scan : state.findings.scans) scans[scan] += 1;
    }
    const auto value = [](const std::map<std::string, double>& m, const std::string& k) {
      const auto it = m.find(k);
      return it == m.end() ? 0.0 : it->second;
    };
    for (const auto v : kVerdicts) metrics->set_audit_running_pods(v, value(verdicts, std::string(v)));
    for (const auto r : kRules)
      for (const auto a : kActions) metrics->set_audit_running_violations(r, a, value(violations, std::string(r) + '\0' + std::string(a)));
    for (const auto s : kScans) metrics->set_audit_running_containers(s, value(scans, std::string(s)));
  }

  void clear_state() {
    pods.clear();
    podsByDigest.clear();
    workloads.clear();
    dirty.clear();
    writer.forget();
    publish();
  }

  void run();
  bool handle_urgent();
  void run_pass(const std::string& trigger);
};

// Judges what a Pod event or a verdict change asked for. Returns whether there was anything.
bool Auditor::Impl::handle_urgent() {
  std::deque<std::string> keys;
  std::unordered_map<std::string, Clock::time_point> digests;
  {
    const std::lock_guard lock(mutex);
    keys.swap(podQueue);
    podQueued.clear();
    digests.swap(changedDigests);
  }
  if (keys.empty() && digests.empty()) return false;
  std::set<std::string> fromDigests;
  for (const auto& [digest, when] : digests) {
    const auto it = podsByDigest.find(digest);
    if (it != podsByDigest.end()) fromDigests.insert(it->second.begin(), it->second.end());
  }
  for (const std::string& key : keys) judge(key);
  for (const std::string& key : fromDigests) judge(key);
  if (metrics) {
    if (!keys.empty()) metrics->count_audit_judgements("pod", static_cast<double>(keys.size()));
    if (!fromDigests.empty()) metrics->count_audit_judgements("verdict", static_cast<double>(fromDigests.size()));
  }
  flush();
  if (metrics && !fromDigests.empty()) {
    const auto now = Clock::now();
    for (const auto& [digest, when] : digests)
      if (podsByDigest.contains(digest)) metrics->observe_audit_verdict_latency(std::chrono::duration<double>(now - when).count());
  }
  return true;
}

// Judges every cached Pod at audit.podsPerSecond, handling urgent work in between, and writes the
// reports as it goes (at least every second).
void Auditor::Impl::run_pass(const std::string& trigger) {
  const auto started = Clock::now();
  const auto snapshot = cache.snapshot();
  const auto gap = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / config.podsPerSecond));
  auto due = started;
  auto lastFlush = started;
  std::unordered_set<std::string> live;
  for (const auto& pod : snapshot) {
    {
      std::unique_lock lock(mutex);
      wake.wait_until(lock, due, [&] { return stopping || !podQueue.empty() || !changedDigests.empty(); });
      if (stopping) return;
    }
    if (!leader) return;
    handle_urgent();
    due = std::max(due + gap, Clock::now() - std::chrono::seconds(1));  // a late start does not burst
    const std::string key = pod->namespace_ + "/" + pod->name;
    judge(key);
    live.insert(key);
    if (Clock::now() - lastFlush >= std::chrono::seconds(1)) {
      flush();
      lastFlush = Clock::now();
    }
  }
  std::vector<std::string> gone;  // judged before, no longer cached (their removal was missed)
  for (const auto& [key, state] : pods)
    if (!live.contains(key) && !cache.get(key)) gone.push_back(key);
  for (const std::string& key : gone) forget_pod(key);
  flush();
  if (config.reports != config::AuditReports::None && writer.available()) {
    std::unordered_set<std::string> uids;
    for (const auto& [uid, w] : workloads) uids.insert(uid);
    writer.collect_garbage(uids);
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  if (metrics) {
    metrics->count_audit_judgements(trigger, static_cast<double>(snapshot.size()));
    metrics->observe_audit_pass(seconds);
  }
  if (logger)
    logger->line(log::Level::Info, "audit pass done")
        .str("trigger", trigger)
        .integer("pods", static_cast<long long>(snapshot.size()))
        .integer("workloads", static_cast<long long>(workloads.size()))
        .num("seconds", seconds);
}

void Auditor::Impl::run() {
  for (;;) {
    std::string trigger;
    {
      std::unique_lock lock(mutex);
      wake.wait_until(lock, nextPass, [&] {
        return stopping || !podQueue.empty() || !changedDigests.empty() || !passTrigger.empty() || leader != leading;
      });
      if (stopping) return;
      if (Clock::now() >= nextPass && passTrigger.empty()) passTrigger = "interval";
      trigger = passTrigger;
    }
    if (leader != leading) {  // a change of leadership: start over, or stand by
      leading = leader.load();
      clear_state();
      if (leading) ask_pass("start");
      continue;
    }
    if (!leading || !reflector->synced()) {  // standing by: the next leader's first pass covers all
      std::unique_lock lock(mutex);
      podQueue.clear();
      podQueued.clear();
      changedDigests.clear();
      if (!leading) {
        passTrigger.clear();
      } else {  // the leader's first list is not in yet: its pass waits for it
        wake.wait_for(lock, std::chrono::milliseconds(200), [&] { return stopping || leader != leading; });
      }
      continue;
    }
    if (!trigger.empty()) {
      {
        const std::lock_guard lock(mutex);
        passTrigger.clear();
      }
      nextPass = Clock::now() + config.interval;
      run_pass(trigger);
      continue;
    }
    handle_urgent();
  }
}

Auditor::Auditor(kube::Client& client, config::AuditConfig config, std::vector<std::string> skipNamespaces,
                 AuditSources sources, metrics::Metrics* metrics, log::Logger* logger)
    : impl_(std::make_shared<Impl>(client, std::move(config), std::move(skipNamespaces), std::move(sources), metrics, logger)) {}

Auditor::~Auditor() { stop(); }

void Auditor::start() {
  Impl& d = *impl_;
  d.cache.set_listener([&d](const std::string& key, std::shared_ptr<const PodProjection>) { d.queue_pod(key); });
  kube::ReflectorOptions options;
  options.resource = "pods";
  options.path = "/api/v1/pods";
  d.reflector = std::make_unique<kube::Reflector>(d.client, std::move(options), d.cache);
  if (d.config.events) {
    EventRecorderOptions eventOptions;
    eventOptions.reportingInstance = d.identity;
    d.events = std::make_unique<EventRecorder>(d.client, eventOptions, d.metrics, d.logger);
  }
  const std::string ns = d.config.leaseNamespace.empty() ? kube::own_namespace() : d.config.leaseNamespace;
  kube::LeaderElector::Callbacks callbacks;
  callbacks.on_started = [&d] {
    d.leader = true;
    d.wake.notify_one();
  };
  callbacks.on_stopped = [&d] {
    d.leader = false;
    d.wake.notify_one();
  };
  d.elector = std::make_unique<kube::LeaderElector>(
      d.client, kube::lease_options(ns, d.config.leaseName, d.identity, d.config.leaseDuration), callbacks, d.metrics, d.logger);
  d.worker = std::thread([&d] { d.run(); });
  d.reflector->start();
  d.elector->start();
}

void Auditor::stop() {
  Impl& d = *impl_;
  if (d.elector) d.elector->stop();  // first: another replica takes over at once
  {
    const std::lock_guard lock(d.mutex);
    d.stopping = true;
  }
  d.wake.notify_all();
  if (d.worker.joinable()) d.worker.join();
  if (d.reflector) d.reflector->stop();
  d.events.reset();
}

void Auditor::verdict_changed(const std::string& digest) {
  {
    const std::lock_guard lock(impl_->mutex);
    impl_->changedDigests.try_emplace(digest, Clock::now());
  }
  impl_->wake.notify_one();
}

void Auditor::rules_changed() { impl_->ask_pass("rules"); }

const PodCache& Auditor::pods() const { return impl_->cache; }
bool Auditor::synced() const { return impl_->reflector && impl_->reflector->synced(); }
bool Auditor::is_leader() const { return impl_->leader; }

}  // namespace podgate::audit
