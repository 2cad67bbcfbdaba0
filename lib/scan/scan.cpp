#include "scan/scan.h"

#include <cstddef>

namespace podgate::scan {
namespace {

constexpr const char* kSeverityNames[kSeverityCount] = {"UNKNOWN", "NEGLIGIBLE", "LOW", "MEDIUM", "HIGH", "CRITICAL"};

constexpr char upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

bool equals_upper(std::string_view text, std::string_view upperName) {
  if (text.size() != upperName.size()) return false;
  for (std::size_t i = 0; i < text.size(); ++i)
    if (upper(text[i]) != upperName[i]) return false;
  return true;
}

}  // namespace

const char* to_string(Severity severity) {
  const auto index = static_cast<std::size_t>(severity);
  return index < kSeverityCount ? kSeverityNames[index] : "UNKNOWN";
}

std::optional<Severity> parse_severity(std::string_view text) {
  for (std::size_t i = 0; i < kSeverityCount; ++i)
    if (equals_upper(text, kSeverityNames[i])) return static_cast<Severity>(i);
  return std::nullopt;
}

const char* to_string(MalwareResult result) {
  switch (result) {
    case MalwareResult::None: return "none";
    case MalwareResult::Clean: return "clean";
    case MalwareResult::Malicious: return "malicious";
    case MalwareResult::Error: return "error";
  }
  return "none";
}

// Exact spelling: this is podgate's own format (docs/scan-verdicts.md), and "none" is not a
// result a malware scanner can report.
std::optional<MalwareResult> parse_malware_result(std::string_view text) {
  if (text == "clean") return MalwareResult::Clean;
  if (text == "malicious") return MalwareResult::Malicious;
  if (text == "error") return MalwareResult::Error;
  return std::nullopt;
}

}  // namespace podgate::scan
