#include "http/transport.h"
#include "util/text.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
// GCC 12 reports a false "maybe uninitialized" boost::optional inside Beast's parser (third-party
// code inlined into ours); silence that one warning for Beast's HTTP headers only.
#pragma GCC diagnostic push
#if !defined(__clang__)  // clang has no such warning, and warns about the unknown name
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#pragma GCC diagnostic pop

#include <algorithm>
#include <array>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

namespace podgate::http {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

std::string HttpResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (util::ascii_iequals(k, name)) return v;
  }
  return {};
}

bool parse_url(std::string_view text, Url& out) {
  Url url;
  if (text.starts_with("https://")) {
    url.endpoint.tls = true;
    text.remove_prefix(8);
  } else if (text.starts_with("http://")) {
    url.endpoint.tls = false;
    text.remove_prefix(7);
  } else {
    return false;
  }
  const auto slash = text.find_first_of("/?#");
  std::string_view authority = text.substr(0, slash);
  std::string_view rest = slash == std::string_view::npos ? std::string_view{} : text.substr(slash);
  if (authority.empty() || authority.find('@') != std::string_view::npos) return false;  // no userinfo
  url.authority = std::string(authority);
  std::string_view host = authority, port;
  if (authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return false;
    host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return false;
      port = authority.substr(close + 2);
    }
  } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), ::isdigit)) return false;
  if (!port.empty() && std::stoul(std::string(port)) > 65535) return false;
  for (char c : host)
    if (static_cast<unsigned char>(c) <= 0x20 || c == '/' || c == '\\') return false;
  url.endpoint.host = std::string(host);
  url.endpoint.port = port.empty() ? (url.endpoint.tls ? "443" : "80") : std::string(port);
  if (const auto hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
  url.target = rest.empty() ? "/" : (rest.front() == '?' ? "/" + std::string(rest) : std::string(rest));
  for (char c : url.target)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return false;  // no header injection
  out = std::move(url);
  return true;
}

// One kept-alive connection: plain TCP or TLS over TCP, with the read buffer that belongs to it.
struct Connection {
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;
  beast::tcp_stream& tcp() { return tls ? beast::get_lowest_layer(*tls) : *plain; }
};

namespace {

// OpenSSL computes a certificate's extension cache (its key identifiers, which pick the issuer
// during verification) on first use, behind a flag its fast path reads without a lock: the first
// two handshakes of one context, on two transport threads, race on it (ThreadSanitizer caught it
// in CI). Computed here, before the Origin is shared, the handshakes only ever read it.
void precompute_certificate_caches(SSL_CTX* ctx) {
  STACK_OF(X509_OBJECT)* objects = X509_STORE_get0_objects(SSL_CTX_get_cert_store(ctx));
  for (int i = 0; i < sk_X509_OBJECT_num(objects); ++i)
    if (X509* cert = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objects, i))) X509_check_purpose(cert, -1, 0);
  if (X509* own = SSL_CTX_get0_certificate(ctx)) X509_check_purpose(own, -1, 0);
  STACK_OF(X509)* chain = nullptr;
  if (SSL_CTX_get0_chain_certs(ctx, &chain) == 1)
    for (int i = 0; i < sk_X509_num(chain); ++i) X509_check_purpose(sk_X509_value(chain, i), -1, 0);
}

}  // namespace

class Origin {
 public:
  Origin(net::io_context& io, Endpoint endpoint) : io_(io), endpoint_(std::move(endpoint)), context_(ssl::context::tls_client) {
    if (!endpoint_.tls) return;
    context_.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                         ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    context_.set_verify_mode(ssl::verify_peer);
    error_code ec;
    if (endpoint_.systemRoots) context_.set_default_verify_paths(ec);  // once per origin, not per connection
    if (!endpoint_.caFile.empty()) {
      context_.load_verify_file(endpoint_.caFile, ec);
      if (ec) throw std::runtime_error("cannot load CA file " + endpoint_.caFile + ": " + ec.message());
    }
    if (!endpoint_.caPem.empty()) {
      context_.add_certificate_authority(net::buffer(endpoint_.caPem), ec);
      if (ec) throw std::runtime_error("cannot load the inline CA certificates: " + ec.message());
    }
    if (!endpoint_.clientCertPem.empty() || !endpoint_.clientKeyPem.empty()) {
      context_.use_certificate_chain(net::buffer(endpoint_.clientCertPem), ec);
      if (ec) throw std::runtime_error("cannot load the client certificate: " + ec.message());
      context_.use_private_key(net::buffer(endpoint_.clientKeyPem), ssl::context::pem, ec);
      if (ec) throw std::runtime_error("cannot load the client key: " + ec.message());
    }
    precompute_certificate_caches(context_.native_handle());
  }

