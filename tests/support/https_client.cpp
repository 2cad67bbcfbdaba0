#include "support/https_client.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <optional>
#include <stdexcept>

namespace podgate::test {

namespace net = boost::asio;
namespace ssl = net::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using boost::system::error_code;

namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

}  // namespace

std::string Response::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (iequals(key, name)) return value;
  }
  return "";
}

struct HttpsClient::Impl {
  explicit Impl(ClientOptions o) : options(std::move(o)), context(ssl::context::tls_client) {
    SSL_CTX* ctx = context.native_handle();
    if (options.minTlsVersion) SSL_CTX_set_min_proto_version(ctx, options.minTlsVersion);
    if (options.maxTlsVersion) SSL_CTX_set_max_proto_version(ctx, options.maxTlsVersion);
    if (options.minTlsVersion && options.minTlsVersion < TLS1_2_VERSION) {
      // OpenSSL 3's default security level forbids TLS 1.0/1.1 on the client side; lower it so
      // the test really offers the old version and the server is the one refusing.
      SSL_CTX_set_security_level(ctx, 0);
      SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0");
    }
    if (!options.caFile.empty()) {
      context.load_verify_file(options.caFile);
      context.set_verify_mode(ssl::verify_peer);
    } else {
      context.set_verify_mode(ssl::verify_none);
    }
    if (!options.clientCertFile.empty()) {
      context.use_certificate_chain_file(options.clientCertFile);
      context.use_private_key_file(options.clientKeyFile, ssl::context::pem);
    }
    if (!options.alpn.empty()) {
      std::string wire;
      for (const auto& proto : options.alpn) {
        wire.push_back(static_cast<char>(proto.size()));
        wire += proto;
      }
      SSL_CTX_set_alpn_protos(ctx, reinterpret_cast<const unsigned char*>(wire.data()),
                              static_cast<unsigned>(wire.size()));
    }
  }

  // Runs the io_context until the operation started by `start` has completed; returns its error.
  template <typename Start>
  error_code run(Start&& start) {
    std::optional<error_code> result;
    start(result);
    ioc.restart();
    while (!result) {
      if (ioc.run_one() == 0) break;
    }
    return result.value_or(net::error::operation_aborted);
  }

  void reset_stream() {
    stream.reset();
    stream.emplace(ioc, context);
  }

  beast::tcp_stream& tcp() { return beast::get_lowest_layer(*stream); }

  ClientOptions options;
  net::io_context ioc;
  ssl::context context;
  std::optional<beast::ssl_stream<beast::tcp_stream>> stream;
  beast::flat_buffer buffer;
  bool connected = false;
};

HttpsClient::HttpsClient(ClientOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

HttpsClient::~HttpsClient() { close(); }

bool HttpsClient::connected() const { return impl_->connected; }

void HttpsClient::close() {
  if (impl_->stream) {
    error_code ignored;
    impl_->tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
    impl_->tcp().socket().close(ignored);
  }
  impl_->connected = false;
  impl_->buffer.clear();
}

void HttpsClient::connect() {
  close();
  Impl& d = *impl_;
  d.reset_stream();
  error_code ec;
  auto address = net::ip::make_address(d.options.host, ec);
  if (ec) throw std::runtime_error("client: bad host " + d.options.host);
  tcp::endpoint endpoint(address, d.options.port);
  d.tcp().expires_after(d.options.timeout);
  ec = d.run([&](std::optional<error_code>& out) { d.tcp().async_connect(endpoint, [&out](error_code e) { out = e; }); });
  if (ec) throw std::runtime_error("client: connect failed: " + ec.message());
  ++connectionsOpened_;
  error_code ignored;
  d.tcp().socket().set_option(tcp::no_delay(true), ignored);

  SSL* ssl_handle = d.stream->native_handle();
  net::ip::make_address(d.options.serverName, ec);
  if (!ec) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_handle), d.options.serverName.c_str());
  } else if (!d.options.serverName.empty()) {
    SSL_set_tlsext_host_name(ssl_handle, d.options.serverName.c_str());
    SSL_set1_host(ssl_handle, d.options.serverName.c_str());
  }
  d.tcp().expires_after(d.options.timeout);
  ec = d.run([&](std::optional<error_code>& out) {
    d.stream->async_handshake(ssl::stream_base::client, [&out](error_code e) { out = e; });
  });
  if (ec) {
    close();
    throw std::runtime_error("client: TLS handshake failed: " + ec.message());
  }
  d.connected = true;
}

void HttpsClient::send_raw(std::string_view bytes) {
  Impl& d = *impl_;
  if (!d.connected) connect();
  d.tcp().expires_after(d.options.timeout);
  error_code ec = d.run([&](std::optional<error_code>& out) {
    net::async_write(*d.stream, net::buffer(bytes.data(), bytes.size()),
                     [&out](error_code e, std::size_t) { out = e; });
  });
  if (ec) {
    close();
    throw std::runtime_error("client: write failed: " + ec.message());
  }
}

