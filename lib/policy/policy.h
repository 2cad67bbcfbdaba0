#pragma once
// The rules (privileged, runtime sockets), modes, exemptions, and the Verdict they produce.
// Pure functions of (config, request): no I/O, no clocks, so `podgate review`, `podgate check`
// and the server all judge identically.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "admission/admission.h"
#include "config/config.h"

namespace podgate::policy {

// How a route applies the verdict. /validate follows the configured mode; /audit never denies.
enum class Route { Validate, Audit };

enum class Decision { Allowed, Denied, WouldDeny };
const char* to_string(Decision d);  // "allowed", "denied", "would_deny"

struct Violation {
  std::string rule;       // "privileged" | "runtimeSockets"
  config::Action action;  // Deny or Warn (Off rules produce no violations)
  std::string subject;    // "container \"app\"", "init container \"setup\"", "volume \"sock\""
  std::string fieldPath;  // "spec.template.spec.containers[0].securityContext.privileged"
  std::string value;      // "true", "/var/run/docker.sock"
  std::string message;    // one sentence: what is wrong and how to fix it
  bool preexisting = false;  // UPDATE: the same violation was already in oldObject (never denies)
};

struct Exemption {
  std::string kind;   // "namespace" | "serviceAccount" | "image"
  std::string value;  // what matched
};

struct Verdict {
  Decision decision = Decision::Allowed;
  config::Mode mode = config::Mode::Enforce;  // effective mode (Audit on the /audit route)
  std::vector<Violation> violations;          // every violation, all rules, in spec order
  std::vector<Exemption> exemptions;          // every exemption that suppressed something
  std::string message;                        // deny message naming every denying violation
  std::vector<std::string> warnings;          // kubectl "Warning:" lines
  std::vector<std::pair<std::string, std::string>> auditAnnotations;
};

// Path normalisation used by the runtime-socket rule. Lexical only: collapses "//", drops "." and a
// trailing "/", resolves "..", never climbs above "/", and maps the /var/run directory to /run.
// Returns "" for a path that is not absolute.
std::string normalize_host_path(std::string_view path);
// True when `ancestor` equals `path` or is a parent directory of it, comparing whole components
// (both already normalised): "/run" covers "/run/docker.sock" but not "/run2" or "/runtime".
bool covers(std::string_view ancestor, std::string_view path);
// Glob used for image exemptions: '*' matches within one '/'-separated segment, '**' across.
bool glob_match(std::string_view pattern, std::string_view text);

class Evaluator {
 public:
  explicit Evaluator(config::Config config);  // normalises the configured paths once
  Verdict evaluate(const admission::Request& request, Route route) const;
  const config::Config& config() const { return config_; }

 private:
  config::Config config_;
  std::vector<std::string> socketPaths_;   // normalised paths + extraPaths
  std::vector<std::string> allowedPaths_;  // normalised allowedHostPaths
};

// Builds the AdmissionReview response for a verdict: allowed/status/warnings/auditAnnotations.
admission::Response to_response(std::string_view uid, const Verdict& verdict);

}  // namespace podgate::policy
