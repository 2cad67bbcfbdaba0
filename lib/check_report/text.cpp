// The text report: the lines `podgate check` has always printed, one per finding.

#include "check_report/format.h"

namespace podgate::check_report::detail {

void write_text(const std::vector<Document>& docs, std::ostream& out) {
  for (const auto& d : docs) {
    const std::string at = d.source();
    if (!d.error.empty()) out << at << ": error: " << d.error << "\n";
    for (const auto& v : d.violations)
      out << at << ": " << (v.deny ? "deny" : "warn") << " [" << v.rule << "] " << v.message << "\n";
    for (const auto& e : d.exemptions) out << at << ": exempt [" << e.kind << "] " << e.value << "\n";
  }
}

}  // namespace podgate::check_report::detail
