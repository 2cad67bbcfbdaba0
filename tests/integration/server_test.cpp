// The HTTPS server in-process, on 127.0.0.1:0 with generated certificates, driven by a real TLS
// client: reviews, limits (413, 431, half-open connections, max connections, idle keep-alive),
// certificate rotation, client certificates, TLS versions and the graceful drain.

#include <catch2/catch.hpp>
#include <fcntl.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "config/config.h"
#include "log/log.h"
#include "metrics/metrics.h"
#include "policy/policy.h"
#include "policy/review.h"
#include "server/server.h"
#include "support/helpers.h"
#include "support/https_client.h"
#include "support/process.h"
#include "support/review_body.h"
#include "support/temp_dir.h"
#include "support/tls_certs.h"

using namespace std::chrono_literals;
namespace pt = podgate::test;
using Clock = std::chrono::steady_clock;

namespace {

// The value of one series in the text exposition ("name{labels}"), 0 when absent.
double metric(const podgate::metrics::Metrics& metrics, const std::string& series) {
  std::istringstream text(metrics.serialize());
  std::string line;
  while (std::getline(text, line)) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return 0;
}

// The value of the first "uid" key in a JSON text (request.uid in an AdmissionReview).
std::string first_uid(const std::string& json) {
  auto key = json.find("\"uid\"");
  if (key == std::string::npos) return "";
  auto open = json.find('"', json.find(':', key) + 1);
  auto close = open == std::string::npos ? open : json.find('"', open + 1);
  if (close == std::string::npos) return "";
  return json.substr(open + 1, close - open - 1);
}

// Polls `condition` until it holds or `timeout` passes.
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return condition();
}

// A Server on 127.0.0.1:0 with a fresh CA and leaf, running on its own thread, logging to a file.
struct Harness {
  using Customize = std::function<void(podgate::config::ServerConfig&, Harness&)>;

  explicit Harness(const Customize& customize = {}) {
    certs = pt::write_server_certificate(ca, dir.path());
    config.listen = "127.0.0.1:0";
    config.threads = 2;
    config.tls.certFile = certs.certFile;
    config.tls.keyFile = certs.keyFile;
    config.limits.readTimeout = 5s;
    config.limits.writeTimeout = 5s;
    config.limits.idleTimeout = 30s;
    config.shutdownGracePeriod = 10s;
    if (customize) customize(config, *this);
    logFd = ::open(dir.file("server.log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    logger = std::make_unique<podgate::log::Logger>(logFd, podgate::log::Level::Debug);
    reviewer = std::make_unique<podgate::policy::Reviewer>(
        std::make_shared<const podgate::policy::Evaluator>(podgate::config::Config{}), &metrics, logger.get());
    server = std::make_unique<podgate::server::Server>(config, *reviewer, metrics, *logger);
    runner = std::thread([this] {
      server->run();
      runReturned = true;
    });
  }

  ~Harness() {
    if (runner.joinable()) {
      server->stop();
      runner.join();
    }
    server.reset();
    ::close(logFd);
  }

  // stop(), then wait for run() to return; false when it did not within `timeout`.
  bool stop_and_wait(std::chrono::milliseconds timeout = 20s) {
    server->stop();
    return wait_run_returned(timeout);
  }
  bool wait_run_returned(std::chrono::milliseconds timeout) {
    bool returned = eventually([&] { return runReturned.load(); }, timeout);
    if (returned && runner.joinable()) runner.join();
    return returned;
  }

  pt::ClientOptions client() const {
    pt::ClientOptions options;
    options.port = server->port();
    options.caFile = certs.caFile;
    return options;
  }

  std::string log_text() const { return pt::read_file(dir.file("server.log")); }

  pt::TempDir dir;
  pt::CertificateAuthority ca;
  pt::ServerCertFiles certs;
  podgate::config::ServerConfig config;
  podgate::metrics::Metrics metrics;
  int logFd = -1;
  std::unique_ptr<podgate::log::Logger> logger;
  std::unique_ptr<podgate::policy::Reviewer> reviewer;
  std::unique_ptr<podgate::server::Server> server;
  std::atomic<bool> runReturned{false};
  std::thread runner;
};

// A thread sending reviews in a loop, on a fresh connection each time or on one reused connection,
// counting successes and failures and the server certificates it saw.
class RequestLoop {
 public:
  RequestLoop(pt::ClientOptions options, bool reuse) : thread_([this, options, reuse] { run(options, reuse); }) {}
  ~RequestLoop() { stop(); }

  void stop() {
    running_ = false;
    if (thread_.joinable()) thread_.join();
  }
  int ok() const { return ok_; }
  int failures() const { return failures_; }
  std::string first_failure() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return firstFailure_;
  }
  std::set<std::string> serials() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return serials_;
  }

 private:
  void run(const pt::ClientOptions& options, bool reuse) {
    std::unique_ptr<pt::HttpsClient> client;
    for (int i = 0; running_; ++i) {
      const std::string uid = "loop-" + std::to_string(i);
      try {
        if (!client || !reuse) client = std::make_unique<pt::HttpsClient>(options);
        auto response = client->request("POST", "/validate?timeout=10s", pt::pod_review(uid));
        std::lock_guard<std::mutex> lock(mutex_);
        serials_.insert(client->peer_serial());
        if (response.status == 200 && pt::contains(response.body, "\"uid\":\"" + uid + "\"")) {
          ++ok_;
        } else {
          fail("status " + std::to_string(response.status) + ": " + response.body);
        }
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(mutex_);
        fail(e.what());
        client.reset();
      }
    }
  }
  void fail(const std::string& why) {
    if (failures_++ == 0) firstFailure_ = why;
  }

