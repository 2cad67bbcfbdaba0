// The config loader: yaml-cpp builds a node tree, then a schema walk below checks every key and value
// against the model and fills a Config that starts from the defaults. Nothing is read lazily later,
// so a config that loads is a config that works.

#include "config/config.h"
#include "config/config_internal.h"

#include "image/reference.h"
#include "yaml/guard.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <set>
#include <stdexcept>
#include <algorithm>
#include <string_view>
#include <system_error>
#include <utility>

#include <sstream>
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

namespace podgate::config {

namespace {

using detail::fold_docker_hub;
using detail::lowercase;

// ---------------------------------------------------------------------------------------------
// Error text helpers. Values are echoed quoted, escaped and truncated so an error stays one line
// and stays valid UTF-8 (it ends up in JSON log lines): non-ASCII bytes are shown as \xNN.

std::string quoted(std::string_view value) {
  constexpr std::size_t kMaxShown = 64;
  std::string out = "\"";
  const bool truncated = value.size() > kMaxShown;
  const std::size_t shown = truncated ? kMaxShown : value.size();
  static const char* const hex = "0123456789abcdef";
  for (std::size_t i = 0; i < shown; ++i) {
    const auto c = static_cast<unsigned char>(value[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 0xF];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (truncated) out += "...";
  out += '"';
  return out;
}

std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null: return "null";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Scalar: return quoted(node.Scalar());
    case YAML::NodeType::Undefined: break;
  }
  return "nothing";
}

// A key as it appears in a path: plain when it is an ordinary identifier, quoted otherwise.
std::string key_for_path(const std::string& key) {
  if (key.empty() || key.size() > 64) return quoted(key);
  for (const char c : key) {
    const bool ordinary = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                          c == '_' || c == '-' || c == '.';
    if (!ordinary) return quoted(key);
  }
  return key;
}

std::string join_path(const std::string& parent, const std::string& key) {
  return parent.empty() ? key : parent + "." + key;
}

// ---------------------------------------------------------------------------------------------
// Value grammars, independent of YAML so they can be unit-tested through parse() and reused.

constexpr std::uint64_t kSaturated = UINT64_MAX;

// Digits only (no sign, no 0x, no '_'); saturates on overflow so the range check reports it.
std::optional<std::uint64_t> parse_unsigned(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::uint64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (value > (kSaturated - digit) / 10) {
      value = kSaturated;
    } else if (value != kSaturated) {
      value = value * 10 + digit;
    }
  }
  return value;
}

// A byte count: an integer, optionally with a Kubernetes quantity suffix (Ki Mi Gi, k M G).
std::optional<std::uint64_t> parse_byte_size(std::string_view text) {
  struct Suffix {
    std::string_view name;
    std::uint64_t factor;
  };
  static constexpr Suffix kSuffixes[] = {
      {"Ki", 1ULL << 10}, {"Mi", 1ULL << 20}, {"Gi", 1ULL << 30},
      {"k", 1000ULL},     {"M", 1000000ULL},  {"G", 1000000000ULL},
  };
  std::uint64_t factor = 1;
  for (const auto& suffix : kSuffixes) {
    if (text.size() > suffix.name.size() && text.ends_with(suffix.name)) {
      factor = suffix.factor;
      text.remove_suffix(suffix.name.size());
      break;
    }
  }
  const auto number = parse_unsigned(text);
  if (!number) return std::nullopt;
  if (*number == kSaturated || *number > kSaturated / factor) return kSaturated;
  return *number * factor;
}

enum class DurationProblem { None, Format, SubMillisecond, OutOfRange };

struct ParsedDuration {
  DurationProblem problem = DurationProblem::None;
  bool negative = false;
  std::chrono::milliseconds value{0};
};

// Go's time.ParseDuration grammar ("1h2m3.5s", "500ms", "1.5h"), except that a bare number is
// refused (a unitless "10" is exactly the ambiguity the units exist to remove) and the result must
// be a whole number of milliseconds, the model's resolution.
ParsedDuration parse_duration(std::string_view text) {
  ParsedDuration result;
  if (!text.empty() && (text.front() == '+' || text.front() == '-')) {
    result.negative = text.front() == '-';
    text.remove_prefix(1);
  }
  if (text.empty()) return {DurationProblem::Format, false, {}};
  struct Unit {
    std::string_view name;
    unsigned __int128 nanos;
  };
  static constexpr Unit kUnits[] = {
      {"ns", 1},
      {"us", 1000},
      {"\xC2\xB5s", 1000},  // U+00B5 micro sign, as Go accepts
      {"\xCE\xBCs", 1000},  // U+03BC greek mu, as Go accepts
      {"ms", 1000000},
      {"s", 1000000000ULL},
      {"m", 60ULL * 1000000000ULL},
      {"h", 3600ULL * 1000000000ULL},
  };
  // Far beyond every range we accept; saturating here keeps the 128-bit arithmetic from overflowing
  // (a number below 2^64 times the largest unit, 2^42 ns, stays below 2^106).
  constexpr unsigned __int128 kWholeCap = static_cast<unsigned __int128>(1) << 64;
  constexpr unsigned __int128 kCap = static_cast<unsigned __int128>(1) << 100;
  unsigned __int128 total = 0;
  while (!text.empty()) {
    unsigned __int128 whole = 0;
    unsigned __int128 fraction = 0;
    unsigned __int128 fraction_scale = 1;
    bool digits = false;
    std::size_t i = 0;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
      digits = true;
      if (whole < kWholeCap) whole = whole * 10 + static_cast<unsigned>(text[i] - '0');
    }
    if (i < text.size() && text[i] == '.') {
      ++i;
      for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
        digits = true;
        if (fraction_scale < 1000000000000000000ULL) {  // 18 digits are more than ns precision needs
          fraction = fraction * 10 + static_cast<unsigned>(text[i] - '0');
          fraction_scale *= 10;
        }
      }
    }
    if (!digits) return {DurationProblem::Format, false, {}};
    text.remove_prefix(i);
    const Unit* unit = nullptr;
    for (const auto& candidate : kUnits) {
      // Longest match wins, so the "m" of "ms" is not read as minutes.
      if (text.starts_with(candidate.name) && (unit == nullptr || candidate.name.size() > unit->name.size())) {
        unit = &candidate;
      }
    }
    if (unit == nullptr) return {DurationProblem::Format, false, {}};
    text.remove_prefix(unit->name.size());
    if (whole >= kWholeCap) {
      total = kCap;
      continue;
    }
    total += whole * unit->nanos;
    total += fraction * unit->nanos / fraction_scale;
    if (fraction * unit->nanos % fraction_scale != 0) result.problem = DurationProblem::SubMillisecond;
    if (total > kCap) total = kCap;
  }
  if (total >= kCap) {
    if (result.problem == DurationProblem::None) result.problem = DurationProblem::OutOfRange;
    return result;
  }
  if (total % 1000000 != 0) result.problem = DurationProblem::SubMillisecond;
  const auto millis = static_cast<std::int64_t>(total / 1000000);
  result.value = std::chrono::milliseconds(result.negative ? -millis : millis);
  return result;
}

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

