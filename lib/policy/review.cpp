#include "policy/review.h"

#include <array>
#include <future>

namespace podgate::policy {

std::string_view kind_label(std::string_view kind) {
  static constexpr std::array<std::string_view, 11> known = {
      "Pod",        "EphemeralContainers", "Deployment", "ReplicaSet",           "StatefulSet",
      "DaemonSet",  "Job",                 "CronJob",    "ReplicationController", "PodTemplate",
      "PersistentVolume"};
  for (auto k : known)
    if (k == kind) return k;
  return "other";  // bounded label values: a client cannot mint new series
}

Reviewer::Reviewer(std::shared_ptr<const Evaluator> evaluator, metrics::Metrics* metrics, log::Logger* logger,
                   std::shared_ptr<registry::DigestCache> images, std::shared_ptr<scan::Store> scans)
    : evaluator_(std::move(evaluator)), images_(std::move(images)), scans_(std::move(scans)), metrics_(metrics),
      logger_(logger) {}

Reviewer::~Reviewer() { wait_idle(); }

void Reviewer::wait_idle() const {
  std::unique_lock<std::mutex> lock(idleMutex_);
  idle_.wait(lock, [this] { return waiting_ == 0; });
}

void Reviewer::replace(std::shared_ptr<const Evaluator> evaluator, std::shared_ptr<registry::DigestCache> images,
                       std::shared_ptr<scan::Store> scans) {
  std::lock_guard<std::mutex> lock(mutex_);
  evaluator_ = std::move(evaluator);
  if (images) images_ = std::move(images);
  if (scans) scans_ = std::move(scans);
}

std::shared_ptr<const Evaluator> Reviewer::evaluator() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return evaluator_;
}

namespace {

const char* route_label(Route route) { return route == Route::Audit ? "audit" : "validate"; }

// Bounds for one decision log line: a 2.9 MB dry-run object once produced an 11 MB line. Each
// list logs at most kMaxLoggedEntries entries and stops early past kMaxLoggedListBytes (the rest
// are counted in "<list>Omitted"), and every string from the request is cut at kMaxLoggedString
// bytes, so a line stays under kMaxDecisionLineBytes whatever the request holds (3 lists of at
// most 12 KiB plus one entry each, 12 top-level fields and 16 groups of at most 256 bytes each).
constexpr std::size_t kMaxLoggedEntries = 20;  // as the audit annotations (policy.cpp)
constexpr std::size_t kMaxLoggedString = 256;
constexpr std::size_t kMaxLoggedListBytes = 12 * 1024;
constexpr std::size_t kMaxLoggedGroups = 16;

void field(std::string& out, const char* key, std::string_view value, bool first = false) {
  if (!first) out += ',';
  out += '"';
  out += key;
  out += "\":";
  log::append_json_string(out, value, kMaxLoggedString);
}

// `items` as a JSON array of at most `max_entries` entries written by `write`, stopping early once
// the array passes kMaxLoggedListBytes. Returns how many entries were left out.
template <typename T, typename Write>
std::size_t bounded_array(std::string& out, const std::vector<T>& items, std::size_t max_entries, Write write) {
  const std::size_t start = out.size();
  out += '[';
  std::size_t written = 0;
  for (const auto& item : items) {
    if (written == max_entries || out.size() - start >= kMaxLoggedListBytes) break;
    if (written) out += ',';
    write(out, item);
    ++written;
  }
  out += ']';
  return items.size() - written;
}

std::size_t violations_json(std::string& out, const std::vector<Violation>& violations) {
  return bounded_array(out, violations, kMaxLoggedEntries, [](std::string& o, const Violation& v) {
    o += '{';
    field(o, "rule", v.rule, true);
    field(o, "action", config::to_string(v.action));
    field(o, "subject", v.subject);
    field(o, "field", v.fieldPath);
    field(o, "value", v.value);
    if (v.preexisting) o += ",\"preexisting\":true";
    o += '}';
  });
}

std::size_t exemptions_json(std::string& out, const std::vector<Exemption>& exemptions) {
  return bounded_array(out, exemptions, kMaxLoggedEntries, [](std::string& o, const Exemption& e) {
    o += '{';
    field(o, "kind", e.kind, true);
    field(o, "value", e.value);
    o += '}';
  });
}

std::size_t images_json(std::string& out, const std::vector<JudgedImage>& images) {
  return bounded_array(out, images, kMaxLoggedEntries, [](std::string& o, const JudgedImage& j) {
    o += '{';
    field(o, "subject", j.subject, true);
    field(o, "image", j.image);
    field(o, "digest", j.digest);
    if (!j.scan.empty()) {
      field(o, "scan", j.scan);
      field(o, "scans", j.scanBasis);
    }
    o += '}';
  });
}

std::size_t groups_json(std::string& out, const std::vector<std::string_view>& groups) {
  return bounded_array(out, groups, kMaxLoggedGroups, [](std::string& o, std::string_view g) {
    log::append_json_string(o, g, kMaxLoggedString);
  });
}

// Appends `list` (written by `to_json`) under `key`, and "<key>Omitted" when some were left out.
template <typename T, typename ToJson>
void add_bounded(log::Line& line, const char* key, const std::vector<T>& list, ToJson to_json) {
  std::string json;
  const std::size_t omitted = to_json(json, list);
  line.raw_json(key, json);
  if (omitted) line.integer(std::string(key) + "Omitted", static_cast<long long>(omitted));
}

}  // namespace

