// AdmissionReview decoding (in situ, RapidJSON) and pod spec extraction.
//
// Type policy: the kube-apiserver validates objects against their schema before validating
// webhooks run, so a field of the wrong JSON type only reaches podgate from `podgate check`, from
// a hand-written review or from a fuzzer. Every field podgate judges (and every object or list on
// the way to it) must therefore have its schema type, or be null/absent (which Kubernetes reads as
// unset); anything else is a DecodeError naming the field. Skipping a mistyped container list, or
// reading `privileged: "true"` as false, would be a bypass; refusing is fail-closed.
//
// Duplicate keys are refused for the same reason: RapidJSON keeps every member while other JSON
// readers keep the last one, so `{"containers":[clean],"containers":[privileged]}` could show
// podgate one list and the cluster another.

#include "admission/admission.h"
#include "util/json.h"
#include "admission/decode_util.h"
#include "admission/insitu_parse.h"
#include "admission/pod_security_fields.h"
#include "admission/resources.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>

namespace podgate::admission {

const char* to_string(Operation op) {
  switch (op) {
    case Operation::Create: return "CREATE";
    case Operation::Update: return "UPDATE";
    case Operation::Delete: return "DELETE";
    case Operation::Connect: return "CONNECT";
    case Operation::Unknown: break;
  }
  return "UNKNOWN";
}

const char* field_name(ContainerList list) {
  switch (list) {
    case ContainerList::Init: return "initContainers";
    case ContainerList::Regular: return "containers";
    case ContainerList::Ephemeral: return "ephemeralContainers";
  }
  return "containers";
}

namespace {

using detail::check_array;
using detail::check_object;
using detail::classify;
using detail::Failure;
using detail::Members;
using detail::Path;
using detail::read_bool;
using detail::read_string;
using detail::Value;
using detail::view;
using detail::wrong_type;
using detail::SpecPath;

constexpr std::string_view kApiVersion = "admission.k8s.io/v1";
constexpr std::string_view kReviewKind = "AdmissionReview";

// A value from the request, quoted for an error message: bounded and on one line.
std::string quoted(std::string_view s) {
  constexpr std::size_t kMax = 64;
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size() && i < kMax; ++i) {
    const char c = s[i];
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      out += '?';
    } else {
      out += c;
    }
  }
  if (s.size() > kMax) out += "...";
  out += '"';
  return out;
}

constexpr std::array<std::string_view, 10> kContainerKeys{
    "name",  "image",         "securityContext", "volumeMounts",   "targetContainerName",
    "ports", "livenessProbe", "readinessProbe",  "startupProbe",   "lifecycle"};
constexpr std::array<std::string_view, 1> kNameKeys{"name"};

bool read_containers(const Value* list, ContainerList kind, const Path& path, PodSpec& spec, Failure& failure) {
  if (!check_array(list, path, failure)) return false;
  if (!list) return true;
  std::size_t i = 0;
  for (const Value item : list->elements()) {
    const Path itemPath = path.element(i);
    if (!item.is_object()) return wrong_type(itemPath, "an object", item, failure);
    Members<10> m(kContainerKeys);
    if (!m.scan(item, itemPath, failure)) return false;

    Container c;
    c.list = kind;
    c.index = i;
    if (!read_string(m[0], itemPath.member("name"), c.name, failure)) return false;
    if (!read_string(m[1], itemPath.member("image"), c.image, failure)) return false;
    if (!read_string(m[4], itemPath.member("targetContainerName"), c.targetContainerName, failure)) return false;

    if (!detail::read_container_security_context(m[2], itemPath.member("securityContext"), c, failure)) return false;
    if (!detail::read_host_ports(m[5], itemPath.member("ports"), c.security, failure)) return false;
    if (!detail::read_probe_hosts({m[6], m[7], m[8], m[9]}, itemPath, c.security, failure)) return false;

    const Path mountsPath = itemPath.member("volumeMounts");
    if (!check_array(m[3], mountsPath, failure)) return false;
    if (m[3]) {
      c.volumeMounts.reserve(m[3]->size());
      std::size_t j = 0;
      for (const Value mount : m[3]->elements()) {
        const Path mountPath = mountsPath.element(j++);
        if (!mount.is_object()) return wrong_type(mountPath, "an object", mount, failure);
        Members<1> mm(kNameKeys);
        if (!mm.scan(mount, mountPath, failure)) return false;
        std::string_view name;
        if (!read_string(mm[0], mountPath.member("name"), name, failure)) return false;
        c.volumeMounts.push_back(name);
      }
    }
    spec.containers.push_back(std::move(c));
    ++i;
  }
  return true;
}

