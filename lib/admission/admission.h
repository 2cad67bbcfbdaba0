#pragma once
// admission.k8s.io/v1 AdmissionReview: decoding a request, finding every pod spec it carries, and
// encoding the response exactly as the kube-apiserver accepts it.
//
// Decoding parses the body in situ with RapidJSON: the string_views below point into the Review's
// own buffer and stay valid for as long as the Review lives.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace podgate::admission {

enum class Operation { Create, Update, Delete, Connect, Unknown };
const char* to_string(Operation op);  // "CREATE", ... "UNKNOWN"

enum class ContainerList { Init, Regular, Ephemeral };
const char* field_name(ContainerList list);  // "initContainers", "containers", "ephemeralContainers"

// The part of a securityContext (pod or container level) the Pod Security Standards read
// (policy/pod_security). Every field as written; absent = nullopt.
struct SELinuxOptions {
  std::string_view type, user, role;
};
struct SecurityFields {
  std::optional<std::string_view> seccompProfileType;   // seccompProfile.type ("" when seccompProfile has no type)
  std::optional<std::string_view> appArmorProfileType;  // appArmorProfile.type (the same)
  std::optional<SELinuxOptions> seLinuxOptions;
  std::optional<bool> runAsNonRoot;
  std::optional<std::int64_t> runAsUser;
};

// A container's fields the Pod Security Standards read, besides privileged and hostProcess.
struct ContainerSecurity : SecurityFields {
  std::vector<std::string_view> capabilitiesAdd;   // securityContext.capabilities.add
  std::vector<std::string_view> capabilitiesDrop;  // securityContext.capabilities.drop
  std::optional<bool> allowPrivilegeEscalation;
  std::optional<std::string_view> procMount;
  std::vector<std::int64_t> hostPorts;  // ports[].hostPort, the non-zero ones, in order
  // The non-empty httpGet.host / tcpSocket.host of its liveness, readiness and startup probes and of
  // lifecycle.postStart / preStop, in that order: a probe aimed at another host reaches it from the node.
  std::vector<std::string_view> probeHosts;
};

// The pod-level fields the Pod Security Standards read.
struct PodSecurity : SecurityFields {
  std::optional<bool> hostNetwork, hostPID, hostIPC;
  std::optional<bool> hostUsers;
  std::string_view osName;                         // spec.os.name ("" when absent)
  std::vector<std::string_view> sysctls;           // securityContext.sysctls[].name
  // metadata.annotations of the pod (of the template, in a workload): the deprecated seccomp and
  // AppArmor annotations are still read by the versions of the standards that read them.
  std::vector<std::pair<std::string_view, std::string_view>> annotations;
};

struct Container {
  ContainerList list = ContainerList::Regular;
  std::size_t index = 0;                 // position within its list
  std::string_view name;
  std::string_view image;
  std::optional<bool> privileged;        // securityContext.privileged, if present
  std::optional<bool> hostProcess;       // securityContext.windowsOptions.hostProcess, if present
  std::vector<std::string_view> volumeMounts;  // names of the volumes it mounts
  std::string_view targetContainerName;  // an ephemeral container's target: it shares its processes
  ContainerSecurity security;            // what the Pod Security Standards read
};

struct HostPathVolume {
  std::string_view path;
  std::string_view type;                 // "" when absent
};

struct Volume {
  std::size_t index = 0;
  std::string_view name;
  std::optional<HostPathVolume> hostPath;
  std::optional<std::string_view> imageReference;  // volumes[].image.reference (Kubernetes 1.31+)
  // Every member of the volume but "name", in order: its source ("hostPath", "configMap", ...).
  // The API allows exactly one; restrictedVolumes judges what is written.
  std::vector<std::string_view> sources;
};

