// The check report's model: a manifest document described, a verdict recorded, the summary.

#include "check_report/check_report.h"

#include "manifest/manifest.h"
#include "policy/policy.h"

namespace podgate::check_report {

std::optional<Format> parse_format(std::string_view name) {
  if (name == "text") return Format::Text;
  if (name == "json") return Format::Json;
  if (name == "sarif") return Format::Sarif;
  if (name == "junit") return Format::Junit;
  return std::nullopt;
}

Document describe(const manifest::Document& doc, const std::string& default_namespace, bool cluster_scoped) {
  Document out;
  out.file = doc.file;
  out.line = doc.line;
  out.apiVersion = doc.apiVersion;
  out.kind = doc.kind;
  out.name = doc.name;
  if (!cluster_scoped) out.namespace_ = doc.namespace_.empty() ? default_namespace : doc.namespace_;
  return out;
}

void add_verdict(Document& doc, const policy::Verdict& verdict) {
  for (const auto& v : verdict.violations)
    doc.violations.push_back({v.rule, v.control, v.action == config::Action::Deny, v.fieldPath, v.message});
  for (const auto& e : verdict.exemptions) doc.exemptions.push_back({e.kind, e.value});
  if (verdict.decision != policy::Decision::Allowed) doc.denied = true;
}

Summary summarize(const std::vector<Document>& docs) {
  Summary s;
  s.documents = docs.size();
  for (const auto& d : docs) {
    if (d.judged) ++s.judged;
    if (d.denied) ++s.denied;
    if (!d.error.empty()) ++s.errors;
    s.violations += d.violations.size();
  }
  return s;
}

namespace {

std::string count(std::size_t n, const char* singular, const char* plural) {
  return std::to_string(n) + " " + (n == 1 ? singular : plural);
}

}  // namespace

std::string summary_line(const Summary& s) {
  std::string line = count(s.documents, "document", "documents") + ", " + std::to_string(s.judged) +
                     " judged (pod specs, PersistentVolumes), " + count(s.violations, "violation", "violations");
  if (s.errors > 0) line += ", " + count(s.errors, "unreadable", "unreadable");
  return line + ", " + std::to_string(s.denied) + " would be denied";
}

}  // namespace podgate::check_report
