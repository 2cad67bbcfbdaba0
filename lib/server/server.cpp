// The Server: listener, round-robin hand-off of connections to per-thread workers, certificate
// reload timer, connection limit and the graceful drain.

#include "server/server.h"

#include <algorithm>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <exception>
#include <stdexcept>
#include <thread>

#include "server/core.h"
#include "server/session.h"

namespace podgate::server {

namespace detail {

using boost::system::error_code;

namespace {

std::chrono::milliseconds sweep_interval(const config::Limits& limits) {
  auto shortest = std::min({limits.handshakeTimeout, limits.readTimeout, limits.writeTimeout, limits.idleTimeout});
  return std::clamp(shortest / 8, std::chrono::milliseconds(5), std::chrono::milliseconds(250));
}

unsigned thread_count(unsigned configured) {
  if (configured > 0) return configured;
  unsigned cores = std::thread::hardware_concurrency();
  return cores > 0 ? cores : 1;
}

}  // namespace

// --- Worker ---------------------------------------------------------------------------------------

Worker::Worker(std::chrono::milliseconds sweep_interval) : sweepInterval(sweep_interval) {}

void Worker::start_sweeping() {
  sweeper.expires_after(sweepInterval);
  sweeper.async_wait([this](const error_code& ec) {
    if (ec || stopped) return;
    const auto now = Clock::now();
    for (auto it = sessions.begin(); it != sessions.end();) {
      Session& session = *it++;  // expire() never unlinks synchronously, but stay safe anyway
      if (!session.closed() && session.deadline() <= now) session.expire();
    }
    start_sweeping();
  });
}

void Worker::close_idle() {
  for (Session& session : sessions) session.close_if_idle();
}

void Worker::close_all() {
  for (Session& session : sessions) session.close();
}

void Worker::evict_one(ServerCore& server) {
  bool evicted = false;
  for (auto it = idle.begin(); !evicted && it != idle.end();) {
    Session& session = *it++;  // evict_if_idle unlinks it
    evicted = session.evict_if_idle();
  }
  for (auto it = fresh.begin(); !evicted && it != fresh.end();) {
    Session& session = *it++;  // evict_if_fresh unlinks it
    evicted = session.evict_if_fresh();
  }
  // After the unlink, so the acceptor never counts this connection as free to promise again.
  server.pendingEvictions.fetch_sub(1, std::memory_order_relaxed);
}

// --- ServerCore -----------------------------------------------------------------------------------

ServerCore::ServerCore(const config::ServerConfig& cfg, const policy::Reviewer& reviewer, metrics::Metrics& m,
                       log::Logger& l, const ScanApi* scans)
    : config(cfg),
      metrics(m),
      logger(l),
      router(reviewer, &m, draining, cfg.defaultReviewTimeout, scans),
      lingerTimeout(std::min(cfg.limits.readTimeout, std::chrono::milliseconds(2000))),
      // Never below the largest body one request may have, or such a request could never be read.
      bodyBudget(std::max({cfg.limits.maxBufferedBodyBytes, cfg.limits.maxBodyBytes,
                           router.body_limit("/v1/scans", cfg.limits.maxBodyBytes)}),
                 m),
      workers([&] {
        std::vector<std::unique_ptr<Worker>> list;
        for (unsigned i = 0, n = thread_count(cfg.threads); i < n; ++i) {
          list.push_back(std::make_unique<Worker>(sweep_interval(cfg.limits)));
        }
        return list;
      }()),
      certificates(cfg.tls, m, l),
      acceptor(workers[0]->ioc),
      reloadTimer(workers[0]->ioc),
      acceptRetryTimer(workers[0]->ioc),
      graceTimer(workers[0]->ioc),
      hardStopTimer(workers[0]->ioc) {
  open_listener();
  for (auto& worker : workers) worker->start_sweeping();
  do_accept();
  schedule_reload();
}

ServerCore::~ServerCore() {
  // Sessions still queued in an io_context die with it; they must not post to a dying server.
  destroying = true;
}

void ServerCore::open_listener() {
  const auto where = config::parse_host_port(config.listen, "server.listen");
  auto fail = [&](const std::string& why) { return std::runtime_error("cannot listen on " + config.listen + ": " + why); };
  error_code ec;
  tcp::endpoint endpoint;
  bool dual_stack = false;
  if (where.host.empty()) {
    endpoint = tcp::endpoint(tcp::v6(), where.port);
    dual_stack = true;
  } else {
    auto address = net::ip::make_address(where.host, ec);
    if (!ec) {
      endpoint = tcp::endpoint(address, where.port);
    } else {
      tcp::resolver resolver(workers[0]->ioc);
      auto results = resolver.resolve(where.host, std::to_string(where.port), tcp::resolver::passive, ec);
      if (ec || results.empty()) throw fail("cannot resolve \"" + where.host + "\": " + ec.message());
      endpoint = results.begin()->endpoint();
    }
  }
  acceptor.open(endpoint.protocol(), ec);
  if (ec && dual_stack) {
    // No IPv6 on this host: all IPv4 addresses instead.
    endpoint = tcp::endpoint(tcp::v4(), where.port);
    dual_stack = false;
    acceptor.open(endpoint.protocol(), ec);
  }
  if (ec) throw fail(ec.message());
  acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (dual_stack) acceptor.set_option(net::ip::v6_only(false), ec);
  acceptor.bind(endpoint, ec);
  if (ec) throw fail(ec.message());
  acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) throw fail(ec.message());
  port = acceptor.local_endpoint().port();
  const auto& cert = certificates.certificate();
  logger.line(log::Level::Info, "listening")
      .str("address", config.listen)
      .integer("port", port)
      .integer("threads", static_cast<long long>(workers.size()))
      .str("tlsMinVersion", config.tls.minVersion)
      .boolean("clientCertificates", !config.tls.clientCaFile.empty())
      .str("subject", cert.subject)
      .integer("notAfter", cert.notAfter);
}

void ServerCore::do_accept() {
  Worker& target = *workers[nextWorker];
  nextWorker = (nextWorker + 1) % workers.size();
  acceptor.async_accept(target.ioc.get_executor(), [this, &target](const error_code& ec, WorkerSocket socket) {
    on_accept(ec, std::move(socket), target);
  });
}

void ServerCore::on_accept(const error_code& ec, WorkerSocket socket, Worker& target) {
  if (drainStarted) {
    error_code ignored;
    socket.close(ignored);
    return;
  }
  if (ec) {
    if (ec == net::error::operation_aborted) return;
    // Out of descriptors (or a similar transient failure): pause instead of spinning on it.
    if (!acceptErrorLogged) {
      acceptErrorLogged = true;
      logger.line(log::Level::Warn, "accept failed; retrying").str("error", ec.message());
    }
    acceptRetryTimer.expires_after(std::chrono::milliseconds(50));
    acceptRetryTimer.async_wait([this](const error_code& wait_ec) {
      if (!wait_ec && !drainStarted) do_accept();
    });
    return;
  }
  acceptErrorLogged = false;
  PeerSlot slot;
  if (const char* reason = admit(socket, target, slot)) {
    // Accept-and-close keeps the kernel backlog from holding the excess.
    metrics.count_connection_rejected(reason);
    error_code ignored;
    socket.close(ignored);
    return do_accept();
  }
  error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  try {
    open.fetch_add(1, std::memory_order_relaxed);
    metrics.add_open_connections(1);
    auto session =
        std::make_shared<Session>(*this, target, certificates.current(), std::move(socket), std::move(slot));
    net::post(target.ioc, [session = std::move(session)] { session->start(); });
  } catch (const std::exception& e) {
    // A session that cannot be created (SSL_new failure, memory) costs this connection only.
    logger.line(log::Level::Error, "cannot start a connection").str("error", e.what());
  }
  do_accept();
}

// One address may hold only its share of the connections, so one client (a flood of silent
// connections, say) cannot take all of them from the apiserver.
const char* ServerCore::admit(WorkerSocket& socket, Worker& target, PeerSlot& slot) {
  if (const std::size_t cap = config.limits.maxConnectionsPerPeer; cap > 0) {
    error_code ec;
    const auto peer = socket.remote_endpoint(ec);
    // No address (reset before accept returned): the session fails at once anyway, uncounted.
    if (!ec && !peers.try_take(PeerTable::key_of(peer.address()), cap, slot)) return "max_per_peer";
  }
  if (open.load(std::memory_order_relaxed) >= config.limits.maxConnections && !make_room(target)) {
    return "max_connections";
  }
  return nullptr;
}

// An idle keep-alive connection costs its client only a reconnect (HTTP lets a server close one at
// any time, and clients expect it), while refusing the new connection can cost a review: so at the
// limit, the longest-idle connection gives way. Next come new connections that have not sent a byte
// of a first request (in their TLS handshake, or silent after it), oldest first: a real client
// sends its request within milliseconds of connecting, so the oldest is the likeliest to be a
// silent one, and without this a flood of silent connections would hold every slot until its
// deadline and start again. Connections reading a request are not evicted (the read deadline
// bounds them). The new connection is accepted before the eviction runs on its worker: the
// server is over the limit by the evictions in flight, for a moment.
bool ServerCore::make_room(Worker& target) {
  std::size_t evictable = 0;
  for (auto& worker : workers) {
    evictable += worker->idleCount.load(std::memory_order_relaxed) +
                 worker->freshCount.load(std::memory_order_relaxed);
  }
  if (evictable <= pendingEvictions.load(std::memory_order_relaxed)) return false;
  auto find = [&](std::atomic<std::size_t> Worker::*count) -> Worker* {
    if ((target.*count).load(std::memory_order_relaxed) > 0) return &target;
    for (auto& worker : workers)
      if (((*worker).*count).load(std::memory_order_relaxed) > 0) return worker.get();
    return nullptr;
  };
  Worker* victim = find(&Worker::idleCount);
  if (!victim) victim = find(&Worker::freshCount);
  if (!victim) return false;
  pendingEvictions.fetch_add(1, std::memory_order_relaxed);
  net::post(victim->ioc, [this, victim] { victim->evict_one(*this); });
  return true;
}

// The check runs on the acceptor's thread: it reads three small files (a tmpfs for Secret volumes)
// and only builds a context when they changed, so it costs that thread microseconds per tick.
void ServerCore::schedule_reload() {
  if (config.tls.reloadInterval.count() <= 0) return;
  reloadTimer.expires_after(std::max(config.tls.reloadInterval, std::chrono::milliseconds(10)));
  reloadTimer.async_wait([this](const error_code& ec) {
    if (ec || drainStarted) return;
    certificates.reload_if_changed();
    schedule_reload();
  });
}

void ServerCore::session_closed() noexcept {
  if (open.fetch_sub(1, std::memory_order_acq_rel) == 1 && draining.load() && !destroying.load()) {
    try {
      net::post(workers[0]->ioc, [this] { maybe_finish(); });
    } catch (...) {
      // Posting failed only if memory did; the grace timer still ends the drain.
    }
  }
}

void ServerCore::stop() {
  draining = true;
  if (stopRequested.exchange(true)) return;
  net::post(workers[0]->ioc, [this] { begin_drain(); });
}

void ServerCore::begin_drain() {
  if (drainStarted) return;
  drainStarted = true;
  logger.line(log::Level::Info, "draining started")
      .integer("openConnections", static_cast<long long>(open.load()))
      .integer("gracePeriodMs", config.shutdownGracePeriod.count());
  error_code ignored;
  acceptor.close(ignored);
  reloadTimer.cancel();
  acceptRetryTimer.cancel();
  for (auto& worker : workers) {
    Worker* w = worker.get();
    net::post(w->ioc, [w] { w->close_idle(); });
  }
  graceTimer.expires_after(config.shutdownGracePeriod);
  graceTimer.async_wait([this](const error_code& ec) {
    if (!ec) on_grace_expired();
  });
  maybe_finish();
}

void ServerCore::maybe_finish() {
  if (!drainStarted || finished || open.load() != 0) return;
  finish();
}

void ServerCore::on_grace_expired() {
  if (finished) return;
  logger.line(log::Level::Warn, "grace period over; closing connections still open")
      .integer("connections", static_cast<long long>(open.load()))
      .integer("gracePeriodMs", config.shutdownGracePeriod.count());
  for (auto& worker : workers) {
    Worker* w = worker.get();
    net::post(w->ioc, [w] { w->close_all(); });
  }
  // Closed sessions normally finish within a loop iteration; this is the backstop.
  hardStopTimer.expires_after(std::chrono::seconds(1));
  hardStopTimer.async_wait([this](const error_code& ec) {
    if (ec || finished) return;
    logger.line(log::Level::Error, "connections did not close; stopping anyway")
        .integer("connections", static_cast<long long>(open.load()));
    finished = true;
    for (auto& worker : workers) worker->ioc.stop();
  });
}

void ServerCore::finish() {
  finished = true;
  graceTimer.cancel();
  hardStopTimer.cancel();
  reloadTimer.cancel();
  acceptRetryTimer.cancel();
  logger.info("drained; all connections closed");
  for (auto& worker : workers) {
    Worker* w = worker.get();
    net::post(w->ioc, [w] {
      w->stopped = true;
      w->sweeper.cancel();
      w->guard.reset();
    });
  }
}

void ServerCore::run_worker(Worker& worker) {
  for (;;) {
    try {
      worker.ioc.run();
      return;
    } catch (const std::exception& e) {
      // Handlers are written not to throw; if one does, log it and keep serving.
      logger.line(log::Level::Error, "unexpected error in the server loop").str("error", e.what());
    } catch (...) {
      logger.error("unexpected non-standard exception in the server loop");
    }
  }
}

void ServerCore::run() {
  std::vector<std::thread> threads;
  threads.reserve(workers.size() - 1);
  for (std::size_t i = 1; i < workers.size(); ++i) {
    threads.emplace_back([this, i] { run_worker(*workers[i]); });
  }
  run_worker(*workers[0]);
  for (auto& thread : threads) thread.join();
}

}  // namespace detail

struct Server::Impl : detail::ServerCore {
  using detail::ServerCore::ServerCore;
};

Server::Server(const config::ServerConfig& config, const policy::Reviewer& reviewer, metrics::Metrics& metrics,
               log::Logger& logger, const ScanApi* scans)
    : impl_(std::make_unique<Impl>(config, reviewer, metrics, logger, scans)) {}

Server::~Server() = default;

void Server::run() { impl_->run(); }
void Server::stop() { impl_->stop(); }
unsigned short Server::port() const { return impl_->port; }
bool Server::ready() const { return !impl_->draining.load(); }

void Server::set_readiness(Router::ReadinessCheck check) { impl_->router.set_readiness(std::move(check)); }

std::size_t Server::awaiting_first_request() const {
  std::size_t n = 0;
  for (const auto& worker : impl_->workers) n += worker->freshCount.load(std::memory_order_relaxed);
  return n;
}

}  // namespace podgate::server