constexpr std::array<std::string_view, 3> kVolumeKeys{"name", "hostPath", "image"};
constexpr std::array<std::string_view, 2> kHostPathKeys{"path", "type"};
constexpr std::array<std::string_view, 1> kImageVolumeKeys{"reference"};

bool read_volumes(const Value* list, const Path& path, PodSpec& spec, Failure& failure) {
  if (!check_array(list, path, failure)) return false;
  if (!list) return true;
  spec.volumes.reserve(list->size());
  std::size_t i = 0;
  for (const Value item : list->elements()) {
    const Path itemPath = path.element(i);
    if (!item.is_object()) return wrong_type(itemPath, "an object", item, failure);
    Members<3> m(kVolumeKeys);
    if (!m.scan(item, itemPath, failure)) return false;

    Volume vol;
    vol.index = i;
    if (!read_string(m[0], itemPath.member("name"), vol.name, failure)) return false;
    if (!detail::read_volume_sources(item, itemPath, vol, failure)) return false;

    const Path hpPath = itemPath.member("hostPath");
    if (!check_object(m[1], hpPath, failure)) return false;
    if (m[1]) {
      Members<2> hp(kHostPathKeys);
      if (!hp.scan(*m[1], hpPath, failure)) return false;
      HostPathVolume host;
      // A hostPath without a path stays "" and is judged (and refused) as a non-absolute path.
      if (!read_string(hp[0], hpPath.member("path"), host.path, failure)) return false;
      if (!read_string(hp[1], hpPath.member("type"), host.type, failure)) return false;
      vol.hostPath = host;
    }

    const Path imgPath = itemPath.member("image");
    if (!check_object(m[2], imgPath, failure)) return false;
    if (m[2]) {
      Members<1> img(kImageVolumeKeys);
      if (!img.scan(*m[2], imgPath, failure)) return false;
      std::string_view reference;
      if (!read_string(img[0], imgPath.member("reference"), reference, failure)) return false;
      vol.imageReference = reference;
    }
    spec.volumes.push_back(std::move(vol));
    ++i;
  }
  return true;
}

constexpr std::array<std::string_view, 14> kPodSpecKeys{
    "initContainers", "containers", "ephemeralContainers", "volumes", "serviceAccountName", "serviceAccount",
    "securityContext", "shareProcessNamespace", "imagePullSecrets", "hostNetwork", "hostPID", "hostIPC",
    "hostUsers", "os"};

// imagePullSecrets: [{"name": "..."}]; the names only (what the image rules resolve with).
bool read_pull_secrets(const Value* list, const Path& path, PodSpec& spec, Failure& failure) {
  if (!check_array(list, path, failure)) return false;
  if (!list) return true;
  std::size_t i = 0;
  for (const Value item : list->elements()) {
    const Path itemPath = path.element(i++);
    if (item.is_null()) continue;
    if (!item.is_object()) return wrong_type(itemPath, "an object", item, failure);
    Members<1> m(kNameKeys);
    if (!m.scan(item, itemPath, failure)) return false;
    std::string_view name;
    if (!read_string(m[0], itemPath.member("name"), name, failure)) return false;
    if (!name.empty()) spec.imagePullSecrets.push_back(name);
  }
  return true;
}