Response HttpsClient::read_response() {
  Impl& d = *impl_;
  if (!d.connected) throw std::runtime_error("client: not connected");
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  d.tcp().expires_after(d.options.timeout);
  error_code ec = d.run([&](std::optional<error_code>& out) {
    http::async_read(*d.stream, d.buffer, parser, [&out](error_code e, std::size_t) { out = e; });
  });
  if (ec) {
    close();
    throw std::runtime_error("client: read failed: " + ec.message());
  }
  auto message = parser.release();
  Response response;
  response.status = static_cast<int>(message.result_int());
  for (const auto& field : message) {
    response.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  response.body = std::move(message.body());
  response.keepAlive = message.keep_alive();
  if (!response.keepAlive) close();
  return response;
}

Response HttpsClient::request(std::string_view method, std::string_view target, std::string_view body,
                              std::string_view contentType) {
  Impl& d = *impl_;
  if (!d.connected) connect();
  http::request<http::string_body> req;
  req.method_string(method);
  req.target(target);
  req.version(11);
  req.set(http::field::host, d.options.serverName.empty() ? d.options.host : d.options.serverName);
  if (!body.empty() || method == "POST") {
    req.set(http::field::content_type, contentType);
    req.body().assign(body.data(), body.size());
    req.prepare_payload();
  }
  d.tcp().expires_after(d.options.timeout);
  error_code ec = d.run([&](std::optional<error_code>& out) {
    http::async_write(*d.stream, req, [&out](error_code e, std::size_t) { out = e; });
  });
  if (ec) {
    close();
    throw std::runtime_error("client: write failed: " + ec.message());
  }
  return read_response();
}

bool HttpsClient::wait_for_close(std::chrono::milliseconds timeout) {
  Impl& d = *impl_;
  if (!d.connected) return true;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char sink[4096];
  for (;;) {
    // Wait for the socket with poll(): a timer racing an already-readable EOF could report a
    // timeout for a connection the server had in fact closed.
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd pfd{d.tcp().socket().native_handle(), POLLIN, 0};
    int ready = ::poll(&pfd, 1, static_cast<int>(std::max<long long>(left.count(), 0)));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return false;
    // Something arrived: EOF, a reset, a TLS alert or data. Read it (a partial TLS record may need
    // a moment more).
    d.tcp().expires_after(std::max(left, std::chrono::milliseconds(500)));
    error_code ec = d.run([&](std::optional<error_code>& out) {
      d.stream->async_read_some(net::buffer(sink), [&out](error_code e, std::size_t) { out = e; });
    });
    if (ec == beast::error::timeout) {
      close();
      return false;
    }
    if (ec) {
      close();
      return true;
    }
  }
}

std::string HttpsClient::peer_serial() const {
  if (!impl_->stream) return "";
  X509* cert = SSL_get0_peer_certificate(impl_->stream->native_handle());
  if (!cert) return "";
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr);
  if (!bn) return "";
  char* hex = BN_bn2hex(bn);
  std::string out = hex ? hex : "";
  OPENSSL_free(hex);
  BN_free(bn);
  return out;
}

long long HttpsClient::peer_not_after() const {
  if (!impl_->stream) return 0;
  X509* cert = SSL_get0_peer_certificate(impl_->stream->native_handle());
  if (!cert) return 0;
  struct tm tm {};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1) return 0;
  return static_cast<long long>(timegm(&tm));
}

std::string HttpsClient::tls_version() const {
  if (!impl_->stream) return "";
  return SSL_get_version(impl_->stream->native_handle());
}

std::string HttpsClient::alpn_selected() const {
  if (!impl_->stream) return "";
  const unsigned char* data = nullptr;
  unsigned len = 0;
  SSL_get0_alpn_selected(impl_->stream->native_handle(), &data, &len);
  return data ? std::string(reinterpret_cast<const char*>(data), len) : "";
}

// --- RawConnection ---------------------------------------------------------------------------------

RawConnection::RawConnection(const std::string& host, unsigned short port) {
  error_code ec;
  auto address = net::ip::make_address_v4(host, ec);
  if (ec) throw std::runtime_error("raw connection: IPv4 address expected, got " + host);
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::runtime_error(std::string("raw connection: socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(address.to_uint());
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int err = errno;
    ::close(fd_);
    fd_ = -1;
    throw std::runtime_error(std::string("raw connection: connect: ") + std::strerror(err));
  }
}

RawConnection::~RawConnection() {
  if (fd_ >= 0) ::close(fd_);
}

bool RawConnection::send(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

bool RawConnection::wait_for_close(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char sink[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() < 0) return false;
    pollfd pfd{fd_, POLLIN, 0};
    int ready = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (ready < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (ready == 0) return false;
    ssize_t n = ::recv(fd_, sink, sizeof sink, 0);
    if (n == 0) return true;
    if (n < 0 && errno != EINTR && errno != EAGAIN) return true;  // reset
  }
}

bool RawConnection::closed_by_peer() { return wait_for_close(std::chrono::milliseconds(0)); }

}  // namespace podgate::test
