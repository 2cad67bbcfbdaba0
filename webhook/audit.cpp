// `podgate audit`: the running cluster judged once, as the continuous audit judges it, for a first
// look before anything is installed. Exit 1 if anything that runs violates a rule.

#include <chrono>
#include <iostream>

#include "audit/once.h"
#include "commands.h"
#include "policy/sources.h"

namespace podgate::cli {

namespace {

void print_text(const std::vector<audit::WorkloadFindings>& findings) {
  std::size_t violating = 0, pods = 0;
  for (const auto& f : findings) {
    pods += f.pods;
    if (f.verdict == "pass") continue;
    ++violating;
    const std::string where = f.workload.namespace_ + "/" + f.workload.kind + "/" + f.workload.name;
    for (const auto& r : f.results) {
      if (r.result == "pass") continue;
      std::cout << where << ": " << r.result << " [" << r.rule << "]";
      if (!r.container.empty()) std::cout << " container \"" << r.container << "\"";
      std::cout << " " << r.message;
      for (const auto& [key, value] : r.properties)
        if (key == "pods") std::cout << " (pods: " << value << ")";
      std::cout << "\n";
    }
  }
  std::cerr << findings.size() << (findings.size() == 1 ? " workload, " : " workloads, ") << pods
            << (pods == 1 ? " pod" : " pods") << " judged; " << violating << " with violations\n";
}

}  // namespace

int audit(const std::string& config_path, const std::string& namespace_, const std::string& output) {
  auto loaded = load_config_or_report("audit", config_path);
  if (!loaded) return 2;
  config::Config cfg = std::move(*loaded);
  cfg.mode = config::Mode::Enforce;  // what enforcement would make of what runs
  std::unique_ptr<kube::Client> client;
  try {
    client = policy::make_kube_client(cfg, "", nullptr, nullptr);
  } catch (const std::exception& e) {
    std::cerr << "podgate audit: " << e.what() << "\n";
    return 2;
  }
  auto sources = open_image_sources_or_report("audit", cfg);
  if (!sources) return 2;
  std::vector<audit::PodProjection> pods;
  try {
    pods = audit::list_running_pods(*client, namespace_, cfg.exemptions.namespaces);
  } catch (const std::exception& e) {
    std::cerr << "podgate audit: cannot list Pods: " << e.what() << "\n";
    return 2;
  }
  const policy::Evaluator evaluator(cfg);
  audit::JudgeInputs inputs;
  inputs.evaluator = &evaluator;
  inputs.images = sources->images.get();
  inputs.scans = sources->scans.get();
  inputs.signatures = sources->signatures.get();
  inputs.resolveTimeout = cfg.rules.images.resolve.timeout;
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  const auto findings = audit::audit_pods(*client, inputs, pods, now);
  if (output == "json") {
    std::cout << audit::findings_json(findings) << "\n";
  } else {
    print_text(findings);
  }
  for (const auto& f : findings)
    if (f.verdict != "pass") return 1;
  return 0;
}

}  // namespace podgate::cli