// `object` holds the pod spec; `metadata` (null: none) is the pod's, whose annotations the
// standards read: the Pod's own, or its template's in a workload.
bool read_pod_spec(const Value& object, const Path& path, const Value* metadata, const Path& metaPath, PodSpec& spec,
                   Failure& failure) {
  Members<14> m(kPodSpecKeys);
  if (!m.scan(object, path, failure)) return false;

  std::size_t total = 0;
  for (std::size_t i = 0; i < 3; ++i)
    if (m[i] && m[i]->is_array()) total += m[i]->size();
  spec.containers.reserve(total);

  if (!read_containers(m[0], ContainerList::Init, path.member(kPodSpecKeys[0]), spec, failure)) return false;
  if (!read_containers(m[1], ContainerList::Regular, path.member(kPodSpecKeys[1]), spec, failure)) return false;
  if (!read_containers(m[2], ContainerList::Ephemeral, path.member(kPodSpecKeys[2]), spec, failure)) return false;
  if (!read_volumes(m[3], path.member(kPodSpecKeys[3]), spec, failure)) return false;
  if (!read_string(m[4], path.member(kPodSpecKeys[4]), spec.serviceAccountName, failure)) return false;
  // `serviceAccount` is the deprecated alias the API still honours when serviceAccountName is
  // empty; a manifest given to `podgate check` may use it alone.
  std::string_view deprecatedServiceAccount;
  if (!read_string(m[5], path.member(kPodSpecKeys[5]), deprecatedServiceAccount, failure)) return false;
  if (spec.serviceAccountName.empty()) spec.serviceAccountName = deprecatedServiceAccount;
  if (!detail::read_pod_security_context(m[6], path.member(kPodSpecKeys[6]), spec, failure)) return false;
  std::optional<bool> shared;
  if (!read_bool(m[7], path.member(kPodSpecKeys[7]), shared, failure)) return false;
  spec.shareProcessNamespace = shared.value_or(false);
  if (!read_pull_secrets(m[8], path.member(kPodSpecKeys[8]), spec, failure)) return false;
  PodSecurity& security = spec.security;
  if (!read_bool(m[9], path.member(kPodSpecKeys[9]), security.hostNetwork, failure)) return false;
  if (!read_bool(m[10], path.member(kPodSpecKeys[10]), security.hostPID, failure)) return false;
  if (!read_bool(m[11], path.member(kPodSpecKeys[11]), security.hostIPC, failure)) return false;
  if (!read_bool(m[12], path.member(kPodSpecKeys[12]), security.hostUsers, failure)) return false;
  if (!detail::read_os(m[13], path.member(kPodSpecKeys[13]), security, failure)) return false;
  return detail::read_pod_annotations(metadata, metaPath, security, failure);
}

constexpr std::array<std::string_view, 3> kObjectNameKeys{"name", "generateName", "uid"};
constexpr std::array<std::string_view, 3> kObjectKeys{"metadata", "spec", "ephemeralContainers"};

constexpr std::array<std::string_view, 2> kPersistentVolumeSourceKeys{"hostPath", "local"};
constexpr std::array<std::string_view, 1> kPathKeys{"path"};

// A PersistentVolume's node paths: spec.hostPath.path and spec.local.path (the two sources that
// bind-mount a directory of the node into whatever Pod claims the volume).
bool read_persistent_volume(const Value* spec, const Path& specPath, ObjectInfo& info, Failure& failure) {
  if (!check_object(spec, specPath, failure)) return false;
  if (!spec) return true;
  Members<2> sources(kPersistentVolumeSourceKeys);
  if (!sources.scan(*spec, specPath, failure)) return false;
  static constexpr std::array<std::string_view, 2> kFields{"spec.hostPath.path", "spec.local.path"};
  for (std::size_t i = 0; i < 2; ++i) {
    const Path sourcePath = specPath.member(kPersistentVolumeSourceKeys[i]);
    if (!check_object(sources[i], sourcePath, failure)) return false;
    if (!sources[i]) continue;
    Members<1> p(kPathKeys);
    if (!p.scan(*sources[i], sourcePath, failure)) return false;
    PersistentVolumePath nodePath{kFields[i], {}};
    // A source without a path stays "" and is judged (and refused) as a non-absolute path.
    if (!read_string(p[0], sourcePath.member("path"), nodePath.path, failure)) return false;
    info.nodePaths.push_back(nodePath);
  }
  return true;
}

