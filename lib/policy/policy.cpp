// The evaluator: which requests are judged, the exemptions that cover a whole request or pod spec,
// UPDATE semantics and modes. It runs the rules on the list (rules.cpp) and knows none of them by
// name; verdict.cpp turns their findings into the answer.
//
// How a request is judged:
// - Only pod-bearing kinds with a pod spec in `object` are judged. DELETE and CONNECT, and kinds
//   or subresources that carry no pod spec, are allowed without judgement (the review pipeline
//   counts them).
// - Namespace and service-account exemptions allow the whole request; image exemptions lift the
//   container rules from matching containers. Every exemption that suppressed something is
//   recorded in the verdict, so it is counted and logged.
// - UPDATE: a violation already present in oldObject (same rule, subject and value) is
//   "preexisting" and only warned about. Pods are always judged at CREATE and their privileged
//   flags and volumes are immutable, so the only way such a violation exists is that the object
//   was admitted before the rules tightened (or before podgate ran). Denying every later update of
//   it (a label change, the finalizer removal that lets deletion finish) would wedge it without
//   making anything safer. What the update introduces (a new ephemeral container, a changed pod
//   template) is judged like a CREATE.
// - dryRun has no influence: a server-side dry run must predict the real answer.

#include "policy/policy.h"

#include <algorithm>
#include <chrono>
#include <optional>

#include "policy/rule_support.h"

