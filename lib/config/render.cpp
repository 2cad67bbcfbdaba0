// to_yaml: a Config rendered back to YAML, every key included (docs/configuration.md shows the
// defaults this way). The output loads back to an equal Config.

#include "config/config.h"
#include "config/config_internal.h"

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace podgate::config {

namespace {

using detail::normalize_blocked_entry;
using detail::normalize_trusted_entry;

// "2m", "1m30s", "1s500ms": the shortest exact rendering in h/m/s/ms components.
std::string format_duration(std::chrono::milliseconds duration) {
  std::int64_t ms = duration.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out += '-';
    ms = -ms;
  }
  const std::int64_t hours = ms / 3600000;
  const std::int64_t minutes = ms / 60000 % 60;
  const std::int64_t seconds = ms / 1000 % 60;
  const std::int64_t millis = ms % 1000;
  if (hours != 0) out += std::to_string(hours) + "h";
  if (minutes != 0) out += std::to_string(minutes) + "m";
  if (seconds != 0) out += std::to_string(seconds) + "s";
  if (millis != 0) out += std::to_string(millis) + "ms";
  return out;
}

// trustedRegistries and blocked entries as to_yaml writes them, so they load back unchanged. The
// stored form lower-cases the domain, and upper case is what made some spellings name a registry:
// "MyRegistry/app" is the registry MyRegistry, but "myregistry/app" is docker.io/myregistry/app;
// "docKer.io/app" is not folded into Docker Hub's library/, but "docker.io/app" is (both found by
// fuzzing the to_yaml round trip). An entry that would not load back as itself is written with its
// domain in upper case, which loads back to the same entry.
std::vector<std::string> yaml_spelling(const std::vector<std::string>& entries,
                                       std::string (*normalize)(const std::string&)) {
  std::vector<std::string> out = entries;
  for (std::string& entry : out) {
    try {
      if (normalize(entry) == entry) continue;
    } catch (const std::invalid_argument&) {
      // Not loadable as stored: the upper-case spelling below is.
    }
    for (std::size_t i = 0; i < entry.size() && entry[i] != '/'; ++i)
      if (entry[i] >= 'a' && entry[i] <= 'z') entry[i] = static_cast<char>(entry[i] - 'a' + 'A');
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Rendering. Strings are written plain only when every YAML parser reads them back as the same
// string; anything that could be a boolean, null, number, alias or flow token is double-quoted.

bool safe_as_plain(std::string_view text) {
  static constexpr std::string_view kReserved[] = {
      "y",    "Y",    "yes",   "Yes",   "YES",   "n",  "N",  "no",  "No",  "NO",   "true", "True", "TRUE",
      "false", "False", "FALSE", "on",   "On",   "ON", "off", "Off", "OFF", "null", "Null", "NULL",
  };
  if (text.empty()) return false;
  const char first = text.front();
  if (!((first >= 'a' && first <= 'z') || (first >= 'A' && first <= 'Z') || first == '/')) return false;
  for (const char c : text) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '/' ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  for (const auto reserved : kReserved) {
    if (text == reserved) return false;
  }
  return true;
}

std::string yaml_string(std::string_view text) {
  if (safe_as_plain(text)) return std::string(text);
  static const char* const hex = "0123456789abcdef";
  std::string out = "\"";
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      out += "\\x";
      out += hex[u >> 4];
      out += hex[u & 0xF];
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

class YamlWriter {
 public:
  void line(int indent, const std::string& key, const std::string& value) {
    out_ += std::string(static_cast<std::size_t>(indent) * 2, ' ') + key + ":";
    if (!value.empty()) out_ += " " + value;
    out_ += "\n";
  }
  void section(int indent, const std::string& key) { line(indent, key, ""); }
  void list(int indent, const std::string& key, const std::vector<std::string>& items) {
    if (items.empty()) {
      line(indent, key, "[]");
      return;
    }
    section(indent, key);
    for (const auto& item : items) out_ += std::string(static_cast<std::size_t>(indent + 1) * 2, ' ') + "- " + yaml_string(item) + "\n";
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

}  // namespace

std::string to_yaml(const Config& config) {
  YamlWriter w;
  w.line(0, "mode", to_string(config.mode));
  w.section(0, "exemptions");
  w.list(1, "namespaces", config.exemptions.namespaces);
  w.list(1, "serviceAccounts", config.exemptions.serviceAccounts);
  w.list(1, "images", config.exemptions.images);
  w.list(1, "users", config.exemptions.users);
  w.section(0, "rules");
  w.section(1, "privileged");
  w.line(2, "action", yaml_string(to_string(config.rules.privileged.action)));
  w.section(1, "runtimeSockets");
  const auto& sockets = config.rules.runtimeSockets;
  w.line(2, "action", yaml_string(to_string(sockets.action)));
  w.list(2, "paths", sockets.paths);
  w.list(2, "extraPaths", sockets.extraPaths);
  w.line(2, "denyAllHostPaths", sockets.denyAllHostPaths ? "true" : "false");
  w.list(2, "allowedHostPaths", sockets.allowedHostPaths);
  w.section(1, "images");
  const auto& images = config.rules.images;
  w.line(2, "action", yaml_string(to_string(images.action)));
  w.section(2, "resolve");
  w.line(3, "timeout", format_duration(images.resolve.timeout));
  w.line(3, "cacheTTL", format_duration(images.resolve.cacheTTL));
  w.line(3, "errorTTL", format_duration(images.resolve.errorTTL));
  w.line(3, "maxEntries", std::to_string(images.resolve.maxEntries));
  w.line(3, "maxManifestBytes", std::to_string(images.resolve.maxManifestBytes));
  w.line(2, "onResolveError", to_string(images.onResolveError));
  w.list(2, "trustedRegistries", yaml_spelling(images.trustedRegistries, normalize_trusted_entry));
  w.list(2, "blocked", yaml_spelling(images.blocked, normalize_blocked_entry));
  w.line(2, "requireDigest", images.requireDigest ? "true" : "false");
  w.section(2, "scan");
  const auto& scan = images.scan;
  w.line(3, "action", yaml_string(to_string(scan.action)));
  w.line(3, "severityThreshold", yaml_string(scan.severityThreshold));
  if (scan.ignore.empty()) {
    w.line(3, "ignore", "[]");
  } else {
    w.section(3, "ignore");
    for (const auto& f : scan.ignore) {
      w.line(4, "- id", yaml_string(f.id));
      w.line(5, "expires", yaml_string(f.expires));
      w.line(5, "reason", yaml_string(f.reason));
    }
  }
  w.line(3, "onUnscanned", to_string(scan.onUnscanned));
  w.line(3, "maxScanAge", format_duration(scan.maxScanAge));
  if (config.registries.empty()) {
    w.line(0, "registries", "[]");
  } else {
    w.section(0, "registries");
    for (const auto& r : config.registries) {
      w.line(1, "- host", yaml_string(r.host));
      w.line(2, "caFile", yaml_string(r.caFile));
      w.line(2, "plainHTTP", r.plainHTTP ? "true" : "false");
      w.line(2, "credentialsFile", yaml_string(r.credentialsFile));
    }
  }
  w.section(0, "scans");
  w.line(1, "database", yaml_string(config.scans.database));
  w.line(1, "apiTokenFile", yaml_string(config.scans.apiTokenFile));
  w.line(1, "maxReportBytes", std::to_string(config.scans.maxReportBytes));
  w.line(1, "cacheBytes", std::to_string(config.scans.cacheBytes));
  const auto& server = config.server;
  w.section(0, "server");
  w.line(1, "listen", yaml_string(server.listen));
  w.line(1, "metricsListen", yaml_string(server.metricsListen));
  w.line(1, "threads", std::to_string(server.threads));
  w.line(1, "shutdownGracePeriod", format_duration(server.shutdownGracePeriod));
  w.line(1, "defaultReviewTimeout", format_duration(server.defaultReviewTimeout));
  w.section(1, "tls");
  w.line(2, "certFile", yaml_string(server.tls.certFile));
  w.line(2, "keyFile", yaml_string(server.tls.keyFile));
  w.line(2, "clientCaFile", yaml_string(server.tls.clientCaFile));
  w.line(2, "minVersion", yaml_string(server.tls.minVersion));
  w.line(2, "reloadInterval", format_duration(server.tls.reloadInterval));
  w.section(1, "limits");
  w.line(2, "maxBodyBytes", std::to_string(server.limits.maxBodyBytes));
  w.line(2, "maxHeaderBytes", std::to_string(server.limits.maxHeaderBytes));
  w.line(2, "handshakeTimeout", format_duration(server.limits.handshakeTimeout));
  w.line(2, "readTimeout", format_duration(server.limits.readTimeout));
  w.line(2, "writeTimeout", format_duration(server.limits.writeTimeout));
  w.line(2, "idleTimeout", format_duration(server.limits.idleTimeout));
  w.line(2, "maxConnections", std::to_string(server.limits.maxConnections));
  w.line(2, "maxConnectionsPerPeer", std::to_string(server.limits.maxConnectionsPerPeer));
  w.line(2, "maxBufferedBodyBytes", std::to_string(server.limits.maxBufferedBodyBytes));
  w.section(0, "logging");
  w.line(1, "level", yaml_string(config.logging.level));
  w.line(1, "logAllowed", config.logging.logAllowed ? "true" : "false");
  return w.take();
}

}  // namespace podgate::config