// Fills `info` from request.object or request.oldObject (`value` is null when absent). `where` is
// where the judged resource keeps its pod spec (depth 0: none); `kind` tells the legacy
// EphemeralContainers object apart.
// `whole` names the object itself ("request.object"); `path` is the root of its fields' paths.
bool read_object(const Value* value, Target target, const SpecPath& where, std::string_view kind, const Path& whole,
                 const Path& path, ObjectInfo& info, Failure& failure) {
  if (!value) return true;
  if (!value->is_object()) return wrong_type(whole, "an object or null", *value, failure);

  Members<3> top(kObjectKeys);
  if (!top.scan(*value, path, failure)) return false;

  const Path metaPath = path.member("metadata");
  if (!check_object(top[0], metaPath, failure)) return false;
  if (top[0]) {
    Members<3> meta(kObjectNameKeys);
    if (!meta.scan(*top[0], metaPath, failure)) return false;
    std::string_view name, generateName;
    if (!read_string(meta[0], metaPath.member("name"), name, failure)) return false;
    if (!read_string(meta[1], metaPath.member("generateName"), generateName, failure)) return false;
    if (!read_string(meta[2], metaPath.member("uid"), info.uid, failure)) return false;
    info.name = name.empty() ? generateName : name;
  }

  if (target == Target::PersistentVolume) return read_persistent_volume(top[1], path.member("spec"), info, failure);
  if (target != Target::PodSpec || where.depth == 0) return true;

  // Older apiservers sent kind EphemeralContainers with an object that holds the list at the top
  // level (no spec); newer ones send the whole Pod. An object with both is refused: podgate could
  // not tell which one the cluster will use.
  if (kind == "EphemeralContainers" && top[2]) {
    if (top[1]) {
      failure.message = whole.render() + ": has both spec and ephemeralContainers; cannot tell which holds the pod spec";
      return false;
    }
    PodSpec spec;
    if (!read_pod_spec(*value, path, top[0], metaPath, spec, failure)) return false;
    info.podSpec = std::move(spec);
    return true;
  }

  // Values are copied out of each step's Members (whose pointers point into itself).
  Value cur = *value;
  Path steps[detail::kMaxSpecSteps];
  const Path* parent = &path;
  // The pod's metadata is the sibling of its spec: the object's own for a Pod, the template's
  // (spec.template.metadata, ...) in a workload.
  std::optional<Value> podMeta;
  Path podMetaPath;
  for (std::size_t i = 0; i < where.depth; ++i) {
    steps[i] = parent->member(where.steps[i]);
    std::optional<Value> next;
    if (i + 1 < where.depth) {
      const std::array<std::string_view, 1> key{where.steps[i]};
      Members<1> m(key);
      if (!m.scan(cur, *parent, failure)) return false;
      if (m[0]) next = *m[0];
    } else {
      const std::array<std::string_view, 2> keys{where.steps[i], "metadata"};
      Members<2> m(keys);
      if (!m.scan(cur, *parent, failure)) return false;
      if (m[0]) next = *m[0];
      if (m[1]) podMeta = *m[1];
      podMetaPath = parent->member("metadata");
    }
    // An absent step means the object carries no containers at all: nothing to judge.
    if (!next) return true;
    if (!next->is_object()) return wrong_type(steps[i], "an object", *next, failure);
    cur = *next;
    parent = &steps[i];
  }
  PodSpec spec;
  spec.fieldPath = where.fieldPath;
  if (!read_pod_spec(cur, *parent, podMeta ? &*podMeta : nullptr, podMetaPath, spec, failure)) return false;
  info.podSpec = std::move(spec);
  return true;
}

Operation parse_operation(std::string_view text) {
  if (text == "CREATE") return Operation::Create;
  if (text == "UPDATE") return Operation::Update;
  if (text == "DELETE") return Operation::Delete;
  if (text == "CONNECT") return Operation::Connect;
  return Operation::Unknown;
}

constexpr std::array<std::string_view, 3> kGvkKeys{"group", "version", "kind"};

bool read_gvk(const Value& v, const Path& path, GroupVersionKind& gvk, Failure& failure) {
  Members<3> m(kGvkKeys);
  if (!m.scan(v, path, failure)) return false;
  return read_string(m[0], path.member("group"), gvk.group, failure) &&
         read_string(m[1], path.member("version"), gvk.version, failure) &&
         read_string(m[2], path.member("kind"), gvk.kind, failure);
}

