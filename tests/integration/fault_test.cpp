// Fault tolerance of the real `podgate serve` binary (issue 7, "Faults"): a misbehaving registry
// end to end, SIGTERM under load, a full disk under the scan database, and thousands of held
// connections. Client-level registry edge cases live in registry_client_edge_test.cpp; this file
// checks what the apiserver sees: an answer within the admission deadline, the configured
// decision, other requests unaffected, and the metrics that tell an operator what happened.

#include <catch2/catch.hpp>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <rapidjson/document.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
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
#include "support/served_podgate.h"
#include "support/temp_dir.h"
#include "support/tls_certs.h"

namespace pt = podgate::test;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

bool eventually(const std::function<bool()>& condition, milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return condition();
}

// GET on the plain-HTTP metrics listener, as Prometheus scrapes it. The exposer has few threads
// and may drop a connection when a slow (sanitizer) build is busy: a scrape is retried, as
// Prometheus retries at its next interval.
std::string scrape(unsigned short port) {
  namespace beast = boost::beast;
  namespace http = beast::http;
  for (int attempt = 1;; ++attempt) {
    try {
      boost::asio::io_context io;
      boost::asio::ip::tcp::socket socket(io);
      socket.connect({boost::asio::ip::make_address("127.0.0.1"), port});
      http::request<http::empty_body> req{http::verb::get, "/metrics", 11};
      req.set(http::field::host, "127.0.0.1");
      req.set(http::field::connection, "close");
      http::write(socket, req);
      beast::flat_buffer buffer;
      http::response<http::string_body> res;
      http::read(socket, buffer, res);
      if (res.result_int() == 200) return res.body();
      if (attempt == 3) FAIL("GET /metrics: HTTP " << res.result_int());
    } catch (const std::exception& e) {
      if (attempt == 3) FAIL("GET /metrics: " << e.what());
    }
    std::this_thread::sleep_for(200ms);
  }
}

// tests/support/scripted_registry.py on a free loopback port (its docstring lists the modes).
class ScriptedRegistry {
 public:
  ScriptedRegistry() : port_(pt::free_port()) {
    logPath_ = dir_.file("requests.log");
    process_ = std::make_unique<pt::Process>(std::vector<std::string>{
        "/usr/bin/python3", std::string(PODGATE_SOURCE_DIR) + "/tests/support/scripted_registry.py",
        std::to_string(port_), logPath_});
    if (!process_->wait_for_output("ready", 10s, true))
      throw std::runtime_error("scripted_registry.py did not start: " + process_->stderr_text());
  }
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  // The {"stream": name, "sent": N, "complete": B} line logged when a counted stream ended.
  std::optional<std::pair<long long, bool>> stream_end(const std::string& name) const {
    std::istringstream lines(pt::read_file(logPath_));
    for (std::string line; std::getline(lines, line);) {
      rapidjson::Document doc;
      doc.Parse(line.data(), line.size());
      if (doc.HasParseError() || !doc.HasMember("stream") || doc["stream"].GetString() != name) continue;
      return std::make_pair(doc["sent"].GetInt64(), doc["complete"].GetBool());
    }
    return std::nullopt;
  }

 private:
  pt::TempDir dir_{"podgate-fault-registry"};
  unsigned short port_;
  std::string logPath_;
  std::unique_ptr<pt::Process> process_;
};

// A keep-alive TLS connection on a blocking socket with a shared SSL_CTX: the held connections of
// the many-connections cases (an HttpsClient has its own io_context and CA load each, too heavy
// for thousands).
class TlsConnection {
 public:
  TlsConnection() = default;
  ~TlsConnection() {
    if (ssl_) SSL_free(ssl_);
    if (fd_ >= 0) ::close(fd_);
  }
  TlsConnection(const TlsConnection&) = delete;
  TlsConnection& operator=(const TlsConnection&) = delete;