  mutable std::mutex mutex_;
  std::atomic<bool> running_{true};
  std::atomic<int> ok_{0};
  std::atomic<int> failures_{0};
  std::string firstFailure_;
  std::set<std::string> serials_;
  std::thread thread_;  // last: starts once everything above exists
};

std::string fresh_serial(const pt::ClientOptions& options) {
  pt::HttpsClient client(options);
  client.connect();
  return client.peer_serial();
}

}  // namespace

TEST_CASE("server: reviews over TLS echo the uid, health endpoints answer", "[server][integration]") {
  Harness h;
  pt::HttpsClient client(h.client());

  auto allowed = client.request("POST", "/validate?timeout=10s", pt::pod_review("uid-1234", false, 4096));
  CHECK(allowed.status == 200);
  CHECK(allowed.header("Content-Type") == "application/json");
  CHECK(allowed.header("Content-Length") == std::to_string(allowed.body.size()));
  CHECK(allowed.header("Server") == "podgate");
  CHECK_FALSE(allowed.header("Date").empty());
  CHECK(allowed.keepAlive);
  CHECK(pt::contains(allowed.body, "\"kind\":\"AdmissionReview\""));
  CHECK(pt::contains(allowed.body, "\"uid\":\"uid-1234\""));
  CHECK(pt::contains(allowed.body, "\"allowed\":true"));

  auto denied = client.request("POST", "/validate", pt::pod_review("uid-priv", true));
  CHECK(denied.status == 200);
  CHECK(pt::contains(denied.body, "\"allowed\":false"));
  auto audited = client.request("POST", "/audit", pt::pod_review("uid-priv-audit", true));
  CHECK(pt::contains(audited.body, "\"allowed\":true"));

  CHECK(client.request("GET", "/healthz").body == "ok\n");
  CHECK(client.request("GET", "/readyz").status == 200);
  auto wrong_method = client.request("GET", "/validate");
  CHECK(wrong_method.status == 405);
  CHECK(wrong_method.header("Allow") == "POST");
  CHECK(client.request("GET", "/nowhere").status == 404);
  CHECK(client.request("POST", "/validate", "{not json").status == 400);
  CHECK(client.connections_opened() == 1);  // every answer above kept the connection
  CHECK(client.tls_version() == "TLSv1.3");

  CHECK(metric(h.metrics, "podgate_http_requests_total{code=\"200\",route=\"validate\"}") == 2);
  CHECK(metric(h.metrics, "podgate_http_requests_total{code=\"400\",route=\"validate\"}") == 1);
  CHECK(pt::contains(h.log_text(), "\"msg\":\"listening\""));
}

TEST_CASE("server: the review fixtures are answered with their own uid", "[server][integration]") {
  Harness h;
  pt::HttpsClient client(h.client());
  int answered = 0;
  const std::filesystem::path fixtures = std::filesystem::path(PODGATE_FIXTURES_DIR) / "reviews";
  if (!std::filesystem::exists(fixtures)) return;  // the fixtures are optional for this test
  for (const auto& entry : std::filesystem::directory_iterator(fixtures)) {
    if (entry.path().extension() != ".json") continue;
    const std::string body = pt::read_file(entry.path().string());
    const std::string uid = first_uid(body);
    if (uid.empty()) continue;
    INFO(entry.path().filename().string());
    auto response = client.request("POST", "/validate?timeout=10s", body);
    REQUIRE(response.status == 200);
    CHECK(pt::contains(response.body, "\"uid\":\"" + uid + "\""));
    ++answered;
  }
  CHECK(answered > 0);
  CHECK(client.connections_opened() == 1);
}

TEST_CASE("server: one keep-alive connection serves many requests", "[server][integration]") {
  Harness h;
  pt::HttpsClient client(h.client());
  for (int i = 0; i < 200; ++i) {
    auto response = client.request("POST", "/validate", pt::pod_review("ka-" + std::to_string(i), false, 4096));
    REQUIRE(response.status == 200);
    REQUIRE(pt::contains(response.body, "\"uid\":\"ka-" + std::to_string(i) + "\""));
  }
  CHECK(client.connections_opened() == 1);
}

