// What podgate's config contains: one Reader function per section (the keys it accepts and how
// each value is checked) and the checks of the values that have a grammar of their own (namespace
// names, listen addresses, dates, image references, registry hosts).

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

bool has_whitespace_or_control(std::string_view text) {
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return true;
  }
  return false;
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

// "YYYY-MM-DD" -> the unix time at which that UTC day ends.
std::optional<std::int64_t> end_of_day(const std::string& date) {
  if (date.size() != 10 || date[4] != '-' || date[7] != '-') return std::nullopt;
  for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (date[i] < '0' || date[i] > '9') return std::nullopt;
  const int y = std::stoi(date.substr(0, 4)), m = std::stoi(date.substr(5, 2)), d = std::stoi(date.substr(8, 2));
  static const int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (y < 1970 || m < 1 || m > 12 || d < 1 || d > kDays[m - 1]) return std::nullopt;
  if (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return std::nullopt;
  // Days from the civil date (Howard Hinnant's algorithm), so no timezone or locale is involved.
  const int yy = m <= 2 ? y - 1 : y;
  const int era = yy / 400;
  const int yoe = yy - era * 400;
  const int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const std::int64_t days = static_cast<std::int64_t>(era) * 146097 + doe - 719468;
  return (days + 1) * 86400;
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

// The canonical forms of rules.images entries, also used by render.cpp to write them so they load back.

// trustedRegistries entry -> "domain" (whole registry) or "domain/path/" (repository prefix).
std::string normalize_trusted_entry(const std::string& entry) {
  if (entry.empty()) throw std::invalid_argument("must not be empty");
  // A '/' anywhere (a trailing one included: "myorg/") makes it a repository prefix.
  const bool prefix = entry.find('/') != std::string::npos;
  std::string text = entry;
  while (!text.empty() && text.back() == '/') text.pop_back();
  if (text.empty()) throw std::invalid_argument("expected a registry or a repository prefix, got " + quoted(entry));
  if (!prefix) {
    // A registry: it must read as a domain to `docker pull` (a '.', a ':' or "localhost").
    const auto parsed = image::parse(text + "/probe");
    const std::string domain = parsed ? util::ascii_lowercase(parsed.reference->domain) : std::string();
    if (!parsed || domain != fold_docker_hub(util::ascii_lowercase(text)))
      throw std::invalid_argument("expected a registry such as \"ghcr.io\" or \"registry.example.com:5000\", or a "
                                  "repository prefix such as \"ghcr.io/myorg/\", got " + quoted(entry));
    return domain;
  }
  // Parsed with a probe component after it, so "docker.io/library" stays a prefix and is not
  // read as the image docker.io/library/library.
  const auto parsed = image::parse(text + "/probe");
  const auto last_slash = text.rfind('/');
  const bool plain = text.find('@') == std::string::npos &&
                     text.substr(last_slash == std::string::npos ? 0 : last_slash).find(':') == std::string::npos;
  if (!parsed || !plain || !parsed.reference->path.ends_with("/probe"))
    throw std::invalid_argument("expected a repository prefix such as \"ghcr.io/myorg/\" (no tag or digest), got " +
                                quoted(entry) + (parsed ? "" : " (" + parsed.error + ")"));
  const std::string& path = parsed.reference->path;
  return util::ascii_lowercase(parsed.reference->domain) + "/" + path.substr(0, path.size() - std::string_view("probe").size());
}

namespace {
// A pattern's first segment names a registry as `docker pull` reads one (a '.', a ':' or
// "localhost"), or any registry ("*", "**").
bool names_registry(const std::string& first) {
  return first.find('.') != std::string::npos || first.find(':') != std::string::npos || first == "localhost" ||
         first == "*" || first == "**";
}
}  // namespace

// signatures[].images pattern -> a glob over normalised repositories: lower case, and docker.io's
// rules for a pattern that names no registry ("nginx" -> "docker.io/library/nginx", "acme/*" ->
// "docker.io/acme/*"), as `docker pull` reads a reference. A first segment of "*" or "**" stays:
// any registry.
std::string normalize_repository_pattern(const std::string& entry) {
  if (entry.empty() || has_whitespace_or_control(entry))
    throw std::invalid_argument("must be a non-empty repository pattern without whitespace, got " + quoted(entry));
  std::string text = util::ascii_lowercase(entry);
  const auto last_slash = text.rfind('/');
  if (text.find('@') != std::string::npos ||
      text.find(':', last_slash == std::string::npos ? 0 : last_slash) != std::string::npos)
    throw std::invalid_argument("a pattern names repositories, without a tag or digest (\"ghcr.io/acme/*\"), got " +
                                quoted(entry));
  if (text.front() == '/' || text.back() == '/' || text.find("//") != std::string::npos)
    throw std::invalid_argument("expected a repository pattern such as \"ghcr.io/acme/*\", got " + quoted(entry));
  const auto slash = text.find('/');
  const std::string first = text.substr(0, slash);
  if (slash != std::string::npos && names_registry(first)) return fold_docker_hub(first) + text.substr(slash);
  if (slash == std::string::npos && text != "**") return "docker.io/library/" + text;
  return "docker.io/" + text;
}

// blocked entry -> "sha256:...", "domain/path", "domain/path:tag" or "domain/path@sha256:...".
std::string normalize_blocked_entry(const std::string& entry) {
  if (image::is_valid_digest(entry)) return entry;
  if (entry.starts_with("sha256:") || entry.starts_with("sha512:"))
    throw std::invalid_argument("expected a digest of the form sha256:<64 lowercase hex>, got " + quoted(entry));
  const auto parsed = image::parse(entry);
  if (!parsed) throw std::invalid_argument("expected a repository, repository:tag, repository@digest or a digest "
                                           "(sha256:<64 hex>), got " + quoted(entry) + ": " + parsed.error);
  const image::Reference& ref = *parsed.reference;
  std::string out = util::ascii_lowercase(ref.domain) + "/" + ref.path;
  if (!ref.digest.empty()) return out + "@" + ref.digest;
  const auto last = entry.rfind('/');
  const bool explicit_tag = entry.find(':', last == std::string::npos ? 0 : last) != std::string::npos;
  return explicit_tag ? out + ":" + ref.tag : out;
}

// ---------------------------------------------------------------------------------------------
// The sections.

void Reader::read(const YAML::Node& root, Config& config) {
  mapping(root, "",
          {
              {"mode", [&](const YAML::Node& n, const std::string& p) { config.mode = mode(n, p); }},
              {"exemptions", [&](const YAML::Node& n, const std::string& p) { exemptions(n, p, config.exemptions); }},
              {"rules", [&](const YAML::Node& n, const std::string& p) { rules(n, p, config.rules); }},
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

template <typename Enum>
Enum Reader::choice(const YAML::Node& node, const std::string& path,
                    std::initializer_list<std::pair<const char*, Enum>> options) const {
  std::string names;
  for (const auto& option : options) {
    if (!names.empty()) names += ", ";
    names += option.first;
  }
  if (node.IsScalar()) {
    for (const auto& option : options) {
      if (node.Scalar() == option.first) return option.second;
    }
  }
  fail(path, "must be one of " + names + " (got " + describe(node) + ")");
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

void Reader::rules(const YAML::Node& node, const std::string& path, Rules& out) {
  mapping(node, path,
          {
              {"privileged", [&](const YAML::Node& n, const std::string& p) { privileged(n, p, out.privileged); }},
              {"runtimeSockets",
               [&](const YAML::Node& n, const std::string& p) { runtime_sockets(n, p, out.runtimeSockets); }},
              {"images", [&](const YAML::Node& n, const std::string& p) { images(n, p, out.images); }},
              {"podSecurity",
               [&](const YAML::Node& n, const std::string& p) { pod_security(n, p, out.podSecurity); }},
          });
}

// rules.podSecurity. "privileged" is PSA's name for checking nothing, accepted beside "off".
void Reader::pod_security(const YAML::Node& node, const std::string& path, PodSecurityRule& out) {
  mapping(node, path,
          {
              {"level",
               [&](const YAML::Node& n, const std::string& p) {
                 out.level = choice<PodSecurityLevel>(n, p,
                                                      {{"off", PodSecurityLevel::Privileged},
                                                       {"privileged", PodSecurityLevel::Privileged},
                                                       {"baseline", PodSecurityLevel::Baseline},
                                                       {"restricted", PodSecurityLevel::Restricted}});
               }},
              {"version",
               [&](const YAML::Node& n, const std::string& p) {
                 const std::string& v = scalar(n, p, "\"latest\" or \"v1.N\"");
                 if (auto parsed = parse_pod_security_version(v)) {
                   out.version = *parsed;
                   return;
                 }
                 fail(p, "must be \"latest\" or \"v1.N\" (a Kubernetes minor version, e.g. \"v1.34\"), got " +
                             describe(n));
               }},
              {"action",
               [&](const YAML::Node& n, const std::string& p) {
                 out.action = choice<Action>(n, p, {{"deny", Action::Deny}, {"warn", Action::Warn}});
               }},
              {"namespaceLabels",
               [&](const YAML::Node& n, const std::string& p) { out.namespaceLabels = boolean(n, p); }},
          });
}

void Reader::privileged(const YAML::Node& node, const std::string& path, PrivilegedRule& out) {
  mapping(node, path, {{"action", [&](const YAML::Node& n, const std::string& p) { out.action = action(n, p); }}});
}

void Reader::runtime_sockets(const YAML::Node& node, const std::string& path, RuntimeSocketsRule& out) {
  mapping(node, path,
          {
              {"action", [&](const YAML::Node& n, const std::string& p) { out.action = action(n, p); }},
              {"paths", [&](const YAML::Node& n, const std::string& p) { out.paths = host_paths(n, p); }},
              {"extraPaths", [&](const YAML::Node& n, const std::string& p) { out.extraPaths = host_paths(n, p); }},
              {"denyAllHostPaths",
               [&](const YAML::Node& n, const std::string& p) { out.denyAllHostPaths = boolean(n, p); }},
              {"allowedHostPaths",
               [&](const YAML::Node& n, const std::string& p) { out.allowedHostPaths = host_paths(n, p); }},
          });
}

void Reader::images(const YAML::Node& node, const std::string& path, ImagesRule& out) {
  mapping(node, path,
          {
              {"action", [&](const YAML::Node& n, const std::string& p) { out.action = action(n, p); }},
              {"resolve", [&](const YAML::Node& n, const std::string& p) { resolve(n, p, out.resolve); }},
              {"onResolveError",
               [&](const YAML::Node& n, const std::string& p) {
                 out.onResolveError = choice<OnResolveError>(
                     n, p, {{"deny", OnResolveError::Deny}, {"allow", OnResolveError::Allow}});
               }},
              {"trustedRegistries",
               [&](const YAML::Node& n, const std::string& p) {
                 out.trustedRegistries = normalized_list(n, p, normalize_trusted_entry);
               }},
              {"blocked",
               [&](const YAML::Node& n, const std::string& p) {
                 out.blocked = normalized_list(n, p, normalize_blocked_entry);
               }},
              {"requireDigest", [&](const YAML::Node& n, const std::string& p) { out.requireDigest = boolean(n, p); }},
              {"pinDigests", [&](const YAML::Node& n, const std::string& p) { out.pinDigests = boolean(n, p); }},
              {"scan", [&](const YAML::Node& n, const std::string& p) { scan_rule(n, p, out.scan); }},
              {"signatures",
               [&](const YAML::Node& n, const std::string& p) { out.signatures = signature_rules(n, p); }},
          });
}

// signatures: a list of {images: [globs], keys: [PEM file paths or PEM text], action: deny|warn}.
std::vector<SignatureRule> Reader::signature_rules(const YAML::Node& node, const std::string& path) {
  std::vector<SignatureRule> out;
  if (node.IsNull()) return out;
  if (!node.IsSequence()) fail(path, "expected a list, got " + describe(node));
  std::size_t index = 0;
  for (const auto& item : node) {
    const std::string item_path = path + "[" + std::to_string(index++) + "]";
    SignatureRule rule;
    mapping(item, item_path,
            {
                {"images",
                 [&](const YAML::Node& n, const std::string& p) {
                   rule.images = normalized_list(n, p, normalize_repository_pattern);
                 }},
                {"keys",
                 [&](const YAML::Node& n, const std::string& p) {
                   rule.keys = string_list(n, p, [](const std::string& v) -> std::optional<std::string> {
                     if (v.find("-----BEGIN ") != std::string::npos || (!v.empty() && v.front() == '/')) return std::nullopt;
                     return "must be an absolute path to a PEM public key file or the PEM text itself, got " + quoted(v);
                   });
                 }},
                {"action",
                 [&](const YAML::Node& n, const std::string& p) {
                   rule.action = choice<Action>(n, p, {{"deny", Action::Deny}, {"warn", Action::Warn}});
                 }},
            });
    if (rule.images.empty()) fail(item_path + ".images", "needs at least one image pattern");
    if (rule.keys.empty()) fail(item_path + ".keys", "needs at least one public key");
    out.push_back(std::move(rule));
  }
  return out;
}

void Reader::scan_rule(const YAML::Node& node, const std::string& path, ScanRule& out) {
  mapping(node, path,
          {
              {"action", [&](const YAML::Node& n, const std::string& p) { out.action = action(n, p); }},
              {"severityThreshold",
               [&](const YAML::Node& n, const std::string& p) { out.severityThreshold = severity(n, p); }},
              {"ignore", [&](const YAML::Node& n, const std::string& p) { out.ignore = ignored_findings(n, p); }},
              {"onUnscanned",
               [&](const YAML::Node& n, const std::string& p) {
                 out.onUnscanned = choice<OnUnscanned>(
                     n, p, {{"deny", OnUnscanned::Deny}, {"warn", OnUnscanned::Warn}, {"allow", OnUnscanned::Allow}});
               }},
              {"maxScanAge",
               [&](const YAML::Node& n, const std::string& p) {
                 out.maxScanAge = duration(n, p, std::chrono::milliseconds(366LL * 24 * 3600 * 1000), "8784h (a year)");
               }},
          });
}

// ignore: a list of finding ids ("CVE-2024-3094") or mappings {id, expires: "YYYY-MM-DD", reason}.
std::vector<IgnoredFinding> Reader::ignored_findings(const YAML::Node& node, const std::string& path) {
  std::vector<IgnoredFinding> out;
  if (node.IsNull()) return out;
  if (!node.IsSequence()) fail(path, "expected a list, got " + describe(node));
  std::size_t index = 0;
  for (const auto& item : node) {
    const std::string item_path = path + "[" + std::to_string(index++) + "]";
    IgnoredFinding f;
    if (item.IsScalar()) {
      f.id = non_empty_string(item, item_path);
    } else {
      mapping(item, item_path,
              {
                  {"id", [&](const YAML::Node& n, const std::string& p) { f.id = non_empty_string(n, p); }},
                  {"expires",
                   [&](const YAML::Node& n, const std::string& p) {
                     f.expires = string(n, p);
                     if (f.expires.empty()) return;  // "" is no expiry, as to_yaml writes it
                     const auto end = end_of_day(f.expires);
                     if (!end) fail(p, "expected a date YYYY-MM-DD, got " + quoted(f.expires));
                     f.expiresAt = *end;
                   }},
                  {"reason", [&](const YAML::Node& n, const std::string& p) { f.reason = string(n, p); }},
              });
      if (f.id.empty()) fail(item_path + ".id", "is required");
    }
    if (has_whitespace_or_control(f.id)) fail(item_path, "a finding id has no whitespace, got " + quoted(f.id));
    out.push_back(std::move(f));
  }
  return out;
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
