#include "manifest/manifest.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "log/log.h"

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
void append_scalar(std::string& out, const YAML::Node& node) {
  const std::string& value = node.Scalar();
  if (node.Tag() == "?") {
    if (value == "true" || value == "True" || value == "TRUE") { out += "true"; return; }
    if (value == "false" || value == "False" || value == "FALSE") { out += "false"; return; }
    if (value.empty() || value == "~" || value == "null" || value == "Null" || value == "NULL") {
      out += "null";
      return;
    }
    if (is_json_number(value)) { out += value; return; }
  }
  log::append_json_string(out, value);
}

void append_json(std::string& out, const YAML::Node& node, int depth) {
  if (depth > kMaxDepth) throw ManifestError("nesting deeper than " + std::to_string(kMaxDepth) + " levels");
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null: out += "null"; return;
    case YAML::NodeType::Scalar: append_scalar(out, node); return;
    case YAML::NodeType::Sequence: {
      out += '[';
      bool first = true;
      for (const auto& item : node) {
        if (!first) out += ',';
        first = false;
        append_json(out, item, depth + 1);
      }
      out += ']';
      return;
    }
    case YAML::NodeType::Map: {
      out += '{';
      bool first = true;
      for (const auto& kv : node) {
        if (!first) out += ',';
        first = false;
        if (!kv.first.IsScalar()) throw ManifestError("line " + std::to_string(kv.first.Mark().line + 1) +
                                                      ": mapping keys must be strings");
        log::append_json_string(out, kv.first.Scalar());
        out += ':';
        append_json(out, kv.second, depth + 1);
      }
      out += '}';
      return;
    }
  }
}

// Never assigns one YAML::Node to another: yaml-cpp's operator= rewrites the node it refers to,
// which would corrupt the document being read.
std::string scalar_at(const YAML::Node& node, const char* a, const char* b = nullptr) {
  const YAML::Node first = node[a];
  if (!first) return "";
  if (b == nullptr) return first.IsScalar() ? first.Scalar() : "";
  if (!first.IsMap()) return "";
  const YAML::Node second = first[b];
  return second && second.IsScalar() ? second.Scalar() : "";
}

void add_document(std::vector<Document>& out, const YAML::Node& node, const std::string& source) {
  if (!node || node.IsNull()) return;  // empty document between '---' separators
  if (!node.IsMap()) throw ManifestError(source + ": a manifest document must be a mapping");
  const std::string kind = scalar_at(node, "kind");
  if (kind == "List" && node["items"] && node["items"].IsSequence()) {
    for (const auto& item : node["items"]) add_document(out, item, source);
    return;
  }
  Document doc;
  doc.source = source;
  doc.kind = kind;
  doc.apiVersion = scalar_at(node, "apiVersion");
  doc.name = scalar_at(node, "metadata", "name");
  if (doc.name.empty()) doc.name = scalar_at(node, "metadata", "generateName");
  doc.namespace_ = scalar_at(node, "metadata", "namespace");
  append_json(doc.json, node, 0);
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
  try {
    std::vector<YAML::Node> docs = YAML::LoadAll(text);
    for (const auto& node : docs) {
      std::string where = source + ":" + std::to_string(node.Mark().line >= 0 ? node.Mark().line + 1 : 1);
      add_document(out, node, where);
    }
  } catch (const YAML::Exception& e) {
    throw ManifestError(source + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                        ": invalid YAML: " + e.msg);
  }
  return out;
}

std::vector<Document> load(const std::string& path, std::size_t max_file_bytes) {
  if (path == "-") return parse(read_all(std::cin, "<stdin>", max_file_bytes), "<stdin>");

  std::error_code ec;
  auto status = fs::status(path, ec);
  if (ec || !fs::exists(status)) throw ManifestError(path + ": no such file or directory");

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
    if (!in) throw ManifestError(file.string() + ": cannot read: " + std::strerror(errno));
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
  std::string out = R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":)";
  log::append_json_string(out, "podgate-check:" + doc.source);
  out += R"(,"kind":{"group":)";
  log::append_json_string(out, group);
  out += R"(,"version":)";
  log::append_json_string(out, version);
  out += R"(,"kind":)";
  log::append_json_string(out, doc.kind);
  out += R"(},"resource":{"group":)";
  log::append_json_string(out, resource_group);
  out += R"(,"version":)";
  log::append_json_string(out, version);
  out += R"(,"resource":)";
  log::append_json_string(out, resource);
  out += R"(},"name":)";
  log::append_json_string(out, doc.name);
  out += R"(,"namespace":)";
  log::append_json_string(out, ns);
  out += R"(,"operation":"CREATE","userInfo":{"username":"podgate-check"},"dryRun":true,"object":)";
  out += doc.json;
  out += "}}";
  return out;
}

}  // namespace podgate::manifest