bool has_control(std::string_view text) {
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return true;
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

}  // namespace

namespace detail {

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

}  // namespace detail

namespace {


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
    const std::string domain = parsed ? lowercase(parsed.reference->domain) : std::string();
    if (!parsed || domain != fold_docker_hub(lowercase(text)))
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
  return lowercase(parsed.reference->domain) + "/" + path.substr(0, path.size() - std::string_view("probe").size());
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
  std::string out = lowercase(ref.domain) + "/" + ref.path;
  if (!ref.digest.empty()) return out + "@" + ref.digest;
  const auto last = entry.rfind('/');
  const bool explicit_tag = entry.find(':', last == std::string::npos ? 0 : last) != std::string::npos;
  return explicit_tag ? out + ":" + ref.tag : out;
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
  if (!parsed || lowercase(parsed.reference->domain) != fold_docker_hub(lowercase(probe))) return expected;
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// The schema walk.

class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  void read(const YAML::Node& root, Config& config) {
    mapping(root, "",
            {
                {"mode", [&](const YAML::Node& n, const std::string& p) { config.mode = mode(n, p); }},
                {"exemptions", [&](const YAML::Node& n, const std::string& p) { exemptions(n, p, config.exemptions); }},
                {"rules", [&](const YAML::Node& n, const std::string& p) { rules(n, p, config.rules); }},
                {"registries",
                 [&](const YAML::Node& n, const std::string& p) { registries(n, p, config.registries); }},
                {"scans", [&](const YAML::Node& n, const std::string& p) { scans(n, p, config.scans); }},
                {"server", [&](const YAML::Node& n, const std::string& p) { server(n, p, config.server); }},
                {"logging", [&](const YAML::Node& n, const std::string& p) { logging(n, p, config.logging); }},
            });
  }

 private:
  using Handler = std::function<void(const YAML::Node&, const std::string&)>;
  struct Field {
    const char* key;
    Handler handle;
  };

  [[noreturn]] void fail(const std::string& path, const std::string& problem) const {
    throw ConfigError(source_ + ": " + path + ": " + problem);
  }