constexpr std::array<std::string_view, 3> kUserInfoKeys{"username", "uid", "groups"};

bool read_user_info(const Value* v, const Path& path, UserInfo& user, Failure& failure) {
  if (!check_object(v, path, failure)) return false;
  if (!v) return true;
  Members<3> m(kUserInfoKeys);
  if (!m.scan(*v, path, failure)) return false;
  if (!read_string(m[0], path.member("username"), user.username, failure)) return false;
  if (!read_string(m[1], path.member("uid"), user.uid, failure)) return false;
  const Path groupsPath = path.member("groups");
  if (!check_array(m[2], groupsPath, failure)) return false;
  if (m[2]) {
    user.groups.reserve(m[2]->size());
    std::size_t i = 0;
    for (const Value group : m[2]->elements()) {
      if (!group.is_string()) return wrong_type(groupsPath.element(i), "a string", group, failure);
      user.groups.push_back(view(group));
      ++i;
    }
  }
  return true;
}

constexpr std::array<std::string_view, 3> kRootKeys{"apiVersion", "kind", "request"};
constexpr std::array<std::string_view, 12> kRequestKeys{
    "uid", "kind", "requestKind", "resource", "subResource", "name",
    "namespace", "operation", "userInfo", "dryRun", "object", "oldObject"};
constexpr std::array<std::string_view, 2> kResourceKeys{"group", "resource"};

// Checks one of the two fixed root strings (apiVersion, kind).
bool expect_literal(const Value* v, std::string_view key, std::string_view expected, const char* hint,
                    Failure& failure) {
  if (v && v->is_string() && v->string() == expected) return true;
  const std::string want = "expected " + quoted(expected);
  if (!v) {
    failure.message = std::string(key) + ": missing, " + want;
    return false;
  }
  if (!v->is_string()) {
    failure.message = std::string(key) + ": " + want + ", got " + v->type_name();
    return false;
  }
  failure.message = std::string(key) + ": " + want + ", got " + quoted(v->string()) + hint;
  return false;
}

// What the request judges (by resource), then object and oldObject in that shape.
bool read_objects(const Value* object, const Value* oldObject, const Path& reqPath, Request& req,
                  const CustomWorkloads* custom, Failure& failure) {
  SpecPath where;
  if (auto refused = classify(req, custom, where)) {
    failure.message = std::move(*refused);
    return false;
  }
  const bool writes = req.operation == Operation::Create || req.operation == Operation::Update;
  if (req.target != Target::None && writes && !object) {
    // Nothing to judge is not the same as nothing wrong: an empty CREATE is not an allow.
    failure.message = "request.object: missing for " + std::string(req.operationText) + " of " + std::string(req.resource);
    return false;
  }
  // The new object's fields are named as in the manifest ("spec.containers"): that is what the
  // person who wrote it (kubectl apply, podgate check) can find and fix. The old object comes from
  // the cluster's storage, so its fields keep the AdmissionReview's path (request.oldObject.spec...).
  const Path objectPath = reqPath.member("object"), oldObjectPath = reqPath.member("oldObject");
  return read_object(object, req.target, where, req.kind.kind, objectPath, Path{}, req.object, failure) &&
         read_object(oldObject, req.target, where, req.kind.kind, oldObjectPath, oldObjectPath, req.oldObject, failure);
}

