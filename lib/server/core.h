#pragma once
// Internal to the server: the shared state of one Server, its per-thread workers and the
// connection sessions. One io_context per thread: a connection lives on one worker for its whole
// life, so its state needs no strand and no lock; only counters cross threads (atomics).

#include <array>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/intrusive/list.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <vector>

#include "config/config.h"
#include "log/log.h"
#include "metrics/metrics.h"
#include "policy/review.h"
#include "server/admission_limits.h"
#include "server/server.h"
#include "server/tls_context.h"

namespace podgate::server::detail {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
// A connection's socket, bound to its worker's io_context by type: every asynchronous operation on
// it then uses that executor directly, without copying a type-erased any_io_executor per operation.
using WorkerSocket = tcp::socket::rebind_executor<net::io_context::executor_type>::other;

class Session;
struct ServerCore;
using SessionHook = boost::intrusive::list_base_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>>;
using SessionList =
    boost::intrusive::list<Session, boost::intrusive::base_hook<SessionHook>, boost::intrusive::constant_time_size<false>>;
// The worker's idle keep-alive connections, in the order they became idle (the longest idle first).
struct IdleTag;
using IdleHook = boost::intrusive::list_base_hook<boost::intrusive::tag<IdleTag>,
                                                  boost::intrusive::link_mode<boost::intrusive::auto_unlink>>;
using IdleList =
    boost::intrusive::list<Session, boost::intrusive::base_hook<IdleHook>, boost::intrusive::constant_time_size<false>>;
// The worker's new connections that have not sent a byte of their first request yet (in the TLS
// handshake, or silent after it), oldest first.
struct FreshTag;
using FreshHook = boost::intrusive::list_base_hook<boost::intrusive::tag<FreshTag>,
                                                       boost::intrusive::link_mode<boost::intrusive::auto_unlink>>;
using FreshList = boost::intrusive::list<Session, boost::intrusive::base_hook<FreshHook>,
                                             boost::intrusive::constant_time_size<false>>;

// One thread's event loop and the connections it owns. Every member except `ioc` is touched only
// from that thread (or before run() starts / after it ends).
struct Worker {
  explicit Worker(std::chrono::milliseconds sweep_interval);

  SessionList sessions;  // declared before ioc: sessions destroyed with the ioc unlink themselves
  IdleList idle;    // the subset waiting for a next request, longest idle first
  FreshList fresh;  // the subset not yet sending a first request (handshake, or silent after it), oldest first
  // The two lists' sizes, read by the acceptor's thread to know whether an eviction can make room.
  std::atomic<std::size_t> idleCount{0};
  std::atomic<std::size_t> freshCount{0};
  net::io_context ioc{1};
  net::executor_work_guard<net::io_context::executor_type> guard{ioc.get_executor()};
  // Deadlines are enforced by one sweep per interval instead of a timer per operation: every
  // read and write would otherwise arm and cancel a timer.
  net::steady_timer sweeper{ioc};
  std::chrono::milliseconds sweepInterval;
  std::array<char, 16384> discard{};  // sink for bytes read while lingering before a close
  bool stopped = false;

  void start_sweeping();
  void close_idle();  // drain: idle keep-alive connections close now
  void close_all();   // grace period over: everything closes now
  // At maxConnections: closes the longest-idle keep-alive connection that has no request arriving,
  // else the oldest new connection that has not begun its first request.
  void evict_one(ServerCore& server);
};

struct ServerCore {
  ServerCore(const config::ServerConfig& config, const policy::Reviewer& reviewer, metrics::Metrics& metrics,
             log::Logger& logger, const ScanApi* scans);
  ~ServerCore();

  // Fixed at construction; read from every thread.
  const config::ServerConfig config;
  metrics::Metrics& metrics;
  log::Logger& logger;
  std::atomic<bool> draining{false};
  Router router;
  const std::chrono::milliseconds lingerTimeout;

  std::atomic<std::size_t> open{0};  // sessions alive, on all workers
  // Evictions posted to workers and not yet run: each stands for one idle connection already
  // promised to a new one, so the acceptor does not promise the same idle connection twice.
  std::atomic<std::size_t> pendingEvictions{0};
  std::atomic<bool> stopRequested{false};
  std::atomic<bool> destroying{false};
  PeerTable peers;        // connections per client address, when maxConnectionsPerPeer is set
  BodyBudget bodyBudget;  // request bodies held by all connections

  // Declared after everything sessions touch in their destructors, before what runs on workers[0].
  std::vector<std::unique_ptr<Worker>> workers;

  // The rest lives on workers[0]'s thread: the acceptor, the certificates and the drain.
  CertificateStore certificates;
  tcp::acceptor acceptor;
  net::steady_timer reloadTimer;
  net::steady_timer acceptRetryTimer;
  net::steady_timer graceTimer;
  net::steady_timer hardStopTimer;
  std::size_t nextWorker = 0;
  bool drainStarted = false;
  bool finished = false;
  bool acceptErrorLogged = false;
  unsigned short port = 0;

  void run();
  void stop();

  // Called by a session's destructor, on any worker thread.
  void session_closed() noexcept;

 private:
  void open_listener();
  void do_accept();
  void on_accept(const boost::system::error_code& ec, WorkerSocket socket, Worker& target);
  // Why a new connection must be closed at once ("max_per_peer", "max_connections"), or null with
  // its peer slot taken (when the per-peer cap is on).
  const char* admit(WorkerSocket& socket, Worker& target, PeerSlot& slot);
  // At the limit: posts the eviction of an idle keep-alive connection (the target's, else any
  // worker's), or failing that of a new one not yet sending a request, and returns true; false when
  // none can give way.
  bool make_room(Worker& target);
  void schedule_reload();
  void begin_drain();
  void maybe_finish();
  void finish();
  void on_grace_expired();
  void run_worker(Worker& worker);
};

}  // namespace podgate::server::detail