  const Endpoint& endpoint() const { return endpoint_; }
  net::io_context& io() { return io_; }
  ssl::context& context() { return context_; }

  std::unique_ptr<Connection> acquire() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (idle_.empty()) return nullptr;
    auto c = std::move(idle_.back());  // most recently used: the least likely to have been closed
    idle_.pop_back();
    return c;
  }
  void release(std::unique_ptr<Connection> c) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (idle_.size() >= kMaxIdle) idle_.erase(idle_.begin());  // bound: drop the oldest
    idle_.push_back(std::move(c));
  }

 private:
  static constexpr std::size_t kMaxIdle = 32;
  net::io_context& io_;
  Endpoint endpoint_;
  ssl::context context_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<Connection>> idle_;
};

void check_ca_file(const std::string& path) {
  ssl::context context(ssl::context::tls_client);
  error_code ec;
  context.load_verify_file(path, ec);
  if (ec) throw std::runtime_error("cannot load CA file " + path + ": " + ec.message());
}

namespace {

bool is_ip_literal(const std::string& host) {
  error_code ec;
  net::ip::make_address(host, ec);
  return !ec;
}

TransportError classify(const error_code& ec) {
  if (ec == beast::error::timeout || ec == net::error::timed_out || ec == net::error::operation_aborted)
    return TransportError::Timeout;
  if (ec == http::error::body_limit || ec == http::error::header_limit || ec == http::error::buffer_overflow)
    return TransportError::TooLarge;
  if (ec.category() == net::error::get_ssl_category() || ec.category() == net::ssl::error::get_stream_category())
    return TransportError::Tls;
  if (ec.category() == http::make_error_code(http::error::bad_version).category()) return TransportError::Protocol;
  return TransportError::Unreachable;
}

using Strand = net::strand<net::io_context::executor_type>;

// One request/response exchange, possibly on a new connection; or, when streaming, one request
// whose answer is handed over piece by piece on a connection of its own. Every step runs on the
// exchange's strand, so cancel() never races a completion.
class Exchange : public std::enable_shared_from_this<Exchange>, public Transport::Stream {
 public:
  Exchange(std::shared_ptr<Origin> origin, HttpRequest request, Transport::Limits limits, Clock::time_point deadline,
           std::function<void(TransportResult)> done)
      : origin_(std::move(origin)), request_(std::move(request)), limits_(limits), deadline_(deadline),
        done_(std::move(done)), strand_(net::make_strand(origin_->io())), resolver_(strand_) {}

  // Streaming: the body goes to `handlers` as it arrives; each read waits at most `idle`.
  void stream_to(Transport::StreamHandlers handlers, Clock::duration idle) {
    stream_ = std::move(handlers);
    idle_ = idle;
  }

  Strand& strand() { return strand_; }

  void start() {
    if (Clock::now() >= deadline_) return finish(TransportError::Timeout, "deadline passed before the request");
    if (!stream_) conn_ = origin_->acquire();  // a stream never shares its connection
    reused_ = conn_ != nullptr;
    if (reused_) return write();  // (a pooled connection's steps run on the strand it was made on)
    connect();
  }

  void cancel() override {
    net::post(strand_, [self = shared_from_this()] {
      self->cancelled_ = true;
      if (self->conn_) {
        error_code ignored;
        self->conn_->tcp().socket().close(ignored);
      }
      self->resolver_.cancel();
    });
  }