bool read_review(const Value& root, Request& req, const CustomWorkloads* custom, Failure& failure) {
  if (!root.is_object()) {
    failure.message = std::string("body: expected a JSON object (an AdmissionReview), got ") + root.type_name();
    return false;
  }
  const Path rootPath;
  Members<3> top(kRootKeys);
  if (!top.scan(root, rootPath, failure)) return false;
  if (!expect_literal(top[0], "apiVersion", kApiVersion,
                      " (podgate speaks only admission.k8s.io/v1; set admissionReviewVersions: [\"v1\"])", failure))
    return false;
  if (!expect_literal(top[1], "kind", kReviewKind, "", failure)) return false;

  const Path reqPath = rootPath.member("request");
  if (!top[2] || !top[2]->is_object()) {
    failure.message = "request: missing or not an object";
    return false;
  }
  const Value& r = *top[2];
  Members<12> m(kRequestKeys);
  if (!m.scan(r, reqPath, failure)) return false;

  if (!m[0] || !m[0]->is_string() || m[0]->string().empty()) {
    failure.message = "request.uid: missing or not a non-empty string";
    return false;
  }
  req.uid = view(*m[0]);

  if (!m[1] || !m[1]->is_object()) {
    failure.message = "request.kind: missing or not an object";
    return false;
  }
  if (!read_gvk(*m[1], reqPath.member("kind"), req.kind, failure)) return false;
  if (req.kind.kind.empty()) {
    failure.message = "request.kind.kind: missing or empty";
    return false;
  }

  req.requestKind = req.kind;
  const Path rkPath = reqPath.member("requestKind");
  if (!check_object(m[2], rkPath, failure)) return false;
  if (m[2] && !read_gvk(*m[2], rkPath, req.requestKind, failure)) return false;

  const Path resPath = reqPath.member("resource");
  if (!check_object(m[3], resPath, failure)) return false;
  if (m[3]) {
    Members<2> res(kResourceKeys);
    if (!res.scan(*m[3], resPath, failure)) return false;
    if (!read_string(res[0], resPath.member("group"), req.resourceGroup, failure)) return false;
    if (!read_string(res[1], resPath.member("resource"), req.resource, failure)) return false;
  }
  if (!read_string(m[4], reqPath.member("subResource"), req.subResource, failure)) return false;
  if (!read_string(m[5], reqPath.member("name"), req.name, failure)) return false;
  if (!read_string(m[6], reqPath.member("namespace"), req.namespace_, failure)) return false;

  if (!m[7] || !m[7]->is_string()) {
    failure.message = "request.operation: missing or not a string";
    return false;
  }
  req.operationText = view(*m[7]);
  req.operation = parse_operation(req.operationText);

  if (!read_user_info(m[8], reqPath.member("userInfo"), req.userInfo, failure)) return false;
  std::optional<bool> dryRun;
  if (!read_bool(m[9], reqPath.member("dryRun"), dryRun, failure)) return false;
  req.dryRun = dryRun.value_or(false);

  return read_objects(m[10], m[11], reqPath, req, custom, failure);
}

}  // namespace

Review::Review() = default;
Review::Review(Review&&) noexcept = default;
Review& Review::operator=(Review&&) noexcept = default;
Review::~Review() = default;

using detail::InsituParse;
using detail::is_ascii;
using detail::kMaxNestingDepth;

// simdjson's parser for this thread: its buffers (about 14 bytes per body byte) are reused by
// the next request on the thread, and kept only up to kRetainedBodyBytes; a larger body gets a
// parser of its own, freed with it, so a rare 3 MiB body does not hold ~40 MiB per thread.
constexpr std::size_t kRetainedBodyBytes = 512 * 1024;

bool allocate_parser(simdjson::dom::parser& parser, std::size_t capacity) {
  return parser.allocate(capacity, kMaxNestingDepth) == simdjson::SUCCESS;
}

struct Decoder {
  static DecodeResult decode(std::string body, const CustomWorkloads* custom) {
    // simdjson reads up to SIMDJSON_PADDING bytes past the end (never using them); the server
    // reserves them with the body, so this copies only bodies from elsewhere (CLI, tests).
    static_assert(kBodyPadding >= simdjson::SIMDJSON_PADDING);
    if (body.capacity() - body.size() < kBodyPadding) body.reserve(body.size() + kBodyPadding);

    Review review;
    review.buffer_ = std::make_unique<std::string>(std::move(body));
    std::string& text = *review.buffer_;

    thread_local simdjson::dom::parser threadParser;
    std::optional<simdjson::dom::parser> ownParser;
    simdjson::dom::parser* parser = text.size() > kRetainedBodyBytes ? &ownParser.emplace() : &threadParser;
    // Sized here, with the depth bound, before its first parse (which would grow it with
    // simdjson's default depth) and whenever the body is larger than it.
    if ((parser->capacity() == 0 || parser->capacity() < text.size()) &&
        !allocate_parser(*parser, std::max<std::size_t>(text.size(), 64 * 1024)))
      throw std::bad_alloc();

    simdjson::dom::element root;
    if (parser->parse(text.data(), text.size(), false).get(root) != simdjson::SUCCESS)
      return decode_rapidjson(std::move(review), custom);
    // The body is not read again: the strings the Request keeps are copied over it.
    detail::KeptStrings kept(text.data(), text.size(), review.keptOverflow_);
    return walk(std::move(review), Value(root, &kept), custom);
  }

