// The Pod projection (pod_cache.h): project_pod and the AdmissionReview made from a projection.
//
// The projection is written, never copied through: only the fields a rule reads are kept, each
// checked for its schema type, so a Pod the cache keeps always makes an AdmissionReview the
// admission decoder accepts (the decoder refuses a mistyped field or a duplicate key, and so does
// the projection: keeping one of two `privileged` keys would show the audit another Pod than the
// kubelet runs). What is not a readable Pod is refused whole and counted, never half-kept.

#include "audit/pod_cache.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <array>
#include <new>
#include <utility>

#include "util/json.h"
#include "util/json_depth.h"
#include "util/time.h"

namespace podgate::audit {

namespace {

using rapidjson::Value;
using util::JsonWriter;

// A Pod nests about 10 levels (a container's securityContext.seLinuxOptions, a volume's projected
// sources); 100 leaves room for anything valid and bounds what a hostile object can make us walk.
constexpr unsigned kMaxDepth = 100;
// The only annotations rules read: the legacy AppArmor and seccomp forms Pod Security checks
// (seccomp.security.alpha.kubernetes.io/pod and container.seccomp.security.alpha.kubernetes.io/<name>).
constexpr std::array<std::string_view, 3> kAnnotationPrefixes{"container.apparmor.security.beta.kubernetes.io/",
                                                              "seccomp.security.alpha.kubernetes.io/",
                                                              "container.seccomp.security.alpha.kubernetes.io/"};

// Thrown while projecting, caught in project_pod: the whole Pod is refused with this message.
struct Refusal {
  std::string message;
};

// Where a field sits, rendered only for an error ("spec.containers[].securityContext").
struct Path {
  const Path* parent = nullptr;
  std::string_view key;

