#include "audit/once.h"

#include <algorithm>
#include <map>
#include <stdexcept>
#include <tuple>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "kube/reflector.h"

namespace podgate::audit {

std::vector<PodProjection> list_running_pods(kube::Client& client, const std::string& namespace_,
                                             const std::vector<std::string>& skip, std::size_t maxBytes) {
  const bool label = namespace_.size() <= 63 && std::all_of(namespace_.begin(), namespace_.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
  if (!label) throw std::runtime_error("not a namespace name: \"" + namespace_ + "\"");
  PodCache cache({maxBytes, skip}, nullptr, nullptr);
  kube::ReflectorOptions options;
  options.resource = "pods";
  options.path = namespace_.empty() ? "/api/v1/pods" : "/api/v1/namespaces/" + namespace_ + "/pods";
  kube::Reflector reflector(client, std::move(options), cache);
  const std::string error = reflector.list_once();
  if (!error.empty()) throw std::runtime_error(error);
  std::vector<PodProjection> pods;
  for (const auto& pod : cache.snapshot()) pods.push_back(*pod);
  return pods;
}

std::vector<WorkloadFindings> audit_pods(kube::Client& client, const JudgeInputs& inputs,
                                         const std::vector<PodProjection>& pods, std::int64_t now) {
  OwnerResolver owners(&client);
  using Key = std::tuple<std::string, std::string, std::string, std::string>;  // namespace, kind, name, uid
  std::map<Key, std::pair<WorkloadRef, std::vector<PodFindings>>> byWorkload;
  for (const PodProjection& pod : pods) {
    WorkloadRef workload = owners.resolve(pod);
    auto& entry = byWorkload[{workload.namespace_, workload.kind, workload.name, workload.uid}];
    entry.first = std::move(workload);
    entry.second.push_back(judge_pod(inputs, pod, now));
  }
  std::vector<WorkloadFindings> out;
  for (auto& [key, entry] : byWorkload) {
    std::vector<const PodFindings*> findings;
    for (const PodFindings& f : entry.second) findings.push_back(&f);
    WorkloadFindings w;
    w.workload = std::move(entry.first);
    w.pods = entry.second.size();
    w.results = aggregate_results(findings);
    w.verdict = verdict_of(w.results);
    out.push_back(std::move(w));
  }
  return out;
}

namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void write_string(Writer& w, std::string_view key, std::string_view value) {
  w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

void write_result(Writer& w, const ReportResult& r) {
  w.StartObject();
  write_string(w, "rule", r.rule);
  write_string(w, "container", r.container);
  write_string(w, "result", r.result);
  write_string(w, "severity", r.severity);
  write_string(w, "message", r.message);
  w.Key("properties");
  w.StartObject();
  for (const auto& [key, value] : r.properties) write_string(w, key, value);
  w.EndObject();
  w.EndObject();
}

}  // namespace

std::string findings_json(const std::vector<WorkloadFindings>& findings) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  std::map<std::string, std::size_t> verdicts{{"pass", 0}, {"warn", 0}, {"fail", 0}};
  std::size_t pods = 0;
  w.StartObject();
  w.Key("items");
  w.StartArray();
  for (const WorkloadFindings& f : findings) {
    ++verdicts[f.verdict];
    pods += f.pods;
    w.StartObject();
    w.Key("workload");
    w.StartObject();
    write_string(w, "apiVersion", f.workload.apiVersion);
    write_string(w, "kind", f.workload.kind);
    write_string(w, "namespace", f.workload.namespace_);
    write_string(w, "name", f.workload.name);
    write_string(w, "uid", f.workload.uid);
    w.EndObject();
    write_string(w, "verdict", f.verdict);
    w.Key("pods");
    w.Uint64(f.pods);
    w.Key("results");
    w.StartArray();
    for (const ReportResult& r : f.results) write_result(w, r);
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  w.Key("summary");
  w.StartObject();
  w.Key("workloads");
  w.Uint64(findings.size());
  w.Key("pods");
  w.Uint64(pods);
  for (const auto& [verdict, count] : verdicts) {
    w.Key(verdict.c_str());
    w.Uint64(count);
  }
  w.EndObject();
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace podgate::audit
