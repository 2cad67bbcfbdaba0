// The SARIF 2.1.0 report, for GitHub code scanning and other SARIF viewers: one run, the rules
// podgate has, and a result per violation (error for deny, warning for warn), per unreadable
// object (error) and per note (note), each at its document's file and line.

#include <rapidjson/prettywriter.h>

#include <algorithm>
#include <cstdio>

#include "check_report/format.h"
#include "util/json.h"

namespace podgate::check_report::detail {

namespace {

void text_object(Writer& w, std::string_view key, std::string_view text) {
  w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
  w.StartObject();
  str(w, "text", text);
  w.EndObject();
}

// The path as a relative URI reference (SARIF's artifactLocation.uri): "/" kept, everything a URI
// may not hold percent-encoded ("<stdin>" becomes "%3Cstdin%3E", a space "%20").
std::string uri_reference(std::string_view path) {
  static constexpr std::string_view kKeep = "-._~!$&'()*+,;=:@/";
  std::string out;
  for (const unsigned char c : path) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || kKeep.find(c) != kKeep.npos) {
      out += static_cast<char>(c);
    } else {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", c);
      out += hex;
    }
  }
  return out;
}

// The catalogue, then any rule id the documents use that it does not know.
std::vector<RuleInfo> rules_for(const std::vector<Document>& docs) {
  std::vector<RuleInfo> rules = rule_catalogue();
  for (const auto& d : docs)
    for (const auto& v : d.violations)
      if (std::none_of(rules.begin(), rules.end(), [&](const RuleInfo& r) { return r.id == v.rule; }))
        rules.push_back(rule_info(v.rule));
  return rules;
}

void driver(Writer& w, const Tool& tool, const std::vector<RuleInfo>& rules) {
  w.Key("tool");
  w.StartObject();
  w.Key("driver");
  w.StartObject();
  str(w, "name", tool.name);
  str(w, "version", tool.version);
  w.Key("rules");
  w.StartArray();
  for (const auto& r : rules) {
    w.StartObject();
    str(w, "id", r.id);
    str(w, "name", r.name);
    text_object(w, "shortDescription", r.description);
    text_object(w, "help", r.help);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  w.EndObject();
}

struct Result {
  std::string_view rule;
  const char* level;  // "error" | "warning" | "note"
  std::string_view message;
  const Finding* finding;  // null for an unreadable object or a note
};

std::size_t index_of(const std::vector<RuleInfo>& rules, std::string_view id) {
  const auto it = std::find_if(rules.begin(), rules.end(), [&](const RuleInfo& r) { return r.id == id; });
  return static_cast<std::size_t>(it - rules.begin());
}

void properties(Writer& w, const Document& d, const Finding* f) {
  w.Key("properties");
  w.StartObject();
  str(w, "kind", d.kind);
  str(w, "name", d.name);
  str(w, "namespace", d.namespace_);
  if (f) {
    str(w, "path", f->path);
    if (!f->control.empty()) str(w, "control", f->control);
  }
  w.EndObject();
}

void result(Writer& w, const Document& d, const Result& r, const std::vector<RuleInfo>& rules) {
  w.StartObject();
  str(w, "ruleId", r.rule);
  w.Key("ruleIndex");
  w.Uint64(index_of(rules, r.rule));
  str(w, "level", r.level);
  text_object(w, "message", r.message);
  w.Key("locations");
  w.StartArray();
  w.StartObject();
  w.Key("physicalLocation");
  w.StartObject();
  w.Key("artifactLocation");
  w.StartObject();
  str(w, "uri", uri_reference(d.file));
  w.EndObject();
  w.Key("region");
  w.StartObject();
  w.Key("startLine");
  w.Int(std::max(d.line, 1));
  w.EndObject();
  w.EndObject();
  w.EndObject();
  w.EndArray();
  properties(w, d, r.finding);
  w.EndObject();
}

void results(Writer& w, const std::vector<Document>& docs, const std::vector<RuleInfo>& rules) {
  w.Key("results");
  w.StartArray();
  for (const auto& d : docs) {
    if (!d.error.empty()) result(w, d, {kUnreadableRule, "error", d.error, nullptr}, rules);
    for (const auto& v : d.violations) result(w, d, {v.rule, v.deny ? "error" : "warning", v.message, &v}, rules);
    for (const auto& n : d.notes) result(w, d, {kNoteRule, "note", n, nullptr}, rules);
  }
  w.EndArray();
}

}  // namespace

void write_sarif(const std::vector<Document>& docs, const Tool& tool, std::ostream& out) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.SetIndent(' ', 2);
  const std::vector<RuleInfo> rules = rules_for(docs);
  w.StartObject();
  str(w, "$schema", "https://json.schemastore.org/sarif-2.1.0.json");
  str(w, "version", "2.1.0");
  w.Key("runs");
  w.StartArray();
  w.StartObject();
  driver(w, tool, rules);
  results(w, docs, rules);
  w.EndObject();
  w.EndArray();
  w.EndObject();
  out << util::to_string(buffer) << "\n";
}

}  // namespace podgate::check_report::detail