  // TCP connect and a verified TLS handshake; false (with why()) on failure.
  bool open(SSL_CTX* ctx, unsigned short port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return fail(std::string("socket: ") + std::strerror(errno));
    timeval tv{10, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      return fail(std::string("connect: ") + std::strerror(errno));
    ssl_ = SSL_new(ctx);
    SSL_set_fd(ssl_, fd_);
    SSL_set_tlsext_host_name(ssl_, "localhost");
    SSL_set1_host(ssl_, "localhost");
    if (SSL_connect(ssl_) != 1) return fail("TLS handshake failed");
    return true;
  }

  // One request on the connection; the response's status, or 0 (with why()) on failure.
  int request(const std::string& raw) {
    if (SSL_write(ssl_, raw.data(), static_cast<int>(raw.size())) <= 0) {
      fail("write failed");
      return 0;
    }
    std::string in;
    char buf[16384];
    std::size_t need = std::string::npos;
    for (;;) {
      const auto end = in.find("\r\n\r\n");
      if (need == std::string::npos && end != std::string::npos) {
        const auto at = in.find("Content-Length: ");
        if (at == std::string::npos || at > end) {
          fail("no Content-Length");
          return 0;
        }
        need = end + 4 + std::stoul(in.substr(at + 16));
      }
      if (need != std::string::npos && in.size() >= need) break;
      const int n = SSL_read(ssl_, buf, sizeof buf);
      if (n <= 0) {
        fail("read failed after " + std::to_string(in.size()) + " bytes");
        return 0;
      }
      in.append(buf, static_cast<std::size_t>(n));
    }
    return std::stoi(in.substr(9, 3));
  }

  // The server closed the connection (EOF or reset waiting on the socket); a live idle
  // connection has nothing to read.
  bool closed_by_peer() const {
    char c;
    const ssize_t n = ::recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
  }
  const std::string& why() const { return why_; }

 private:
  bool fail(std::string why) {
    why_ = std::move(why);
    return false;
  }
  int fd_ = -1;
  SSL* ssl_ = nullptr;
  std::string why_;
};

struct SslContext {
  explicit SslContext(const std::string& caFile) : ctx(SSL_CTX_new(TLS_client_method())) {
    REQUIRE(ctx != nullptr);
    REQUIRE(SSL_CTX_load_verify_locations(ctx, caFile.c_str(), nullptr) == 1);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);  // thousands of idle connections: no idle buffers
  }
  ~SslContext() { SSL_CTX_free(ctx); }
  SSL_CTX* ctx;
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// Registry misbehaviour. Each fault is a repository of scripted_registry.py; all five are reviewed
// at once, while a clean review loop runs on another connection of the same one-thread server.

TEST_CASE("fault: a misbehaving registry is answered within the deadline, by onResolveError, and counted",
          "[fault][images][binary]") {
  // deny: resolve.timeout (2 s) ends the wait, well inside the apiserver's 10 s.
  // allow: the apiserver's own ?timeout=2s (1.8 s less the answer margin) ends it, before the
  //        3 s resolve.timeout does.
  bool allow = false;
  SECTION("onResolveError: deny, bounded by resolve.timeout") { allow = false; }
  SECTION("onResolveError: allow, bounded by the admission deadline") { allow = true; }
  // Which of the two bounds ended a wait shows in the answer.
  // (Kept short: a warning is cut at a length limit.)
  const std::string timed_out = allow ? "did not answer before the admission" : "did not answer within 2000ms";

  struct Fault {
    std::string repo, kind, says;  // says: what the answer must tell the user
  };
  const std::vector<Fault> faults{
      {"hang/app", "timeout", timed_out},  // accepts, reads the request, never answers
      {"status500/app", "server_error", "HTTP 500"},
      {"huge/app", "too_large", "size limit"},  // a 100 MiB manifest
      {"garbage/app", "bad_response", "sent an answer that is not valid HTTP"},  // header lines that are not HTTP
      {"slowheader/app", "timeout", timed_out},  // one header byte every 100 ms: never done
  };
  const std::string query = allow ? "?timeout=2s" : "?timeout=10s";
  const milliseconds deadline = allow ? 1800ms : 2000ms;
  // A correctness bound, not a performance figure: generous for a loaded 2-core machine.
  const milliseconds bound = deadline + 2000ms;

  ScriptedRegistry reg;
  pt::ServedPodgate served("server: {threads: 1}\n"
                           "rules:\n  images:\n    action: deny\n"
                           "    resolve: {timeout: " + std::string(allow ? "3s" : "2s") + "}\n"
                           "    onResolveError: " + (allow ? "allow" : "deny") + "\n"
                           "registries:\n  - host: \"" + reg.host() + "\"\n    plainHTTP: true\n");

  struct Answer {
    pt::Response response;
    milliseconds took{};
    std::string error;
  };
  std::vector<std::future<Answer>> pending;
  for (std::size_t i = 0; i < faults.size(); ++i) {
    pending.push_back(std::async(std::launch::async, [&, i] {
      Answer a;
      const auto started = Clock::now();
      try {
        a.response = served.validate(
            pt::pod_review_with_images("fault-" + std::to_string(i), {reg.host() + "/" + faults[i].repo + ":1"}),
            query);
      } catch (const std::exception& e) {
        a.error = e.what();
      }
      a.took = pt::ms_since(started);
      return a;
    }));
  }

  // Meanwhile: reviews with nothing to resolve, on one keep-alive connection, while the hanging
  // faults are still open.
  pt::HttpsClient clean(served.client());
  int clean_ok = 0, clean_while_hung = 0;
  milliseconds clean_slowest{0};
  auto hung_open = [&] { return pending[0].wait_for(0s) != std::future_status::ready; };
  for (int i = 0; i < 1000 && (i < 5 || hung_open() || pending[4].wait_for(0s) != std::future_status::ready); ++i) {
    const bool during = hung_open();
    const auto started = Clock::now();
    auto r = clean.request("POST", "/validate" + query, pt::clean_review("clean-" + std::to_string(i)));
    clean_slowest = std::max(clean_slowest, pt::ms_since(started));
    if (r.status == 200 && pt::contains(r.body, "\"allowed\":true")) {
      ++clean_ok;
      if (during) ++clean_while_hung;
    }
    std::this_thread::sleep_for(50ms);
  }

  for (std::size_t i = 0; i < faults.size(); ++i) {
    const Answer a = pending[i].get();
    INFO(faults[i].repo << " answered in " << a.took.count() << " ms: " << a.error << a.response.body);
    REQUIRE(a.error.empty());
    CHECK(a.response.status == 200);
    CHECK(a.took < bound);
    if (faults[i].kind == "timeout") CHECK(a.took >= deadline - 300ms);  // it did wait for the registry
    CHECK(pt::contains(a.response.body, "\"uid\":\"fault-" + std::to_string(i) + "\""));
    CHECK(pt::contains(a.response.body, "podgate could not resolve image"));
    CHECK(pt::contains(a.response.body, faults[i].says));
    if (allow) {
      CHECK(pt::contains(a.response.body, "\"allowed\":true"));
      CHECK(pt::contains(a.response.body, "allowed by rules.images.onResolveError: allow"));  // the warning
    } else {
      CHECK(pt::contains(a.response.body, "\"allowed\":false"));
      CHECK(pt::contains(a.response.body, "onResolveError is deny"));
    }
  }
  INFO("clean reviews: " << clean_ok << ", " << clean_while_hung << " while the registry hung; slowest "
                         << clean_slowest.count() << " ms");
  CHECK(clean_while_hung >= 3);
  CHECK(clean_slowest < 1500ms);  // not held behind the hung reviews (1.8 s and more)

  // The 100 MiB manifest was refused on its Content-Length: the connection was dropped with most
  // of it unsent (what was sent sits in loopback socket buffers, a few MiB).
  std::optional<std::pair<long long, bool>> huge;
  REQUIRE(eventually([&] { return (huge = reg.stream_end("huge/app")).has_value(); }, 10s));
  CHECK_FALSE(huge->second);
  CHECK(huge->first < 25LL * 1024 * 1024);

  // Counted: by kind at the registry (a timeout is counted when the fetch gives up, at
  // resolve.timeout), and by what onResolveError made of each.
  const std::string registry_label = "registry=\"" + reg.host() + "\"";
  std::string text;
  const auto counted = [&] {
    text = scrape(served.metricsPort);
    for (const auto& f : faults) {
      const double expected = static_cast<double>(
          std::count_if(faults.begin(), faults.end(), [&](const Fault& g) { return g.kind == f.kind; }));
      if (pt::metric(text, "podgate_registry_errors_total", {"kind=\"" + f.kind + "\"", registry_label}) != expected)
        return false;
    }
    return true;
  };
  const bool all_counted = eventually(counted, 6s);
  INFO(text);
  CHECK(all_counted);
  const std::string outcome = allow ? "outcome=\"allowed\"" : "outcome=\"denied\"";
  const std::string other = allow ? "outcome=\"denied\"" : "outcome=\"allowed\"";
  CHECK(pt::metric(text, "podgate_image_resolve_failures_total", {outcome}) == 5);
  CHECK(pt::metric(text, "podgate_image_resolve_failures_total", {other}) == 0);
  CHECK(served.process->running());
}

// ---------------------------------------------------------------------------------------------
// SIGTERM under load.
//
// "Zero failed requests" here means, precisely:
//  1. Every review podgate judged (each is a line of its decision log, logAllowed: true, with the
//     review's uid) reached its client as a complete 200 response with that uid, and no uid was
//     judged twice (a retry of a request whose answer was lost would show as a second judgement).
//  2. Before SIGTERM, no attempt fails in any way.
//  3. After SIGTERM, an attempt may fail only without being judged, in one of two ways that leave
//     nothing half-done:
//     - the connection is refused or reset before the TLS handshake completes (the listener is
//       closed, so the apiserver turns to another endpoint);
//     - a request written on a keep-alive connection at the instant podgate closes it as idle
//       gets no byte of answer (HTTP/1.1 has no way to close an idle connection without this
//       race). Such an attempt is retried once on a new connection, as the apiserver's webhook
//       client retries a connection reset; point 1 checks that the first attempt was not judged.
//  4. A request whose header had arrived when SIGTERM came is answered (with Connection: close),
//     even though its body comes later; an idle keep-alive connection is closed at once; exit 0.

TEST_CASE("fault: SIGTERM under keep-alive load loses no request and exits 0", "[fault][binary][concurrency]") {
  pt::ServedPodgate served("logging: {logAllowed: true}\nserver: {shutdownGracePeriod: 15s}\n");
  pt::HttpsClient idle(served.client());
  REQUIRE(idle.request("GET", "/healthz").status == 200);

  const std::string inflight_body = pt::pod_review("in-flight", false, 4096);
  pt::HttpsClient uploader(served.client());

  std::mutex mutex;
  std::set<std::string> answered;
  std::vector<std::string> problems;           // breaks the definition above
  std::map<std::string, int> not_answered;    // uid -> why, for attempts that failed after SIGTERM
  std::atomic<bool> termSent{false};
  std::atomic<int> ok_before{0}, refused{0}, retried{0};
  auto problem = [&](std::string what) {
    std::lock_guard<std::mutex> lock(mutex);
    problems.push_back(std::move(what));
  };
  auto refused_at_connect = [](const std::string& what) {
    return pt::contains(what, "connect failed") || pt::contains(what, "TLS handshake failed");
  };

  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&, t] {
      pt::HttpsClient c(served.client());
      for (int i = 0;; ++i) {
        const std::string uid = "load-" + std::to_string(t) + "-" + std::to_string(i);
        const bool after_term = termSent.load();
        for (int attempt = 0; attempt < 2; ++attempt) {
          try {
            auto r = c.request("POST", "/validate", pt::pod_review(uid));
            if (r.status != 200 || !pt::contains(r.body, "\"uid\":\"" + uid + "\"")) {
              problem(uid + ": status " + std::to_string(r.status) + " " + r.body);
            } else {
              std::lock_guard<std::mutex> lock(mutex);
              answered.insert(uid);
            }
            if (!after_term) ++ok_before;
            break;
          } catch (const std::exception& e) {
            const std::string what = e.what();
            if (!termSent.load()) {
              problem(uid + " failed before SIGTERM: " + what);
              return;
            }
            if (refused_at_connect(what)) {  // never written: this replica is gone
              ++refused;
              return;
            }
            // Written on a connection being closed: no answer byte. Retry once, as the apiserver does.
            {
              std::lock_guard<std::mutex> lock(mutex);
              not_answered[uid]++;
            }
            if (attempt == 1) return;
            ++retried;
          }
        }
      }
    });
  }

  REQUIRE(eventually([&] { return ok_before.load() > 200; }, 20s));
  // In flight at SIGTERM: the header and the start of the body have arrived.
  uploader.send_raw(pt::post_head("/validate", inflight_body.size()) + inflight_body.substr(0, 1000));
  std::this_thread::sleep_for(100ms);
  termSent = true;
  served.process->signal(SIGTERM);
  CHECK(idle.wait_for_close(5s));

  // The request in flight at SIGTERM: the rest of its body comes later, and it is still answered.
  std::this_thread::sleep_for(300ms);
  uploader.send_raw(inflight_body.substr(1000));
  const auto inflight = uploader.read_response();
  CHECK(inflight.status == 200);
  CHECK(inflight.header("Connection") == "close");
  CHECK(pt::contains(inflight.body, "\"uid\":\"in-flight\""));

  const auto code = served.process->wait_for(30s);
  for (auto& c : clients) c.join();
  REQUIRE(code.has_value());
  CHECK(*code == 0);

  // The decision log: which uids podgate judged, and how often.
  std::map<std::string, int> judged;
  std::istringstream lines(served.process->stderr_text());
  for (std::string line; std::getline(lines, line);) {
    const auto at = line.find("\"uid\":\"");
    if (at == std::string::npos) continue;
    const auto start = at + 7;
    judged[line.substr(start, line.find('"', start) - start)]++;
  }
  std::vector<std::string> lost;
  for (const auto& [uid, count] : judged) {
    if (uid == "in-flight") continue;
    if (count != 1 || !answered.count(uid)) lost.push_back(uid + " judged " + std::to_string(count) + "x");
  }
  for (const auto& uid : answered) {
    if (!judged.count(uid)) lost.push_back(uid + " answered but not in the decision log");
  }
  INFO("answered " << answered.size() << " (" << ok_before.load() << " before SIGTERM), retried " << retried.load()
                   << ", refused at connect " << refused.load() << ", unanswered after SIGTERM " << not_answered.size());
  for (const auto& p : problems) UNSCOPED_INFO(p);
  for (const auto& l : lost) UNSCOPED_INFO(l);
  CHECK(problems.empty());
  CHECK(lost.empty());
  CHECK(judged.count("in-flight") == 1);
  const std::string err = served.process->stderr_text();
  CHECK(pt::contains(err, "draining started"));
  CHECK(pt::contains(err, "drained; all connections closed"));
  CHECK_FALSE(pt::contains(err, "grace period over"));
  CHECK(pt::contains(err, "podgate stopped"));
}

