// Finding the API server and the credentials for it: client-go's rest.InClusterConfig and the
// parts of a kubeconfig (clientcmd) a long-running component can use safely.

#include "kube/config.h"
#include "util/base64.h"

#include "kube/files.h"
#include "util/text.h"
#include "yaml/guard.h"

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string_view>
#include <sys/stat.h>
#include <utility>
#include <vector>

namespace podgate::kube {

namespace {

constexpr std::size_t kMaxNameInError = 128;
constexpr std::string_view kUseInstead = "; use a token, a token file or a client certificate";

std::string q(std::string_view name) { return util::quoted(name, kMaxNameInError, true); }

bool file_exists(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0;
}

// The file's content, or a ConfigError "<where>: <what> <path>: <why>".
std::string read_or_throw(const std::string& where, const std::string& what, const std::string& path,
                          std::size_t maxBytes) {
  std::string why;
  auto text = detail::read_bounded(path, maxBytes, why);
  if (!text) throw ConfigError(where + ": " + what + " " + path + ": " + why);
  return std::move(*text);
}

// Go's net.JoinHostPort: a host with a ':' (IPv6) is bracketed.
std::string join_host_port(const std::string& host, const std::string& port) {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + port;
  return host + ":" + port;
}

// ---- base64: what Go's encoding/json does with a []byte field, and a little more lenient (padded
// or not, any ASCII space skipped: a YAML block scalar wraps long values); lib/util/base64.h ----

std::optional<std::string> decode_base64(std::string_view text, util::Base64Error& error) {
  util::Base64Options options;
  options.skipAllWhitespace = true;
  return util::decode_base64(text, kMaxPemBytes, &error, options);
}

// ---- the kubeconfig walk ----

class Kubeconfig {
 public:
  Kubeconfig(std::string path, std::string dir) : path_(std::move(path)), dir_(std::move(dir)) {}

  [[noreturn]] void fail(const std::string& message) const { throw ConfigError("kubeconfig " + path_ + ": " + message); }

  // The value of a string field, "" when absent or null.
  std::string scalar(const YAML::Node& map, const char* key, const std::string& where) const {
    const YAML::Node node = map[key];
    if (!node || node.IsNull()) return {};
    if (!node.IsScalar()) fail(where + key + ": expected a string");
    return node.Scalar();
  }

  bool boolean(const YAML::Node& map, const char* key, const std::string& where) const {
    const YAML::Node node = map[key];
    if (!node || node.IsNull()) return false;
    bool value = false;
    if (!node.IsScalar() || !YAML::convert<bool>::decode(node, value)) fail(where + key + ": expected true or false");
    return value;
  }

  // The map under `name` in the named list (contexts, clusters, users), or a ConfigError.
  YAML::Node find(const YAML::Node& root, const char* list, const char* field, const std::string& name) const {
    const YAML::Node entries = root[list];
    std::vector<std::string> names;
    if (entries && !entries.IsNull()) {
      if (!entries.IsSequence()) fail(std::string(list) + ": expected a list");
      for (std::size_t i = 0; i < entries.size(); ++i) {
        const YAML::Node entry = entries[i];
        const std::string where = std::string(list) + "[" + std::to_string(i) + "]";
        if (!entry.IsMap()) fail(where + ": expected a map with name and " + field);
        const std::string entryName = scalar(entry, "name", where + ".");
        if (entryName.empty()) fail(where + ": has no name");
        if (entryName != name) {
          if (names.size() < 10) names.push_back(q(entryName));
          continue;
        }
        const YAML::Node body = entry[field];
        if (!body || body.IsNull()) return YAML::Node(YAML::NodeType::Map);
        if (!body.IsMap()) fail(where + "." + field + ": expected a map");
        return body;
      }
    }
    std::string known;
    for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
    fail(std::string(list).substr(0, std::string(list).size() - 1) + " " + q(name) + " not found" +
         (known.empty() ? std::string(" (there are none)") : " (there are " + known + ")"));
  }

  // A path from the kubeconfig, relative to its directory, made absolute.
  std::string resolve(const std::string& file) const {
    std::filesystem::path p(file);
    if (p.is_relative()) p = std::filesystem::path(dir_) / p;
    return p.lexically_normal().string();
  }

  // A PEM from `<key>-data` (base64) or `<key>` (a file), at most one of them.
  std::string pem(const YAML::Node& map, const std::string& fileKey, const std::string& where, bool keepFile,
                  std::string* fileOut) const {
    const std::string dataKey = fileKey + "-data";
    const std::string data = scalar(map, dataKey.c_str(), where + ": ");
    const std::string file = scalar(map, fileKey.c_str(), where + ": ");
    if (!data.empty() && !file.empty()) fail(where + ": both " + fileKey + " and " + dataKey + " are set; set one");
    std::string text;
    if (!data.empty()) {
      util::Base64Error error = util::Base64Error::None;
      auto decoded = decode_base64(data, error);
      if (error == util::Base64Error::TooLarge) fail(where + ": " + dataKey + " is larger than 1 MiB");
      if (!decoded) fail(where + ": " + dataKey + " is not valid base64");
      text = std::move(*decoded);
    } else if (!file.empty()) {
      const std::string path = resolve(file);
      text = read_or_throw("kubeconfig " + path_ + ": " + where, fileKey, path, kMaxPemBytes);
      if (keepFile && fileOut) *fileOut = path;
    } else {
      return {};
    }
    if (text.find("-----BEGIN ") == std::string::npos) {
      fail(where + ": " + (data.empty() ? fileKey + " " + resolve(file) : dataKey) + " holds no PEM block");
    }
    return text;
  }

