// One connection: TLS handshake, then requests read under deadlines and size limits, answered by
// the Router, with keep-alive, a drain-aware close and a lingering close after errors.

#include "server/session.h"
#include "admission/admission.h"
#include "util/text.h"

#include <boost/asio/buffer.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <charconv>
#include <climits>
#include <ctime>
#include <utility>

namespace podgate::server::detail {

namespace http = boost::beast::http;
namespace ssl = net::ssl;
using boost::system::error_code;

namespace {

constexpr std::size_t kIdleReadSize = 16 * 1024;  // one TLS record's worth of plaintext

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 401: return "Unauthorized";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

// The Date header, formatted at most once per second per thread.
std::string_view http_date() {
  thread_local std::time_t cached_second = 0;
  thread_local char cached[40] = {};
  thread_local std::size_t cached_len = 0;
  std::time_t now = std::time(nullptr);
  if (now != cached_second || cached_len == 0) {
    struct tm tm {};
    gmtime_r(&now, &tm);
    cached_len = std::strftime(cached, sizeof cached, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    cached_second = now;
  }
  return {cached, cached_len};
}

void append_number(std::string& out, std::size_t value) {
  char digits[24];
  auto result = std::to_chars(digits, digits + sizeof digits, value);
  out.append(digits, static_cast<std::size_t>(result.ptr - digits));
}

bool is_http_parse_error(const error_code& ec) {
  return &ec.category() == &http::make_error_code(http::error::bad_target).category();
}

// The peer went away (or the connection was closed under us): nothing to answer.
bool is_disconnect(const error_code& ec) {
  return ec == http::error::end_of_stream || ec == http::error::partial_message || ec == net::error::eof ||
         ec == net::error::connection_reset || ec == net::error::operation_aborted ||
         ec == net::error::bad_descriptor || ec == ssl::error::stream_truncated;
}

// A well-formed request line whose version is not 1.x ("GET / HTTP/2.0"): 505 rather than 400.
bool is_other_http_version(const boost::beast::flat_buffer& buffer) {
  std::string_view data(static_cast<const char*>(buffer.data().data()), buffer.size());
  auto end = data.find("\r\n");
  if (end == std::string_view::npos || end < 9) return false;
  std::string_view version = data.substr(end - 9, 9);  // " HTTP/x.y"
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  return version.substr(0, 6) == " HTTP/" && digit(version[6]) && version[7] == '.' && digit(version[8]) &&
         version[6] != '1';
}

const char* phase_label(Session::Phase phase) {
  switch (phase) {
    case Session::Phase::Handshake: return "handshake";
    case Session::Phase::Read: return "read";
    case Session::Phase::Idle: return "idle";
    case Session::Phase::Write: return "write";
    case Session::Phase::Handle:
    case Session::Phase::Linger: break;
  }
  return nullptr;
}

}  // namespace

// --- RequestParser --------------------------------------------------------------------------------

// Beast itself refuses versions other than 1.0 and 1.1 (bad_version) before calling this.
void RequestParser::on_request_impl(http::verb, string_view method, string_view target, int version, error_code&) {
  data_.method.assign(method.data(), method.size());
  data_.target.assign(target.data(), target.size());
  data_.version = version;
}

void RequestParser::on_response_impl(int, string_view, int, error_code& ec) { ec = http::error::bad_method; }

void RequestParser::on_field_impl(http::field name, string_view, string_view value, error_code&) {
  if (name == http::field::authorization) data_.authorization.assign(value.data(), value.size());
  if (name == http::field::expect && util::ascii_iequals(std::string_view(value.data(), value.size()), "100-continue")) {
    data_.expectContinue = true;
  }
}

void RequestParser::on_body_init_impl(const boost::optional<std::uint64_t>& length, error_code&) {
  // The parser has already refused a length above the body limit, so this reserve is bounded. The
  // spare bytes are the admission decoder's padding (simdjson reads up to 64 bytes past the end):
  // with them it parses the body where it is instead of copying it once more.
  if (length) data_.body.reserve(static_cast<std::size_t>(*length) + admission::kBodyPadding);
}

std::size_t RequestParser::on_body_impl(string_view body, error_code&) {
  data_.body.append(body.data(), body.size());
  return body.size();
}

std::size_t RequestParser::on_chunk_body_impl(std::uint64_t, string_view body, error_code& ec) {
  // A chunked body announces no length, so it takes its share of the budget as it arrives.
  if (data_.budget && !data_.reservation.grow_to(*data_.budget, data_.body.size() + body.size())) {
    data_.overBudget = true;
    ec = http::error::body_limit;
    return 0;
  }
  data_.body.append(body.data(), body.size());
  return body.size();
}

// --- Session --------------------------------------------------------------------------------------

Session::Session(ServerCore& server, Worker& worker, std::shared_ptr<net::ssl::context> context, WorkerSocket socket,
                 PeerSlot peer)
    : server_(server),
      worker_(worker),
      context_(std::move(context)),
      stream_(std::move(socket), *context_),
      peer_(std::move(peer)) {
  request_.budget = &server_.bodyBudget;
}

Session::~Session() {
  leave_idle();
  leave_fresh();
  try {
    server_.metrics.add_open_connections(-1);
  } catch (...) {
    // A gauge that cannot move must not take the server down.
  }
  server_.session_closed();
}

net::io_context::executor_type Session::executor() const { return worker_.ioc.get_executor(); }

void Session::set_phase(Phase phase, std::chrono::milliseconds timeout) {
  phase_ = phase;
  deadline_ = Clock::now() + timeout;
}

void Session::start() {
  worker_.sessions.push_back(*this);
  worker_.fresh.push_back(*this);
  worker_.freshCount.fetch_add(1, std::memory_order_relaxed);
  set_phase(Phase::Handshake, server_.config.limits.handshakeTimeout);
  stream_.async_handshake(ssl::stream_base::server,
                          [self = shared_from_this()](const error_code& ec) { self->on_handshake(ec); });
}

void Session::expire() {
  if (closed_) return;
  if (const char* label = phase_label(phase_)) {
    try {
      server_.metrics.count_connection_timeout(label);
    } catch (...) {
    }
  }
  close();
}

void Session::close() {
  if (closed_) return;
  closed_ = true;
  error_code ignored;
  stream_.next_layer().close(ignored);
}

void Session::close_if_idle() {
  if (closed_ || phase_ != Phase::Idle) return;
  error_code ec;
  // Bytes already waiting are a request racing the drain: let it be answered (with
  // Connection: close) rather than cut. Otherwise cancel the idle read: if it already completed,
  // its handler still runs and serves the request; if not, it ends with operation_aborted.
  if (stream_.next_layer().available(ec) > 0 && !ec) return;
  stream_.next_layer().cancel(ec);
  if (ec) close();
}

bool Session::evict_if_idle() {
  if (closed_ || phase_ != Phase::Idle || evicting_) return false;
  error_code ec;
  // As in close_if_idle: a request already arriving is served, and another idle connection goes.
  if (stream_.next_layer().available(ec) > 0 && !ec) return false;
  evicting_ = true;
  leave_idle();
  stream_.next_layer().cancel(ec);
  if (ec) close();
  return true;
}

bool Session::evict_if_fresh() {
  if (closed_ || !FreshHook::is_linked()) return false;
  error_code ec;
  // Past the handshake, bytes already waiting are a first request arriving: let it be served.
  if (phase_ != Phase::Handshake && stream_.next_layer().available(ec) > 0 && !ec) return false;
  leave_fresh();
  try {
    server_.metrics.count_connection_rejected("evicted_handshake");
  } catch (...) {
  }
  close();  // the pending handshake or read ends with an error and releases the session
  return true;
}

void Session::leave_fresh() {
  if (!FreshHook::is_linked()) return;
  FreshHook::unlink();
  worker_.freshCount.fetch_sub(1, std::memory_order_relaxed);
}

void Session::leave_idle() {
  if (!IdleHook::is_linked()) return;
  IdleHook::unlink();
  worker_.idleCount.fetch_sub(1, std::memory_order_relaxed);
}

void Session::on_handshake(const error_code& ec) {
  if (ec || closed_) return close();
  await_first_request();
}

// The read deadline runs from the handshake's end for the whole first request. Until its first
// byte the connection stays on the list of new ones, which may give way at maxConnections, so
// clients that finish a handshake and stay silent cannot hold the slots either. It keeps its place
// (its age) there: a real client sends its request at once, and so is never the oldest.
void Session::await_first_request() {
  set_phase(Phase::Read, server_.config.limits.readTimeout);
  // One byte: the rest of the request is read by the parser's own reads, as it would be without
  // this wait (Beast checks the header limit against what each read brings).
  stream_.async_read_some(buffer_.prepare(1),
                          [self = shared_from_this()](const error_code& ec, std::size_t n) {
                            self->leave_fresh();
                            if (ec || self->closed_) return self->close();
                            self->buffer_.commit(n);
                            self->read_request();
                          });
}

void Session::read_request() {
  request_.reset();
  parser_.emplace(request_);
  const auto& limits = server_.config.limits;
  parser_->header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(limits.maxHeaderBytes, UINT32_MAX)));
  // The largest body any route takes; on_header narrows it to the route's own limit.
  parser_->body_limit(static_cast<std::uint64_t>(server_.router.body_limit("/v1/scans", limits.maxBodyBytes) >
                                                         limits.maxBodyBytes
                                                     ? server_.router.body_limit("/v1/scans", limits.maxBodyBytes)
                                                     : limits.maxBodyBytes));
  http::async_read_header(stream_, buffer_, *parser_,
                          [self = shared_from_this()](const error_code& ec, std::size_t) { self->on_header(ec); });
}

