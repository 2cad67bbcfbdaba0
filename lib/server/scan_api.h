#pragma once
// The scan cache over HTTPS, on the webhook's own port:
//   POST /v1/scans            a Trivy, Grype or podgate-verdict report; answers what was stored
//   GET  /v1/scans/<digest>   what podgate knows about a digest
//   GET  /v1/scans/wanted?limit=N   the digests that run or were admitted with no fresh scan
//                             (lib/audit/wanted.h), from the source the continuous audit sets
// All need `Authorization: Bearer <token>`, the token read from a file and compared in constant
// time. The API is off (404) when no token file is configured: an unauthenticated import would
// let anyone mark a backdoored image clean.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "log/log.h"
#include "metrics/metrics.h"
#include "scan/store.h"

namespace boost::asio {
class thread_pool;
}

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
  ~ScanApi();  // waits for the requests in hand (wait_idle)
  ScanApi(const ScanApi&) = delete;
  ScanApi& operator=(const ScanApi&) = delete;

  std::size_t max_report_bytes() const { return maxReportBytes_; }
  // The body of GET /v1/scans/wanted (audit::wanted_json) for at most `limit` digests; called on
  // the API's thread, so it may read the scan store. May throw (answered 503). Unset (the audit
  // off): the route answers 404 saying so.
  using WantedSource = std::function<std::string(std::size_t limit)>;
  void set_wanted_source(WantedSource source);
  static constexpr std::size_t kWantedDefaultLimit = 500;
  static constexpr std::size_t kWantedMaxLimit = 10000;
  // True for the targets this API answers (/v1/scans and below).
  static bool handles(std::string_view target);
  HttpResponse handle(std::string_view method, std::string_view target, std::string_view authorization,
                      std::string body) const;
  // The same on the API's own thread, answering through `done` there: an import is a SQLite
  // transaction with an fsync and a lookup may read the database, and neither may hold a server
  // worker (whose other connections would wait). Requests are served one at a time, in order.
  // The token is checked on the caller's thread (a refusal is answered there).
  void handle_async(std::string method, std::string target, std::string_view authorization, std::string body,
                    std::function<void(HttpResponse)> done) const;
  // Blocks until no request is in hand. The server calls it at shutdown before its connections
  // (which the answers go to) are destroyed.
  void wait_idle() const;
  // The 401 for a missing or wrong token (counted in podgate_scan_api_auth_failures_total and
  // logged, at most one line per 10 s with the count of those not logged), else nullopt. The
  // server calls it from the request's header, so a refused upload is never read.
  std::optional<HttpResponse> refuse_unauthorized(std::string_view authorization) const;

 private:
  bool authorized(std::string_view authorization) const;
  void note_auth_failure(const char* reason) const;
  HttpResponse serve(std::string_view method, std::string_view target, std::string body) const;  // authorized
  HttpResponse import(std::string body) const;
  HttpResponse show(std::string_view digest) const;
  HttpResponse wanted(std::string_view query) const;
  void refresh_store_gauges() const;

  std::shared_ptr<scan::Store> store_;
  std::string token_;
  std::size_t maxReportBytes_;
  metrics::Metrics* metrics_;
  log::Logger* logger_;
  mutable std::mutex wantedMutex_;  // guards wanted_: the wiring may set it while the server runs
  std::shared_ptr<const WantedSource> wanted_;
  mutable std::atomic<std::int64_t> lastGaugeRefresh_{0};  // steady_clock ticks; 0 = never
  // Failed authentications are logged at most once per interval; the rest are counted for the next line.
  mutable std::mutex authLogMutex_;
  mutable std::chrono::steady_clock::time_point lastAuthLog_{};
  mutable long long authFailuresNotLogged_ = 0;
  mutable std::mutex idleMutex_;  // guards inHand_
  mutable std::condition_variable idle_;
  mutable std::size_t inHand_ = 0;
  std::unique_ptr<boost::asio::thread_pool> worker_;  // last: destroyed (joined) first
};

}  // namespace podgate::server
