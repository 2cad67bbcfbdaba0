#pragma once
// The Pods that run, as the audit needs them: a kube::ReflectorSink that keeps a compact
// projection of each Pod (what the rules read, the digests the kubelet reports, the owner), not
// the whole object, bounded in bytes. A 10,000-Pod cluster fits in a few tens of MiB.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "kube/reflector.h"
#include "log/log.h"
#include "metrics/metrics.h"

namespace podgate::audit {

// metadata.ownerReferences[] with controller: true (empty kind: the Pod has no controller).
struct OwnerRef {
  std::string apiVersion, kind, name, uid;
  bool operator==(const OwnerRef&) const = default;
};

// One container's status as the kubelet reports it.
struct ContainerStatus {
  std::string list;     // "initContainers" | "containers" | "ephemeralContainers"
  std::string name;
  std::string image;    // status image (what the kubelet pulled, as it names it)
  // The manifest digest that runs ("sha256:<64 hex>"), taken from imageID after its last '@'
  // ("docker.io/library/nginx@sha256:...", "docker-pullable://nginx@sha256:..."). "" when the
  // imageID carries no repository digest (a bare "sha256:..." is the local image ID, not a manifest
  // digest, and is not used) or the container has not started.
  std::string digest;
  bool operator==(const ContainerStatus&) const = default;
};

struct PodProjection {
  std::string namespace_, name, uid;
  std::string phase;  // Pending | Running | Unknown (Succeeded and Failed Pods are not kept)
  std::int64_t createdAt = 0;  // metadata.creationTimestamp, unix seconds
  OwnerRef owner;
  // The Pod as the rules read it, as compact JSON: {"apiVersion":"v1","kind":"Pod","metadata":{name,
  // namespace, uid, the annotations the rules read},"spec":{...}} with only the spec fields that
  // rules read (serviceAccountName, shareProcessNamespace, securityContext, host namespaces,
  // hostUsers, os, imagePullSecrets, volumes (name, hostPath, image; other sources as their key
  // only), and per container name, image, targetContainerName, securityContext, volumeMounts (name,
  // mountPath), ports with a hostPort, the probes' and lifecycle handlers' non-empty hosts).
  // Everything else (env, args, the rest of the probes, resources, managedFields, status) is
  // dropped. "spec" is always there, if empty.
  std::string object;
  std::vector<ContainerStatus> statuses;  // init, regular, ephemeral statuses, in that order
  std::size_t bytes = 0;  // what this entry costs the cache (estimated)

  // The digests that run, without duplicates (from statuses).
  std::vector<std::string> running_digests() const;
  bool operator==(const PodProjection&) const = default;
};

// The largest projection kept for one Pod; a larger one is dropped (counted as too_large). A Pod's
// rule-relevant fields are a few KiB; the apiserver's own object limit is 1.5 MiB.
inline constexpr std::size_t kMaxProjectionBytes = 64 * 1024;

// Projects a Pod object (JSON, as list and watch return it). nullopt, with `error` set, for what is
// not a Pod (not JSON, no metadata.name, too deep: the JSON is parsed under 100 levels); nullopt
// with `error` empty for a Pod that does not run (Succeeded, Failed).
std::optional<PodProjection> project_pod(std::string_view podJson, std::string* error = nullptr);

// The AdmissionReview of a CREATE of the projected Pod, so the Evaluator judges a running Pod as
// admission would (userInfo empty: user exemptions cannot apply to what already runs).
std::string to_admission_review(const PodProjection& pod);

struct PodCacheOptions {
  std::size_t maxBytes = 64u << 20;          // audit.cacheBytes
  std::vector<std::string> skipNamespaces;   // exemptions.namespaces: never cached, never judged
};

class PodCache final : public kube::ReflectorSink {
 public:
  // Called after a Pod was added, changed (a different projection: a new imageID, a new phase) or
  // removed, with its key "namespace/name"; `pod` is null for a removal. Not called for events
  // that change nothing the projection keeps (most status updates). Called on the reflector's
  // thread, outside the cache's lock.
  using Listener = std::function<void(const std::string& key, std::shared_ptr<const PodProjection> pod)>;

  // metrics (podgate_kube_cache_objects{resource="pods"}, podgate_audit_pods_dropped_total) and
  // logger may be null.
  PodCache(PodCacheOptions options, metrics::Metrics* metrics, log::Logger* logger);
  void set_listener(Listener listener);  // before the reflector starts

  std::shared_ptr<const PodProjection> get(std::string_view key) const;
  // Every cached Pod, a controller's Pods together: by namespace, controller name and uid, then name
  // (so a full pass finishes one workload before the next, and writes its report once).
  std::vector<std::shared_ptr<const PodProjection>> snapshot() const;
  std::size_t size() const;
  std::size_t bytes() const;

  // kube::ReflectorSink
  void list_begin() override;
  void list_end() override;
  void upsert(std::string_view key, std::string_view objectJson) override;
  void remove(std::string_view key) override;

 private:
  void publish() const;
  void store(const std::string& key, PodProjection pod);
  void erase(const std::string& key);  // not kept (gone, ended, skipped, dropped): notifies if it was
  void dropped(const std::string& key, std::string_view reason, std::string_view why);
  void forget_logged(const std::string& key);  // mutex_ held
  void note_room();                            // mutex_ held
  PodCacheOptions options_;
  metrics::Metrics* metrics_;
  log::Logger* logger_;
  Listener listener_;
  mutable std::mutex mutex_;  // guards pods_, bytes_, seen_, listing_, warnedFull_, loggedDrops_
  std::unordered_map<std::string, std::shared_ptr<const PodProjection>> pods_;
  std::size_t bytes_ = 0;
  std::unordered_map<std::string, bool> seen_;  // keys upserted since list_begin (during a list)
  bool listing_ = false;
  bool warnedFull_ = false;  // "cache full" is logged once until it has room again
  // Keys whose drop (malformed, too_large) was logged: each Pod is logged once while it exists, and
  // at most 64 at a time, so a flood of bad Pods cannot flood the log.
  std::unordered_set<std::string> loggedDrops_;
};

}  // namespace podgate::audit