  // A mapping whose keys must all be among `fields`. Null (a section left empty, e.g. with all its
  // lines commented out) means "nothing set here", so the defaults stay.
  void mapping(const YAML::Node& node, const std::string& path, std::initializer_list<Field> fields) {
    if (node.IsNull()) return;
    if (!node.IsMap()) {
      if (path.empty()) throw ConfigError(source_ + ": expected a mapping at the top level, got " + describe(node));
      fail(path, "expected a mapping, got " + describe(node));
    }
    std::set<std::string> seen;
    for (const auto& entry : node) {
      if (!entry.first.IsScalar()) fail(join_path(path, "<key>"), "keys must be strings, got " + describe(entry.first));
      const std::string& key = entry.first.Scalar();
      const std::string key_path = join_path(path, key_for_path(key));
      const Field* field = nullptr;
      for (const auto& candidate : fields) {
        if (key == candidate.key) field = &candidate;
      }
      if (field == nullptr) {
        std::string expected;
        for (const auto& candidate : fields) {
          if (!expected.empty()) expected += ", ";
          expected += candidate.key;
        }
        fail(key_path, "unknown key (expected one of: " + expected + ")");
      }
      // yaml-cpp keeps duplicate keys as separate entries; a silent last-one-wins would hide typos.
      if (!seen.insert(key).second) fail(key_path, "duplicate key");
      field->handle(entry.second, key_path);
    }
  }

  const std::string& scalar(const YAML::Node& node, const std::string& path, const std::string& expected) const {
    if (!node.IsScalar()) fail(path, "expected " + expected + ", got " + describe(node));
    return node.Scalar();
  }

  std::string string(const YAML::Node& node, const std::string& path) const {
    const std::string& value = scalar(node, path, "a string");
    if (has_control(value)) fail(path, "must not contain control characters, got " + quoted(value));
    return value;
  }

  std::string non_empty_string(const YAML::Node& node, const std::string& path) const {
    std::string value = string(node, path);
    if (value.empty()) fail(path, "must not be empty");
    return value;
  }

  // A list of strings, each checked by `check` (which returns a problem or nullopt). Null is an
  // empty list: "namespaces:" with every item commented out means "none".
  std::vector<std::string> string_list(const YAML::Node& node, const std::string& path,
                                       const std::function<std::optional<std::string>(const std::string&)>& check) const {
    std::vector<std::string> out;
    if (node.IsNull()) return out;
    if (!node.IsSequence()) fail(path, "expected a list, got " + describe(node));
    std::size_t index = 0;
    for (const auto& item : node) {
      const std::string item_path = path + "[" + std::to_string(index++) + "]";
      const std::string& value = scalar(item, item_path, "a string");
      if (auto problem = check(value)) fail(item_path, *problem);
      out.push_back(value);
    }
    return out;
  }

  bool boolean(const YAML::Node& node, const std::string& path) const {
    const std::string& value = scalar(node, path, "true or false");
    // YAML 1.2 core schema booleans only; "yes"/"on" are YAML 1.1 and read differently by other tools.
    if (value == "true" || value == "True" || value == "TRUE") return true;
    if (value == "false" || value == "False" || value == "FALSE") return false;
    fail(path, "expected true or false, got " + quoted(value));
  }

  std::uint64_t integer(const YAML::Node& node, const std::string& path, std::uint64_t min, std::uint64_t max) const {
    const char* expected = min > 0 ? "a positive integer" : "a non-negative integer";
    const std::string& text = scalar(node, path, expected);
    const auto value = parse_unsigned(text);
    if (!value) fail(path, std::string("expected ") + expected + ", got " + quoted(text));
    if (*value < min || *value > max) {
      fail(path, "must be between " + std::to_string(min) + " and " + std::to_string(max) + " (got " + text + ")");
    }
    return *value;
  }

  std::size_t byte_size(const YAML::Node& node, const std::string& path, std::uint64_t min, const char* min_text,
                        std::uint64_t max, const char* max_text) const {
    const std::string& text = scalar(node, path, "a positive integer");
    const auto value = parse_byte_size(text);
    if (!value) {
      fail(path, "expected a positive integer, got " + quoted(text) +
                     " (a byte count such as 1048576, or with a suffix: 16Ki, 3Mi)");
    }
    if (*value < min || *value > max) {
      fail(path, std::string("must be between ") + min_text + " and " + max_text + " bytes (got " + quoted(text) + ")");
    }
    return static_cast<std::size_t>(*value);
  }