TEST_CASE("server: pipelined requests and HTTP/1.0 are answered in order", "[server][integration]") {
  Harness h;
  pt::HttpsClient client(h.client());
  client.send_raw("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(client.read_response().status == 200);
  CHECK(client.read_response().status == 404);

  client.send_raw("GET /readyz HTTP/1.0\r\n\r\n");
  auto http10 = client.read_response();
  CHECK(http10.status == 200);
  CHECK(http10.header("Connection") == "close");  // HTTP/1.0 without keep-alive
  CHECK_FALSE(client.connected());

  pt::HttpsClient keep(h.client());
  keep.send_raw("GET /readyz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  auto kept = keep.read_response();
  CHECK(kept.header("Connection") == "keep-alive");
  CHECK(keep.request("GET", "/healthz").status == 200);
  CHECK(keep.connections_opened() == 1);
}

TEST_CASE("server: Connection: close from the client is honoured", "[server][integration]") {
  Harness h;
  pt::HttpsClient client(h.client());
  client.send_raw("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  auto response = client.read_response();
  CHECK(response.status == 200);
  CHECK(response.header("Connection") == "close");
}

TEST_CASE("server: Expect: 100-continue is honoured", "[server][integration]") {
  Harness h;
  pt::HttpsClient client(h.client());
  const std::string body = pt::pod_review("uid-continue");
  client.send_raw(pt::post_head("/validate", body.size(), "Expect: 100-continue\r\n"));
  CHECK(client.read_response().status == 100);
  client.send_raw(body);
  auto response = client.read_response();
  CHECK(response.status == 200);
  CHECK(pt::contains(response.body, "uid-continue"));
}

TEST_CASE("server: ALPN never selects h2", "[server][integration]") {
  Harness h;
  auto options = h.client();
  options.alpn = {"h2", "http/1.1"};
  pt::HttpsClient both(options);
  CHECK(both.request("GET", "/healthz").status == 200);
  CHECK(both.alpn_selected() == "http/1.1");

  options.alpn = {"h2"};
  pt::HttpsClient h2_only(options);
  CHECK(h2_only.request("GET", "/healthz").status == 200);
  CHECK(h2_only.alpn_selected().empty());
}

TEST_CASE("server: a body over the limit gets 413 before it is read, without growing memory", "[server][limits]") {
  Harness h([](auto& config, auto&) { config.limits.readTimeout = 10s; });
  const std::size_t announced = 200u * 1024 * 1024;

  SECTION("the 413 comes right after the header") {
    pt::HttpsClient client(h.client());
    const auto start = Clock::now();
    client.send_raw(pt::post_head("/validate", announced));
    auto response = client.read_response();
    CHECK(response.status == 413);
    CHECK(response.header("Connection") == "close");
    CHECK(Clock::now() - start < 5s);
    CHECK(metric(h.metrics, "podgate_http_requests_total{code=\"413\",route=\"validate\"}") == 1);
  }

  SECTION("the body a client keeps sending is discarded, not buffered") {
    pt::HttpsClient warmup(h.client());
    REQUIRE(warmup.request("POST", "/validate", pt::pod_review("warm")).status == 200);
    const long before = pt::rss_kib();
    REQUIRE(before > 0);
    pt::HttpsClient client(h.client());
    client.send_raw(pt::post_head("/validate", announced));
    const std::string chunk(1024 * 1024, 'x');
    std::size_t sent = 0;
    try {
      for (; sent < 48u * 1024 * 1024; sent += chunk.size()) client.send_raw(chunk);
    } catch (const std::exception&) {
      // The server may close once it has lingered long enough; the body was never stored.
    }
    if (client.connected()) CHECK(client.read_response().status == 413);
    const long after = pt::rss_kib();
    INFO("RSS before " << before << " KiB, after " << after << " KiB, sent " << sent / (1024 * 1024) << " MiB");
    CHECK(after - before < 20 * 1024);
  }

  SECTION("a chunked body is cut at the limit with 413") {
    pt::HttpsClient client(h.client());
    client.send_raw("POST /validate HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    const std::string data(64 * 1024, 'y');
    std::ostringstream size_hex;
    size_hex << std::hex << data.size();
    try {
      for (int i = 0; i < 64; ++i) client.send_raw(size_hex.str() + "\r\n" + data + "\r\n");  // 4 MiB > 3 MiB
    } catch (const std::exception&) {
    }
    REQUIRE(client.connected());
    auto response = client.read_response();
    CHECK(response.status == 413);
    CHECK(response.header("Connection") == "close");
  }
}

TEST_CASE("server: a body at the limit is served, one byte more is 413", "[server][limits]") {
  Harness h([](auto& config, auto&) { config.limits.maxBodyBytes = 64 * 1024; });
  std::string body = pt::pod_review("uid-at-limit", false, 60 * 1024);
  REQUIRE(body.size() <= 64 * 1024);
  body.append(64 * 1024 - body.size(), ' ');  // JSON allows trailing whitespace
  pt::HttpsClient client(h.client());
  auto at_limit = client.request("POST", "/validate", body);
  CHECK(at_limit.status == 200);
  CHECK(pt::contains(at_limit.body, "uid-at-limit"));
  auto over = client.request("POST", "/validate", body + " ");
  CHECK(over.status == 413);
}

TEST_CASE("server: malformed requests get 4xx/5xx answers and a close", "[server][limits]") {
  Harness h;
  SECTION("header over the limit: 431") {
    pt::HttpsClient client(h.client());
    client.send_raw("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20 * 1024, 'a') + "\r\n\r\n");
    auto response = client.read_response();
    CHECK(response.status == 431);
    CHECK(response.header("Connection") == "close");
  }
  SECTION("many small headers over the limit: 431") {
    pt::HttpsClient client(h.client());
    std::string head = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
    for (int i = 0; i < 2000; ++i) head += "X-H" + std::to_string(i) + ": v\r\n";
    client.send_raw(head + "\r\n");
    CHECK(client.read_response().status == 431);
  }
  SECTION("garbage: 400") {
    pt::HttpsClient client(h.client());
    client.send_raw("THIS IS NOT HTTP\r\n\r\n");
    auto response = client.read_response();
    CHECK(response.status == 400);
    CHECK(response.header("Connection") == "close");
  }
  SECTION("bad Content-Length: 400") {
    pt::HttpsClient client(h.client());
    client.send_raw("POST /validate HTTP/1.1\r\nHost: x\r\nContent-Length: 12abc\r\n\r\n");
    CHECK(client.read_response().status == 400);
  }
  SECTION("HTTP/2.0 on an HTTP/1 connection: 505") {
    pt::HttpsClient client(h.client());
    client.send_raw("GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n");
    CHECK(client.read_response().status == 505);
  }
  SECTION("the server keeps serving afterwards") {
    pt::HttpsClient client(h.client());
    client.send_raw(std::string("\0\x01\x02\xff\r\n\r\n", 8));
    CHECK(client.read_response().status == 400);
    pt::HttpsClient next(h.client());
    CHECK(next.request("GET", "/healthz").status == 200);
  }
}

TEST_CASE("server: ambiguous framing is refused, and random bytes never break the server", "[server][limits]") {
  Harness h;
  for (const char* request : {
           "POST /validate HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
           "POST /validate HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
           "POST /validate HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
           "GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header: v\r\n\r\n",
       }) {
    INFO(request);
    pt::HttpsClient client(h.client());
    client.send_raw(request);
    auto response = client.read_response();
    CHECK(response.status == 400);
    CHECK(response.header("Connection") == "close");
  }

  std::mt19937 random(12345);
  const std::string alphabet = "GETPOST /HTTP1.0\r\n:;-_ \t\x00\xff{}[]\"0123456789abcdefxyz?=&%";
  for (int i = 0; i < 60; ++i) {
    std::string junk = (i % 2 ? "POST /validate HTTP/1.1\r\n" : "");
    const int length = 1 + static_cast<int>(random() % 400);
    for (int j = 0; j < length; ++j) junk.push_back(alphabet[random() % alphabet.size()]);
    junk += "\r\n\r\n";
    pt::HttpsClient client(h.client());
    client.send_raw(junk);
    try {
      auto response = client.read_response();
      CHECK(response.status >= 200);
    } catch (const std::exception&) {
      // Closing without an answer is fine too (e.g. a header still incomplete, then EOF-less wait).
    }
  }
  pt::HttpsClient after(h.client());
  CHECK(after.request("GET", "/healthz").status == 200);
}

TEST_CASE("server: 300 half-open connections are shed at the read deadline while requests are served",
          "[server][limits][concurrency]") {
  Harness h([](auto& config, auto&) {
    config.limits.handshakeTimeout = 1s;
    config.limits.readTimeout = 1s;
    config.limits.idleTimeout = 30s;
  });
  const auto margin = 4s;  // generous: the machine is small and may be running sanitizers
  RequestLoop fresh(h.client(), false);
  RequestLoop reused(h.client(), true);

  struct Opened {
    Clock::time_point at;
    std::unique_ptr<pt::RawConnection> raw;
    std::unique_ptr<pt::HttpsClient> tls;
  };
  std::vector<Opened> opened;
  for (int i = 0; i < 150; ++i) {
    Opened o{Clock::now(), std::make_unique<pt::RawConnection>("127.0.0.1", h.server->port()), nullptr};
    if (i % 3 == 1) o.raw->send(std::string("\x16\x03\x01\x02", 4));  // the start of a ClientHello, then nothing
    opened.push_back(std::move(o));
  }
  int dropped_during_handshake = 0;
  for (int i = 0; i < 150; ++i) {
    Opened o{Clock::now(), nullptr, std::make_unique<pt::HttpsClient>(h.client())};
    try {
      o.tls->connect();
      o.tls->send_raw("POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Le");  // half a header, then nothing
    } catch (const std::exception& e) {
      // Only acceptable if this slow machine let the read deadline pass during the handshake.
      INFO(e.what());
      REQUIRE(Clock::now() - o.at >= h.config.limits.handshakeTimeout);
      ++dropped_during_handshake;
    }
    opened.push_back(std::move(o));
  }

  int closed_in_time = 0;
  for (auto& o : opened) {
    // Each by its own deadline; when the test itself has fallen behind, a short look still has to
    // find it closed.
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(o.at + h.config.limits.readTimeout + margin -
                                                                      Clock::now());
    left = std::max(left, std::chrono::milliseconds(200));
    bool closed = o.raw ? o.raw->wait_for_close(left) : o.tls->wait_for_close(left);
    if (closed) ++closed_in_time;
  }
  INFO("dropped during the handshake: " << dropped_during_handshake);
  std::this_thread::sleep_for(300ms);  // requests keep flowing after the shedding too
  fresh.stop();
  reused.stop();

  CHECK(closed_in_time == 300);
  INFO("first failure: " << fresh.first_failure() << reused.first_failure());
  CHECK(fresh.failures() == 0);
  CHECK(reused.failures() == 0);
  CHECK(fresh.ok() > 10);
  CHECK(reused.ok() > 10);
  CHECK(metric(h.metrics, "podgate_http_connection_timeouts_total{phase=\"handshake\"}") >= 150);
  CHECK(metric(h.metrics, "podgate_http_connection_timeouts_total{phase=\"read\"}") >= 150);
}

TEST_CASE("server: connections beyond maxConnections are closed at once", "[server][limits][concurrency]") {
  Harness h([](auto& config, auto&) {
    config.limits.maxConnections = 50;
    config.limits.readTimeout = 30s;
  });
  // Each in the middle of a request: those are never evicted.
  std::vector<std::unique_ptr<pt::HttpsClient>> held;
  for (int i = 0; i < 50; ++i) {
    held.push_back(std::make_unique<pt::HttpsClient>(h.client()));
    held.back()->connect();
    held.back()->send_raw("POST /validate HTTP/1.1\r\nHost: x\r\n");
  }
  REQUIRE(eventually([&] { return metric(h.metrics, "podgate_http_connections_open") == 50; }));
  // Open is not enough: until the server has read a connection's first bytes it counts as new and
  // may give way, so wait until it has read all 50 (on a loaded machine that can lag).
  REQUIRE(eventually([&] { return h.server->awaiting_first_request() == 0; }));

  pt::RawConnection extra("127.0.0.1", h.server->port());
  CHECK(extra.wait_for_close(5s));
  CHECK(metric(h.metrics, "podgate_http_connections_rejected_total{reason=\"max_connections\"}") >= 1);
  int still_open = 0;
  for (auto& c : held) still_open += c->wait_for_close(10ms) ? 0 : 1;
  CHECK(still_open == 50);

  held.clear();  // the slots free up, and real requests are served again
  REQUIRE(eventually([&] { return metric(h.metrics, "podgate_http_connections_open") == 0; }));
  pt::HttpsClient client(h.client());
  CHECK(client.request("GET", "/healthz").status == 200);
}

TEST_CASE("server: at maxConnections the oldest silent new connection gives way",
          "[server][limits][concurrency]") {
  Harness h([](auto& config, auto&) {
    config.limits.maxConnections = 50;
    config.limits.maxConnectionsPerPeer = 0;
    config.limits.handshakeTimeout = 30s;
    config.limits.readTimeout = 30s;
  });
  pt::ClientOptions client = h.client();
  // 25 that never start TLS, then 25 that finish the handshake and send nothing.
  std::vector<std::unique_ptr<pt::RawConnection>> raw;
  for (int i = 0; i < 25; ++i) raw.push_back(std::make_unique<pt::RawConnection>("127.0.0.1", h.server->port()));
  std::vector<std::unique_ptr<pt::HttpsClient>> silent;
  for (int i = 0; i < 25; ++i) {
    silent.push_back(std::make_unique<pt::HttpsClient>(client));
    silent.back()->connect();
  }
  REQUIRE(eventually([&] { return metric(h.metrics, "podgate_http_connections_open") == 50; }));
  // 30 more: each evicts the oldest silent one, the first 25 raw ones, then 5 handshaken ones.
  std::vector<std::unique_ptr<pt::RawConnection>> newer;
  for (int i = 0; i < 30; ++i) newer.push_back(std::make_unique<pt::RawConnection>("127.0.0.1", h.server->port()));
  int raw_closed = 0;
  for (auto& c : raw) raw_closed += c->wait_for_close(2s) ? 1 : 0;
  CHECK(raw_closed == 25);
  // A review still gets a place (the oldest silent one's), and the newest silent ones stay.
  CHECK(pt::HttpsClient(client).request("POST", "/validate", pt::pod_review("evict")).status == 200);
  int newer_open = 0;
  for (auto& c : newer) newer_open += c->closed_by_peer() ? 0 : 1;
  CHECK(newer_open == 30);
  CHECK(metric(h.metrics, "podgate_http_connections_rejected_total{reason=\"evicted_handshake\"}") >= 31);
  CHECK(metric(h.metrics, "podgate_http_connections_rejected_total{reason=\"max_connections\"}") == 0);
}

TEST_CASE("server: maxConnectionsPerPeer refuses one address's excess at once", "[server][limits]") {
  Harness h([](auto& config, auto&) {
    config.limits.maxConnectionsPerPeer = 5;
    config.limits.readTimeout = 30s;
  });
  std::vector<std::unique_ptr<pt::RawConnection>> held;
  for (int i = 0; i < 5; ++i) held.push_back(std::make_unique<pt::RawConnection>("127.0.0.1", h.server->port()));
  REQUIRE(eventually([&] { return metric(h.metrics, "podgate_http_connections_open") == 5; }));
  pt::RawConnection extra("127.0.0.1", h.server->port());
  CHECK(extra.wait_for_close(5s));
  CHECK(metric(h.metrics, "podgate_http_connections_rejected_total{reason=\"max_per_peer\"}") == 1);
  held.pop_back();  // a slot of that address frees up
  REQUIRE(eventually([&] { return metric(h.metrics, "podgate_http_connections_open") == 4; }));
  pt::HttpsClient client(h.client());
  CHECK(client.request("GET", "/healthz").status == 200);
}

TEST_CASE("server: a connection that does not finish its TLS handshake is dropped at handshakeTimeout",
          "[server][limits]") {
  Harness h([](auto& config, auto&) {
    config.limits.handshakeTimeout = 300ms;
    config.limits.readTimeout = 30s;
  });
  pt::RawConnection raw("127.0.0.1", h.server->port());
  const auto start = Clock::now();
  CHECK(raw.wait_for_close(10s));
  CHECK(Clock::now() - start < 5s);  // the read deadline (30 s) no longer covers the handshake
  CHECK(metric(h.metrics, "podgate_http_connection_timeouts_total{phase=\"handshake\"}") == 1);
}

TEST_CASE("server: keep-alive idle and read deadlines", "[server][limits]") {
  SECTION("an idle keep-alive connection is closed after idleTimeout") {
    Harness h([](auto& config, auto&) {
      config.limits.idleTimeout = 500ms;
      config.limits.readTimeout = 5s;
    });
    pt::HttpsClient client(h.client());
    REQUIRE(client.request("GET", "/healthz").status == 200);
    const auto start = Clock::now();
    CHECK(client.wait_for_close(10s));
    CHECK(Clock::now() - start >= 400ms);
    CHECK(metric(h.metrics, "podgate_http_connection_timeouts_total{phase=\"idle\"}") == 1);
  }
  SECTION("half of the next request on a keep-alive connection is dropped at the read deadline") {
    Harness h([](auto& config, auto&) {
      config.limits.idleTimeout = 60s;
      config.limits.readTimeout = 1s;
    });
    pt::HttpsClient client(h.client());
    REQUIRE(client.request("GET", "/healthz").status == 200);
    std::this_thread::sleep_for(1500ms);  // idle longer than the read deadline: still open
    client.send_raw("POST /validate HTTP/1.1\r\nHost: x\r\n");
    const auto start = Clock::now();
    CHECK(client.wait_for_close(10s));
    CHECK(Clock::now() - start < 6s);
    CHECK(metric(h.metrics, "podgate_http_connection_timeouts_total{phase=\"read\"}") == 1);
    CHECK(metric(h.metrics, "podgate_http_connection_timeouts_total{phase=\"idle\"}") == 0);
  }
}

TEST_CASE("server: certificates rotate under a request loop with zero failed requests",
          "[server][tls][concurrency]") {
  SECTION("files replaced by rename") {
    Harness h([](auto& config, auto&) { config.tls.reloadInterval = 100ms; });
    const std::string first = h.certs.leaf.serial;
    REQUIRE(fresh_serial(h.client()) == first);
    RequestLoop fresh(h.client(), false);
    RequestLoop reused(h.client(), true);
    std::this_thread::sleep_for(500ms);

    auto second = h.ca.issue();
    pt::write_file_atomically(h.certs.certFile, second.certPem);
    pt::write_file_atomically(h.certs.keyFile, second.keyPem);
    CHECK(eventually([&] { return fresh_serial(h.client()) == second.serial; }));
    std::this_thread::sleep_for(500ms);

    pt::CertificateRequest longer;
    longer.validFor = std::chrono::hours(48);
    auto third = h.ca.issue(longer);
    pt::write_file_atomically(h.certs.keyFile, third.keyPem);  // key first this time: a mismatch meanwhile
    std::this_thread::sleep_for(50ms);
    pt::write_file_atomically(h.certs.certFile, third.certPem);
    CHECK(eventually([&] { return fresh_serial(h.client()) == third.serial; }));
    std::this_thread::sleep_for(1s);
    fresh.stop();
    reused.stop();

    INFO("first failure: " << fresh.first_failure() << reused.first_failure());
    CHECK(fresh.failures() == 0);
    CHECK(reused.failures() == 0);
    CHECK(fresh.ok() > 10);
    CHECK(reused.ok() > 10);
    CHECK(fresh.serials().count(third.serial) == 1);
    CHECK(metric(h.metrics, "podgate_tls_certificate_reloads_total{result=\"success\"}") == 2);
    CHECK(metric(h.metrics, "podgate_tls_serving_certificate_expiry_timestamp_seconds") ==
          static_cast<double>(third.notAfter));
    CHECK(pt::contains(h.log_text(), "TLS certificate reloaded"));
  }

  SECTION("a Kubernetes Secret volume: the ..data symlink is swapped") {
    // tls.crt -> ..data/tls.crt, ..data -> ..v1 (how the kubelet lays out a Secret volume)
    Harness h([](auto& config, Harness& self) {
      namespace fs = std::filesystem;
      const fs::path volume = fs::path(self.dir.path()) / "secret";
      fs::create_directories(volume / "..v1");
      fs::copy_file(self.certs.certFile, volume / "..v1" / "tls.crt");
      fs::copy_file(self.certs.keyFile, volume / "..v1" / "tls.key");
      fs::create_directory_symlink("..v1", volume / "..data");
      fs::create_symlink("..data/tls.crt", volume / "tls.crt");
      fs::create_symlink("..data/tls.key", volume / "tls.key");
      config.tls.certFile = (volume / "tls.crt").string();
      config.tls.keyFile = (volume / "tls.key").string();
      config.tls.reloadInterval = 100ms;
    });
    namespace fs = std::filesystem;
    const fs::path volume = fs::path(h.dir.path()) / "secret";
    RequestLoop fresh(h.client(), false);
    RequestLoop reused(h.client(), true);
    std::this_thread::sleep_for(500ms);

    auto next = h.ca.issue();
    fs::create_directories(volume / "..v2");
    pt::write_file((volume / "..v2" / "tls.crt").string(), next.certPem);
    pt::write_file((volume / "..v2" / "tls.key").string(), next.keyPem);
    fs::create_directory_symlink("..v2", volume / "..data_tmp");
    fs::rename(volume / "..data_tmp", volume / "..data");  // the atomic swap
    fs::remove_all(volume / "..v1");
    CHECK(eventually([&] { return fresh_serial(h.client()) == next.serial; }));
    std::this_thread::sleep_for(500ms);
    fresh.stop();
    reused.stop();

    INFO("first failure: " << fresh.first_failure() << reused.first_failure());
    CHECK(fresh.failures() == 0);
    CHECK(reused.failures() == 0);
    CHECK(fresh.ok() > 5);
    CHECK(reused.ok() > 5);
    CHECK(metric(h.metrics, "podgate_tls_certificate_reloads_total{result=\"success\"}") == 1);
  }
}

TEST_CASE("server: a broken certificate pair is refused and the old one keeps serving", "[server][tls]") {
  Harness h([](auto& config, auto&) { config.tls.reloadInterval = 100ms; });
  const std::string first = h.certs.leaf.serial;
  auto other = h.ca.issue();
  pt::write_file_atomically(h.certs.keyFile, other.keyPem);  // does not match the serving certificate
  REQUIRE(eventually([&] {
    return metric(h.metrics, "podgate_tls_certificate_reloads_total{result=\"failure\"}") >= 1;
  }));
  std::this_thread::sleep_for(300ms);  // several more ticks: the failure is not recounted
  CHECK(metric(h.metrics, "podgate_tls_certificate_reloads_total{result=\"failure\"}") == 1);

  pt::HttpsClient client(h.client());
  CHECK(client.request("GET", "/healthz").status == 200);
  CHECK(client.peer_serial() == first);
  const std::string log = h.log_text();
  CHECK(pt::contains(log, "TLS certificate reload failed"));
  CHECK(pt::contains(log, "does not match"));

  pt::write_file_atomically(h.certs.keyFile, "-----BEGIN PRIVATE KEY-----\ntruncat");  // half-written
  std::this_thread::sleep_for(300ms);
  CHECK(fresh_serial(h.client()) == first);

  pt::write_file_atomically(h.certs.certFile, other.certPem);
  pt::write_file_atomically(h.certs.keyFile, other.keyPem);  // now a matching pair
  CHECK(eventually([&] { return fresh_serial(h.client()) == other.serial; }));
  CHECK(metric(h.metrics, "podgate_tls_certificate_reloads_total{result=\"success\"}") == 1);
}

TEST_CASE("server: a client CA requires a client certificate from it", "[server][tls]") {
  pt::CertificateAuthority client_ca("podgate test client CA");
  pt::CertificateAuthority stranger_ca("some other CA");
  Harness h([&](auto& config, Harness& self) {
    config.tls.clientCaFile = self.dir.file("client-ca.crt");
    pt::write_file(config.tls.clientCaFile, client_ca.certPem());
  });
  auto write_client = [&](const pt::CertificateAuthority& ca, const std::string& name) {
    pt::CertificateRequest request;
    request.commonName = "kube-apiserver";
    request.dnsNames.clear();
    request.ipAddresses.clear();
    request.clientAuth = true;
    auto cert = ca.issue(request);
    pt::write_file(h.dir.file(name + ".crt"), cert.certPem);
    pt::write_file(h.dir.file(name + ".key"), cert.keyPem);
  };
  write_client(client_ca, "apiserver");
  write_client(stranger_ca, "stranger");

  SECTION("no client certificate: refused") {
    pt::HttpsClient client(h.client());
    CHECK_THROWS(client.request("GET", "/healthz"));
  }
  SECTION("a certificate from another CA: refused") {
    auto options = h.client();
    options.clientCertFile = h.dir.file("stranger.crt");
    options.clientKeyFile = h.dir.file("stranger.key");
    pt::HttpsClient client(options);
    CHECK_THROWS(client.request("GET", "/healthz"));
  }
  SECTION("a certificate from the client CA: served, also over TLS 1.2 and on reconnects") {
    auto options = h.client();
    options.clientCertFile = h.dir.file("apiserver.crt");
    options.clientKeyFile = h.dir.file("apiserver.key");
    pt::HttpsClient client(options);
    CHECK(client.request("POST", "/validate", pt::pod_review("uid-mtls")).status == 200);
    client.close();
    CHECK(client.request("GET", "/healthz").status == 200);
    options.maxTlsVersion = TLS1_2_VERSION;
    pt::HttpsClient tls12(options);
    CHECK(tls12.request("GET", "/healthz").status == 200);
  }
}

TEST_CASE("server: TLS 1.2 and 1.3 are accepted, older versions refused", "[server][tls]") {
  Harness h;
  auto options = h.client();

  options.minTlsVersion = TLS1_VERSION;
  options.maxTlsVersion = TLS1_1_VERSION;
  pt::HttpsClient old_client(options);
  CHECK_THROWS_WITH(old_client.connect(), Catch::Contains("handshake"));

  options.minTlsVersion = TLS1_2_VERSION;
  options.maxTlsVersion = TLS1_2_VERSION;
  pt::HttpsClient tls12(options);
  CHECK(tls12.request("GET", "/healthz").status == 200);
  CHECK(tls12.tls_version() == "TLSv1.2");

  options.minTlsVersion = TLS1_3_VERSION;
  options.maxTlsVersion = TLS1_3_VERSION;
  pt::HttpsClient tls13(options);
  CHECK(tls13.request("GET", "/healthz").status == 200);
  CHECK(tls13.tls_version() == "TLSv1.3");
}

TEST_CASE("server: minVersion 1.3 refuses TLS 1.2", "[server][tls]") {
  Harness h([](auto& config, auto&) { config.tls.minVersion = "1.3"; });
  auto options = h.client();
  options.maxTlsVersion = TLS1_2_VERSION;
  pt::HttpsClient tls12(options);
  CHECK_THROWS(tls12.connect());
  pt::HttpsClient tls13(h.client());
  CHECK(tls13.request("GET", "/healthz").status == 200);
}

TEST_CASE("server: an RSA certificate works too", "[server][tls]") {
  Harness h([](auto& config, Harness& self) {
    pt::CertificateRequest rsa;
    rsa.keyType = pt::KeyType::Rsa2048;
    self.certs = pt::write_server_certificate(self.ca, self.dir.path(), rsa);
    config.tls.certFile = self.certs.certFile;
    config.tls.keyFile = self.certs.keyFile;
  });
  pt::HttpsClient client(h.client());
  CHECK(client.request("GET", "/healthz").status == 200);
  CHECK(client.peer_serial() == h.certs.leaf.serial);
}

// What a Server needs, for tests that construct (or fail to construct) their own rather than run
// one through Harness. Logs go to /dev/null.
struct ServerParts {
  pt::TempDir dir;
  pt::CertificateAuthority ca;
  pt::ServerCertFiles certs = pt::write_server_certificate(ca, dir.path());
  podgate::metrics::Metrics metrics;
  int null_fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  podgate::log::Logger logger{null_fd};
  podgate::policy::Reviewer reviewer{std::make_shared<const podgate::policy::Evaluator>(podgate::config::Config{}),
                                     &metrics, nullptr};
  podgate::config::ServerConfig config;

  explicit ServerParts(unsigned threads) {
    config.listen = "127.0.0.1:0";
    config.threads = threads;
    config.tls.certFile = certs.certFile;
    config.tls.keyFile = certs.keyFile;
  }
  ~ServerParts() { ::close(null_fd); }
};

TEST_CASE("server: start-up errors are clear", "[server]") {
  ServerParts parts(1);
  auto [dir, ca, metrics, logger, reviewer, config] = std::tie(parts.dir, parts.ca, parts.metrics, parts.logger,
                                                               parts.reviewer, parts.config);

  SECTION("port in use") {
    podgate::server::Server first(config, reviewer, metrics, logger);
    auto taken = config;
    taken.listen = "127.0.0.1:" + std::to_string(first.port());
    CHECK_THROWS_WITH(podgate::server::Server(taken, reviewer, metrics, logger),
                      "cannot listen on " + taken.listen + ": Address already in use");
  }
  SECTION("missing certificate") {
    config.tls.certFile = dir.file("missing.crt");
    CHECK_THROWS_WITH(podgate::server::Server(config, reviewer, metrics, logger),
                      "cannot load TLS certificate " + config.tls.certFile + ": No such file or directory");
  }
  SECTION("key that does not match") {
    auto other = ca.issue();
    pt::write_file(dir.file("other.key"), other.keyPem);
    config.tls.keyFile = dir.file("other.key");
    CHECK_THROWS_WITH(podgate::server::Server(config, reviewer, metrics, logger), Catch::Contains("does not match"));
  }
  SECTION("not a PEM certificate") {
    pt::write_file(dir.file("junk.crt"), "hello");
    config.tls.certFile = dir.file("junk.crt");
    CHECK_THROWS_WITH(podgate::server::Server(config, reviewer, metrics, logger),
                      Catch::StartsWith("cannot load TLS certificate " + config.tls.certFile));
  }
  SECTION("bad listen address") {
    config.listen = "nonsense";
    CHECK_THROWS_WITH(podgate::server::Server(config, reviewer, metrics, logger), Catch::Contains("server.listen"));
  }
  SECTION("IPv6 loopback and all addresses") {
    config.listen = ":0";
    podgate::server::Server any(config, reviewer, metrics, logger);
    CHECK(any.port() != 0);
  }
}

TEST_CASE("server: stop() finishes the request in flight, closes idle connections, run() returns",
          "[server][drain][concurrency]") {
  Harness h;
  pt::HttpsClient idle(h.client());
  REQUIRE(idle.request("GET", "/healthz").status == 200);

  const std::string body = pt::pod_review("uid-in-flight", false, 4096);
  pt::HttpsClient busy(h.client());
  busy.send_raw(pt::post_head("/validate", body.size()) + body.substr(0, body.size() / 2));
  std::this_thread::sleep_for(200ms);  // the server has the header and waits for the rest

  h.server->stop();
  h.server->stop();  // idempotent
  CHECK_FALSE(h.server->ready());
  CHECK(idle.wait_for_close(5s));
  std::this_thread::sleep_for(200ms);
  CHECK_FALSE(h.runReturned.load());  // the request in flight holds the drain open

  busy.send_raw(body.substr(body.size() / 2));
  auto response = busy.read_response();
  CHECK(response.status == 200);
  CHECK(response.header("Connection") == "close");
  CHECK(pt::contains(response.body, "uid-in-flight"));

  CHECK(h.wait_run_returned(5s));
  pt::HttpsClient late(h.client());
  CHECK_THROWS(late.connect());  // no longer accepting
  const std::string log = h.log_text();
  CHECK(pt::contains(log, "draining started"));
  CHECK(pt::contains(log, "drained"));
}

TEST_CASE("server: the grace period bounds the drain", "[server][drain][concurrency]") {
  Harness h([](auto& config, auto&) {
    config.shutdownGracePeriod = 300ms;
    config.limits.readTimeout = 30s;
  });
  pt::HttpsClient stuck(h.client());
  stuck.send_raw("POST /validate HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{");
  std::this_thread::sleep_for(200ms);
  const auto start = Clock::now();
  h.server->stop();
  CHECK(h.wait_run_returned(10s));
  CHECK(Clock::now() - start < 5s);
  CHECK(stuck.wait_for_close(2s));
  CHECK(pt::contains(h.log_text(), "grace period over"));
}

TEST_CASE("server: stop() before run() and with nothing open returns at once", "[server][drain]") {
  ServerParts parts(3);
  auto [dir, ca, metrics, logger, reviewer, config] = std::tie(parts.dir, parts.ca, parts.metrics, parts.logger,
                                                               parts.reviewer, parts.config);
  {
    podgate::server::Server server(config, reviewer, metrics, logger);
    server.stop();
    const auto start = Clock::now();
    server.run();
    CHECK(Clock::now() - start < 2s);
    CHECK_FALSE(server.ready());
  }
  {
    podgate::server::Server never_run(config, reviewer, metrics, logger);  // destroyed without run()
    CHECK(never_run.ready());
  }
}

TEST_CASE("server: many concurrent keep-alive clients", "[server][concurrency]") {
  Harness h;
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 6; ++t) {
    clients.emplace_back([&, t] {
      try {
        pt::HttpsClient client(h.client());
        for (int i = 0; i < 100; ++i) {
          const std::string uid = "c" + std::to_string(t) + "-" + std::to_string(i);
          auto response = client.request("POST", "/validate", pt::pod_review(uid, i % 2 == 0));
          (response.status == 200 && pt::contains(response.body, uid) ? ok : failed)++;
        }
      } catch (const std::exception&) {
        failed++;
      }
    });
  }
  for (auto& c : clients) c.join();
  CHECK(failed == 0);
  CHECK(ok == 600);
  CHECK(h.stop_and_wait());
  CHECK(metric(h.metrics, "podgate_http_connections_open") == 0);
}
