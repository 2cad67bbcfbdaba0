#pragma once
// What `podgate check` found in each manifest document, and the ways it is written out: text (one
// line per finding), JSON (docs/check.md; schema docs/check-report.schema.json), SARIF 2.1.0 (GitHub
// code scanning: findings on the manifest's lines) and JUnit XML (CI dashboards). The judging
// itself stays in webhook/check.cpp; this folder only describes and formats its results.

#include <cstddef>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace podgate::manifest {
struct Document;
}
namespace podgate::policy {
struct Verdict;
}

namespace podgate::check_report {

enum class Format { Text, Json, Sarif, Junit };

// "text" | "json" | "sarif" | "junit"; nullopt for anything else.
std::optional<Format> parse_format(std::string_view name);

struct Finding {
  std::string rule;     // podgate's rule id: "privileged", "runtimeSockets", "podSecurity", ...
  std::string control;  // rules.podSecurity: PSA's check id ("hostNamespaces"); "" for other rules
  bool deny = false;    // deny, or warn only
  std::string path;     // the field in the manifest: "spec.template.spec.containers[0].image"
  std::string message;  // one sentence: what is wrong and how to fix it
};

struct Exemption {
  std::string kind;   // "namespace" | "serviceAccount" | "image"
  std::string value;  // what matched
};

// One manifest document (a List's item is a document of its own, at its own line).
struct Document {
  std::string file;  // as given on the command line ("deploy/web.yaml"), "<stdin>" for -
  int line = 1;      // 1-based line where the document (or List item) starts
  std::string apiVersion, kind, name;
  std::string namespace_;  // the namespace it would be created in ("" for cluster-scoped kinds)
  bool judged = false;     // podgate judged it (a pod-bearing kind, a PersistentVolume)
  bool denied = false;     // enforcement would refuse it (an unreadable object is refused too)
  std::string error;       // why podgate cannot read the object ("" when it can)
  std::vector<Finding> violations;
  std::vector<Exemption> exemptions;
  // Remarks about the document that are not findings ("skipped: no kind"): shown to the person on
  // stderr in every format, and carried in the machine formats.
  std::vector<std::string> notes;

  std::string source() const { return file + ":" + std::to_string(line); }
};

// A document as read, before judging: where it is and what it names. `namespace_` is the one it
// would be created in (the manifest's, else `default_namespace`; none when `cluster_scoped`).
Document describe(const manifest::Document& doc, const std::string& default_namespace, bool cluster_scoped);

// Records what the judge said: each violation, each exemption, and whether it would be denied.
void add_verdict(Document& doc, const policy::Verdict& verdict);

struct Summary {
  std::size_t documents = 0, judged = 0, violations = 0, denied = 0, errors = 0;
};
Summary summarize(const std::vector<Document>& docs);

// "1 document, 1 judged (pod specs, PersistentVolumes), 2 violations, 1 would be denied".
std::string summary_line(const Summary& s);

// The tool's identity in the machine formats.
struct Tool {
  std::string name = "podgate";
  std::string version;
};

// Writes the report to `out`. Text writes today's lines (findings on `out`); every format writes
// the documents' notes to `notes` as "FILE:LINE: NOTE" lines for the person watching.
void write(Format format, const std::vector<Document>& docs, const Tool& tool, std::ostream& out, std::ostream& notes);

}  // namespace podgate::check_report
