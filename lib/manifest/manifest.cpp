#include "manifest/manifest.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "util/json.h"
#include "yaml/guard.h"

namespace podgate::manifest {

namespace fs = std::filesystem;

namespace {

constexpr int kMaxDepth = 256;  // far deeper than any real manifest; stops pathological input

// A JSON number exactly: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?
bool is_json_number(const std::string& v) {
  std::size_t i = 0, n = v.size();
  auto digits = [&] {
    std::size_t start = i;
    while (i < n && v[i] >= '0' && v[i] <= '9') ++i;
    return i > start;
  };
  if (i < n && v[i] == '-') ++i;
  if (i < n && v[i] == '0') ++i;
  else if (!digits()) return false;
  if (i < n && v[i] == '.') {
    ++i;
    if (!digits()) return false;
  }
  if (i < n && (v[i] == 'e' || v[i] == 'E')) {
    ++i;
    if (i < n && (v[i] == '+' || v[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == n;
}

// YAML 1.2 core schema for plain (unquoted) scalars; quoted scalars are always strings. This is
// how the apiserver's YAML decoder (sigs.k8s.io/yaml) types them too. Numbers JSON cannot spell
// (+3, 0755, .5) stay strings.
void write_scalar(util::JsonWriter& w, const YAML::Node& node) {
  const std::string& value = node.Scalar();
  if (node.Tag() == "?") {
    if (value == "true" || value == "True" || value == "TRUE") { w.Bool(true); return; }
    if (value == "false" || value == "False" || value == "FALSE") { w.Bool(false); return; }
    if (value.empty() || value == "~" || value == "null" || value == "Null" || value == "NULL") {
      w.Null();
      return;
    }
    // A number past double's range (1e400) is a string, as go-yaml resolves it (its ParseFloat
    // fails with ErrRange). An integer is written as spelt, so a 20-digit one reaches the decoder
    // as kubectl would send it; a fraction or an exponent is written by value, because JSON readers
    // (RapidJSON, podgate's own decoder) refuse some spellings of an ordinary double ("0e400").
    if (is_json_number(value)) {
      const double number = std::strtod(value.c_str(), nullptr);
      if (std::isfinite(number)) {
        if (value.find_first_of(".eE") == std::string::npos) w.RawValue(value.data(), value.size(), rapidjson::kNumberType);
        else w.Double(number);
        return;
      }
    }
  }
  util::write_string(w, value);
}

// An error inside one document, at a line; parse() names the file.
struct DocumentError {
  int line;  // 1-based
  std::string message;
};

[[noreturn]] void fail(const YAML::Node& at, std::string message) {
  throw DocumentError{std::max(at.Mark().line, 0) + 1, std::move(message)};
}

// What expanding aliases and merge keys may cost for one input. yaml-cpp shares an aliased node
// rather than copying it, so reading a "billion laughs" document is cheap; writing it out as JSON
// is where it would explode, so every node and every byte written counts against these.
struct Budget {
  static constexpr std::size_t kMaxNodes = 4'000'000;   // go-yaml gives up on aliasing near here too
  static constexpr std::size_t kMaxBytes = 64u << 20;   // 4x the largest file podgate reads
  std::size_t nodes = 0;
  std::size_t bytes = 0;

  void node(const YAML::Node& at) {
    if (++nodes > kMaxNodes)
      fail(at, "more than " + std::to_string(kMaxNodes) +
                   " values once aliases and merge keys are expanded; refusing to expand it (an alias bomb?)");
  }
  void add(const YAML::Node& at, std::size_t n) {
    bytes += n;
    if (bytes > kMaxBytes)
      fail(at, "larger than " + std::to_string(kMaxBytes) +
                   " bytes once aliases and merge keys are expanded; refusing to expand it (an alias bomb?)");
  }
};

// A mapping's keys and values after merge keys are applied, keys unique, in document order.
using Members = std::vector<std::pair<std::string, YAML::Node>>;

// A YAML 1.1 merge key: the plain scalar "<<" (or one tagged !!merge); a quoted "<<" is a string,
// as go-yaml (kubectl's YAML decoder) treats it.
bool is_merge_key(const YAML::Node& key) {
  return key.IsScalar() && key.Scalar() == "<<" && (key.Tag() == "?" || key.Tag() == "tag:yaml.org,2002:merge");
}

Members members(const YAML::Node& map, Budget& budget, int depth);

// The keys a merge key brings in: its mapping, or each mapping of its sequence with the earlier
// ones taking precedence (go-yaml's and the YAML 1.1 merge type's rule). Nested merge keys inside
// the merged mappings are applied first.
Members merged_members(const YAML::Node& value, Budget& budget, int depth) {
  std::vector<YAML::Node> sources;
  if (value.IsMap()) {
    sources.push_back(value);
  } else if (value.IsSequence()) {
    for (const auto& item : value) {
      if (!item.IsMap()) fail(item, "a merge key (<<) takes a mapping or a sequence of mappings");
      sources.push_back(item);
    }
  } else {
    fail(value, "a merge key (<<) takes a mapping or a sequence of mappings");
  }
  Members out;
  std::unordered_set<std::string> seen;
  for (const auto& source : sources)
    for (auto& [key, v] : members(source, budget, depth + 1))
      if (seen.insert(key).second) out.emplace_back(std::move(key), v);
  return out;
}

// Applies merge keys as go-yaml v2 does for kubectl: a key written after the merge key overrides
// the merged one. Refused, because YAML tools disagree on them and podgate must not judge a
// different object than the one applied:
//   - a key written twice (go-yaml v2 keeps the last, v3 and yaml-cpp's users refuse it),
//   - two merge keys in one mapping (the same thing),
//   - a key written before a merge key that also sets it (go-yaml v2 lets the merged value
//     overwrite it; YAML 1.1, go-yaml v3 and kustomize keep the explicit one).
// Never assigns one YAML::Node to another: yaml-cpp's operator= rewrites the node it refers to,
// which would corrupt the document being read; values are only copy-constructed.
Members members(const YAML::Node& map, Budget& budget, int depth) {
  if (depth > kMaxDepth) fail(map, "nesting deeper than " + std::to_string(kMaxDepth) + " levels");
  Members before, after;
  std::unordered_map<std::string, bool> explicit_keys;  // key -> written before the merge key
  std::optional<YAML::Node> merge;
  for (const auto& kv : map) {
    budget.node(kv.first);
    if (is_merge_key(kv.first)) {
      if (merge) fail(kv.first, "more than one merge key (<<) in a mapping");
      merge.emplace(kv.second);
      continue;
    }
    if (!kv.first.IsScalar()) fail(kv.first, "mapping keys must be strings");
    const std::string& key = kv.first.Scalar();
    if (!explicit_keys.emplace(key, !merge).second) fail(kv.first, "duplicate key \"" + key + "\"");
    (merge ? after : before).emplace_back(key, kv.second);
  }
  if (!merge) return before;
  Members out = std::move(before);
  for (auto& [key, v] : merged_members(*merge, budget, depth)) {
    const auto it = explicit_keys.find(key);
    if (it == explicit_keys.end()) {
      out.emplace_back(std::move(key), v);
    } else if (it->second) {
      fail(*merge, "key \"" + key + "\" is written before a merge key (<<) that also sets it: kubectl takes "
                   "the merged value, other YAML tools the written one; write it after the merge key");
    }
  }
  std::move(after.begin(), after.end(), std::back_inserter(out));
  return out;
}

void write_json(util::JsonWriter& w, const YAML::Node& node, int depth, Budget& budget) {
  if (depth > kMaxDepth) fail(node, "nesting deeper than " + std::to_string(kMaxDepth) + " levels");
  budget.node(node);
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null: w.Null(); return;
    case YAML::NodeType::Scalar:
      budget.add(node, node.Scalar().size());
      write_scalar(w, node);
      return;
    case YAML::NodeType::Sequence:
      w.StartArray();
      for (const auto& item : node) write_json(w, item, depth + 1, budget);
      w.EndArray();
      return;
    case YAML::NodeType::Map:
      w.StartObject();
      for (const auto& [key, value] : members(node, budget, depth)) {
        budget.add(node, key.size());
        util::write_key(w, key);
        write_json(w, value, depth + 1, budget);
      }
      w.EndObject();
      return;
  }
}

const YAML::Node* find(const Members& m, std::string_view key) {
  for (const auto& [k, v] : m)
    if (k == key) return &v;
  return nullptr;
}

std::string scalar_of(const YAML::Node* node) { return node && node->IsScalar() ? node->Scalar() : ""; }

// Lists nested in lists deeper than this are refused (kubectl has no bound; real lists nest once).
constexpr int kMaxListDepth = 16;

// One object, or the items of a list. As kubectl (k8s.io/cli-runtime's FlattenListVisitor and
// Unstructured.IsList) decides it: any object whose top-level `items` is a sequence is a list,
// whatever its kind (List, PodList, a "Pod" carrying items), and lists inside lists are expanded.
// Each item reports its own line.
void add_object(std::vector<Document>& out, const YAML::Node& node, const std::string& file, Budget& budget,
                int list_depth) {
  if (!node.IsMap()) fail(node, list_depth ? "a list item must be a mapping" : "a manifest document must be a mapping");
  const Members top = members(node, budget, 0);
  if (const YAML::Node* items = find(top, "items"); items && items->IsSequence()) {
    if (list_depth >= kMaxListDepth) fail(node, "lists nested deeper than " + std::to_string(kMaxListDepth) + " levels");
    for (const auto& item : *items) add_object(out, item, file, budget, list_depth + 1);
    return;
  }
  Document doc;
  doc.file = file;
  doc.line = std::max(node.Mark().line, 0) + 1;
  doc.source = file + ":" + std::to_string(doc.line);
  doc.kind = scalar_of(find(top, "kind"));
  doc.apiVersion = scalar_of(find(top, "apiVersion"));
  if (const YAML::Node* metadata = find(top, "metadata"); metadata && metadata->IsMap()) {
    const Members meta = members(*metadata, budget, 1);
    doc.name = scalar_of(find(meta, "name"));
    if (doc.name.empty()) doc.name = scalar_of(find(meta, "generateName"));
    doc.namespace_ = scalar_of(find(meta, "namespace"));
  }
  rapidjson::StringBuffer buffer;
  util::JsonWriter w(buffer);
  write_json(w, node, 0, budget);
  doc.json = util::to_string(buffer);
  out.push_back(std::move(doc));
}

std::string read_all(std::istream& in, const std::string& name, std::size_t max_bytes) {
  std::string text;
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<std::size_t>(in.gcount()));
    if (text.size() > max_bytes)
      throw ManifestError(name + ": larger than " + std::to_string(max_bytes) + " bytes; refusing to read it");
  }
  return text;
}

bool is_manifest_file(const fs::path& p) {
  auto ext = p.extension().string();
  return ext == ".yaml" || ext == ".yml" || ext == ".json";
}

}  // namespace

std::vector<Document> parse(const std::string& text, const std::string& source) {
  std::vector<Document> out;
  Budget budget;  // one for the whole input: many small bombs are as bad as one big one
  try {
    yaml::check_documents_advance(text);
    std::vector<YAML::Node> docs = YAML::LoadAll(text);
    for (const auto& node : docs) {
      if (!node || node.IsNull()) continue;  // empty document between '---' separators
      add_object(out, node, source, budget, 0);
    }
  } catch (const YAML::Exception& e) {
    throw ManifestError(source + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                        ": invalid YAML: " + e.msg);
  } catch (const DocumentError& e) {
    throw ManifestError(source + ":" + std::to_string(e.line) + ": " + e.message);
  }
  return out;
}

std::vector<Document> load(const std::string& path, std::size_t max_file_bytes) {
  if (path == "-") return parse(read_all(std::cin, "<stdin>", max_file_bytes), "<stdin>");

  std::error_code ec;
  auto status = fs::status(path, ec);
  if (ec) throw ManifestError(path + ": cannot read: " + ec.message());
  if (!fs::exists(status)) throw ManifestError(path + ": cannot read: no such file or directory");

  std::vector<fs::path> files;
  if (fs::is_directory(status)) {
    for (auto it = fs::recursive_directory_iterator(path, fs::directory_options::skip_permission_denied, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_regular_file() && is_manifest_file(it->path())) files.push_back(it->path());
    }
    if (ec) throw ManifestError(path + ": " + ec.message());
    std::sort(files.begin(), files.end());
  } else {
    files.emplace_back(path);
  }

  std::vector<Document> out;
  for (const auto& file : files) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw ManifestError(file.string() + ": cannot read: " + std::generic_category().message(errno));
    auto docs = parse(read_all(in, file.string(), max_file_bytes), file.string());
    std::move(docs.begin(), docs.end(), std::back_inserter(out));
  }
  return out;
}

std::string to_admission_review(const Document& doc, const std::string& default_namespace,
                                std::string_view resource_group, std::string_view resource) {
  // group/version from apiVersion: "apps/v1" -> ("apps","v1"), "v1" -> ("","v1").
  std::string group, version = doc.apiVersion;
  if (auto slash = doc.apiVersion.find('/'); slash != std::string::npos) {
    group = doc.apiVersion.substr(0, slash);
    version = doc.apiVersion.substr(slash + 1);
  }
  // PersistentVolumes are cluster-scoped: the apiserver sends no namespace for them.
  const std::string ns = resource == "persistentvolumes" ? std::string() : doc.namespace_.empty() ? default_namespace : doc.namespace_;
  rapidjson::StringBuffer buffer;
  util::JsonWriter w(buffer);
  w.StartObject();
  util::write_members(w, {{"apiVersion", "admission.k8s.io/v1"}, {"kind", "AdmissionReview"}});
  w.Key("request");
  w.StartObject();
  util::write_members(w, {{"uid", "podgate-check:" + doc.source}});
  w.Key("kind");
  w.StartObject();
  util::write_members(w, {{"group", group}, {"version", version}, {"kind", doc.kind}});
  w.EndObject();
  w.Key("resource");
  w.StartObject();
  util::write_members(w, {{"group", resource_group}, {"version", version}, {"resource", resource}});
  w.EndObject();
  util::write_members(w, {{"name", doc.name}, {"namespace", ns}, {"operation", "CREATE"}});
  w.Key("userInfo");
  w.StartObject();
  util::write_members(w, {{"username", "podgate-check"}});
  w.EndObject();
  w.Key("dryRun");
  w.Bool(true);
  w.Key("object");
  w.RawValue(doc.json.data(), doc.json.size(), rapidjson::kObjectType);
  w.EndObject();
  w.EndObject();
  return util::to_string(buffer);
}

}  // namespace podgate::manifest