void Session::on_header(const error_code& ec) {
  if (ec || closed_) return on_read_error(ec);
  if (refuse_early()) return;
  if (request_.expectContinue && request_.version == 11 && !parser_->is_done()) {
    // The body is within limits (a larger Content-Length failed above), so invite it.
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                     [self = shared_from_this()](const error_code& write_ec, std::size_t) {
                       if (write_ec || self->closed_) return self->close();
                       self->read_body();
                     });
    return;
  }
  read_body();
}

// What can be refused from the header alone is refused before a body byte is read or held: a
// wrong scan API token (401), a body over the route's limit (413), a body the budget cannot hold
// (503).
bool Session::refuse_early() {
  if (auto refused = server_.router.refuse_before_body(request_.target, request_.authorization)) {
    send_early(std::move(*refused));
    return true;
  }
  const std::size_t limit = server_.router.body_limit(request_.target, server_.config.limits.maxBodyBytes);
  const auto length = parser_->content_length();
  if (length && *length > limit) {
    send_error(413, "request body too large\n");
    return true;
  }
  if (length && *length > 0 && !request_.reservation.grow_to(server_.bodyBudget, static_cast<std::size_t>(*length))) {
    send_over_budget();
    return true;
  }
  parser_->body_limit(static_cast<std::uint64_t>(limit));
  return false;
}

