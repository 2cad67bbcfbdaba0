#pragma once
// Internal to lib/policy: what the rules share while judging one request. Not a public header:
// only lib/policy's own .cpp files include it.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "policy/policy.h"

namespace podgate::policy::detail {

// A violation under construction: `summary` is the short form used in warnings, `detail` adds why
// it matters and how to fix it, and becomes the message once the object name is put in front.
struct Finding {
  Violation violation;
  std::string summary;
  std::string detail;
  // The containers that have the violation ("containers/app"), for a violation about a volume:
  // on UPDATE it is new when a container that did not have it before has it now (a new ephemeral
  // container mounting an existing socket volume). Empty for violations about one container.
  std::vector<std::string> holders;
};

// Which exemption lets a container (or a volume) through.
struct ExemptionRef {
  std::string_view kind;   // "serviceAccount" | "image"
  std::string_view value;  // the matching entry, or the image as written
};

// What the request lets the weak exemptions (service account, image) cover.
struct Scope {
  const std::string* serviceAccount = nullptr;  // the exemptions.serviceAccounts entry of the pod's own account
  // pods/ephemeralcontainers from a requester who is not exempt (kubectl debug): the pod's service
  // account and its images are chosen by whoever creates the pod, so they never cover a container
  // added this way.
  bool ephemeralUnexempt = false;
};

// Records the exemptions that suppressed something, and a kubectl warning for each violation a
// weak exemption suppressed. Both pointers are null while judging oldObject.
struct ExemptionLog {
  std::vector<Exemption>* out = nullptr;
  std::vector<std::string>* notes = nullptr;
  void add(std::string_view kind, std::string_view value) const;
  void suppressed(const ExemptionRef& by, const std::string& summary) const;
};

// The configuration and the facts of one evaluation: what every rule may read.
struct RuleSet {
  const config::Config& config;
  const std::vector<std::string>& sockets;  // normalised runtime paths + extraPaths
  const std::vector<std::string>& allowed;  // normalised allowedHostPaths
  const ImagePlan* images = nullptr;        // the request's images, resolved
  const ScanLookup* scans = nullptr;
  std::int64_t now = 0;
  // The request namespace's PSA labels (Facts::namespaceStandards); null when unknown.
  const NamespaceStandards* namespaceStandards = nullptr;
};

// One pod spec under judgement: what a pod-spec rule sees. The evaluator judges the new object,
// then on UPDATE oldObject with the same rules, to mark what was already there (policy.cpp).
struct PodSpecInput {
  const RuleSet& rules;
  const Scope& scope;
  const admission::PodSpec& spec;
  const ExemptionLog& exempt;
  bool old = false;            // the spec is oldObject's
  Verdict* verdict = nullptr;  // where the image rules record judged images; null for oldObject
};

// A rule's entry in the list (rules.cpp): its check of a pod spec and, for a rule that also
// judges PersistentVolumes, its check of one. Each appends its findings in spec order.
struct Rule {
  std::string_view name;  // its rules.<name> config key and Violation::rule (the scan step's are "scan")
  void (*podSpec)(const PodSpecInput& in, std::vector<Finding>& findings);
  void (*persistentVolume)(const RuleSet& rules, const admission::ObjectInfo& pv, std::vector<Finding>& findings);
};
// Every rule, in the order their findings are reported.
std::span<const Rule> all_rules();

// Text helpers for messages: names and paths from the request are bounded and made one-line.
void truncate_utf8(std::string& s, std::size_t max);
std::string printable(std::string_view s);
std::string quote(std::string_view s);
const char* container_noun(admission::ContainerList list);
std::string field_prefix(const admission::PodSpec& spec);
// "containers/app": a container's identity across oldObject and object.
std::string container_key(const admission::Container& c);

bool image_exempt(const config::Exemptions& exemptions, std::string_view image);
std::optional<ExemptionRef> container_exemption(const RuleSet& rules, const Scope& scope, const admission::Container& c);

// The image rules' plan of one pod spec's images (images.cpp), appended to `plan`.
void plan_spec_images(const RuleSet& rules, const Scope& scope, const admission::PodSpec& spec, bool old,
                      ImagePlan& plan);
// The scan step of the image rule on an image's digests (scan_rule.cpp): the resolved digest
// first, then an index's children; records the verdict in `judged`.
void check_scan(const RuleSet& rules, const PlannedImage& image, const std::vector<std::string>& digests,
                JudgedImage& judged, std::vector<Finding>& findings);

// The signature step (signatures.cpp): each rules.images.signatures entry's keys, read once (throws
// std::runtime_error naming the entry); which entry applies to each planned image; and the check
// of an image's signature answer, recorded in `judged`.
std::vector<std::shared_ptr<const trust::KeySet>> load_signature_keys(const config::ImagesRule& rule);
void assign_signature_rules(const config::ImagesRule& rule, ImagePlan& plan);
void check_signature(const PodSpecInput& in, const PlannedImage& image, const std::string& digest, JudgedImage& judged,
                     std::vector<Finding>& findings);

// Completes the verdict from the findings (verdict.cpp): the decision and its message, kubectl
// warnings (with `notes`, what weak exemptions let through), each violation with its message,
// and the audit annotations.
void conclude(const admission::Request& request, std::vector<Finding> findings, const std::vector<std::string>& notes,
              Verdict& verdict);

}  // namespace podgate::policy::detail
