// to_yaml: a Config rendered back to YAML by yaml-cpp's emitter, every key included
// (docs/configuration.md shows the defaults this way). The output loads back to an equal Config.

#include "config/config.h"
#include "util/text.h"
#include "config/config_internal.h"

#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

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
// Strings are written plain only when every YAML parser reads them back as the same string;
// anything that could be a boolean, null, number, alias or flow token is double-quoted. (The
// emitter's own choice would write "off", "yes" or "1.2" plain, which YAML 1.1 tools read as
// booleans and numbers.)

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

// True when the emitter's double-quoted form of `text` loads back as `text`. It decodes a string
// as UTF-8 before quoting it and writes U+FFFD for bytes that are not UTF-8, yet a config read
// from such bytes holds them as they are (yaml-cpp passes them through). Printable ASCII is always
// kept, so only other strings pay for the check.
bool emitter_keeps(const std::string& text) {
  bool printable_ascii = true;
  for (const char c : text) printable_ascii = printable_ascii && c >= 0x20 && c < 0x7f;
  if (printable_ascii) return true;
  try {
    YAML::Emitter probe;
    probe << YAML::DoubleQuoted << text;
    const YAML::Node node = YAML::Load(probe.c_str());
    return probe.good() && node.IsScalar() && node.Scalar() == text;
  } catch (const YAML::Exception&) {
    return false;
  }
}

// The double-quoted form of the strings the emitter cannot keep: '"' and '\' escaped, control
// characters as \xNN, every other byte as it is.
std::string raw_double_quoted(std::string_view text) { return util::quoted(text); }

// ---------------------------------------------------------------------------------------------
// The emitter, set up to write what the hand-written renderer before it wrote: block mappings and
// lists indented by two, empty lists as "key: []", no comments.

class Writer {
 public:
  // `mark` starts the placeholders written for strings the emitter cannot keep (see scalar()).
  explicit Writer(std::string mark) : mark_(std::move(mark)) {
    out_.SetIndent(2);
    out_.SetMapFormat(YAML::Block);
    out_.SetSeqFormat(YAML::Block);
    out_ << YAML::BeginMap;
  }

  void begin(const char* key) { out_ << YAML::Key << key << YAML::Value << YAML::BeginMap; }
  void end() { out_ << YAML::EndMap; }

  void string(const char* key, std::string_view value) {
    out_ << YAML::Key << key << YAML::Value;
    scalar(value);
  }
  void number(const char* key, std::uint64_t value) { out_ << YAML::Key << key << YAML::Value << value; }
  // The shortest fixed-point text that reads back as the same double ("20", "0.5"; never "1e-04",
  // which the reader refuses), written plain.
  void decimal(const char* key, double value) {
    char text[64];
    const auto result = std::to_chars(text, text + sizeof text, value, std::chars_format::fixed);
    if (result.ec != std::errc()) throw std::logic_error("config::to_yaml: cannot format a number");
    out_ << YAML::Key << key << YAML::Value << std::string(text, result.ptr);
  }
  void boolean(const char* key, bool value) { out_ << YAML::Key << key << YAML::Value << value; }
  void duration(const char* key, std::chrono::milliseconds value) {
    out_ << YAML::Key << key << YAML::Value << format_duration(value);
  }

  void list(const char* key, const std::vector<std::string>& items) {
    each(key, items, [&](const std::string& item) { scalar(item); });
  }

  // A list of mappings, `write(item)` writing each one's keys.
  template <typename Item, typename Write>
  void mappings(const char* key, const std::vector<Item>& items, Write write) {
    each(key, items, [&](const Item& item) {
      out_ << YAML::BeginMap;
      write(item);
      out_ << YAML::EndMap;
    });
  }

  // The rendered text, or nullopt when a config string contains the placeholder mark (the caller
  // renders again with another).
  std::optional<std::string> take() {
    out_ << YAML::EndMap;
    if (!out_.good()) throw std::logic_error("config::to_yaml: YAML emitter: " + out_.GetLastError());
    std::string text = std::string(out_.c_str()) + "\n";
    if (raw_.empty()) return text;
    std::size_t count = 0;
    for (std::size_t at = text.find(mark_); at != std::string::npos; at = text.find(mark_, at + 1)) ++count;
    if (count != raw_.size()) return std::nullopt;
    // Each placeholder occurs once, in the order written.
    std::size_t at = 0;
    for (std::size_t i = 0; i < raw_.size(); ++i) {
      at = text.find(mark_, at);
      text.replace(at, mark_.size() + std::to_string(i).size(), raw_[i]);
      at += raw_[i].size();
    }
    return text;
  }