// ---------------------------------------------------------------------------------------------
// Full disk under the scan database: a 2 MiB tmpfs, filled up.

namespace {

std::string rfc3339_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

// A Trivy report for `digest` with `count` findings (the first CRITICAL, the rest LOW), with
// package names of about `packageBytes` (they are stored, so a large report needs many pages).
std::string trivy_report(const std::string& digest, int count, std::size_t packageBytes = 8) {
  std::string list;
  for (int i = 0; i < count; ++i) {
    if (i) list += ',';
    list += "{\"VulnerabilityID\":\"CVE-2024-" + std::to_string(10000 + i) + "\",\"PkgName\":\"pkg" + std::to_string(i) + std::string(packageBytes, 'p') +
            "\",\"InstalledVersion\":\"1.0\",\"FixedVersion\":\"1.1\",\"Status\":\"fixed\",\"Severity\":\"" +
            (i == 0 ? "CRITICAL" : "LOW") + "\",\"Title\":\"test finding\"}";
  }
  const std::string repo_digest = "registry.example.com/team/app@" + digest;
  return "{\"SchemaVersion\":2,\"CreatedAt\":\"" + rfc3339_now() + "\",\"ArtifactName\":\"" + repo_digest +
         "\",\"ArtifactType\":\"container_image\",\"Metadata\":{\"OS\":{\"Family\":\"debian\",\"Name\":\"12.5\"},"
         "\"RepoTags\":[],\"RepoDigests\":[\"" + repo_digest + "\"]},"
         "\"Results\":[{\"Target\":\"app (debian 12.5)\",\"Class\":\"os-pkgs\",\"Type\":\"debian\","
         "\"Vulnerabilities\":[" + list + "]}]}";
}

// A tmpfs mounted for the test's lifetime; lazily unmounted (MNT_DETACH) so a file still open
// cannot keep it.
struct TmpfsMount {
  std::string path;
  bool mounted = false;
  TmpfsMount(std::string where, const std::string& options) : path(std::move(where)) {
    ::mkdir(path.c_str(), 0700);
    mounted = ::mount("tmpfs", path.c_str(), "tmpfs", 0, options.c_str()) == 0;
  }
  ~TmpfsMount() {
    if (mounted) ::umount2(path.c_str(), MNT_DETACH);
  }
};

// Writes until the file system says no; the bytes written.
std::size_t fill(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "wb");
  REQUIRE(f != nullptr);
  std::setvbuf(f, nullptr, _IONBF, 0);
  const std::string chunk(4096, 'x');
  std::size_t written = 0;
  while (std::fwrite(chunk.data(), 1, chunk.size(), f) == chunk.size()) written += chunk.size();
  std::fclose(f);
  return written;
}