// One review between decode and answer: owns the body (the decoded request points into it) and
// collects the resolutions of its images as they arrive.
struct Reviewer::Pending {
  std::shared_ptr<const Evaluator> evaluator;
  std::shared_ptr<scan::Store> scans;
  admission::DecodeResult decoded;
  Route route = Route::Validate;
  std::chrono::steady_clock::time_point started;
  Completion done;
  std::mutex mutex;  // guards resolutions and remaining
  ImageResolutions resolutions;
  std::size_t remaining = 0;
};

ReviewOutcome Reviewer::review(std::string body, Route route, std::chrono::steady_clock::time_point deadline) const {
  std::promise<ReviewOutcome> promise;
  auto future = promise.get_future();
  review_async(std::move(body), route, deadline, [&promise](ReviewOutcome outcome) { promise.set_value(std::move(outcome)); });
  return future.get();
}

void Reviewer::review_async(std::string body, Route route, std::chrono::steady_clock::time_point deadline,
                            Completion done) const {
  auto pending = std::make_shared<Pending>();
  pending->started = std::chrono::steady_clock::now();
  pending->route = route;
  pending->done = std::move(done);
  std::shared_ptr<registry::DigestCache> images;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    pending->evaluator = evaluator_;
    pending->scans = scans_;
    images = images_;
  }

  pending->decoded = admission::decode(std::move(body));
  if (!pending->decoded) {
    const auto& decoded = pending->decoded;
    const std::string& why = decoded.error ? decoded.error->message : std::string("unusable AdmissionReview");
    ReviewOutcome outcome;
    outcome.httpStatus = 400;
    outcome.contentType = "text/plain; charset=utf-8";
    outcome.body = "invalid AdmissionReview: " + why + "\n";
    if (metrics_) metrics_->count_invalid_request("invalid_review");
    if (logger_) logger_->line(log::Level::Warn, "invalid admission review").str("error", why).str("route", route_label(route));
    return pending->done(std::move(outcome));
  }

  std::vector<image::Reference> refs = pending->evaluator->images_to_resolve(pending->decoded.review->request());
  if (refs.empty() || !images) return finish(pending);
  pending->remaining = refs.size();
  {
    std::lock_guard<std::mutex> lock(idleMutex_);
    ++waiting_;
  }
  for (const auto& ref : refs) {
    images->resolve(ref, deadline, [this, pending, key = ref.canonical()](registry::DigestCache::Result result) {
      bool last = false;
      {
        std::lock_guard<std::mutex> lock(pending->mutex);
        pending->resolutions[key] = std::move(result);
        last = --pending->remaining == 0;
      }
      if (!last) return;
      finish(pending);
      std::lock_guard<std::mutex> lock(idleMutex_);
      if (--waiting_ == 0) idle_.notify_all();
    });
  }
}

