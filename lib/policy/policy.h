#pragma once
// The evaluator's public face: routes, decisions, violations, the Verdict, the facts a verdict
// rests on, and the ImagePlan that reads a request's images once. The rules themselves
// (privileged, runtime sockets, images with the scan step) are listed in rules.cpp.
// No I/O: what the registry and the scan cache said comes in as Facts and the ImagePlan, so
// `podgate review`, `podgate check` and the server judge identically. The one outside read is the
// clock, when Facts.now is 0 (scan ages, ignore expiry).

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "admission/admission.h"
#include "config/config.h"
#include "image/reference.h"
#include "registry/resolution.h"
#include "scan/scan.h"
#include "trust/keys.h"
#include "trust/verifier.h"

namespace podgate::policy {

// How a route applies the verdict. /validate follows the configured mode; /audit never denies.
// /mutate judges nothing: it pins digests (pin.h) and always allows (the Reviewer's answer).
enum class Route { Validate, Audit, Mutate };

enum class Decision { Allowed, Denied, WouldDeny };
const char* to_string(Decision d);  // "allowed", "denied", "would_deny"

struct Violation {
  std::string rule;       // "privileged" | "runtimeSockets" | "images" | "scan" | "podSecurity"
  // rules.podSecurity only: PSA's check id ("hostNamespaces", "capabilities_restricted", ...) and
  // the level it was judged at ("baseline" | "restricted"); empty for the other rules.
  std::string control;
  std::string level;
  config::Action action;  // Deny or Warn (Off rules produce no violations)
  std::string subject;    // "container \"app\"", "init container \"setup\"", "volume \"sock\""
  std::string fieldPath;  // "spec.template.spec.containers[0].securityContext.privileged"
  std::string value;      // "true", "/var/run/docker.sock"
  std::string message;    // one sentence: what is wrong and how to fix it
  bool preexisting = false;  // UPDATE: the same violation was already in oldObject (never denies)
  // A known-malicious image: denied in audit mode, on the /audit route and on UPDATE too (an
  // audit of a backdoor that lets it run would be the one dry run that does harm).
  bool deniesInAudit = false;
};

struct Exemption {
  std::string kind;   // "namespace" | "serviceAccount" | "image"
  std::string value;  // what matched
};

// What the registry said about each image, keyed by the reference's canonical() form. Filled by
// the Reviewer from the digest cache before the rules run, so evaluate() itself never waits.
// (registry/resolution.h holds the type alone: policy needs no registry client.)
using ImageResolutions = std::unordered_map<std::string, std::shared_ptr<const registry::Resolution>>;

// The scan cache as the scan rule sees it: every scanner's latest record for a digest (null or
// empty: never scanned). The Reviewer passes the records it read beforehand for
// ImagePlan::digests_to_scan() (so judging never touches the database); tests pass a map.
using ScanLookup = std::function<std::shared_ptr<const std::vector<scan::ScanRecord>>(std::string_view digest)>;

// A namespace's pod-security.kubernetes.io labels (rules.podSecurity.namespaceLabels): what PSA
// would enforce, warn about and audit there. A mode whose label is absent is unset.
struct NamespaceStandards {
  struct Mode {
    bool set = false;
    config::PodSecurityLevel level = config::PodSecurityLevel::Privileged;
    config::PodSecurityVersion version;  // the <mode>-version label; latest when absent
    bool operator==(const Mode&) const = default;
  };
  Mode enforce, warn, audit;
  bool operator==(const NamespaceStandards&) const = default;
};

// Everything evaluate() takes from outside the request. All optional: a rule whose input is
// missing treats it as unknown (a failed resolution, an unscanned image).
struct Facts {
  const ImageResolutions* resolutions = nullptr;  // unused by the overload given an ImagePlan: it has them
  ScanLookup scans;
  std::int64_t now = 0;  // unix seconds, for scan ages and ignore expiry; 0 = the clock now
  // The request namespace's labels, when rules.podSecurity.namespaceLabels is on and they are
  // known; null: the configured level alone applies.
  const NamespaceStandards* namespaceStandards = nullptr;
};

// An image-rule refusal that needs no registry: not a valid reference, an untrusted registry,
// blocked by name, a tag under requireDigest.
struct ImageRefusal {
  std::string summary;  // the short form, for warnings
  std::string detail;   // with why it matters and how to fix it
};

// One image of a pod spec (a container's image or an image volume's reference), read once.
struct PlannedImage {
  bool old = false;      // an image of oldObject (UPDATE), judged only to tell what is preexisting
  std::string subject;   // "container \"app\"", "volume \"models\""
  std::string field;     // "spec.containers[0].image"
  std::string image;     // as written in the spec
  std::optional<Exemption> exemption;  // the serviceAccount or image exemption that lifts the rules from it
  image::ParseResult parsed;           // empty when exempt (an exempt image is not even parsed)
  std::optional<ImageRefusal> refused; // what the checks that need no registry found
  std::shared_ptr<const registry::Resolution> resolution;  // set by resolve(); null: no answer (a failure)
  // The rules.images.signatures entry that applies (the first whose images match), -1 for none;
  // and, once looked up (put_signatures), what the registry holds for the judged digest.
  int signatureRule = -1;
  std::shared_ptr<const trust::SignatureCheck> signature;
  // A pinned reference is fetched too when the rules need an index's children (the scan step, or
  // block-list digests): what a pinned index runs is one of them.
  bool fetchPinned = false;
  // Judged at all, and pinned by nobody or fetched for its children: what the registry is asked for.
  bool needs_registry() const { return !exemption && !refused && (parsed.reference->digest.empty() || fetchPinned); }
};

// The images of one request, parsed, exempted and checked once (Evaluator::plan_images). The
// Reviewer asks the registry for refs_to_resolve(), puts the answers in with resolve(), reads the
// scan cache for digests_to_scan() and has evaluate() judge the images from the plan.
struct ImagePlan {
  // The Evaluator's rules.images; null when the image rules judge nothing in this request (off,
  // not a pod spec, not judged at all, a namespace or user exemption). Points into the Evaluator:
  // use the plan while the Evaluator lives.
  const config::ImagesRule* rule = nullptr;
  // object's images in spec order, then (UPDATE) oldObject's. oldObject's are left out when the
  // new object is wholly under its service account's exemption: nothing in it is judged, so
  // oldObject is never compared with it and need not be resolved.
  std::vector<PlannedImage> images;

