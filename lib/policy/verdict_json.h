#pragma once
// Internal to lib/policy: a verdict's violations and judged images as JSON with RapidJSON's Writer.
// One writer for every place that lists them (the decision log line, the "violations" and "images"
// audit annotations), so they name the same keys in the same order; each caller says how its
// strings are made safe (printable() for the annotations, the logger's byte bound for the log)
// and how long the list may get.

#include <cstddef>
#include <functional>
#include <limits>
#include <string_view>
#include <vector>

#include "policy/policy.h"
#include "util/json.h"

namespace podgate::policy::detail {

using util::JsonWriter;

// Writes one string as a JSON string value, made safe its own way: util::write_string after
// printable() for the annotations, log::append_json_string with a byte bound (through
// Writer::RawValue) for the log. Null: util::write_string, the string as it is.
using StringWriter = std::function<void(JsonWriter&, std::string_view)>;

// How the strings of a violation or a judged image are written.
struct ViolationText {
  StringWriter request;  // subject, value, image: text the request chose
  StringWriter other;    // rule, action, field, digest, scan: podgate's own words
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
// `w` writes to. Returns how many were left out.
std::size_t write_violations(JsonWriter& w, const rapidjson::StringBuffer& output,
                             const std::vector<Violation>& violations, ArrayBounds bounds, const ViolationText& text);

// One judged image: "subject", "image", "digest", then "scan" and "scans" when it was scanned.
void write_judged_image(JsonWriter& w, const JudgedImage& image, const ViolationText& text);

}  // namespace podgate::policy::detail
