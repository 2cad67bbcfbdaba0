#pragma once
// The podgate configuration: its model, its embedded defaults, and the YAML loader that validates it.
// Every field here has a default, so `podgate serve` with no file is a working, safe gate.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace podgate::config {

enum class Mode { Enforce, Audit };
enum class Action { Deny, Warn, Off };

const char* to_string(Mode mode);
const char* to_string(Action action);

struct Exemptions {
  std::vector<std::string> namespaces{"kube-system"};  // exact namespace names
  std::vector<std::string> serviceAccounts;            // "namespace:name" of the Pod's service account
  std::vector<std::string> images;                     // glob patterns: '*' within a path segment, '**' across
  // Requesting identities (userInfo.username; "system:serviceaccount:NS:NAME" for service
  // accounts), exempt from every rule: strong, like namespaces, because a pod creator cannot choose them.
  std::vector<std::string> users;

  bool operator==(const Exemptions&) const = default;
};

struct PrivilegedRule {
  Action action = Action::Deny;

  bool operator==(const PrivilegedRule&) const = default;
};

struct RuntimeSocketsRule {
  Action action = Action::Deny;
  // Built-in list of runtime socket paths (docker, containerd, cri-o, cri-dockerd, podman, k3s, k0s,
  // microk8s, rootless runtimes under /run/user/*, LXD) and /proc (magic links to the node's root).
  // Replaceable through `paths`; `extraPaths` adds to whatever `paths` is.
  std::vector<std::string> paths = default_socket_paths();
  std::vector<std::string> extraPaths;
  bool denyAllHostPaths = false;               // strict mode: any hostPath not in allowedHostPaths is a violation
  std::vector<std::string> allowedHostPaths;   // used only when denyAllHostPaths is true
  static std::vector<std::string> default_socket_paths();

  bool operator==(const RuntimeSocketsRule&) const = default;
};

// What a failed tag-to-digest resolution (registry down, timeout, auth refused) means for the image.
enum class OnResolveError { Deny, Allow };
const char* to_string(OnResolveError value);

struct ResolveSettings {
  std::chrono::milliseconds timeout{3000};    // one registry resolution (HEAD, token, GET), end to end
  std::chrono::milliseconds cacheTTL{60000};  // how long a resolved tag->digest is trusted
  std::chrono::milliseconds errorTTL{5000};   // how long a failure is remembered (no storm on an outage)
  std::size_t maxEntries = 100000;            // digest cache bound, LRU eviction
  std::size_t maxManifestBytes = 4 * 1024 * 1024;
  // Resolve with the pod's own imagePullSecrets, read from the cluster (lib/policy/pull_secrets.h),
  // before the configured credential files. Off by default: it needs `get` on every Secret
  // (docs/operations.md, "Pull secrets").
  bool pullSecrets = false;
  std::chrono::milliseconds pullSecretTTL{60000};  // how long a Secret or ServiceAccount read is trusted

  bool operator==(const ResolveSettings&) const = default;
};

// What an image with no usable scan gets.
enum class OnUnscanned { Deny, Warn, Allow };
const char* to_string(OnUnscanned value);

// A finding the scan rule does not count: a CVE (or other finding id) someone has accepted, until
// an optional date.
struct IgnoredFinding {
  std::string id;       // "CVE-2024-3094"
  std::string expires;  // "2027-01-31" (UTC, the whole day counts); "" = no expiry
  std::string reason;
  std::int64_t expiresAt = 0;  // unix seconds of the end of `expires`; 0 = never
  bool operator==(const IgnoredFinding&) const = default;
};

// rules.images.scan: verdicts from the scan cache, on the digest admission resolved.
struct ScanRule {
  Action action = Action::Off;  // needs rules.images.action on (it judges resolved digests)
  std::string severityThreshold = "CRITICAL";  // findings at or above it deny (inclusive)
  std::vector<IgnoredFinding> ignore;
  OnUnscanned onUnscanned = OnUnscanned::Deny;
  std::chrono::milliseconds maxScanAge{7LL * 24 * 3600 * 1000};  // older scans count as unscanned

  bool operator==(const ScanRule&) const = default;
};