  // The references to resolve at the registry, without duplicates. Images already refused without
  // a digest and images pinned by digest are not in it: podgate never contacts a registry it does
  // not trust.
  std::vector<image::Reference> refs_to_resolve() const;
  // Puts in what the registry answered (keyed by canonical()); an image missing from it counts as
  // a failed resolution.
  void resolve(const ImageResolutions& resolutions);
  // After resolve(): the digests the scan step will look up, without duplicates: each image's
  // pinned or resolved digest, and an index's children; none for images refused or blocked first.
  // Empty when the scan rule is off.
  std::vector<std::string> digests_to_scan() const;

  // The signature lookups the signature rule needs, after resolve(): one per distinct image
  // digest under a rules.images.signatures entry (the index digest for an index, as cosign
  // signs it). `key` names the lookup in put_signatures.
  struct SignatureLookup {
    image::Reference image;
    std::string digest;
    std::shared_ptr<const trust::KeySet> keys;
    std::string key;
  };
  std::vector<SignatureLookup> signatures_to_verify() const;
  // Puts in the lookups' answers (by SignatureLookup::key) and marks the plan as checked: from
  // then on an image without an answer counts as a failed lookup. A plan never checked (the
  // audit, a caller without a verifier) leaves the signature rule silent.
  void put_signatures(const std::unordered_map<std::string, std::shared_ptr<const trust::SignatureCheck>>& answers);
  bool signaturesChecked = false;
  // The Evaluator's key sets, by rules.images.signatures index (null when the rule is off).
  const std::vector<std::shared_ptr<const trust::KeySet>>* signatureKeys = nullptr;
};

// The image a container (or image volume) was judged as: what the apiserver audit log records.
struct JudgedImage {
  std::string subject;  // "container \"app\"", "volume \"models\""
  std::string image;    // as written in the spec
  std::string digest;   // "sha256:..."; empty when it could not be resolved
  std::string scan;     // the scan verdict: clean, vulnerable, malicious, unscanned, stale ("" when not judged)
  std::string scanBasis;  // which scans it rested on: "trivy 0.50.1 2026-11-28T10:00:00Z sha256:..., ..."
  // The signature check: "verified" (with signatureKey, the key's short id, and signatureFormat),
  // unsigned, invalid, error ("" when no signature rule applied).
  std::string signature;
  std::string signatureKey;
  std::string signatureFormat;
};

struct Verdict {
  Decision decision = Decision::Allowed;
  config::Mode mode = config::Mode::Enforce;  // effective mode (Audit on the /audit route)
  std::vector<Violation> violations;          // every violation, all rules, in spec order
  std::vector<Exemption> exemptions;          // every exemption that suppressed something
  std::string message;                        // deny message naming every denying violation
  std::vector<std::string> warnings;          // kubectl "Warning:" lines
  std::vector<std::pair<std::string, std::string>> auditAnnotations;
  std::vector<JudgedImage> images;  // every image the image rules judged (new object only)
  int resolveFailuresDenied = 0;    // images whose resolution failed, refused by onResolveError=deny
  int resolveFailuresAllowed = 0;   // ... and let through by onResolveError=allow (the fail-open path)
};

// Path normalisation used by the runtime-socket rule. Lexical only: collapses "//", drops "." and a
// trailing "/", resolves "..", never climbs above "/", and maps the /var/run directory to /run.
// Returns "" for a path that is not absolute.
std::string normalize_host_path(std::string_view path);
// True when `ancestor` equals `path` or is a parent directory of it, comparing whole components
// (both already normalised): "/run" covers "/run/docker.sock" but not "/run2" or "/runtime".
bool covers(std::string_view ancestor, std::string_view path);
// The same, against a configured runtime path whose components may be globs ("/run/user/*/docker.sock":
// '*' and '?' match within one component): covers_pattern is true when `path` is, or is an
// ancestor of, some path the pattern matches ("/run/user" exposes every user's docker.sock);
// inside_pattern when `path` is a match or lies below one ("/run/user/1000/docker.sock/x").
bool covers_pattern(std::string_view path, std::string_view pattern);
bool inside_pattern(std::string_view path, std::string_view pattern);
// Glob used for image exemptions: '*' matches within one '/'-separated segment, '**' across.
bool glob_match(std::string_view pattern, std::string_view text);

class Evaluator {
 public:
  // Normalises the configured paths and reads the signature rules' keys once; throws
  // std::runtime_error naming the config key when a key is unusable.
  explicit Evaluator(config::Config config);
  // `resolutions` answers the image rules' digest questions (see images_to_resolve); an image
  // missing from it counts as a failed resolution. Null is fine when the image rules are off.
  Verdict evaluate(const admission::Request& request, Route route, const ImageResolutions* resolutions = nullptr) const;
  // Plans the request's images and puts facts.resolutions in, then judges.
  Verdict evaluate(const admission::Request& request, Route route, const Facts& facts) const;
  // Judges with `images`, this request's plan with its resolutions already in.
  Verdict evaluate(const admission::Request& request, Route route, const ImagePlan& images, const Facts& facts) const;
  // The request's images (object and, on UPDATE, oldObject) as the image rules will judge them.
  ImagePlan plan_images(const admission::Request& request) const;
  // plan_images(request).refs_to_resolve(): empty when the rules are off or the request is exempt.
  std::vector<image::Reference> images_to_resolve(const admission::Request& request) const;
  const config::Config& config() const { return config_; }
  // workloads.custom as the decoder matches them: decode requests with these.
  const admission::CustomWorkloads& custom_workloads() const { return customWorkloads_; }

 private:
  config::Config config_;
  admission::CustomWorkloads customWorkloads_;
  // rules.images.signatures[i]'s keys, read once (a key that cannot be read stops construction).
  std::vector<std::shared_ptr<const trust::KeySet>> signatureKeys_;
  std::vector<std::string> socketPaths_;   // normalised paths + extraPaths
  std::vector<std::string> allowedPaths_;  // normalised allowedHostPaths
};

// Reads every rules.images.signatures key as the Evaluator will; throws std::runtime_error naming
// the entry ("rules.images.signatures[0].keys[1]: ...") when one is unusable. For config loading.
void check_signature_keys(const config::ImagesRule& rule);

// Builds the AdmissionReview response for a verdict: allowed/status/warnings/auditAnnotations.
admission::Response to_response(std::string_view uid, const Verdict& verdict);

}  // namespace podgate::policy
