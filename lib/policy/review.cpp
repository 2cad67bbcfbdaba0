#include "policy/review.h"

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <future>

#include "policy/decision_log.h"
#include "policy/pin.h"

namespace podgate::policy {

using detail::count_decision;
using detail::count_mutation;
using detail::log_decision;
using detail::log_mutation;
using detail::route_label;

namespace {

// The images a route asks the registry about: /mutate only to pin, so with pinDigests off it
// answers at once, unchanged.
ImagePlan plan_for(const Evaluator& evaluator, const admission::Request& request, Route route) {
  if (route == Route::Mutate && !evaluator.config().rules.images.pinDigests) return {};
  return evaluator.plan_images(request);
}

}  // namespace

Reviewer::Reviewer(std::shared_ptr<const Evaluator> evaluator, metrics::Metrics* metrics, log::Logger* logger,
                   std::shared_ptr<registry::DigestCache> images, std::shared_ptr<scan::Store> scans,
                   std::shared_ptr<PullSecretCache> pullSecrets)
    : evaluator_(std::move(evaluator)), images_(std::move(images)), scans_(std::move(scans)),
      pullSecrets_(std::move(pullSecrets)), metrics_(metrics), logger_(logger),
      scanReads_(std::make_unique<boost::asio::thread_pool>(1)),
      secretReads_(pullSecrets_ ? std::make_unique<boost::asio::thread_pool>(2) : nullptr) {}

Reviewer::~Reviewer() {
  wait_idle();
  if (secretReads_) secretReads_->join();
  scanReads_->join();
}

void Reviewer::wait_idle() const {
  std::unique_lock<std::mutex> lock(idleMutex_);
  idle_.wait(lock, [this] { return waiting_ == 0; });
}

void Reviewer::begin_wait() const {
  std::lock_guard<std::mutex> lock(idleMutex_);
  ++waiting_;
}

void Reviewer::end_wait() const {
  std::lock_guard<std::mutex> lock(idleMutex_);
  if (--waiting_ == 0) idle_.notify_all();
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

void Reviewer::set_signature_verifier(std::shared_ptr<trust::SignatureVerifier> verifier) {
  std::lock_guard<std::mutex> lock(mutex_);
  signatures_ = std::move(verifier);
}

std::shared_ptr<trust::SignatureVerifier> Reviewer::signature_verifier() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return signatures_;
}

std::shared_ptr<registry::DigestCache> Reviewer::image_resolver() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return images_;
}

// A custom workload whose object has nothing at its podSpecPath is allowed unjudged (it cannot
// run pods), but a wrong podSpecPath would do the same to every object of the kind: counted and
// logged so that shows.
void Reviewer::note_missing_pod_spec(const admission::Request& request) const {
  if (!request.customWorkload || request.object.podSpec) return;
  if (request.operation != admission::Operation::Create && request.operation != admission::Operation::Update) return;
  if (metrics_) metrics_->count_custom_workload_missing_pod_spec(request.kind.group, request.kind.kind);
  if (logger_)
    logger_->line(log::Level::Warn, "custom workload has no pod spec at its podSpecPath; allowed unjudged")
        .str("group", request.kind.group)
        .str("kind", request.kind.kind)
        .str("namespace", request.namespace_)
        .str("name", request.object.name);
}

