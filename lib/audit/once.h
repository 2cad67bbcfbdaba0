#pragma once
// The audit once, from the command line (`podgate audit`): list the Pods that run, judge each as
// the continuous audit does, and group the findings by workload. Blocking.

#include <string>
#include <vector>

#include "audit/judge.h"
#include "kube/client.h"

namespace podgate::audit {

struct WorkloadFindings {
  WorkloadRef workload;
  std::string verdict;  // pass | warn | fail
  std::size_t pods = 0;
  std::vector<ReportResult> results;
};

// The running Pods of `namespace_` ("" = every namespace), projected, except those in `skip`.
// Throws std::runtime_error with the apiserver's answer when the list fails.
std::vector<PodProjection> list_running_pods(kube::Client& client, const std::string& namespace_,
                                             const std::vector<std::string>& skip, std::size_t maxBytes = 1u << 30);

// Judges every Pod and groups the findings by workload (owners read through `client`), in
// namespace, kind and name order.
std::vector<WorkloadFindings> audit_pods(kube::Client& client, const JudgeInputs& inputs,
                                         const std::vector<PodProjection>& pods, std::int64_t now);

// {"items":[{"workload":{...},"verdict":..,"pods":N,"results":[...]}],"summary":{"workloads":..,
// "pods":..,"pass":..,"warn":..,"fail":..}}
std::string findings_json(const std::vector<WorkloadFindings>& findings);

}  // namespace podgate::audit
