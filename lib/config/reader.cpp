// The generic half of the schema walk: yaml-cpp builds a node tree, then the Reader checks every key
// and value against the model (schema.cpp says what the model is) and fills a Config that starts
// from the defaults. Nothing is read lazily later, so a config that loads is a config that works.
// Also here: the scalar grammars (integers, byte sizes, Go durations) and parse() / load_file().

#include "config/config.h"
#include "util/text.h"
#include "config/config_internal.h"
#include "config/reader.h"

#include "yaml/guard.h"
#include "util/duration.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

namespace podgate::config {

namespace detail {

// ---------------------------------------------------------------------------------------------
// Error text helpers. Values are echoed quoted, escaped and truncated so an error stays one line
// and stays valid UTF-8 (it ends up in JSON log lines): non-ASCII bytes are shown as \xNN.

std::string quoted(std::string_view value) { return util::quoted(value, 64, true); }

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

// ---------------------------------------------------------------------------------------------
// Value checks shared with schema.cpp, independent of YAML so they can be unit-tested through parse().

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

bool has_control(std::string_view text) {
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return true;
  }
  return false;
}


}  // namespace detail

namespace {

using detail::describe;
using detail::kSaturated;
using detail::parse_unsigned;
using detail::quoted;

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
// Byte sizes, independent of YAML so they can be unit-tested through parse().

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


// ---------------------------------------------------------------------------------------------
// The end of the Go-duration copy.

// "line 3, column 7: " for an error yaml-cpp reports at a position; "" when it has none.
std::string position(const YAML::Mark& mark) {
  if (mark.is_null() || mark.line < 0 || mark.column < 0) return "";
  return "line " + std::to_string(mark.line + 1) + ", column " + std::to_string(mark.column + 1) + ": ";
}

}  // namespace

