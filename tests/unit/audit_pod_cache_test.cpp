// The audit's Pod cache (audit/pod_cache.h): the projection of a Pod as the apiserver returns it
// (what is kept, what is dropped, the digests that run, the owner), Pods that ended, refusals of
// malformed objects that never throw, the AdmissionReview a projection makes (decoded and judged as
// admission would), and the cache: exempt namespaces, its byte bound, drops counted and logged
// once, listener calls only for changes, a relist's sweep. A hidden [.bench] case fills it with
// 10,000 Pods (bench/RESULTS.md).

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "admission/admission.h"
#include "audit/pod_cache.h"
#include "config/config.h"
#include "metrics/metrics.h"
#include "policy/policy.h"
#include "support/digests.h"
#include "support/log_capture.h"
#include "support/security_fields.h"

using namespace podgate;
using audit::PodCache;
using audit::PodCacheOptions;
using audit::PodProjection;
using audit::project_pod;
using Catch::Matchers::Contains;

namespace {

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
}

// A Pod of a Deployment as `kubectl get pod -o json` shows it: managedFields, env with a secret
// value, probes, resources, a projected token volume, and a status whose imageIDs come in the three
// forms kubelets report (containerd's repository digest, Docker's docker-pullable://, and a bare
// local image ID).
const std::string kPodTemplate = R"({
  "metadata": {
    "name": "{{NAME}}", "generateName": "web-7d9f8b6c5d-", "namespace": "{{NS}}", "uid": "{{UID}}",
    "resourceVersion": "918273", "creationTimestamp": "2026-11-20T09:14:02Z",
    "labels": {"app": "web", "pod-template-hash": "7d9f8b6c5d"},
    "annotations": {
      "kubectl.kubernetes.io/restartedAt": "2026-11-20T09:00:00Z",
      "container.apparmor.security.beta.kubernetes.io/app": "runtime/default",
      "seccomp.security.alpha.kubernetes.io/pod": "runtime/default",
      "prometheus.io/scrape": "true"
    },
    "ownerReferences": [
      {"apiVersion": "v1", "kind": "Node", "name": "node-1", "uid": "n-1"},
      {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7d9f8b6c5d", "uid": "rs-uid-1",
       "controller": true, "blockOwnerDeletion": true}
    ],
    "managedFields": [
      {"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "v1",
       "time": "2026-11-20T09:14:02Z", "fieldsType": "FieldsV1",
       "fieldsV1": {"f:metadata": {"f:generateName": {}, "f:labels": {".": {}, "f:app": {}}},
                    "f:spec": {"f:containers": {"k:{\"name\":\"app\"}": {".": {}, "f:env": {}}}}}},
      {"manager": "kubelet", "operation": "Update", "apiVersion": "v1", "subresource": "status",
       "time": "2026-11-20T09:14:09Z", "fieldsType": "FieldsV1",
       "fieldsV1": {"f:status": {"f:conditions": {}, "f:containerStatuses": {}, "f:phase": {}}}}
    ]
  },
  "spec": {
    "volumes": [
      {"name": "data", "hostPath": {"path": "/var/lib/web", "type": "DirectoryOrCreate"}},
      {"name": "config", "configMap": {"name": "web-config", "defaultMode": 420}},
      {"name": "kube-api-access-x7k2p", "projected": {"defaultMode": 420, "sources": [
        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}
      ]}}
    ],
    "initContainers": [
      {"name": "migrate", "image": "{{IMG0}}", "command": ["/migrate", "--up"],
       "env": [{"name": "DB_PASSWORD", "value": "hunter2"}],
       "resources": {}, "terminationMessagePath": "/dev/termination-log", "imagePullPolicy": "IfNotPresent",
       "volumeMounts": [{"name": "kube-api-access-x7k2p", "readOnly": true,
                         "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}]}
    ],
    "containers": [
      {"name": "app", "image": "{{IMG1}}",
       "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"},
                 {"name": "metrics", "containerPort": 9100, "hostPort": 9100, "protocol": "TCP"}],
       "env": [{"name": "API_TOKEN", "valueFrom": {"secretKeyRef": {"name": "web", "key": "token"}}},
               {"name": "LOG_LEVEL", "value": "info"}],
       "resources": {"limits": {"cpu": "500m", "memory": "256Mi"}, "requests": {"cpu": "100m", "memory": "128Mi"}},
       "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080, "scheme": "HTTP"}, "periodSeconds": 10},
       "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080, "scheme": "HTTP"}, "periodSeconds": 5},
       "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]},
                           "runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}, "seLinuxOptions": null},
       "volumeMounts": [{"name": "config", "mountPath": "/etc/web"}, {"name": "data", "mountPath": "/data"},
                        {"name": "kube-api-access-x7k2p", "readOnly": true,
                         "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}],
       "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
       "imagePullPolicy": "IfNotPresent"},
      {"name": "sidecar", "image": "{{IMG2}}", "args": ["--config", "/etc/envoy/envoy.yaml"],
       "lifecycle": {"preStop": {"exec": {"command": ["sleep", "5"]}}},
       "securityContext": {"privileged": true, "windowsOptions": {"hostProcess": false}},
       "resources": {}, "imagePullPolicy": "IfNotPresent"}
    ]{{EPHEMERAL_SPEC}},
    "restartPolicy": "Always", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst",
    "serviceAccountName": "web", "serviceAccount": "web", "nodeName": "node-1",
    "securityContext": {"runAsUser": 1000, "fsGroup": 2000,
                        "sysctls": [{"name": "net.ipv4.ip_unprivileged_port_start", "value": "0"}]},
    "imagePullSecrets": [{"name": "regcred"}],
    "hostNetwork": false, "shareProcessNamespace": true,
    "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
      {"matchExpressions": [{"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]}]}]}}},
    "schedulerName": "default-scheduler",
    "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}],
    "priority": 0, "enableServiceLinks": true, "preemptionPolicy": "PreemptLowerPriority"
  },
  "status": {
    "phase": "{{PHASE}}",
    "conditions": [{"type": "Ready", "status": "True", "lastProbeTime": null, "lastTransitionTime": "2026-11-20T09:14:09Z"}],
    "hostIP": "10.0.0.5", "podIP": "10.244.1.7", "podIPs": [{"ip": "10.244.1.7"}], "startTime": "2026-11-20T09:14:02Z",
    "qosClass": "Burstable",
    "initContainerStatuses": [
      {"name": "migrate", "state": {"terminated": {"exitCode": 0, "reason": "Completed",
        "startedAt": "2026-11-20T09:14:04Z", "finishedAt": "2026-11-20T09:14:05Z",
        "containerID": "containerd://1a2b"}}, "lastState": {}, "ready": true, "restartCount": 0,
       "image": "{{IMG0}}", "imageID": "{{IMGID0}}", "containerID": "containerd://1a2b", "started": false}
    ],
    "containerStatuses": [
      {"name": "app", "state": {"running": {"startedAt": "2026-11-20T09:14:06Z"}}, "lastState": {}, "ready": true,
       "restartCount": {{RESTARTS}}, "image": "{{IMG1}}", "imageID": "{{IMGID1}}", "containerID": "containerd://3c4d", "started": true},
      {"name": "sidecar", "state": {"running": {"startedAt": "2026-11-20T09:14:06Z"}}, "lastState": {}, "ready": true,
       "restartCount": 0, "image": "{{IMG2}}", "imageID": "{{IMGID2}}", "containerID": "containerd://5e6f", "started": true}
    ]{{EPHEMERAL_STATUS}}
  }
})";

const std::string kDigest0 = test::digest_of(10), kDigest1 = test::digest_of(11), kDigest2 = test::digest_of(12),
                  kDigest3 = test::digest_of(13);

struct PodOptions {
  std::string ns = "shop", name = "web-7d9f8b6c5d-x2x9p", uid = "5f0c1a2e-1111-4c4c-8d8d-9e9e9e9e9e9e";
  std::string phase = "Running";
  std::string images[3] = {"registry.example.com/shop/migrate:1.4", "nginx:1.27", "ghcr.io/example/envoy:v1.31"};
  std::string imageIDs[3] = {"registry.example.com/shop/migrate@" + kDigest0, "docker-pullable://nginx@" + kDigest1,
                             "ghcr.io/example/envoy@" + kDigest2};
  int restarts = 0;
  bool ephemeral = true;
};

std::string pod_json(const PodOptions& o = {}) {
  std::string s = kPodTemplate;
  replace_all(s, "{{EPHEMERAL_SPEC}}",
              o.ephemeral ? R"(, "ephemeralContainers": [{"name": "debugger", "image": "busybox:1.36",
                  "targetContainerName": "app", "stdin": true, "tty": true, "resources": {}}])"
                          : "");
  replace_all(s, "{{EPHEMERAL_STATUS}}",
              o.ephemeral ? R"(, "ephemeralContainerStatuses": [{"name": "debugger", "image": "busybox:1.36",
                  "imageID": "sha256:)" + kDigest3.substr(7) + R"(", "state": {"running": {}}, "ready": false, "restartCount": 0}])"
                          : "");
  replace_all(s, "{{NS}}", o.ns);
  replace_all(s, "{{NAME}}", o.name);
  replace_all(s, "{{UID}}", o.uid);
  replace_all(s, "{{PHASE}}", o.phase);
  replace_all(s, "{{RESTARTS}}", std::to_string(o.restarts));
  for (int i = 0; i < 3; ++i) {
    replace_all(s, "{{IMG" + std::to_string(i) + "}}", o.images[i]);
    replace_all(s, "{{IMGID" + std::to_string(i) + "}}", o.imageIDs[i]);
  }
  return s;
}

