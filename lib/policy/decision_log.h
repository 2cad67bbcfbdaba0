#pragma once
// Internal to lib/policy: what the review pipeline records about each judged request, the metrics
// and the decision log line. Called by Reviewer::judge.

#include "admission/admission.h"
#include "log/log.h"
#include "metrics/metrics.h"
#include "policy/pin.h"
#include "policy/policy.h"

namespace podgate::policy::detail {

// The route as metrics and logs name it: "validate" | "audit" | "mutate".
const char* route_label(Route route);

// Counts one judged request: the request and its decision, denials by namespace, the review's
// duration, each violation, exemption and scan verdict, resolve failures, and requests allowed
// without a pod spec to judge (fail-open paths).
void count_decision(metrics::Metrics& metrics, const admission::Request& request, const Verdict& verdict, Route route,
                    double seconds);

// Writes the decision log line of one judged request when it is noteworthy (not a plain allow:
// denied, would deny, warned or exempted) or `logAllowed`. The line stays under
// kMaxDecisionLineBytes (review.h) whatever the request holds.
void log_decision(log::Logger& logger, const admission::Request& request, const Verdict& verdict, Route route,
                  double seconds, bool logAllowed);

// Counts one /mutate answer: the review's duration, the answer (patched or not) and its images
// pinned and left unresolved.
void count_mutation(metrics::Metrics& metrics, const PinPlan& pins, double seconds);

// Writes the log line of one /mutate answer when it pinned something or left an image unresolved,
// or `logAllowed`: who asked, and each pin (field, image as written, the pinned value). Bounded as
// the decision line is.
void log_mutation(log::Logger& logger, const admission::Request& request, const PinPlan& pins, double seconds,
                  bool logAllowed);

}  // namespace podgate::policy::detail