pt::Response post_scan(const pt::ServedPodgate& served, const std::string& token, const std::string& report) {
  pt::HttpsClient c(served.client());
  c.send_raw(pt::post_head("/v1/scans", report.size(), "Authorization: Bearer " + token + "\r\n") + report);
  return c.read_response();
}

}  // namespace

TEST_CASE("fault: a full disk fails scan imports with a clear error, and admission goes on from what is stored",
          "[fault][scan][binary]") {
  if (::geteuid() != 0) {
    WARN("SKIPPED: a real full disk needs a tmpfs mount, which needs root (CI runs as root)");
    return;
  }
  pt::TempDir dir("podgate-fault-disk");
  // 8 MiB: room for the large import below once the filler is gone (its WAL frames and their
  // checkpoint both take space).
  TmpfsMount disk(dir.file("db"), "size=8m,mode=0700");
  if (!disk.mounted) {
    WARN("SKIPPED: mount -t tmpfs failed here (" << std::strerror(errno) << "): no CAP_SYS_ADMIN?");
    return;
  }
  const std::string token = "fault-t0ken-0123456789abcdef0123456789";
  pt::write_file(dir.file("token"), token);
  // The images are pinned at a registry that does not exist: with the scan rule on podgate asks it
  // for an index's platforms, and onResolveError allow judges each by its own digest (this case is
  // about the disk, not the registry).
  const std::string config = "rules:\n  images:\n    action: deny\n    onResolveError: allow\n"
                             "    scan: {action: deny, severityThreshold: CRITICAL, onUnscanned: deny}\n"
                             "registries:\n  - {host: \"registry.example.com\", plainHTTP: true}\n"
                             "scans:\n  database: \"" + disk.path + "/scans.db\"\n  apiTokenFile: \"" +
                             dir.file("token") + "\"\n";
  pt::write_file(dir.file("podgate.yaml"), config);
  pt::ServedPodgate served(config);

  const std::string vulnerable = "sha256:" + std::string(64, 'b');
  const std::string clean = "sha256:" + std::string(64, 'c');
  const std::string late = "sha256:" + std::string(64, 'd');
  auto image = [](const std::string& digest) { return "registry.example.com/team/app@" + digest; };
  REQUIRE(post_scan(served, token, trivy_report(vulnerable, 3)).status == 201);
  {
    std::string none = trivy_report(clean, 1);
    none.replace(none.find("\"CRITICAL\""), 10, "\"LOW\"");
    REQUIRE(post_scan(served, token, none).status == 201);
  }

  const std::size_t filler = fill(disk.path + "/filler");
  INFO("filler: " << filler << " bytes");
  REQUIRE(filler > 0);

  // A report with ~1.5 MiB of stored findings: more pages than the WAL already holds, so it
  // needs space the disk no longer has.
  const std::string big = trivy_report(late, 6000, 240);
  const auto refused = post_scan(served, token, big);
  INFO("POST /v1/scans: " << refused.status << " " << refused.body);
  CHECK(refused.status == 503);
  CHECK(pt::contains(refused.body, "disk is full"));
  CHECK(pt::contains(refused.body, "scans.database has no space left"));  // which setting, and what to do

  pt::write_file(dir.file("big.json"), big);
  pt::Process cli({PODGATE_BINARY, "scans", "import", "--config", dir.file("podgate.yaml"), dir.file("big.json")});
  const auto cli_code = cli.wait_for(30s);
  INFO("podgate scans import: " << cli.stderr_text());
  REQUIRE(cli_code.has_value());
  CHECK(*cli_code == 1);
  CHECK(pt::contains(cli.stderr_text(), "big.json"));
  CHECK(pt::contains(cli.stderr_text(), "disk is full"));

  // Admission goes on from what is stored, on a fresh connection and the server is healthy.
  auto review = [&](const std::string& uid, const std::string& digest) {
    return served.validate(pt::pod_review_with_images(uid, {image(digest)}));
  };
  const auto v = review("v", vulnerable);
  CHECK(v.status == 200);
  CHECK(pt::contains(v.body, "\"allowed\":false"));
  CHECK(pt::contains(v.body, "CVE-2024-10000"));
  const auto c = review("c", clean);
  CHECK(c.status == 200);
  CHECK(pt::contains(c.body, "\"allowed\":true"));
  const auto l = review("l", late);
  CHECK(pt::contains(l.body, "\"allowed\":false"));
  CHECK(pt::contains(l.body, "has not been scanned"));
  pt::HttpsClient health(served.client());
  CHECK(health.request("GET", "/readyz").status == 200);

  // Space freed: the same import now goes through, and judges the image.
  REQUIRE(std::remove((disk.path + "/filler").c_str()) == 0);
  const auto accepted = post_scan(served, token, big);
  INFO(accepted.body);
  CHECK(accepted.status == 201);
  const auto l2 = review("l2", late);
  CHECK(pt::contains(l2.body, "\"allowed\":false"));
  CHECK(pt::contains(l2.body, "CVE-2024-10000"));
  CHECK(served.process->running());
}