PodProjection must_project(const std::string& json) {
  std::string error;
  auto pod = project_pod(json, &error);
  INFO(error);
  REQUIRE(pod.has_value());
  CHECK(error.empty());
  return *pod;
}

// The projection of a minimal Pod with `spec` (a JSON object).
PodProjection with_spec(const std::string& spec, const std::string& extraMeta = "") {
  return must_project(R"({"metadata":{"name":"p","namespace":"ns")" + extraMeta + R"(},"spec":)" + spec + "}");
}

std::string refusal(const std::string& json) {
  std::string error;
  std::optional<PodProjection> pod;
  REQUIRE_NOTHROW(pod = project_pod(json, &error));
  CHECK_FALSE(pod.has_value());
  return error;
}

struct Calls {
  std::vector<std::pair<std::string, std::shared_ptr<const PodProjection>>> list;
  PodCache::Listener listener() {
    return [this](const std::string& key, std::shared_ptr<const PodProjection> pod) { list.emplace_back(key, std::move(pod)); };
  }
};

}  // namespace

TEST_CASE("a Pod's projection keeps what the rules read and drops the rest", "[audit]") {
  const PodProjection pod = must_project(pod_json());
  CHECK(pod.namespace_ == "shop");
  CHECK(pod.name == "web-7d9f8b6c5d-x2x9p");
  CHECK(pod.uid == "5f0c1a2e-1111-4c4c-8d8d-9e9e9e9e9e9e");
  CHECK(pod.phase == "Running");
  CHECK(pod.createdAt == 1795166042);  // 2026-11-20T09:14:02Z
  CHECK(pod.owner == audit::OwnerRef{"apps/v1", "ReplicaSet", "web-7d9f8b6c5d", "rs-uid-1"});

  const std::string expected =
      R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"web-7d9f8b6c5d-x2x9p","namespace":"shop",)"
      R"("uid":"5f0c1a2e-1111-4c4c-8d8d-9e9e9e9e9e9e","annotations":{)"
      R"("container.apparmor.security.beta.kubernetes.io/app":"runtime/default",)"
      R"("seccomp.security.alpha.kubernetes.io/pod":"runtime/default"}},)"
      R"("spec":{"serviceAccountName":"web","shareProcessNamespace":true,"hostNetwork":false,)"
      R"("securityContext":{"runAsUser":1000,"fsGroup":2000,)"
      R"("sysctls":[{"name":"net.ipv4.ip_unprivileged_port_start","value":"0"}]},)"
      R"("imagePullSecrets":[{"name":"regcred"}],)"
      R"("initContainers":[{"name":"migrate","image":"registry.example.com/shop/migrate:1.4",)"
      R"("volumeMounts":[{"name":"kube-api-access-x7k2p","mountPath":"/var/run/secrets/kubernetes.io/serviceaccount"}]}],)"
      R"("containers":[{"name":"app","image":"nginx:1.27","securityContext":{"allowPrivilegeEscalation":false,)"
      R"("capabilities":{"drop":["ALL"]},"runAsNonRoot":true,"seccompProfile":{"type":"RuntimeDefault"}},)"
      R"("volumeMounts":[{"name":"config","mountPath":"/etc/web"},{"name":"data","mountPath":"/data"},)"
      R"({"name":"kube-api-access-x7k2p","mountPath":"/var/run/secrets/kubernetes.io/serviceaccount"}],)"
      R"("ports":[{"hostPort":9100,"containerPort":9100,"protocol":"TCP"}]},)"
      R"({"name":"sidecar","image":"ghcr.io/example/envoy:v1.31",)"
      R"("securityContext":{"privileged":true,"windowsOptions":{"hostProcess":false}}}],)"
      R"("ephemeralContainers":[{"name":"debugger","image":"busybox:1.36","targetContainerName":"app"}],)"
      R"("volumes":[{"name":"data","hostPath":{"path":"/var/lib/web","type":"DirectoryOrCreate"}},)"
      R"({"name":"config","configMap":{}},{"name":"kube-api-access-x7k2p","projected":{}}]}})";
  CHECK(pod.object == expected);
  for (const char* gone : {"hunter2", "managedFields", "\"env\"", "livenessProbe", "resources", "labels", "status",
                           "nodeName", "affinity", "tolerations", "restartedAt", "prometheus.io", "generateName"})
    CHECK_THAT(pod.object, !Contains(gone));

  REQUIRE(pod.statuses.size() == 4);
  CHECK(pod.statuses[0] == audit::ContainerStatus{"initContainers", "migrate", "registry.example.com/shop/migrate:1.4", kDigest0});
  CHECK(pod.statuses[1] == audit::ContainerStatus{"containers", "app", "nginx:1.27", kDigest1});
  CHECK(pod.statuses[2] == audit::ContainerStatus{"containers", "sidecar", "ghcr.io/example/envoy:v1.31", kDigest2});
  // A bare "sha256:..." is the local image ID, not a manifest digest.
  CHECK(pod.statuses[3] == audit::ContainerStatus{"ephemeralContainers", "debugger", "busybox:1.36", ""});
  CHECK(pod.running_digests() == std::vector<std::string>{kDigest0, kDigest1, kDigest2});
  CHECK(pod.bytes > pod.object.size());
  CHECK(pod.bytes < 4096);

  // A projection projects to itself: nothing in it is lost or reshaped by reading it back.
  const PodProjection again = must_project(pod.object);
  CHECK(again.object == pod.object);
  CHECK(again.statuses.empty());
}

