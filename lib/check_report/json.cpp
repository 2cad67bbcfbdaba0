// The JSON report (docs/check.md; its schema is docs/check-report.schema.json): one object per
// document, then the summary.

#include <rapidjson/prettywriter.h>

#include "check_report/format.h"
#include "util/json.h"

namespace podgate::check_report::detail {

namespace {

void violation(Writer& w, const Finding& v) {
  w.StartObject();
  str(w, "rule", v.rule);
  if (!v.control.empty()) str(w, "control", v.control);
  str(w, "action", v.deny ? "deny" : "warn");
  str(w, "path", v.path);
  str(w, "message", v.message);
  w.EndObject();
}

void document(Writer& w, const Document& d) {
  w.StartObject();
  str(w, "file", d.file);
  w.Key("line");
  w.Int(d.line);
  str(w, "apiVersion", d.apiVersion);
  str(w, "kind", d.kind);
  str(w, "name", d.name);
  str(w, "namespace", d.namespace_);
  w.Key("judged");
  w.Bool(d.judged);
  w.Key("denied");
  w.Bool(d.denied);
  if (!d.error.empty()) str(w, "error", d.error);
  w.Key("violations");
  w.StartArray();
  for (const auto& v : d.violations) violation(w, v);
  w.EndArray();
  w.Key("exemptions");
  w.StartArray();
  for (const auto& e : d.exemptions) {
    w.StartObject();
    str(w, "kind", e.kind);
    str(w, "value", e.value);
    w.EndObject();
  }
  w.EndArray();
  w.Key("notes");
  w.StartArray();
  for (const auto& n : d.notes) {
    const std::string text = clean(n);
    w.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
  }
  w.EndArray();
  w.EndObject();
}

void summary(Writer& w, const Summary& s) {
  w.Key("summary");
  w.StartObject();
  const std::pair<const char*, std::size_t> counts[] = {
      {"documents", s.documents}, {"judged", s.judged}, {"violations", s.violations},
      {"denied", s.denied},       {"errors", s.errors}};
  for (const auto& [key, n] : counts) {
    w.Key(key);
    w.Uint64(n);
  }
  w.EndObject();
}

}  // namespace

void write_json(const std::vector<Document>& docs, const Tool& tool, std::ostream& out) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.SetIndent(' ', 2);
  w.StartObject();
  w.Key("tool");
  w.StartObject();
  str(w, "name", tool.name);
  str(w, "version", tool.version);
  w.EndObject();
  w.Key("documents");
  w.StartArray();
  for (const auto& d : docs) document(w, d);
  w.EndArray();
  summary(w, summarize(docs));
  w.EndObject();
  out << util::to_string(buffer) << "\n";
}

}  // namespace podgate::check_report::detail
