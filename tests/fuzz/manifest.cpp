// manifest::parse, the YAML reader behind `podgate check` (merge keys, anchors and aliases, lists).
// Invariants: bad input is a ManifestError naming the source (no other exception, no crash, no
// runaway expansion: the alias/merge budget bounds time and memory); every Document it returns
// carries valid JSON and a source within the input, and turns into an AdmissionReview that is
// valid JSON too.

#include <rapidjson/document.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_check.h"
#include "manifest/manifest.h"

namespace {
bool valid_json(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse(text.c_str(), text.size());
  return !doc.HasParseError();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<podgate::manifest::Document> docs;
  try {
    docs = podgate::manifest::parse(std::string(reinterpret_cast<const char*>(data), size), "fuzz.yaml");
  } catch (const podgate::manifest::ManifestError& e) {
    FUZZ_CHECK(std::string(e.what()).starts_with("fuzz.yaml:"));
    return 0;
  }
  for (const auto& doc : docs) {
    FUZZ_CHECK(doc.source.starts_with("fuzz.yaml:"));
    // check's reports place findings by file and line: the same place the text source names.
    FUZZ_CHECK(doc.file == "fuzz.yaml" && doc.line >= 1 && doc.source == "fuzz.yaml:" + std::to_string(doc.line));
    FUZZ_CHECK(valid_json(doc.json));
    FUZZ_CHECK(doc.json.front() == '{');  // a document or list item is always a mapping
    FUZZ_CHECK(valid_json(podgate::manifest::to_admission_review(doc)));
  }
  return 0;
}