// rules.images.signatures[]: images that must carry a cosign signature by one of `keys` over the
// digest podgate judged.
struct SignatureRule {
  // Repository globs, matched against the normalised repository ("docker.io/library/nginx",
  // "ghcr.io/acme/api"): '*' within a path segment, '**' across. Stored normalised (a pattern
  // without a registry gets docker.io's rules, as a reference does).
  std::vector<std::string> images;
  // Public keys (PEM "PUBLIC KEY": ECDSA, Ed25519 or RSA): each entry a path to a PEM file or
  // the PEM text itself. Read and checked when the rules are built.
  std::vector<std::string> keys;
  Action action = Action::Deny;  // deny | warn

  bool operator==(const SignatureRule&) const = default;
};

struct ImagesRule {
  // Off by default: resolving needs registry egress and, for private registries, credentials;
  // turning it on without them would deny every pod. The chart and docs show how to enable it.
  Action action = Action::Off;
  ResolveSettings resolve;
  OnResolveError onResolveError = OnResolveError::Deny;
  // Registries ("ghcr.io", "registry.example.com:5000") or repository prefixes ("ghcr.io/myorg/").
  // Non-empty: images from anywhere else are refused (and never resolved). Stored normalised.
  std::vector<std::string> trustedRegistries;
  // Known-bad images: a repository ("docker.io/evil/miner", any tag), a digest ("sha256:..."), or
  // "repository@sha256:...". Stored normalised.
  std::vector<std::string> blocked;
  bool requireDigest = false;  // refuse references that carry no @sha256 digest
  // POST /mutate appends the resolved digest to tag-only references ("nginx:1.27@sha256:..."), so
  // what runs is what was judged. Off: /mutate answers allowed with no patch.
  bool pinDigests = false;
  ScanRule scan;
  // Needs rules.images.action on (it verifies resolved digests). The first entry whose images
  // match an image applies to it.
  std::vector<SignatureRule> signatures;

  bool operator==(const ImagesRule&) const = default;
};

// How podgate reaches one registry (or every registry matching a glob such as "*.example.com").
struct RegistryConfig {
  std::string host;             // "registry.example.com:5000", "docker.io", "*.example.com"
  std::string caFile;           // extra CA bundle for this registry's TLS (the system roots stay trusted)
  bool plainHTTP = false;       // plain http:// (only ever for a registry listed here)
  std::string credentialsFile;  // a dockerconfigjson file (a mounted kubernetes.io/dockerconfigjson Secret)

  bool operator==(const RegistryConfig&) const = default;
};

// The Pod Security Standards' levels: Privileged checks nothing ("off" in podgate's config).
enum class PodSecurityLevel { Privileged, Baseline, Restricted };
const char* to_string(PodSecurityLevel level);  // "privileged", "baseline", "restricted"

// A version of the standards, as PSA names them: "v1.N", or latest (the newest podgate knows).
struct PodSecurityVersion {
  static constexpr int kLatest = -1;
  int minor = kLatest;  // v1.<minor>; kLatest for "latest"
  bool operator==(const PodSecurityVersion&) const = default;
};
// The newest version of the standards podgate knows (PSA v0.34): "latest" and any newer v1.N
// judge as this one, as PSA does.
constexpr int kNewestPodSecurityMinor = 34;
// "latest" or "v1.N" (N without leading zeros), as PSA's ParseVersion; nullopt otherwise. A minor
// too large to matter is stored as 999999999 (it judges as latest all the same).
std::optional<PodSecurityVersion> parse_pod_security_version(std::string_view text);
std::string to_string(PodSecurityVersion version);  // "latest", "v1.34"
// PSA's level names, as its namespace labels spell them; nullopt otherwise.
std::optional<PodSecurityLevel> parse_pod_security_level(std::string_view text);

// rules.podSecurity: the Pod Security Standards, with PSA's check names and version semantics.
struct PodSecurityRule {
  PodSecurityLevel level = PodSecurityLevel::Privileged;  // "off" (privileged), baseline, restricted
  PodSecurityVersion version;                             // "latest" or "v1.N"
  Action action = Action::Deny;                           // deny | warn
  // With the cluster client on: a namespace's pod-security.kubernetes.io/enforce (and -version)
  // labels raise the level for that namespace (never lower it below `level`), and its warn and
  // audit labels add warnings, as PSA would.
  bool namespaceLabels = false;

  bool operator==(const PodSecurityRule&) const = default;
};

struct Rules {
  PrivilegedRule privileged;
  RuntimeSocketsRule runtimeSockets;
  ImagesRule images;
  PodSecurityRule podSecurity;

  bool operator==(const Rules&) const = default;
};