 private:
  template <typename Item, typename Write>
  void each(const char* key, const std::vector<Item>& items, Write write) {
    out_ << YAML::Key << key << YAML::Value;
    if (items.empty()) {
      out_ << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;  // "key: []" (a block list would put [] on the next line)
      return;
    }
    out_ << YAML::BeginSeq;
    for (const auto& item : items) write(item);
    out_ << YAML::EndSeq;
  }

  // A string the emitter cannot keep is written as a plain placeholder and replaced in take().
  void scalar(std::string_view value) {
    const std::string text(value);
    if (safe_as_plain(text)) {
      out_ << text;
    } else if (emitter_keeps(text)) {
      out_ << YAML::DoubleQuoted << text;
    } else {
      out_ << mark_ + std::to_string(raw_.size());
      raw_.push_back(raw_double_quoted(text));
    }
  }

  YAML::Emitter out_;
  std::string mark_;
  std::vector<std::string> raw_;  // the placeholders' replacements, in the order written
};

// ---------------------------------------------------------------------------------------------
// The sections, in the order docs/configuration.md shows them.

void write_exemptions(Writer& w, const Exemptions& exemptions) {
  w.begin("exemptions");
  w.list("namespaces", exemptions.namespaces);
  w.list("serviceAccounts", exemptions.serviceAccounts);
  w.list("images", exemptions.images);
  w.list("users", exemptions.users);
  w.end();
}

void write_runtime_sockets(Writer& w, const RuntimeSocketsRule& sockets) {
  w.begin("runtimeSockets");
  w.string("action", to_string(sockets.action));
  w.list("paths", sockets.paths);
  w.list("extraPaths", sockets.extraPaths);
  w.boolean("denyAllHostPaths", sockets.denyAllHostPaths);
  w.list("allowedHostPaths", sockets.allowedHostPaths);
  w.end();
}

void write_scan_rule(Writer& w, const ScanRule& scan) {
  w.begin("scan");
  w.string("action", to_string(scan.action));
  w.string("severityThreshold", scan.severityThreshold);
  w.mappings("ignore", scan.ignore, [&](const IgnoredFinding& f) {
    w.string("id", f.id);
    w.string("expires", f.expires);
    w.string("reason", f.reason);
  });
  w.string("onUnscanned", to_string(scan.onUnscanned));
  w.duration("maxScanAge", scan.maxScanAge);
  w.end();
}

void write_images_rule(Writer& w, const ImagesRule& images) {
  w.begin("images");
  w.string("action", to_string(images.action));
  w.begin("resolve");
  w.duration("timeout", images.resolve.timeout);
  w.duration("cacheTTL", images.resolve.cacheTTL);
  w.duration("errorTTL", images.resolve.errorTTL);
  w.number("maxEntries", images.resolve.maxEntries);
  w.number("maxManifestBytes", images.resolve.maxManifestBytes);
  w.boolean("pullSecrets", images.resolve.pullSecrets);
  w.duration("pullSecretTTL", images.resolve.pullSecretTTL);
  w.end();
  w.string("onResolveError", to_string(images.onResolveError));
  w.list("trustedRegistries", yaml_spelling(images.trustedRegistries, normalize_trusted_entry));
  w.list("blocked", yaml_spelling(images.blocked, normalize_blocked_entry));
  w.boolean("requireDigest", images.requireDigest);
  w.boolean("pinDigests", images.pinDigests);
  write_scan_rule(w, images.scan);
  w.mappings("signatures", images.signatures, [&](const SignatureRule& rule) {
    w.list("images", rule.images);
    w.list("keys", rule.keys);
    w.string("action", to_string(rule.action));
  });
  w.end();
}

void write_rules(Writer& w, const Rules& rules) {
  w.begin("rules");
  w.begin("privileged");
  w.string("action", to_string(rules.privileged.action));
  w.end();
  write_runtime_sockets(w, rules.runtimeSockets);
  write_images_rule(w, rules.images);
  w.begin("podSecurity");
  w.string("level", rules.podSecurity.level == PodSecurityLevel::Privileged ? "off" : to_string(rules.podSecurity.level));
  w.string("version", to_string(rules.podSecurity.version));
  w.string("action", to_string(rules.podSecurity.action));
  w.boolean("namespaceLabels", rules.podSecurity.namespaceLabels);
  w.end();
  w.end();
}

void write_registries(Writer& w, const std::vector<RegistryConfig>& registries) {
  w.mappings("registries", registries, [&](const RegistryConfig& r) {
    w.string("host", r.host);
    w.string("caFile", r.caFile);
    w.boolean("plainHTTP", r.plainHTTP);
    w.string("credentialsFile", r.credentialsFile);
  });
}

