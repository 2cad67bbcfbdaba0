// rules.*: the keys each rule accepts and how its values are checked, and the canonical forms of
// image entries (trusted registries, blocked images, signature patterns) that render.cpp writes
// back. The other sections are read in schema.cpp.

#include "config/config.h"
#include "config/config_internal.h"
#include "config/reader.h"

#include "image/reference.h"
#include "util/text.h"

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

using detail::fold_docker_hub;
using detail::has_whitespace_or_control;
using detail::quoted;

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

}  // namespace detail

}  // namespace podgate::config
