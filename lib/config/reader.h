#pragma once
// The schema walk that parse() runs over yaml-cpp's node tree (internal to the config library).
// reader.cpp holds the generic walk (mappings, lists, scalars of each type, the error text);
// schema.cpp holds podgate's sections, one function each. Each value is checked as it is read and
// the first problem throws a ConfigError naming the source, the key path and what is wrong.

#include "config/config.h"

#include <chrono>
#include <cstdint>
#include <cstddef>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace podgate::config::detail {

// A node as an error shows it: "null", "a list", "a mapping" or the scalar, quoted (reader.cpp).
std::string describe(const YAML::Node& node);

class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  // Fills `config`, which holds the defaults, from a document's root node (schema.cpp).
  void read(const YAML::Node& root, Config& config);

 private:
  using Handler = std::function<void(const YAML::Node&, const std::string&)>;
  struct Field {
    const char* key;
    Handler handle;
  };

  // The generic walk (reader.cpp).
  [[noreturn]] void fail(const std::string& path, const std::string& problem) const;
  void mapping(const YAML::Node& node, const std::string& path, std::initializer_list<Field> fields);
  const std::string& scalar(const YAML::Node& node, const std::string& path, const std::string& expected) const;
  std::string string(const YAML::Node& node, const std::string& path) const;
  std::string non_empty_string(const YAML::Node& node, const std::string& path) const;
  std::vector<std::string> string_list(const YAML::Node& node, const std::string& path,
                                       const std::function<std::optional<std::string>(const std::string&)>& check) const;
  std::vector<std::string> normalized_list(const YAML::Node& node, const std::string& path,
                                           std::string (*normalize)(const std::string&)) const;
  bool boolean(const YAML::Node& node, const std::string& path) const;
  std::uint64_t integer(const YAML::Node& node, const std::string& path, std::uint64_t min, std::uint64_t max) const;
  std::size_t byte_size(const YAML::Node& node, const std::string& path, std::uint64_t min, const char* min_text,
                        std::uint64_t max, const char* max_text) const;
  std::chrono::milliseconds duration(const YAML::Node& node, const std::string& path) const;
  std::chrono::milliseconds duration(const YAML::Node& node, const std::string& path, std::chrono::milliseconds kMax,
                                     const char* max_text) const;
  std::chrono::milliseconds duration(const YAML::Node& node, const std::string& path, std::chrono::milliseconds kMin,
                                     const char* min_text, std::chrono::milliseconds kMax, const char* max_text) const;
  std::optional<std::chrono::milliseconds> duration_value(const YAML::Node& node, const std::string& path) const;
  // A plain decimal number ("20", "0.5"; no sign, no exponent), greater than 0 and at most `max`.
  double decimal(const YAML::Node& node, const std::string& path, double max, const char* max_text) const;

  // podgate's sections and the value types only they use (schema.cpp).
  template <typename Enum>
  Enum choice(const YAML::Node& node, const std::string& path,
              std::initializer_list<std::pair<const char*, Enum>> options) const;
  Mode mode(const YAML::Node& node, const std::string& path) const;
  Action action(const YAML::Node& node, const std::string& path) const;
  std::string severity(const YAML::Node& node, const std::string& path) const;
  std::vector<std::string> host_paths(const YAML::Node& node, const std::string& path) const;
  void listen_address(const YAML::Node& node, const std::string& path, std::string& out) const;
  void exemptions(const YAML::Node& node, const std::string& path, Exemptions& out);
  void rules(const YAML::Node& node, const std::string& path, Rules& out);
  void privileged(const YAML::Node& node, const std::string& path, PrivilegedRule& out);
  void runtime_sockets(const YAML::Node& node, const std::string& path, RuntimeSocketsRule& out);
  void images(const YAML::Node& node, const std::string& path, ImagesRule& out);
  void pod_security(const YAML::Node& node, const std::string& path, PodSecurityRule& out);
  void resolve(const YAML::Node& node, const std::string& path, ResolveSettings& out);
  void scan_rule(const YAML::Node& node, const std::string& path, ScanRule& out);
  std::vector<SignatureRule> signature_rules(const YAML::Node& node, const std::string& path);
  std::vector<IgnoredFinding> ignored_findings(const YAML::Node& node, const std::string& path);
  void registries(const YAML::Node& node, const std::string& path, std::vector<RegistryConfig>& out);
  void workloads(const YAML::Node& node, const std::string& path, WorkloadsConfig& out);
  CustomWorkload custom_workload(const YAML::Node& node, const std::string& path);
  void kubernetes(const YAML::Node& node, const std::string& path, KubernetesConfig& out);
  void scans(const YAML::Node& node, const std::string& path, ScansConfig& out);
  void audit(const YAML::Node& node, const std::string& path, AuditConfig& out);
  void server(const YAML::Node& node, const std::string& path, ServerConfig& out);
  void tls(const YAML::Node& node, const std::string& path, TlsConfig& out);
  void limits(const YAML::Node& node, const std::string& path, Limits& out);
  void logging(const YAML::Node& node, const std::string& path, LoggingConfig& out);

  std::string source_;
};

// Defined here: schema.cpp and schema_rules.cpp both read enums.
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

}  // namespace podgate::config::detail
