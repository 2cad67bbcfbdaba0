#pragma once
// Builds AdmissionReview JSON for tests: any pod-bearing kind wrapped around a given pod spec, so
// one test body can be run against every workload kind.

#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace podgate::testing {

// A kind as the apiserver names it, and where its pod spec lives.
struct WorkloadKind {
  std::string group;
  std::string version;
  std::string kind;
  std::string resource;
  std::string specPath;  // expected PodSpec::fieldPath
};

inline const std::vector<WorkloadKind>& workload_kinds() {
  static const std::vector<WorkloadKind> kinds{
      {"", "v1", "Pod", "pods", "spec"},
      {"apps", "v1", "Deployment", "deployments", "spec.template.spec"},
      {"apps", "v1", "ReplicaSet", "replicasets", "spec.template.spec"},
      {"apps", "v1", "StatefulSet", "statefulsets", "spec.template.spec"},
      {"apps", "v1", "DaemonSet", "daemonsets", "spec.template.spec"},
      {"batch", "v1", "Job", "jobs", "spec.template.spec"},
      {"", "v1", "ReplicationController", "replicationcontrollers", "spec.template.spec"},
      {"", "v1", "PodTemplate", "podtemplates", "template.spec"},
      {"batch", "v1", "CronJob", "cronjobs", "spec.jobTemplate.spec.template.spec"},
      {"batch", "v1beta1", "CronJob", "cronjobs", "spec.jobTemplate.spec.template.spec"},
      // Old and unusual versions are judged by the path to the spec, not by version.
      {"extensions", "v1beta1", "Deployment", "deployments", "spec.template.spec"},
      {"apps", "v1beta2", "DaemonSet", "daemonsets", "spec.template.spec"},
  };
  return kinds;
}

inline std::string api_version(const WorkloadKind& k) { return k.group.empty() ? k.version : k.group + "/" + k.version; }

// The object of kind `k` named `name` in `ns`, carrying `podSpec` (a JSON object) where that kind keeps it.
inline std::string wrap_pod_spec(const WorkloadKind& k, const std::string& podSpec, const std::string& name = "web",
                                 const std::string& ns = "default") {
  const std::string head = "{\"apiVersion\":\"" + api_version(k) + "\",\"kind\":\"" + k.kind +
                           "\",\"metadata\":{\"name\":\"" + name + "\",\"namespace\":\"" + ns +
                           "\",\"labels\":{\"app\":\"" + name + "\"}},";
  const std::string tmpl = "{\"metadata\":{\"labels\":{\"app\":\"" + name + "\"}},\"spec\":" + podSpec + "}";
  if (k.kind == "Pod") return head + "\"spec\":" + podSpec + "}";
  if (k.kind == "PodTemplate") return head + "\"template\":" + tmpl + "}";
  if (k.kind == "CronJob")
    return head + "\"spec\":{\"schedule\":\"*/5 * * * *\",\"jobTemplate\":{\"spec\":{\"template\":" + tmpl + "}}}}";
  return head + "\"spec\":{\"replicas\":2,\"selector\":{\"matchLabels\":{\"app\":\"" + name +
         "\"}},\"template\":" + tmpl + "}}";
}

struct ReviewOptions {
  std::string uid = "705ab4f5-6393-11e8-b7cc-42010a800002";
  std::string operation = "CREATE";
  std::string ns = "default";
  std::string name = "web";
  std::string subResource;
  bool dryRun = false;
  std::optional<std::string> object;     // full object JSON; null when absent
  std::optional<std::string> oldObject;
};