void Reviewer::finish(const std::shared_ptr<Pending>& pending) const {
  // This may run on a registry thread, where an escaping exception would end the process.
  ReviewOutcome outcome;
  try {
    outcome = judge(pending);
  } catch (const std::exception& e) {
    outcome = ReviewOutcome{};
    outcome.httpStatus = 500;
    outcome.contentType = "text/plain; charset=utf-8";
    outcome.body = "internal error\n";
    if (logger_) logger_->line(log::Level::Error, "review failed").str("error", e.what());
  }
  pending->done(std::move(outcome));
}

ReviewOutcome Reviewer::judge(const std::shared_ptr<Pending>& pending) const {
  const auto& evaluator = pending->evaluator;
  const auto route = pending->route;
  const auto started = pending->started;
  ReviewOutcome outcome;
  const admission::Request& request = pending->decoded.review->request();
  Facts facts;
  facts.resolutions = &pending->resolutions;
  if (pending->scans) {
    scan::Store* store = pending->scans.get();
    facts.scans = [store](std::string_view digest) { return store->lookup(digest); };
  }
  const Verdict verdict = evaluator->evaluate(request, route, facts);
  outcome.body = admission::encode(to_response(request.uid, verdict));
  outcome.decision = verdict.decision;

  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const std::string_view kind = kind_label(request.kind.kind);
  const char* mode = config::to_string(verdict.mode);

  if (metrics_) {
    metrics_->count_request(to_string(verdict.decision), mode, kind, admission::to_string(request.operation));
    if (verdict.decision != Decision::Allowed)
      metrics_->count_denial_by_namespace(metrics_->namespace_label(request.namespace_), to_string(verdict.decision));
    metrics_->observe_review_duration(route_label(route), seconds);
    for (const auto& v : verdict.violations) metrics_->count_violation(v.rule, config::to_string(v.action));
    for (const auto& e : verdict.exemptions) metrics_->count_exemption(e.kind);
    for (const auto& j : verdict.images)
      if (!j.scan.empty()) metrics_->count_scan_verdict(j.scan);
    for (int i = 0; i < verdict.resolveFailuresDenied; ++i) metrics_->count_resolve_failure("denied");
    for (int i = 0; i < verdict.resolveFailuresAllowed; ++i) metrics_->count_resolve_failure("allowed");
    // Requests allowed without a pod spec to judge are fail-open paths: count each one.
    if (request.target == admission::Target::None) metrics_->count_skipped("unknown_kind");
    else if (request.target == admission::Target::PodSpec && !request.object.podSpec) metrics_->count_skipped("no_pod_spec");
  }

  const bool noteworthy = verdict.decision != Decision::Allowed || !verdict.violations.empty() ||
                          !verdict.exemptions.empty();
  if (logger_ && (noteworthy || evaluator->config().logging.logAllowed)) {
    const char* msg = verdict.decision == Decision::Denied      ? "admission denied"
                      : verdict.decision == Decision::WouldDeny ? "admission would deny (audit)"
                      : !verdict.exemptions.empty()             ? "admission exempted"
                                                                : "admission allowed";
    auto line = logger_->line(verdict.decision == Decision::Allowed ? log::Level::Info : log::Level::Warn, msg);
    const std::size_t n = kMaxLoggedString;
    line.str("uid", request.uid, n)
        .str("decision", to_string(verdict.decision))
        .str("mode", mode)
        .str("route", route_label(route))
        .str("kind", request.kind.kind, n)
        .str("namespace", request.namespace_, n)
        .str("name", request.name.empty() ? request.object.name : request.name, n)
        .str("operation", request.operationText, n)
        .str("subResource", request.subResource, n)
        .boolean("dryRun", request.dryRun)
        .str("user", request.userInfo.username, n);
    add_bounded(line, "groups", request.userInfo.groups, groups_json);
    add_bounded(line, "violations", verdict.violations, violations_json);
    if (!verdict.exemptions.empty()) add_bounded(line, "exemptions", verdict.exemptions, exemptions_json);
    if (!verdict.images.empty()) add_bounded(line, "images", verdict.images, images_json);
    line.num("latencyMs", seconds * 1000.0);
  }
  return outcome;
}

}  // namespace podgate::policy