TEST_CASE("digests are taken from imageID strictly", "[audit]") {
  const std::string hex = kDigest1.substr(7);
  const auto digest = [&](const std::string& imageID) {
    PodOptions o;
    o.imageIDs[1] = imageID;
    return must_project(pod_json(o)).statuses.at(1).digest;
  };
  CHECK(digest("docker.io/library/nginx@sha256:" + hex) == kDigest1);
  CHECK(digest("docker-pullable://nginx@sha256:" + hex) == kDigest1);
  CHECK(digest("localhost:5000/a@b@sha256:" + hex) == kDigest1);  // the last '@'
  CHECK(digest("sha256:" + hex).empty());                          // a local image ID
  CHECK(digest("docker://sha256:" + hex).empty());
  CHECK(digest("").empty());                                       // not started yet
  CHECK(digest("nginx@sha256:" + hex.substr(1)).empty());          // 63 hex digits
  CHECK(digest("nginx@sha256:" + hex + "0").empty());              // 65
  std::string upper = hex;
  upper[0] = 'A';
  CHECK(digest("nginx@sha256:" + upper).empty());
  CHECK(digest("nginx@sha512:" + hex + hex).empty());
  CHECK(digest("nginx@sha256:" + hex + "@x").empty());
  CHECK(digest("nginx@SHA256:" + hex).empty());

  // Two containers running one image: one digest.
  PodOptions same;
  same.imageIDs[2] = same.imageIDs[1];
  CHECK(must_project(pod_json(same)).running_digests() == std::vector<std::string>{kDigest0, kDigest1});
}

TEST_CASE("Pods that ended are not kept, and Pods being deleted still run", "[audit]") {
  for (const char* phase : {"Succeeded", "Failed"}) {
    PodOptions o;
    o.phase = phase;
    std::string error = "stale";
    CHECK_FALSE(project_pod(pod_json(o), &error).has_value());
    CHECK(error.empty());
  }
  for (const char* phase : {"Pending", "Running", "Unknown"}) {
    PodOptions o;
    o.phase = phase;
    CHECK(must_project(pod_json(o)).phase == phase);
  }
  std::string deleting = pod_json();
  replace_all(deleting, R"("resourceVersion": "918273",)",
              R"("resourceVersion": "918273", "deletionTimestamp": "2026-11-20T10:00:00Z", "deletionGracePeriodSeconds": 30,)");
  CHECK(must_project(deleting).phase == "Running");
  // No status at all (just created): kept, phase unknown yet.
  const PodProjection fresh = must_project(R"({"metadata":{"name":"p","namespace":"ns"},"spec":{"containers":[{"name":"a","image":"x"}]}})");
  CHECK(fresh.phase.empty());
  CHECK(fresh.statuses.empty());
  CHECK(fresh.createdAt == 0);
  CHECK(fresh.owner.kind.empty());
}

TEST_CASE("the projection keeps each volume's type, host ports, the legacy annotations and host namespaces", "[audit]") {
  const PodProjection pod = with_spec(
      R"({"hostPID":true,"hostIPC":false,"hostUsers":false,"hostNetwork":true,"os":{"name":"linux"},"runtimeClassName":"gvisor",)"
      R"("serviceAccount":"legacy","volumes":[{"name":"s","secret":{"secretName":"x","items":[{"key":"a","path":"b"}]}},)"
      R"({"name":"e","emptyDir":{"medium":"Memory"}},{"name":"i","image":{"reference":"quay.io/a/b:1","pullPolicy":"Always"}},)"
      R"({"name":"h","hostPath":{"path":"/run/containerd/containerd.sock"}},{"name":"n","nfs":null}],)"
      R"("containers":[{"name":"a","image":"x","ports":[{"containerPort":80,"hostPort":0},{"containerPort":53,"hostPort":53,"protocol":"UDP"},)"
      R"({"hostPort":8443}]}],"imagePullSecrets":[null,{"name":""},{"name":"a"},{}]})",
      R"(,"annotations":{"seccomp.security.alpha.kubernetes.io/pod":"unconfined","other":"x",)"
      R"("container.apparmor.security.beta.kubernetes.io/a":"unconfined"},"labels":{"a":"b"})");
  CHECK(pod.object ==
        R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"ns","annotations":{)"
        R"("seccomp.security.alpha.kubernetes.io/pod":"unconfined","container.apparmor.security.beta.kubernetes.io/a":"unconfined"}},)"
        R"("spec":{"serviceAccountName":"legacy","hostNetwork":true,"hostPID":true,"hostIPC":false,"hostUsers":false,)"
        R"("os":{"name":"linux"},"imagePullSecrets":[{"name":"a"}],"containers":[{"name":"a","image":"x","ports":[)"
        R"({"hostPort":53,"containerPort":53,"protocol":"UDP"},{"hostPort":8443}]}],)"
        R"("volumes":[{"name":"s","secret":{}},{"name":"e","emptyDir":{}},)"
        R"({"name":"i","image":{"reference":"quay.io/a/b:1","pullPolicy":"Always"}},)"
        R"({"name":"h","hostPath":{"path":"/run/containerd/containerd.sock"}},{"name":"n"}]}})");
  // Strings are written as JSON, whatever they hold.
  const PodProjection odd = with_spec(R"({"containers":[{"name":"q\"uote\\\u0000\n\u2028","image":"\u00e9"}]})");
  CHECK_THAT(odd.object, Contains(R"("name":"q\"uote\\\u0000\n)"));
  CHECK(must_project(odd.object).object == odd.object);
}

