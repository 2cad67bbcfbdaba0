// The rules (privileged, runtime sockets), exemptions, UPDATE semantics, modes, and the response
// a verdict becomes.
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

#include "policy/rule_support.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <optional>

namespace podgate::policy {

const char* to_string(Decision d) {
  switch (d) {
    case Decision::Allowed: return "allowed";
    case Decision::Denied: return "denied";
    case Decision::WouldDeny: return "would_deny";
  }
  return "allowed";
}

namespace {

using admission::Container;
using admission::ContainerList;
using admission::PodSpec;
using admission::Request;
using config::Action;
using namespace detail;

constexpr std::string_view kRuleImages = "images";

// The apiserver truncates each warning at 256 characters and all of them at about 4 KiB.
constexpr std::size_t kMaxWarningBytes = 250;
constexpr std::size_t kMaxWarnings = 15;
// Bounds for what one response carries about a pod with very many violations.
constexpr std::size_t kMaxMessageViolations = 20;
constexpr std::size_t kMaxAnnotatedViolations = 20;
constexpr std::size_t kMaxAnnotatedExemptions = 10;

// "Deployment default/web": how messages name the object under review.
std::string describe_object(const Request& request) {
  std::string name(request.object.name.empty() ? request.name : request.object.name);
  std::string out = printable(request.kind.kind);
  out += ' ';
  if (!request.namespace_.empty()) {
    out += printable(request.namespace_);
    out += '/';
  }
  out += name.empty() ? std::string("(unnamed)") : printable(name);
  return out;
}

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

// What the image rules record while judging the new object (null while judging oldObject).
struct ImageLog {
  std::vector<JudgedImage>* judged = nullptr;
  int* failuresDenied = nullptr;
  int* failuresAllowed = nullptr;
};

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// Every image of a pod spec, in spec order.
std::vector<ImageSite> image_sites(const PodSpec& spec) {
  std::vector<ImageSite> sites;
  for (const Container& c : spec.containers)
    sites.push_back(ImageSite{std::string(container_noun(c.list)) + " " + quote(c.name),
                              field_prefix(spec) + admission::field_name(c.list) + "[" + std::to_string(c.index) + "].image",
                              c.image, &c});
  for (const auto& v : spec.volumes)
    if (v.imageReference)
      sites.push_back(ImageSite{"volume " + quote(v.name),
                                field_prefix(spec) + "volumes[" + std::to_string(v.index) + "].image.reference",
                                *v.imageReference, nullptr});
  return sites;
}

std::optional<ExemptionRef> site_exemption(const RuleSet& rules, const Scope& scope, const ImageSite& site) {
  if (site.container) return container_exemption(rules, scope, *site.container);
  if (scope.serviceAccount) return ExemptionRef{"serviceAccount", *scope.serviceAccount};
  if (image_exempt(rules.config.exemptions, site.image)) return ExemptionRef{"image", site.image};
  return std::nullopt;
}

// The checks that need no registry: the reference's form, trust, the block list by name, and
// requireDigest. Returns the finding, or nullopt when the image passes them.
// An image-rule finding about `site`, summary and detail still to be written.
Finding image_finding(const config::ImagesRule& rule, const ImageSite& site) {
  Finding f;
  f.violation.rule = kRuleImages;
  f.violation.action = rule.action;
  f.violation.subject = site.subject;
  f.violation.fieldPath = site.field;
  f.violation.value = std::string(site.image);
  return f;
}

std::optional<Finding> static_image_check(const config::ImagesRule& rule, const ImageSite& site,
                                          const image::ParseResult& parsed) {
  Finding f = image_finding(rule, site);
  if (!parsed) {
    f.summary = site.subject + " has image " + quote(site.image) + " at " + site.field +
                ", which is not a valid image reference (" + parsed.error + ")";
    f.detail = f.summary + "; the kubelet could not pull it either. Correct the image name.";
    return f;
  }
  const image::Reference& ref = *parsed.reference;
  const std::string domain = lowercase(ref.domain);
  const std::string repository = domain + "/" + ref.path;
  if (!rule.trustedRegistries.empty()) {
    const bool trusted = std::any_of(rule.trustedRegistries.begin(), rule.trustedRegistries.end(), [&](const std::string& t) {
      return t.back() == '/' ? (repository + "/").starts_with(t) : domain == t;
    });
    if (!trusted) {
      std::string list;
      for (std::size_t i = 0; i < rule.trustedRegistries.size() && i < 5; ++i) list += (i ? ", " : "") + rule.trustedRegistries[i];
      if (rule.trustedRegistries.size() > 5) list += ", ...";
      f.summary = site.subject + " uses image " + quote(site.image) + " from " + repository + ", which is not a trusted registry";
      f.detail = f.summary + "; only images from " + list +
                 " are admitted (rules.images.trustedRegistries). Copy the image into a trusted registry.";
      return f;
    }
  }
  for (const auto& entry : rule.blocked) {
    const bool hit = entry == repository || (!ref.tag.empty() && entry == repository + ":" + ref.tag) ||
                     (!ref.digest.empty() && (entry == ref.digest || entry == repository + "@" + ref.digest));
    if (hit) {
      f.summary = site.subject + " uses image " + quote(site.image) + ", which is blocked (" + entry + ")";
      f.detail = f.summary + "; it is on the list of known-bad images (rules.images.blocked). Use another image.";
      return f;
    }
  }
  if (rule.requireDigest && ref.digest.empty()) {
    f.summary = site.subject + " uses image " + quote(site.image) + " without a digest";
    f.detail = f.summary + "; rules.images.requireDigest admits only images pinned by digest, because a tag can be "
                           "re-pushed. Use " + repository + "@sha256:<digest> (`podgate resolve` prints it).";
    return f;
  }
  return std::nullopt;
}


void check_images(const RuleSet& rules, const Scope& scope, const PodSpec& spec, const ExemptionLog& exempt,
                  const ImageLog& log, std::vector<Finding>& findings) {
  const auto& rule = rules.config.rules.images;
  if (rule.action == Action::Off) return;
  for (const ImageSite& site : image_sites(spec)) {
    if (const auto by = site_exemption(rules, scope, site)) {
      exempt.add(by->kind, by->value);
      continue;
    }
    const image::ParseResult parsed = image::parse(site.image);
    if (auto f = static_image_check(rule, site, parsed)) {
      // Recorded too (with the digest it was written with, if any): with action warn it is admitted.
      if (log.judged) log.judged->push_back(JudgedImage{site.subject, std::string(site.image), parsed ? parsed.reference->digest : "", "", ""});
      findings.push_back(std::move(*f));
      continue;
    }
    const image::Reference& ref = *parsed.reference;
    const std::string repository = lowercase(ref.domain) + "/" + ref.path;
    std::string digest = ref.digest;
    std::vector<std::string> digests;  // every digest the block list is checked against
    Finding f = image_finding(rule, site);
    if (digest.empty()) {
      std::shared_ptr<const registry::Resolution> r;
      if (rules.resolutions) {
        if (auto it = rules.resolutions->find(ref.canonical()); it != rules.resolutions->end()) r = it->second;
      }
      if (r && r->ok()) {
        digest = r->digest;
        for (const auto& child : r->children) digests.push_back(child.digest);
      } else if (r && r->failure == registry::Failure::NotFound) {
        f.summary = site.subject + " uses image " + quote(site.image) + ", which does not exist (" + r->error + ")";
        f.detail = f.summary + "; check the name and tag: the kubelet could not pull it either.";
        if (log.judged) log.judged->push_back(JudgedImage{site.subject, std::string(site.image), "", "", ""});
        findings.push_back(std::move(f));
        continue;
      } else {
        const std::string why = r ? r->error : std::string("podgate has no registry access here");
        const bool deny = rule.onResolveError == config::OnResolveError::Deny;
        f.summary = "podgate could not resolve image " + quote(site.image) + " of " + site.subject + " to a digest" +
                    (deny ? "" : " (allowed by rules.images.onResolveError: allow)") + ": " + why;
        if (deny) {
          f.detail = f.summary + "; rules.images.onResolveError is deny, so it is refused until the registry answers. "
                                 "Retry, or pin the image by digest.";
          if (log.failuresDenied) ++*log.failuresDenied;
        } else {
          f.violation.action = Action::Warn;  // fail-open, by configuration, and said out loud
          f.detail = f.summary + ".";
          if (log.failuresAllowed) ++*log.failuresAllowed;
        }
        if (log.judged) log.judged->push_back(JudgedImage{site.subject, std::string(site.image), "", "", ""});
        findings.push_back(std::move(f));
        continue;
      }
    }
    JudgedImage judged{site.subject, std::string(site.image), digest, "", ""};
    digests.insert(digests.begin(), digest);
    const std::string* blocked = nullptr;
    for (const auto& d : digests) {
      for (const auto& entry : rule.blocked)
        if (entry == d || entry == repository + "@" + d) blocked = &entry;
      if (blocked) break;
    }
    if (blocked) {
      f.summary = site.subject + " uses image " + quote(site.image) + " (" + digest + "), which is blocked (" + *blocked + ")";
      f.detail = f.summary + "; it is on the list of known-bad images (rules.images.blocked). Use another image.";
      findings.push_back(std::move(f));
    } else if (rule.scan.action != Action::Off) {
      check_scan(rules, site, digests, judged, findings);
    }
    if (log.judged) log.judged->push_back(std::move(judged));
  }
}

std::vector<Finding> find_violations(const RuleSet& rules, const Scope& scope, const PodSpec& spec,
                                     const ExemptionLog& exempt, const ImageLog& images = {}) {
  std::vector<Finding> findings;
  check_privileged(rules, scope, spec, exempt, findings);
  check_runtime_sockets(rules, scope, spec, exempt, findings);
  check_images(rules, scope, spec, exempt, images, findings);
  return findings;
}

// On UPDATE a violation is preexisting when oldObject had the same one (rule, subject, value) and
// no container has it now that did not have it then: a new ephemeral container that mounts an
// existing socket volume gains the socket, so that is a new violation.
bool preexisting(const Finding& now, const std::vector<Finding>& before) {
  return std::any_of(before.begin(), before.end(), [&](const Finding& b) {
    const Violation& x = b.violation;
    const Violation& y = now.violation;
    if (x.rule != y.rule || x.subject != y.subject || x.value != y.value) return false;
    return std::all_of(now.holders.begin(), now.holders.end(), [&](const std::string& h) {
      return std::find(b.holders.begin(), b.holders.end(), h) != b.holders.end();
    });
  });
}

std::string violations_json(const std::vector<Violation>& violations) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  auto str = [&](std::string_view s) { w.String(s.data(), static_cast<rapidjson::SizeType>(s.size())); };
  w.StartArray();
  for (std::size_t i = 0; i < violations.size() && i < kMaxAnnotatedViolations; ++i) {
    const Violation& v = violations[i];
    w.StartObject();
    w.Key("rule");
    str(v.rule);
    w.Key("action");
    str(config::to_string(v.action));
    w.Key("subject");
    str(printable(v.subject));
    w.Key("field");
    str(v.fieldPath);
    w.Key("value");
    str(printable(v.value));
    if (v.preexisting) {
      w.Key("preexisting");
      w.Bool(true);
    }
    w.EndObject();
  }
  w.EndArray();
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string exemptions_text(const std::vector<Exemption>& exemptions) {
  std::string out;
  for (std::size_t i = 0; i < exemptions.size() && i < kMaxAnnotatedExemptions; ++i) {
    if (!out.empty()) out += ',';
    out += exemptions[i].kind + "=" + printable(exemptions[i].value);
  }
  if (exemptions.size() > kMaxAnnotatedExemptions)
    out += ",+" + std::to_string(exemptions.size() - kMaxAnnotatedExemptions) + " more";
  return out;
}

void annotate(Verdict& v) {
  if (v.violations.empty() && v.exemptions.empty()) return;
  v.auditAnnotations.emplace_back("decision", to_string(v.decision));
  v.auditAnnotations.emplace_back("mode", config::to_string(v.mode));
  if (v.decision == Decision::WouldDeny) v.auditAnnotations.emplace_back("would-deny", "true");
  if (!v.violations.empty()) {
    v.auditAnnotations.emplace_back("violation-count", std::to_string(v.violations.size()));
    v.auditAnnotations.emplace_back("violations", violations_json(v.violations));
  }
  if (!v.exemptions.empty()) v.auditAnnotations.emplace_back("exempt", exemptions_text(v.exemptions));
}

// "images": the digest each container was judged as, so the apiserver's audit log shows exactly
// what was admitted (a tag can be re-pushed a second later).
void annotate_images(Verdict& v) {
  if (v.images.empty()) return;
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  auto str = [&](std::string_view s) { w.String(s.data(), static_cast<rapidjson::SizeType>(s.size())); };
  w.StartArray();
  for (std::size_t i = 0; i < v.images.size() && i < kMaxAnnotatedViolations; ++i) {
    w.StartObject();
    w.Key("subject");
    str(printable(v.images[i].subject));
    w.Key("image");
    str(printable(v.images[i].image));
    w.Key("digest");
    str(v.images[i].digest);
    if (!v.images[i].scan.empty()) {
      w.Key("scan");
      str(v.images[i].scan);
      w.Key("scans");
      str(v.images[i].scanBasis);
    }
    w.EndObject();
  }
  w.EndArray();
  v.auditAnnotations.emplace_back("images", std::string(buffer.GetString(), buffer.GetSize()));
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
    check_persistent_volume(rules, request.object, findings);
    if (update) check_persistent_volume(rules, request.oldObject, before);
  } else {
    const auto& exemptions = rules.config.exemptions;
    const PodSpec& spec = *request.object.podSpec;
    const Scope scope = scope_for(exemptions, request, spec);
    const ExemptionLog log{&verdict.exemptions, &notes};
    if (scope.serviceAccount) log.add("serviceAccount", *scope.serviceAccount);
    findings = find_violations(rules, scope, spec, log,
                               ImageLog{&verdict.images, &verdict.resolveFailuresDenied, &verdict.resolveFailuresAllowed});
    // The old object is judged by the same rules and exemptions: if it ran under an exempt
    // service account, nothing in it counts as preexisting (switching a privileged template away
    // from the exempt account is a new violation).
    if (update && request.oldObject.podSpec && !findings.empty()) {
      const PodSpec& old = *request.oldObject.podSpec;
      before = find_violations(rules, scope_for(exemptions, request, old), old, ExemptionLog{});
    }
  }
  for (auto& f : findings) f.violation.preexisting = preexisting(f, before);
  return findings;
}

// A known-malicious image is denied in audit mode (and on UPDATE) too. In audit mode it is then
// the only reason given; everything else stays a would-deny warning, as in any audit.
struct Denial {
  bool forced = false;
  bool auditForced = false;
  bool denies(const Finding& f) const {
    if (f.violation.action != Action::Deny) return false;
    if (auditForced) return f.violation.deniesInAudit;
    return !f.violation.preexisting || f.violation.deniesInAudit;
  }
};

Denial denial_for(const std::vector<Finding>& findings, const Verdict& verdict) {
  Denial d;
  d.forced = std::any_of(findings.begin(), findings.end(), [](const Finding& f) {
    return f.violation.action == Action::Deny && f.violation.deniesInAudit;
  });
  d.auditForced = d.forced && verdict.mode != config::Mode::Enforce;
  return d;
}

void decide(const Request& request, const std::vector<Finding>& findings, Verdict& verdict) {
  const Denial denial = denial_for(findings, verdict);
  std::vector<const Finding*> denying;
  for (const auto& f : findings)
    if (denial.denies(f)) denying.push_back(&f);
  if (denying.empty()) return;
  verdict.decision = verdict.mode == config::Mode::Enforce || denial.forced ? Decision::Denied : Decision::WouldDeny;
  std::string& m = verdict.message;
  m = verdict.decision == Decision::Denied ? "podgate denied " : "podgate would deny ";
  m += describe_object(request);
  m += ": ";
  if (denying.size() == 1) {
    m += denying.front()->detail;
    return;
  }
  m += std::to_string(denying.size()) + " violations:";
  for (std::size_t i = 0; i < denying.size() && i < kMaxMessageViolations; ++i)
    m += " (" + std::to_string(i + 1) + ") " + denying[i]->detail;
  if (denying.size() > kMaxMessageViolations)
    m += " (and " + std::to_string(denying.size() - kMaxMessageViolations) + " more)";
}

// One warning per violation that did not deny: every one in audit mode, warn-action ones and
// preexisting ones in enforce mode (denying violations are already in the deny message); then one
// per violation a weak exemption let through.
void add_warnings(const Request& request, const std::vector<Finding>& findings, const std::vector<std::string>& notes,
                  Verdict& verdict) {
  const Denial denial = denial_for(findings, verdict);
  const std::string object = describe_object(request);
  std::size_t unshown = 0;
  auto push = [&](std::string w) {
    if (verdict.warnings.size() == kMaxWarnings) {
      ++unshown;
      return;
    }
    truncate_utf8(w, kMaxWarningBytes);
    verdict.warnings.push_back(std::move(w));
  };
  for (const auto& f : findings) {
    if (denial.denies(f) && verdict.decision == Decision::Denied) continue;
    const bool would = f.violation.action == Action::Deny && !f.violation.preexisting;
    std::string w = would ? "[podgate] would deny: " : "[podgate] warning: ";
    w += object + ": " + f.summary;
    if (f.violation.preexisting) w += " (already present before this update, so not denied)";
    push(std::move(w));
  }
  for (const auto& note : notes) push("[podgate] exempt: " + object + ": " + note);
  if (unshown > 0)
    verdict.warnings.push_back("[podgate] " + std::to_string(unshown) +
                               " more violations not shown; see the audit annotations or podgate's decision log");
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
}

Verdict Evaluator::evaluate(const Request& request, Route route, const ImageResolutions* resolutions) const {
  Facts facts;
  facts.resolutions = resolutions;
  return evaluate(request, route, facts);
}

Verdict Evaluator::evaluate(const Request& request, Route route, const Facts& facts) const {
  const std::int64_t now = facts.now != 0 ? facts.now
                                          : std::chrono::duration_cast<std::chrono::seconds>(
                                                std::chrono::system_clock::now().time_since_epoch())
                                                .count();
  Verdict verdict;
  verdict.mode = (route == Route::Audit || config_.mode == config::Mode::Audit) ? config::Mode::Audit
                                                                                : config::Mode::Enforce;
  if (!judged_at_all(request)) return verdict;
  if (auto strong = strong_exemption(config_.exemptions, request)) {
    verdict.exemptions.push_back(std::move(*strong));
    annotate(verdict);
    return verdict;
  }
  const RuleSet rules{config_, socketPaths_, allowedPaths_, facts.resolutions, &facts.scans, now};
  std::vector<std::string> notes;
  std::vector<Finding> findings = judge_object(rules, request, verdict, notes);
  if (findings.empty() && verdict.exemptions.empty()) {
    annotate_images(verdict);
    return verdict;
  }
  decide(request, findings, verdict);
  add_warnings(request, findings, notes, verdict);
  const std::string object = describe_object(request);
  verdict.violations.reserve(findings.size());
  for (auto& f : findings) {
    f.violation.message = object + ": " + f.detail;
    verdict.violations.push_back(std::move(f.violation));
  }
  annotate(verdict);
  annotate_images(verdict);
  return verdict;
}

std::vector<image::Reference> Evaluator::images_to_resolve(const Request& request) const {
  std::vector<image::Reference> out;
  const auto& rule = config_.rules.images;
  if (rule.action == Action::Off || request.target != admission::Target::PodSpec || !judged_at_all(request)) return out;
  const auto& exemptions = config_.exemptions;
  if (strong_exemption(exemptions, request)) return out;
  const RuleSet rules{config_, socketPaths_, allowedPaths_};
  // A new object wholly under its service account's exemption has nothing to judge, so its
  // oldObject need not be resolved either (it only tells which findings are preexisting).
  const Scope scope_now = scope_for(exemptions, request, *request.object.podSpec);
  if (scope_now.serviceAccount && !scope_now.ephemeralUnexempt) return out;
  auto add_spec = [&](const PodSpec& spec) {
    const Scope scope = scope_for(exemptions, request, spec);
    for (const ImageSite& site : image_sites(spec)) {
      if (site_exemption(rules, scope, site)) continue;
      image::ParseResult parsed = image::parse(site.image);
      if (static_image_check(rule, site, parsed) || !parsed.reference->digest.empty()) continue;
      const std::string key = parsed.reference->canonical();
      if (std::none_of(out.begin(), out.end(), [&](const image::Reference& r) { return r.canonical() == key; }))
        out.push_back(std::move(*parsed.reference));
    }
  };
  add_spec(*request.object.podSpec);
  if (request.operation == admission::Operation::Update && request.oldObject.podSpec) add_spec(*request.oldObject.podSpec);
  return out;
}

admission::Response to_response(std::string_view uid, const Verdict& verdict) {
  admission::Response r;
  r.uid = std::string(uid);
  r.allowed = verdict.decision != Decision::Denied;
  if (!r.allowed) {
    r.code = 403;
    r.reason = "Forbidden";
    r.message = verdict.message;
  }
  r.warnings = verdict.warnings;
  r.auditAnnotations = verdict.auditAnnotations;
  return r;
}

}  // namespace podgate::policy
