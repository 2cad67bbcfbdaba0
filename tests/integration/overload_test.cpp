// Outages an attacker could cause with little bandwidth (the outside attack review, issue 12):
// a flood of silent connections, request bodies that pile up in memory, and idle clients on the
// metrics port. Each case runs the real `podgate serve` and real TLS clients, and prints what it
// measured. The flood cases take 30 s each ([slow]).

#include <arpa/inet.h>
#include <catch2/catch.hpp>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/helpers.h"
#include "support/https_client.h"
#include "support/process.h"
#include "support/review_body.h"
#include "support/served_podgate.h"
#include "support/temp_dir.h"

namespace pt = podgate::test;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

struct Scrape {
  int status = 0;
  std::string contentType;
  std::string body;
};

// One GET on the plain-HTTP metrics port, as Prometheus scrapes it; throws on failure.
Scrape scrape_once(unsigned short port, const std::string& target = "/metrics", const std::string& method = "GET") {
  namespace http = boost::beast::http;
  boost::asio::io_context io;
  boost::beast::tcp_stream stream(io);
  stream.expires_after(40s);
  stream.connect(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port));
  http::request<http::empty_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::connection, "close");
  http::write(stream, req);
  boost::beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 << 20);
  if (method == "HEAD") parser.skip(true);
  http::read(stream, buffer, parser);
  auto res = parser.release();
  return {static_cast<int>(res.result_int()), std::string(res[http::field::content_type]), res.body()};
}

// Reviews on a fresh TLS connection each, in a loop on its own thread, until stopped: the
// apiserver's traffic while an attack runs.
class ReviewLoop {
 public:
  explicit ReviewLoop(pt::ClientOptions options) : options_(std::move(options)), thread_([this] { run(); }) {}
  ~ReviewLoop() { stop(); }
  void stop() {
    running_ = false;
    if (thread_.joinable()) thread_.join();
  }
  int answered() const { return answered_; }
  int failed() const { return failed_; }
  milliseconds slowest() const { return milliseconds(slowestMs_.load()); }
  std::string first_failure() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return firstFailure_;
  }

 private:
  void run() {
    for (int i = 0; running_; ++i) {
      const std::string uid = "flood-" + std::to_string(i);
      const auto started = Clock::now();
      try {
        pt::HttpsClient client(options_);
        auto r = client.request("POST", "/validate?timeout=10s", pt::clean_review(uid));
        if (r.status == 200 && pt::contains(r.body, "\"uid\":\"" + uid + "\"")) ++answered_;
        else fail("HTTP " + std::to_string(r.status) + ": " + r.body.substr(0, 200));
      } catch (const std::exception& e) {
        fail(e.what());
      }
      slowestMs_ = std::max<long long>(slowestMs_.load(), pt::ms_since(started).count());
      std::this_thread::sleep_for(20ms);
    }
  }
  void fail(const std::string& why) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (failed_++ == 0) firstFailure_ = why;
  }

  pt::ClientOptions options_;
  std::atomic<bool> running_{true};
  std::atomic<int> answered_{0}, failed_{0};
  std::atomic<long long> slowestMs_{0};
  mutable std::mutex mutex_;
  std::string firstFailure_;
  std::thread thread_;  // last: starts once everything above exists
};

// `count` TCP connections from `source` to 127.0.0.1:`port` that never send a byte; any the
// server closes is opened again at the next sweep (every 200 ms), as a flooder would.
class SilentFlood {
 public:
  SilentFlood(std::string source, unsigned short port, int count)
      : source_(std::move(source)), port_(port), fds_(static_cast<std::size_t>(count), -1),
        thread_([this] { run(); }) {}
  ~SilentFlood() {
    running_ = false;
    if (thread_.joinable()) thread_.join();
    for (int fd : fds_)
      if (fd >= 0) ::close(fd);
  }
  long long opened() const { return opened_; }
  int held() const { return held_; }

 private:
  int open_one() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int one = 1;
    // The port is chosen at connect, per destination: tens of thousands of reconnects in 30 s
    // would otherwise run out of ports bound to this source address.
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    sockaddr_in local{};
    local.sin_family = AF_INET;
    inet_pton(AF_INET, source_.c_str(), &local.sin_addr);
    sockaddr_in remote{};
    remote.sin_family = AF_INET;
    remote.sin_port = htons(port_);
    inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 ||
        (::connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof remote) != 0 && errno != EINPROGRESS)) {
      ::close(fd);
      return -1;
    }
    ++opened_;
    return fd;
  }

  void run() {
    std::vector<pollfd> polls(fds_.size());
    while (running_) {
      const auto sweep = Clock::now();
      int held = 0;
      for (std::size_t i = 0; i < fds_.size(); ++i) {
        if (fds_[i] < 0) fds_[i] = open_one();
        held += fds_[i] >= 0 ? 1 : 0;
        polls[i] = {fds_[i], POLLIN | POLLRDHUP, 0};
      }
      held_ = held;
      ::poll(polls.data(), polls.size(), 100);
      for (std::size_t i = 0; i < fds_.size(); ++i) {
        if (fds_[i] < 0 || (polls[i].revents & (POLLIN | POLLRDHUP | POLLHUP | POLLERR)) == 0) continue;
        char c;
        const ssize_t n = ::recv(fds_[i], &c, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
          ::close(fds_[i]);
          fds_[i] = -1;
        }
      }
      std::this_thread::sleep_until(sweep + 200ms);
    }
  }

  std::string source_;
  unsigned short port_;
  std::vector<int> fds_;
  std::atomic<bool> running_{true};
  std::atomic<long long> opened_{0};
  std::atomic<int> held_{0};
  std::thread thread_;  // last
};