struct TlsConfig {
  std::string certFile = "/etc/podgate/tls/tls.crt";
  std::string keyFile = "/etc/podgate/tls/tls.key";
  std::string clientCaFile;                       // empty: no client certificate required
  std::string minVersion = "1.2";                 // "1.2" or "1.3"
  std::chrono::milliseconds reloadInterval{5000}; // how often the files are checked for rotation

  bool operator==(const TlsConfig&) const = default;
};

struct Limits {
  std::size_t maxBodyBytes = 3 * 1024 * 1024;      // the apiserver's own object limit
  std::size_t maxHeaderBytes = 16 * 1024;
  // The TLS handshake alone: short, so connections that never finish one cannot hold slots long.
  std::chrono::milliseconds handshakeTimeout{5000};
  std::chrono::milliseconds readTimeout{10000};    // headers + body of one request (the first: from the handshake's end)
  std::chrono::milliseconds writeTimeout{10000};
  // Longer than the apiserver's 90 s idle timeout, so the client closes first and never races a close.
  std::chrono::milliseconds idleTimeout{120000};
  std::size_t maxConnections = 1024;
  // One peer address's share of maxConnections (0: no cap). Half the default maxConnections: the
  // apiserver may reach podgate from one address (or one konnectivity agent for every apiserver).
  std::size_t maxConnectionsPerPeer = 512;
  // Request bodies held by all connections together; bodies up to 64 KiB are always admitted.
  std::size_t maxBufferedBodyBytes = 32 * 1024 * 1024;

  bool operator==(const Limits&) const = default;
};

struct ServerConfig {
  std::string listen = "0.0.0.0:8443";
  std::string metricsListen = "0.0.0.0:9090";
  TlsConfig tls;
  Limits limits;
  unsigned threads = 0;                                  // 0: one per core
  std::chrono::milliseconds shutdownGracePeriod{25000};  // SIGTERM: time to finish in-flight requests
  std::chrono::milliseconds defaultReviewTimeout{10000}; // when the apiserver sends no ?timeout=

  bool operator==(const ServerConfig&) const = default;
};

// Where scans are kept: a SQLite file per pod, or ImageScan objects (imagescans.podgate.io) that
// every replica shares through the apiserver.
enum class ScanStore { Sqlite, Kubernetes };
const char* to_string(ScanStore value);

// The scan cache: where verdicts are stored, and the HTTPS import API.
struct ScansConfig {
  ScanStore store = ScanStore::Sqlite;
  std::string database = "/var/lib/podgate/scans.db";  // SQLite; opened only when the scan rule is on or scans are imported
  std::string apiTokenFile;                            // bearer token for POST/GET /v1/scans; "" = the API is off
  std::size_t maxReportBytes = 16 * 1024 * 1024;       // one POST /v1/scans body
  std::size_t cacheBytes = 64 * 1024 * 1024;           // scans held in memory for admission (estimated)
  // The kubernetes store: ImageScans whose newest scan is older than this are deleted.
  std::chrono::milliseconds retention{720LL * 3600 * 1000};
  // Findings below this severity are kept in ImageScans only as counts (one of UNKNOWN, NEGLIGIBLE,
  // LOW, MEDIUM, HIGH, CRITICAL, stored upper case). A string: config sits below lib/scan.
  std::string findingsFloor = "HIGH";
  // How long /readyz may wait for the first sync of the cluster's objects before podgate logs an
  // error (it stays not ready until the sync completes).
  std::chrono::milliseconds syncTimeout{120000};
  bool trivyOperator = false;  // scans.sources.trivyOperator: read Trivy Operator's VulnerabilityReports too

  bool operator==(const ScansConfig&) const = default;
};

// How podgate reaches the Kubernetes API server (ImageScans, VulnerabilityReports, pull Secrets).
struct KubernetesConfig {
  // "" = in cluster (the service account; outside a pod, $KUBECONFIG or ~/.kube/config, as lib/kube
  // looks), else this kubeconfig file. The --kubeconfig flag overrides it.
  std::string kubeconfig;
  double qps = 20;         // client-side token bucket for requests other than watches (client-go's default is 5)
  int burst = 50;
  std::chrono::milliseconds timeout{10000};  // one request, retries included

  bool operator==(const KubernetesConfig&) const = default;
};

// What the continuous audit writes its findings to (reports: in docs/configuration.md).
enum class AuditReports { WgPolicy, OpenReports, None };
const char* to_string(AuditReports value);  // "wgpolicyk8s.io/v1alpha2", "openreports.io/v1alpha1", "none"

