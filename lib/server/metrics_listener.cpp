// The /metrics listener: one io_context on one thread; every connection's read and write bounded
// by Beast's per-operation deadlines (a timer each is fine at scrape rates).

#include "server/metrics_listener.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <list>
#include <optional>
#include <stdexcept>
#include <thread>

namespace podgate::server {

namespace {

namespace net = boost::asio;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;
using boost::system::error_code;

std::string make_response(int status, std::string_view reason, std::string_view content_type, std::string_view body,
                          bool head, bool keep_alive, std::string_view extra = {}) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) + "\r\nContent-Type: ";
  out.append(content_type);
  out.append("\r\nContent-Length: " + std::to_string(body.size()) + "\r\n");
  out.append(extra);
  if (!keep_alive) out.append("Connection: close\r\n");
  out.append("\r\n");
  if (!head) out.append(body);
  return out;
}

}  // namespace

struct MetricsListener::Impl {
  class Connection;

  Impl(const metrics::Metrics& m, log::Logger& l, MetricsListenerOptions o) : metrics(m), logger(l), options(o) {}

  const metrics::Metrics& metrics;
  log::Logger& logger;
  const MetricsListenerOptions options;
  net::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  // Open connections, oldest first; touched on the io thread only.
  std::list<std::shared_ptr<Connection>> connections;
  std::thread thread;

  void listen(const std::string& host, unsigned short port);
  void accept();
  // At the cap: the oldest connection waiting for a request closes; false when none is waiting.
  bool make_room();
  void run() {
    for (;;) {
      try {
        ioc.run();
        return;
      } catch (const std::exception& e) {
        logger.line(log::Level::Error, "unexpected error in the metrics listener").str("error", e.what());
      }
    }
  }
};

class MetricsListener::Impl::Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Impl& owner, tcp::socket socket) : owner_(owner), stream_(std::move(socket)) {}
  void start(std::list<std::shared_ptr<Connection>>::iterator self) {
    self_ = self;
    read();
  }
  bool waiting() const { return reading_; }
  void close() {
    if (closed_) return;
    closed_ = true;
    owner_.connections.erase(self_);  // may drop the last owner but one: the pending handler's
    error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
  }

 private:
  void read() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(owner_.options.maxHeaderBytes));
    parser_->body_limit(0);  // a scrape has no body
    reading_ = true;
    stream_.expires_after(owner_.options.readTimeout);
    http::async_read(stream_, buffer_, *parser_, [self = shared_from_this()](const error_code& ec, std::size_t) {
      self->reading_ = false;
      if (ec || self->closed_) {
        const bool malformed = !self->closed_ && ec != http::error::end_of_stream &&
                               &ec.category() == &http::make_error_code(http::error::bad_target).category();
        if (!malformed) return self->close();
        return self->write(make_response(400, "Bad Request", "text/plain; charset=utf-8", "bad request\n", false, false),
                           false);
      }
      self->respond();
    });
  }

  void respond() {
    const auto& request = parser_->get();
    const bool keep_alive = request.keep_alive();
    const std::string_view target = request.target();
    const std::string_view path = target.substr(0, target.find('?'));
    const bool head = request.method() == http::verb::head;
    if (path != "/metrics") {
      return write(make_response(404, "Not Found", "text/plain; charset=utf-8", "not found\n", head, keep_alive),
                   keep_alive);
    }
    if (request.method() != http::verb::get && !head) {
      return write(make_response(405, "Method Not Allowed", "text/plain; charset=utf-8", "method not allowed\n", false,
                                 keep_alive, "Allow: GET, HEAD\r\n"),
                   keep_alive);
    }
    write(make_response(200, "OK", "text/plain; version=0.0.4; charset=utf-8", owner_.metrics.serialize(), head,
                        keep_alive),
          keep_alive);
  }

  void write(std::string response, bool keep_alive) {
    response_ = std::move(response);
    stream_.expires_after(owner_.options.writeTimeout);
    net::async_write(stream_, net::buffer(response_),
                     [self = shared_from_this(), keep_alive](const error_code& ec, std::size_t) {
                       if (ec || self->closed_ || !keep_alive) return self->close();
                       self->read();
                     });
  }

  Impl& owner_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::empty_body>> parser_;
  std::string response_;
  std::list<std::shared_ptr<Connection>>::iterator self_;
  bool reading_ = false;
  bool closed_ = false;
};

void MetricsListener::Impl::listen(const std::string& host, unsigned short port) {
  const std::string where = (host.empty() ? "0.0.0.0" : host) + ":" + std::to_string(port);
  auto fail = [&](const std::string& why) { return std::runtime_error("cannot listen for metrics on " + where + ": " + why); };
  error_code ec;
  tcp::endpoint endpoint(tcp::v4(), port);
  if (!host.empty()) {
    auto address = net::ip::make_address(host, ec);
    if (!ec) {
      endpoint = tcp::endpoint(address, port);
    } else {
      tcp::resolver resolver(ioc);
      auto results = resolver.resolve(host, std::to_string(port), tcp::resolver::passive, ec);
      if (ec || results.empty()) throw fail("cannot resolve \"" + host + "\": " + ec.message());
      endpoint = results.begin()->endpoint();
    }
  }
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) throw fail(ec.message());
}

void MetricsListener::Impl::accept() {
  acceptor.async_accept([this](const error_code& ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted) return;
    if (!ec) {
      if (connections.size() >= options.maxConnections && !make_room()) {
        error_code ignored;
        socket.close(ignored);  // every connection is busy writing a scrape: this one retries later
      } else {
        auto connection = std::make_shared<Connection>(*this, std::move(socket));
        connection->start(connections.insert(connections.end(), connection));
      }
    }
    accept();
  });
}

bool MetricsListener::Impl::make_room() {
  for (auto& connection : connections) {
    if (connection->waiting()) {
      connection->close();
      return true;
    }
  }
  return false;
}

MetricsListener::MetricsListener(const std::string& host, unsigned short port, const metrics::Metrics& metrics,
                                 log::Logger& logger, MetricsListenerOptions options)
    : impl_(std::make_unique<Impl>(metrics, logger, options)) {
  impl_->listen(host, port);
  impl_->accept();
  impl_->thread = std::thread([impl = impl_.get()] { impl->run(); });
}

MetricsListener::~MetricsListener() {
  // The handlers still pending are destroyed with the io_context, and their connections with them.
  impl_->ioc.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

unsigned short MetricsListener::port() const { return impl_->acceptor.local_endpoint().port(); }

}  // namespace podgate::server
