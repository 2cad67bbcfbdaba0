#pragma once
// Inside lib/check_report: one writer per format, the rule catalogue they share, and text made
// safe for JSON and XML (a manifest may carry any bytes; every format must stay parseable).

#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include <string>
#include <string_view>
#include <vector>

#include "check_report/check_report.h"

namespace podgate::check_report::detail {

void write_text(const std::vector<Document>& docs, std::ostream& out);
void write_json(const std::vector<Document>& docs, const Tool& tool, std::ostream& out);
void write_sarif(const std::vector<Document>& docs, const Tool& tool, std::ostream& out);
void write_junit(const std::vector<Document>& docs, const Tool& tool, std::ostream& out);

// What a rule id stands for, for SARIF's rules and JUnit's failure types.
struct RuleInfo {
  std::string id;
  std::string name;         // "PrivilegedContainer"
  std::string description;  // one sentence: what it refuses
  std::string help;         // how to fix it, and where it is configured
};

// The rules podgate has, then the two report-only ones: unreadable objects and check's notes.
const std::vector<RuleInfo>& rule_catalogue();
// The catalogue's entry, or a generic one for an id it does not know (a newer rule).
RuleInfo rule_info(std::string_view id);
inline constexpr std::string_view kUnreadableRule = "unreadable";
inline constexpr std::string_view kNoteRule = "checkNote";

// Valid UTF-8 (each stray byte as U+FFFD), so JSON and XML readers accept any manifest's text.
std::string clean(std::string_view text);

// The JSON and SARIF writers' writer, and their one way of writing a string member (cleaned).
using Writer = rapidjson::PrettyWriter<rapidjson::StringBuffer>;
void str(Writer& w, std::string_view key, std::string_view value);

}  // namespace podgate::check_report::detail
