#pragma once
// Internal to lib/scan's report readers (report*.cpp): how a report's JSON is walked. Every read
// names where it was in the report, and anything malformed refuses the whole report (Refusal,
// caught in parse_report).

#include <rapidjson/document.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "scan/scan.h"

namespace podgate::scan::report_detail {

using rapidjson::Value;

// One image with more findings than this is not a report to cache; refusing keeps the store and
// every lookup bounded.
constexpr std::size_t kMaxFindings = 100000;
// Every record carries all the findings, so the digests a report may name are bounded too. An
// image pulled under many names has one RepoDigests entry per name; 32 is plenty.
constexpr std::size_t kMaxDigests = 32;
// Every record repeats the findings, so what one report can make podgate store is bounded too:
// 4 digests at the findings limit, or 32 digests with 12,500 findings each.
constexpr std::size_t kMaxStoredFindings = 400000;
// A scan time further ahead than this is a broken clock: such a record would stay "newest" and
// never go stale, so it is refused.
constexpr std::int64_t kMaxFutureSeconds = 24 * 3600;

// Thrown by the readers and caught in parse_report: the whole report is refused.
struct Refusal {
  std::string message;
};

[[noreturn]] void refuse(std::string message);

// A string from the report, quoted for a one-line error: control bytes escaped, long text cut.
std::string quoted(std::string_view s);

// Where in the report a value sits, rendered only when an error names it ("Results[2].Secrets[0]").
struct Path {
  const Path* parent = nullptr;
  std::string_view key;  // member name; empty for an array element
  std::size_t index = 0;

  std::string str() const {
    if (parent == nullptr) return std::string(key);
    std::string out = parent->str();
    if (key.empty()) {
      out += '[';
      out += std::to_string(index);
      out += ']';
    } else {
      if (!out.empty()) out += '.';
      out += key;
    }
    return out;
  }
  Path operator/(std::string_view name) const { return Path{this, name, 0}; }
  Path operator[](std::size_t i) const { return Path{this, {}, i}; }
};

[[noreturn]] void wrong_type(const Path& at, const Value& v, const char* expected);

// The member `name` of an object, nullptr when absent; a key given twice is refused.
const Value* find(const Value& object, std::string_view name, const Path& at);
// Go writes nil slices, maps and pointers as null, so null counts as absent throughout.
const Value* object_member(const Value& object, std::string_view name, const Path& at);
const Value* array_member(const Value& object, std::string_view name, const Path& at);
// Calls `each(element, path)` for every element of the array member `name` (absent or null: none),
// each of which must be of the type `is` tests for (`expected` names it for the error).
template <typename Each>
void for_each_element(const Value& object, std::string_view name, const Path& at, bool (Value::*is)() const,
                      const char* expected, Each each) {
  const Value* array = array_member(object, name, at);
  if (array == nullptr) return;
  const Path arrayPath = at / name;
  for (rapidjson::SizeType i = 0; i < array->Size(); ++i) {
    const Path elementPath = arrayPath[i];
    const Value& element = (*array)[i];
    if (!(element.*is)()) wrong_type(elementPath, element, expected);
    each(element, elementPath);
  }
}
template <typename Each>
void for_each_object(const Value& object, std::string_view name, const Path& at, Each each) {
  for_each_element(object, name, at, &Value::IsObject, "an object", each);
}
template <typename Each>  // each(std::string, path)
void for_each_string(const Value& object, std::string_view name, const Path& at, Each each) {
  for_each_element(object, name, at, &Value::IsString, "a string", [&](const Value& v, const Path& path) {
    each(std::string(v.GetString(), v.GetStringLength()), path);
  });
}
enum class Need { Optional, NonEmpty };
std::string string_member(const Value& object, std::string_view name, const Path& at, Need need = Need::Optional);
std::string string_of(const Value& v, const Path& at);
// An RFC 3339 scan time, refused when unset, before 1970 or more than a day ahead.
std::int64_t time_member(const Value& object, std::string_view name, const Path& at);
Severity severity_member(const Value& object, std::string_view name, const Path& at);
// "<repository>@sha256:<hex>" or a bare "sha256:<hex>": the digest.
std::string digest_of(std::string_view entry, const Path& at);
constexpr bool is_digit(char c) { return c >= '0' && c <= '9'; }

class Digests {
 public:
  void add(std::string digest) {
    if (std::find(list_.begin(), list_.end(), digest) != list_.end()) return;
    if (list_.size() == kMaxDigests)
      refuse("the report names more than " + std::to_string(kMaxDigests) + " distinct digests");
    list_.push_back(std::move(digest));
  }
  const std::vector<std::string>& list() const { return list_; }

 private:
  std::vector<std::string> list_;
};

// Findings in report order, each (kind, id, package, installed version) once: Trivy and Grype list
// a vulnerability once per place the package was found (the same jar in two paths, Go's stdlib in
// two binaries).
class Findings {
 public:
  void add(Finding f) {
    std::string key;
    key.reserve(f.kind.size() + f.id.size() + f.package.size() + f.installedVersion.size() + 3);
    key.append(f.kind).append(1, '\0').append(f.id).append(1, '\0').append(f.package).append(1, '\0').append(
        f.installedVersion);
    if (!seen_.insert(std::move(key)).second) return;
    if (list_.size() == kMaxFindings)
      refuse("the report has more than " + std::to_string(kMaxFindings) + " distinct findings");
    list_.push_back(std::move(f));
  }
  std::size_t size() const { return list_.size(); }
  std::vector<Finding> take() { return std::move(list_); }

 private:
  std::vector<Finding> list_;
  std::unordered_set<std::string> seen_;
};

// What parse_trivy/parse_grype/parse_verdict produce: one record's contents and the digests it
// applies to. finish() turns it into one ScanRecord per digest.
struct Parsed {
  ScanRecord record;
  Digests digests;
  Findings findings;
};

std::vector<ScanRecord> finish(Parsed& p);

// Parses `json` into `doc` as parse_report does (UTF-8 validated, iterative, a NUL byte refused),
// refusing nesting deeper than `maxDepth`. Refuses (Refusal) with the reason otherwise.
void parse_document(std::string_view json, rapidjson::Document& doc, unsigned maxDepth);
// An integer member in [min, max]; `fallback` when absent or null.
std::int64_t int_member(const Value& object, std::string_view name, const Path& at, std::int64_t min,
                        std::int64_t max, std::int64_t fallback = 0);

// One reader per format (report_trivy.cpp, report_grype.cpp, report_verdict.cpp).
std::vector<ScanRecord> parse_trivy(const Value& root);
std::vector<ScanRecord> parse_grype(const Value& root);
std::vector<ScanRecord> parse_verdict(const Value& root);

}  // namespace podgate::scan::report_detail
