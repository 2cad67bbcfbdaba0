#pragma once
// Kubernetes manifests on disk (YAML or JSON, multi-document, files or directories) turned into
// the AdmissionReview the apiserver would send for creating them, so `podgate check` judges a
// manifest exactly as admission would.

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace podgate::manifest {

struct Document {
  std::string source;     // "deploy/web.yaml:12" (file and the line the document starts on)
  std::string file;       // "deploy/web.yaml" ("<stdin>" for -)
  int line = 1;           // the line the document, or the List item, starts on (1-based)
  std::string kind;       // "" when the document has no kind (it is then skipped)
  std::string apiVersion;
  std::string name;
  std::string namespace_; // "" when the manifest does not say
  std::string json;       // the object as JSON
};

class ManifestError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Reads one file, or every *.yaml, *.yml and *.json file under a directory (recursively, sorted),
// or standard input for "-". Empty documents are skipped. Files larger than max_file_bytes are
// refused. Throws ManifestError naming the file and line on unreadable YAML.
//
// The objects are the ones kubectl would send (its decoder is sigs.k8s.io/yaml over go-yaml v2):
//   - YAML merge keys (`<<: {...}`, `<<: *anchor`, `<<: [*a, *b]`) are applied: earlier mappings
//     in a merge list win, a key written after the merge key overrides the merged one. Documents on
//     which YAML tools disagree are refused: a duplicated key, two merge keys in one mapping, a key
//     written before a merge key that also sets it.
//   - any object whose top-level `items` is a sequence is a list (List, PodList, ... or any kind
//     carrying items), flattened into its items, lists inside lists too (at most 16 deep); each
//     item's source names its own line.
//   - expanding aliases and merge keys is bounded (4 million values, 64 MiB of JSON per input), so
//     an alias bomb is an error, not an exhausted machine.
std::vector<Document> load(const std::string& path, std::size_t max_file_bytes = 16 * 1024 * 1024);

// Parses YAML text (possibly multi-document); `source` names it in errors and Document::source.
std::vector<Document> parse(const std::string& text, const std::string& source);

// The admission.k8s.io/v1 AdmissionReview a CREATE of this object would produce, with the
// namespace defaulted to `default_namespace` when the manifest has none (none for a
// cluster-scoped resource such as persistentvolumes). `resource_group` and `resource` name the
// resource the apiserver would route it as ("apps", "deployments"; empty when unknown).
std::string to_admission_review(const Document& doc, const std::string& default_namespace = "default",
                                std::string_view resource_group = {}, std::string_view resource = {});

// Text appended to one scalar of a manifest, in place: the rest of the text (comments, order,
// quoting, indentation) stays byte for byte as it was (`podgate resolve --pin`).
struct ScalarAppend {
  std::size_t object = 0;  // the object's index in parse()'s order (lists flattened)
  std::string field;       // its path in the object: "spec.template.spec.containers[0].image"
  std::string expected;    // the scalar's value now; the edit is refused when it differs
  std::string suffix;      // appended to it: "@sha256:..."
};

struct ScalarAppendFailure {
  std::size_t edit = 0;  // index into the edits given
  std::string message;   // "deploy.yaml:12: spec.containers[0].image: written as a block scalar; ..."
};

// Applies `edits` to `text` (the text parse() read as `source`) and returns the new text. An edit
// that cannot be made safely is left out and reported in `failures`: the field not found (it comes
// from a YAML merge key), a scalar that is not written on one line as plain, single- or
// double-quoted text equal to its value (escapes, block scalars), or a value that is not
// `expected`. Two edits of one scalar (an alias) are made once. Throws ManifestError as parse() does.
std::string append_to_scalars(const std::string& text, const std::string& source, const std::vector<ScalarAppend>& edits,
                              std::vector<ScalarAppendFailure>& failures);

}  // namespace podgate::manifest