// One review between decode and answer: owns the body (the decoded request points into it),
// collects the resolutions of its images as they arrive, then the scan records they need. Each
// stage runs on one thread at a time, handed on by the registry's callbacks or the scan-read pool.
struct Reviewer::Pending {
  std::shared_ptr<const Evaluator> evaluator;
  std::shared_ptr<scan::Store> scans;
  std::shared_ptr<trust::SignatureVerifier> signatures;
  std::shared_ptr<const registry::Keyring> keyring;  // the pod's pull secrets, when read
  std::chrono::steady_clock::time_point deadline;
  admission::DecodeResult decoded;
  Route route = Route::Validate;
  std::chrono::steady_clock::time_point started;
  Completion done;
  ImagePlan plan;    // the request's images, read once
  std::mutex mutex;  // guards resolutions and remaining
  ImageResolutions resolutions;
  std::unordered_map<std::string, std::shared_ptr<const trust::SignatureCheck>> signatureAnswers;
  std::size_t remaining = 0;
  // The scan records of plan.digests_to_scan(), by digest; `unread` are those not in memory yet.
  ScanRecordMap scanRecords;
  std::vector<std::string> unread;
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
  pending->deadline = deadline;
  pending->route = route;
  pending->done = std::move(done);
  std::shared_ptr<registry::DigestCache> images;
  std::shared_ptr<PullSecretCache> pullSecrets;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    pending->evaluator = evaluator_;
    pending->scans = scans_;
    pending->signatures = signatures_;
    images = images_;
    pullSecrets = pullSecrets_;
  }

  pending->decoded = admission::decode(std::move(body), pending->evaluator->custom_workloads());
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

  note_missing_pod_spec(pending->decoded.review->request());
  pending->plan = plan_for(*pending->evaluator, pending->decoded.review->request(), route);
  std::vector<image::Reference> refs = pending->plan.refs_to_resolve();
  if (refs.empty() || !images) return resolved(pending);

  // The pod's own pull credentials: from memory when every Secret it names is cached, else read
  // from the apiserver on secretReads_ (never on the caller's thread), then resolved with.
  if (pullSecrets && pending->evaluator->config().rules.images.resolve.pullSecrets) {
    PullSecretRefs wanted = pull_secret_refs(pending->decoded.review->request());
    if (!wanted.empty()) {
      std::optional<std::shared_ptr<const registry::Keyring>> known;
      try {
        known = pullSecrets->cached(wanted);
      } catch (const std::exception& e) {
        known = std::shared_ptr<const registry::Keyring>();  // resolve with the configured files alone
        if (logger_) logger_->line(log::Level::Error, "pull secret lookup failed").str("error", e.what());
      }
      if (known) {
        pending->keyring = *known;
        return start_resolutions(pending, images, refs, known->get(), deadline);
      }
      begin_wait();
      boost::asio::post(*secretReads_, [this, pending, images, refs = std::move(refs), pullSecrets,
                                        wanted = std::move(wanted), deadline] {
        std::shared_ptr<const registry::Keyring> keyring;
        try {
          keyring = pullSecrets->keyring(wanted, deadline);
        } catch (const std::exception& e) {  // not expected (reads report their failures); never fatal here
          if (logger_) logger_->line(log::Level::Error, "pull secret read failed").str("error", e.what());
        }
        pending->keyring = keyring;
        start_resolutions(pending, images, refs, keyring.get(), deadline);
        end_wait();
      });
      return;
    }
  }
  start_resolutions(pending, images, refs, nullptr, deadline);
}

// Resolves the request's images in parallel; the last answer goes on to resolved(). `pod` (the
// request's pull secrets, may be null) is only read while each resolve() chooses its credential.
void Reviewer::start_resolutions(const std::shared_ptr<Pending>& pending,
                                 const std::shared_ptr<registry::DigestCache>& images,
                                 const std::vector<image::Reference>& refs, const registry::Keyring* pod,
                                 std::chrono::steady_clock::time_point deadline) const {
  pending->remaining = refs.size();
  begin_wait();
  for (const auto& ref : refs) {
    images->resolve(ref, pod, deadline, [this, pending, key = ref.canonical()](registry::DigestCache::Result result) {
      bool last = false;
      {
        std::lock_guard<std::mutex> lock(pending->mutex);
        pending->resolutions[key] = std::move(result);
        last = --pending->remaining == 0;
      }
      if (!last) return;
      resolved(pending);
      end_wait();
    });
  }
}

// The resolutions are in: the signatures rules.images.signatures asks for are looked up (cached
// and coalesced by the verifier), then the scan records are read. Records not in memory are read
// from the database on scanReads_, never on the caller's thread (a server I/O thread, or a
// registry thread that other reviews' answers wait on).
void Reviewer::resolved(const std::shared_ptr<Pending>& pending) const {
  std::vector<ImagePlan::SignatureLookup> lookups;
  try {
    pending->plan.resolve(pending->resolutions);
    if (pending->route != Route::Mutate) lookups = pending->plan.signatures_to_verify();  // pinning checks no signatures
  } catch (const std::exception& e) {  // this may run on a registry thread: see finish()
    return pending->done(internal_error(e));
  }
  if (lookups.empty() || !pending->signatures) {
    if (!lookups.empty()) pending->plan.put_signatures({});  // no verifier: each counts as a failed lookup
    return read_scans(pending);
  }
  // The lookups run in parallel; the last answer goes on to the scan step.
  pending->remaining = lookups.size();
  begin_wait();
  auto* verifier = pending->signatures.get();
  for (auto& lookup : lookups) {
    auto credential = verifier->credential_for(lookup.image, pending->keyring.get());
    verifier->verify(lookup.image, lookup.digest, lookup.keys, credential, pending->deadline,
                     [this, pending, key = lookup.key](trust::SignatureVerifier::Result result) {
                       bool last = false;
                       {
                         std::lock_guard<std::mutex> lock(pending->mutex);
                         pending->signatureAnswers[key] = std::move(result);
                         last = --pending->remaining == 0;
                       }
                       if (!last) return;
                       pending->plan.put_signatures(pending->signatureAnswers);
                       read_scans(pending);
                       end_wait();
                     });
  }
}

