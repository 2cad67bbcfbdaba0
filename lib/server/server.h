#pragma once
// The HTTPS admission server on Boost.Beast: TLS with hot certificate reload, strict limits on
// every input, routes, and a graceful drain on stop().

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.h"
#include "log/log.h"
#include "metrics/metrics.h"
#include "policy/review.h"

namespace podgate::server {

// Pure request routing, with no sockets: the single entry point for every HTTP request, so tests
// and fuzzers drive exactly what the server runs.
struct HttpRequest {
  std::string_view method;   // "POST"
  std::string_view target;   // "/validate?timeout=10s"
  std::string body;
  std::string_view authorization;  // the Authorization header ("" when absent); only /v1/scans reads it
};
struct HttpResponse {
  int status = 200;
  std::string contentType = "application/json";
  std::string body;
  std::string allow;            // the Allow header of a 405 ("POST"); empty: no header
  std::string wwwAuthenticate;  // the WWW-Authenticate header of a 401; empty: no header
  std::string retryAfter;       // the Retry-After header of a 503 ("1"); empty: no header
};

class ScanApi;

// Routes (on the path only; the query is read for ?timeout= alone):
//   POST /validate, POST /audit, POST /mutate -> the Reviewer (200 AdmissionReview, or 400 for an
//                                   unusable body); /mutate answers with a digest-pinning patch
//   GET|HEAD /healthz            -> 200 "ok"
//   GET|HEAD /readyz             -> 200 "ok", or 503 "draining" once the server is draining, or 503
//                                   "not ready: <why>" while the readiness check says why (the
//                                   shared scan state not synced yet)
//   /v1/scans, /v1/scans/<digest>, /v1/scans/wanted -> the ScanApi (scan_api.h), when one is given;
//                                   else 404
//   a known path, other method   -> 405 with Allow; anything else -> 404
// Content-Type is not checked: the apiserver always sends JSON, and the body decoder gives a clear
// 400 for anything that is not an AdmissionReview. Never throws: an unexpected error is a 500.
// Counts podgate_http_requests_total{route,code} with route in validate|audit|mutate|healthz|readyz|scans|other.
class Router {
 public:
  Router(const policy::Reviewer& reviewer, metrics::Metrics* metrics, const std::atomic<bool>& draining,
         std::chrono::milliseconds default_review_timeout = std::chrono::seconds(10), const ScanApi* scans = nullptr);
  // The body limit for a request to `target`: scans.maxReportBytes for the scan API, else `fallback`.
  std::size_t body_limit(std::string_view target, std::size_t fallback) const;
  // The answer to a request that can be refused from its header alone, before its body is read:
  // a scan API request without the right token (401). nullopt: read the body and call handle_async.
  // Does not count podgate_http_requests_total (the caller sends it and counts it).
  std::optional<HttpResponse> refuse_before_body(std::string_view target, std::string_view authorization) const;
  // Answers a request. `done` is called exactly once: inline for everything that needs no registry,
  // later (on a registry thread) for a review whose images are being resolved. Never throws.
  using Completion = std::function<void(HttpResponse)>;
  void handle_async(HttpRequest request, Completion done) const;
  // The same, waiting for the answer (tests, fuzzers).
  HttpResponse handle(HttpRequest request) const;
  // What /readyz asks besides draining: "" when ready, else why not. Set before serving.
  using ReadinessCheck = std::function<std::string()>;
  void set_readiness(ReadinessCheck check) { readiness_ = std::move(check); }

 private:
  const policy::Reviewer& reviewer_;
  metrics::Metrics* metrics_;
  const std::atomic<bool>& draining_;
  std::chrono::milliseconds defaultReviewTimeout_;
  const ScanApi* scans_;
  ReadinessCheck readiness_;
};

// The "?timeout=10s" the apiserver appends, as a duration; fallback when absent or unparsable.
// Accepts Go duration syntax ("10s", "500ms", "1m", "1m30s", "2.5s"); a parsed value is clamped to
// [100ms, 30s] (the apiserver's webhook timeouts are 1..30 s).
std::chrono::milliseconds parse_timeout_query(std::string_view target, std::chrono::milliseconds fallback);

// The internal deadline for a review that the apiserver waits `timeout` for: a margin before it
// (10% of the timeout, at least 100 ms, at most half the timeout), so the answer still arrives.
std::chrono::steady_clock::time_point review_deadline(std::chrono::steady_clock::time_point now,
                                                      std::chrono::milliseconds timeout);

// The metric label of a request target: validate|audit|mutate|healthz|readyz|scans|other.
std::string_view route_label(std::string_view target);

class Server {
 public:
  // Binds the listener and loads the certificate now, so errors surface before run().
  // Throws std::runtime_error with a clear message (bad address, unreadable cert, port in use).
  //
  // Certificates: the files are checked every tls.reloadInterval (following symlinks, so a
  // Kubernetes Secret volume's "..data" swap is seen); a changed set that loads completely and whose
  // key matches replaces the context for new connections, while open connections keep theirs.
  // podgate_tls_certificate_reloads_total counts reloads after start-up only (the initial load is
  // not a reload); the expiry gauge is set on every load, the initial one included.
  // `scans` (may be null: the scan API is off) must outlive the server.
  Server(const config::ServerConfig& config, const policy::Reviewer& reviewer, metrics::Metrics& metrics,
         log::Logger& logger, const ScanApi* scans = nullptr);
  ~Server();

  // Serves until stop() has drained every connection. Returns normally after a graceful drain.
  void run();
  // Begins the graceful drain: stop accepting, finish in-flight requests, close idle keep-alive
  // connections, then let run() return. Safe to call from any thread, more than once.
  void stop();

  unsigned short port() const;  // the bound port (useful with listen ":0")
  bool ready() const;           // false once draining
  // See Router::set_readiness; call before run().
  void set_readiness(Router::ReadinessCheck check);
  // Connections past their handshake (or still in it) whose first request byte the server has not
  // read yet: the ones that may give way at maxConnections. What a test waits on before it relies
  // on which connections are evictable.
  std::size_t awaiting_first_request() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace podgate::server
