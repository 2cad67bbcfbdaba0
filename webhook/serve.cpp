// `podgate serve`: wires config, logs, metrics, the review pipeline and the HTTPS server, and turns
// signals into a graceful drain (SIGTERM, SIGINT) or a rules reload (SIGHUP).

#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <cstdlib>
#include <memory>
#include <optional>
#include <thread>

#include "audit/auditor.h"
#include "audit/wanted.h"
#include "commands.h"
#include "kube/reflector.h"
#include "log/log.h"
#include "metrics/metrics.h"
#include "policy/namespace_standards.h"
#include "policy/policy.h"
#include "policy/review.h"
#include "policy/sources.h"
#include "scan/kube_store.h"
#include "server/metrics_listener.h"
#include "server/scan_api.h"
#include "server/server.h"
#include "version.h"

namespace podgate::cli {

namespace {

void apply_overrides(config::Config& cfg, const ServeOverrides& o) {
  if (!o.listen.empty()) cfg.server.listen = o.listen;
  if (!o.metricsListen.empty()) cfg.server.metricsListen = o.metricsListen;
  if (!o.tlsCert.empty()) cfg.server.tls.certFile = o.tlsCert;
  if (!o.tlsKey.empty()) cfg.server.tls.keyFile = o.tlsKey;
  if (!o.logLevel.empty()) cfg.logging.level = o.logLevel;
  // Flags are validated like the file, so a bad --listen names itself.
  config::parse_host_port(cfg.server.listen, "--listen");
  config::parse_host_port(cfg.server.metricsListen, "--metrics-listen");
}

// malloc: glibc's arena per thread, and heaps that keep what a request frees.
//   - Arenas: a single one (MALLOC_ARENA_MAX=1, until issue 19) made every allocation of every
//     worker take one lock: 15% of the CPU under load went to futex waits on it. It was chosen
//     because the scan cache's records, allocated by one worker and evicted by another, grew RSS
//     76% with an arena per worker; they are now read and cached on the Reviewer's one scan-read
//     thread, so they share one arena, and the arenas cost 12% more RSS after 100,000 scans and
//     digests (bench/memory.sh, docs/operations.md "Memory").
//   - Thresholds: with glibc's dynamic ones, a 30 KB review body freed at the top of a heap was
//     given back (brk, madvise) and faulted in again by the next: 3 page faults and TLB
//     shootdowns per review. Blocks under 1 MiB (every usual body, with its copies) stay in the
//     heap, and a heap is trimmed once 8 MiB lie free at its top: at most that much per arena is
//     held after a burst of large reviews.
// MALLOC_ARENA_MAX, MALLOC_MMAP_THRESHOLD_ and MALLOC_TRIM_THRESHOLD_ in the environment still win.
void tune_malloc() {
  if (std::getenv("MALLOC_MMAP_THRESHOLD_") == nullptr) mallopt(M_MMAP_THRESHOLD, 1 << 20);
  if (std::getenv("MALLOC_TRIM_THRESHOLD_") == nullptr) mallopt(M_TRIM_THRESHOLD, 8 << 20);
}

// The config file (or the embedded defaults) with the flags applied, and the log level it names.
// A bad one is logged and gives nullopt.
std::optional<config::Config> load_serve_config(const std::string& path, const ServeOverrides& overrides,
                                                log::Logger& logger) {
  config::Config cfg;
  try {
    cfg = load_config(path);
    apply_overrides(cfg, overrides);
  } catch (const std::exception& e) {
    logger.line(log::Level::Error, "cannot start: bad configuration").str("error", e.what());
    return std::nullopt;
  }
  log::Level level;
  if (log::parse_level(cfg.logging.level, level)) logger.set_min_level(level);
  return cfg;
}

// Blocks the signals in every thread (call before any starts); run_signal_loop waits for them
// synchronously.
sigset_t block_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a client that hangs up must not kill the gate
  return signals;
}

// Each connection is a file descriptor. The soft open-file limit is often 1024, which accept()
// would hit before maxConnections (1024 by default) and before idle connections can be evicted;
// raise it to the hard limit, as Go's runtime does, and say so when even that is too low.
void raise_open_file_limit(std::size_t max_connections, log::Logger& logger) {
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) != 0) return;
  if (files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
    getrlimit(RLIMIT_NOFILE, &files);
  }
  // Headroom for the listeners, the scan database, certificate reloads and registry connections.
  const rlim_t needed = static_cast<rlim_t>(max_connections) + 64;
  if (files.rlim_cur != RLIM_INFINITY && files.rlim_cur < needed)
    logger.line(log::Level::Warn, "open-file limit below server.limits.maxConnections")
        .integer("limit", static_cast<long long>(files.rlim_cur))
        .integer("maxConnections", static_cast<long long>(max_connections))
        .str("effect", "new connections fail at accept before the limit is reached; raise ulimit -n");
}