  Path operator/(std::string_view k) const { return Path{this, k}; }
  std::string str() const {
    std::string head = parent ? parent->str() : std::string();
    if (head.empty()) return std::string(key);
    return key == "[]" ? head + "[]" : head + "." + std::string(key);
  }
};

[[noreturn]] void refuse(const Path& at, const std::string& what) { throw Refusal{at.str() + ": " + what}; }

[[noreturn]] void wrong_type(const Path& at, const char* expected, const Value& got) {
  refuse(at, std::string("expected ") + expected + ", got " + util::json_type_name(got));
}

std::string_view view(const Value& v) { return {v.GetString(), v.GetStringLength()}; }

// The member `name`, nullptr when absent or null (Kubernetes reads null as unset). A key given
// twice is refused: Go keeps the last, RapidJSON finds the first, and the decoder refuses it.
const Value* member(const Value& object, std::string_view name, const Path& at) {
  const Value* found = nullptr;
  bool seen = false;
  for (auto it = object.MemberBegin(); it != object.MemberEnd(); ++it) {
    if (view(it->name) != name) continue;
    if (seen) refuse(at / name, "duplicate key");
    seen = true;
    found = it->value.IsNull() ? nullptr : &it->value;
  }
  return found;
}

const Value* typed_member(const Value& object, std::string_view name, const Path& at, bool (Value::*is)() const,
                          const char* expected) {
  const Value* v = member(object, name, at);
  if (v && !(v->*is)()) wrong_type(at / name, expected, *v);
  return v;
}

const Value* object_member(const Value& object, std::string_view name, const Path& at) {
  return typed_member(object, name, at, &Value::IsObject, "an object");
}

const Value* array_member(const Value& object, std::string_view name, const Path& at) {
  return typed_member(object, name, at, &Value::IsArray, "an array");
}

std::optional<std::string_view> string_member(const Value& object, std::string_view name, const Path& at) {
  const Value* v = typed_member(object, name, at, &Value::IsString, "a string");
  return v ? std::optional(view(*v)) : std::nullopt;
}

std::optional<bool> bool_member(const Value& object, std::string_view name, const Path& at) {
  const Value* v = typed_member(object, name, at, &Value::IsBool, "a boolean");
  return v ? std::optional(v->GetBool()) : std::nullopt;
}

std::optional<std::int64_t> int_member(const Value& object, std::string_view name, const Path& at) {
  const Value* v = typed_member(object, name, at, &Value::IsInt64, "an integer");
  return v ? std::optional(v->GetInt64()) : std::nullopt;
}

// Calls each(item) for every element of the array member `name`, each of which must be an object.
template <typename Each>
void for_each_object(const Value& object, std::string_view name, const Path& at, Each each) {
  const Value* items = array_member(object, name, at);
  if (!items) return;
  const Path listAt = at / name;
  const Path itemAt = listAt / "[]";
  for (const Value& item : items->GetArray()) {
    if (!item.IsObject()) wrong_type(itemAt, "an object", item);
    each(item, itemAt);
  }
}

void put(JsonWriter& w, std::string_view key, std::string_view value) {
  util::write_key(w, key);
  util::write_string(w, value);
}

void copy_string(JsonWriter& w, const Value& object, std::string_view name, const Path& at) {
  if (auto s = string_member(object, name, at)) put(w, name, *s);
}

void copy_bool(JsonWriter& w, const Value& object, std::string_view name, const Path& at) {
  if (auto b = bool_member(object, name, at)) {
    util::write_key(w, name);
    w.Bool(*b);
  }
}

void check_unique_keys(const Value& object, const Path& at) {
  const auto n = object.MemberCount();
  if (n < 2) return;
  std::vector<std::string_view> keys;
  keys.reserve(n);
  for (auto it = object.MemberBegin(); it != object.MemberEnd(); ++it) keys.push_back(view(it->name));
  std::sort(keys.begin(), keys.end());
  if (auto dup = std::adjacent_find(keys.begin(), keys.end()); dup != keys.end()) refuse(at / *dup, "duplicate key");
}

// A subtree kept whole (a securityContext): null members left out (unset), duplicate keys and
// fractional numbers refused.
void copy_value(JsonWriter& w, const Value& v, const Path& at) {
  if (v.IsObject()) {
    check_unique_keys(v, at);
    w.StartObject();
    for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
      if (it->value.IsNull()) continue;
      util::write_key(w, view(it->name));
      copy_value(w, it->value, at / view(it->name));
    }
    w.EndObject();
  } else if (v.IsArray()) {
    w.StartArray();
    const Path itemAt = at / "[]";
    for (const Value& item : v.GetArray()) copy_value(w, item, itemAt);
    w.EndArray();
  } else if (v.IsDouble()) {
    // No field of a Pod is fractional (the apiserver refuses 1.5 or 1e3 for an integer), and a
    // double would not read back as the same text.
    wrong_type(at, "an integer", v);
  } else {
    v.Accept(w);
  }
}

// A list of strings (capabilities.add / drop): the decoder refuses anything else, null included.
void check_strings(const Value& object, std::string_view name, const Path& at) {
  const Value* items = array_member(object, name, at);
  if (!items) return;
  const Path listAt = at / name;
  const Path itemAt = listAt / "[]";
  for (const Value& item : items->GetArray())
    if (!item.IsString()) wrong_type(itemAt, "a string", item);
}

// The fields of a securityContext the admission decoder reads (privileged, hostProcess and the
// Pod Security Standards' fields) must have their types: the context is kept whole, and a kept Pod
// must make a review the decoder accepts.
void check_security_context(const Value& sc, const Path& scAt, bool container) {
  if (container) {
    bool_member(sc, "privileged", scAt);
    bool_member(sc, "allowPrivilegeEscalation", scAt);
    string_member(sc, "procMount", scAt);
    if (const Value* caps = object_member(sc, "capabilities", scAt)) {
      const Path capsAt = scAt / "capabilities";
      check_strings(*caps, "add", capsAt);
      check_strings(*caps, "drop", capsAt);
    }
  } else if (const Value* sysctls = array_member(sc, "sysctls", scAt)) {
    const Path listAt = scAt / "sysctls";
    const Path itemAt = listAt / "[]";
    for (const Value& item : sysctls->GetArray()) {
      if (item.IsNull()) continue;  // as the decoder does: an entry that sets nothing
      if (!item.IsObject()) wrong_type(itemAt, "an object", item);
      string_member(item, "name", itemAt);
    }
  }
  if (const Value* wo = object_member(sc, "windowsOptions", scAt))
    bool_member(*wo, "hostProcess", scAt / "windowsOptions");
  for (std::string_view profile : {"seccompProfile", "appArmorProfile"})
    if (const Value* p = object_member(sc, profile, scAt)) string_member(*p, "type", scAt / profile);
  if (const Value* se = object_member(sc, "seLinuxOptions", scAt)) {
    const Path seAt = scAt / "seLinuxOptions";
    for (std::string_view field : {"type", "user", "role"}) string_member(*se, field, seAt);
  }
  bool_member(sc, "runAsNonRoot", scAt);
  int_member(sc, "runAsUser", scAt);
}

// A securityContext, kept whole (its fields the decoder reads checked first).
void write_security_context(JsonWriter& w, const Value& object, const Path& at, bool container) {
  const Value* sc = object_member(object, "securityContext", at);
  if (!sc) return;
  const Path scAt = at / "securityContext";
  check_security_context(*sc, scAt, container);
  util::write_key(w, "securityContext");
  copy_value(w, *sc, scAt);
}

// ---- metadata ----------------------------------------------------------------------------------

OwnerRef controller_of(const Value& meta, const Path& at) {
  OwnerRef owner;
  for_each_object(meta, "ownerReferences", at, [&](const Value& ref, const Path& refAt) {
    const auto controller = bool_member(ref, "controller", refAt);
    const auto apiVersion = string_member(ref, "apiVersion", refAt);
    const auto kind = string_member(ref, "kind", refAt);
    const auto name = string_member(ref, "name", refAt);
    const auto uid = string_member(ref, "uid", refAt);
    // The apiserver allows one controller; the first one counts.
    if (!controller.value_or(false) || !owner.kind.empty()) return;
    owner = OwnerRef{std::string(apiVersion.value_or("")), std::string(kind.value_or("")),
                     std::string(name.value_or("")), std::string(uid.value_or(""))};
  });
  return owner;
}

void write_annotations(JsonWriter& w, const Value& meta, const Path& at) {
  const Value* annotations = object_member(meta, "annotations", at);
  if (!annotations) return;
  const Path annotationsAt = at / "annotations";
  check_unique_keys(*annotations, annotationsAt);
  bool open = false;
  for (auto it = annotations->MemberBegin(); it != annotations->MemberEnd(); ++it) {
    const std::string_view key = view(it->name);
    if (std::none_of(kAnnotationPrefixes.begin(), kAnnotationPrefixes.end(),
                     [&](std::string_view p) { return key.starts_with(p); }))
      continue;
    if (it->value.IsNull()) continue;
    if (!it->value.IsString()) wrong_type(annotationsAt / key, "a string", it->value);
    if (!std::exchange(open, true)) {
      util::write_key(w, "annotations");
      w.StartObject();
    }
    put(w, key, view(it->value));
  }
  if (open) w.EndObject();
}

void write_metadata(JsonWriter& w, const Value& meta, const Path& at, PodProjection& pod) {
  pod.namespace_ = string_member(meta, "namespace", at).value_or("");
  pod.uid = string_member(meta, "uid", at).value_or("");
  if (auto created = string_member(meta, "creationTimestamp", at)) {
    const auto t = util::parse_rfc3339(*created);
    if (!t) refuse(at / "creationTimestamp", "not an RFC 3339 time");
    pod.createdAt = *t;
  }
  pod.owner = controller_of(meta, at);
  util::write_key(w, "metadata");
  w.StartObject();
  put(w, "name", pod.name);
  if (!pod.namespace_.empty()) put(w, "namespace", pod.namespace_);
  if (!pod.uid.empty()) put(w, "uid", pod.uid);
  write_annotations(w, meta, at);
  w.EndObject();
}

// ---- spec --------------------------------------------------------------------------------------

void write_mounts(JsonWriter& w, const Value& container, const Path& at) {
  const Value* mounts = array_member(container, "volumeMounts", at);
  if (!mounts || mounts->Empty()) return;
  util::write_key(w, "volumeMounts");
  w.StartArray();
  for_each_object(container, "volumeMounts", at, [&](const Value& mount, const Path& mountAt) {
    w.StartObject();
    copy_string(w, mount, "name", mountAt);
    copy_string(w, mount, "mountPath", mountAt);
    w.EndObject();
  });
  w.EndArray();
}

// Only the ports that bind the node's (hostPort set and not 0): what the host-ports check reads.
void write_host_ports(JsonWriter& w, const Value& container, const Path& at) {
  bool open = false;
  for_each_object(container, "ports", at, [&](const Value& port, const Path& portAt) {
    const auto hostPort = int_member(port, "hostPort", portAt);
    const auto containerPort = int_member(port, "containerPort", portAt);
    const auto protocol = string_member(port, "protocol", portAt);
    if (!hostPort || *hostPort == 0) return;
    if (!std::exchange(open, true)) {
      util::write_key(w, "ports");
      w.StartArray();
    }
    w.StartObject();
    util::write_key(w, "hostPort");
    w.Int64(*hostPort);
    if (containerPort) {
      util::write_key(w, "containerPort");
      w.Int64(*containerPort);
    }
    if (protocol) put(w, "protocol", *protocol);
    w.EndObject();
  });
  if (open) w.EndArray();
}

constexpr std::array<std::string_view, 2> kHandlerActions{"httpGet", "tcpSocket"};

// The non-empty hosts of a probe's or lifecycle handler's httpGet and tcpSocket ("": none).
std::array<std::string_view, 2> handler_hosts(const Value& handler, const Path& at) {
  std::array<std::string_view, 2> hosts{};
  for (std::size_t i = 0; i < kHandlerActions.size(); ++i)
    if (const Value* action = object_member(handler, kHandlerActions[i], at))
      hosts[i] = string_member(*action, "host", at / kHandlerActions[i]).value_or("");
  return hosts;
}

// {"httpGet":{"host":...},"tcpSocket":{"host":...}} under `key`, only when a host is set.
void write_handler_hosts(JsonWriter& w, std::string_view key, const std::array<std::string_view, 2>& hosts) {
  if (hosts[0].empty() && hosts[1].empty()) return;
  util::write_key(w, key);
  w.StartObject();
  for (std::size_t i = 0; i < kHandlerActions.size(); ++i) {
    if (hosts[i].empty()) continue;
    util::write_key(w, kHandlerActions[i]);
    w.StartObject();
    put(w, "host", hosts[i]);
    w.EndObject();
  }
  w.EndObject();
}

// The probes and lifecycle handlers, as their hosts alone: what the probe-host check reads (a
// probe aimed at another host reaches it from the node). The rest (paths, ports, commands) is dropped.
void write_probe_hosts(JsonWriter& w, const Value& container, const Path& at) {
  for (std::string_view probe : {"livenessProbe", "readinessProbe", "startupProbe"})
    if (const Value* p = object_member(container, probe, at)) write_handler_hosts(w, probe, handler_hosts(*p, at / probe));
  const Value* lifecycle = object_member(container, "lifecycle", at);
  if (!lifecycle) return;
  const Path lifecycleAt = at / "lifecycle";
  std::array<std::array<std::string_view, 2>, 2> hosts{};
  static constexpr std::array<std::string_view, 2> kHandlers{"postStart", "preStop"};
  for (std::size_t i = 0; i < kHandlers.size(); ++i)
    if (const Value* h = object_member(*lifecycle, kHandlers[i], lifecycleAt))
      hosts[i] = handler_hosts(*h, lifecycleAt / kHandlers[i]);
  const auto any = [](const std::array<std::string_view, 2>& h) { return !h[0].empty() || !h[1].empty(); };
  if (!any(hosts[0]) && !any(hosts[1])) return;
  util::write_key(w, "lifecycle");
  w.StartObject();
  for (std::size_t i = 0; i < kHandlers.size(); ++i) write_handler_hosts(w, kHandlers[i], hosts[i]);
  w.EndObject();
}

void write_containers(JsonWriter& w, const Value& spec, std::string_view list, const Path& at) {
  const Value* items = array_member(spec, list, at);
  if (!items || items->Empty()) return;
  util::write_key(w, list);
  w.StartArray();
  for_each_object(spec, list, at, [&](const Value& c, const Path& cAt) {
    w.StartObject();
    copy_string(w, c, "name", cAt);
    copy_string(w, c, "image", cAt);
    copy_string(w, c, "targetContainerName", cAt);
    write_security_context(w, c, cAt, true);
    write_mounts(w, c, cAt);
    write_host_ports(w, c, cAt);
    write_probe_hosts(w, c, cAt);
    w.EndObject();
  });
  w.EndArray();
}

// One volume: its name, hostPath and image as they are, any other source as its key alone (so a
// volume-type check still sees the type, without the ConfigMap's items or the projected token).
void write_volume(JsonWriter& w, const Value& volume, const Path& at) {
  check_unique_keys(volume, at);
  w.StartObject();
  for (auto it = volume.MemberBegin(); it != volume.MemberEnd(); ++it) {
    const std::string_view key = view(it->name);
    const Value& v = it->value;
    if (v.IsNull()) continue;
    if (key == "name") {
      if (!v.IsString()) wrong_type(at / key, "a string", v);
      put(w, key, view(v));
    } else if (key == "hostPath" || key == "image") {
      if (!v.IsObject()) wrong_type(at / key, "an object", v);
      const Path sourceAt = at / key;
      util::write_key(w, key);
      w.StartObject();
      for (std::string_view field : key == "hostPath" ? std::array<std::string_view, 2>{"path", "type"}
                                                      : std::array<std::string_view, 2>{"reference", "pullPolicy"})
        copy_string(w, v, field, sourceAt);
      w.EndObject();
    } else {
      // Every volume source is an object; the decoder refuses anything else (it lists every key).
      if (!v.IsObject()) wrong_type(at / key, "an object", v);
      util::write_key(w, key);
      w.StartObject();
      w.EndObject();
    }
  }
  w.EndObject();
}

void write_volumes(JsonWriter& w, const Value& spec, const Path& at) {
  const Value* items = array_member(spec, "volumes", at);
  if (!items || items->Empty()) return;
  util::write_key(w, "volumes");
  w.StartArray();
  for_each_object(spec, "volumes", at, [&](const Value& v, const Path& vAt) { write_volume(w, v, vAt); });
  w.EndArray();
}

void write_pull_secrets(JsonWriter& w, const Value& spec, const Path& at) {
  const Value* items = array_member(spec, "imagePullSecrets", at);
  if (!items) return;
  const Path listAt = at / "imagePullSecrets";
  const Path itemAt = listAt / "[]";
  bool open = false;
  for (const Value& item : items->GetArray()) {
    if (item.IsNull()) continue;  // as the decoder does: an entry without a Secret
    if (!item.IsObject()) wrong_type(itemAt, "an object", item);
    const auto name = string_member(item, "name", itemAt);
    if (!name || name->empty()) continue;
    if (!std::exchange(open, true)) {
      util::write_key(w, "imagePullSecrets");
      w.StartArray();
    }
    w.StartObject();
    put(w, "name", *name);
    w.EndObject();
  }
  if (open) w.EndArray();
}

void write_spec(JsonWriter& w, const Value& spec, const Path& at) {
  util::write_key(w, "spec");
  w.StartObject();
  // serviceAccount is the deprecated alias the API still honours when serviceAccountName is empty.
  const auto account = string_member(spec, "serviceAccountName", at);
  const auto legacy = string_member(spec, "serviceAccount", at);
  const std::string_view serviceAccount = account && !account->empty() ? *account : legacy.value_or("");
  if (!serviceAccount.empty()) put(w, "serviceAccountName", serviceAccount);
  for (std::string_view flag : {"shareProcessNamespace", "hostNetwork", "hostPID", "hostIPC", "hostUsers"})
    copy_bool(w, spec, flag, at);
  if (const Value* os = object_member(spec, "os", at)) {
    util::write_key(w, "os");
    w.StartObject();
    copy_string(w, *os, "name", at / "os");
    w.EndObject();
  }
  write_security_context(w, spec, at, false);
  write_pull_secrets(w, spec, at);
  for (std::string_view list : {"initContainers", "containers", "ephemeralContainers"})
    write_containers(w, spec, list, at);
  write_volumes(w, spec, at);
  w.EndObject();
}

// ---- status ------------------------------------------------------------------------------------

bool is_lower_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// The manifest digest in an imageID: what follows its last '@', when that is sha256 and well formed.
std::string digest_of_image_id(std::string_view imageID) {
  const auto at = imageID.rfind('@');
  if (at == std::string_view::npos) return {};
  const std::string_view digest = imageID.substr(at + 1);
  constexpr std::string_view kPrefix = "sha256:";
  if (digest.size() != kPrefix.size() + 64 || !digest.starts_with(kPrefix)) return {};
  if (!std::all_of(digest.begin() + kPrefix.size(), digest.end(), is_lower_hex)) return {};
  return std::string(digest);
}

void read_status(const Value& root, const Path& at, PodProjection& pod) {
  const Value* status = object_member(root, "status", at);
  if (!status) return;
  const Path statusAt = at / "status";
  pod.phase = string_member(*status, "phase", statusAt).value_or("");
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 3> kLists{{
      {"initContainerStatuses", "initContainers"},
      {"containerStatuses", "containers"},
      {"ephemeralContainerStatuses", "ephemeralContainers"},
  }};
  std::size_t total = 0;
  for (const auto& lists : kLists)
    if (const Value* a = array_member(*status, lists.first, statusAt)) total += a->Size();
  pod.statuses.reserve(total);
  for (const auto& lists : kLists) {
    for_each_object(*status, lists.first, statusAt, [&](const Value& s, const Path& sAt) {
      ContainerStatus cs;
      cs.list = std::string(lists.second);
      cs.name = std::string(string_member(s, "name", sAt).value_or(""));
      cs.image = std::string(string_member(s, "image", sAt).value_or(""));
      cs.digest = digest_of_image_id(string_member(s, "imageID", sAt).value_or(""));
      pod.statuses.push_back(std::move(cs));
    });
  }
}

// What the heap holds for a string: nothing within the small-string buffer, else its capacity, the
// terminator and the allocator's header (as lib/scan's estimated_bytes counts them).
std::size_t heap_bytes(std::size_t capacity) { return capacity > 15 ? capacity + 1 + 16 : 0; }
std::size_t heap_bytes(const std::string& s) { return heap_bytes(s.capacity()); }

// What one cached Pod costs: the make_shared block (the projection, its counts, a header), every
// string's heap, the statuses' array, and its map node (the key string, the shared_ptr, the next
// pointer and cached hash, a header) with its bucket slot.
std::size_t estimated_bytes(const PodProjection& p) {
  std::size_t bytes = sizeof(PodProjection) + 16 + 16;
  bytes += 32 + 16 + 16 + 16 + 8 + heap_bytes(p.namespace_.size() + 1 + p.name.size());
  for (const std::string* s : {&p.namespace_, &p.name, &p.uid, &p.phase, &p.object, &p.owner.apiVersion,
                               &p.owner.kind, &p.owner.name, &p.owner.uid})
    bytes += heap_bytes(*s);
  if (p.statuses.capacity() > 0) bytes += p.statuses.capacity() * sizeof(ContainerStatus) + 16;
  for (const ContainerStatus& s : p.statuses)
    bytes += heap_bytes(s.list) + heap_bytes(s.name) + heap_bytes(s.image) + heap_bytes(s.digest);
  return bytes;
}

// The projection, or nullopt for a Pod that no longer runs. Refuses (Refusal) what is not a Pod.
std::optional<PodProjection> project(const Value& root) {
  const Path top;
  if (!root.IsObject()) wrong_type(Path{nullptr, "the object"}, "an object", root);
  if (auto kind = string_member(root, "kind", top); kind && *kind != "Pod") refuse(top / "kind", "not a Pod");
  const Value* meta = object_member(root, "metadata", top);
  const Path metaAt = top / "metadata";
  const auto name = meta ? string_member(*meta, "name", metaAt) : std::nullopt;
  if (!name || name->empty()) refuse(metaAt / "name", "missing or empty");

  PodProjection pod;
  pod.name = std::string(*name);
  read_status(root, top, pod);
  if (pod.phase == "Succeeded" || pod.phase == "Failed") return std::nullopt;

  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  put(w, "apiVersion", "v1");
  put(w, "kind", "Pod");
  write_metadata(w, *meta, metaAt, pod);
  // Always a spec, if empty: the decoder judges a Pod without one as carrying no pod spec at all.
  const Value none(rapidjson::kObjectType);
  const Value* spec = object_member(root, "spec", top);
  write_spec(w, spec ? *spec : none, top / "spec");
  w.EndObject();
  pod.object = util::to_string(buffer);
  pod.bytes = estimated_bytes(pod);
  return pod;
}

}  // namespace

