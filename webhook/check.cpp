// `podgate check`: manifests in, one line per violation out, exit 1 if enforcement would deny.
// Each object is judged by the same pipeline steps as admission (policy::judge_blocking), as the
// CREATE the apiserver would send.

#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "admission/admission.h"
#include "commands.h"
#include "manifest/manifest.h"
#include "policy/policy.h"
#include "policy/review.h"

namespace podgate::cli {

namespace {

// Once per document: a pod template podgate does not judge (a kind missing from
// workloads.custom), or a workloads.custom object with nothing at its podSpecPath.
std::optional<std::string> unjudged_pod_warning(const manifest::Document& doc, const admission::Request& request) {
  const std::string what = doc.kind + " (" + doc.apiVersion + ")";
  if (request.customWorkload && !request.object.podSpec)
    return doc.source + ": warning: " + what + " has no pod spec at its workloads.custom podSpecPath; not judged";
  if (request.target != admission::Target::None) return std::nullopt;
  const std::string at = admission::find_pod_template(doc.json);
  if (at.empty()) return std::nullopt;
  return doc.source + ": warning: " + what + " has a pod template at " + at +
         " that podgate does not judge; add it to workloads.custom";
}

}  // namespace

int check(const std::string& config_path, const std::vector<std::string>& paths, const std::string& default_namespace) {
  auto loaded = load_config_or_report("check", config_path);
  if (!loaded) return 2;
  config::Config cfg = std::move(*loaded);
  // A pipeline wants to know what enforcement would do, whatever mode the cluster config is in.
  cfg.mode = config::Mode::Enforce;
  auto sources = open_image_sources_or_report("check", cfg);
  if (!sources) return 2;
  const auto timeout = cfg.server.defaultReviewTimeout;
  const policy::Evaluator evaluator(std::move(cfg));

  std::vector<manifest::Document> docs;
  try {
    for (const auto& path : paths) {
      auto more = manifest::load(path);
      std::move(more.begin(), more.end(), std::back_inserter(docs));
    }
  } catch (const std::exception& e) {
    std::cerr << "podgate check: " << e.what() << "\n";
    return 2;
  }

  std::size_t judged = 0, denied = 0, violations = 0;
  for (const auto& doc : docs) {
    if (doc.kind.empty()) {
      std::cerr << doc.source << ": skipped: no kind\n";
      continue;
    }
    const auto& custom = evaluator.custom_workloads();
    const auto resource = admission::resource_for(doc.apiVersion, doc.kind, custom);
    auto decoded = admission::decode(
        manifest::to_admission_review(doc, default_namespace, resource.group, resource.resource), custom);
    if (!decoded) {
      std::cout << doc.source << ": error: " << (decoded.error ? decoded.error->message : "unusable object") << "\n";
      ++denied;  // an object podgate cannot read would not get past it either
      continue;
    }
    const auto& request = decoded.review->request();
    if (auto warning = unjudged_pod_warning(doc, request)) std::cerr << *warning << "\n";
    if (request.target == admission::Target::None) continue;
    ++judged;
    const auto verdict = policy::judge_blocking(evaluator, sources->images.get(), sources->scans.get(), request,
                                                policy::Route::Validate, std::chrono::steady_clock::now() + timeout,
                                                sources->signatures.get());
    for (const auto& v : verdict.violations) {
      ++violations;
      std::cout << doc.source << ": " << (v.action == config::Action::Deny ? "deny" : "warn") << " [" << v.rule
                << "] " << v.message << "\n";
    }
    for (const auto& e : verdict.exemptions)
      std::cout << doc.source << ": exempt [" << e.kind << "] " << e.value << "\n";
    if (verdict.decision != policy::Decision::Allowed) ++denied;
  }
  std::cerr << "podgate check: " << docs.size() << " documents, " << judged << " judged (pod specs, PersistentVolumes), " << violations
            << " violations, " << denied << " would be denied\n";
  return denied > 0 ? 1 : 0;
}

}  // namespace podgate::cli