  ClusterConfig load(const std::string& text, const std::string& wanted) const {
    const YAML::Node root = parse(text);
    std::string contextName = wanted;
    if (contextName.empty()) {
      contextName = scalar(root, "current-context", "");
      if (contextName.empty()) fail("no context given and current-context is not set");
    }
    const std::string cw = "context " + q(contextName);
    const YAML::Node context = find(root, "contexts", "context", contextName);
    const std::string clusterName = scalar(context, "cluster", cw + ": ");
    if (clusterName.empty()) fail(cw + " names no cluster");
    const std::string userName = scalar(context, "user", cw + ": ");
    if (userName.empty()) fail(cw + " names no user");

    ClusterConfig out;
    out.namespace_ = scalar(context, "namespace", cw + ": ");
    if (out.namespace_.empty()) out.namespace_ = "default";
    out.source = "kubeconfig " + path_ + " (context " + contextName + ")";
    read_cluster(find(root, "clusters", "cluster", clusterName), "cluster " + q(clusterName), out);
    read_user(find(root, "users", "user", userName), "user " + q(userName), out);
    return out;
  }

 private:
  YAML::Node parse(const std::string& text) const {
    YAML::Node root;
    try {
      yaml::check_documents_advance(text);
      root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
      const std::string at = e.mark.is_null() ? "" : "line " + std::to_string(e.mark.line + 1) + ", column " +
                                                          std::to_string(e.mark.column + 1) + ": ";
      fail(at + "YAML error: " + e.msg);
    }
    if (!root || root.IsNull()) fail("is empty");
    if (!root.IsMap()) fail("expected a map at the top level (apiVersion, kind, clusters, contexts, users)");
    return root;
  }

  // The server (https only, no user information, query or fragment), CA and TLS server name.
  void read_cluster(const YAML::Node& cluster, const std::string& kw, ClusterConfig& out) const {
    std::string server = scalar(cluster, "server", kw + ": ");
    if (server.empty()) fail(kw + " has no server");
    if (!util::ascii_istarts_with(server, "https://")) {
      const auto colon = server.find("://");
      fail(kw + ": server must be an https:// URL (it is " +
           (colon == std::string::npos ? std::string("not a URL") : q(server.substr(0, colon + 3)) + "...") +
           "); podgate does not send credentials in the clear");
    }
    server = "https://" + server.substr(8);
    while (server.size() > 8 && server.back() == '/') server.pop_back();
    const std::string_view authority = std::string_view(server).substr(8, server.find_first_of("/?#", 8) - 8);
    if (authority.empty()) fail(kw + ": server has no host");
    if (authority.find('@') != std::string_view::npos) fail(kw + ": server must not carry user information");
    if (server.find_first_of("?#") != std::string::npos) fail(kw + ": server must not carry a query or fragment");
    out.server = server;
    if (boolean(cluster, "insecure-skip-tls-verify", kw + ": ")) {
      fail(kw + ": insecure-skip-tls-verify is not supported: podgate always verifies the API server's "
                "certificate (set certificate-authority or certificate-authority-data)");
    }
    out.caPem = pem(cluster, "certificate-authority", kw, true, &out.caFile);
    if (!out.caFile.empty()) out.caPem.clear();  // re-read from caFile
    out.tlsServerName = scalar(cluster, "tls-server-name", kw + ": ");
  }

  // The credentials: a token, a token file or a client certificate; every other way refused.
  void read_user(const YAML::Node& user, const std::string& uw, ClusterConfig& out) const {
    if (user["exec"] && !user["exec"].IsNull()) {
      fail(uw + ": exec credential plugins are not supported" + std::string(kUseInstead));
    }
    if (user["auth-provider"] && !user["auth-provider"].IsNull()) {
      fail(uw + ": auth-provider plugins are not supported" + std::string(kUseInstead));
    }
    if (!scalar(user, "username", uw + ": ").empty() || !scalar(user, "password", uw + ": ").empty()) {
      fail(uw + ": username/password (basic) authentication is not supported" + std::string(kUseInstead));
    }
    for (const char* key : {"as", "as-uid", "as-groups", "as-user-extra"}) {
      if (user[key] && !user[key].IsNull()) fail(uw + ": impersonation (" + key + ") is not supported");
    }
    out.token = detail::trim(scalar(user, "token", uw + ": "));
    if (out.token.size() > kMaxTokenBytes) fail(uw + ": token is larger than 16 KiB");
    const std::string tokenFile = scalar(user, "tokenFile", uw + ": ");
    if (!tokenFile.empty()) {
      out.tokenFile = resolve(tokenFile);
      // Read once now so a wrong path fails at start, not at the first request.
      const std::string token = read_or_throw("kubeconfig " + path_ + ": " + uw, "tokenFile", out.tokenFile, kMaxTokenBytes);
      if (detail::trim(token).empty()) fail(uw + ": tokenFile " + out.tokenFile + " is empty");
    }
    out.clientCertPem = pem(user, "client-certificate", uw, false, nullptr);
    out.clientKeyPem = pem(user, "client-key", uw, false, nullptr);
    if (out.clientCertPem.empty() != out.clientKeyPem.empty()) {
      fail(uw + ": " + (out.clientCertPem.empty() ? "client-key is set without client-certificate"
                                                  : "client-certificate is set without client-key"));
    }
  }