  // The request read from either parser's document. `review` is moved from only at the end: the
  // KeptStrings behind a simdjson root refers to its members while the walk runs.
  static DecodeResult walk(Review&& review, const Value& root, const CustomWorkloads* custom) {
    DecodeResult result;
    Failure failure;
    if (!read_review(root, review.request_, custom, failure)) {
      result.error = DecodeError{std::move(failure.message)};
      return result;
    }
    result.review = std::move(review);
    return result;
  }

  static DecodeResult decode_fallback_only(std::string body, const CustomWorkloads* custom) {
    Review review;
    review.buffer_ = std::make_unique<std::string>(std::move(body));
    return decode_rapidjson(std::move(review), custom);
  }

  // A body simdjson refused: RapidJSON decides, so what is accepted, and the error message with
  // its offset, are exactly what they were before simdjson (see json_value.h).
  static DecodeResult decode_rapidjson(Review review, const CustomWorkloads* custom) {
    DecodeResult result;
    // No valid JSON text contains a raw NUL, and it would end RapidJSON's in-situ stream early.
    // (simdjson refuses one wherever it is, so only a body it refused can hold one.)
    const std::string& body = *review.buffer_;
    if (const void* nul = std::memchr(body.data(), '\0', body.size())) {
      const auto offset = static_cast<const char*>(nul) - body.data();
      result.error = DecodeError{"body is not valid JSON: NUL byte at offset " + std::to_string(offset)};
      return result;
    }
    // RapidJSON's UTF-8 validation takes every continuation byte a lead byte announces without
    // looking for the end, and in situ writes them back: a body ending in a truncated sequence
    // ("...\xF1") was read and written up to 3 bytes past the buffer (found by fuzzing). NUL
    // padding keeps that inside the buffer; the sequence is then invalid, a 400 as it should be.
    review.buffer_->append(3, '\0');

    // The DOM of a typical review fits in this stack buffer; larger ones spill to the heap.
    alignas(16) char valueBuffer[16 * 1024];
    rapidjson::MemoryPoolAllocator<> valueAllocator(valueBuffer, sizeof valueBuffer);
    rapidjson::Document doc(&valueAllocator);
    InsituParse parse{review.buffer_->data(), !is_ascii(*review.buffer_), {}};
    doc.Populate(parse);
    if (parse.tooDeep) {
      result.error = DecodeError{"body is not valid JSON: nested deeper than " + std::to_string(kMaxNestingDepth) +
                                 " levels at offset " + std::to_string(parse.result.Offset() - 1)};  // the bracket
      return result;
    }
    if (parse.result.IsError()) {
      std::string reason = rapidjson::GetParseError_En(parse.result.Code());
      if (!reason.empty() && reason.back() == '.') reason.pop_back();
      result.error = DecodeError{"body is not valid JSON: " + reason + " at offset " + std::to_string(parse.result.Offset())};
      return result;
    }

    return walk(std::move(review), Value(doc), custom);
  }
};

namespace {

DecodeResult decode_with(std::string body, const CustomWorkloads* custom) {
  try {
    return Decoder::decode(std::move(body), custom);
  } catch (const std::bad_alloc&) {
    DecodeResult result;
    result.error = DecodeError{"body is too large to decode"};
    return result;
  }
}

}  // namespace

DecodeResult decode(std::string body) { return decode_with(std::move(body), nullptr); }

DecodeResult decode(std::string body, const CustomWorkloads& custom) { return decode_with(std::move(body), &custom); }

DecodeResult detail::decode_with_fallback_parser(std::string body, const CustomWorkloads& custom) {
  return Decoder::decode_fallback_only(std::move(body), &custom);
}

}  // namespace podgate::admission