void Session::read_body() {
  if (parser_->is_done()) return handle_request();
  http::async_read(stream_, buffer_, *parser_,
                   [self = shared_from_this()](const error_code& ec, std::size_t) { self->on_body(ec); });
}

void Session::on_body(const error_code& ec) {
  if (ec || closed_) return on_read_error(ec);
  handle_request();
}

void Session::on_read_error(const error_code& ec) {
  if (closed_ || is_disconnect(ec)) return close();
  if (request_.overBudget) return send_over_budget();
  if (ec == http::error::header_limit) return send_error(431, "request header too large\n");
  if (ec == http::error::body_limit) return send_error(413, "request body too large\n");
  if (ec == http::error::bad_version && is_other_http_version(buffer_)) {
    return send_error(505, "only HTTP/1.1 and HTTP/1.0 are served\n");
  }
  if (is_http_parse_error(ec)) return send_error(400, "malformed HTTP request: " + ec.message() + "\n");
  close();  // TLS or socket failure: nobody to answer
}

namespace {

// A Session reference that, if dropped unused on another thread (a callback destroyed without
// being called), hands the Session back to its worker to be released there.
class WorkerBoundRef {
 public:
  explicit WorkerBoundRef(std::shared_ptr<Session> session) : session_(std::move(session)) {}
  // Copyable, as std::function needs; every copy releases its share on the worker.
  WorkerBoundRef(const WorkerBoundRef&) = default;
  WorkerBoundRef(WorkerBoundRef&&) noexcept = default;
  WorkerBoundRef& operator=(const WorkerBoundRef&) = delete;
  WorkerBoundRef& operator=(WorkerBoundRef&&) = delete;
  ~WorkerBoundRef() {
    if (!session_) return;
    auto executor = session_->executor();
    if (executor.running_in_this_thread()) return;
    net::post(executor, [session = std::move(session_)] {});
  }
  std::shared_ptr<Session> take() { return std::move(session_); }

