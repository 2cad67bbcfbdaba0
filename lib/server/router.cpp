// Request routing and the ?timeout= query: pure functions of the request, no sockets.

#include <algorithm>
#include <atomic>
#include <future>
#include <exception>
#include <new>

#include "server/server.h"
#include "server/scan_api.h"
#include "util/duration.h"

namespace podgate::server {

namespace {

using std::chrono::milliseconds;

constexpr milliseconds kMinReviewTimeout{100};
constexpr milliseconds kMaxReviewTimeout{30000};

std::string_view path_of(std::string_view target) {
  auto query = target.find('?');
  return query == std::string_view::npos ? target : target.substr(0, query);
}

HttpResponse text(int status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.contentType = "text/plain; charset=utf-8";
  response.body = std::move(body);
  return response;
}

HttpResponse method_not_allowed(std::string allow) {
  HttpResponse response = text(405, "method not allowed\n");
  response.allow = std::move(allow);
  return response;
}

}  // namespace

std::string_view route_label(std::string_view target) {
  auto path = path_of(target);
  if (path == "/validate") return "validate";
  if (path == "/audit") return "audit";
  if (path == "/mutate") return "mutate";
  if (path == "/healthz") return "healthz";
  if (path == "/readyz") return "readyz";
  if (path == "/v1/scans" || path.starts_with("/v1/scans/")) return "scans";
  return "other";
}

milliseconds parse_timeout_query(std::string_view target, milliseconds fallback) {
  auto query_start = target.find('?');
  if (query_start == std::string_view::npos) return fallback;
  std::string_view query = target.substr(query_start + 1);
  auto fragment = query.find('#');
  if (fragment != std::string_view::npos) query = query.substr(0, fragment);
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    auto eq = pair.find('=');
    if (eq == std::string_view::npos || pair.substr(0, eq) != "timeout") continue;
    // Go's time.ParseDuration without the sign (the apiserver never sends one), bounded in length.
    const std::string_view text = pair.substr(eq + 1);
    const auto parsed = text.size() <= 32 && !text.starts_with('+') && !text.starts_with('-')
                            ? util::parse_go_duration(text)
                            : std::nullopt;
    if (!parsed) return fallback;
    const double ms = static_cast<double>(parsed->nanos) / 1e6;
    auto value = milliseconds(static_cast<long long>(std::min(ms, 1e12)));
    return std::clamp(value, kMinReviewTimeout, kMaxReviewTimeout);
  }
  return fallback;
}

std::chrono::steady_clock::time_point review_deadline(std::chrono::steady_clock::time_point now,
                                                      milliseconds timeout) {
  milliseconds margin = std::min(std::max(timeout / 10, milliseconds(100)), timeout / 2);
  return now + (timeout - margin);
}

Router::Router(const policy::Reviewer& reviewer, metrics::Metrics* metrics, const std::atomic<bool>& draining,
               milliseconds default_review_timeout, const ScanApi* scans)
    : reviewer_(reviewer), metrics_(metrics), draining_(draining), defaultReviewTimeout_(default_review_timeout),
      scans_(scans) {}

std::size_t Router::body_limit(std::string_view target, std::size_t fallback) const {
  return scans_ && ScanApi::handles(target) ? scans_->max_report_bytes() : fallback;
}

std::optional<HttpResponse> Router::refuse_before_body(std::string_view target, std::string_view authorization) const {
  if (!scans_ || !ScanApi::handles(target)) return std::nullopt;
  return scans_->refuse_unauthorized(authorization);
}

HttpResponse Router::handle(HttpRequest request) const {
  std::promise<HttpResponse> promise;
  auto future = promise.get_future();
  handle_async(std::move(request), [&promise](HttpResponse response) { promise.set_value(std::move(response)); });
  return future.get();
}

void Router::handle_async(HttpRequest request, Completion done) const {
  const std::string_view label = route_label(request.target);
  // Counts the answer, then hands it over; a metric that cannot be counted must not turn an
  // answer into a failure.
  // Once only: an exception thrown after the reviewer answered must not answer twice.
  struct Once {
    Completion complete;
    std::atomic<bool> used{false};
  };
  auto once = std::make_shared<Once>();
  once->complete = std::move(done);
  auto answer = [this, label, once](HttpResponse response) {
    if (once->used.exchange(true)) return;
    if (metrics_) {
      try {
        metrics_->count_http_request(label, response.status);
      } catch (const std::exception&) {
      }
    }
    once->complete(std::move(response));
  };
  HttpResponse response;
  try {
    const bool get = request.method == "GET" || request.method == "HEAD";
    if (label == "validate" || label == "audit" || label == "mutate") {
      if (request.method != "POST") {
        response = method_not_allowed("POST");
      } else {
        auto timeout = parse_timeout_query(request.target, defaultReviewTimeout_);
        auto deadline = review_deadline(std::chrono::steady_clock::now(), timeout);
        auto route = label == "validate" ? policy::Route::Validate
                     : label == "audit"  ? policy::Route::Audit
                                         : policy::Route::Mutate;
        reviewer_.review_async(std::move(request.body), route, deadline, [answer](policy::ReviewOutcome outcome) {
          HttpResponse r;
          r.status = outcome.httpStatus;
          r.contentType = std::move(outcome.contentType);
          r.body = std::move(outcome.body);
          answer(std::move(r));
        });
        return;
      }
    } else if (label == "scans" && scans_) {
      // On the scan API's own thread: imports write the database, and a worker never waits on it.
      scans_->handle_async(std::string(request.method), std::string(request.target), request.authorization,
                           std::move(request.body), answer);
      return;
    } else if (label == "healthz") {
      response = get ? text(200, "ok\n") : method_not_allowed("GET, HEAD");
    } else if (label == "readyz") {
      if (!get) {
        response = method_not_allowed("GET, HEAD");
      } else {
        const std::string why = readiness_ ? readiness_() : std::string();
        response = draining_.load(std::memory_order_relaxed) ? text(503, "draining\n")
                   : why.empty()                             ? text(200, "ok\n")
                                                             : text(503, "not ready: " + why + "\n");
      }
    } else {
      response = text(404, "not found\n");
    }
  } catch (const std::bad_alloc&) {
    response = text(500, "out of memory\n");
  } catch (const std::exception&) {
    response = text(500, "internal error\n");
  }
  answer(std::move(response));
}

}  // namespace podgate::server