// ---------------------------------------------------------------------------------------------
// Many connections.

TEST_CASE("fault: 5000 idle keep-alive connections do not stop new requests being served", "[fault][limits][binary]") {
  if (!pt::raise_nofile(12000)) {
    WARN("SKIPPED: the open-file limit cannot be raised to 12000 (ulimit -Hn)");
    return;
  }
  // The busy apiserver's case: every connection has been used and waits, idle, for its next
  // request. 5,000 of them against maxConnections 1000: each new connection makes the
  // longest-idle one give way.
  // One client address for all: no per-peer cap, as for an apiserver behind one konnectivity agent.
  pt::ServedPodgate served(
      "server:\n  threads: 2\n  limits: {maxConnections: 1000, maxConnectionsPerPeer: 0, idleTimeout: 5m}\n");
  SslContext tls(served.certs.caFile);
  const std::string request = pt::post_head("/validate", pt::clean_review("idle").size()) + pt::clean_review("idle");

  constexpr int kHeld = 5000;
  std::vector<std::unique_ptr<TlsConnection>> held;
  held.reserve(kHeld);
  int failed = 0;
  std::string first_failure;
  const auto started = Clock::now();
  for (int i = 0; i < kHeld; ++i) {
    auto c = std::make_unique<TlsConnection>();
    if (!c->open(tls.ctx, served.port) || c->request(request) != 200) {
      if (failed++ == 0) first_failure = std::to_string(i) + ": " + c->why();
    }
    held.push_back(std::move(c));
  }
  INFO(kHeld << " connections opened and used in " << pt::ms_since(started).count() << " ms; " << failed
             << " failed, the first: " << first_failure);
  CHECK(failed == 0);

  // A new client, on a new connection, is served at once.
  const auto fresh_started = Clock::now();
  pt::HttpsClient fresh(served.client());
  const auto r = fresh.request("POST", "/validate", pt::clean_review("fresh"));
  CHECK(r.status == 200);
  CHECK(pt::ms_since(fresh_started) < 1500ms);

  // The newest connections are still usable as they are; the oldest were closed for them.
  int newest_ok = 0;
  for (int i = kHeld - 500; i < kHeld; ++i) newest_ok += held[i]->request(request) == 200 ? 1 : 0;
  CHECK(newest_ok == 500);
  int oldest_closed = 0;
  for (int i = 0; i < 3500; ++i) oldest_closed += held[i]->closed_by_peer() ? 1 : 0;
  CHECK(oldest_closed == 3500);

  const std::string text = scrape(served.metricsPort);
  CHECK(pt::metric(text, "podgate_http_connections_open") <= 1002);
  CHECK(pt::metric(text, "podgate_http_connections_rejected_total", {"reason=\"evicted_idle\""}) >= kHeld + 1 - 1000 - 5);
  CHECK(pt::metric(text, "podgate_http_connections_rejected_total", {"reason=\"max_connections\""}) == 0);
}