 private:
  void connect() {
    if (cancelled_) return finish(TransportError::None, "cancelled");
    conn_ = std::make_unique<Connection>();
    const Endpoint& e = origin_->endpoint();
    if (e.tls) {
      conn_->tls.emplace(strand_, origin_->context());
      SSL* ssl = conn_->tls->native_handle();
      // Verify the certificate names this host (an IP literal against IP SANs), and send SNI.
      const std::string& name = e.serverName.empty() ? e.host : e.serverName;
      if (is_ip_literal(name)) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str());
      } else {
        SSL_set1_host(ssl, name.c_str());
        SSL_set_tlsext_host_name(ssl, name.c_str());
      }
    } else {
      conn_->plain.emplace(strand_);
    }
    conn_->tcp().expires_at(deadline_);
    auto self = shared_from_this();
    // cancel() closes the socket and cancels the resolver, which aborts a pending step; but a step
    // that had already completed, its handler queued, would go on to the next one (open the socket,
    // connect, shake hands, read for minutes). So every step first checks for a cancel.
    resolver_.async_resolve(e.host, e.port, [self](const error_code& ec, tcp::resolver::results_type results) {
      if (self->cancelled_) return self->finish(TransportError::None, "cancelled");
      if (ec) return self->fail(ec, "cannot resolve " + self->origin_->endpoint().host);
      self->conn_->tcp().expires_at(self->deadline_);
      self->conn_->tcp().async_connect(results, [self](const error_code& ec, const tcp::endpoint&) {
        if (self->cancelled_) return self->finish(TransportError::None, "cancelled");
        if (ec) return self->fail(ec, "cannot connect");
        self->conn_->tcp().socket().set_option(tcp::no_delay(true));
        if (!self->conn_->tls) return self->write();
        self->conn_->tls->async_handshake(ssl::stream_base::client, [self](const error_code& ec) {
          if (self->cancelled_) return self->finish(TransportError::None, "cancelled");
          if (ec) {
            std::string why = "TLS handshake failed";
            const long verify = SSL_get_verify_result(self->conn_->tls->native_handle());
            if (verify != X509_V_OK) why += ": certificate verification: " + std::string(X509_verify_cert_error_string(verify));
            return self->fail(ec, why);
          }
          self->write();
        });
      });
    });
  }

  void write() {
    if (cancelled_) return finish(TransportError::None, "cancelled");
    message_.emplace();
    auto& m = *message_;
    m.version(11);
    m.method_string(request_.method);
    m.target(request_.target);
    const Endpoint& e = origin_->endpoint();
    const bool default_port = (e.tls && e.port == "443") || (!e.tls && e.port == "80");
    const std::string host = e.host.find(':') != std::string::npos ? "[" + e.host + "]" : e.host;
    m.set(http::field::host, default_port ? host : host + ":" + e.port);
    for (const auto& [k, v] : request_.headers) m.set(k, v);
    m.body() = request_.body;
    m.prepare_payload();
    m.keep_alive(true);
    conn_->tcp().expires_at(deadline_);
    auto self = shared_from_this();
    auto on_write = [self](const error_code& ec, std::size_t) {
      self->guarded([&] {
        if (ec) return self->retry_or_fail(ec, "cannot send the request");
        self->read();
      });
    };
    if (conn_->tls) http::async_write(*conn_->tls, m, on_write);
    else http::async_write(*conn_->plain, m, on_write);
  }

  // The header first, then the body: Beast 1.74 can miss its own body limit when the body
  // arrives in the same read as the header (boostorg/beast#2183), and its string body reserves
  // the announced Content-Length, so an absurd one would throw bad_alloc. Checking the length
  // between the two reads closes both.
  void read() {
    if (cancelled_) return finish(TransportError::None, "cancelled");
    if (stream_) return read_stream_head();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(limits_.maxHeaderBytes, UINT32_MAX)));
    parser_->body_limit(limits_.maxBodyBytes);
    if (request_.method == "HEAD") parser_->skip(true);  // a HEAD answer's Content-Length has no body
    auto self = shared_from_this();
    auto on_header = [self](const error_code& ec, std::size_t) {
      self->guarded([&] {
        if (ec) return self->retry_or_fail(ec, "cannot read the answer");
        const auto length = self->parser_->content_length();
        if (length && *length > self->limits_.maxBodyBytes && self->request_.method != "HEAD")
          return self->finish(TransportError::TooLarge, "the answer announces " + std::to_string(*length) +
                                                            " bytes; the limit is " +
                                                            std::to_string(self->limits_.maxBodyBytes));
        self->read_body();
      });
    };
    if (conn_->tls) http::async_read_header(*conn_->tls, conn_->buffer, *parser_, on_header);
    else http::async_read_header(*conn_->plain, conn_->buffer, *parser_, on_header);
  }

  void read_body() {
    auto self = shared_from_this();
    auto on_read = [self](const error_code& ec, std::size_t) {
      self->guarded([&] {
        if (ec) return self->fail(ec, "cannot read the answer");
        self->complete();
      });
    };
    if (parser_->is_done()) return complete();
    if (conn_->tls) http::async_read(*conn_->tls, conn_->buffer, *parser_, on_read);
    else http::async_read(*conn_->plain, conn_->buffer, *parser_, on_read);
  }

  // Streaming: the head under the deadline, then each piece of the body under `idle`.
  void read_stream_head() {
    streamParser_.emplace();
    streamParser_->header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(limits_.maxHeaderBytes, UINT32_MAX)));
    streamParser_->body_limit(boost::none);  // the consumer bounds what it buffers (one event at a time)
    auto self = shared_from_this();
    auto on_header = [self](const error_code& ec, std::size_t) {
      self->guarded([&] {
        if (ec) return self->fail(ec, "cannot read the answer");
        if (self->cancelled_) return self->finish(TransportError::None, "cancelled");
        HttpResponse head;
        const auto& h = self->streamParser_->get();
        head.status = static_cast<int>(h.result_int());
        for (const auto& field : h) head.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
        if (!self->stream_->onHead(head)) return self->finish(TransportError::None, "stopped after the head");
        self->read_stream_body();
      });
    };
    if (conn_->tls) http::async_read_header(*conn_->tls, conn_->buffer, *streamParser_, on_header);
    else http::async_read_header(*conn_->plain, conn_->buffer, *streamParser_, on_header);
  }

  void read_stream_body() {
    if (cancelled_) return finish(TransportError::None, "cancelled");
    if (streamParser_->is_done()) return finish(TransportError::None, "");
    auto& body = streamParser_->get().body();
    body.data = piece_.data();
    body.size = piece_.size();
    conn_->tcp().expires_at(std::min(deadline_, Clock::now() + idle_));
    auto self = shared_from_this();
    auto on_read = [self](const error_code& ec, std::size_t) {
      self->guarded([&] {
        if (ec && ec != http::error::need_buffer) {
          if (self->cancelled_) return self->finish(TransportError::None, "cancelled");
          if (ec == http::error::end_of_stream || ec == net::error::eof || ec == net::ssl::error::stream_truncated)
            return self->finish(TransportError::Protocol, "the server closed the stream mid-body");
          return self->fail(ec, "cannot read the stream");
        }
        const std::size_t got = self->piece_.size() - self->streamParser_->get().body().size;
        if (got > 0 && !self->stream_->onData(std::string_view(self->piece_.data(), got)))
          return self->finish(TransportError::None, "stopped by the reader");
        self->read_stream_body();
      });
    };
    if (conn_->tls) http::async_read_some(*conn_->tls, conn_->buffer, *streamParser_, on_read);
    else http::async_read_some(*conn_->plain, conn_->buffer, *streamParser_, on_read);
  }

  // Runs a completion step; an exception (bad_alloc from a hostile answer, say) ends this exchange
  // with an error instead of escaping into the transport thread.
  template <typename F>
  void guarded(F&& step) {
    try {
      step();
    } catch (const std::bad_alloc&) {
      finish(TransportError::TooLarge, "out of memory reading the answer");
    } catch (const std::exception& e) {
      finish(TransportError::Protocol, std::string("cannot read the answer: ") + e.what());
    }
  }

  void complete() {
    auto message = parser_->release();
    TransportResult result;
    result.response.status = static_cast<int>(message.result_int());
    for (const auto& field : message) result.response.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    result.response.body = std::move(message.body());
    if (message.keep_alive()) {
      conn_->tcp().expires_never();
      origin_->release(std::move(conn_));
    }
    deliver(std::move(result));
  }

  // A kept-alive connection may have been closed by the server while idle: try once more on a
  // fresh connection before calling it a failure.
  void retry_or_fail(const error_code& ec, const std::string& what) {
    const bool closed = ec == http::error::end_of_stream || ec == net::error::connection_reset ||
                        ec == net::error::broken_pipe || ec == net::error::eof ||
                        ec == net::ssl::error::stream_truncated;
    if (reused_ && closed && !retried_ && Clock::now() < deadline_) {
      retried_ = true;
      reused_ = false;
      return connect();
    }
    fail(ec, what);
  }

  void fail(const error_code& ec, const std::string& what) {
    if (cancelled_) return finish(TransportError::None, "cancelled");
    const TransportError kind = classify(ec);
    std::string message = kind == TransportError::Timeout ? std::string("no answer before the deadline") : what + ": " + ec.message();
    finish(kind, std::move(message));
  }

  void finish(TransportError error, std::string message) {
    if (conn_) {
      error_code ignored;
      conn_->tcp().socket().close(ignored);
      conn_.reset();
    }
    TransportResult result;
    result.error = error;
    result.message = std::move(message);
    deliver(std::move(result));
  }

  void deliver(TransportResult result) {
    // Once: a guarded step that throws after delivering cannot deliver again.
    auto done = stream_ ? std::move(stream_->done) : std::move(done_);
    if (stream_) stream_->done = nullptr;
    if (done) done(std::move(result));
  }

  std::shared_ptr<Origin> origin_;
  HttpRequest request_;
  Transport::Limits limits_;
  Clock::time_point deadline_;
  std::function<void(TransportResult)> done_;
  Strand strand_;
  tcp::resolver resolver_;
  std::optional<Transport::StreamHandlers> stream_;
  Clock::duration idle_{};
  std::optional<http::response_parser<http::buffer_body>> streamParser_;
  std::array<char, 64 * 1024> piece_{};
  bool cancelled_ = false;
  std::unique_ptr<Connection> conn_;
  std::optional<http::request<http::string_body>> message_;
  std::optional<http::response_parser<http::string_body>> parser_;
  bool reused_ = false;
  bool retried_ = false;
};

}  // namespace