  std::chrono::milliseconds duration(const YAML::Node& node, const std::string& path) const {
    return duration(node, path, std::chrono::milliseconds(10 * 60 * 1000), "10m");
  }

  std::chrono::milliseconds duration(const YAML::Node& node, const std::string& path, std::chrono::milliseconds kMax,
                                     const char* max_text) const {
    constexpr const char* kExpected = "expected a duration such as \"10s\", \"500ms\" or \"1m30s\"";
    const std::string& text = scalar(node, path, "a duration");
    const ParsedDuration parsed = parse_duration(text);
    switch (parsed.problem) {
      case DurationProblem::Format:
        fail(path, std::string(kExpected) + ", got " + quoted(text));
      case DurationProblem::SubMillisecond:
        fail(path, "must be a whole number of milliseconds, got " + quoted(text));
      case DurationProblem::OutOfRange:
        break;
      case DurationProblem::None:
        if (parsed.value.count() > 0 && parsed.value <= kMax) return parsed.value;
        break;
    }
    fail(path, std::string("must be greater than 0 and at most ") + max_text + " (got " + quoted(text) + ")");
  }

  template <typename Enum>
  Enum choice(const YAML::Node& node, const std::string& path,
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

  Mode mode(const YAML::Node& node, const std::string& path) const {
    return choice<Mode>(node, path, {{"enforce", Mode::Enforce}, {"audit", Mode::Audit}});
  }

  Action action(const YAML::Node& node, const std::string& path) const {
    return choice<Action>(node, path, {{"deny", Action::Deny}, {"warn", Action::Warn}, {"off", Action::Off}});
  }

  void exemptions(const YAML::Node& node, const std::string& path, Exemptions& out) {
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

  std::vector<std::string> host_paths(const YAML::Node& node, const std::string& path) const {
    return string_list(node, path, [](const std::string& v) -> std::optional<std::string> {
      if (!v.empty() && v.front() == '/' && !has_control(v)) return std::nullopt;
      return "must be an absolute path (starting with '/'), got " + quoted(v);
    });
  }

  void rules(const YAML::Node& node, const std::string& path, Rules& out) {
    mapping(node, path,
            {
                {"privileged",
                 [&](const YAML::Node& n, const std::string& p) {
                   mapping(n, p,
                           {{"action", [&](const YAML::Node& v, const std::string& vp) {
                               out.privileged.action = action(v, vp);
                             }}});
                 }},
                {"runtimeSockets",
                 [&](const YAML::Node& n, const std::string& p) {
                   auto& rule = out.runtimeSockets;
                   mapping(n, p,
                           {
                               {"action",
                                [&](const YAML::Node& v, const std::string& vp) { rule.action = action(v, vp); }},
                               {"paths",
                                [&](const YAML::Node& v, const std::string& vp) { rule.paths = host_paths(v, vp); }},
                               {"extraPaths",
                                [&](const YAML::Node& v, const std::string& vp) { rule.extraPaths = host_paths(v, vp); }},
                               {"denyAllHostPaths",
                                [&](const YAML::Node& v, const std::string& vp) {
                                  rule.denyAllHostPaths = boolean(v, vp);
                                }},
                               {"allowedHostPaths",
                                [&](const YAML::Node& v, const std::string& vp) {
                                  rule.allowedHostPaths = host_paths(v, vp);
                                }},
                           });
                 }},
                {"images", [&](const YAML::Node& n, const std::string& p) { images(n, p, out.images); }},
            });
  }

  void images(const YAML::Node& node, const std::string& path, ImagesRule& out) {
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
                {"scan", [&](const YAML::Node& n, const std::string& p) { scan_rule(n, p, out.scan); }},
            });
  }