namespace podgate::policy {

namespace {

using admission::PodSpec;
using admission::Request;
using config::Action;
using namespace detail;

// The service-account exemption is keyed on the identity the workload will run as (the pod
// spec's serviceAccountName in the request's namespace, "default" when unset), not on who sent
// the request: exemptions.users is the one for requesters. It is weak all the same: anyone who
// may create pods in the namespace may name any of its service accounts (see Scope).
const std::string* exempt_service_account(const config::Exemptions& exemptions, std::string_view ns,
                                          const PodSpec& spec) {
  const std::string_view sa = spec.serviceAccountName.empty() ? std::string_view("default") : spec.serviceAccountName;
  for (const auto& entry : exemptions.serviceAccounts) {
    const std::string_view e(entry);
    if (e.size() == ns.size() + 1 + sa.size() && e.substr(0, ns.size()) == ns && e[ns.size()] == ':' &&
        e.substr(ns.size() + 1) == sa)
      return &entry;
  }
  return nullptr;
}

Scope scope_for(const config::Exemptions& exemptions, const Request& request, const PodSpec& spec) {
  Scope scope;
  scope.serviceAccount = exempt_service_account(exemptions, request.namespace_, spec);
  scope.ephemeralUnexempt = request.subResource == "ephemeralcontainers";
  return scope;
}

// Every rule on the list, on one pod spec.
std::vector<Finding> find_violations(const PodSpecInput& in) {
  std::vector<Finding> findings;
  for (const Rule& rule : all_rules())
    if (rule.podSpec) rule.podSpec(in, findings);
  return findings;
}

// Every rule on the list that judges PersistentVolumes, on one.
std::vector<Finding> find_violations(const RuleSet& rules, const admission::ObjectInfo& pv) {
  std::vector<Finding> findings;
  for (const Rule& rule : all_rules())
    if (rule.persistentVolume) rule.persistentVolume(rules, pv, findings);
  return findings;
}

// On UPDATE a violation is preexisting when oldObject had the same one (rule, subject, value) and
// no container has it now that did not have it then: a new ephemeral container that mounts an
// existing socket volume gains the socket, so that is a new violation.
bool preexisting(const Finding& now, const std::vector<Finding>& before) {
  return std::any_of(before.begin(), before.end(), [&](const Finding& b) {
    const Violation& x = b.violation;
    const Violation& y = now.violation;
    if (x.rule != y.rule || x.control != y.control || x.subject != y.subject || x.value != y.value) return false;
    return std::all_of(now.holders.begin(), now.holders.end(), [&](const std::string& h) {
      return std::find(b.holders.begin(), b.holders.end(), h) != b.holders.end();
    });
  });
}

// DELETE and CONNECT, the status subresource and resources podgate does not judge (the decoder
// decides which, by resource) are allowed without judgement; the review pipeline counts them.
bool judged_at_all(const Request& request) {
  if (request.target == admission::Target::None) return false;
  if (request.operation == admission::Operation::Delete || request.operation == admission::Operation::Connect)
    return false;
  if (request.target == admission::Target::PodSpec && !request.object.podSpec) return false;
  return request.subResource != "status";
}

// Strong exemptions, which a pod creator cannot choose: the namespace and the requesting user.
// The whole request is allowed, and nothing in it is judged.
std::optional<Exemption> strong_exemption(const config::Exemptions& exemptions, const Request& request) {
  const auto& ns = exemptions.namespaces;
  if (std::find(ns.begin(), ns.end(), request.namespace_) != ns.end())
    return Exemption{"namespace", std::string(request.namespace_)};
  const auto& users = exemptions.users;
  if (!request.userInfo.username.empty() &&
      std::find(users.begin(), users.end(), request.userInfo.username) != users.end())
    return Exemption{"user", std::string(request.userInfo.username)};
  return std::nullopt;
}

// The rules on the new object; on UPDATE, each finding that oldObject already had is marked
// preexisting (see the top of this file).
std::vector<Finding> judge_object(const RuleSet& rules, const Request& request, Verdict& verdict,
                                  std::vector<std::string>& notes) {
  std::vector<Finding> findings, before;
  const bool update = request.operation == admission::Operation::Update;
  if (request.target == admission::Target::PersistentVolume) {
    findings = find_violations(rules, request.object);
    if (update) before = find_violations(rules, request.oldObject);
  } else {
    const auto& exemptions = rules.config.exemptions;
    const PodSpec& spec = *request.object.podSpec;
    const Scope scope = scope_for(exemptions, request, spec);
    const ExemptionLog log{&verdict.exemptions, &notes};
    if (scope.serviceAccount) log.add("serviceAccount", *scope.serviceAccount);
    findings = find_violations(PodSpecInput{rules, scope, spec, log, false, &verdict});
    // The old object is judged by the same rules and exemptions: if it ran under an exempt
    // service account, nothing in it counts as preexisting (switching a privileged template away
    // from the exempt account is a new violation).
    if (update && request.oldObject.podSpec && !findings.empty()) {
      const PodSpec& old = *request.oldObject.podSpec;
      const Scope old_scope = scope_for(exemptions, request, old);
      const ExemptionLog unlogged;  // what oldObject's exemptions cover is not this request's news
      before = find_violations(PodSpecInput{rules, old_scope, old, unlogged, true, nullptr});
    }
  }
  for (auto& f : findings) f.violation.preexisting = preexisting(f, before);
  return findings;
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Evaluator::Evaluator(config::Config config) : config_(std::move(config)) {
  // Relative entries are refused by config validation; should one get here it is skipped rather
  // than allowed to match nothing in a confusing way.
  auto add = [](std::vector<std::string>& out, const std::string& path) {
    std::string n = normalize_host_path(path);
    if (!n.empty() && std::find(out.begin(), out.end(), n) == out.end()) out.push_back(std::move(n));
  };
  const auto& rule = config_.rules.runtimeSockets;
  for (const auto& p : rule.paths) add(socketPaths_, p);
  for (const auto& p : rule.extraPaths) add(socketPaths_, p);
  for (const auto& p : rule.allowedHostPaths) add(allowedPaths_, p);
  signatureKeys_ = detail::load_signature_keys(config_.rules.images);
  std::vector<admission::CustomWorkload> custom;
  for (const auto& c : config_.workloads.custom) custom.push_back({c.group, c.kind, c.resource, c.podSpecPath});
  customWorkloads_ = admission::CustomWorkloads(std::move(custom));
}

Verdict Evaluator::evaluate(const Request& request, Route route, const ImageResolutions* resolutions) const {
  Facts facts;
  facts.resolutions = resolutions;
  return evaluate(request, route, facts);
}

Verdict Evaluator::evaluate(const Request& request, Route route, const Facts& facts) const {
  ImagePlan images = plan_images(request);
  if (facts.resolutions) images.resolve(*facts.resolutions);
  return evaluate(request, route, images, facts);
}

Verdict Evaluator::evaluate(const Request& request, Route route, const ImagePlan& images, const Facts& facts) const {
  Verdict verdict;
  verdict.mode = (route == Route::Audit || config_.mode == config::Mode::Audit) ? config::Mode::Audit
                                                                                : config::Mode::Enforce;
  if (!judged_at_all(request)) return verdict;
  if (auto strong = strong_exemption(config_.exemptions, request)) {
    verdict.exemptions.push_back(std::move(*strong));
    conclude(request, {}, {}, verdict);
    return verdict;
  }
  const std::int64_t now = facts.now != 0 ? facts.now : unix_now();
  const RuleSet rules{config_, socketPaths_, allowedPaths_, &images, &facts.scans, now, facts.namespaceStandards};
  std::vector<std::string> notes;
  std::vector<Finding> findings = judge_object(rules, request, verdict, notes);
  conclude(request, std::move(findings), notes, verdict);
  return verdict;
}

ImagePlan Evaluator::plan_images(const Request& request) const {
  ImagePlan plan;
  const auto& rule = config_.rules.images;
  if (rule.action == Action::Off || request.target != admission::Target::PodSpec || !judged_at_all(request)) return plan;
  const auto& exemptions = config_.exemptions;
  if (strong_exemption(exemptions, request)) return plan;
  plan.rule = &rule;
  plan.signatureKeys = &signatureKeys_;
  const RuleSet rules{config_, socketPaths_, allowedPaths_};
  const PodSpec& spec = *request.object.podSpec;
  const Scope scope = scope_for(exemptions, request, spec);
  plan_spec_images(rules, scope, spec, false, plan);
  detail::assign_signature_rules(rule, plan);
  // A new object wholly under its service account's exemption has nothing to judge, so its
  // oldObject is never compared with it (see ImagePlan::images).
  if (scope.serviceAccount && !scope.ephemeralUnexempt) return plan;
  if (request.operation == admission::Operation::Update && request.oldObject.podSpec) {
    const PodSpec& old = *request.oldObject.podSpec;
    plan_spec_images(rules, scope_for(exemptions, request, old), old, true, plan);
    detail::assign_signature_rules(rule, plan);
  }
  return plan;
}

std::vector<image::Reference> Evaluator::images_to_resolve(const Request& request) const {
  return plan_images(request).refs_to_resolve();
}

}  // namespace podgate::policy
