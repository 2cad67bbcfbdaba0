// workloads.custom: the custom resources podgate judges as it judges a Deployment's template. Each
// entry is checked here so that the decoder (lib/admission) and the chart's webhook rules can take
// it as it is: a group, a kind, a plural, versions and a dotted path of plain identifiers.

#include "config/config.h"
#include "config/config_internal.h"
#include "config/reader.h"

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace podgate::config {

namespace {

using detail::quoted;

bool lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool digit(char c) { return c >= '0' && c <= '9'; }

// RFC 1123 label: what Kubernetes requires of a CRD's plural and of each label of its group.
bool is_label(std::string_view text) {
  if (text.empty() || text.size() > 63) return false;
  for (const char c : text)
    if (!lower_alnum(c) && c != '-') return false;
  return lower_alnum(text.front()) && lower_alnum(text.back());
}

// RFC 1123 subdomain (a CRD's group): dot-separated labels, at most 253 characters.
bool is_subdomain(std::string_view text) {
  if (text.empty() || text.size() > 253) return false;
  for (std::size_t start = 0;;) {
    const auto dot = text.find('.', start);
    if (!is_label(text.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start))) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

// A kind as CRDs name them: a letter, then letters and digits ("Rollout", "CloneSet").
bool is_kind(std::string_view text) {
  if (text.empty() || text.size() > 63 || !alpha(text.front())) return false;
  return std::all_of(text.begin(), text.end(), [](char c) { return alpha(c) || digit(c); });
}

// One segment of a podSpecPath: a JSON member name as Kubernetes APIs spell them.
bool is_identifier(std::string_view text) {
  if (text.empty() || text.size() > 63 || !(alpha(text.front()) || text.front() == '_')) return false;
  return std::all_of(text.begin(), text.end(), [](char c) { return alpha(c) || digit(c) || c == '_'; });
}

std::optional<std::string> pod_spec_path_problem(const std::string& path) {
  std::size_t segments = 0;
  for (std::size_t start = 0;;) {
    const auto dot = path.find('.', start);
    const std::string segment = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!is_identifier(segment))
      return "expected a dotted path of field names such as \"spec.template.spec\" (no array indexes), got " + quoted(path);
    if (++segments > kMaxPodSpecPathSegments)
      return "at most " + std::to_string(kMaxPodSpecPathSegments) + " segments, got " + quoted(path);
    if (dot == std::string::npos) return std::nullopt;
    start = dot + 1;
  }
}

// The API groups of the built-in pod-bearing kinds (besides the core group ""), which are judged
// already; a CustomResourceDefinition cannot take these groups.
bool is_builtin_group(std::string_view group) { return group == "apps" || group == "batch" || group == "extensions"; }

std::string lowercase(std::string text) {
  for (char& c : text)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return text;
}

}  // namespace

namespace detail {

void Reader::workloads(const YAML::Node& node, const std::string& path, WorkloadsConfig& out) {
  mapping(node, path,
          {
              {"custom",
               [&](const YAML::Node& n, const std::string& p) {
                 out.custom.clear();
                 if (n.IsNull()) return;
                 if (!n.IsSequence()) fail(p, "expected a list, got " + describe(n));
                 if (n.size() > kMaxCustomWorkloads)
                   fail(p, "at most " + std::to_string(kMaxCustomWorkloads) + " entries, got " + std::to_string(n.size()));
                 std::size_t index = 0;
                 for (const auto& item : n) {
                   const std::string item_path = p + "[" + std::to_string(index++) + "]";
                   CustomWorkload entry = custom_workload(item, item_path);
                   for (const auto& other : out.custom) {
                     if (other.group == entry.group && other.kind == entry.kind)
                       fail(item_path + ".kind", "duplicate entry for " + quoted(entry.kind) + " in group " + quoted(entry.group));
                     if (other.group == entry.group && other.resource == entry.resource)
                       fail(item_path + ".resource",
                            "duplicate resource " + quoted(entry.resource) + " in group " + quoted(entry.group));
                   }
                   out.custom.push_back(std::move(entry));
                 }
               }},
          });
}

CustomWorkload Reader::custom_workload(const YAML::Node& node, const std::string& path) {
  if (!node.IsMap()) fail(path, "expected a mapping with group, kind and podSpecPath, got " + describe(node));
  CustomWorkload entry;
  bool resourceSet = false;
  mapping(node, path,
          {
              {"group",
               [&](const YAML::Node& n, const std::string& p) {
                 entry.group = non_empty_string(n, p);
                 if (!is_subdomain(entry.group))
                   fail(p, "expected an API group such as \"argoproj.io\" (a DNS subdomain), got " + quoted(entry.group));
                 if (is_builtin_group(entry.group))
                   fail(p, quoted(entry.group) + " is a Kubernetes API group; its pod-bearing kinds are judged already");
               }},
              {"kind",
               [&](const YAML::Node& n, const std::string& p) {
                 entry.kind = non_empty_string(n, p);
                 if (!is_kind(entry.kind))
                   fail(p, "expected a kind such as \"Rollout\" (letters and digits), got " + quoted(entry.kind));
               }},
              {"resource",
               [&](const YAML::Node& n, const std::string& p) {
                 entry.resource = non_empty_string(n, p);
                 if (!is_label(entry.resource))
                   fail(p, "expected a plural resource name such as \"rollouts\" (lower case), got " + quoted(entry.resource));
                 resourceSet = true;
               }},
              {"versions",
               [&](const YAML::Node& n, const std::string& p) {
                 entry.versions = string_list(n, p, [](const std::string& v) -> std::optional<std::string> {
                   if (v == "*" || is_label(v)) return std::nullopt;
                   return "expected \"*\" or an API version such as \"v1alpha1\", got " + quoted(v);
                 });
                 if (entry.versions.empty()) fail(p, "must not be empty (\"*\" routes every version)");
                 if (entry.versions.size() > 1 &&
                     std::find(entry.versions.begin(), entry.versions.end(), "*") != entry.versions.end())
                   fail(p, "\"*\" must be the only entry");
               }},
              {"podSpecPath",
               [&](const YAML::Node& n, const std::string& p) {
                 entry.podSpecPath = non_empty_string(n, p);
                 if (auto problem = pod_spec_path_problem(entry.podSpecPath)) fail(p, *problem);
               }},
          });
  if (entry.group.empty()) fail(path + ".group", "is required");
  if (entry.kind.empty()) fail(path + ".kind", "is required");
  if (entry.podSpecPath.empty()) fail(path + ".podSpecPath", "is required");
  if (!resourceSet) {
    // The regular English plural only: irregular ones (policies, proxies) must be written out.
    entry.resource = lowercase(entry.kind) + "s";
  }
  return entry;
}

}  // namespace detail

}  // namespace podgate::config