// The scan cache, opened when the scan rule needs it or the import API is on, and the API.
struct Scans {
  std::shared_ptr<scan::Store> store;
  std::unique_ptr<server::ScanApi> api;
  // "" when ready, else why not: a store read from the cluster is not ready until its first sync.
  std::function<std::string()> readiness;
  std::shared_ptr<scan::KubeStore> fromCluster;  // the store, when it reads from the cluster
};

// `changed` hears of every verdict change (the audit's trigger); it is set before the store starts.
Scans open_scans(const config::Config& cfg, kube::Client* cluster, metrics::Metrics& metrics, log::Logger& logger,
                 scan::Store::ChangeListener changed) {
  Scans scans;
  const bool scan_rule = cfg.rules.images.scan.action != config::Action::Off;
  if (scan_rule || !cfg.scans.apiTokenFile.empty()) {
    scans.store = policy::open_scan_store(cfg, cluster);
    if (changed) scans.store->set_change_listener(std::move(changed));
    scans.readiness = policy::start_scan_store(scans.store);
    scans.fromCluster = std::dynamic_pointer_cast<scan::KubeStore>(scans.store);
    if (!scans.readiness) {
      const auto stats = scans.store->stats();
      metrics.set_scan_store(static_cast<double>(stats.records), static_cast<double>(stats.oldestScan),
                             static_cast<double>(stats.newestScan));
      logger.line(log::Level::Info, "scan cache opened")
          .str("database", cfg.scans.database)
          .integer("records", stats.records)
          .boolean("api", !cfg.scans.apiTokenFile.empty());
    } else {
      logger.line(log::Level::Info, "scan cache: reading the cluster's scans; not ready until the first sync")
          .str("store", config::to_string(cfg.scans.store))
          .boolean("trivyOperator", cfg.scans.trivyOperator)
          .str("cluster", cluster->config().source)
          .boolean("api", !cfg.scans.apiTokenFile.empty());
    }
  }
  if (!cfg.scans.apiTokenFile.empty()) {
    scans.api = std::make_unique<server::ScanApi>(scans.store, server::load_api_token(cfg.scans.apiTokenFile, &logger),
                                                  cfg.scans.maxReportBytes, &metrics, &logger);
  }
  return scans;
}