 private:
  std::shared_ptr<Session> session_;
};

}  // namespace

void Session::handle_request() {
  // A review answers by its own deadline (at most the apiserver's 30 s); this bound only catches
  // a bug that would otherwise hold the connection forever.
  set_phase(Phase::Handle, std::chrono::seconds(60));
  keepAlive_ = parser_->keep_alive() && !server_.draining.load(std::memory_order_relaxed);
  const bool head = request_.method == "HEAD";
  // The body's budget share is held until the answer comes back (the Router is then done with
  // the body); kept here, not in a shared_ptr beside the callback: no allocation per request.
  heldBody_ = std::move(request_.reservation);
  // The answer may arrive on a registry, scan-read or scan API thread. The Session must be served,
  // and destroyed, on its own worker (its destructor unlinks it from the worker's lists), so the
  // reference the callback holds travels back with the answer and is never dropped where it arrived.
  server_.router.handle_async(
      HttpRequest{request_.method, request_.target, std::move(request_.body), request_.authorization},
      [ref = WorkerBoundRef(shared_from_this()), head](HttpResponse response) mutable {
        std::shared_ptr<Session> self = ref.take();
        auto executor = self->executor();
        // Inline on this worker for answers that need nothing slow; otherwise handed back.
        net::dispatch(executor, [self = std::move(self), head, response = std::move(response)]() {
          self->heldBody_.release();
          if (self->closed_) return;
          self->write_response(response, head);
        });
      });
}

void Session::send_error(int status, std::string_view message) {
  HttpResponse response;
  response.status = status;
  response.contentType = "text/plain; charset=utf-8";
  response.body.assign(message.data(), message.size());
  send_early(std::move(response));
}

void Session::send_over_budget() {
  HttpResponse response;
  response.status = 503;
  response.contentType = "text/plain; charset=utf-8";
  response.body = "too many request bodies held at once (server.limits.maxBufferedBodyBytes); retry\n";
  response.retryAfter = "1";
  try {
    server_.metrics.count_body_budget_rejection();
  } catch (...) {
  }
  send_early(std::move(response));
}

void Session::send_early(HttpResponse response) {
  // The rest of the request is unread, so the connection cannot be reused: it closes lingering.
  keepAlive_ = false;
  request_.reservation.release();
  try {
    server_.metrics.count_http_request(route_label(request_.target), response.status);
  } catch (...) {
  }
  write_response(response, request_.method == "HEAD");
}