TEST_CASE("malformed objects are refused with a reason, never thrown", "[audit]") {
  CHECK_THAT(refusal(""), Contains("not valid JSON"));
  CHECK_THAT(refusal("{"), Contains("not valid JSON"));
  CHECK_THAT(refusal("[]"), Contains("expected an object"));
  CHECK_THAT(refusal("null"), Contains("expected an object"));
  CHECK_THAT(refusal(R"({"metadata":{}})"), Contains("metadata.name: missing"));
  CHECK_THAT(refusal(R"({"metadata":{"name":""}})"), Contains("metadata.name: missing"));
  CHECK_THAT(refusal(R"({"metadata":{"name":7}})"), Contains("metadata.name: expected a string"));
  CHECK_THAT(refusal(R"({"metadata":"p"})"), Contains("metadata: expected an object"));
  CHECK_THAT(refusal(R"({"kind":"Service","metadata":{"name":"p"}})"), Contains("kind: not a Pod"));
  CHECK_THAT(refusal(std::string(R"({"metadata":{"name":"p"}})") + '\0'), Contains("NUL"));
  CHECK_THAT(refusal("{\"metadata\":{\"name\":\"\xff\"}}"), Contains("not valid JSON"));
  CHECK_THAT(refusal(R"({"metadata":{"name":"p","creationTimestamp":"yesterday"}})"),
             Contains("metadata.creationTimestamp: not an RFC 3339 time"));
  CHECK_THAT(refusal(R"({"metadata":{"name":"p"},"status":{"phase":1}})"), Contains("status.phase: expected a string"));
  CHECK_THAT(refusal(R"({"metadata":{"name":"p"},"status":{"containerStatuses":[null]}})"),
             Contains("status.containerStatuses[]: expected an object, got null"));
  CHECK_THAT(refusal(R"({"metadata":{"name":"p"},"status":{"containerStatuses":[{"imageID":5}]}})"),
             Contains("status.containerStatuses[].imageID: expected a string"));
  CHECK_THAT(refusal(R"({"metadata":{"name":"p","ownerReferences":{}}})"), Contains("metadata.ownerReferences: expected an array"));

  // What the admission decoder reads must have its type: `"privileged": "true"` read as unset
  // would show the audit a harmless Pod.
  const std::string head = R"({"metadata":{"name":"p"},"spec":)";
  CHECK_THAT(refusal(head + R"({"containers":[{"name":"a","securityContext":{"privileged":"true"}}]}})"),
             Contains("spec.containers[].securityContext.privileged: expected a boolean, got a string"));
  CHECK_THAT(refusal(head + R"({"containers":{"name":"a"}}})"), Contains("spec.containers: expected an array"));
  CHECK_THAT(refusal(head + R"({"containers":[null]}})"), Contains("spec.containers[]: expected an object"));
  CHECK_THAT(refusal(head + R"({"volumes":[{"name":"h","hostPath":{"path":1}}]}})"),
             Contains("spec.volumes[].hostPath.path: expected a string"));
  CHECK_THAT(refusal(head + R"({"securityContext":{"windowsOptions":{"hostProcess":1}}}})"),
             Contains("spec.securityContext.windowsOptions.hostProcess: expected a boolean"));
  CHECK_THAT(refusal(head + R"({"containers":[{"ports":[{"hostPort":"80"}]}]}})"),
             Contains("spec.containers[].ports[].hostPort: expected an integer"));
  CHECK_THAT(refusal(head + R"({"containers":[{"ports":[{"hostPort":80.5}]}]}})"), Contains("expected an integer"));
  CHECK_THAT(refusal(head + R"({"shareProcessNamespace":"yes"}})"), Contains("spec.shareProcessNamespace"));
  CHECK_THAT(refusal(head + R"({"volumes":[{"name":"h","hostPath":"/run/docker.sock"}]}})"),
             Contains("spec.volumes[].hostPath: expected an object, got a string"));
  CHECK_THAT(refusal(head + R"({"containers":[{"name":"a","targetContainerName":["b"]}]}})"),
             Contains("spec.containers[].targetContainerName: expected a string"));
  // No field of a Pod is fractional; a double would not read back as the same text either.
  CHECK_THAT(refusal(head + R"({"securityContext":{"runAsUser":1e3}}})"),
             Contains("spec.securityContext.runAsUser: expected an integer, got a number"));
  // Duplicate keys: Go keeps the last, RapidJSON the first; the Pod cannot be read one way.
  CHECK_THAT(refusal(head + R"({"containers":[{"name":"a","securityContext":{"privileged":false,"privileged":true}}]}})"),
             Contains("spec.containers[].securityContext.privileged: duplicate key"));
  CHECK_THAT(refusal(head + R"({"securityContext":{"seLinuxOptions":{"level":"a","level":"b"}}}})"),
             Contains("spec.securityContext.seLinuxOptions.level: duplicate key"));
  CHECK_THAT(refusal(head + R"({"containers":[],"containers":[{"name":"a"}]}})"), Contains("spec.containers: duplicate key"));
  CHECK_THAT(refusal(head + R"({"volumes":[{"name":"a","emptyDir":{},"emptyDir":{}}]}})"), Contains("duplicate key"));

  // Nesting past 100 levels is refused before it is walked; within it, a deep securityContext is
  // kept (and decodes).
  std::string deep = head + R"({"securityContext":{"x":)";
  for (int i = 0; i < 200; ++i) deep += "[";
  CHECK_THAT(refusal(deep), Contains("deeper than 100"));
  std::string nested = head + R"({"containers":[{"name":"a","securityContext":{"x":)";
  for (int i = 0; i < 90; ++i) nested += "[";
  for (int i = 0; i < 90; ++i) nested += "]";
  nested += "}}]}}";
  const PodProjection kept = must_project(nested);
  CHECK(admission::decode(audit::to_admission_review(kept)).review.has_value());

  // Huge strings are projected (the cache then drops what is too large), never a crash.
  const std::string huge(2u << 20, 'a');
  const PodProjection big = must_project(head + R"({"containers":[{"name":"a","image":")" + huge + R"("}]}})");
  CHECK(big.bytes > audit::kMaxProjectionBytes);
  CHECK_THAT(refusal(R"({"metadata":{"name":")" + huge), Contains("not valid JSON"));
}

TEST_CASE("a projection's AdmissionReview decodes as the Pod's CREATE and is judged as admission would", "[audit]") {
  const PodProjection pod = must_project(pod_json());
  const std::string body = audit::to_admission_review(pod);
  auto decoded = admission::decode(body);
  INFO(body);
  REQUIRE(decoded.review.has_value());
  const admission::Request& r = decoded.review->request();
  CHECK(r.uid == pod.uid);
  CHECK(r.kind.kind == "Pod");
  CHECK(r.kind.group.empty());
  CHECK(r.resource == "pods");
  CHECK(r.name == pod.name);
  CHECK(r.namespace_ == "shop");
  CHECK(r.operation == admission::Operation::Create);
  CHECK_FALSE(r.dryRun);
  CHECK(r.userInfo.username.empty());
  CHECK(r.target == admission::Target::PodSpec);
  CHECK(r.object.uid == pod.uid);
  REQUIRE(r.object.podSpec.has_value());
  const admission::PodSpec& spec = *r.object.podSpec;
  CHECK(spec.fieldPath == "spec");
  CHECK(spec.serviceAccountName == "web");
  CHECK(spec.shareProcessNamespace);
  CHECK(spec.imagePullSecrets == std::vector<std::string_view>{"regcred"});
  REQUIRE(spec.containers.size() == 4);
  CHECK(spec.containers[0].list == admission::ContainerList::Init);
  CHECK(spec.containers[0].image == "registry.example.com/shop/migrate:1.4");
  CHECK(spec.containers[1].name == "app");
  CHECK(spec.containers[1].volumeMounts == std::vector<std::string_view>{"config", "data", "kube-api-access-x7k2p"});
  CHECK_FALSE(spec.containers[1].privileged.has_value());
  CHECK(spec.containers[2].privileged == std::optional<bool>(true));
  CHECK(spec.containers[2].hostProcess == std::optional<bool>(false));
  CHECK(spec.containers[3].list == admission::ContainerList::Ephemeral);
  CHECK(spec.containers[3].targetContainerName == "app");
  REQUIRE(spec.volumes.size() == 3);
  REQUIRE(spec.volumes[0].hostPath.has_value());
  CHECK(spec.volumes[0].hostPath->path == "/var/lib/web");
  CHECK(spec.volumes[0].hostPath->type == "DirectoryOrCreate");
  CHECK_FALSE(spec.volumes[1].hostPath.has_value());

  // The default rules deny the privileged sidecar, as they would have at admission.
  const policy::Evaluator evaluator{config::Config{}};
  const policy::Verdict verdict = evaluator.evaluate(r, policy::Route::Validate);
  CHECK(verdict.decision == policy::Decision::Denied);
  REQUIRE_FALSE(verdict.violations.empty());
  CHECK(verdict.violations[0].rule == "privileged");
  CHECK(verdict.violations[0].fieldPath == "spec.containers[1].securityContext.privileged");

  // A runtime socket and an image volume, on a Pod without a uid.
  const PodProjection socket = with_spec(
      R"({"containers":[{"name":"a","image":"x","volumeMounts":[{"name":"sock","mountPath":"/s"}]}],)"
      R"("volumes":[{"name":"sock","hostPath":{"path":"/var/run/docker.sock","type":"Socket"}},{"name":"img","image":{"reference":"r/x:1"}}]})");
  auto second = admission::decode(audit::to_admission_review(socket));
  REQUIRE(second.review.has_value());
  const admission::Request& r2 = second.review->request();
  CHECK(r2.uid == "audit");
  REQUIRE(r2.object.podSpec.has_value());
  REQUIRE(r2.object.podSpec->volumes.size() == 2);
  CHECK(r2.object.podSpec->volumes[1].imageReference == std::optional<std::string_view>("r/x:1"));
  const policy::Verdict v2 = evaluator.evaluate(r2, policy::Route::Validate);
  CHECK(v2.decision == policy::Decision::Denied);
  REQUIRE_FALSE(v2.violations.empty());
  CHECK(v2.violations[0].rule == "runtimeSockets");

  // A clean Pod is allowed.
  const PodProjection clean = with_spec(R"({"containers":[{"name":"a","image":"nginx:1.27"}]})");
  auto third = admission::decode(audit::to_admission_review(clean));
  REQUIRE(third.review.has_value());
  CHECK(evaluator.evaluate(third.review->request(), policy::Route::Validate).decision == policy::Decision::Allowed);

  // A Pod without a spec (found by fuzzing) still makes a review with one, empty: judged as a Pod,
  // not decoded as an object that carries no pod spec.
  const PodProjection bare = must_project(R"({"metadata":{"name":"p","namespace":"ns"}})");
  CHECK(bare.object == R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"ns"},"spec":{}})");
  auto fourth = admission::decode(audit::to_admission_review(bare));
  REQUIRE(fourth.review.has_value());
  CHECK(fourth.review->request().object.podSpec.has_value());
}