TEST_CASE("fault: 5000 connections that never send a request do not stop new requests being served",
          "[fault][limits][binary]") {
  if (!pt::raise_nofile(12000)) {
    WARN("SKIPPED: the open-file limit cannot be raised to 12000 (ulimit -Hn)");
    return;
  }
  // The attacker's case: connections that never finish a request. maxConnections is sized above
  // them (so none is evicted: overload_test.cpp covers the flood beyond it), no per-peer cap, and
  // the handshake and read deadlines shed them. 4,000 never start TLS (a few send half a ClientHello), 1,000 finish the
  // handshake and send nothing.
  const milliseconds read_timeout = 10000ms;
  pt::ServedPodgate served(
      "server:\n  threads: 2\n  limits: {maxConnections: 8192, maxConnectionsPerPeer: 0, handshakeTimeout: 10s, "
      "readTimeout: 10s}\n");
  SslContext tls(served.certs.caFile);

  const auto started = Clock::now();
  std::vector<std::unique_ptr<pt::RawConnection>> raw;
  for (int i = 0; i < 4000; ++i) {
    raw.push_back(std::make_unique<pt::RawConnection>("127.0.0.1", served.port));
    if (i % 8 == 0) raw.back()->send(std::string("\x16\x03\x01\x02", 4));
  }
  std::vector<std::unique_ptr<TlsConnection>> handshaken;
  int handshake_failed = 0;
  for (int i = 0; i < 1000; ++i) {
    handshaken.push_back(std::make_unique<TlsConnection>());
    if (!handshaken.back()->open(tls.ctx, served.port)) ++handshake_failed;
  }
  const auto opened_in = pt::ms_since(started);
  INFO("opened in " << opened_in.count() << " ms");
  CHECK(handshake_failed == 0);
  // What follows is only meaningful while they are all held (opening takes 1-2 s here, a few
  // under a sanitizer).
  REQUIRE(opened_in < read_timeout - 2000ms);

  // Meanwhile, new clients are served promptly, on new connections and on a reused one.
  pt::HttpsClient reused(served.client());
  milliseconds slowest{0};
  int ok = 0;
  for (int i = 0; i < 10; ++i) {
    const auto t0 = Clock::now();
    pt::HttpsClient once(served.client());
    ok += once.request("POST", "/validate", pt::clean_review("new-" + std::to_string(i))).status == 200 ? 1 : 0;
    ok += reused.request("POST", "/validate", pt::clean_review("reused-" + std::to_string(i))).status == 200 ? 1 : 0;
    slowest = std::max(slowest, pt::ms_since(t0));
  }
  CHECK(ok == 20);
  CHECK(slowest < 1500ms);
  const std::string during = scrape(served.metricsPort);
  CHECK(pt::metric(during, "podgate_http_connections_open") >= 5000);
  CHECK(pt::metric(during, "podgate_http_connections_rejected_total") == 0);

  // And they are shed at the read deadline.
  REQUIRE(eventually([&] { return pt::metric(scrape(served.metricsPort), "podgate_http_connections_open") <= 1; },
                     read_timeout + 6s));
  int raw_closed = 0;
  for (auto& c : raw) raw_closed += c->closed_by_peer() ? 1 : 0;
  CHECK(raw_closed == 4000);
  const std::string after = scrape(served.metricsPort);
  CHECK(pt::metric(after, "podgate_http_connection_timeouts_total", {"phase=\"handshake\""}) >= 4000);
  CHECK(pt::metric(after, "podgate_http_connection_timeouts_total", {"phase=\"read\""}) >= 1000);
  CHECK(reused.request("GET", "/healthz").status == 200);
}