struct FloodResult {
  int answered = 0, failed = 0;
  std::string firstFailure;
  std::string metrics;
};

// 1,100 silent connections from `source` for 30 s, reviews on fresh connections meanwhile.
FloodResult run_flood(const std::string& config, const std::string& source, const char* name) {
  pt::ServedPodgate served(config);
  constexpr int kSilent = 1100;
  constexpr auto kDuration = 30s;
  SilentFlood flood(source, served.port, kSilent);
  std::this_thread::sleep_for(1s);  // the flood is in place before the first review
  ReviewLoop reviews(served.client());
  const auto started = Clock::now();
  int most_held = 0;
  while (Clock::now() - started < kDuration) {
    std::this_thread::sleep_for(500ms);
    most_held = std::max(most_held, flood.held());
  }
  reviews.stop();
  FloodResult result{reviews.answered(), reviews.failed(), reviews.first_failure(), scrape_once(served.metricsPort).body};
  std::printf("flood (%s): %d silent connections from %s held for 30 s (%lld opened in all, at most %d open at once): "
              "reviews answered %d, failed %d, slowest %lld ms; rejected max_per_peer %.0f, evicted_handshake %.0f, "
              "evicted_idle %.0f, max_connections %.0f\n",
              name, kSilent, source.c_str(), flood.opened(), most_held, result.answered, result.failed,
              static_cast<long long>(reviews.slowest().count()),
              pt::metric(result.metrics, "podgate_http_connections_rejected_total", {"reason=\"max_per_peer\""}),
              pt::metric(result.metrics, "podgate_http_connections_rejected_total", {"reason=\"evicted_handshake\""}),
              pt::metric(result.metrics, "podgate_http_connections_rejected_total", {"reason=\"evicted_idle\""}),
              pt::metric(result.metrics, "podgate_http_connections_rejected_total", {"reason=\"max_connections\""}));
  std::fflush(stdout);
  return result;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Item 8: one client holding more connections than maxConnections, silent, reopening them.

TEST_CASE("overload: 1100 silent connections from another address for 30 s do not stop reviews",
          "[overload][flood][slow][binary]") {
  REQUIRE(pt::raise_nofile(8192));
  // The flooder at 127.0.0.2, the reviewer at 127.0.0.1: the per-peer cap (default 512) keeps the
  // flooder to its share, whatever the handshake deadline.
  const auto r = run_flood("server:\n  threads: 2\n", "127.0.0.2", "per-peer cap");
  INFO("first failure: " << r.firstFailure);
  CHECK(r.failed == 0);
  CHECK(r.answered >= 20);
  CHECK(pt::metric(r.metrics, "podgate_http_connections_rejected_total", {"reason=\"max_per_peer\""}) > 0);
}

TEST_CASE("overload: 1100 silent connections from the reviewer's own address for 30 s do not stop reviews",
          "[overload][flood][slow][binary]") {
  REQUIRE(pt::raise_nofile(8192));
  // No per-peer cap (one address for everyone, as behind a NAT): the eviction of the oldest
  // connection still in its handshake alone keeps a place for each new review.
  const auto r = run_flood("server:\n  threads: 2\n  limits: {maxConnectionsPerPeer: 0}\n", "127.0.0.1", "eviction only");
  INFO("first failure: " << r.firstFailure);
  CHECK(r.failed == 0);
  CHECK(r.answered >= 20);
  CHECK(pt::metric(r.metrics, "podgate_http_connections_rejected_total", {"reason=\"evicted_handshake\""}) > 0);
}

// ---------------------------------------------------------------------------------------------
// Item 9: request bodies held in memory.

namespace {

// A TLS connection on a blocking socket (shared SSL_CTX) that sends a request's header and all but
// the last byte of its body, then holds: a slow client. Reads the status line if one comes.
class HeldUpload {
 public:
  HeldUpload(SSL_CTX* ctx, unsigned short port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    timeval tv{10, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return;
    ssl_ = SSL_new(ctx);
    SSL_set_fd(ssl_, fd_);
    ok_ = SSL_connect(ssl_) == 1;
  }
  ~HeldUpload() {
    if (ssl_) SSL_free(ssl_);
    if (fd_ >= 0) ::close(fd_);
  }
  // Sends the header, then the body less its last byte; the bytes of the body sent.
  std::size_t send(const std::string& head, std::size_t body_length) {
    if (!ok_ || SSL_write(ssl_, head.data(), static_cast<int>(head.size())) <= 0) return 0;
    const std::string piece(64 * 1024, 'x');
    std::size_t sent = 0;
    while (sent < body_length - 1) {
      const int n = static_cast<int>(std::min(piece.size(), body_length - 1 - sent));
      if (SSL_write(ssl_, piece.data(), n) <= 0) break;  // the server answered and closed
      sent += static_cast<std::size_t>(n);
    }
    return sent;
  }
  // The status of an answer already sent (a refusal before the body), or 0 when none came.
  int status() {
    if (!ssl_) return 0;
    timeval tv{0, 200000};  // an upload still being read has no answer: do not wait long for one
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[64] = {};
    const int n = SSL_read(ssl_, buf, sizeof buf - 1);
    return n >= 12 && std::strncmp(buf, "HTTP/1.1 ", 9) == 0 ? std::atoi(buf + 9) : 0;
  }

 private:
  int fd_ = -1;
  SSL* ssl_ = nullptr;
  bool ok_ = false;
};

}  // namespace

TEST_CASE("overload: wrong-token scan uploads and slow large reviews do not grow memory without bound",
          "[overload][memory][binary]") {
  REQUIRE(pt::raise_nofile(4096));
  signal(SIGPIPE, SIG_IGN);  // writes to connections the server closed after refusing them
  pt::TempDir dir("podgate-overload-memory");
  const std::string token(48, 't');
  pt::write_file(dir.file("token"), token + "\n");
  // A long read deadline, so the slow uploads are held for the whole measurement.
  pt::ServedPodgate served("server:\n  threads: 2\n  limits: {readTimeout: 60s}\nscans:\n  database: \"" +
                           dir.file("scans.db") + "\"\n  apiTokenFile: \"" + dir.file("token") + "\"\n");
  for (int i = 0; i < 5; ++i) REQUIRE(served.validate(pt::clean_review("warm-" + std::to_string(i))).status == 200);
  std::this_thread::sleep_for(500ms);
  const long idle_kib = pt::rss_kib(served.process->pid());
  REQUIRE(idle_kib > 0);

  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  constexpr int kScans = 40, kReviews = 64;
  constexpr std::size_t kScanBytes = 16u << 20, kReviewBytes = 3u << 20;
  std::vector<std::unique_ptr<HeldUpload>> held(kScans + kReviews);
  std::vector<int> statuses(kScans + kReviews, 0);
  std::atomic<int> next{0};
  ReviewLoop reviews(served.client());
  const auto started = Clock::now();
  std::vector<std::thread> loaders;
  for (int t = 0; t < 8; ++t) {
    loaders.emplace_back([&] {
      for (int i; (i = next++) < kScans + kReviews;) {
        held[i] = std::make_unique<HeldUpload>(ctx, served.port);
        const bool scan = i < kScans;
        const std::string head =
            scan ? "POST /v1/scans HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong-" + token +
                       "\r\nContent-Length: " + std::to_string(kScanBytes) + "\r\n\r\n"
                 : "POST /validate HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(kReviewBytes) + "\r\n\r\n";
        held[i]->send(head, scan ? kScanBytes : kReviewBytes);
      }
    });
  }
  for (auto& l : loaders) l.join();
  const auto loaded_in = pt::ms_since(started);
  // Both loads are in place: the peak over the next 3 s, while reviews go on.
  long peak_kib = 0;
  for (int i = 0; i < 30; ++i) {
    peak_kib = std::max(peak_kib, pt::rss_kib(served.process->pid()));
    std::this_thread::sleep_for(100ms);
  }
  reviews.stop();
  for (int i = 0; i < kScans + kReviews; ++i) statuses[i] = held[i]->status();
  const auto text = scrape_once(served.metricsPort).body;
  const long growth_mib = (peak_kib - idle_kib) / 1024;
  const int scans_401 = static_cast<int>(std::count(statuses.begin(), statuses.begin() + kScans, 401));
  const int reviews_503 = static_cast<int>(std::count(statuses.begin() + kScans, statuses.end(), 503));
  std::printf("body memory: idle RSS %ld MiB, peak %ld MiB under %d wrong-token 16 MiB scan uploads and %d slow 3 MiB "
              "reviews (loaded in %lld ms): growth %ld MiB; scans refused 401: %d; reviews refused 503: %d (budget "
              "rejections %.0f, bytes held %.0f); small reviews on fresh connections answered %d, failed %d\n",
              idle_kib / 1024, peak_kib / 1024, kScans, kReviews, static_cast<long long>(loaded_in.count()), growth_mib,
              scans_401, reviews_503, pt::metric(text, "podgate_http_body_budget_rejections_total"),
              pt::metric(text, "podgate_http_buffered_body_bytes"), reviews.answered(), reviews.failed());
  std::fflush(stdout);
  SSL_CTX_free(ctx);
  INFO("first failure: " << reviews.first_failure());
  // Under AddressSanitizer the served binary keeps freed blocks in ASan's quarantine (256 MiB by
  // default) and adds shadow memory and redzones, so its RSS measures the sanitizer, not podgate:
  // the bound is asserted in the normal build. The budget's own bound (bytes held, below) and
  // every review being answered are asserted in both.
#if defined(__SANITIZE_ADDRESS__)
  WARN("RSS growth " << growth_mib << " MiB not asserted under AddressSanitizer");
#else
  CHECK(growth_mib < 128);
#endif
  CHECK(reviews.failed() == 0);
  CHECK(reviews.answered() >= 5);
  // Every wrong token was refused from the header (the statuses read back are informative: a
  // reset after the server's close may swallow an answer).
  CHECK(pt::metric(text, "podgate_scan_api_auth_failures_total", {"reason=\"invalid\""}) == kScans);
  CHECK(pt::metric(text, "podgate_http_requests_total", {"route=\"scans\"", "code=\"401\""}) == kScans);
  CHECK(pt::metric(text, "podgate_http_body_budget_rejections_total") > 0);
  CHECK(pt::metric(text, "podgate_http_buffered_body_bytes") <= 32 << 20);
}

// ---------------------------------------------------------------------------------------------
// Item 10: idle clients on the metrics port.

TEST_CASE("overload: idle connections to the metrics port do not stall scrapes", "[overload][metrics][binary]") {
  pt::ServedPodgate served("server:\n  threads: 2\n");
  auto timed_scrape = [&] {
    const auto started = Clock::now();
    const Scrape s = scrape_once(served.metricsPort);
    return std::make_pair(s, pt::ms_since(started));
  };
  for (const int idle : {1, 50, 200}) {
    std::vector<std::unique_ptr<pt::RawConnection>> stuck;
    for (int i = 0; i < idle; ++i) stuck.push_back(std::make_unique<pt::RawConnection>("127.0.0.1", served.metricsPort));
    // Half of them send part of a request and stall, the rest send nothing.
    for (int i = 0; i < idle; i += 2) stuck[i]->send("GET /metr");
    std::this_thread::sleep_for(100ms);
    const auto [scrape, took] = timed_scrape();
    std::printf("metrics: a scrape with %d stuck connections open took %lld ms\n", idle,
                static_cast<long long>(took.count()));
    std::fflush(stdout);
    INFO(idle << " stuck connections");
    CHECK(scrape.status == 200);
    CHECK(pt::contains(scrape.body, "podgate_build_info"));
    CHECK(took < 5000ms);  // it took 30 s with civetweb's exposer and one stuck connection
  }
}

TEST_CASE("overload: the metrics listener answers only GET and HEAD /metrics, and drops stuck clients",
          "[overload][metrics][binary]") {
  pt::ServedPodgate served("server:\n  threads: 2\n");
  const Scrape get = scrape_once(served.metricsPort);
  CHECK(get.status == 200);
  CHECK(get.contentType == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(pt::contains(get.body, "# TYPE podgate_http_connections_open gauge"));
  const Scrape head = scrape_once(served.metricsPort, "/metrics", "HEAD");
  CHECK(head.status == 200);
  CHECK(head.body.empty());
  CHECK(scrape_once(served.metricsPort, "/metrics?x=1").status == 200);
  CHECK(scrape_once(served.metricsPort, "/").status == 404);
  CHECK(scrape_once(served.metricsPort, "/metricsx").status == 404);
  CHECK(scrape_once(served.metricsPort, "/metrics", "POST").status == 405);
  CHECK(scrape_once(served.metricsPort, "/metrics", "DELETE").status == 405);

  // A client that never finishes its request is closed at the read deadline (5 s).
  pt::RawConnection stuck("127.0.0.1", served.metricsPort);
  stuck.send("GET /metrics HTTP/1.1\r\nHost: x\r\n");
  const auto started = Clock::now();
  CHECK(stuck.wait_for_close(15s));
  CHECK(pt::ms_since(started) >= 3000ms);
  // And a header block over the cap is refused.
  pt::RawConnection big("127.0.0.1", served.metricsPort);
  big.send("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(16 * 1024, 'a') + "\r\n\r\n");
  CHECK(big.wait_for_close(10s));
}