inline std::string review_json(const WorkloadKind& k, const ReviewOptions& o) {
  std::string out = "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{";
  out += "\"uid\":\"" + o.uid + "\",";
  out += "\"kind\":{\"group\":\"" + k.group + "\",\"version\":\"" + k.version + "\",\"kind\":\"" + k.kind + "\"},";
  out += "\"resource\":{\"group\":\"" + k.group + "\",\"version\":\"" + k.version + "\",\"resource\":\"" +
         k.resource + "\"},";
  if (!o.subResource.empty()) out += "\"subResource\":\"" + o.subResource + "\",";
  out += "\"requestKind\":{\"group\":\"" + k.group + "\",\"version\":\"" + k.version + "\",\"kind\":\"" + k.kind +
         "\"},";
  out += "\"name\":\"" + o.name + "\",\"namespace\":\"" + o.ns + "\",\"operation\":\"" + o.operation + "\",";
  out += "\"userInfo\":{\"username\":\"alice\",\"uid\":\"u-1\",\"groups\":[\"devs\",\"system:authenticated\"]},";
  out += "\"object\":" + o.object.value_or("null") + ",";
  out += "\"oldObject\":" + o.oldObject.value_or("null") + ",";
  out += std::string("\"dryRun\":") + (o.dryRun ? "true" : "false") + ",";
  out += "\"options\":{\"kind\":\"CreateOptions\",\"apiVersion\":\"meta.k8s.io/v1\"}}}";
  return out;
}

// A CREATE of kind `k` carrying `podSpec`.
inline std::string create_review(const WorkloadKind& k, const std::string& podSpec, const std::string& ns = "default") {
  ReviewOptions o;
  o.ns = ns;
  o.object = wrap_pod_spec(k, podSpec, o.name, ns);
  return review_json(k, o);
}

// An UPDATE of kind `k` whose pod spec goes from `oldSpec` to `newSpec`.
inline std::string update_review(const WorkloadKind& k, const std::string& oldSpec, const std::string& newSpec) {
  ReviewOptions o;
  o.operation = "UPDATE";
  o.oldObject = wrap_pod_spec(k, oldSpec);
  o.object = wrap_pod_spec(k, newSpec);
  return review_json(k, o);
}

inline const WorkloadKind& pod_kind() { return workload_kinds().front(); }

// Pod spec snippets.
inline std::string container(const std::string& name, const std::string& image, const std::string& extra = "") {
  return "{\"name\":\"" + name + "\",\"image\":\"" + image + "\"" + (extra.empty() ? "" : "," + extra) + "}";
}
inline std::string privileged_container(const std::string& name, const std::string& image = "busybox:1.36") {
  return container(name, image, "\"securityContext\":{\"privileged\":true}");
}
inline std::string host_path_volume(const std::string& name, const std::string& path) {
  return "{\"name\":\"" + name + "\",\"hostPath\":{\"path\":\"" + path + "\"}}";
}
inline std::string mount(const std::string& volume, const std::string& at = "/mnt") {
  return "\"volumeMounts\":[{\"name\":\"" + volume + "\",\"mountPath\":\"" + at + "\"}]";
}
// {"containers":[c]} plus optional other members (each a `"key":value` text).
inline std::string pod_spec(const std::vector<std::string>& members) {
  std::string out = "{";
  for (std::size_t i = 0; i < members.size(); ++i) out += (i ? "," : "") + members[i];
  return out + "}";
}
inline std::string list(const std::string& key, const std::vector<std::string>& items) {
  std::string out = "\"" + key + "\":[";
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? "," : "") + items[i];
  return out + "]";
}

inline std::string read_fixture(const std::string& relative) {
  const std::string path = std::string(PODGATE_FIXTURES_DIR) + "/" + relative;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open fixture " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// `kubectl debug`: an UPDATE of Pod default/web's ephemeralcontainers subresource. The old pod's
// spec has the members `before` then `after`; the new one has `ephemeral` (ephemeralContainers
// entries) between them.
inline std::string debug_review(const std::vector<std::string>& before, const std::vector<std::string>& ephemeral,
                                const std::vector<std::string>& after = {}) {
  std::vector<std::string> oldMembers = before, newMembers = before;
  newMembers.push_back(list("ephemeralContainers", ephemeral));
  for (const std::string& m : after) {
    oldMembers.push_back(m);
    newMembers.push_back(m);
  }
  ReviewOptions o;
  o.operation = "UPDATE";
  o.subResource = "ephemeralcontainers";
  o.oldObject = wrap_pod_spec(pod_kind(), pod_spec(oldMembers));
  o.object = wrap_pod_spec(pod_kind(), pod_spec(newMembers));
  return review_json(pod_kind(), o);
}

}  // namespace podgate::testing
