// In-place scalar edits of manifest text (manifest.h, append_to_scalars): yaml-cpp finds each
// scalar and its Mark (the byte offset where it starts); the text there is checked to spell the
// value exactly before anything is inserted, so a position yaml-cpp reports differently (escapes,
// folded or block scalars, a byte-order mark) is refused instead of corrupting the file.

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <optional>
#include <utility>

#include "manifest/manifest.h"
#include "yaml/guard.h"

namespace podgate::manifest {

namespace {

constexpr int kMaxListDepth = 16;       // as parse(): lists nested deeper are refused there
constexpr std::size_t kMaxFieldSteps = 64;  // a pod spec field is ~8 steps deep

// The objects of a document in parse()'s order: a node whose top-level `items` is a sequence is a
// list, flattened (merge keys are not followed here: such a list's items are not edited).
void collect_objects(const YAML::Node& node, std::vector<YAML::Node>& out, int depth) {
  if (node.IsMap()) {
    const YAML::Node items = node["items"];
    if (items && items.IsSequence() && depth < kMaxListDepth) {
      for (const auto& item : items) collect_objects(item, out, depth + 1);
      return;
    }
  }
  out.push_back(node);
}

// The node at `field` ("spec.containers[0].image") under `object`; nullopt when a step is missing.
std::optional<YAML::Node> node_at(const YAML::Node& object, std::string_view field) {
  YAML::Node at = object;  // moved on with reset(): assigning a Node would write into the tree
  std::size_t steps = 0;
  while (!field.empty()) {
    if (++steps > kMaxFieldSteps) return std::nullopt;
    if (field.front() == '[') {
      const auto close = field.find(']');
      std::size_t index = 0;
      if (close == std::string_view::npos ||
          std::from_chars(field.data() + 1, field.data() + close, index).ptr != field.data() + close)
        return std::nullopt;
      if (!at.IsSequence() || index >= at.size()) return std::nullopt;
      at.reset(std::as_const(at)[index]);  // const: a lookup never adds to the tree
      field.remove_prefix(close + 1);
    } else {
      const auto end = std::min(field.find('.'), field.find('['));
      const std::string key(field.substr(0, end));
      if (!at.IsMap()) return std::nullopt;
      const YAML::Node next = std::as_const(at)[key];
      if (!next) return std::nullopt;
      at.reset(next);
      field.remove_prefix(end == std::string_view::npos ? field.size() : end);
    }
    if (!field.empty() && field.front() == '.') field.remove_prefix(1);
  }
  return at;
}

// Where to insert after the scalar `value` written at `pos`: just past its text (inside the
// closing quote of a quoted scalar), or nullopt when the text there does not spell it on one line.
std::optional<std::size_t> insertion_point(const std::string& text, std::size_t pos, const std::string& value) {
  if (pos >= text.size() || value.empty()) return std::nullopt;
  const char first = text[pos];
  if (first == '"' || first == '\'') {
    const std::size_t end = pos + 1 + value.size();
    if (end < text.size() && text.compare(pos + 1, value.size(), value) == 0 && text[end] == first) return end;
    return std::nullopt;
  }
  // Block scalars, anchors, tags and aliases: not a plain scalar's text.
  if (std::string_view("|>&!*").find(first) != std::string_view::npos) return std::nullopt;
  const std::size_t end = pos + value.size();
  if (end > text.size() || text.compare(pos, value.size(), value) != 0) return std::nullopt;
  // The plain scalar must end there (not continue onto a folded next line or past a character
  // yaml-cpp did not count).
  if (end == text.size() || std::string_view("\n\r \t,]}").find(text[end]) != std::string_view::npos) return end;
  return std::nullopt;
}

}  // namespace

std::string append_to_scalars(const std::string& text, const std::string& source, const std::vector<ScalarAppend>& edits,
                              std::vector<ScalarAppendFailure>& failures) {
  std::vector<YAML::Node> objects;
  try {
    yaml::check_documents_advance(text);
    for (const auto& doc : YAML::LoadAll(text))
      if (doc && !doc.IsNull()) collect_objects(doc, objects, 0);
  } catch (const YAML::Exception& e) {
    throw ManifestError(source + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                        ": invalid YAML: " + e.msg);
  }
  struct Insert {
    std::size_t at;
    std::string suffix;
  };
  std::vector<Insert> inserts;
  std::vector<std::size_t> starts;  // scalars already edited (an alias names one twice)
  for (std::size_t i = 0; i < edits.size(); ++i) {
    const ScalarAppend& edit = edits[i];
    auto fail = [&](int line, const std::string& why) {
      failures.push_back({i, source + ":" + std::to_string(line) + ": " + edit.field + ": " + why});
    };
    if (edit.object >= objects.size()) {
      fail(0, "no such object");
      continue;
    }
    const YAML::Node& object = objects[edit.object];
    const auto node = node_at(object, edit.field);
    if (!node || !node->IsScalar()) {
      fail(object.Mark().line + 1, "not found as written (from a YAML merge key?); edit it by hand");
      continue;
    }
    const YAML::Mark mark = node->Mark();
    if (node->Scalar() != edit.expected) {
      fail(mark.line + 1, "is " + node->Scalar() + ", expected " + edit.expected);
      continue;
    }
    if (mark.pos < 0) {
      fail(mark.line + 1, "no position known; edit it by hand");
      continue;
    }
    const auto start = static_cast<std::size_t>(mark.pos);
    if (std::find(starts.begin(), starts.end(), start) != starts.end()) continue;
    const auto at = insertion_point(text, start, edit.expected);
    if (!at) {
      fail(mark.line + 1, "not written on one line as plain or quoted text without escapes; edit it by hand");
      continue;
    }
    starts.push_back(start);
    inserts.push_back({*at, edit.suffix});
  }
  std::sort(inserts.begin(), inserts.end(), [](const Insert& a, const Insert& b) { return a.at > b.at; });
  std::string out = text;
  for (const Insert& insert : inserts) out.insert(insert.at, insert.suffix);
  return out;
}

}  // namespace podgate::manifest
