#pragma once
// The scan cache over HTTPS, on the webhook's own port:
//   POST /v1/scans            a Trivy, Grype or podgate-verdict report; answers what was stored
//   GET  /v1/scans/<digest>   what podgate knows about a digest
// Both need `Authorization: Bearer <token>`, the token read from a file and compared in constant
// time. The API is off (404) when no token file is configured: an unauthenticated import would
// let anyone mark a backdoored image clean.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "log/log.h"
#include "metrics/metrics.h"
#include "scan/store.h"

namespace podgate::server {

struct HttpResponse;

// Reads a bearer token file: surrounding whitespace (the trailing newline of `echo`) is dropped;
// a token shorter than kMinTokenBytes, one over 4 KiB, or one with control characters is refused.
// Throws std::runtime_error naming the file and the rule (never the token). With a logger, warns
// when the file is readable by group or others.
inline constexpr std::size_t kMinTokenBytes = 32;
std::string load_api_token(const std::string& path, log::Logger* logger = nullptr);

class ScanApi {
 public:
  ScanApi(std::shared_ptr<scan::Store> store, std::string token, std::size_t maxReportBytes, metrics::Metrics* metrics,
          log::Logger* logger);

  std::size_t max_report_bytes() const { return maxReportBytes_; }
  // True for the targets this API answers (/v1/scans and below).
  static bool handles(std::string_view target);
  HttpResponse handle(std::string_view method, std::string_view target, std::string_view authorization,
                      std::string body) const;
  // The 401 for a missing or wrong token (counted in podgate_scan_api_auth_failures_total and
  // logged, at most one line per 10 s with the count of those not logged), else nullopt. The
  // server calls it from the request's header, so a refused upload is never read.
  std::optional<HttpResponse> refuse_unauthorized(std::string_view authorization) const;

 private:
  bool authorized(std::string_view authorization) const;
  void note_auth_failure(const char* reason) const;
  HttpResponse import(std::string body) const;
  HttpResponse show(std::string_view digest) const;
  void refresh_store_gauges() const;

  std::shared_ptr<scan::Store> store_;
  std::string token_;
  std::size_t maxReportBytes_;
  metrics::Metrics* metrics_;
  log::Logger* logger_;
  mutable std::atomic<std::int64_t> lastGaugeRefresh_{0};  // steady_clock ticks; 0 = never
  // Failed authentications are logged at most once per interval; the rest are counted for the next line.
  mutable std::mutex authLogMutex_;
  mutable std::chrono::steady_clock::time_point lastAuthLog_{};
  mutable long long authFailuresNotLogged_ = 0;
};

}  // namespace podgate::server