// A Pod that sets every field the Pod Security Standards read, among fields they do not.
const std::string kSecurityPod = R"({"apiVersion":"v1","kind":"Pod",
  "metadata":{"name":"p","namespace":"ns","uid":"u-1","labels":{"a":"b"},"annotations":{
    "seccomp.security.alpha.kubernetes.io/pod":"unconfined",
    "container.seccomp.security.alpha.kubernetes.io/app":"localhost/x",
    "container.apparmor.security.beta.kubernetes.io/app":"unconfined",
    "kubectl.kubernetes.io/last-applied-configuration":"{}"}},
  "spec":{"hostNetwork":true,"hostPID":false,"hostIPC":true,"hostUsers":false,"os":{"name":"linux"},
    "securityContext":{"runAsNonRoot":false,"runAsUser":0,"fsGroup":1,"seccompProfile":{"type":"Localhost","localhostProfile":"p.json"},
      "appArmorProfile":{"type":"Unconfined"},"seLinuxOptions":{"type":"spc_t","user":"u","role":"r","level":"s0"},
      "sysctls":[{"name":"kernel.msgmax","value":"1"},null,{"name":"net.ipv4.ping_group_range","value":"0 1"}],
      "windowsOptions":{"hostProcess":false}},
    "initContainers":[{"name":"init","image":"busybox","securityContext":{"capabilities":{"add":["SYS_ADMIN"]},"procMount":"Unmasked"},
      "startupProbe":{"tcpSocket":{"host":"10.0.0.1","port":22}}}],
    "containers":[{"name":"app","image":"nginx","env":[{"name":"A","value":"b"}],
      "securityContext":{"privileged":false,"allowPrivilegeEscalation":true,"capabilities":{"add":["NET_RAW","ALL"],"drop":["ALL"]},
        "seccompProfile":{},"appArmorProfile":{"type":"Localhost","localhostProfile":"x"},"seLinuxOptions":{"role":"sysadm_r"},
        "runAsNonRoot":true,"runAsUser":1000,"readOnlyRootFilesystem":true},
      "ports":[{"containerPort":80},{"containerPort":53,"hostPort":53,"protocol":"UDP"},{"containerPort":1,"hostPort":0}],
      "livenessProbe":{"httpGet":{"host":"169.254.169.254","path":"/latest/meta-data","port":80},"periodSeconds":3},
      "readinessProbe":{"httpGet":{"path":"/ready","port":8080}},
      "lifecycle":{"postStart":{"exec":{"command":["x"]}},"preStop":{"httpGet":{"host":"kubelet","port":10250},"tcpSocket":{"host":"","port":1}}}}],
    "ephemeralContainers":[{"name":"debug","image":"busybox","targetContainerName":"app",
      "securityContext":{"capabilities":{"add":["SYS_PTRACE"]},"windowsOptions":{"hostProcess":true}}}],
    "volumes":[{"name":"h","hostPath":{"path":"/"}},{"name":"c","configMap":{"name":"x","items":[{"key":"a","path":"b"}]}},
      {"name":"t","projected":{"sources":[{"serviceAccountToken":{"path":"token"}}]}},{"name":"n","nfs":null,"emptyDir":{}},
      {"ephemeral":{"volumeClaimTemplate":{"spec":{}}},"name":"e"}]},
  "status":{"phase":"Running"}})";