// The continuous audit (lib/audit): the Pods that run, judged again whenever a scan verdict or the
// rules change, and every `interval`; findings go to PolicyReports, Events and metrics. Needs the
// Kubernetes client.
struct AuditConfig {
  bool enabled = false;
  std::chrono::milliseconds interval{3600LL * 1000};  // a full pass over every running Pod
  AuditReports reports = AuditReports::WgPolicy;
  bool events = true;              // events.k8s.io/v1 Events on the workload for newly found violations
  double podsPerSecond = 200;      // a full pass judges at most this many Pods a second
  std::size_t cacheBytes = 64 * 1024 * 1024;  // the Pod projection cache (estimated bytes)
  // The Lease that elects the one replica writing reports and Events: "" namespace = the Pod's own
  // (POD_NAMESPACE, else the service account's), else "default".
  std::string leaseNamespace;
  std::string leaseName = "podgate-audit";
  std::chrono::milliseconds leaseDuration{15000};

  bool operator==(const AuditConfig&) const = default;
};

// A custom resource whose objects carry a pod template (an Argo Rollout, an OpenKruise CloneSet,
// a Knative Service), judged as a Deployment's template is. Validated at load (schema_workloads.cpp).
struct CustomWorkload {
  std::string group;                        // API group, never "" (the core group has no custom kinds)
  std::string kind;                         // "Rollout"
  std::string resource;                     // plural the webhook routes ("rollouts"); default lowercase kind + "s"
  std::vector<std::string> versions{"*"};   // the versions the chart routes
  std::string podSpecPath;                  // dotted path to the PodSpec in the object: "spec.template.spec"

  bool operator==(const CustomWorkload&) const = default;
};

// At most this many workloads.custom entries: each is a webhook rule and a linear match per request.
inline constexpr std::size_t kMaxCustomWorkloads = 64;
// At most this many segments in a podSpecPath (the decoder walks them on its stack).
inline constexpr std::size_t kMaxPodSpecPathSegments = 16;

struct WorkloadsConfig {
  std::vector<CustomWorkload> custom;

  bool operator==(const WorkloadsConfig&) const = default;
};

struct LoggingConfig {
  std::string level = "info";  // debug | info | warn | error
  bool logAllowed = false;     // also log plain allows (every request); off by default for volume

  bool operator==(const LoggingConfig&) const = default;
};

struct Config {
  Mode mode = Mode::Enforce;
  Exemptions exemptions;
  Rules rules;
  WorkloadsConfig workloads;
  std::vector<RegistryConfig> registries;
  KubernetesConfig kubernetes;
  ScansConfig scans;
  AuditConfig audit;
  ServerConfig server;
  LoggingConfig logging;

  bool operator==(const Config&) const = default;
};

// Thrown for any unusable config. what() names the file, the key path and what is wrong, e.g.
// "podgate.yaml: rules.privileged.action: must be one of deny, warn, off (got \"block\")".
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Config text (and files) larger than this are refused before parsing: a real config is a few KiB.
inline constexpr std::size_t kMaxConfigBytes = 1024 * 1024;

// Parses YAML text (JSON is YAML too). Unknown keys are errors. `source` names the text in errors.
Config parse(const std::string& yaml_text, const std::string& source = "config");
// Reads and parses a file; a missing or unreadable file is a ConfigError.
Config load_file(const std::string& path);
// Renders a config back to YAML, every key included (docs/configuration.md shows the defaults this way).
std::string to_yaml(const Config& config);

// "HOST:PORT", "[v6]:PORT" or ":PORT" split into parts; throws ConfigError naming `key` when invalid.
struct HostPort {
  std::string host;
  unsigned short port = 0;
};
HostPort parse_host_port(const std::string& value, const std::string& key);

// True when a registries[].host pattern names `domain` (an image reference's domain, e.g.
// "docker.io", "registry.example.com:5000"): equal ignoring case, or a glob whose '*' labels each
// match exactly one DNS label. Ports must be equal; "docker.io" and "index.docker.io" are one.
bool registry_host_matches(std::string_view pattern, std::string_view domain);
// The first registries[] entry whose host matches `domain`, or null.
const RegistryConfig* find_registry(const std::vector<RegistryConfig>& registries, std::string_view domain);

}  // namespace podgate::config
