// The JUnit XML report, for CI dashboards (validated against the Jenkins/Surefire junit-10 XSD):
// a testsuite per file, a testcase per judged or unreadable document, named Kind/namespace/name.
// A document that would be denied fails (one <failure> listing every denying violation); an
// unreadable one is an <error>; warnings leave the testcase passing and are written to its
// <system-out>, so a dashboard shows them without counting a test as failed or skipped.

#include <map>
#include <sstream>

#include "check_report/format.h"

namespace podgate::check_report::detail {

namespace {

// Text for an XML attribute or element: valid UTF-8, markup escaped, and the characters XML 1.0
// cannot hold at all (control characters, U+FFFE, U+FFFF) as U+FFFD.
std::string xml(std::string_view raw) {
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  const std::string text = clean(raw);
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (text.compare(i, 3, "\xEF\xBF\xBE") == 0 || text.compare(i, 3, "\xEF\xBF\xBF") == 0) {
      out += kReplacement;
      i += 2;
      continue;
    }
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') out += kReplacement;
        else out += static_cast<char>(c);
    }
  }
  return out;
}

bool is_testcase(const Document& d) { return d.judged || !d.error.empty(); }

std::string testcase_name(const Document& d) {
  std::string name = d.kind + "/";
  if (!d.namespace_.empty()) name += d.namespace_ + "/";
  return name + (d.name.empty() ? "(unnamed)" : d.name);
}

void failure(std::ostream& out, const Document& d) {
  std::string types, first, body;
  std::size_t denies = 0;
  for (const auto& v : d.violations) {
    if (!v.deny) continue;
    if (denies++ == 0) first = v.message;
    if (types.find(v.rule) == std::string::npos) types += (types.empty() ? "" : ",") + v.rule;
    body += d.source() + ": deny [" + v.rule + "] " + v.message + "\n";
  }
  if (denies > 1) first += " (and " + std::to_string(denies - 1) + " more)";
  if (denies == 0) first = "denied";  // a verdict that denies without a denying violation: say so all the same
  out << "      <failure type=\"" << xml(types) << "\" message=\"" << xml(first) << "\">" << xml(body) << "</failure>\n";
}

void system_out(std::ostream& out, const Document& d) {
  std::string text;
  for (const auto& v : d.violations)
    if (!v.deny) text += d.source() + ": warn [" + v.rule + "] " + v.message + "\n";
  for (const auto& e : d.exemptions) text += d.source() + ": exempt [" + e.kind + "] " + e.value + "\n";
  for (const auto& n : d.notes) text += d.source() + ": " + n + "\n";
  if (!text.empty()) out << "      <system-out>" << xml(text) << "</system-out>\n";
}

void testcase(std::ostream& out, const Document& d) {
  out << "    <testcase name=\"" << xml(testcase_name(d)) << "\" classname=\"" << xml(d.file) << "\">\n";
  if (!d.error.empty())
    out << "      <error type=\"unreadable\" message=\"" << xml(d.error) << "\">" << xml(d.source() + ": " + d.error)
        << "</error>\n";
  else if (d.denied)
    failure(out, d);
  system_out(out, d);
  out << "    </testcase>\n";
}

struct Counts {
  std::size_t tests = 0, failures = 0, errors = 0;
  void add(const Document& d) {
    if (!is_testcase(d)) return;
    ++tests;
    if (!d.error.empty()) ++errors;
    else if (d.denied) ++failures;
  }
  std::string attributes() const {
    return "tests=\"" + std::to_string(tests) + "\" failures=\"" + std::to_string(failures) + "\" errors=\"" +
           std::to_string(errors) + "\"";
  }
};

}  // namespace

void write_junit(const std::vector<Document>& docs, const Tool& tool, std::ostream& out) {
  // Files in the order they were read; each file's documents in theirs.
  std::vector<std::string> files;
  std::map<std::string, std::vector<const Document*>> by_file;
  Counts total;
  for (const auto& d : docs) {
    auto& list = by_file[d.file];
    if (list.empty()) files.push_back(d.file);
    list.push_back(&d);
    total.add(d);
  }
  out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out << "<testsuites name=\"" << xml(tool.name + " check") << "\" " << total.attributes() << ">\n";
  for (const auto& file : files) {
    Counts counts;
    for (const Document* d : by_file[file]) counts.add(*d);
    out << "  <testsuite name=\"" << xml(file) << "\" " << counts.attributes() << " skipped=\"0\" file=\"" << xml(file)
        << "\">\n";
    for (const Document* d : by_file[file])
      if (is_testcase(*d)) testcase(out, *d);
    out << "  </testsuite>\n";
  }
  out << "</testsuites>\n";
}

}  // namespace podgate::check_report::detail
