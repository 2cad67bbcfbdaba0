// lib/kube: where podgate finds the API server (in cluster, a kubeconfig, the resolution order),
// what it refuses, and the token and CA files it re-reads. Errors must never carry a token.

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "kube/ca.h"
#include "kube/config.h"
#include "kube/token.h"
#include "support/temp_dir.h"

using podgate::kube::ClusterConfig;
using podgate::kube::ConfigError;
using podgate::kube::ConfigSources;
using podgate::kube::FileWatch;
using podgate::kube::in_cluster_config;
using podgate::kube::kubeconfig_config;
using podgate::kube::load_cluster_config;
using podgate::kube::TokenSource;
using podgate::test::TempDir;
using podgate::test::write_file;
using podgate::test::write_file_atomically;
using Catch::Matchers::Contains;

namespace {

constexpr const char* kToken = "s3cr3t-T0KEN-value";
constexpr const char* kCaPem = "-----BEGIN CERTIFICATE-----\nMIIBcaCA\n-----END CERTIFICATE-----\n";
constexpr const char* kCertPem = "-----BEGIN CERTIFICATE-----\nMIIBclient\n-----END CERTIFICATE-----\n";
constexpr const char* kKeyPem = "-----BEGIN PRIVATE KEY-----\nMIIEkey\n-----END PRIVATE KEY-----\n";

std::string base64(const std::string& in) {
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  if (i + 1 == in.size()) {
    const unsigned v = static_cast<unsigned char>(in[i]) << 16;
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

// A kubeconfig with one context "ctx" -> cluster "c" and user "u"; the cluster's and user's fields
// are YAML lines indented by the caller's text (6 spaces).
std::string kubeconfig(const std::string& clusterFields, const std::string& userFields,
                       const std::string& extra = "current-context: ctx\n") {
  return "apiVersion: v1\nkind: Config\n" + extra +
         "contexts:\n- name: ctx\n  context:\n    cluster: c\n    user: u\n    namespace: team-a\n"
         "clusters:\n- name: c\n  cluster:\n" +
         clusterFields + "users:\n- name: u\n  user:\n" + userFields;
}

const std::string kServer = "    server: https://api.example.test:6443\n";
const std::string kTokenUser = std::string("    token: ") + kToken + "\n";

// The ConfigError message of loading `text` as a kubeconfig; fails the test when it loads.
std::string refusal(const TempDir& dir, const std::string& text) {
  const std::string path = dir.write("kubeconfig", text);
  try {
    kubeconfig_config(path);
  } catch (const ConfigError& e) {
    const std::string message = e.what();
    CHECK_THAT(message, !Contains(kToken));
    return message;
  }
  FAIL("kubeconfig was accepted: " << text);
  return {};
}

// A service-account directory as the kubelet projects it.
struct ServiceAccount {
  TempDir dir{"podgate-kube-sa"};
  ServiceAccount() {
    dir.write("token", std::string(kToken) + "\n");
    dir.write("ca.crt", kCaPem);
    dir.write("namespace", "podgate-system\n");
  }
};

ConfigSources no_environment() {
  ConfigSources s;
  s.kubeconfigEnv = "";
  s.serviceHost = "";
  s.servicePort = "";
  s.home = "";
  s.serviceAccountDir = "/nonexistent/podgate-sa";
  return s;
}

// The kubelet's atomic writer: <dir>/token -> ..data/token, ..data -> ..<version>.
void kubelet_write(const TempDir& dir, const std::string& version, const std::string& content) {
  namespace fs = std::filesystem;
  const std::string versionDir = dir.file(".." + version);
  fs::create_directory(versionDir);
  write_file(versionDir + "/token", content);
  const std::string tmp = dir.file("..data_tmp");
  fs::create_directory_symlink(".." + version, tmp);
  fs::rename(tmp, dir.file("..data"));
  if (!fs::is_symlink(dir.file("token"))) fs::create_symlink("..data/token", dir.file("token"));
}

}  // namespace

// ---- in cluster ----

TEST_CASE("in cluster: server, token file, CA file and namespace from the service-account dir") {
  ServiceAccount sa;
  const ClusterConfig c = in_cluster_config(sa.dir.path(), "10.96.0.1", "443");
  CHECK(c.server == "https://10.96.0.1:443");
  CHECK(c.tokenFile == sa.dir.file("token"));
  CHECK(c.token.empty());
  CHECK(c.caFile == sa.dir.file("ca.crt"));
  CHECK(c.caPem.empty());
  CHECK(c.namespace_ == "podgate-system");
  CHECK(c.source == "in-cluster (" + sa.dir.path() + ")");
}

TEST_CASE("in cluster: an IPv6 service host is bracketed") {
  ServiceAccount sa;
  CHECK(in_cluster_config(sa.dir.path(), "fd00:10:96::1", "443").server == "https://[fd00:10:96::1]:443");
}

TEST_CASE("in cluster: a missing token file is an error naming it") {
  ServiceAccount sa;
  std::filesystem::remove(sa.dir.file("token"));
  try {
    in_cluster_config(sa.dir.path(), "10.96.0.1", "443");
    FAIL("loaded without a token file");
  } catch (const ConfigError& e) {
    CHECK_THAT(e.what(), Contains(sa.dir.file("token")) && Contains("cannot open"));
  }
}

TEST_CASE("in cluster: an empty token file is an error") {
  ServiceAccount sa;
  sa.dir.write("token", "\n");
  CHECK_THROWS_WITH(in_cluster_config(sa.dir.path(), "10.96.0.1", "443"), Contains("is empty"));
}

TEST_CASE("in cluster: an oversized token file is refused without quoting it") {
  ServiceAccount sa;
  sa.dir.write("token", std::string(16 * 1024 + 1, 'x'));
  CHECK_THROWS_WITH(in_cluster_config(sa.dir.path(), "10.96.0.1", "443"),
                    Contains("larger than 16 KiB") && !Contains("xxxx"));
}

TEST_CASE("in cluster: no namespace file means default, no ca.crt means the system roots") {
  ServiceAccount sa;
  std::filesystem::remove(sa.dir.file("namespace"));
  std::filesystem::remove(sa.dir.file("ca.crt"));
  const ClusterConfig c = in_cluster_config(sa.dir.path(), "10.96.0.1", "443");
  CHECK(c.namespace_ == "default");
  CHECK(c.caFile.empty());
}

TEST_CASE("in cluster: a port that is not a number is an error") {
  ServiceAccount sa;
  CHECK_THROWS_WITH(in_cluster_config(sa.dir.path(), "10.96.0.1", "https"), Contains("not a port number"));
}

// ---- kubeconfig ----

TEST_CASE("kubeconfig: inline base64 CA, client certificate and key") {
  TempDir dir("podgate-kube");
  const std::string path = dir.write(
      "config", kubeconfig(kServer + "    certificate-authority-data: " + base64(kCaPem) + "\n" +
                               "    tls-server-name: kubernetes.default.svc\n",
                           "    client-certificate-data: " + base64(kCertPem) + "\n" +
                               "    client-key-data: " + base64(kKeyPem) + "\n"));
  const ClusterConfig c = kubeconfig_config(path);
  CHECK(c.server == "https://api.example.test:6443");
  CHECK(c.caPem == kCaPem);
  CHECK(c.caFile.empty());
  CHECK(c.clientCertPem == kCertPem);
  CHECK(c.clientKeyPem == kKeyPem);
  CHECK(c.tlsServerName == "kubernetes.default.svc");
  CHECK(c.token.empty());
  CHECK(c.namespace_ == "team-a");
  CHECK(c.source == "kubeconfig " + path + " (context ctx)");
}

TEST_CASE("kubeconfig: base64 wrapped over lines in a block scalar decodes") {
  TempDir dir("podgate-kube");
  std::string encoded = base64(kCaPem);
  std::string wrapped;
  for (std::size_t i = 0; i < encoded.size(); i += 20) wrapped += "      " + encoded.substr(i, 20) + "\n";
  const std::string path =
      dir.write("config", kubeconfig(kServer + "    certificate-authority-data: |\n" + wrapped, kTokenUser));
  CHECK(kubeconfig_config(path).caPem == kCaPem);
}

TEST_CASE("kubeconfig: file paths are relative to the kubeconfig's directory") {
  TempDir dir("podgate-kube");
  std::filesystem::create_directories(dir.file("kube/pki"));
  dir.write("kube/pki/ca.crt", kCaPem);
  dir.write("kube/pki/client.crt", kCertPem);
  dir.write("kube/pki/client.key", kKeyPem);
  dir.write("kube/token", std::string(kToken) + "\n");
  const std::string path = dir.write(
      "kube/config", kubeconfig(kServer + "    certificate-authority: pki/ca.crt\n",
                                "    client-certificate: pki/client.crt\n    client-key: ./pki/client.key\n"
                                "    tokenFile: token\n"));
  const ClusterConfig c = kubeconfig_config(path);
  CHECK(c.caFile == dir.file("kube/pki/ca.crt"));
  CHECK(c.caPem.empty());
  CHECK(c.clientCertPem == kCertPem);
  CHECK(c.clientKeyPem == kKeyPem);
  CHECK(c.tokenFile == dir.file("kube/token"));
}

TEST_CASE("kubeconfig: a relative kubeconfig path still resolves its files to absolute paths") {
  TempDir dir("podgate-kube");
  dir.write("ca.crt", kCaPem);
  dir.write("config", kubeconfig(kServer + "    certificate-authority: ca.crt\n", kTokenUser));
  const auto previous = std::filesystem::current_path();
  std::filesystem::current_path(dir.path());
  ClusterConfig c;
  try {
    c = kubeconfig_config("config");
  } catch (...) {
    std::filesystem::current_path(previous);
    throw;
  }
  std::filesystem::current_path(previous);
  CHECK(std::filesystem::path(c.caFile).is_absolute());
  CHECK(std::filesystem::equivalent(c.caFile, dir.file("ca.crt")));
}

TEST_CASE("kubeconfig: current-context is used when no context is given, and a named one wins") {
  TempDir dir("podgate-kube");
  const std::string path = dir.write("config", R"(apiVersion: v1
kind: Config
current-context: dev
contexts:
- name: dev
  context: {cluster: dev-cluster, user: dev-user}
- name: prod
  context: {cluster: prod-cluster, user: prod-user, namespace: podgate}
clusters:
- name: dev-cluster
  cluster: {server: "https://dev.example.test"}
- name: prod-cluster
  cluster: {server: "https://[2001:db8::1]:6443/"}
users:
- name: dev-user
  user: {token: dev-token}
- name: prod-user
  user: {token: prod-token}
)");
  const ClusterConfig dev = kubeconfig_config(path);
  CHECK(dev.server == "https://dev.example.test");
  CHECK(dev.token == "dev-token");
  CHECK(dev.namespace_ == "default");
  CHECK(dev.source == "kubeconfig " + path + " (context dev)");
  const ClusterConfig prod = kubeconfig_config(path, "prod");
  CHECK(prod.server == "https://[2001:db8::1]:6443");
  CHECK(prod.token == "prod-token");
  CHECK(prod.namespace_ == "podgate");
}

TEST_CASE("kubeconfig: tokenFile is kept as a path to re-read, beside a static token") {
  TempDir dir("podgate-kube");
  dir.write("token", "file-token\n");
  const std::string path = dir.write("config", kubeconfig(kServer, kTokenUser + "    tokenFile: token\n"));
  const ClusterConfig c = kubeconfig_config(path);
  CHECK(c.token == kToken);
  CHECK(c.tokenFile == dir.file("token"));
  TokenSource source(c.token, c.tokenFile);
  CHECK(source.token() == "file-token");
}

TEST_CASE("kubeconfig: the refusals say what is not supported and what to use") {
  TempDir dir("podgate-kube");
  SECTION("an exec credential plugin") {
    CHECK_THAT(refusal(dir, kubeconfig(kServer, "    exec:\n      command: aws\n      apiVersion: "
                                                  "client.authentication.k8s.io/v1beta1\n")),
               Contains("user \"u\": exec credential plugins are not supported; use a token, a token file "
                        "or a client certificate"));
  }
  SECTION("an auth-provider") {
    CHECK_THAT(refusal(dir, kubeconfig(kServer, "    auth-provider:\n      name: oidc\n")),
               Contains("user \"u\": auth-provider plugins are not supported; use a token, a token file or a "
                        "client certificate"));
  }
  SECTION("basic auth") {
    CHECK_THAT(refusal(dir, kubeconfig(kServer, "    username: admin\n    password: hunter2\n")),
               Contains("user \"u\": username/password (basic) authentication is not supported") &&
                   !Contains("hunter2"));
  }
  SECTION("impersonation") {
    CHECK_THAT(refusal(dir, kubeconfig(kServer, kTokenUser + "    as: system:admin\n")),
               Contains("impersonation (as) is not supported"));
  }
  SECTION("insecure-skip-tls-verify: true") {
    CHECK_THAT(refusal(dir, kubeconfig(kServer + "    insecure-skip-tls-verify: true\n", kTokenUser)),
               Contains("cluster \"c\": insecure-skip-tls-verify is not supported"));
  }
  SECTION("a server that is not https") {
    CHECK_THAT(refusal(dir, kubeconfig("    server: http://api.example.test:8080\n", kTokenUser)),
               Contains("cluster \"c\": server must be an https:// URL"));
  }
  SECTION("a server with user information") {
    CHECK_THAT(refusal(dir, kubeconfig("    server: https://admin:pw@api.example.test\n", kTokenUser)),
               Contains("must not carry user information") && !Contains("pw@"));
  }
  SECTION("a cluster without a server") {
    CHECK_THAT(refusal(dir, kubeconfig("    tls-server-name: x\n", kTokenUser)), Contains("cluster \"c\" has no server"));
  }
  SECTION("no current-context and none asked for") {
    CHECK_THAT(refusal(dir, kubeconfig(kServer, kTokenUser, "")),
               Contains("no context given and current-context is not set"));
  }
  SECTION("a current-context that does not exist") {
    CHECK_THAT(refusal(dir, kubeconfig(kServer, kTokenUser, "current-context: gone\n")),
               Contains("context \"gone\" not found (there are \"ctx\")"));
  }
  SECTION("a context naming no cluster") {
    CHECK_THAT(refusal(dir, "current-context: x\ncontexts:\n- name: x\n  context: {user: u}\n"),
               Contains("context \"x\" names no cluster"));
  }
  SECTION("a context naming no user") {
    CHECK_THAT(refusal(dir, "current-context: x\ncontexts:\n- name: x\n  context: {cluster: c}\n"),
               Contains("context \"x\" names no user"));
  }
  SECTION("a context naming a cluster that does not exist") {
    CHECK_THAT(refusal(dir, "current-context: x\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\n"),
               Contains("cluster \"c\" not found (there are none)"));
  }
  SECTION("a context naming a user that does not exist") {
    CHECK_THAT(refusal(dir, "current-context: x\ncontexts:\n- name: x\n  context: {cluster: c, user: nobody}\n"
                            "clusters:\n- name: c\n  cluster: {server: 'https://a'}\nusers:\n- name: u\n  user: {}\n"),
               Contains("user \"nobody\" not found (there are \"u\")"));
  }
  SECTION("a list entry without a name") {
    CHECK_THAT(refusal(dir, "current-context: x\ncontexts:\n- context: {cluster: c, user: u}\n"),
               Contains("contexts[0]: has no name"));
  }
  SECTION("a client certificate without its key") {
    CHECK_THAT(refusal(dir, kubeconfig(kServer, "    client-certificate-data: " + base64(kCertPem) + "\n")),
               Contains("client-certificate is set without client-key"));
  }
  SECTION("both a CA file and inline CA data") {
    CHECK_THAT(refusal(dir, kubeconfig(kServer + "    certificate-authority: ca.crt\n    certificate-authority-data: " +
                                           base64(kCaPem) + "\n",
                                       kTokenUser)),
               Contains("both certificate-authority and certificate-authority-data are set"));
  }
  SECTION("inline data that is not base64") {
    CHECK_THAT(refusal(dir, kubeconfig(kServer + "    certificate-authority-data: not*base64\n", kTokenUser)),
               Contains("certificate-authority-data is not valid base64"));
  }
  SECTION("inline data that is not PEM") {
    CHECK_THAT(refusal(dir, kubeconfig(kServer + "    certificate-authority-data: " + base64("hello") + "\n",
                                       kTokenUser)),
               Contains("certificate-authority-data holds no PEM block"));
  }
  SECTION("a missing certificate file, named with its resolved path") {
    CHECK_THAT(refusal(dir, kubeconfig(kServer + "    certificate-authority: missing/ca.crt\n", kTokenUser)),
               Contains(dir.file("missing/ca.crt")) && Contains("cannot open"));
  }
  SECTION("an empty token file") {
    dir.write("token", "  \n");
    CHECK_THAT(refusal(dir, kubeconfig(kServer, "    tokenFile: token\n")), Contains("is empty"));
  }
  SECTION("YAML that is not a kubeconfig") {
    CHECK_THAT(refusal(dir, "- a\n- b\n"), Contains("expected a map at the top level"));
    CHECK_THAT(refusal(dir, ""), Contains("is empty"));
    CHECK_THAT(refusal(dir, "clusters: [}\n"), Contains("YAML error"));
    CHECK_THAT(refusal(dir, "current-context: ctx\ncontexts: {ctx: 1}\n"), Contains("contexts: expected a list"));
  }
}

TEST_CASE("kubeconfig: insecure-skip-tls-verify: false is accepted") {
  TempDir dir("podgate-kube");
  const std::string path = dir.write("config", kubeconfig(kServer + "    insecure-skip-tls-verify: false\n", kTokenUser));
  CHECK(kubeconfig_config(path).server == "https://api.example.test:6443");
}

TEST_CASE("kubeconfig: size bounds on the file, the token, the token file and PEM files") {
  TempDir dir("podgate-kube");
  SECTION("the kubeconfig itself is at most 1 MiB") {
    const std::string text = kubeconfig(kServer, kTokenUser) + "# " + std::string(1024 * 1024, 'p') + "\n";
    CHECK_THAT(refusal(dir, text), Contains("is larger than 1 MiB"));
  }
  SECTION("an inline token is at most 16 KiB") {
    const std::string big(16 * 1024 + 1, 'k');
    CHECK_THAT(refusal(dir, kubeconfig(kServer, "    token: " + big + "\n")),
               Contains("token is larger than 16 KiB") && !Contains("kkkk"));
  }
  SECTION("a token file is at most 16 KiB") {
    dir.write("token", std::string(16 * 1024 + 1, 'k'));
    CHECK_THAT(refusal(dir, kubeconfig(kServer, "    tokenFile: token\n")),
               Contains("is larger than 16 KiB") && !Contains("kkkk"));
  }
  SECTION("a PEM file is at most 1 MiB") {
    dir.write("ca.crt", std::string(kCaPem) + std::string(1024 * 1024, '#'));
    CHECK_THAT(refusal(dir, kubeconfig(kServer + "    certificate-authority: ca.crt\n", kTokenUser)),
               Contains("is larger than 1 MiB"));
  }
  SECTION("a token of exactly 16 KiB is accepted") {
    const std::string exact(16 * 1024, 'k');
    const std::string path = dir.write("config", kubeconfig(kServer, "    token: " + exact + "\n"));
    CHECK(kubeconfig_config(path).token == exact);
  }
}

TEST_CASE("kubeconfig: no error carries the token, whatever goes wrong") {
  TempDir dir("podgate-kube");
  const std::string user = kTokenUser + "    tokenFile: missing-token\n";
  const std::string msg = refusal(dir, kubeconfig(kServer, user));
  CHECK_THAT(msg, Contains("missing-token") && !Contains(kToken));
  CHECK_THAT(refusal(dir, kubeconfig(kServer, kTokenUser + "    exec: {command: x}\n")), !Contains(kToken));
  CHECK_THAT(refusal(dir, kubeconfig(kServer, std::string("    token: [") + kToken + "]\n")),
             Contains("token: expected a string") && !Contains(kToken));
}

// ---- resolution order ----

TEST_CASE("resolution: an explicit path wins over $KUBECONFIG, in cluster and ~/.kube/config") {
  TempDir dir("podgate-kube");
  ServiceAccount sa;
  const std::string explicitPath = dir.write("explicit", kubeconfig("    server: https://explicit\n", kTokenUser));
  const std::string envPath = dir.write("env", kubeconfig("    server: https://env\n", kTokenUser));
  std::filesystem::create_directories(dir.file("home/.kube"));
  dir.write("home/.kube/config", kubeconfig("    server: https://home\n", kTokenUser));
  ConfigSources s = no_environment();
  s.kubeconfigPath = explicitPath;
  s.kubeconfigEnv = envPath;
  s.serviceHost = "10.96.0.1";
  s.servicePort = "443";
  s.serviceAccountDir = sa.dir.path();
  s.home = dir.file("home");
  CHECK(load_cluster_config(s).server == "https://explicit");
  s.kubeconfigPath.clear();
  CHECK(load_cluster_config(s).server == "https://env");
  s.kubeconfigEnv = "";
  CHECK(load_cluster_config(s).server == "https://10.96.0.1:443");
  s.serviceHost = "";
  CHECK(load_cluster_config(s).server == "https://home");
}

TEST_CASE("resolution: an explicit path that is missing is an error, not a fall-through") {
  TempDir dir("podgate-kube");
  ConfigSources s = no_environment();
  s.kubeconfigPath = dir.file("nope");
  s.kubeconfigEnv = dir.write("env", kubeconfig(kServer, kTokenUser));
  CHECK_THROWS_WITH(load_cluster_config(s), Contains(dir.file("nope")) && Contains("cannot open"));
}

TEST_CASE("resolution: $KUBECONFIG takes the first existing file of its list") {
  TempDir dir("podgate-kube");
  const std::string second = dir.write("second", kubeconfig("    server: https://second\n", kTokenUser));
  const std::string third = dir.write("third", kubeconfig("    server: https://third\n", kTokenUser));
  ConfigSources s = no_environment();
  s.kubeconfigEnv = dir.file("first-missing") + "::" + second + ":" + third;
  CHECK(load_cluster_config(s).server == "https://second");
  s.kubeconfigEnv = third + ":" + second;
  CHECK(load_cluster_config(s).server == "https://third");
}

TEST_CASE("resolution: the context in ConfigSources selects one") {
  TempDir dir("podgate-kube");
  ConfigSources s = no_environment();
  s.kubeconfigPath = dir.write("config", kubeconfig(kServer, kTokenUser, ""));
  s.context = "ctx";
  CHECK(load_cluster_config(s).namespace_ == "team-a");
}

TEST_CASE("resolution: nothing found lists every place looked at") {
  TempDir dir("podgate-kube");
  ConfigSources s = no_environment();
  s.kubeconfigEnv = dir.file("a") + ":" + dir.file("b");
  s.home = dir.path();
  try {
    load_cluster_config(s);
    FAIL("found a configuration");
  } catch (const ConfigError& e) {
    const std::string m = e.what();
    CHECK_THAT(m, Contains("no Kubernetes API configuration found"));
    CHECK_THAT(m, Contains("--kubeconfig (not set)"));
    CHECK_THAT(m, Contains("$KUBECONFIG (" + dir.file("a") + ", " + dir.file("b") + ": none exists)"));
    CHECK_THAT(m, Contains("KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not both set"));
    CHECK_THAT(m, Contains(dir.file(".kube/config") + " (does not exist)"));
  }
  s.kubeconfigEnv = "";
  s.home = "";
  CHECK_THROWS_WITH(load_cluster_config(s), Contains("$KUBECONFIG (not set)") && Contains("$HOME is not set"));
}

TEST_CASE("resolution: only one of the service variables set is not in cluster") {
  ConfigSources s = no_environment();
  s.serviceHost = "10.96.0.1";
  CHECK_THROWS_WITH(load_cluster_config(s), Contains("not both set"));
}

// ---- TokenSource ----

TEST_CASE("TokenSource: a static token, and none") {
  CHECK(TokenSource("abc", "").token() == "abc");
  CHECK(TokenSource("", "").token().empty());
}

TEST_CASE("TokenSource: follows the kubelet's symlink swap after invalidate()") {
  TempDir dir("podgate-kube-token");
  kubelet_write(dir, "2024_01", "token-one\n");
  TokenSource source("", dir.file("token"), std::chrono::hours(1));
  CHECK(source.token() == "token-one");
  kubelet_write(dir, "2024_02", "token-two\n");
  CHECK(source.token() == "token-one");  // cached for the period
  source.invalidate();
  CHECK(source.token() == "token-two");
  CHECK(source.last_error().empty());
}

TEST_CASE("TokenSource: re-reads once the period has passed") {
  TempDir dir("podgate-kube-token");
  kubelet_write(dir, "a", "token-one");
  TokenSource source("", dir.file("token"), std::chrono::milliseconds(200));
  CHECK(source.token() == "token-one");
  kubelet_write(dir, "b", "token-two");
  CHECK(source.token() == "token-one");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(source.token() == "token-two");
}

TEST_CASE("TokenSource: a failed or empty read keeps the last good token and says why") {
  TempDir dir("podgate-kube-token");
  const std::string file = dir.write("token", kToken);
  TokenSource source("static", file, std::chrono::hours(1));
  CHECK(source.token() == kToken);

  write_file_atomically(file, "\n");
  source.invalidate();
  CHECK(source.token() == kToken);
  CHECK_THAT(source.last_error(), Contains(file) && Contains("is empty") && !Contains(kToken));

  std::filesystem::remove(file);
  source.invalidate();
  CHECK(source.token() == kToken);
  CHECK_THAT(source.last_error(), Contains("cannot open") && !Contains(kToken));

  write_file(file, std::string(16 * 1024 + 1, 'z'));
  source.invalidate();
  CHECK(source.token() == kToken);
  CHECK_THAT(source.last_error(), Contains("larger than 16 KiB") && !Contains("zzzz"));

  write_file_atomically(file, "fresh\n");
  source.invalidate();
  CHECK(source.token() == "fresh");
  CHECK(source.last_error().empty());
}

TEST_CASE("TokenSource: the static token stands in until the file is first read") {
  TempDir dir("podgate-kube-token");
  TokenSource source("static", dir.file("token"), std::chrono::hours(1));
  CHECK(source.token() == "static");
  CHECK_THAT(source.last_error(), Contains("cannot open"));
  dir.write("token", "from-file");
  CHECK(source.token() == "from-file");  // no good read yet, so no waiting for the period
}

TEST_CASE("TokenSource: concurrent callers see a whole token", "[concurrency]") {
  TempDir dir("podgate-kube-token");
  kubelet_write(dir, "v0", "token-0");
  TokenSource source("", dir.file("token"), std::chrono::milliseconds(0));
  std::atomic<bool> bad{false};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        const std::string token = source.token();
        if (token.rfind("token-", 0) != 0) bad = true;
        if (i % 50 == 0) source.invalidate();
      }
    });
  }
  for (int v = 1; v < 20; ++v) kubelet_write(dir, "v" + std::to_string(v), "token-" + std::to_string(v));
  for (auto& r : readers) r.join();
  CHECK_FALSE(bad);
}