  void scan_rule(const YAML::Node& node, const std::string& path, ScanRule& out) {
    mapping(node, path,
            {
                {"action", [&](const YAML::Node& n, const std::string& p) { out.action = action(n, p); }},
                {"severityThreshold",
                 [&](const YAML::Node& n, const std::string& p) {
                   std::string value = string(n, p);
                   for (char& c : value)
                     if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
                   static const char* const kSeverities[] = {"UNKNOWN", "NEGLIGIBLE", "LOW", "MEDIUM", "HIGH", "CRITICAL"};
                   if (std::find(std::begin(kSeverities), std::end(kSeverities), value) == std::end(kSeverities))
                     fail(p, "must be one of UNKNOWN, NEGLIGIBLE, LOW, MEDIUM, HIGH, CRITICAL (got " + quoted(n.Scalar()) + ")");
                   out.severityThreshold = value;
                 }},
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
  std::vector<IgnoredFinding> ignored_findings(const YAML::Node& node, const std::string& path) {
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

  void scans(const YAML::Node& node, const std::string& path, ScansConfig& out) {
    mapping(node, path,
            {
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
            });
  }

  void resolve(const YAML::Node& node, const std::string& path, ResolveSettings& out) {
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
            });
  }

  // A list whose entries are rewritten to a canonical form by `normalize` (which returns the
  // form, or throws std::invalid_argument with the problem).
  std::vector<std::string> normalized_list(const YAML::Node& node, const std::string& path,
                                           std::string (*normalize)(const std::string&)) const {
    std::vector<std::string> raw = string_list(node, path, [](const std::string&) { return std::nullopt; });
    std::vector<std::string> out;
    for (std::size_t i = 0; i < raw.size(); ++i) {
      try {
        std::string entry = normalize(raw[i]);
        if (std::find(out.begin(), out.end(), entry) == out.end()) out.push_back(std::move(entry));
      } catch (const std::invalid_argument& e) {
        fail(path + "[" + std::to_string(i) + "]", e.what());
      }
    }
    return out;
  }

  void registries(const YAML::Node& node, const std::string& path, std::vector<RegistryConfig>& out) {
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

  void listen_address(const YAML::Node& node, const std::string& path, std::string& out) const {
    const std::string& value = scalar(node, path, "HOST:PORT");
    HostPort parsed;
    if (auto problem = host_port_problem(value, parsed)) fail(path, *problem);
    out = value;
  }

  void server(const YAML::Node& node, const std::string& path, ServerConfig& out) {
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

  void tls(const YAML::Node& node, const std::string& path, TlsConfig& out) {
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

  void limits(const YAML::Node& node, const std::string& path, Limits& out) {
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

  void logging(const YAML::Node& node, const std::string& path, LoggingConfig& out) {
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

  std::string source_;
};

std::string position(const YAML::Mark& mark) {
  if (mark.is_null() || mark.line < 0 || mark.column < 0) return "";
  return "line " + std::to_string(mark.line + 1) + ", column " + std::to_string(mark.column + 1) + ": ";
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

Config parse(const std::string& yaml_text, const std::string& source) {
  if (yaml_text.size() > kMaxConfigBytes) {
    throw ConfigError(source + ": config is " + std::to_string(yaml_text.size()) +
                      " bytes; the limit is 1 MiB (1048576 bytes)");
  }
  std::vector<YAML::Node> documents;
  try {
    yaml::check_documents_advance(yaml_text);
    documents = YAML::LoadAll(yaml_text);
  } catch (const YAML::DeepRecursion& e) {
    throw ConfigError(source + ": " + position(e.mark) + "YAML nesting is too deep");
  } catch (const YAML::ParserException& e) {
    throw ConfigError(source + ": " + position(e.mark) + "YAML syntax error: " + e.msg);
  } catch (const YAML::Exception& e) {
    throw ConfigError(source + ": " + position(e.mark) + "YAML error: " + e.msg);
  }

  Config config;
  if (documents.empty()) return config;  // empty file or only comments: the defaults
  if (documents.size() > 1) {
    throw ConfigError(source + ": holds " + std::to_string(documents.size()) +
                      " YAML documents; a config file holds exactly one (remove the extra '---')");
  }
  try {
    Reader(source).read(documents.front(), config);
  } catch (const YAML::Exception& e) {
    // Not expected (the walk checks node types before reading), but never let it escape as such.
    throw ConfigError(source + ": " + position(e.mark) + "YAML error: " + e.msg);
  }
  if (config.rules.images.scan.action != Action::Off && config.rules.images.action == Action::Off) {
    throw ConfigError(source + ": rules.images.scan.action: the scan rule judges the digests the image rules resolve, "
                               "so it needs rules.images.action deny or warn (it is off)");
  }
  return config;
}

Config load_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    throw ConfigError(path + ": cannot open: " + std::generic_category().message(errno));
  }
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};

  struct stat info {};
  if (::fstat(fd, &info) != 0) throw ConfigError(path + ": cannot read: " + std::generic_category().message(errno));
  if (S_ISDIR(info.st_mode)) throw ConfigError(path + ": is a directory, not a config file");

  // Read at most one byte past the limit: enough to know it is too big, whatever the file claims.
  std::string text;
  char buffer[16384];
  while (text.size() <= kMaxConfigBytes) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw ConfigError(path + ": cannot read: " + std::generic_category().message(errno));
    }
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
  }
  if (text.size() > kMaxConfigBytes) {
    throw ConfigError(path + ": file is larger than 1 MiB (1048576 bytes); a podgate config is a few KiB");
  }
  return parse(text, path);
}

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