// Says when the cluster's scans are in, or, past scans.syncTimeout, why they are not (podgate
// stays not ready meanwhile, so a new pod never judges from an empty cache). Ends when the store
// stops.
std::thread log_first_sync(std::shared_ptr<scan::KubeStore> store, std::chrono::milliseconds timeout,
                           log::Logger& logger) {
  return std::thread([store = std::move(store), timeout, &logger] {
    const auto started = std::chrono::steady_clock::now();
    if (!store->wait_synced(timeout)) {
      logger.line(log::Level::Error, "scan state not synced within scans.syncTimeout; staying not ready")
          .str("error", store->sync_error());
      if (!store->wait_synced(std::chrono::hours(24 * 365))) return;  // stopped
    }
    logger.line(log::Level::Info, "scan state synced from the cluster")
        .integer("imagescans", store->stats().digests)
        .num("seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  });
}

// The Kubernetes client when the config needs one (null otherwise); false after logging why it
// cannot be made.
bool open_cluster(const config::Config& cfg, metrics::Metrics& metrics, log::Logger& logger,
                  std::unique_ptr<kube::Client>& cluster) {
  if (!policy::needs_cluster(cfg)) return true;
  try {
    cluster = policy::make_kube_client(cfg, "", &metrics, &logger);
    return true;
  } catch (const std::exception& e) {
    // Say which settings asked for it, so the fix (a kubeconfig, or the setting off) is plain.
    std::string needs;
    const auto need = [&](bool on, const char* what) {
      if (on) needs += (needs.empty() ? "" : ", ") + std::string(what);
    };
    need(cfg.scans.store == config::ScanStore::Kubernetes, "scans.store: kubernetes");
    need(cfg.scans.trivyOperator, "scans.sources.trivyOperator");
    need(cfg.rules.images.resolve.pullSecrets, "rules.images.resolve.pullSecrets");
    need(cfg.audit.enabled, "audit.enabled");
    need(cfg.rules.podSecurity.namespaceLabels, "rules.podSecurity.namespaceLabels");
    logger.line(log::Level::Error, "cannot start: Kubernetes API client").str("error", e.what()).str("neededBy", needs);
    return false;
  }
}

// rules.podSecurity.namespaceLabels: every namespace's PSA labels, list-watched through the
// cluster client into the bounded cache the Reviewer reads. The reflector, declared last, stops
// first.
struct NamespaceLabels {
  std::shared_ptr<policy::NamespaceStandardsCache> cache;
  std::unique_ptr<kube::Reflector> reflector;
};

// Null members when the key is off. `cluster` is there whenever it is on (needs_cluster); false,
// logged, if not.
bool open_namespace_labels(const config::Config& cfg, kube::Client* cluster, metrics::Metrics& metrics,
                           log::Logger& logger, NamespaceLabels& out) {
  if (!cfg.rules.podSecurity.namespaceLabels) return true;
  if (!cluster) {
    logger.line(log::Level::Error, "cannot start: rules.podSecurity.namespaceLabels needs the Kubernetes API client")
        .str("fix", "run in a cluster, or set kubernetes.kubeconfig (or --kubeconfig)");
    return false;
  }
  out.cache = std::make_shared<policy::NamespaceStandardsCache>(policy::NamespaceStandardsOptions{}, &metrics, &logger);
  kube::ReflectorOptions options;
  options.resource = "namespaces";
  options.path = "/api/v1/namespaces";
  out.reflector = std::make_unique<kube::Reflector>(*cluster, std::move(options), *out.cache);
  out.reflector->start();
  logger.line(log::Level::Info,
              "pod security: reading namespaces' pod-security.kubernetes.io labels; not ready until the first sync")
      .str("cluster", cluster->config().source)
      .integer("maxBytes", static_cast<long long>(policy::kNamespaceStandardsMaxBytes));
  return true;
}

// /readyz: the scan cache's check and the namespace labels' first sync, either may be absent.
server::Router::ReadinessCheck readiness(std::function<std::string()> scans,
                                         std::shared_ptr<const policy::NamespaceStandardsCache> namespaces) {
  if (!namespaces) return scans;
  return [scans = std::move(scans), namespaces = std::move(namespaces)]() -> std::string {
    if (!namespaces->synced()) return "the namespaces' pod-security labels are not synced yet";
    return scans ? scans() : std::string();
  };
}

// SIGHUP: policy::Reviewer::reload decides what a running server can take. A bad file keeps the
// rules in force.
void reload(const std::string& path, policy::Reviewer& reviewer, metrics::Metrics& metrics, log::Logger& logger,
            audit::Auditor* auditor) {
  if (path.empty()) {
    logger.line(log::Level::Warn, "SIGHUP ignored: running on embedded defaults, no --config file to reload");
    return;
  }
  try {
    const policy::ReloadResult reloaded = reviewer.reload(config::load_file(path));
    metrics.count_config_reload(true);
    logger.line(log::Level::Info, "config reloaded").str("config", path).str("mode", config::to_string(reloaded.mode));
    if (auditor) auditor->rules_changed();  // what runs is judged again by the new rules
  } catch (const std::exception& e) {
    metrics.count_config_reload(false);
    logger.line(log::Level::Error, "config reload failed; keeping the rules in force").str("config", path).str("error", e.what());
  }
}

// Waits for the blocked `signals`: SIGHUP reloads; SIGTERM or SIGINT sets `signalled`, stops the
// server (a graceful drain) and returns.
void run_signal_loop(const sigset_t& signals, const std::string& config_path, policy::Reviewer& reviewer,
                     metrics::Metrics& metrics, log::Logger& logger, server::Server& https, audit::Auditor* auditor,
                     std::atomic<bool>& signalled) {
  for (;;) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      reload(config_path, reviewer, metrics, logger, auditor);
      continue;
    }
    signalled = true;
    logger.line(log::Level::Info, "shutting down: draining connections").str("signal", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    https.stop();
    return;
  }
}

// Verdict changes reach the audit once it exists (`target` set); the store starts, and may
// notify, before it does.
scan::Store::ChangeListener verdict_listener(const config::Config& cfg, std::atomic<audit::Auditor*>& target) {
  if (!cfg.audit.enabled) return nullptr;
  return [&target](const std::string& digest) {
    if (audit::Auditor* auditor = target.load()) auditor->verdict_changed(digest);
  };
}

// The plain-HTTP metrics listener and the HTTPS server; false after logging why they cannot start.
bool open_servers(const config::ServerConfig& server_cfg, policy::Reviewer& reviewer, const Scans& scans,
                  std::shared_ptr<const policy::NamespaceStandardsCache> namespaces, metrics::Metrics& metrics,
                  log::Logger& logger, std::unique_ptr<server::MetricsListener>& metrics_server,
                  std::unique_ptr<server::Server>& https) {
  try {
    auto mhp = config::parse_host_port(server_cfg.metricsListen, "server.metricsListen");
    metrics_server = std::make_unique<server::MetricsListener>(mhp.host, mhp.port, metrics, logger);
    https = std::make_unique<server::Server>(server_cfg, reviewer, metrics, logger, scans.api.get());
    if (auto ready = readiness(scans.readiness, namespaces)) https->set_readiness(std::move(ready));
    return true;
  } catch (const std::exception& e) {
    logger.line(log::Level::Error, "cannot start").str("error", e.what());
    return false;
  }
}

// The continuous audit and the Kubernetes client of its own: its own token bucket, so a full pass's
// owner reads and report writes never queue the admission path's reads (pull Secrets) behind them.
struct Audit {
  std::unique_ptr<kube::Client> client;
  std::unique_ptr<audit::Auditor> auditor;
};

// The continuous audit (audit.enabled): judges what runs with the rules and facts `reviewer` uses.
// The Reviewer then remembers what it admitted, for the drift check and /v1/scans/wanted.
// With the scan API on, it also serves GET /v1/scans/wanted from the Pod cache and the ledger.
// Throws kube::ConfigError when the client cannot be made.
Audit open_audit(const config::Config& cfg, policy::Reviewer& reviewer, const Scans& scans,
                 std::shared_ptr<const policy::NamespaceStandardsCache> namespaces, metrics::Metrics& metrics,
                 log::Logger& logger) {
  if (!cfg.audit.enabled) return {};
  Audit audit;
  audit.client = policy::make_kube_client(cfg, "", &metrics, &logger);
  kube::Client* cluster = audit.client.get();
  auto ledger = std::make_shared<policy::AdmissionLedger>();
  reviewer.set_admission_ledger(ledger);
  audit::AuditSources sources;
  sources.evaluator = [&reviewer] { return reviewer.evaluator(); };
  sources.images = [&reviewer] { return reviewer.image_resolver(); };
  sources.signatures = [&reviewer] { return reviewer.signature_verifier(); };
  sources.scans = scans.store;
  sources.ledger = ledger;
  sources.namespaces = std::move(namespaces);  // the audit judges with the namespaces' PSA labels too
  auto auditor = std::make_unique<audit::Auditor>(*cluster, cfg.audit, cfg.exemptions.namespaces, std::move(sources),
                                                  &metrics, &logger);
  if (scans.api && scans.store) {
    scans.api->set_wanted_source([&reviewer, auditor = auditor.get(), ledger, store = scans.store](std::size_t limit) {
      // The rules in force now: a reload's maxScanAge applies at once.
      const auto maxAge = reviewer.evaluator()->config().rules.images.scan.maxScanAge;
      const auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
      return audit::wanted_json(audit::wanted_images(&auditor->pods(), ledger.get(), *store, maxAge, now.count(), limit));
    });
  }
  logger.line(log::Level::Info, "audit: judging what runs")
      .str("reports", config::to_string(cfg.audit.reports))
      .boolean("events", cfg.audit.events)
      .str("lease", cfg.audit.leaseName)
      .str("cluster", cluster->config().source);
  audit.auditor = std::move(auditor);
  return audit;
}

// After the server has stopped: the import in hand, the audit (it hands the Lease back, so another
// replica reports at once) and the cluster's scan store.
void stop_cluster_work(Scans& scans, audit::Auditor* auditor, std::atomic<audit::Auditor*>& audit_target,
                       std::thread& sync_watch) {
  if (scans.api) scans.api->wait_idle();  // an import still in hand: its answer goes to a connection
  audit_target = nullptr;
  if (scans.api) scans.api->set_wanted_source(nullptr);  // it reads the auditor's Pod cache
  if (auditor) auditor->stop();
  if (scans.fromCluster) scans.fromCluster->stop();
  if (sync_watch.joinable()) sync_watch.join();
}

// The image resolver and the signature verifier (each null when its rule is off); false, logged,
// when the registry settings are unusable.
bool open_image_services(const config::Config& cfg, metrics::Metrics& metrics, log::Logger& logger,
                         std::shared_ptr<registry::DigestCache>& images,
                         std::shared_ptr<trust::SignatureVerifier>& signatures) {
  try {
    auto services = policy::make_image_services(cfg, &metrics, &logger);
    images = std::move(services.digests);
    signatures = std::move(services.signatures);
    return true;
  } catch (const std::exception& e) {
    logger.line(log::Level::Error, "cannot start: registry settings").str("error", e.what());
    return false;
  }
}

}  // namespace

int serve(const std::string& config_path, const ServeOverrides& overrides) {
  tune_malloc();
  log::Logger logger(2, log::Level::Info);
  auto loaded = load_serve_config(config_path, overrides, logger);
  if (!loaded) return 1;
  config::Config cfg = std::move(*loaded);
  sigset_t signals = block_signals();
  raise_open_file_limit(cfg.server.limits.maxConnections, logger);

  metrics::Metrics metrics;
  const auto server_cfg = cfg.server;
  const std::string mode = config::to_string(cfg.mode);
  const char* images_action = config::to_string(cfg.rules.images.action);
  std::shared_ptr<registry::DigestCache> images;
  std::shared_ptr<trust::SignatureVerifier> signatures;
  if (!open_image_services(cfg, metrics, logger, images, signatures)) return 1;
  std::unique_ptr<kube::Client> cluster;
  if (!open_cluster(cfg, metrics, logger, cluster)) return 1;
  std::atomic<audit::Auditor*> audit_target{nullptr};
  Scans scans;
  try {
    scans = open_scans(cfg, cluster.get(), metrics, logger, verdict_listener(cfg, audit_target));
  } catch (const std::exception& e) {
    logger.line(log::Level::Error, "cannot start: scan cache").str("error", e.what());
    return 1;
  }
  const auto sync_timeout = cfg.scans.syncTimeout;
  // The Pod's own imagePullSecrets, read from the cluster (rules.images.resolve.pullSecrets).
  auto pull_secrets = policy::make_pull_secret_cache(cfg, cluster.get(), &metrics, &logger);
  const config::Config start_cfg = cfg;
  policy::Reviewer reviewer(std::make_shared<const policy::Evaluator>(std::move(cfg)), &metrics, &logger, images,
                            scans.store, pull_secrets);
  reviewer.set_signature_verifier(std::move(signatures));
  NamespaceLabels namespace_labels;
  if (!open_namespace_labels(start_cfg, cluster.get(), metrics, logger, namespace_labels)) return 1;
  reviewer.set_namespace_standards(namespace_labels.cache);
  Audit audit;
  try {
    audit = open_audit(start_cfg, reviewer, scans, namespace_labels.cache, metrics, logger);
  } catch (const std::exception& e) {
    logger.line(log::Level::Error, "cannot start: the audit's Kubernetes API client").str("error", e.what());
    return 1;
  }
  std::unique_ptr<audit::Auditor>& auditor = audit.auditor;
  audit_target = auditor.get();

  std::unique_ptr<server::MetricsListener> metrics_server;
  std::unique_ptr<server::Server> https;
  if (!open_servers(server_cfg, reviewer, scans, namespace_labels.cache, metrics, logger, metrics_server, https))
    return 1;

  logger.line(log::Level::Info, "podgate started")
      .str("version", kVersion)
      .str("listen", server_cfg.listen)
      .integer("port", https->port())
      .str("metricsListen", server_cfg.metricsListen)
      .integer("metricsPort", metrics_server->port())
      .str("mode", mode)
      .str("imageRules", images_action)
      .str("config", config_path.empty() ? "<embedded defaults>" : config_path);

  std::thread sync_watch;
  if (scans.fromCluster) sync_watch = log_first_sync(scans.fromCluster, sync_timeout, logger);
  if (auditor) auditor->start();

  std::atomic<bool> signalled{false};
  std::thread signal_thread(
      [&] { run_signal_loop(signals, config_path, reviewer, metrics, logger, *https, auditor.get(), signalled); });
  https->run();
  // run() also returns if the server stopped by itself; wake the signal thread so it can exit.
  if (!signalled) pthread_kill(signal_thread.native_handle(), SIGTERM);
  signal_thread.join();
  // A review cut off by the grace period may still be waiting on a registry; its answer goes to a
  // connection of the server, so let it finish (by its deadline) before the server is destroyed.
  reviewer.wait_idle();
  stop_cluster_work(scans, auditor.get(), audit_target, sync_watch);
  if (namespace_labels.reflector) namespace_labels.reflector->stop();
  logger.line(log::Level::Info, "podgate stopped");
  return 0;
}

}  // namespace podgate::cli