void Session::write_response(const HttpResponse& response, bool head) {
  if (keepAlive_ && server_.draining.load(std::memory_order_relaxed)) {
    // The drain began while this request was being handled: say so, so the client sends no other
    // request on a connection that closes after this answer.
    keepAlive_ = false;
  }
  std::string& out = response_;
  out.clear();
  out.append("HTTP/1.1 ");
  append_number(out, static_cast<std::size_t>(response.status));
  out.push_back(' ');
  out.append(reason_phrase(response.status));
  out.append("\r\nServer: podgate\r\nDate: ");
  out.append(http_date());
  out.append("\r\nContent-Type: ");
  out.append(response.contentType);
  out.append("\r\nContent-Length: ");
  append_number(out, response.body.size());
  if (!response.allow.empty()) {
    out.append("\r\nAllow: ");
    out.append(response.allow);
  }
  if (!response.retryAfter.empty()) {
    out.append("\r\nRetry-After: ");
    out.append(response.retryAfter);
  }
  if (!response.wwwAuthenticate.empty()) {
    out.append("\r\nWWW-Authenticate: ");
    out.append(response.wwwAuthenticate);
  }
  if (!keepAlive_) {
    out.append("\r\nConnection: close");
  } else if (request_.version == 10) {
    out.append("\r\nConnection: keep-alive");
  }
  out.append("\r\n\r\n");
  if (!head) out.append(response.body);

  set_phase(Phase::Write, server_.config.limits.writeTimeout);
  net::async_write(stream_, net::buffer(out),
                   [self = shared_from_this()](const error_code& ec, std::size_t) { self->on_write(ec); });
}

void Session::on_write(const error_code& ec) {
  if (ec || closed_) return close();
  if (keepAlive_ && !server_.draining.load(std::memory_order_relaxed)) return wait_for_next_request();
  linger_close();
}

void Session::wait_for_next_request() {
  if (buffer_.size() > 0) {
    // A pipelined request is already here: it is in flight, under the read deadline.
    set_phase(Phase::Read, server_.config.limits.readTimeout);
    return read_request();
  }
  // Wait for the first byte under the idle deadline; the rest of the request then gets the read
  // deadline, so a client that sends half a request and stalls is dropped at the read deadline.
  set_phase(Phase::Idle, server_.config.limits.idleTimeout);
  worker_.idle.push_back(*this);
  worker_.idleCount.fetch_add(1, std::memory_order_relaxed);
  stream_.async_read_some(buffer_.prepare(kIdleReadSize),
                          [self = shared_from_this()](const error_code& ec, std::size_t n) {
                            self->leave_idle();
                            const bool evicted = std::exchange(self->evicting_, false);
                            if (ec && evicted && !self->closed_) {
                              try {
                                self->server_.metrics.count_connection_rejected("evicted_idle");
                              } catch (...) {
                              }
                            }
                            if (ec || self->closed_) return self->close();
                            self->buffer_.commit(n);
                            self->set_phase(Phase::Read, self->server_.config.limits.readTimeout);
                            self->read_request();
                          });
}

void Session::linger_close() {
  // Half-close, then read and discard what the client still sends for a short while: closing with
  // unread bytes would reset the connection and could destroy the response before the client
  // reads it (a 413 sent while the client is still uploading, typically).
  if (closed_) return;
  error_code ec;
  stream_.next_layer().shutdown(tcp::socket::shutdown_send, ec);
  if (ec) return close();
  set_phase(Phase::Linger, server_.lingerTimeout);
  linger_read();
}

void Session::linger_read() {
  stream_.next_layer().async_read_some(net::buffer(worker_.discard),
                                       [self = shared_from_this()](const error_code& ec, std::size_t) {
                                         if (ec || self->closed_) return self->close();
                                         self->linger_read();
                                       });
}

}  // namespace podgate::server::detail
