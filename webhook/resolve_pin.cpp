// `podgate resolve --pin -f FILE`: the digest pinning of /mutate (policy/pin.h) applied to
// manifests in a GitOps repository. Each pod-bearing object is planned as a CREATE (exemptions and
// the checks that need no registry apply as at admission), its images resolved together, and the
// pins written into the file's own text (manifest::append_to_scalars), so comments, order and
// quoting survive. The output is printed even when an image is left unpinned (it is then as
// written, still a valid manifest), and the exit status says so.

#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "admission/admission.h"
#include "commands.h"
#include "manifest/manifest.h"
#include "policy/pin.h"
#include "policy/policy.h"
#include "policy/sources.h"

namespace podgate::cli {

namespace {

constexpr std::size_t kMaxFileBytes = 16 * 1024 * 1024;  // as `podgate check`

std::optional<std::string> read_input(const std::string& path) {
  std::ifstream file;
  if (path != "-") {
    file.open(path, std::ios::binary);
    if (!file) {
      std::cerr << "podgate resolve: " << path << ": cannot open\n";
      return std::nullopt;
    }
  }
  std::istream& in = path == "-" ? std::cin : file;
  std::string text;
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxFileBytes) {
      std::cerr << "podgate resolve: " << path << ": larger than " << kMaxFileBytes << " bytes\n";
      return std::nullopt;
    }
  }
  return text;
}

// One pod-bearing object and its planned images.
struct PlannedObject {
  std::size_t index;  // in manifest::parse order
  const manifest::Document* doc;
  admission::DecodeResult decoded;
  policy::ImagePlan plan;
};

// The config as --pin uses it: pinning as /mutate would, whatever the cluster's rule actions
// (planning needs the image rules on; the scan rule has no part in pinning).
config::Config pin_config(config::Config cfg) {
  if (cfg.rules.images.action == config::Action::Off) cfg.rules.images.action = config::Action::Warn;
  cfg.rules.images.pinDigests = true;
  cfg.rules.images.scan.action = config::Action::Off;
  return cfg;
}

// The pod-bearing objects of `docs`, planned as CREATEs; nullopt (reported) when one cannot be read.
std::optional<std::vector<PlannedObject>> plan_objects(const policy::Evaluator& evaluator,
                                                       const std::vector<manifest::Document>& docs,
                                                       const std::string& default_namespace) {
  std::vector<PlannedObject> objects;
  for (std::size_t i = 0; i < docs.size(); ++i) {
    const auto& custom = evaluator.custom_workloads();
    const auto resource = admission::resource_for(docs[i].apiVersion, docs[i].kind, custom);
    if (resource.resource.empty()) continue;  // not a kind podgate judges
    PlannedObject o{i, &docs[i],
                    admission::decode(manifest::to_admission_review(docs[i], default_namespace, resource.group, resource.resource),
                                      custom),
                    {}};
    if (!o.decoded) {
      std::cerr << "podgate resolve: " << docs[i].source << ": "
                << (o.decoded.error ? o.decoded.error->message : "unusable object") << "\n";
      return std::nullopt;
    }
    if (o.decoded.review->request().target != admission::Target::PodSpec) continue;
    o.plan = evaluator.plan_images(o.decoded.review->request());
    objects.push_back(std::move(o));
  }
  return objects;
}

// Resolves every object's images at once and returns the edits that pin them; each image left
// unresolved is named on stderr and counted in `unpinned`.
std::vector<manifest::ScalarAppend> pin_edits(std::vector<PlannedObject>& objects, registry::DigestCache* images,
                                              std::chrono::steady_clock::time_point deadline, std::size_t& unpinned) {
  std::vector<image::Reference> refs;
  for (const PlannedObject& o : objects)
    for (auto& ref : o.plan.refs_to_resolve()) refs.push_back(std::move(ref));
  const policy::ImageResolutions resolutions = policy::resolve_images(images, refs, deadline);
  std::vector<manifest::ScalarAppend> edits;
  for (PlannedObject& o : objects) {
    o.plan.resolve(resolutions);
    const policy::PinPlan pins = policy::plan_pins(o.decoded.review->request(), o.plan);
    for (const auto& pin : pins.pins) edits.push_back({o.index, pin.field, pin.image, pin.pinned.substr(pin.image.size())});
    for (const auto& u : pins.unresolved) {
      ++unpinned;
      std::cerr << o.doc->source << ": " << u.field << ": " << u.image << ": not pinned: " << u.why << "\n";
    }
  }
  return edits;
}

}  // namespace

int resolve_pin(const std::string& config_path, const std::string& path, const std::string& default_namespace) {
  auto loaded = load_config_or_report("resolve", config_path);
  if (!loaded) return 2;
  const config::Config cfg = pin_config(std::move(*loaded));
  const auto text = read_input(path);
  if (!text) return 2;
  const std::string source = path == "-" ? "<stdin>" : path;
  std::vector<manifest::Document> docs;
  std::shared_ptr<registry::DigestCache> images;
  try {
    docs = manifest::parse(*text, source);
    images = policy::make_image_resolver(cfg, nullptr, nullptr);
  } catch (const std::exception& e) {
    std::cerr << "podgate resolve: " << e.what() << "\n";
    return 2;
  }
  const auto deadline = std::chrono::steady_clock::now() + cfg.server.defaultReviewTimeout;
  const policy::Evaluator evaluator(cfg);
  auto objects = plan_objects(evaluator, docs, default_namespace);
  if (!objects) return 2;

  std::size_t unpinned = 0;
  const std::vector<manifest::ScalarAppend> edits = pin_edits(*objects, images.get(), deadline, unpinned);
  std::vector<manifest::ScalarAppendFailure> failures;
  std::string out;
  try {
    out = manifest::append_to_scalars(*text, source, edits, failures);
  } catch (const std::exception& e) {
    std::cerr << "podgate resolve: " << e.what() << "\n";
    return 2;
  }
  for (const auto& f : failures) std::cerr << f.message << ": " << edits[f.edit].expected << ": not pinned\n";
  unpinned += failures.size();
  std::cout << out << std::flush;
  std::cerr << "podgate resolve: pinned " << edits.size() - failures.size() << " image(s)";
  if (unpinned) std::cerr << "; " << unpinned << " left as written";
  std::cerr << "\n";
  return unpinned ? 1 : 0;
}

}  // namespace podgate::cli