// ---- FileWatch ----

TEST_CASE("FileWatch: reads at once, re-reads on refresh_now() and reports a change") {
  TempDir dir("podgate-kube-ca");
  const std::string file = dir.write("ca.crt", "one");
  FileWatch watch(file, std::chrono::hours(1));
  auto first = watch.get();
  CHECK(first.content == "one");
  CHECK(first.generation == 1);

  write_file_atomically(file, "one");
  CHECK_FALSE(watch.refresh_now());  // same content: no change
  CHECK(watch.get().generation == 1);

  write_file_atomically(file, "two");
  CHECK(watch.get().content == "one");  // the period has not passed
  CHECK(watch.refresh_now());
  CHECK(watch.get().content == "two");
  CHECK(watch.get().generation == 2);
}

TEST_CASE("FileWatch: a failed or empty read keeps the last good content") {
  TempDir dir("podgate-kube-ca");
  const std::string file = dir.write("ca.crt", "good");
  FileWatch watch(file, std::chrono::hours(1), 16);
  write_file_atomically(file, "");
  CHECK_FALSE(watch.refresh_now());
  CHECK(watch.get().content == "good");
  CHECK_THAT(watch.last_error(), Contains("is empty"));
  write_file_atomically(file, std::string(17, 'x'));
  CHECK_FALSE(watch.refresh_now());
  CHECK_THAT(watch.last_error(), Contains("larger than 16 bytes"));
  std::filesystem::remove(file);
  CHECK_FALSE(watch.refresh_now());
  CHECK(watch.get().content == "good");
  CHECK_THAT(watch.last_error(), Contains("cannot open"));
}

TEST_CASE("FileWatch: re-reads once the period has passed, and a missing file at first") {
  TempDir dir("podgate-kube-ca");
  const std::string file = dir.file("ca.crt");
  FileWatch watch(file, std::chrono::milliseconds(200));
  CHECK(watch.get().generation == 0);
  CHECK_FALSE(watch.last_error().empty());
  write_file(file, "one");
  CHECK(watch.get().content == "one");  // nothing good yet: every get() tries
  write_file_atomically(file, "two");
  CHECK(watch.get().content == "one");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const auto snap = watch.get();
  CHECK(snap.content == "two");
  CHECK(snap.generation == 2);
}
