// kube::LeaderElector (leader election over a coordination.k8s.io/v1 Lease) against the real
// kube-apiserver that tests/e2e/kube_client.sh starts. The environment is kube_client_test.cpp's;
// the test user may use leases. Every case has a Lease of its own in "default".
//
// Timing: short durations (a 3 s Lease, 2 s renewDeadline, 0.4 s retryPeriod) so a case takes
// seconds, and assertions of order and of generous upper bounds only, since the machine is shared.

#include <arpa/inet.h>
#include <catch2/catch.hpp>
#include <netinet/in.h>
#include <poll.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <memory>
#include <mutex>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "kube/client.h"
#include "kube/config.h"
#include "kube/lease.h"
#include "log/log.h"
#include "metrics/metrics.h"
#include "util/time.h"
#include "kube_e2e.h"

using namespace std::chrono_literals;
using podgate::kube::Client;
using podgate::kube::LeaderElector;
using podgate::kube::LeaseOptions;
using Clock = std::chrono::steady_clock;

namespace {

using podgate::e2e::env_or_fail;

// Polled every 10 ms: the cases measure how soon leadership moves.
bool eventually(const std::function<bool()>& check, std::chrono::milliseconds within) {
  return podgate::e2e::eventually(check, within, 10ms);
}

constexpr const char* kNamespace = "default";

// `server`: another URL for the apiserver (a FreezableProxy's), "" for the kubeconfig's.
Client make_client(std::string server = "", std::chrono::milliseconds timeout = 5s) {
  return podgate::e2e::test_client(nullptr, timeout, server);
}

// A TCP relay to the apiserver (TLS passes through) that can be frozen: while frozen it moves no
// bytes either way, so a request through it hangs as one to a stalled apiserver or a black-holed
// network does: no error, no answer, until the client's own timeout.
class FreezableProxy {
 public:
  explicit FreezableProxy(int upstreamPort) : upstreamPort_(upstreamPort) {
    listenFd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (listenFd_ < 0 || ::bind(listenFd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        ::listen(listenFd_, 16) != 0 || ::getsockname(listenFd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
      throw std::runtime_error("proxy: cannot listen on loopback");
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~FreezableProxy() {
    stopping_ = true;
    acceptor_.join();
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& t : pumps_) t.join();
    ::close(listenFd_);
  }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_); }
  void freeze(bool on) { frozen_ = on; }

 private:
  void accept_loop() {
    while (!stopping_) {
      pollfd p{listenFd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int fd = ::accept(listenFd_, nullptr, nullptr);
      if (fd < 0) continue;
      std::lock_guard<std::mutex> lock(mutex_);
      pumps_.emplace_back([this, fd] { pump(fd); });
    }
  }
  void pump(int client) {
    const int upstream = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(upstreamPort_));
    if (upstream >= 0 && ::connect(upstream, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
      char buf[16384];
      while (!stopping_) {
        if (frozen_) {
          std::this_thread::sleep_for(20ms);
          continue;
        }
        pollfd p[2] = {{client, POLLIN, 0}, {upstream, POLLIN, 0}};
        if (::poll(p, 2, 50) <= 0) continue;
        const int from = p[0].revents ? client : upstream, to = from == client ? upstream : client;
        const ssize_t n = ::read(from, buf, sizeof buf);
        if (n <= 0 || ::write(to, buf, static_cast<std::size_t>(n)) != n) break;
      }
    }
    if (upstream >= 0) ::close(upstream);
    ::close(client);
  }

  int upstreamPort_, port_ = 0, listenFd_ = -1;
  std::atomic<bool> frozen_{false}, stopping_{false};
  std::thread acceptor_;
  std::mutex mutex_;
  std::vector<std::thread> pumps_;
};

int apiserver_port() {
  const std::string server = env_or_fail("PODGATE_E2E_SERVER");
  return std::stoi(server.substr(server.rfind(':') + 1));
}

// The elector's log lines go to the case's log, as evidence when a case fails.
podgate::log::Logger& logger() {
  static podgate::log::Logger l(2, podgate::log::Level::Debug);
  return l;
}

void step(const std::string& what) {
  static const Clock::time_point start = Clock::now();
  std::fprintf(stderr, "[%7.2fs] %s\n", std::chrono::duration<double>(Clock::now() - start).count(), what.c_str());
}

// A Lease name of its own per run and case, so reruns against one apiserver never share one.
std::string lease_name(const std::string& tag) {
  static const std::string run = std::to_string(std::time(nullptr) % 100000) + "-" + std::to_string(std::rand() % 1000);
  return "podgate-e2e-" + tag + "-" + run;
}

std::string lease_path(const std::string& name) {
  return std::string("/apis/coordination.k8s.io/v1/namespaces/") + kNamespace + "/leases/" + name;
}

LeaseOptions fast(const std::string& name, const std::string& identity) {
  return podgate::kube::lease_options(kNamespace, name, identity, 3000ms);  // 3 s, 2 s, 0.4 s
}

// One candidate and what its callbacks saw.
struct Candidate {
  std::atomic<int> started{0}, stopped{0};
  podgate::metrics::Metrics metrics;
  std::string identity;
  std::unique_ptr<LeaderElector> elector;

  Candidate(Client& client, LeaseOptions options) : identity(options.identity) {
    LeaderElector::Callbacks callbacks{[this] { ++started; }, [this] { ++stopped; }};
    elector = std::make_unique<LeaderElector>(client, std::move(options), std::move(callbacks), &metrics, &logger());
  }
  bool leader() const { return elector->is_leader(); }
};

// The Lease's spec as the apiserver holds it.
struct Spec {
  bool found = false;
  std::string holder, renewTime, acquireTime;
  long long duration = -1, transitions = -1;
};

Spec read_lease(Client& client, const std::string& name) {
  Spec s;
  const auto r = client.get("leases", lease_path(name));
  if (!r.ok()) return s;
  rapidjson::Document doc;
  doc.Parse(r.body.c_str());
  if (!doc.IsObject() || !doc.HasMember("spec")) return s;
  const auto& spec = doc["spec"];
  s.found = true;
  auto str = [&](const char* k) { return spec.HasMember(k) && spec[k].IsString() ? spec[k].GetString() : ""; };
  auto num = [&](const char* k) { return spec.HasMember(k) && spec[k].IsInt64() ? spec[k].GetInt64() : -1LL; };
  s.holder = str("holderIdentity");
  s.renewTime = str("renewTime");
  s.acquireTime = str("acquireTime");
  s.duration = num("leaseDurationSeconds");
  s.transitions = num("leaseTransitions");
  return s;
}

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace

TEST_CASE("LeaderElector: one candidate becomes leader, the Lease names it, and stop() releases it") {
  Client client = make_client();
  const std::string name = lease_name("one");
  Candidate a(client, fast(name, "a-" + name));
  a.elector->start();
  REQUIRE(eventually([&] { return a.leader(); }, 5s));
  CHECK(a.started.load() == 1);
  CHECK(a.elector->holder() == a.identity);
  Spec first = read_lease(client, name);
  REQUIRE(first.found);
  CHECK(first.holder == a.identity);
  CHECK(first.duration == 3);
  CHECK(first.transitions == 0);
  const std::regex microTime(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)");
  CHECK(std::regex_match(first.renewTime, microTime));
  CHECK(std::regex_match(first.acquireTime, microTime));
  CHECK(a.metrics.serialize().find("podgate_audit_leader 1") != std::string::npos);
  // Renewals move renewTime and keep acquireTime.
  REQUIRE(eventually([&] { return read_lease(client, name).renewTime != first.renewTime; }, 3s));
  const Spec later = read_lease(client, name);
  CHECK(later.holder == a.identity);
  CHECK(later.acquireTime == first.acquireTime);
  CHECK(later.transitions == 0);
  CHECK(a.stopped.load() == 0);

  a.elector->stop();
  CHECK_FALSE(a.leader());
  CHECK(a.stopped.load() == 1);
  const Spec released = read_lease(client, name);
  CHECK(released.holder.empty());
  CHECK(released.duration == 1);
  const std::string metrics = a.metrics.serialize();
  CHECK(metrics.find("podgate_audit_leader 0") != std::string::npos);
  CHECK(metrics.find("podgate_audit_leader_transitions_total 2") != std::string::npos);
}

TEST_CASE("LeaderElector: two candidates on one Lease are never both leader") {
  Client client = make_client();
  const std::string name = lease_name("two");
  Candidate a(client, fast(name, "a-" + name)), b(client, fast(name, "b-" + name));
  a.elector->start();
  b.elector->start();
  REQUIRE(eventually([&] { return a.leader() || b.leader(); }, 5s));
  int samples = 0, both = 0, none = 0;
  const auto until = Clock::now() + 6s;
  while (Clock::now() < until) {
    const bool x = a.leader(), y = b.leader();
    ++samples;
    both += x && y;
    none += !x && !y;
    std::this_thread::sleep_for(10ms);
  }
  WARN(samples << " samples over 6 s: " << both << " with both leading, " << none << " with none");
  CHECK(both == 0);
  // A leader steps down only when it cannot renew for renewDeadline: on loopback it keeps leading.
  CHECK(none * 10 < samples);
  Candidate& leader = a.leader() ? a : b;
  Candidate& other = a.leader() ? b : a;
  CHECK(read_lease(client, name).holder == leader.identity);
  CHECK(other.elector->holder() == leader.identity);
  CHECK(other.started.load() == 0);
}

TEST_CASE("LeaderElector: stop() with release hands the Lease over at once, not after it expires") {
  Client client = make_client();
  const std::string name = lease_name("release");
  // A long leaseDuration: a takeover in a few retryPeriods can only come from the release.
  auto options = [&](const std::string& identity) {
    LeaseOptions o = fast(name, identity);
    o.leaseDuration = 10s;
    return o;
  };
  Candidate a(client, options("a-" + name)), b(client, options("b-" + name));
  a.elector->start();
  REQUIRE(eventually([&] { return a.leader(); }, 5s));
  b.elector->start();
  REQUIRE(eventually([&] { return b.elector->holder() == a.identity; }, 3s));
  std::this_thread::sleep_for(500ms);
  CHECK_FALSE(b.leader());

  const auto stopped = Clock::now();
  a.elector->stop();
  CHECK(a.stopped.load() == 1);
  // b tries every retryPeriod * (1 + up to 1.2): within 0.88 s, plus slack.
  REQUIRE(eventually([&] { return b.leader(); }, 4s));
  const double took = seconds_since(stopped);
  WARN("b led " << took << " s after a's stop()");
  CHECK(took < 0.4 * 2.2 + 1.5);
  const Spec spec = read_lease(client, name);
  CHECK(spec.holder == b.identity);
  CHECK(spec.transitions == 1);
  CHECK(b.started.load() == 1);
}

TEST_CASE("LeaderElector: a leader that dies without releasing is replaced after leaseDuration") {
  Client client = make_client();
  const std::string name = lease_name("expire");
  LeaseOptions killed = fast(name, "a-" + name);
  killed.releaseOnStop = false;
  Candidate a(client, killed), b(client, fast(name, "b-" + name));
  a.elector->start();
  REQUIRE(eventually([&] { return a.leader(); }, 5s));
  b.elector->start();
  // b has watched a renew for a while: its clock restarts at each renewal it sees.
  std::this_thread::sleep_for(1500ms);
  REQUIRE_FALSE(b.leader());

  const auto stopped = Clock::now();
  a.elector->stop();
  CHECK(a.stopped.load() == 1);
  CHECK(read_lease(client, name).holder == a.identity);  // left behind, as by a crash
  REQUIRE(eventually([&] { return b.leader(); }, 10s));
  const double took = seconds_since(stopped);
  WARN("b led " << took << " s after a stopped without releasing (leaseDuration 3 s)");
  // Not before a's last renewal (at most a retryPeriod before the stop) is leaseDuration old, less
  // a margin; by leaseDuration plus two of b's jittered retries, plus slack.
  CHECK(took > 3.0 - 0.4 - 0.6);
  CHECK(took < 3.0 + 2 * 0.4 * 2.2 + 2.0);
  const Spec spec = read_lease(client, name);
  CHECK(spec.holder == b.identity);
  CHECK(spec.transitions == 1);
}

TEST_CASE("LeaderElector: a leader whose Lease is written over (409 on renewal) steps down") {
  Client client = make_client();
  const std::string name = lease_name("conflict");
  Candidate a(client, fast(name, "a-" + name));
  a.elector->start();
  REQUIRE(eventually([&] { return a.leader(); }, 5s));

  // An intruder writes itself in at the resourceVersion it read, with a long duration so that a
  // does not take the Lease back during the case. a's next renewal, at the older version, gets 409.
  const auto r = client.update_with_retry("leases", lease_path(name), [](const std::string& current) {
    rapidjson::Document doc;
    doc.Parse(current.c_str());
    if (!doc.IsObject() || !doc.HasMember("spec")) return std::string();
    auto& spec = doc["spec"];
    auto& alloc = doc.GetAllocator();
    spec["holderIdentity"].SetString("intruder", alloc);
    spec["leaseDurationSeconds"].SetInt(60);
    std::string now = podgate::util::rfc3339(std::time(nullptr));  // MicroTime wants 6 digits
    now.insert(now.size() - 1, ".000000");
    spec["renewTime"].SetString(now.c_str(), static_cast<rapidjson::SizeType>(now.size()), alloc);
    rapidjson::StringBuffer out;
    rapidjson::Writer<rapidjson::StringBuffer> w(out);
    doc.Accept(w);
    return std::string(out.GetString(), out.GetSize());
  });
  REQUIRE(r.ok());
  const auto intruded = Clock::now();
  step("the intruder holds the Lease");

  REQUIRE(eventually([&] { return !a.leader(); }, 4s));
  const double took = seconds_since(intruded);
  WARN("a stepped down " << took << " s after the intruder's write (renewDeadline 2 s)");
  CHECK(took < 2.0 + 1.5);
  CHECK(eventually([&] { return a.stopped.load() == 1; }, 1s));
  CHECK(a.elector->holder() == "intruder");
  // The intruder's Lease is valid for 60 s: a stays a candidate, and does not write.
  std::this_thread::sleep_for(1s);
  CHECK_FALSE(a.leader());
  CHECK(a.started.load() == 1);
  a.elector->stop();
  CHECK(a.stopped.load() == 1);  // not leading: stop() neither calls on_stopped again nor releases
  CHECK(read_lease(client, name).holder == "intruder");
}

TEST_CASE("LeaderElector: a renewal that hangs does not keep a leader past renewDeadline") {
  // The client's timeout (8 s) is far longer than renewDeadline (2 s): only the elector's own
  // deadline can end the leadership while the request hangs.
  FreezableProxy proxy(apiserver_port());
  Client client = make_client(proxy.url(), 8s);
  Client direct = make_client();
  const std::string name = lease_name("hang");
  Candidate a(client, fast(name, "a-" + name));
  a.elector->start();
  REQUIRE(eventually([&] { return a.leader(); }, 5s));
  std::this_thread::sleep_for(500ms);

  proxy.freeze(true);
  const auto frozen = Clock::now();
  step("the proxy passes nothing");
  REQUIRE(eventually([&] { return a.stopped.load() == 1; }, 5s));
  const double took = seconds_since(frozen);
  WARN("a stepped down " << took << " s after its requests began to hang (renewDeadline 2 s)");
  CHECK_FALSE(a.leader());
  // Its last renewal was at most a retryPeriod before the freeze: not much sooner than 2 s.
  CHECK(took > 2.0 - 0.4 - 0.3);
  CHECK(took < 2.0 + 1.5);
  // The Lease still names a: the step-down was a's own decision, made while the request hung.
  CHECK(read_lease(direct, name).holder == a.identity);

  // Unfrozen, the hung request completes; the Lease is still a's, so a leads again.
  proxy.freeze(false);
  step("the proxy passes bytes again");
  REQUIRE(eventually([&] { return a.leader(); }, 8s));
  CHECK(a.started.load() == 2);
  a.elector->stop();
  CHECK(a.stopped.load() == 2);
  CHECK(read_lease(direct, name).holder.empty());
}
