#pragma once
// Where podgate finds the Kubernetes API server and how it authenticates to it: in-cluster
// (the service account's files) or a kubeconfig, resolved in the order client-go and kubectl use.
// Only what a long-running component can use safely is accepted; anything else is refused with a
// ConfigError rather than silently ignored (see docs/architecture.md, "lib/kube: configuration").

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>

namespace podgate::kube {

// what() says what is wrong and where (file, context, cluster or user), never a token or key.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

inline constexpr std::size_t kMaxKubeconfigBytes = 1024 * 1024;
inline constexpr std::size_t kMaxTokenBytes = 16 * 1024;
inline constexpr std::size_t kMaxPemBytes = 1024 * 1024;

struct ClusterConfig {
  std::string server;         // "https://host:port" (IPv6 host bracketed); a kubeconfig's may carry a path
  std::string caFile;         // a PEM file to re-read on change ("" when caPem is inline, or none)
  std::string caPem;          // inline CA (certificate-authority-data, decoded)
  std::string clientCertPem;  // client-certificate(-data), decoded or read
  std::string clientKeyPem;   // client-key(-data), decoded or read
  std::string token;          // a static bearer token (kubeconfig `token`)
  std::string tokenFile;      // a token file to re-read (in cluster: <sa dir>/token; kubeconfig `tokenFile`)
  std::string tlsServerName;  // kubeconfig tls-server-name, "" when none
  std::string namespace_;     // in cluster: the namespace file; kubeconfig: the context's; else "default"
  std::string source;         // for logs and errors: "in-cluster (/var/run/...)" or "kubeconfig /path (context X)"
};
// With neither caFile nor caPem the system's trust store verifies the server. With both token and
// tokenFile, the file's last good content wins (as client-go's BearerTokenFile does).

// Where to look. The std::optional members stand in for the environment: unset means "read the
// variable" ($KUBECONFIG, $KUBERNETES_SERVICE_HOST, $KUBERNETES_SERVICE_PORT, $HOME); set (even to
// "") means use this value, so tests do not depend on the process environment.
struct ConfigSources {
  std::string kubeconfigPath;  // --kubeconfig or config kubernetes.kubeconfig; "" = none
  std::string context;         // kubeconfig context; "" = its current-context
  std::string serviceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount";
  std::optional<std::string> kubeconfigEnv, serviceHost, servicePort, home;
};

// The first of: kubeconfigPath (an error there is final); the first existing file of $KUBECONFIG's
// ':'-separated list (not merged, unlike kubectl); in cluster when KUBERNETES_SERVICE_HOST and
// KUBERNETES_SERVICE_PORT are both set; $HOME/.kube/config. Nothing found: a ConfigError naming
// every place looked at.
ClusterConfig load_cluster_config(const ConfigSources& sources);

// https://host:port, <dir>/token (must be readable and not empty), <dir>/ca.crt (when it exists),
// <dir>/namespace (trimmed; "default" when missing).
ClusterConfig in_cluster_config(const std::string& serviceAccountDir, const std::string& host, const std::string& port);

// One context of a kubeconfig file; context "" = its current-context. Relative file paths in it
// are relative to the kubeconfig's directory.
ClusterConfig kubeconfig_config(const std::string& path, const std::string& context = "");

}  // namespace podgate::kube