  std::string path_;
  std::string dir_;
};

std::optional<std::string> env_or(const std::optional<std::string>& given, const char* name) {
  if (given) return given;
  if (const char* value = std::getenv(name)) return std::string(value);
  return std::nullopt;
}

}  // namespace

ClusterConfig in_cluster_config(const std::string& serviceAccountDir, const std::string& host, const std::string& port) {
  const std::string where = "in-cluster config (" + serviceAccountDir + ")";
  if (host.empty() || port.empty()) {
    throw ConfigError(where + ": KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must both be set");
  }
  if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos || std::stoul(port) == 0 ||
      std::stoul(port) > 65535) {
    throw ConfigError(where + ": KUBERNETES_SERVICE_PORT " + q(port) + " is not a port number");
  }
  ClusterConfig out;
  out.server = "https://" + join_host_port(host, port);
  out.tokenFile = serviceAccountDir + "/token";
  const std::string token = read_or_throw(where, "token file", out.tokenFile, kMaxTokenBytes);
  if (detail::trim(token).empty()) throw ConfigError(where + ": token file " + out.tokenFile + " is empty");
  // client-go goes on without the CA file when it cannot load it (the system roots then verify).
  const std::string ca = serviceAccountDir + "/ca.crt";
  if (file_exists(ca)) {
    read_or_throw(where, "CA file", ca, kMaxPemBytes);
    out.caFile = ca;
  }
  std::string why;
  if (auto ns = detail::read_bounded(serviceAccountDir + "/namespace", 1024, why)) out.namespace_ = detail::trim(*ns);
  if (out.namespace_.empty()) out.namespace_ = "default";
  out.source = "in-cluster (" + serviceAccountDir + ")";
  return out;
}

ClusterConfig kubeconfig_config(const std::string& path, const std::string& context) {
  std::string why;
  const auto read = detail::read_bounded(path, kMaxKubeconfigBytes, why);
  if (!read) throw ConfigError("kubeconfig " + path + ": " + why);
  const std::string& text = *read;
  std::string dir = std::filesystem::path(path).parent_path().string();
  std::error_code ec;
  const auto absolute = std::filesystem::absolute(dir.empty() ? "." : dir, ec);
  if (!ec) dir = absolute.string();
  return Kubeconfig(path, dir).load(text, context);
}

ClusterConfig load_cluster_config(const ConfigSources& sources) {
  if (!sources.kubeconfigPath.empty()) return kubeconfig_config(sources.kubeconfigPath, sources.context);

  std::vector<std::string> looked;
  looked.push_back("--kubeconfig (not set)");

  const auto env = env_or(sources.kubeconfigEnv, "KUBECONFIG");
  if (env && !env->empty()) {
    std::string tried;
    std::size_t start = 0;
    while (start <= env->size()) {
      auto end = env->find(':', start);
      if (end == std::string::npos) end = env->size();
      const std::string entry = env->substr(start, end - start);
      start = end + 1;
      if (entry.empty()) continue;
      if (file_exists(entry)) return kubeconfig_config(entry, sources.context);
      tried += (tried.empty() ? "" : ", ") + entry;
    }
    looked.push_back("$KUBECONFIG (" + (tried.empty() ? std::string("no paths") : tried + ": none exists") + ")");
  } else {
    looked.push_back("$KUBECONFIG (not set)");
  }

  const auto host = env_or(sources.serviceHost, "KUBERNETES_SERVICE_HOST");
  const auto port = env_or(sources.servicePort, "KUBERNETES_SERVICE_PORT");
  if (host && !host->empty() && port && !port->empty()) {
    return in_cluster_config(sources.serviceAccountDir, *host, *port);
  }
  looked.push_back("in cluster (KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not both set)");

  const auto home = env_or(sources.home, "HOME");
  if (home && !home->empty()) {
    const std::string path = *home + "/.kube/config";
    if (file_exists(path)) return kubeconfig_config(path, sources.context);
    looked.push_back(path + " (does not exist)");
  } else {
    looked.push_back("~/.kube/config ($HOME is not set)");
  }

  std::string message = "no Kubernetes API configuration found; looked at: ";
  for (std::size_t i = 0; i < looked.size(); ++i) message += (i ? "; " : "") + looked[i];
  throw ConfigError(message);
}

}  // namespace podgate::kube