// One pod spec found inside an object, with where it was found.
struct PodSpec {
  std::string fieldPath;                 // e.g. "spec", "spec.template.spec", "spec.jobTemplate.spec.template.spec"
  std::string_view serviceAccountName;   // "" when absent (Kubernetes then uses "default")
  std::optional<bool> hostProcess;       // securityContext.windowsOptions.hostProcess (pod level), if present
  bool shareProcessNamespace = false;    // every container sees (and reaches, via /proc) the others' processes
  std::vector<Container> containers;     // init, regular, ephemeral, in that order
  std::vector<Volume> volumes;
  // imagePullSecrets[].name in order (entries without a name left out): Secrets in the object's
  // namespace the kubelet pulls with. On Pod CREATE the ServiceAccount plugin has already copied
  // the service account's list in when this was empty; a template's list is as written.
  std::vector<std::string_view> imagePullSecrets;
  PodSecurity security;                  // what the Pod Security Standards read
};

struct GroupVersionKind {
  std::string_view group;
  std::string_view version;
  std::string_view kind;
};

struct UserInfo {
  std::string_view username;
  std::string_view uid;
  std::vector<std::string_view> groups;
};

// A node path a PersistentVolume gives whoever binds it: spec.hostPath.path or spec.local.path.
struct PersistentVolumePath {
  std::string_view field;  // "spec.hostPath.path" | "spec.local.path"
  std::string_view path;   // as written ("" when the source has no path)
};

// What podgate knows about the object under review.
struct ObjectInfo {
  std::string_view name;          // metadata.name, or metadata.generateName when name is empty
  std::string_view uid;           // metadata.uid: set by the apiserver before validating admission (CREATE too)
  std::optional<PodSpec> podSpec; // absent when the object carries no pod spec
  std::vector<PersistentVolumePath> nodePaths;  // a PersistentVolume's hostPath / local path
};

// What podgate judges in a request, decided by request.resource and subResource (not by kind,
// which the decoder checks against them): a pod spec, a PersistentVolume's node paths, or nothing.
enum class Target { None, PodSpec, PersistentVolume };

struct Request {
  std::string_view uid;
  GroupVersionKind kind;
  GroupVersionKind requestKind;   // equals kind when the apiserver did not convert
  std::string_view resource;      // e.g. "pods", "deployments"
  std::string_view resourceGroup; // e.g. "", "apps", "batch"
  std::string_view subResource;   // e.g. "ephemeralcontainers", "" for the main resource
  std::string_view name;
  std::string_view namespace_;
  Operation operation = Operation::Unknown;
  std::string_view operationText; // as sent, for logs
  UserInfo userInfo;
  bool dryRun = false;
  Target target = Target::None;   // what the rules judge (see Target)
  bool podBearing = false;        // target == Target::PodSpec: the resource carries a pod spec
  bool customWorkload = false;    // the resource is one of workloads.custom (see CustomWorkloads)
  ObjectInfo object;              // request.object (absent on DELETE)
  ObjectInfo oldObject;           // request.oldObject (UPDATE, DELETE)
};

// A decoded AdmissionReview. Move-only: the views in `request` point into `buffer_` (and, rarely,
// `keptOverflow_`).
class Review {
 public:
  Review(const Review&) = delete;
  Review& operator=(const Review&) = delete;
  Review(Review&&) noexcept;
  Review& operator=(Review&&) noexcept;
  ~Review();

  const Request& request() const { return request_; }

 private:
  friend struct Decoder;
  Review();
  // The body: RapidJSON parses it in situ and views point into it; after a simdjson parse the
  // strings the request keeps are copied over it (admission/json_value.h, KeptStrings). Heap-held
  // so moving a Review keeps the views valid.
  std::unique_ptr<std::string> buffer_;
  std::vector<std::unique_ptr<char[]>> keptOverflow_;
  Request request_;
};

// A request podgate cannot judge: HTTP 400 with `message`.
struct DecodeError {
  std::string message;  // one line, for a person: "request.uid: missing"
};

struct DecodeResult {
  std::optional<Review> review;
  std::optional<DecodeError> error;
  explicit operator bool() const { return review.has_value(); }
};

