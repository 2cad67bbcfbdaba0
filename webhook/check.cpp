// `podgate check`: manifests in, a report out (lib/check_report: text lines, JSON, SARIF, JUnit),
// exit 1 if enforcement would deny, 2 on bad input. Each object is judged by the same pipeline
// steps as admission (policy::judge_blocking), as the CREATE the apiserver would send.

#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "admission/admission.h"
#include "check_report/check_report.h"
#include "commands.h"
#include "manifest/manifest.h"
#include "policy/policy.h"
#include "policy/review.h"
#include "version.h"

namespace podgate::cli {

namespace {

// Once per document: a pod template podgate does not judge (a kind missing from
// workloads.custom), or a workloads.custom object with nothing at its podSpecPath.
std::optional<std::string> unjudged_pod_warning(const manifest::Document& doc, const admission::Request& request) {
  const std::string what = doc.kind + " (" + doc.apiVersion + ")";
  if (request.customWorkload && !request.object.podSpec)
    return "warning: " + what + " has no pod spec at its workloads.custom podSpecPath; not judged";
  if (request.target != admission::Target::None) return std::nullopt;
  const std::string at = admission::find_pod_template(doc.json);
  if (at.empty()) return std::nullopt;
  return "warning: " + what + " has a pod template at " + at + " that podgate does not judge; add it to workloads.custom";
}

// What judging one document needs, opened once for the run.
struct Judge {
  const policy::Evaluator& evaluator;
  const ImageSources& sources;
  std::chrono::milliseconds timeout;
  const std::string& default_namespace;
};

// One document through the judge: its report entry, with findings, an error or notes.
check_report::Document judge_one(const Judge& judge, const manifest::Document& doc) {
  const auto& custom = judge.evaluator.custom_workloads();
  const auto resource = admission::resource_for(doc.apiVersion, doc.kind, custom);
  auto out = check_report::describe(doc, judge.default_namespace, resource.resource == "persistentvolumes");
  if (doc.kind.empty()) {
    out.notes.push_back("skipped: no kind");
    return out;
  }
  auto decoded = admission::decode(
      manifest::to_admission_review(doc, judge.default_namespace, resource.group, resource.resource), custom);
  if (!decoded) {
    out.error = decoded.error ? decoded.error->message : "unusable object";
    out.denied = true;  // an object podgate cannot read would not get past it either
    return out;
  }
  const auto& request = decoded.review->request();
  if (auto warning = unjudged_pod_warning(doc, request)) out.notes.push_back(std::move(*warning));
  if (request.target == admission::Target::None) return out;  // nothing podgate judges in this kind
  out.judged = true;
  const auto verdict = policy::judge_blocking(judge.evaluator, judge.sources.images.get(), judge.sources.scans.get(),
                                              request, policy::Route::Validate,
                                              std::chrono::steady_clock::now() + judge.timeout,
                                              judge.sources.signatures.get());
  check_report::add_verdict(out, verdict);
  return out;
}

}  // namespace

int check(const std::string& config_path, const std::vector<std::string>& paths, const std::string& default_namespace,
          const std::string& output) {
  const auto format = check_report::parse_format(output);
  if (!format) {
    std::cerr << "podgate check: unknown output format \"" << output << "\" (text, json, sarif or junit)\n";
    return 2;
  }
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

  const Judge judge{evaluator, *sources, timeout, default_namespace};
  std::vector<check_report::Document> report;
  report.reserve(docs.size());
  for (const auto& doc : docs) report.push_back(judge_one(judge, doc));

  // Machine formats own stdout; the person's summary goes to stderr in every format.
  check_report::write(*format, report, {"podgate", kVersion}, std::cout, std::cerr);
  const auto summary = check_report::summarize(report);
  std::cerr << "podgate check: " << check_report::summary_line(summary) << "\n";
  return summary.denied > 0 ? 1 : 0;
}

}  // namespace podgate::cli