std::vector<std::string> PodProjection::running_digests() const {
  std::vector<std::string> out;
  for (const ContainerStatus& s : statuses)
    if (!s.digest.empty() && std::find(out.begin(), out.end(), s.digest) == out.end()) out.push_back(s.digest);
  return out;
}

std::optional<PodProjection> project_pod(std::string_view podJson, std::string* error) {
  if (error) error->clear();
  const auto fail = [&](std::string message) -> std::optional<PodProjection> {
    if (error) *error = "not a readable Pod: " + std::move(message);
    return std::nullopt;
  };
  try {
    rapidjson::Document doc;
    std::string why;
    if (!util::parse_depth_limited(podJson, doc, kMaxDepth, &why)) return fail(why);
    return project(doc);
  } catch (const Refusal& refusal) {
    return fail(refusal.message);
  } catch (const std::bad_alloc&) {
    return fail("out of memory while reading it");
  }
}

std::string to_admission_review(const PodProjection& pod) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  const auto gvk = [&](std::string_view key, std::string_view last, std::string_view value) {
    util::write_key(w, key);
    w.StartObject();
    util::write_members(w, {{"group", ""}, {"version", "v1"}, {last, value}});
    w.EndObject();
  };
  w.StartObject();
  util::write_members(w, {{"apiVersion", "admission.k8s.io/v1"}, {"kind", "AdmissionReview"}});
  util::write_key(w, "request");
  w.StartObject();
  put(w, "uid", pod.uid.empty() ? std::string_view("audit") : std::string_view(pod.uid));
  gvk("kind", "kind", "Pod");
  gvk("resource", "resource", "pods");
  gvk("requestKind", "kind", "Pod");
  gvk("requestResource", "resource", "pods");
  util::write_members(w, {{"name", pod.name}, {"namespace", pod.namespace_}, {"operation", "CREATE"}});
  util::write_key(w, "userInfo");
  w.StartObject();
  w.EndObject();
  util::write_key(w, "object");
  if (pod.object.empty()) w.Null();
  else w.RawValue(pod.object.data(), pod.object.size(), rapidjson::kObjectType);
  util::write_key(w, "oldObject");
  w.Null();
  util::write_key(w, "dryRun");
  w.Bool(false);
  util::write_key(w, "options");
  w.Null();
  w.EndObject();
  w.EndObject();
  return util::to_string(buffer);
}

}  // namespace podgate::audit