// The Pod itself as a CREATE review, as admission saw it.
std::string review_of(const std::string& pod) {
  return R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"group":"","version":"v1","kind":"Pod"},)"
         R"("resource":{"group":"","version":"v1","resource":"pods"},"operation":"CREATE","object":)" + pod + "}}";
}

TEST_CASE("a projection decodes with the Pod Security fields of the Pod itself", "[audit][podsecurity]") {
  for (const std::string& json : {kSecurityPod, pod_json()}) {
    auto original = admission::decode(review_of(json));
    INFO((original.error ? original.error->message : std::string()));
    REQUIRE(original.review.has_value());
    const PodProjection pod = must_project(json);
    auto projected = admission::decode(audit::to_admission_review(pod));
    INFO(pod.object);
    REQUIRE(projected.review.has_value());
    const admission::PodSpec& a = *original.review->request().object.podSpec;
    const admission::PodSpec& b = *projected.review->request().object.podSpec;
    CHECK(testing::security_difference(a, b) == "");
  }
  // Not vacuous: the fields are there, on the projection's side.
  auto projected = admission::decode(audit::to_admission_review(must_project(kSecurityPod)));
  REQUIRE(projected.review.has_value());
  const admission::PodSpec& spec = *projected.review->request().object.podSpec;
  CHECK(spec.security.hostIPC == std::optional<bool>(true));
  CHECK(spec.security.sysctls == std::vector<std::string_view>{"kernel.msgmax", "net.ipv4.ping_group_range"});
  CHECK(spec.security.annotations.size() == 3);  // the standards' three, not last-applied-configuration
  CHECK(spec.security.seccompProfileType == std::optional<std::string_view>("Localhost"));
  REQUIRE(spec.containers.size() == 3);
  CHECK(spec.containers[0].security.probeHosts == std::vector<std::string_view>{"10.0.0.1"});
  CHECK(spec.containers[0].security.procMount == std::optional<std::string_view>("Unmasked"));
  CHECK(spec.containers[1].security.probeHosts == std::vector<std::string_view>{"169.254.169.254", "kubelet"});
  CHECK(spec.containers[1].security.hostPorts == std::vector<std::int64_t>{53});
  CHECK(spec.containers[1].security.seccompProfileType == std::optional<std::string_view>(""));
  CHECK(spec.containers[1].security.capabilitiesAdd == std::vector<std::string_view>{"NET_RAW", "ALL"});
  CHECK(spec.containers[2].hostProcess == std::optional<bool>(true));
  REQUIRE(spec.volumes.size() == 5);
  CHECK(spec.volumes[3].sources == std::vector<std::string_view>{"emptyDir"});
  CHECK(spec.volumes[4].sources == std::vector<std::string_view>{"ephemeral"});
  // The probes are kept as their hosts alone.
  const PodProjection pod = must_project(kSecurityPod);
  CHECK_THAT(pod.object, Contains(R"("livenessProbe":{"httpGet":{"host":"169.254.169.254"}})"));
  CHECK_THAT(pod.object, Contains(R"("lifecycle":{"preStop":{"httpGet":{"host":"kubelet"}}})"));
  CHECK(pod.object.find("readinessProbe") == std::string::npos);
  CHECK(pod.object.find("/latest/meta-data") == std::string::npos);
}

TEST_CASE("the projection refuses a Pod Security field the decoder would refuse", "[audit][podsecurity]") {
  const std::string head = R"({"metadata":{"name":"p"},"spec":)";
  const auto in_container = [&](const std::string& members) {
    return refusal(head + R"({"containers":[{"name":"a",)" + members + "}]}}");
  };
  CHECK_THAT(in_container(R"("securityContext":{"capabilities":{"add":["NET_RAW",1]}})"),
             Contains("spec.containers[].securityContext.capabilities.add[]: expected a string, got a number"));
  CHECK_THAT(in_container(R"("securityContext":{"capabilities":{"drop":[null]}})"),
             Contains("capabilities.drop[]: expected a string, got null"));
  CHECK_THAT(in_container(R"("securityContext":{"allowPrivilegeEscalation":"true"})"),
             Contains("securityContext.allowPrivilegeEscalation: expected a boolean"));
  CHECK_THAT(in_container(R"("securityContext":{"procMount":1})"), Contains("securityContext.procMount: expected a string"));
  CHECK_THAT(in_container(R"("securityContext":{"seccompProfile":{"type":1}})"),
             Contains("securityContext.seccompProfile.type: expected a string"));
  CHECK_THAT(in_container(R"("securityContext":{"appArmorProfile":"x"})"),
             Contains("securityContext.appArmorProfile: expected an object"));
  CHECK_THAT(in_container(R"("securityContext":{"seLinuxOptions":{"user":[]}})"),
             Contains("securityContext.seLinuxOptions.user: expected a string"));
  CHECK_THAT(in_container(R"("securityContext":{"runAsNonRoot":"yes"})"), Contains("runAsNonRoot: expected a boolean"));
  CHECK_THAT(in_container(R"("securityContext":{"runAsUser":"0"})"), Contains("runAsUser: expected an integer"));
  CHECK_THAT(in_container(R"("livenessProbe":{"httpGet":{"host":1}})"),
             Contains("spec.containers[].livenessProbe.httpGet.host: expected a string"));
  CHECK_THAT(in_container(R"("startupProbe":"x")"), Contains("spec.containers[].startupProbe: expected an object"));
  CHECK_THAT(in_container(R"("lifecycle":{"preStop":{"tcpSocket":[]}})"),
             Contains("spec.containers[].lifecycle.preStop.tcpSocket: expected an object"));
  CHECK_THAT(in_container(R"("readinessProbe":{"tcpSocket":{"host":"a","host":"b"}})"), Contains("host: duplicate key"));
  CHECK_THAT(refusal(head + R"({"securityContext":{"sysctls":["kernel.x"]}}})"),
             Contains("spec.securityContext.sysctls[]: expected an object"));
  CHECK_THAT(refusal(head + R"({"securityContext":{"sysctls":[{"name":1}]}}})"),
             Contains("spec.securityContext.sysctls[].name: expected a string"));
  CHECK_THAT(refusal(head + R"({"volumes":[{"name":"v","emptyDir":"x"}]}})"),
             Contains("spec.volumes[].emptyDir: expected an object, got a string"));
  CHECK_THAT(refusal(head + R"({"hostPID":"true"}})"), Contains("spec.hostPID: expected a boolean"));
  CHECK_THAT(refusal(head + R"({"os":{"name":1}}})"), Contains("spec.os.name: expected a string"));
  CHECK_THAT(refusal(R"({"metadata":{"name":"p","annotations":{"container.seccomp.security.alpha.kubernetes.io/a":1}}})"),
             Contains("metadata.annotations.container.seccomp.security.alpha.kubernetes.io/a: expected a string"));
}