// A custom resource judged as a workload (config workloads.custom): objects of `kind` in `group`,
// served as `resource`, carry a pod spec at the dotted `podSpecPath` ("spec.template.spec").
struct CustomWorkload {
  std::string group;
  std::string kind;
  std::string resource;
  std::string podSpecPath;
};

// The custom workloads of one config, matched once per request (a linear scan of at most
// config::kMaxCustomWorkloads entries, only for resources that are not built in).
class CustomWorkloads {
 public:
  CustomWorkloads() = default;
  explicit CustomWorkloads(std::vector<CustomWorkload> entries) : entries_(std::move(entries)) {}
  const CustomWorkload* by_resource(std::string_view group, std::string_view resource) const;
  const CustomWorkload* by_kind(std::string_view group, std::string_view kind) const;
  bool empty() const { return entries_.empty(); }

 private:
  std::vector<CustomWorkload> entries_;
};

// Decodes an AdmissionReview body, taking ownership of it (the strings the request keeps are
// stored in it, without another allocation). Never throws on bad input; never crashes. `custom`
// (which must outlive the call) adds the configured custom workloads to the resources whose pod
// spec is judged. The body's capacity should leave kBodyPadding bytes spare past its end, or it is
// copied once to make room.
inline constexpr std::size_t kBodyPadding = 64;  // simdjson's SIMDJSON_PADDING: it reads that far past the end
DecodeResult decode(std::string body);
DecodeResult decode(std::string body, const CustomWorkloads& custom);

namespace detail {
// The decoder's fallback parser (RapidJSON, for bodies simdjson refuses) on every body: for the
// fuzzer's differential check that both parsers decode every body the fast one accepts alike.
DecodeResult decode_with_fallback_parser(std::string body, const CustomWorkloads& custom);
}  // namespace detail

// The kinds that carry a pod spec, and where: Pod / EphemeralContainers -> spec;
// CronJob -> spec.jobTemplate.spec.template.spec; Deployment, ReplicaSet, StatefulSet, DaemonSet,
// Job, ReplicationController -> spec.template.spec; PodTemplate -> template.spec. The decoder finds
// the spec by request.resource (pods, deployments, ...), in any API version, and refuses a review
// whose kind does not match its resource.
bool is_pod_bearing_kind(std::string_view kind);
// The plural resource and API group of a kind podgate judges ("Deployment" -> "deployments",
// "apps"), for building reviews from manifests; empty when podgate does not judge the kind.
struct ResourceName {
  std::string_view group;
  std::string_view resource;
};
ResourceName resource_for_kind(std::string_view kind);
// The same for a manifest's apiVersion and kind, the custom workloads included (their views point
// into `custom`): a custom kind is matched by its group, from apiVersion ("argoproj.io/v1alpha1").
ResourceName resource_for(std::string_view apiVersion, std::string_view kind, const CustomWorkloads& custom);

// For objects podgate does not judge: the dotted path of the first pod template in `objectJson`
// (a "template" member whose "spec" has a "containers" list, e.g. "spec.template.spec"), or ""
// when there is none. `podgate check` warns with it that a workload passes unjudged.
std::string find_pod_template(std::string_view objectJson);

struct Response {
  std::string uid;
  bool allowed = true;
  int code = 0;                    // used only when !allowed (403 normally)
  std::string reason;              // e.g. "Forbidden"
  std::string message;
  std::vector<std::string> warnings;
  std::vector<std::pair<std::string, std::string>> auditAnnotations;
  // A mutating webhook's RFC 6902 JSON Patch, as the JSON array text ("[{...}]"); empty: none. Sent
  // as response.patch (base64 of it) with patchType "JSONPatch". Only a MutatingWebhookConfiguration
  // may send one: a validating webhook's answer with a patch is a call error at the apiserver.
  std::string jsonPatch;
};

// Encodes {"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{...}}.
std::string encode(const Response& response);

}  // namespace podgate::admission
