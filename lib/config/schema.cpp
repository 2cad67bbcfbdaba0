// What podgate's config contains: one Reader function per section (the keys it accepts and how
// each value is checked) and the checks of the values that have a grammar of their own (namespace
// names, listen addresses, registry hosts). rules.* and the image entries' forms: schema_rules.cpp.

#include "config/config.h"
#include "config/config_internal.h"
#include "config/reader.h"

#include "image/reference.h"
#include "util/text.h"

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace podgate::config {

namespace {

using detail::fold_docker_hub;
using detail::has_control;
using detail::has_whitespace_or_control;
using detail::parse_unsigned;
using detail::quoted;

// RFC 1123 label, as Kubernetes validates namespace names.
bool is_dns1123_label(std::string_view text) {
  if (text.empty() || text.size() > 63) return false;
  const auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  for (const char c : text) {
    if (!alnum(c) && c != '-') return false;
  }
  return alnum(text.front()) && alnum(text.back());
}


// The problem with a HOST:PORT string, or nullopt with `out` filled.
std::optional<std::string> host_port_problem(const std::string& value, HostPort& out) {
  const std::string expected = "expected HOST:PORT, [IPv6]:PORT or :PORT, got " + quoted(value);
  if (value.empty() || value.size() > 300) return expected;
  std::string host;
  std::string port;
  if (value.front() == '[') {
    const auto close = value.find(']');
    if (close == std::string::npos || close + 1 >= value.size() || value[close + 1] != ':') return expected;
    host = value.substr(1, close - 1);
    port = value.substr(close + 2);
    if (host.empty() || host.find(':') == std::string::npos) return expected;
    for (const char c : host) {
      const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == ':' ||
                      c == '.' || c == '%' || c == '-' || c == '_';
      if (!ok) return expected;
    }
  } else {
    const auto colon = value.rfind(':');
    if (colon == std::string::npos) return expected;
    host = value.substr(0, colon);
    port = value.substr(colon + 1);
    // A bare IPv6 address is ambiguous about where the port starts; the brackets are required.
    for (const char c : host) {
      const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' ||
                      c == '-' || c == '_';
      if (!ok) return expected;
    }
  }
  const auto number = (port.size() <= 5) ? parse_unsigned(port) : std::nullopt;
  if (!number || *number > 65535) return "port must be a number from 0 to 65535, got " + quoted(port);
  out.host = std::move(host);
  out.port = static_cast<unsigned short>(*number);
  return std::nullopt;
}

// registries[].host: "host", "host:port", "[v6]:port", with '*' allowed as a whole DNS label.
std::optional<std::string> registry_host_problem(const std::string& host) {
  const std::string expected = "expected a registry host such as \"registry.example.com:5000\" or a glob such as "
                               "\"*.example.com\" (no scheme, no path), got " + quoted(host);
  if (host.find("://") != std::string::npos || host.find('/') != std::string::npos) return expected;
  std::string probe = host;
  // Each '*' label stands for one ordinary label.
  for (std::size_t at = probe.find('*'); at != std::string::npos; at = probe.find('*', at)) {
    const bool whole = (at == 0 || probe[at - 1] == '.') && (at + 1 == probe.size() || probe[at + 1] == '.' || probe[at + 1] == ':');
    if (!whole) return expected;
    probe.replace(at, 1, "x");
  }
  const auto parsed = image::parse(probe + "/probe");
  if (!parsed || util::ascii_lowercase(parsed.reference->domain) != fold_docker_hub(util::ascii_lowercase(probe))) return expected;
  return std::nullopt;
}

}  // namespace

namespace detail {

bool has_whitespace_or_control(std::string_view text) {
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return true;
  }
  return false;
}
// ---------------------------------------------------------------------------------------------
// The sections.

void Reader::read(const YAML::Node& root, Config& config) {
  mapping(root, "",
          {
              {"mode", [&](const YAML::Node& n, const std::string& p) { config.mode = mode(n, p); }},
              {"exemptions", [&](const YAML::Node& n, const std::string& p) { exemptions(n, p, config.exemptions); }},
              {"rules", [&](const YAML::Node& n, const std::string& p) { rules(n, p, config.rules); }},
              {"workloads", [&](const YAML::Node& n, const std::string& p) { workloads(n, p, config.workloads); }},
              {"registries",
               [&](const YAML::Node& n, const std::string& p) { registries(n, p, config.registries); }},
              {"kubernetes",
               [&](const YAML::Node& n, const std::string& p) { kubernetes(n, p, config.kubernetes); }},
              {"scans", [&](const YAML::Node& n, const std::string& p) { scans(n, p, config.scans); }},
              {"audit", [&](const YAML::Node& n, const std::string& p) { audit(n, p, config.audit); }},
              {"server", [&](const YAML::Node& n, const std::string& p) { server(n, p, config.server); }},
              {"logging", [&](const YAML::Node& n, const std::string& p) { logging(n, p, config.logging); }},
          });
}

Mode Reader::mode(const YAML::Node& node, const std::string& path) const {
  return choice<Mode>(node, path, {{"enforce", Mode::Enforce}, {"audit", Mode::Audit}});
}

// A scanner severity in any case, stored upper case (lib/scan's names; config cannot use lib/scan).
std::string Reader::severity(const YAML::Node& node, const std::string& path) const {
  std::string value = string(node, path);
  for (char& c : value)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  static const char* const kSeverities[] = {"UNKNOWN", "NEGLIGIBLE", "LOW", "MEDIUM", "HIGH", "CRITICAL"};
  if (std::find(std::begin(kSeverities), std::end(kSeverities), value) == std::end(kSeverities))
    fail(path, "must be one of UNKNOWN, NEGLIGIBLE, LOW, MEDIUM, HIGH, CRITICAL (got " + quoted(node.Scalar()) + ")");
  return value;
}

Action Reader::action(const YAML::Node& node, const std::string& path) const {
  return choice<Action>(node, path, {{"deny", Action::Deny}, {"warn", Action::Warn}, {"off", Action::Off}});
}

void Reader::exemptions(const YAML::Node& node, const std::string& path, Exemptions& out) {
  mapping(node, path,
          {
              {"namespaces",
               [&](const YAML::Node& n, const std::string& p) {
                 out.namespaces = string_list(n, p, [](const std::string& v) -> std::optional<std::string> {
                   if (is_dns1123_label(v)) return std::nullopt;
                   return "must be a valid namespace name (a DNS-1123 label: at most 63 lowercase letters, digits "
                          "or '-', starting and ending with a letter or digit), got " +
                          quoted(v);
                 });
               }},
              {"serviceAccounts",
               [&](const YAML::Node& n, const std::string& p) {
                 out.serviceAccounts = string_list(n, p, [](const std::string& v) -> std::optional<std::string> {
                   const auto colon = v.find(':');
                   if (colon != std::string::npos && is_dns1123_label(std::string_view(v).substr(0, colon)) &&
                       is_dns1123_label(std::string_view(v).substr(colon + 1))) {
                     return std::nullopt;
                   }
                   return "expected \"namespace:name\" with both parts DNS-1123 labels, got " + quoted(v);
                 });
               }},
              {"images",
               [&](const YAML::Node& n, const std::string& p) {
                 out.images = string_list(n, p, [](const std::string& v) -> std::optional<std::string> {
                   if (!v.empty() && !has_whitespace_or_control(v)) return std::nullopt;
                   return "must be a non-empty image pattern without whitespace, got " + quoted(v);
                 });
               }},
              {"users",
               [&](const YAML::Node& n, const std::string& p) {
                 out.users = string_list(n, p, [](const std::string& v) -> std::optional<std::string> {
                   if (!v.empty() && !has_control(v)) return std::nullopt;
                   return "must be a non-empty user name (userInfo.username, e.g. "
                          "\"system:serviceaccount:monitoring:agent-installer\"), got " +
                          quoted(v);
                 });
               }},
          });
}

std::vector<std::string> Reader::host_paths(const YAML::Node& node, const std::string& path) const {
  return string_list(node, path, [](const std::string& v) -> std::optional<std::string> {
    if (!v.empty() && v.front() == '/' && !has_control(v)) return std::nullopt;
    return "must be an absolute path (starting with '/'), got " + quoted(v);
  });
}

void Reader::kubernetes(const YAML::Node& node, const std::string& path, KubernetesConfig& out) {
  mapping(node, path,
          {
              {"kubeconfig", [&](const YAML::Node& n, const std::string& p) { out.kubeconfig = string(n, p); }},
              {"qps", [&](const YAML::Node& n, const std::string& p) { out.qps = decimal(n, p, 10000, "10000"); }},
              {"burst",
               [&](const YAML::Node& n, const std::string& p) { out.burst = static_cast<int>(integer(n, p, 1, 100000)); }},
              {"timeout", [&](const YAML::Node& n, const std::string& p) { out.timeout = duration(n, p); }},
          });
}

void Reader::scans(const YAML::Node& node, const std::string& path, ScansConfig& out) {
  mapping(node, path,
          {
              {"store",
               [&](const YAML::Node& n, const std::string& p) {
                 out.store = choice<ScanStore>(n, p, {{"sqlite", ScanStore::Sqlite}, {"kubernetes", ScanStore::Kubernetes}});
               }},
              {"database", [&](const YAML::Node& n, const std::string& p) { out.database = non_empty_string(n, p); }},
              {"apiTokenFile", [&](const YAML::Node& n, const std::string& p) { out.apiTokenFile = string(n, p); }},
              {"maxReportBytes",
               [&](const YAML::Node& n, const std::string& p) {
                 out.maxReportBytes = byte_size(n, p, 1ULL << 10, "1Ki", 64ULL << 20, "64Mi");
               }},
              {"cacheBytes",
               [&](const YAML::Node& n, const std::string& p) {
                 out.cacheBytes = byte_size(n, p, 1ULL << 20, "1Mi", 16ULL << 30, "16Gi");
               }},
              {"retention",
               [&](const YAML::Node& n, const std::string& p) {
                 out.retention = duration(n, p, std::chrono::hours(1), "1h", std::chrono::hours(8784), "8784h (a year)");
               }},
              {"findingsFloor", [&](const YAML::Node& n, const std::string& p) { out.findingsFloor = severity(n, p); }},
              {"syncTimeout",
               [&](const YAML::Node& n, const std::string& p) {
                 out.syncTimeout = duration(n, p, std::chrono::hours(1), "1h");
               }},
              {"sources",
               [&](const YAML::Node& n, const std::string& p) {
                 mapping(n, p,
                         {{"trivyOperator",
                           [&](const YAML::Node& m, const std::string& q) { out.trivyOperator = boolean(m, q); }}});
               }},
          });
}

void Reader::audit(const YAML::Node& node, const std::string& path, AuditConfig& out) {
  mapping(node, path,
          {
              {"enabled", [&](const YAML::Node& n, const std::string& p) { out.enabled = boolean(n, p); }},
              {"interval",
               [&](const YAML::Node& n, const std::string& p) {
                 out.interval = duration(n, p, std::chrono::minutes(1), "1m", std::chrono::hours(168), "168h");
               }},
              {"reports",
               [&](const YAML::Node& n, const std::string& p) {
                 out.reports = choice<AuditReports>(n, p,
                                                    {{"wgpolicyk8s.io/v1alpha2", AuditReports::WgPolicy},
                                                     {"openreports.io/v1alpha1", AuditReports::OpenReports},
                                                     {"none", AuditReports::None}});
               }},
              {"events", [&](const YAML::Node& n, const std::string& p) { out.events = boolean(n, p); }},
              {"podsPerSecond",
               [&](const YAML::Node& n, const std::string& p) { out.podsPerSecond = decimal(n, p, 100000, "100000"); }},
              {"cacheBytes",
               [&](const YAML::Node& n, const std::string& p) {
                 out.cacheBytes = byte_size(n, p, 1ULL << 20, "1Mi", 16ULL << 30, "16Gi");
               }},
              {"lease",
               [&](const YAML::Node& n, const std::string& p) {
                 mapping(n, p,
                         {
                             {"namespace",
                              [&](const YAML::Node& m, const std::string& q) {
                                out.leaseNamespace = string(m, q);
                                if (!out.leaseNamespace.empty() && !is_dns1123_label(out.leaseNamespace)) {
                                  fail(q, "must be empty or a valid namespace name, got " + quoted(out.leaseNamespace));
                                }
                              }},
                             {"name",
                              [&](const YAML::Node& m, const std::string& q) {
                                out.leaseName = non_empty_string(m, q);
                                if (!is_dns1123_label(out.leaseName)) {
                                  fail(q, "must be a DNS-1123 label (a Lease name), got " + quoted(out.leaseName));
                                }
                              }},
                             {"duration",
                              [&](const YAML::Node& m, const std::string& q) {
                                out.leaseDuration = duration(m, q, std::chrono::seconds(5), "5s", std::chrono::minutes(5), "5m");
                              }},
                         });
               }},
          });
}

void Reader::resolve(const YAML::Node& node, const std::string& path, ResolveSettings& out) {
  mapping(node, path,
          {
              {"timeout", [&](const YAML::Node& n, const std::string& p) { out.timeout = duration(n, p); }},
              {"cacheTTL", [&](const YAML::Node& n, const std::string& p) { out.cacheTTL = duration(n, p); }},
              {"errorTTL", [&](const YAML::Node& n, const std::string& p) { out.errorTTL = duration(n, p); }},
              {"maxEntries",
               [&](const YAML::Node& n, const std::string& p) {
                 out.maxEntries = static_cast<std::size_t>(integer(n, p, 1, 10000000));
               }},
              {"maxManifestBytes",
               [&](const YAML::Node& n, const std::string& p) {
                 out.maxManifestBytes = byte_size(n, p, 4ULL << 10, "4Ki", 64ULL << 20, "64Mi");
               }},
              {"pullSecrets", [&](const YAML::Node& n, const std::string& p) { out.pullSecrets = boolean(n, p); }},
              {"pullSecretTTL", [&](const YAML::Node& n, const std::string& p) { out.pullSecretTTL = duration(n, p); }},
          });
}

void Reader::registries(const YAML::Node& node, const std::string& path, std::vector<RegistryConfig>& out) {
  out.clear();
  if (node.IsNull()) return;
  if (!node.IsSequence()) fail(path, "expected a list, got " + describe(node));
  std::size_t index = 0;
  for (const auto& item : node) {
    const std::string item_path = path + "[" + std::to_string(index++) + "]";
    RegistryConfig registry;
    mapping(item, item_path,
            {
                {"host",
                 [&](const YAML::Node& n, const std::string& p) {
                   registry.host = non_empty_string(n, p);
                   if (auto problem = registry_host_problem(registry.host)) fail(p, *problem);
                 }},
                {"caFile", [&](const YAML::Node& n, const std::string& p) { registry.caFile = string(n, p); }},
                {"plainHTTP", [&](const YAML::Node& n, const std::string& p) { registry.plainHTTP = boolean(n, p); }},
                {"credentialsFile",
                 [&](const YAML::Node& n, const std::string& p) { registry.credentialsFile = string(n, p); }},
            });
    if (registry.host.empty()) fail(item_path + ".host", "is required");
    for (const auto& other : out)
      if (other.host == registry.host) fail(item_path + ".host", "duplicate registry " + quoted(registry.host));
    out.push_back(std::move(registry));
  }
}

void Reader::listen_address(const YAML::Node& node, const std::string& path, std::string& out) const {
  const std::string& value = scalar(node, path, "HOST:PORT");
  HostPort parsed;
  if (auto problem = host_port_problem(value, parsed)) fail(path, *problem);
  out = value;
}

void Reader::server(const YAML::Node& node, const std::string& path, ServerConfig& out) {
  mapping(node, path,
          {
              {"listen", [&](const YAML::Node& n, const std::string& p) { listen_address(n, p, out.listen); }},
              {"metricsListen",
               [&](const YAML::Node& n, const std::string& p) { listen_address(n, p, out.metricsListen); }},
              {"threads",
               [&](const YAML::Node& n, const std::string& p) {
                 out.threads = static_cast<unsigned>(integer(n, p, 0, 256));
               }},
              {"shutdownGracePeriod",
               [&](const YAML::Node& n, const std::string& p) { out.shutdownGracePeriod = duration(n, p); }},
              {"defaultReviewTimeout",
               [&](const YAML::Node& n, const std::string& p) { out.defaultReviewTimeout = duration(n, p); }},
              {"tls", [&](const YAML::Node& n, const std::string& p) { tls(n, p, out.tls); }},
              {"limits", [&](const YAML::Node& n, const std::string& p) { limits(n, p, out.limits); }},
          });
}

void Reader::tls(const YAML::Node& node, const std::string& path, TlsConfig& out) {
  mapping(node, path,
          {
              {"certFile", [&](const YAML::Node& n, const std::string& p) { out.certFile = non_empty_string(n, p); }},
              {"keyFile", [&](const YAML::Node& n, const std::string& p) { out.keyFile = non_empty_string(n, p); }},
              {"clientCaFile", [&](const YAML::Node& n, const std::string& p) { out.clientCaFile = string(n, p); }},
              {"minVersion",
               [&](const YAML::Node& n, const std::string& p) {
                 const std::string value = string(n, p);
                 if (value != "1.2" && value != "1.3") fail(p, "must be one of \"1.2\", \"1.3\" (got " + quoted(value) + ")");
                 out.minVersion = value;
               }},
              {"reloadInterval",
               [&](const YAML::Node& n, const std::string& p) { out.reloadInterval = duration(n, p); }},
          });
}

void Reader::limits(const YAML::Node& node, const std::string& path, Limits& out) {
  mapping(node, path,
          {
              {"maxBodyBytes",
               [&](const YAML::Node& n, const std::string& p) {
                 out.maxBodyBytes = byte_size(n, p, 1ULL << 10, "1Ki", 64ULL << 20, "64Mi");
               }},
              {"maxHeaderBytes",
               [&](const YAML::Node& n, const std::string& p) {
                 out.maxHeaderBytes = byte_size(n, p, 1ULL << 10, "1Ki", 1ULL << 20, "1Mi");
               }},
              {"handshakeTimeout",
               [&](const YAML::Node& n, const std::string& p) { out.handshakeTimeout = duration(n, p); }},
              {"readTimeout", [&](const YAML::Node& n, const std::string& p) { out.readTimeout = duration(n, p); }},
              {"writeTimeout", [&](const YAML::Node& n, const std::string& p) { out.writeTimeout = duration(n, p); }},
              {"idleTimeout", [&](const YAML::Node& n, const std::string& p) { out.idleTimeout = duration(n, p); }},
              {"maxConnections",
               [&](const YAML::Node& n, const std::string& p) {
                 out.maxConnections = static_cast<std::size_t>(integer(n, p, 1, 1000000));
               }},
              {"maxConnectionsPerPeer",
               [&](const YAML::Node& n, const std::string& p) {
                 out.maxConnectionsPerPeer = static_cast<std::size_t>(integer(n, p, 0, 1000000));
               }},
              {"maxBufferedBodyBytes",
               [&](const YAML::Node& n, const std::string& p) {
                 out.maxBufferedBodyBytes = byte_size(n, p, 1ULL << 20, "1Mi", 4ULL << 30, "4Gi");
               }},
          });
}

void Reader::logging(const YAML::Node& node, const std::string& path, LoggingConfig& out) {
  mapping(node, path,
          {
              {"level",
               [&](const YAML::Node& n, const std::string& p) {
                 out.level = choice<const char*>(
                     n, p, {{"debug", "debug"}, {"info", "info"}, {"warn", "warn"}, {"error", "error"}});
               }},
              {"logAllowed", [&](const YAML::Node& n, const std::string& p) { out.logAllowed = boolean(n, p); }},
          });
}

}  // namespace detail

HostPort parse_host_port(const std::string& value, const std::string& key) {
  HostPort out;
  if (auto problem = host_port_problem(value, out)) throw ConfigError(key + ": " + *problem);
  return out;
}

}  // namespace podgate::config