struct Transport::Impl {
  net::io_context io;
  net::executor_work_guard<net::io_context::executor_type> work = net::make_work_guard(io);
  std::vector<std::thread> threads;
  std::mutex mutex;
  std::vector<std::shared_ptr<Origin>> origins;

  Impl() {
    // Two threads: TLS handshakes with a registry are the CPU work here; more would only contend
    // with the webhook's own workers.
    for (int i = 0; i < 2; ++i)
      threads.emplace_back([this] {
        // Steps catch their own exceptions (Exchange::guarded); this is the last net, so that a
        // missed one costs one resolution (which then ends at its deadline), not the process.
        for (;;) {
          try {
            io.run();
            return;
          } catch (...) {
          }
        }
      });
  }
  ~Impl() {
    work.reset();
    io.stop();
    for (auto& t : threads)
      if (t.joinable()) t.join();
  }
};

Transport::Transport() : impl_(std::make_unique<Impl>()) {}
Transport::~Transport() = default;

Transport& Transport::shared() {
  static Transport* instance = new Transport();  // intentionally never deleted (see the header)
  return *instance;
}

std::shared_ptr<Origin> Transport::origin(const Endpoint& endpoint) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  for (const auto& o : impl_->origins)
    if (o->endpoint() == endpoint) return o;
  // Bound: origins come from pod specs when no registry allowlist is set.
  if (impl_->origins.size() >= 1024) impl_->origins.erase(impl_->origins.begin());
  auto o = std::make_shared<Origin>(impl_->io, endpoint);
  impl_->origins.push_back(o);
  return o;
}

void Transport::send(std::shared_ptr<Origin> origin, HttpRequest request, Limits limits, Clock::time_point deadline,
                     std::function<void(TransportResult)> done) {
  auto exchange = std::make_shared<Exchange>(std::move(origin), std::move(request), limits, deadline, std::move(done));
  net::post(exchange->strand(), [exchange] { exchange->start(); });
}

std::shared_ptr<Transport::Stream> Transport::stream(std::shared_ptr<Origin> origin, HttpRequest request,
                                                      std::size_t maxHeaderBytes, Clock::time_point deadline,
                                                      Clock::duration idle, StreamHandlers handlers) {
  Limits limits;
  limits.maxHeaderBytes = maxHeaderBytes;
  auto exchange = std::make_shared<Exchange>(std::move(origin), std::move(request), limits, deadline, nullptr);
  exchange->stream_to(std::move(handlers), idle);
  net::post(exchange->strand(), [exchange] { exchange->start(); });
  return exchange;
}

}  // namespace podgate::http