void write_workloads(Writer& w, const WorkloadsConfig& workloads) {
  w.begin("workloads");
  w.mappings("custom", workloads.custom, [&](const CustomWorkload& c) {
    w.string("group", c.group);
    w.string("kind", c.kind);
    w.string("resource", c.resource);
    w.list("versions", c.versions);
    w.string("podSpecPath", c.podSpecPath);
  });
  w.end();
}

void write_kubernetes(Writer& w, const KubernetesConfig& kubernetes) {
  w.begin("kubernetes");
  w.string("kubeconfig", kubernetes.kubeconfig);
  w.decimal("qps", kubernetes.qps);
  w.number("burst", static_cast<std::uint64_t>(kubernetes.burst));
  w.duration("timeout", kubernetes.timeout);
  w.end();
}

void write_scans(Writer& w, const ScansConfig& scans) {
  w.begin("scans");
  w.string("store", to_string(scans.store));
  w.string("database", scans.database);
  w.string("apiTokenFile", scans.apiTokenFile);
  w.number("maxReportBytes", scans.maxReportBytes);
  w.number("cacheBytes", scans.cacheBytes);
  w.duration("retention", scans.retention);
  w.string("findingsFloor", scans.findingsFloor);
  w.duration("syncTimeout", scans.syncTimeout);
  w.begin("sources");
  w.boolean("trivyOperator", scans.trivyOperator);
  w.end();
  w.end();
}

void write_audit(Writer& w, const AuditConfig& audit) {
  w.begin("audit");
  w.boolean("enabled", audit.enabled);
  w.duration("interval", audit.interval);
  w.string("reports", to_string(audit.reports));
  w.boolean("events", audit.events);
  w.decimal("podsPerSecond", audit.podsPerSecond);
  w.number("cacheBytes", audit.cacheBytes);
  w.begin("lease");
  w.string("namespace", audit.leaseNamespace);
  w.string("name", audit.leaseName);
  w.duration("duration", audit.leaseDuration);
  w.end();
  w.end();
}

void write_server(Writer& w, const ServerConfig& server) {
  w.begin("server");
  w.string("listen", server.listen);
  w.string("metricsListen", server.metricsListen);
  w.number("threads", server.threads);
  w.duration("shutdownGracePeriod", server.shutdownGracePeriod);
  w.duration("defaultReviewTimeout", server.defaultReviewTimeout);
  w.begin("tls");
  w.string("certFile", server.tls.certFile);
  w.string("keyFile", server.tls.keyFile);
  w.string("clientCaFile", server.tls.clientCaFile);
  w.string("minVersion", server.tls.minVersion);
  w.duration("reloadInterval", server.tls.reloadInterval);
  w.end();
  const Limits& limits = server.limits;
  w.begin("limits");
  w.number("maxBodyBytes", limits.maxBodyBytes);
  w.number("maxHeaderBytes", limits.maxHeaderBytes);
  w.duration("handshakeTimeout", limits.handshakeTimeout);
  w.duration("readTimeout", limits.readTimeout);
  w.duration("writeTimeout", limits.writeTimeout);
  w.duration("idleTimeout", limits.idleTimeout);
  w.number("maxConnections", limits.maxConnections);
  w.number("maxConnectionsPerPeer", limits.maxConnectionsPerPeer);
  w.number("maxBufferedBodyBytes", limits.maxBufferedBodyBytes);
  w.end();
  w.end();
}

void write_config(Writer& w, const Config& config) {
  w.string("mode", to_string(config.mode));
  write_exemptions(w, config.exemptions);
  write_rules(w, config.rules);
  write_workloads(w, config.workloads);
  write_registries(w, config.registries);
  write_kubernetes(w, config.kubernetes);
  write_scans(w, config.scans);
  write_audit(w, config.audit);
  write_server(w, config.server);
  w.begin("logging");
  w.string("level", config.logging.level);
  w.boolean("logAllowed", config.logging.logAllowed);
  w.end();
}

}  // namespace

std::string to_yaml(const Config& config) {
  // Placeholders are only written for strings that are not UTF-8; a mark that one of the config's
  // own strings contains is detected by take(), and the next one is tried.
  for (unsigned attempt = 0;; ++attempt) {
    Writer w("podgate-raw-" + std::to_string(attempt) + "-");
    write_config(w, config);
    if (auto text = w.take()) return std::move(*text);
  }
}

}  // namespace podgate::config