TEST_CASE("the cache calls its listener for changes only, and sweeps what a relist no longer has", "[audit]") {
  metrics::Metrics m;
  PodCache cache({}, &m, nullptr);
  Calls calls;
  cache.set_listener(calls.listener());
  PodOptions a, b;
  b.name = "web-7d9f8b6c5d-b";
  const std::string keyA = "shop/" + a.name, keyB = "shop/" + b.name;

  cache.list_begin();
  cache.upsert(keyA, pod_json(a));
  cache.upsert(keyB, pod_json(b));
  cache.list_end();
  REQUIRE(calls.list.size() == 2);
  CHECK(calls.list[0].first == keyA);
  REQUIRE(calls.list[0].second);
  CHECK(calls.list[0].second->name == a.name);
  CHECK(cache.size() == 2);
  CHECK(cache.get(keyA) == calls.list[0].second);
  CHECK(cache.get("shop/nope") == nullptr);
  CHECK(cache.bytes() == calls.list[0].second->bytes + calls.list[1].second->bytes);
  CHECK_THAT(m.serialize(), Contains(R"(podgate_kube_cache_objects{resource="pods"} 2)"));
  CHECK_THAT(m.serialize(), Contains(R"(podgate_kube_cache_bytes{resource="pods"} )" + std::to_string(cache.bytes())));

  // A status update the projection does not keep (a restart count, a condition): no call.
  a.restarts = 3;
  cache.upsert(keyA, pod_json(a));
  CHECK(calls.list.size() == 2);

  // A new imageID (the tag moved, the container restarted on the new image): a call.
  a.imageIDs[1] = "docker-pullable://nginx@" + test::digest_of(99);
  cache.upsert(keyA, pod_json(a));
  REQUIRE(calls.list.size() == 3);
  CHECK(calls.list[2].second->statuses[1].digest == test::digest_of(99));
  CHECK(cache.get(keyA) == calls.list[2].second);

  // A relist that no longer has B: B goes, with a null; A is unchanged, no call.
  cache.list_begin();
  cache.upsert(keyA, pod_json(a));
  CHECK(calls.list.size() == 3);
  cache.list_end();
  REQUIRE(calls.list.size() == 4);
  CHECK(calls.list[3].first == keyB);
  CHECK(calls.list[3].second == nullptr);
  CHECK(cache.size() == 1);

  // The Pod ended: removed with a null; an ended Pod never cached: nothing.
  a.phase = "Succeeded";
  cache.upsert(keyA, pod_json(a));
  REQUIRE(calls.list.size() == 5);
  CHECK(calls.list[4] == std::make_pair(keyA, std::shared_ptr<const PodProjection>()));
  cache.upsert(keyB, pod_json([&] { PodOptions o = b; o.phase = "Failed"; return o; }()));
  CHECK(calls.list.size() == 5);
  CHECK(cache.size() == 0);
  CHECK(cache.bytes() == 0);

  // DELETED: a null; deleting what is not cached: nothing.
  cache.upsert(keyB, pod_json(b));
  cache.remove(keyB);
  REQUIRE(calls.list.size() == 7);
  CHECK(calls.list[6].second == nullptr);
  cache.remove(keyB);
  CHECK(calls.list.size() == 7);
  CHECK(cache.snapshot().empty());
  CHECK_THAT(m.serialize(), Contains(R"(podgate_kube_cache_objects{resource="pods"} 0)"));
}

TEST_CASE("exempt namespaces are never cached", "[audit]") {
  PodCache cache({.maxBytes = 64u << 20, .skipNamespaces = {"kube-system", "podgate"}}, nullptr, nullptr);
  Calls calls;
  cache.set_listener(calls.listener());
  PodOptions o;
  o.ns = "kube-system";
  cache.upsert("kube-system/" + o.name, pod_json(o));
  // The key's namespace and the object's agree in a real cluster; either one exempts.
  cache.upsert("other/" + o.name, pod_json(o));
  CHECK(cache.size() == 0);
  CHECK(calls.list.empty());
  o.ns = "shop";
  cache.upsert("shop/" + o.name, pod_json(o));
  CHECK(cache.size() == 1);
}

TEST_CASE("the cache stays within its byte bound and counts what it drops, logging each once", "[audit]") {
  metrics::Metrics m;
  test::LogCapture capture;
  log::Logger logger(capture.writer());
  const auto key = [](int i) { return "shop/web-" + std::to_string(i); };
  const auto json = [](int i, std::uint64_t digest = 11) {
    PodOptions o;
    o.name = "web-" + std::to_string(i);  // names of one length: one estimate for every Pod
    o.imageIDs[1] = "docker-pullable://nginx@" + test::digest_of(digest);
    return pod_json(o);
  };
  const std::size_t one = must_project(json(1)).bytes;
  PodCache cache({.maxBytes = 2 * one, .skipNamespaces = {}}, &m, &logger);
  Calls calls;
  cache.set_listener(calls.listener());
  cache.upsert(key(1), json(1));
  cache.upsert(key(2), json(2));
  REQUIRE(cache.size() == 2);
  REQUIRE(cache.bytes() <= 2 * one);
  cache.upsert(key(3), json(3));
  cache.upsert(key(4), json(4));
  CHECK(cache.size() == 2);
  CHECK(calls.list.size() == 2);
  CHECK_THAT(m.serialize(), Contains(R"(podgate_audit_pods_dropped_total{reason="bytes"} 2)"));

  // A replacement counts the difference: at the bound, a same-sized update still fits.
  cache.upsert(key(1), json(1, 77));
  REQUIRE(calls.list.size() == 3);
  CHECK(calls.list[2].second->statuses[1].digest == test::digest_of(77));
  CHECK(cache.bytes() <= 2 * one);

  // Room again after a deletion: the next Pod is kept.
  cache.remove(key(2));
  cache.upsert(key(3), json(3));
  CHECK(cache.get(key(3)) != nullptr);

  // Too large: one Pod's projection over kMaxProjectionBytes.
  const std::string level(70 * 1024, 's');
  std::string large = pod_json();
  replace_all(large, R"("runAsUser": 1000,)", R"("runAsUser": 1000, "seLinuxOptions": {"level": ")" + level + R"("},)");
  for (int i = 0; i < 3; ++i) cache.upsert("shop/large", large);
  CHECK(cache.get("shop/large") == nullptr);
  CHECK_THAT(m.serialize(), Contains(R"(podgate_audit_pods_dropped_total{reason="too_large"} 3)"));

  // Malformed: counted each time, logged once.
  for (int i = 0; i < 3; ++i) cache.upsert("shop/bad", R"({"metadata":{"name":"bad"},"spec":{"containers":7}})");
  CHECK_THAT(m.serialize(), Contains(R"(podgate_audit_pods_dropped_total{reason="malformed"} 3)"));

  const std::string log = capture.drain();
  INFO(log);
  const auto count = [&](std::string_view needle) {
    std::size_t n = 0;
    for (std::size_t at = log.find(needle); at != std::string::npos; at = log.find(needle, at + 1)) ++n;
    return n;
  };
  CHECK(count("the Pod cache is full") == 1);
  CHECK(count(R"("pod":"shop/large")") == 1);
  CHECK(count(R"("reason":"too_large")") == 1);
  CHECK(count(R"("pod":"shop/bad")") == 1);
  CHECK(count("spec.containers: expected an array") == 1);
  CHECK(log.find(level.substr(0, 100)) == std::string::npos);  // nothing of the Pod's own text
}

