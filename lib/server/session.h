#pragma once
// Internal to the server: one TLS connection, from handshake to close, on one worker thread.

#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
// GCC 12 with sanitizers reports a false "maybe uninitialized" boost::optional inside Beast's
// parser (third-party code inlined into ours); silence that one warning for Beast's headers only.
#pragma GCC diagnostic push
#if !defined(__clang__)  // clang has no such warning, and warns about the unknown name
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#pragma GCC diagnostic pop
#include <memory>
#include <optional>
#include <string>

#include "server/core.h"

namespace podgate::server::detail {

// What the parser keeps of a request: only what routing needs, in buffers reused across the
// requests of a connection (no per-field allocations, unlike beast::http::fields).
struct RequestData {
  std::string method;
  std::string target;
  std::string body;
  std::string authorization;  // kept for the scan API; bounded by the header limit
  int version = 11;
  bool expectContinue = false;
  // The body's share of the server's body budget: the announced Content-Length, or what has
  // arrived of a chunked body. Travels with the body to the Router and is given back when it ends.
  BodyBudget* budget = nullptr;
  BodyReservation reservation;
  bool overBudget = false;  // a chunked body crossed the budget (reported as a body_limit error)

  void reset() {
    method.clear();
    target.clear();
    body.clear();
    authorization.clear();
    version = 11;
    expectContinue = false;
    reservation.release();
    overBudget = false;
  }
};

class RequestParser final : public boost::beast::http::basic_parser<true> {
 public:
  explicit RequestParser(RequestData& data) : data_(data) {}

 private:
  using error_code = boost::system::error_code;
  using string_view = boost::beast::string_view;
  void on_request_impl(boost::beast::http::verb, string_view method, string_view target, int version,
                       error_code& ec) override;
  void on_response_impl(int, string_view, int, error_code& ec) override;
  void on_field_impl(boost::beast::http::field name, string_view, string_view value, error_code&) override;
  void on_header_impl(error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>& length, error_code&) override;
  std::size_t on_body_impl(string_view body, error_code&) override;
  void on_chunk_header_impl(std::uint64_t, string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, string_view body, error_code&) override;
  void on_finish_impl(error_code&) override {}

  RequestData& data_;
};

class Session : public std::enable_shared_from_this<Session>,
                public SessionHook,
                public IdleHook,
                public FreshHook {
 public:
  enum class Phase { Handshake, Read, Handle, Write, Idle, Linger };

  Session(ServerCore& server, Worker& worker, std::shared_ptr<net::ssl::context> context, WorkerSocket socket,
          PeerSlot peer);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void start();  // on the worker's thread
  // The worker's executor: where this session is served and must be destroyed.
  net::io_context::executor_type executor() const;

  // Worker-thread only: the sweeper and the drain.
  Phase phase() const { return phase_; }
  bool closed() const { return closed_; }
  Clock::time_point deadline() const { return deadline_; }
  void expire();  // the deadline passed: count the timeout, close
  void close();   // closes the socket; pending operations finish with an error and release the session
  // Drain: an idle keep-alive connection closes now, unless its next request is already arriving.
  void close_if_idle();
  // At maxConnections: the same, for a new connection's sake; true when this one is going (counted
  // as podgate_http_connections_rejected_total{reason="evicted_idle"}).
  bool evict_if_idle();
  // At maxConnections, when nothing is idle: a new connection still in its TLS handshake, or silent
  // after it, closes; true when this one is going ({reason="evicted_handshake"}).
  bool evict_if_fresh();

 private:
  void on_handshake(const boost::system::error_code& ec);
  void leave_fresh();  // off the worker's list of new connections (the first request has begun)
  void await_first_request();
  void read_request();
  void on_header(const boost::system::error_code& ec);
  bool refuse_early();  // on_header's answers before the body: 401, 413, 503 (true when sent)
  void read_body();
  void on_body(const boost::system::error_code& ec);
  void on_read_error(const boost::system::error_code& ec);
  void handle_request();
  void send_error(int status, std::string_view message);
  void send_early(HttpResponse response);  // an answer before the body is read; the connection closes
  void send_over_budget();
  void write_response(const HttpResponse& response, bool head);
  void on_write(const boost::system::error_code& ec);
  void wait_for_next_request();
  void leave_idle();  // off the worker's idle list (on any way out of the Idle phase)
  void linger_close();
  void linger_read();
  void set_phase(Phase phase, std::chrono::milliseconds timeout);

  ServerCore& server_;
  Worker& worker_;
  // Declared before the stream: the context outlives the SSL object made from it.
  std::shared_ptr<net::ssl::context> context_;
  net::ssl::stream<WorkerSocket> stream_;
  PeerSlot peer_;  // this connection's place in its address's count
  boost::beast::flat_buffer buffer_;
  RequestData request_;
  BodyReservation heldBody_;  // the body being reviewed: its share of the budget until the answer
  std::optional<RequestParser> parser_;
  std::string response_;  // reused: one buffer, one TLS record, one write per response
  Phase phase_ = Phase::Handshake;
  Clock::time_point deadline_{};
  bool closed_ = false;
  bool keepAlive_ = false;
  bool evicting_ = false;  // evict_if_idle cancelled the idle read to make room for a new connection
};

}  // namespace podgate::server::detail
