#pragma once
// The rules (privileged, runtime sockets), modes, exemptions, and the Verdict they produce.
// Pure functions of (config, request): no I/O, no clocks, so `podgate review`, `podgate check`
// and the server all judge identically.

#include <functional>
#include <memory>
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

namespace podgate::policy {

// How a route applies the verdict. /validate follows the configured mode; /audit never denies.
enum class Route { Validate, Audit };

enum class Decision { Allowed, Denied, WouldDeny };
const char* to_string(Decision d);  // "allowed", "denied", "would_deny"

struct Violation {
  std::string rule;       // "privileged" | "runtimeSockets" | "images" | "scan"
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
using ImageResolutions = std::unordered_map<std::string, std::shared_ptr<const registry::Resolution>>;

// The scan cache as the scan rule sees it: every scanner's latest record for a digest (null or
// empty: never scanned). The Reviewer passes the in-memory cache; tests pass a map.
using ScanLookup = std::function<std::shared_ptr<const std::vector<scan::ScanRecord>>(std::string_view digest)>;

// Everything evaluate() takes from outside the request. All optional: a rule whose input is
// missing treats it as unknown (a failed resolution, an unscanned image).
struct Facts {
  const ImageResolutions* resolutions = nullptr;
  ScanLookup scans;
  std::int64_t now = 0;  // unix seconds, for scan ages and ignore expiry; 0 = the clock now
};

// The image a container (or image volume) was judged as: what the apiserver audit log records.
struct JudgedImage {
  std::string subject;  // "container \"app\"", "volume \"models\""
  std::string image;    // as written in the spec
  std::string digest;   // "sha256:..."; empty when it could not be resolved
  std::string scan;     // the scan verdict: clean, vulnerable, malicious, unscanned, stale ("" when not judged)
  std::string scanBasis;  // which scans it rested on: "trivy 0.50.1 2026-11-28T10:00:00Z sha256:..., ..."
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
  explicit Evaluator(config::Config config);  // normalises the configured paths once
  // `resolutions` answers the image rules' digest questions (see images_to_resolve); an image
  // missing from it counts as a failed resolution. Null is fine when the image rules are off.
  Verdict evaluate(const admission::Request& request, Route route, const ImageResolutions* resolutions = nullptr) const;
  Verdict evaluate(const admission::Request& request, Route route, const Facts& facts) const;
  // The references the image rules need resolved at the registry for this request (object and,
  // on UPDATE, oldObject), without duplicates. Empty when the rules are off or the request is
  // exempt. Images that are already refused without a digest (invalid, untrusted, blocked,
  // tag-only under requireDigest) and images pinned by digest are not in it: podgate never
  // contacts a registry it does not trust.
  std::vector<image::Reference> images_to_resolve(const admission::Request& request) const;
  const config::Config& config() const { return config_; }

 private:
  config::Config config_;
  std::vector<std::string> socketPaths_;   // normalised paths + extraPaths
  std::vector<std::string> allowedPaths_;  // normalised allowedHostPaths
};

// Builds the AdmissionReview response for a verdict: allowed/status/warnings/auditAnnotations.
admission::Response to_response(std::string_view uid, const Verdict& verdict);

}  // namespace podgate::policy
