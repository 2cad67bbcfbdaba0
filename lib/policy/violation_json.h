#pragma once
// Internal to lib/policy: violations as JSON with RapidJSON's Writer. One writer for every place
// that lists violations (the decision log line, the "violations" audit annotation), so they name
// the same keys in the same order; each says how its strings are made safe (printable() for the
// annotation, the logger's byte bound for the log) and how long the list may get.

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstddef>
#include <functional>
#include <limits>
#include <string_view>
#include <vector>

#include "policy/policy.h"

namespace podgate::policy::detail {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

// Writes `text` as a JSON string, any bytes (a default string_view too).
void write_string(JsonWriter& w, std::string_view text);

// Writes one string as a JSON string value, made safe its own way: write_string after printable()
// for the annotation, log::append_json_string with a byte bound (through Writer::RawValue) for the
// log. Null: write_string, the string as it is.
using StringWriter = std::function<void(JsonWriter&, std::string_view)>;

// How a violation's strings are written.
struct ViolationText {
  StringWriter request;  // subject and value: text the request chose
  StringWriter other;    // rule, action and field: podgate's own words (a field path may carry an index)
};

// How long a JSON array may get: at most maxEntries entries, and no entry starts once the array
// has taken maxBytes of the writer's output (so it ends at most one entry past maxBytes).
struct ArrayBounds {
  std::size_t maxEntries = std::numeric_limits<std::size_t>::max();
  std::size_t maxBytes = std::numeric_limits<std::size_t>::max();
};

// Writes `items` as a JSON array, each by `write_one(w, item)`, within `bounds`; `output` is the
// buffer `w` writes to (for maxBytes). Returns how many items were left out.
template <typename T, typename WriteOne>
std::size_t write_bounded_array(JsonWriter& w, const rapidjson::StringBuffer& output, const std::vector<T>& items,
                                ArrayBounds bounds, WriteOne write_one) {
  const std::size_t start = output.GetSize();
  w.StartArray();
  std::size_t written = 0;
  for (const auto& item : items) {
    if (written == bounds.maxEntries || output.GetSize() - start >= bounds.maxBytes) break;
    write_one(w, item);
    ++written;
  }
  w.EndArray();
  return items.size() - written;
}

// One violation as a JSON object: "rule", "action", "subject", "field", "value", then
// "preexisting": true when it is set (the key is left out otherwise).
void write_violation(JsonWriter& w, const Violation& violation, const ViolationText& text);

// `violations` as a JSON array of write_violation objects, within `bounds`; `output` is the buffer
// `w` writes to. Returns how many were left out. The audit annotation would be:
//   write_violations(w, buffer, v.violations, {.maxEntries = kMaxAnnotatedViolations},
//                    {.request = [](JsonWriter& w, std::string_view s) { write_string(w, printable(s)); }});
std::size_t write_violations(JsonWriter& w, const rapidjson::StringBuffer& output,
                             const std::vector<Violation>& violations, ArrayBounds bounds, const ViolationText& text);

}  // namespace podgate::policy::detail