// The same eviction in-process, small and fast enough for ThreadSanitizer: clients on several
// threads open keep-alive connections at once, so evictions are decided on the acceptor's thread
// while both workers add and remove idle connections.
TEST_CASE("fault: at maxConnections idle keep-alive connections give way, across worker threads",
          "[fault][limits][concurrency]") {
  pt::TempDir dir("podgate-fault-evict");
  pt::CertificateAuthority ca;
  const auto certs = pt::write_server_certificate(ca, dir.path());
  podgate::config::ServerConfig config;
  config.listen = "127.0.0.1:0";
  config.threads = 2;
  config.tls.certFile = certs.certFile;
  config.tls.keyFile = certs.keyFile;
  config.limits.maxConnections = 20;
  config.limits.idleTimeout = 60s;
  podgate::metrics::Metrics metrics;
  const int logFd = ::open(dir.file("server.log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  REQUIRE(logFd >= 0);
  podgate::log::Logger logger(logFd, podgate::log::Level::Info);
  podgate::policy::Reviewer reviewer(std::make_shared<const podgate::policy::Evaluator>(podgate::config::Config{}),
                                     &metrics, &logger);
  podgate::server::Server server(config, reviewer, metrics, logger);
  std::thread runner([&] { server.run(); });

  pt::ClientOptions options;
  options.port = server.port();
  options.caFile = certs.caFile;
  constexpr int kThreads = 4, kEach = 25;
  std::atomic<int> ok{0};
  std::mutex mutex;
  std::vector<std::string> failures;
  // Each thread's connections, held open (idle after their request) until every thread is done.
  std::vector<std::vector<std::unique_ptr<pt::HttpsClient>>> held(kThreads);
  std::vector<std::thread> clients;
  for (int t = 0; t < kThreads; ++t) {
    clients.emplace_back([&, t] {
      auto& mine = held[t];
      for (int i = 0; i < kEach; ++i) {
        const std::string uid = "e" + std::to_string(t) + "-" + std::to_string(i);
        try {
          mine.push_back(std::make_unique<pt::HttpsClient>(options));
          auto r = mine.back()->request("POST", "/validate", pt::pod_review(uid));
          if (r.status == 200 && pt::contains(r.body, uid)) ++ok;
          else throw std::runtime_error("status " + std::to_string(r.status));
        } catch (const std::exception& e) {
          std::lock_guard<std::mutex> lock(mutex);
          failures.push_back(uid + ": " + e.what());
        }
      }
    });
  }
  for (auto& c : clients) c.join();
  for (const auto& f : failures) UNSCOPED_INFO(f);
  CHECK(ok == kThreads * kEach);
  auto value = [&](const std::string& family, const std::vector<std::string>& labels = {}) {
    return pt::metric(metrics.serialize(), family, labels);
  };
  CHECK(eventually([&] { return value("podgate_http_connections_open") <= 20; }, 5s));
  // Every connection beyond the limit found one to evict (a connection whose idle wait had just
  // ended with a request may survive its eviction, so allow a few).
  CHECK(value("podgate_http_connections_rejected_total", {"reason=\"evicted_idle\""}) >= kThreads * kEach - 20 - 8);
  CHECK(value("podgate_http_connections_rejected_total", {"reason=\"max_connections\""}) == 0);

  held.clear();
  server.stop();
  runner.join();
  ::close(logFd);
}
