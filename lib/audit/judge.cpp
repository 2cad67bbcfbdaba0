#include "audit/judge.h"

#include <algorithm>
#include <map>
#include <set>

#include "admission/admission.h"
#include "policy/sources.h"
#include "util/json_depth.h"

namespace podgate::audit {

namespace {

// The subject the rules name a container by ("container \"app\""), from a status's list.
std::string subject_of(const ContainerStatus& status) {
  const char* noun = status.list == "initContainers"        ? "init container"
                     : status.list == "ephemeralContainers" ? "ephemeral container"
                                                            : "container";
  return std::string(noun) + " \"" + status.name + "\"";
}

// The container a subject names ("" for a volume or the pod).
std::string container_of(const std::string& subject) {
  if (subject.starts_with("volume ")) return "";
  const auto open = subject.find('"');
  const auto close = subject.rfind('"');
  return open == std::string::npos || close <= open ? std::string() : subject.substr(open + 1, close - open - 1);
}

std::string severity_of(const policy::Violation& violation, const policy::JudgedImage* image) {
  if (violation.rule == "privileged" || violation.rule == "runtimeSockets") return "critical";
  if (violation.rule == "podSecurity") return "high";  // the Pod Security Standards' ways onto the node
  if (violation.rule == "scan" && image) {
    if (image->scan == "malicious") return "critical";
    if (image->scan == "vulnerable") return "high";
  }
  return "medium";
}

std::string category_of(std::string_view rule) {
  if (rule == "podSecurity") return "podgate pod security";
  return rule == "privileged" || rule == "runtimeSockets" ? "podgate node access" : "podgate images";
}

const policy::JudgedImage* image_of(const policy::Verdict& verdict, const std::string& subject) {
  for (const auto& image : verdict.images)
    if (image.subject == subject) return &image;
  return nullptr;
}

// The message without the "Pod NAMESPACE/NAME: " admission puts first. A result is about the
// workload the report is scoped to, and its Pods' identical findings merge into one result (with a
// "pods" count) only when their messages are equal: with the Pod's name in it, a ReplicaSet of 10
// Pods got 10 results and 10 Events for one malicious image.
std::string workload_message(const std::string& message, const PodProjection& pod) {
  const std::string prefix = "Pod " + pod.namespace_ + "/" + pod.name + ": ";
  return message.starts_with(prefix) ? message.substr(prefix.size()) : message;
}

ReportResult result_of(const policy::Violation& v, const policy::Verdict& verdict, const PodProjection& pod,
                       std::int64_t now) {
  const policy::JudgedImage* image = image_of(verdict, v.subject);
  ReportResult r;
  r.rule = v.rule;
  r.container = container_of(v.subject);
  r.result = v.action == config::Action::Deny ? "fail" : "warn";
  r.severity = severity_of(v, image);
  r.category = category_of(v.rule);
  r.message = workload_message(v.message, pod);
  r.timestamp = now;
  if (!v.fieldPath.empty()) r.properties.emplace_back("field", v.fieldPath);
  if (!v.value.empty()) r.properties.emplace_back("value", v.value);
  if (!v.control.empty()) r.properties.emplace_back("control", v.control);
  if (v.subject.starts_with("volume ")) r.properties.emplace_back("volume", container_of(v.subject.substr(7)));
  if (image) {
    r.properties.emplace_back("image", image->image);
    if (!image->digest.empty()) r.properties.emplace_back("digest", image->digest);
    if (!image->scan.empty()) r.properties.emplace_back("scan", image->scan);
  }
  return r;
}

// The rules a config turns on, in report order; the signature rule only when signatures are
// looked up (`signatures`), so no pass is claimed for what was not checked.
std::vector<std::string> rules_on(const config::Config& config, bool signatures) {
  std::vector<std::string> rules;
  if (config.rules.privileged.action != config::Action::Off) rules.emplace_back("privileged");
  if (config.rules.runtimeSockets.action != config::Action::Off) rules.emplace_back("runtimeSockets");
  if (config.rules.podSecurity.level != config::PodSecurityLevel::Privileged) rules.emplace_back("podSecurity");
  if (config.rules.images.action != config::Action::Off) {
    rules.emplace_back("images");
    if (config.rules.images.scan.action != config::Action::Off) rules.emplace_back("scan");
    if (signatures && !config.rules.images.signatures.empty()) rules.emplace_back("signatures");
  }
  return rules;
}

// What the kubelet reports, by the subject the rules use.
std::unordered_map<std::string, std::string> running_by_subject(const PodProjection& pod) {
  std::unordered_map<std::string, std::string> running;
  for (const ContainerStatus& status : pod.statuses)
    if (!status.digest.empty()) running.emplace(subject_of(status), status.digest);
  return running;
}

// The running digest of each reference that has one: what runs is judged, not what the tag
// points at now, and the registry is not asked. The digest cache's entry is used when it names the
// running digest (or has it as an index child): it carries the children scans may be recorded under.
policy::ImageResolutions running_resolutions(const policy::ImagePlan& plan, registry::DigestCache* images,
                                             const std::unordered_map<std::string, std::string>& running) {
  policy::ImageResolutions resolutions;
  for (const policy::PlannedImage& image : plan.images) {
    if (image.old || !image.parsed.reference || !image.needs_registry()) continue;
    const auto it = running.find(image.subject);
    if (it == running.end()) continue;
    const std::string ref = image.parsed.reference->canonical();
    if (resolutions.contains(ref)) continue;
    if (const auto cached = images ? images->peek(*image.parsed.reference) : nullptr; cached && cached->ok()) {
      const bool names = cached->digest == it->second ||
                         std::any_of(cached->children.begin(), cached->children.end(),
                                     [&](const auto& c) { return c.digest == it->second; });
      if (names) {
        resolutions.emplace(ref, cached);
        continue;
      }
    }
    auto resolution = std::make_shared<registry::Resolution>();
    resolution->digest = it->second;
    resolutions.emplace(ref, std::move(resolution));
  }
  return resolutions;
}

policy::Verdict evaluate_running(const JudgeInputs& in, const admission::Request& request, const PodProjection& pod,
                                 std::vector<std::string>& digests) {
  policy::ImagePlan plan = in.evaluator->plan_images(request);
  policy::ImageResolutions resolutions = running_resolutions(plan, in.images, running_by_subject(pod));
  // Images nothing runs yet (a Pending Pod, an image volume) are resolved as admission would.
  std::vector<image::Reference> unknown;
  for (image::Reference& ref : plan.refs_to_resolve())
    if (!resolutions.contains(ref.canonical())) unknown.push_back(std::move(ref));
  const auto deadline = std::chrono::steady_clock::now() + in.resolveTimeout;
  for (auto& [ref, resolution] : policy::resolve_images(in.images, unknown, deadline)) resolutions.emplace(ref, std::move(resolution));
  plan.resolve(resolutions);
  // Signatures of the digests that run, when rules.images.signatures names them (cached by the
  // verifier admission uses, so a signed image costs no lookup).
  if (in.signatures) policy::verify_signatures(in.signatures, plan, deadline);
  policy::ScanRecordMap records;
  policy::Facts facts;
  digests = plan.digests_to_scan();
  if (in.scans) {
    for (const std::string& digest : digests) records.emplace(digest, in.scans->lookup(digest));
    facts.scans = policy::lookup_in(records);
  }
  policy::NamespaceLookup labels;  // not counted: the lookup counter is admission's
  if (in.namespaces && in.evaluator->config().rules.podSecurity.namespaceLabels) {
    labels = in.namespaces->lookup(request.namespace_, false);
    facts.namespaceStandards = labels.standards.get();
  }
  return in.evaluator->evaluate(request, policy::Route::Validate, plan, facts);
}

// A running digest that is not the one admission judged: the tag moved between admission and pull.
void add_drift(const JudgeInputs& in, const PodProjection& pod, std::int64_t now, PodFindings& out) {
  if (!in.ledger) return;
  const auto admitted = in.ledger->pod(pod.uid);
  if (!admitted) return;
  const auto running = running_by_subject(pod);
  for (const policy::AdmittedImage& image : *admitted) {
    const auto it = running.find(image.subject);
    if (it == running.end() || it->second == image.digest) continue;
    ReportResult r;
    r.rule = std::string(kRuleImageDrift);
    r.container = container_of(image.subject);
    r.result = "fail";
    r.severity = "high";
    r.category = category_of(r.rule);
    r.message = image.subject + " runs " + it->second + ", but podgate admitted " + image.image + " as " + image.digest +
                ": the tag moved between admission and pull, so what runs was not what was judged (it is judged "
                "above as it runs). Pin the image by digest (image@sha256:...).";
    r.timestamp = now;
    r.properties = {{"image", image.image}, {"admittedDigest", image.digest}, {"digest", it->second}};
    out.results.push_back(std::move(r));
    out.violations.emplace_back(std::string(kRuleImageDrift), "deny");
    out.digests.push_back(it->second);
  }
}

void add_passes(const config::Config& config, bool signatures, std::int64_t now, PodFindings& out) {
  for (const std::string& rule : rules_on(config, signatures)) {
    const bool violated = std::any_of(out.results.begin(), out.results.end(), [&](const ReportResult& r) { return r.rule == rule; });
    if (violated) continue;
    ReportResult r;
    r.rule = rule;
    r.result = "pass";
    r.category = category_of(rule);
    r.message = "no violation of " + rule;
    r.timestamp = now;
    out.results.push_back(std::move(r));
  }
}

}  // namespace

PodFindings judge_pod(const JudgeInputs& in, const PodProjection& pod, std::int64_t now) {
  PodFindings out;
  out.key = pod.namespace_ + "/" + pod.name;
  out.uid = pod.uid;
  admission::DecodeResult decoded = admission::decode(to_admission_review(pod));
  if (!decoded || !in.evaluator) {
    ReportResult r;
    r.rule = "audit";
    r.result = "error";
    r.message = decoded ? "no rules loaded" : "podgate could not read this Pod: " + decoded.error->message;
    r.timestamp = now;
    out.results.push_back(std::move(r));
    out.verdict = "fail";
    return out;
  }
  const admission::Request& request = decoded.review->request();
  const policy::Verdict verdict = evaluate_running(in, request, pod, out.digests);
  for (const policy::Violation& v : verdict.violations) {
    out.results.push_back(result_of(v, verdict, pod, now));
    out.violations.emplace_back(v.rule, config::to_string(v.action));
  }
  for (const policy::JudgedImage& image : verdict.images)
    if (!image.scan.empty()) out.scans.push_back(image.scan);
  add_drift(in, pod, now, out);
  add_passes(in.evaluator->config(), in.signatures != nullptr, now, out);
  std::sort(out.digests.begin(), out.digests.end());
  out.digests.erase(std::unique(out.digests.begin(), out.digests.end()), out.digests.end());
  out.verdict = verdict_of(out.results);
  return out;
}

std::string verdict_of(const std::vector<ReportResult>& results) {
  std::string verdict = "pass";
  for (const ReportResult& r : results) {
    if (r.result == "fail" || r.result == "error") return "fail";
    if (r.result == "warn") verdict = "warn";
  }
  return verdict;
}

namespace {

// Results identical but for the Pod they came from are one result of the workload.
std::string identity_of(const ReportResult& r) { return r.rule + '\0' + r.container + '\0' + r.result + '\0' + r.message; }

int result_rank(const std::string& result) {
  if (result == "fail" || result == "error") return 0;
  if (result == "warn") return 1;
  return 2;
}

}  // namespace

std::vector<ReportResult> aggregate_results(const std::vector<const PodFindings*>& pods) {
  std::map<std::string, std::pair<ReportResult, int>> merged;
  for (const PodFindings* pod : pods) {
    for (const ReportResult& r : pod->results) {
      auto [entry, added] = merged.try_emplace(identity_of(r), r, 0);
      ++entry->second.second;
    }
  }
  std::vector<ReportResult> results;
  for (auto& [identity, entry] : merged) {
    entry.first.properties.emplace_back("pods", std::to_string(entry.second));
    results.push_back(std::move(entry.first));
  }
  std::stable_sort(results.begin(), results.end(),
                   [](const ReportResult& a, const ReportResult& b) { return result_rank(a.result) < result_rank(b.result); });
  return results;
}

// ---- owners ------------------------------------------------------------------------------------

OwnerResolver::OwnerResolver(kube::Client* client, std::size_t maxEntries) : client_(client), maxEntries_(maxEntries) {}

namespace {

// A name that may go into a URL path: an object name's characters (a DNS subdomain's) only.
bool is_object_name(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.'; });
}

// The object an intermediate owner is read from, or "" for kinds podgate does not walk up.
std::string owner_path(const std::string& namespace_, const OwnerRef& owner) {
  if (!is_object_name(namespace_) || !is_object_name(owner.name)) return "";
  if (owner.kind == "ReplicaSet" && owner.apiVersion == "apps/v1")
    return "/apis/apps/v1/namespaces/" + namespace_ + "/replicasets/" + owner.name;
  if (owner.kind == "Job" && owner.apiVersion == "batch/v1") return "/apis/batch/v1/namespaces/" + namespace_ + "/jobs/" + owner.name;
  return "";
}

// The controller ownerReference of an object (JSON), if any.
OwnerRef controller_in(const std::string& json, const std::string& expectedUid) {
  rapidjson::Document doc;
  if (!util::parse_depth_limited(json, doc, 100) || !doc.IsObject()) return {};
  const auto meta = doc.FindMember("metadata");
  if (meta == doc.MemberEnd() || !meta->value.IsObject()) return {};
  const auto uid = meta->value.FindMember("uid");
  if (uid == meta->value.MemberEnd() || !uid->value.IsString() || expectedUid != uid->value.GetString()) return {};
  const auto refs = meta->value.FindMember("ownerReferences");
  if (refs == meta->value.MemberEnd() || !refs->value.IsArray()) return {};
  for (const auto& ref : refs->value.GetArray()) {
    if (!ref.IsObject()) continue;
    const auto controller = ref.FindMember("controller");
    if (controller == ref.MemberEnd() || !controller->value.IsBool() || !controller->value.GetBool()) continue;
    OwnerRef out;
    const auto text = [&](const char* key) {
      const auto m = ref.FindMember(key);
      return m != ref.MemberEnd() && m->value.IsString() ? std::string(m->value.GetString(), m->value.GetStringLength()) : "";
    };
    out.apiVersion = text("apiVersion");
    out.kind = text("kind");
    out.name = text("name");
    out.uid = text("uid");
    if (!out.kind.empty() && !out.name.empty() && !out.uid.empty()) return out;
  }
  return {};
}

}  // namespace

OwnerRef OwnerResolver::controller_of(const std::string& namespace_, const OwnerRef& child) {
  const std::string path = owner_path(namespace_, child);
  if (path.empty() || !client_) return {};
  const auto now = std::chrono::steady_clock::now();
  {
    const std::lock_guard lock(mutex_);
    const auto it = cache_.find(child.uid);
    if (it != cache_.end() && it->second.expires > now) return it->second.owner;
  }
  const kube::Response response = client_->get(child.kind == "Job" ? "jobs" : "replicasets", path);
  // An intermediate that cannot be read (gone, or not allowed) leaves the report on it: still
  // the right workload to name, one level lower.
  const OwnerRef owner = response.status == 200 ? controller_in(response.body, child.uid) : OwnerRef{};
  const std::lock_guard lock(mutex_);
  if (cache_.size() >= maxEntries_) cache_.clear();  // rare: a clean restart beats an LRU here
  cache_[child.uid] = {owner, now + std::chrono::minutes(10)};
  return owner;
}

WorkloadRef OwnerResolver::resolve(const PodProjection& pod) {
  OwnerRef owner = pod.owner;
  if (owner.kind.empty()) return {"v1", "Pod", pod.namespace_, pod.name, pod.uid};
  const OwnerRef parent = controller_of(pod.namespace_, owner);
  if (!parent.kind.empty()) owner = parent;
  return {owner.apiVersion, owner.kind, pod.namespace_, owner.name, owner.uid};
}

}  // namespace podgate::audit
