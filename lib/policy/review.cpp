#include "policy/review.h"

#include <array>

namespace podgate::policy {

std::string_view kind_label(std::string_view kind) {
  static constexpr std::array<std::string_view, 10> known = {
      "Pod",        "EphemeralContainers", "Deployment", "ReplicaSet",           "StatefulSet",
      "DaemonSet",  "Job",                 "CronJob",    "ReplicationController", "PodTemplate"};
  for (auto k : known)
    if (k == kind) return k;
  return "other";  // bounded label values: a client cannot mint new series
}

Reviewer::Reviewer(std::shared_ptr<const Evaluator> evaluator, metrics::Metrics* metrics, log::Logger* logger)
    : evaluator_(std::move(evaluator)), metrics_(metrics), logger_(logger) {}

void Reviewer::replace(std::shared_ptr<const Evaluator> evaluator) {
  std::lock_guard<std::mutex> lock(mutex_);
  evaluator_ = std::move(evaluator);
}

std::shared_ptr<const Evaluator> Reviewer::evaluator() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return evaluator_;
}

namespace {

const char* route_label(Route route) { return route == Route::Audit ? "audit" : "validate"; }

std::string violations_json(const std::vector<Violation>& violations) {
  std::string out = "[";
  for (std::size_t i = 0; i < violations.size(); ++i) {
    const auto& v = violations[i];
    if (i) out += ',';
    out += "{\"rule\":";
    log::append_json_string(out, v.rule);
    out += ",\"action\":";
    log::append_json_string(out, config::to_string(v.action));
    out += ",\"subject\":";
    log::append_json_string(out, v.subject);
    out += ",\"field\":";
    log::append_json_string(out, v.fieldPath);
    out += ",\"value\":";
    log::append_json_string(out, v.value);
    if (v.preexisting) out += ",\"preexisting\":true";
    out += '}';
  }
  out += ']';
  return out;
}

std::string exemptions_json(const std::vector<Exemption>& exemptions) {
  std::string out = "[";
  for (std::size_t i = 0; i < exemptions.size(); ++i) {
    if (i) out += ',';
    out += "{\"kind\":";
    log::append_json_string(out, exemptions[i].kind);
    out += ",\"value\":";
    log::append_json_string(out, exemptions[i].value);
    out += '}';
  }
  out += ']';
  return out;
}

}  // namespace

ReviewOutcome Reviewer::review(std::string body, Route route,
                               std::chrono::steady_clock::time_point /*deadline: used by the image rules*/) const {
  const auto started = std::chrono::steady_clock::now();
  const auto evaluator = this->evaluator();
  ReviewOutcome outcome;

  auto decoded = admission::decode(std::move(body));
  if (!decoded) {
    const std::string& why = decoded.error ? decoded.error->message : std::string("unusable AdmissionReview");
    outcome.httpStatus = 400;
    outcome.contentType = "text/plain; charset=utf-8";
    outcome.body = "invalid AdmissionReview: " + why + "\n";
    if (metrics_) metrics_->count_invalid_request("invalid_review");
    if (logger_) logger_->line(log::Level::Warn, "invalid admission review").str("error", why).str("route", route_label(route));
    return outcome;
  }

  const admission::Request& request = decoded.review->request();
  const Verdict verdict = evaluator->evaluate(request, route);
  outcome.body = admission::encode(to_response(request.uid, verdict));
  outcome.decision = verdict.decision;

  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const std::string_view kind = kind_label(request.kind.kind);
  const char* mode = config::to_string(verdict.mode);

  if (metrics_) {
    metrics_->count_request(to_string(verdict.decision), mode, kind, admission::to_string(request.operation));
    metrics_->observe_review_duration(route_label(route), seconds);
    for (const auto& v : verdict.violations) metrics_->count_violation(v.rule, config::to_string(v.action));
    for (const auto& e : verdict.exemptions) metrics_->count_exemption(e.kind);
    // Requests allowed without a pod spec to judge are fail-open paths: count each one.
    if (!request.podBearing) metrics_->count_skipped("unknown_kind");
    else if (!request.object.podSpec) metrics_->count_skipped("no_pod_spec");
  }

  const bool noteworthy = verdict.decision != Decision::Allowed || !verdict.violations.empty() ||
                          !verdict.exemptions.empty();
  if (logger_ && (noteworthy || evaluator->config().logging.logAllowed)) {
    const char* msg = verdict.decision == Decision::Denied      ? "admission denied"
                      : verdict.decision == Decision::WouldDeny ? "admission would deny (audit)"
                      : !verdict.exemptions.empty()             ? "admission exempted"
                                                                : "admission allowed";
    auto line = logger_->line(verdict.decision == Decision::Allowed ? log::Level::Info : log::Level::Warn, msg);
    line.str("uid", request.uid)
        .str("decision", to_string(verdict.decision))
        .str("mode", mode)
        .str("route", route_label(route))
        .str("kind", request.kind.kind)
        .str("namespace", request.namespace_)
        .str("name", request.name.empty() ? request.object.name : request.name)
        .str("operation", request.operationText)
        .str("subResource", request.subResource)
        .boolean("dryRun", request.dryRun)
        .str("user", request.userInfo.username)
        .strings("groups", request.userInfo.groups)
        .raw_json("violations", violations_json(verdict.violations));
    if (!verdict.exemptions.empty()) line.raw_json("exemptions", exemptions_json(verdict.exemptions));
    line.num("latencyMs", seconds * 1000.0);
  }
  return outcome;
}

}  // namespace podgate::policy
