#pragma once
// The review pipeline shared by the server and the CLI: decode an AdmissionReview body, judge it,
// encode the answer, count it and log it. Thread-safe; the Evaluator can be swapped on reload.

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "log/log.h"
#include "metrics/metrics.h"
#include "policy/policy.h"

namespace podgate::policy {

struct ReviewOutcome {
  int httpStatus = 200;             // 200 with an AdmissionReview, or 400 for an unusable body
  std::string body;                 // AdmissionReview JSON, or a one-line error for 400
  std::string contentType = "application/json";
  Decision decision = Decision::Allowed;  // meaningful when httpStatus == 200
};

class Reviewer {
 public:
  // metrics and logger may be null (the CLI runs without them).
  Reviewer(std::shared_ptr<const Evaluator> evaluator, metrics::Metrics* metrics, log::Logger* logger);

  // `deadline` is when the apiserver stops waiting (from ?timeout=); work that can block (registry
  // look-ups, in later rules) must finish before it.
  ReviewOutcome review(std::string body, Route route, std::chrono::steady_clock::time_point deadline) const;

  // Swaps the rules in use (config reload). Requests in flight finish with the old ones.
  void replace(std::shared_ptr<const Evaluator> evaluator);
  std::shared_ptr<const Evaluator> evaluator() const;

 private:
  mutable std::mutex mutex_;  // guards evaluator_ (held only to copy the pointer)
  std::shared_ptr<const Evaluator> evaluator_;
  metrics::Metrics* metrics_;
  log::Logger* logger_;
};

// The metric label for a kind: the kind itself for the pod-bearing kinds podgate knows, else "other".
std::string_view kind_label(std::string_view kind);

}  // namespace podgate::policy