// The scan records the scan step will read come from memory where the cache has them; the rest
// are read on scanReads_.
void Reviewer::read_scans(const std::shared_ptr<Pending>& pending) const {
  try {
    if (pending->scans && pending->route != Route::Mutate) {  // pinning reads no scans
      for (std::string& digest : pending->plan.digests_to_scan()) {
        if (auto records = pending->scans->lookup_cached(digest)) pending->scanRecords.emplace(std::move(digest), std::move(records));
        else pending->unread.push_back(std::move(digest));
      }
    }
  } catch (const std::exception& e) {  // this may run on a registry thread: see finish()
    return pending->done(internal_error(e));
  }
  if (pending->unread.empty()) return finish(pending);
  begin_wait();
  boost::asio::post(*scanReads_, [this, pending] {
    finish(pending, true);
    end_wait();
  });
}

void Reviewer::finish(const std::shared_ptr<Pending>& pending, bool readScans) const {
  // This may run on a registry thread or the scan-read thread, where an escaping exception would
  // end the process.
  ReviewOutcome outcome;
  try {
    if (readScans)
      for (const std::string& digest : pending->unread) pending->scanRecords[digest] = pending->scans->lookup(digest);
    outcome = judge(pending);
  } catch (const std::exception& e) {
    outcome = internal_error(e);
  }
  pending->done(std::move(outcome));
}

ReviewOutcome Reviewer::internal_error(const std::exception& e) const {
  ReviewOutcome outcome;
  outcome.httpStatus = 500;
  outcome.contentType = "text/plain; charset=utf-8";
  outcome.body = "internal error\n";
  if (logger_) logger_->line(log::Level::Error, "review failed").str("error", e.what());
  return outcome;
}

ReviewOutcome Reviewer::judge(const std::shared_ptr<Pending>& pending) const {
  if (pending->route == Route::Mutate) return mutate(pending);
  const auto& evaluator = pending->evaluator;
  const auto route = pending->route;
  const auto started = pending->started;
  ReviewOutcome outcome;
  const admission::Request& request = pending->decoded.review->request();
  Facts facts;  // the plan has the resolutions; the scan records were read beforehand (resolved())
  if (pending->scans) facts.scans = lookup_in(pending->scanRecords);
  // The namespace's PSA labels: held by `labels` while the Evaluator reads them. A namespace not
  // known yet (a miss, or before the first list) is judged at the configured level, counted.
  NamespaceLookup labels;
  if (namespaceStandards_ && evaluator->config().rules.podSecurity.namespaceLabels) {
    labels = namespaceStandards_->lookup(request.namespace_);
    facts.namespaceStandards = labels.standards.get();
  }
  const Verdict verdict = evaluator->evaluate(request, route, pending->plan, facts);
  outcome.body = admission::encode(to_response(request.uid, verdict));
  outcome.decision = verdict.decision;
  if (ledger_) {
    ledger_->record(request, verdict,
                    std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
  }

  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (metrics_) count_decision(*metrics_, request, verdict, route, seconds);
  if (logger_) log_decision(*logger_, request, verdict, route, seconds, evaluator->config().logging.logAllowed);
  return outcome;
}

// /mutate: the digests the plan resolved go into a JSON Patch; the answer always allows (the
// validating webhook judges the object it produces). Nothing is recorded in the admission ledger:
// the validating review of the same object does that.
ReviewOutcome Reviewer::mutate(const std::shared_ptr<Pending>& pending) const {
  const admission::Request& request = pending->decoded.review->request();
  const PinPlan pins = plan_pins(request, pending->plan);
  admission::Response response;
  response.uid = std::string(request.uid);
  response.allowed = true;
  response.jsonPatch = json_patch(pins.pins);
  ReviewOutcome outcome;
  outcome.body = admission::encode(response);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - pending->started).count();
  if (metrics_) count_mutation(*metrics_, pins, seconds);
  if (logger_) log_mutation(*logger_, request, pins, seconds, pending->evaluator->config().logging.logAllowed);
  return outcome;
}

}  // namespace podgate::policy