namespace detail {

void Reader::fail(const std::string& path, const std::string& problem) const {
  throw ConfigError(source_ + ": " + path + ": " + problem);
}

// A mapping whose keys must all be among `fields`. Null (a section left empty, e.g. with all its
// lines commented out) means "nothing set here", so the defaults stay.
void Reader::mapping(const YAML::Node& node, const std::string& path, std::initializer_list<Field> fields) {
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

const std::string& Reader::scalar(const YAML::Node& node, const std::string& path, const std::string& expected) const {
  if (!node.IsScalar()) fail(path, "expected " + expected + ", got " + describe(node));
  return node.Scalar();
}

std::string Reader::string(const YAML::Node& node, const std::string& path) const {
  const std::string& value = scalar(node, path, "a string");
  if (has_control(value)) fail(path, "must not contain control characters, got " + quoted(value));
  return value;
}

std::string Reader::non_empty_string(const YAML::Node& node, const std::string& path) const {
  std::string value = string(node, path);
  if (value.empty()) fail(path, "must not be empty");
  return value;
}

// A list of strings, each checked by `check` (which returns a problem or nullopt). Null is an
// empty list: "namespaces:" with every item commented out means "none".
std::vector<std::string> Reader::string_list(const YAML::Node& node, const std::string& path,
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

bool Reader::boolean(const YAML::Node& node, const std::string& path) const {
  const std::string& value = scalar(node, path, "true or false");
  // YAML 1.2 core schema booleans only; "yes"/"on" are YAML 1.1 and read differently by other tools.
  if (value == "true" || value == "True" || value == "TRUE") return true;
  if (value == "false" || value == "False" || value == "FALSE") return false;
  fail(path, "expected true or false, got " + quoted(value));
}

std::uint64_t Reader::integer(const YAML::Node& node, const std::string& path, std::uint64_t min, std::uint64_t max) const {
  const char* expected = min > 0 ? "a positive integer" : "a non-negative integer";
  const std::string& text = scalar(node, path, expected);
  const auto value = parse_unsigned(text);
  if (!value) fail(path, std::string("expected ") + expected + ", got " + quoted(text));
  if (*value < min || *value > max) {
    fail(path, "must be between " + std::to_string(min) + " and " + std::to_string(max) + " (got " + text + ")");
  }
  return *value;
}

std::size_t Reader::byte_size(const YAML::Node& node, const std::string& path, std::uint64_t min, const char* min_text,
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

std::chrono::milliseconds Reader::duration(const YAML::Node& node, const std::string& path) const {
  return duration(node, path, std::chrono::milliseconds(10 * 60 * 1000), "10m");
}

std::chrono::milliseconds Reader::duration(const YAML::Node& node, const std::string& path, std::chrono::milliseconds kMax,
                                           const char* max_text) const {
  const auto value = duration_value(node, path);
  if (value && value->count() > 0 && *value <= kMax) return *value;
  fail(path, std::string("must be greater than 0 and at most ") + max_text + " (got " + quoted(node.Scalar()) + ")");
}

std::chrono::milliseconds Reader::duration(const YAML::Node& node, const std::string& path, std::chrono::milliseconds kMin,
                                           const char* min_text, std::chrono::milliseconds kMax,
                                           const char* max_text) const {
  const auto value = duration_value(node, path);
  if (value && *value >= kMin && *value <= kMax) return *value;
  fail(path, std::string("must be at least ") + min_text + " and at most " + max_text + " (got " +
                 quoted(node.Scalar()) + ")");
}

// A Go duration in milliseconds; nullopt when it is negative or too large to count (the callers'
// range check reports those). Text that is no duration, or finer than a millisecond, fails here.
std::optional<std::chrono::milliseconds> Reader::duration_value(const YAML::Node& node, const std::string& path) const {
  constexpr const char* kExpected = "expected a duration such as \"10s\", \"500ms\" or \"1m30s\"";
  const std::string& text = scalar(node, path, "a duration");
  // Go's grammar (util), except that the result must be a whole number of milliseconds, the
  // model's resolution.
  const auto parsed = util::parse_go_duration(text);
  if (!parsed) fail(path, std::string(kExpected) + ", got " + quoted(text));
  if (parsed->subMillisecond) fail(path, "must be a whole number of milliseconds, got " + quoted(text));
  if (parsed->overflow || parsed->negative || parsed->nanos / 1000000 > static_cast<std::uint64_t>(INT64_MAX))
    return std::nullopt;
  return std::chrono::milliseconds(static_cast<std::int64_t>(parsed->nanos / 1000000));
}

double Reader::decimal(const YAML::Node& node, const std::string& path, double max, const char* max_text) const {
  const std::string& text = scalar(node, path, "a number");
  // Digits, then optionally '.' and more digits: what a person writes for a rate, and what to_yaml
  // writes back. No sign, exponent, "inf" or "nan".
  const std::size_t dot = text.find('.');
  const std::string_view whole = std::string_view(text).substr(0, dot);
  const std::string_view fraction = dot == std::string::npos ? std::string_view() : std::string_view(text).substr(dot + 1);
  const auto digits = [](std::string_view part) {
    return std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  double value = 0;
  const bool grammar = !whole.empty() && whole.size() <= 20 && digits(whole) &&
                       (dot == std::string::npos || (!fraction.empty() && fraction.size() <= 20 && digits(fraction)));
  if (!grammar || std::from_chars(text.data(), text.data() + text.size(), value).ec != std::errc())
    fail(path, "expected a number such as 20 or 0.5, got " + quoted(text));
  if (!(value > 0 && value <= max))
    fail(path, std::string("must be greater than 0 and at most ") + max_text + " (got " + quoted(text) + ")");
  return value;
}

// A list whose entries are rewritten to a canonical form by `normalize` (which returns the
// form, or throws std::invalid_argument with the problem).
std::vector<std::string> Reader::normalized_list(const YAML::Node& node, const std::string& path,
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

}  // namespace detail

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
    detail::Reader(source).read(documents.front(), config);
  } catch (const YAML::Exception& e) {
    // Not expected (the walk checks node types before reading), but never let it escape as such.
    throw ConfigError(source + ": " + position(e.mark) + "YAML error: " + e.msg);
  }
  if (config.rules.images.scan.action != Action::Off && config.rules.images.action == Action::Off) {
    throw ConfigError(source + ": rules.images.scan.action: the scan rule judges the digests the image rules resolve, "
                               "so it needs rules.images.action deny or warn (it is off)");
  }
  if (config.rules.images.pinDigests && config.rules.images.action == Action::Off) {
    throw ConfigError(source + ": rules.images.pinDigests: pinning appends the digest the image rules resolve, "
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

}  // namespace podgate::config
