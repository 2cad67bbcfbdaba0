// The server's request handling without sockets, as a Session runs it: raw bytes go through the
// session's own Beast parser (server::detail::RequestParser) with the configured header and body
// limits, each complete request goes to Router::handle (the single entry point for every route:
// /validate, /audit, /healthz, /readyz and the /v1/scans API), and keep-alive requests pipelined
// behind it are served in turn. Invariants: the Router answers every parsed request with a known
// status, a 405 names the allowed methods and a 401 asks for a bearer token.

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fuzz_check.h"
#include "metrics/metrics.h"
#include "policy/policy.h"
#include "policy/review.h"
#include "scan/store.h"
#include "server/scan_api.h"
#include "server/server.h"
#include "server/session.h"

namespace {

namespace http = boost::beast::http;
using podgate::server::detail::RequestData;
using podgate::server::detail::RequestParser;

// The bearer token the seeds and the dictionary carry, so the fuzzer reaches the import code.
constexpr std::string_view kToken = "fuzz-token";

// The scan cache behind /v1/scans, in memory and bounded so a long run does not grow without end
// (SQLite's fsync per import would also make each run slow). Keeps the latest scan per
// (digest, scanner), as the SQLite store does.
class MemoryStore final : public podgate::scan::Store {
 public:
  std::vector<podgate::scan::PutOutcome> put(const std::vector<podgate::scan::ScanRecord>& records) override {
    std::lock_guard lock(mutex_);
    if (records_.size() > 1000) records_.clear();
    std::vector<podgate::scan::PutOutcome> out;
    for (const auto& record : records) {
      auto& slot = records_[{record.digest, record.scanner}];
      const bool stored = slot.digest.empty() || record.scannedAt > slot.scannedAt;
      if (stored) slot = record;
      out.push_back({record.digest, record.scanner, stored});
    }
    return out;
  }
  std::vector<podgate::scan::ScanRecord> get(std::string_view digest) override {
    std::lock_guard lock(mutex_);
    std::vector<podgate::scan::ScanRecord> out;
    for (auto it = records_.lower_bound({std::string(digest), ""}); it != records_.end() && it->first.first == digest; ++it)
      out.push_back(it->second);
    return out;
  }
  std::vector<podgate::scan::Summary> list(std::size_t, std::size_t) override { return {}; }
  podgate::scan::StoreStats stats() override {
    std::lock_guard lock(mutex_);
    podgate::scan::StoreStats s;
    s.records = static_cast<std::int64_t>(records_.size());
    return s;
  }

 private:
  std::mutex mutex_;
  std::map<std::pair<std::string, std::string>, podgate::scan::ScanRecord> records_;
};

struct Server {
  podgate::config::Config config;
  podgate::metrics::Metrics metrics;
  podgate::policy::Reviewer reviewer{std::make_shared<const podgate::policy::Evaluator>(config), &metrics, nullptr};
  podgate::server::ScanApi scans{std::make_shared<MemoryStore>(), std::string(kToken), config.scans.maxReportBytes,
                                 &metrics, nullptr};
  std::atomic<bool> draining{false};
  podgate::server::Router router{reviewer, &metrics, draining, config.server.defaultReviewTimeout, &scans};
};

Server& server() {
  static Server instance;
  return instance;
}

bool known_status(int status) {
  switch (status) {
    case 200: case 201: case 400: case 401: case 404: case 405: case 413: case 422: case 500: case 503: return true;
    default: return false;
  }
}

// Feeds `in` to the parser until it reaches `header_only ? header done : message done`, as Beast's
// read and read_header do; all the input there is has arrived, so "need more" means end of stream.
void feed(RequestParser& parser, std::string_view& in, boost::system::error_code& ec, bool header_only) {
  while (!(header_only ? parser.is_header_done() : parser.is_done())) {
    if (in.empty()) {
      parser.put_eof(ec);
      return;
    }
    const std::size_t used = parser.put(boost::asio::buffer(in.data(), in.size()), ec);
    in.remove_prefix(used);
    if (ec == http::error::need_more) {
      ec = {};
      if (used == 0) in = {};  // the rest is a fragment that can only be finished by more bytes
      continue;
    }
    if (ec) return;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Server& s = server();
  const auto& limits = s.config.server.limits;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  RequestData request;
  while (!in.empty()) {
    request.reset();
    RequestParser parser(request);
    // The limits Session::read_request sets: the header limit, and the largest body any route takes.
    parser.header_limit(static_cast<std::uint32_t>(limits.maxHeaderBytes));
    parser.body_limit(std::max(s.router.body_limit("/v1/scans", limits.maxBodyBytes), limits.maxBodyBytes));
    boost::system::error_code ec;
    feed(parser, in, ec, true);
    if (ec) return 0;  // the session answers 400/413/431/505 itself or closes; the Router never sees it
    // Session::on_header: the route's own body limit, refused before the body is read.
    const std::size_t limit = s.router.body_limit(request.target, limits.maxBodyBytes);
    if (const auto length = parser.content_length(); length && *length > limit) return 0;
    parser.body_limit(limit);
    parser.eager(true);
    feed(parser, in, ec, false);
    if (ec) return 0;

    const auto response = s.router.handle(
        podgate::server::HttpRequest{request.method, request.target, std::move(request.body), request.authorization});
    FUZZ_CHECK(known_status(response.status));
    FUZZ_CHECK(!response.contentType.empty());
    if (response.status == 405) FUZZ_CHECK(!response.allow.empty());
    if (response.status == 401) FUZZ_CHECK(!response.wwwAuthenticate.empty());
    if (!parser.keep_alive()) break;  // the session writes the answer and closes
  }
  return 0;
}