TEST_CASE("a replacement that no longer fits removes the stale projection", "[audit]") {
  metrics::Metrics m;
  const std::size_t one = must_project(pod_json()).bytes;
  PodCache cache({.maxBytes = one, .skipNamespaces = {}}, &m, nullptr);
  Calls calls;
  cache.set_listener(calls.listener());
  cache.upsert("shop/a", pod_json());
  REQUIRE(cache.size() == 1);
  PodOptions bigger;
  bigger.images[1] = "nginx:1.27-with-a-much-longer-tag-that-costs-more-bytes-than-the-bound-has";
  cache.upsert("shop/a", pod_json(bigger));
  CHECK(cache.size() == 0);
  CHECK(cache.bytes() == 0);
  REQUIRE(calls.list.size() == 2);
  CHECK(calls.list[1].second == nullptr);
  CHECK_THAT(m.serialize(), Contains(R"(podgate_audit_pods_dropped_total{reason="bytes"} 1)"));
}

TEST_CASE("the cache is read while the reflector writes", "[audit][concurrency]") {
  PodCache cache({}, nullptr, nullptr);
  std::atomic<int> seen{0};
  cache.set_listener([&](const std::string&, std::shared_ptr<const PodProjection>) { seen.fetch_add(1); });
  std::atomic<bool> done{false};
  std::atomic<std::size_t> read{0};
  std::vector<std::thread> readers;  // no Catch2 assertions on these threads: Catch2 v2 is not thread-safe
  for (int t = 0; t < 2; ++t)
    readers.emplace_back([&] {
      std::size_t sum = 0;
      while (!done.load()) {
        for (const auto& pod : cache.snapshot()) sum += pod->object.size();
        if (auto p = cache.get("shop/web-1")) sum += p->statuses.size();
        sum += cache.size() + cache.bytes();
      }
      read += sum;
    });
  for (int round = 0; round < 3; ++round) {
    cache.list_begin();
    for (int i = 0; i < 200; ++i) {
      PodOptions o;
      o.name = "web-" + std::to_string(i);
      o.restarts = round;
      if (i % 3 == round) continue;  // each relist misses a third: the sweep removes them
      cache.upsert("shop/" + o.name, pod_json(o));
    }
    cache.list_end();
    for (int i = 0; i < 50; ++i) cache.remove("shop/web-" + std::to_string(i));
  }
  done = true;
  for (auto& t : readers) t.join();
  CHECK(seen.load() > 0);
  CHECK(read.load() > 0);
}

// Hidden (run with "[.bench]"): 10,000 Pods of three containers each over ~1,000 distinct images,
// for what the cache holds by its own estimate and what the process's RSS says it costs.
TEST_CASE("bench: the Pod cache at 10,000 Pods", "[.bench]") {
  constexpr int kPods = 10000, kImages = 1000;
  const auto rss = [] {
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);)
      if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
    return 0L;
  };
  std::vector<std::pair<std::string, std::string>> objects;  // built first: their memory is not the cache's
  objects.reserve(kPods);
  for (int i = 0; i < kPods; ++i) {
    PodOptions o;
    o.ephemeral = false;
    o.ns = "team-" + std::to_string(i % 200);
    o.name = "app-" + std::to_string(i / 10) + "-7d9f8b6c5d-" + std::to_string(10000 + i);
    o.uid = "5f0c1a2e-1111-4c4c-8d8d-" + std::to_string(100000000000 + i);
    for (int c = 0; c < 3; ++c) {
      const int image = (i * 3 + c) % kImages;
      o.images[c] = "registry.example.com/team-" + std::to_string(image % 50) + "/service-" + std::to_string(image) + ":1." +
                    std::to_string(image % 7);
      o.imageIDs[c] = "registry.example.com/team-" + std::to_string(image % 50) + "/service-" + std::to_string(image) + "@" +
                      test::digest_of(static_cast<std::uint64_t>(image));
    }
    objects.emplace_back(o.ns + "/" + o.name, pod_json(o));
  }
  PodCache cache({}, nullptr, nullptr);
  const long before = rss();
  const auto t0 = std::chrono::steady_clock::now();
  cache.list_begin();
  for (const auto& [key, json] : objects) cache.upsert(key, json);
  cache.list_end();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const long after = rss();
  std::size_t objectBytes = 0, digests = 0;
  for (const auto& pod : cache.snapshot()) {
    objectBytes += pod->object.size();
    digests += pod->running_digests().size();
  }
  WARN("10,000 Pods: " << cache.size() << " held, " << cache.bytes() << " bytes by the cache's estimate ("
                       << cache.bytes() / cache.size() << " per Pod; object JSON " << objectBytes / cache.size()
                       << " per Pod; input " << objects[0].second.size() << " bytes per Pod), RSS grew "
                       << (after - before) << " KiB, " << static_cast<int>(kPods / seconds) << " upserts/s, "
                       << digests << " running digests");
  CHECK(cache.size() == static_cast<std::size_t>(kPods));
  CHECK(cache.bytes() <= PodCacheOptions{}.maxBytes);
}

TEST_CASE("a snapshot keeps each controller's Pods together", "[audit]") {
  PodCache cache({.maxBytes = 64u << 20, .skipNamespaces = {}}, nullptr, nullptr);
  const std::string owners[3] = {"web-7d9f8b6c5d", "api-5c4b3a2918", "cache-0f1e2d3c4b"};
  for (int i = 0; i < 30; ++i) {  // interleaved, and Pod names that say nothing of the owner
    PodOptions o;
    o.name = "pod-" + std::to_string(i);
    o.uid = "uid-" + std::to_string(i);
    std::string json = pod_json(o);
    replace_all(json, R"("name": "web-7d9f8b6c5d", "uid": "rs-uid-1")",
                R"("name": ")" + owners[i % 3] + R"(", "uid": "rs-uid-)" + std::to_string(i % 3) + "\"");
    cache.upsert("shop/" + o.name, json);
  }
  const auto snapshot = cache.snapshot();
  REQUIRE(snapshot.size() == 30);
  int changes = 0;
  for (std::size_t i = 1; i < snapshot.size(); ++i)
    if (snapshot[i]->owner.uid != snapshot[i - 1]->owner.uid) ++changes;
  CHECK(changes == 2);
  CHECK(snapshot.front()->owner.name == "api-5c4b3a2918");
}
