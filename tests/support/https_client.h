#pragma once
// A real synchronous HTTPS client for tests (Boost.Beast + OpenSSL): verifies the server against a
// CA, reuses keep-alive connections, can present a client certificate, and bounds every operation
// with a timeout. Plus a raw TCP connection for half-open and connection-limit tests.

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace podgate::test {

struct ClientOptions {
  std::string host = "127.0.0.1";
  unsigned short port = 0;
  std::string caFile;                   // verify the server against this CA; empty: no verification
  std::string serverName = "localhost"; // SNI, and the name (or IP) the certificate must match
  std::string clientCertFile;           // present a client certificate (with clientKeyFile)
  std::string clientKeyFile;
  std::chrono::milliseconds timeout{10000};  // each of connect, handshake, write, read
  int minTlsVersion = 0;  // TLS1_2_VERSION etc.; 0: the library's default
  int maxTlsVersion = 0;
  std::vector<std::string> alpn;  // protocols to offer, e.g. {"h2", "http/1.1"}; empty: no ALPN
};

struct Response {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool keepAlive = false;
  // The value of a header (case-insensitive name), "" when absent.
  std::string header(std::string_view name) const;
};

class HttpsClient {
 public:
  explicit HttpsClient(ClientOptions options);
  ~HttpsClient();
  HttpsClient(const HttpsClient&) = delete;
  HttpsClient& operator=(const HttpsClient&) = delete;

  // TCP connect and TLS handshake (with verification); throws std::runtime_error saying why not.
  void connect();
  bool connected() const;
  void close();

  // Sends one request and reads the response, connecting first if needed. The connection is kept
  // when the response allows it. Throws std::runtime_error on any failure or timeout.
  Response request(std::string_view method, std::string_view target, std::string_view body = {},
                   std::string_view contentType = "application/json");
  // Raw bytes over the TLS connection (for malformed or partial requests), and a response read.
  void send_raw(std::string_view bytes);
  Response read_response();
  // True when the server closes the connection (EOF, reset) within `timeout`; data is discarded.
  bool wait_for_close(std::chrono::milliseconds timeout);

  // About the current connection.
  std::string peer_serial() const;      // uppercase hex
  long long peer_not_after() const;     // unix seconds
  std::string tls_version() const;      // "TLSv1.3"
  std::string alpn_selected() const;    // "" when none
  int connections_opened() const { return connectionsOpened_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int connectionsOpened_ = 0;
};

// A plain TCP connection (blocking socket), for half-open and connection-limit tests.
class RawConnection {
 public:
  RawConnection(const std::string& host, unsigned short port);  // throws when connect fails
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool send(std::string_view bytes);  // false once the peer is gone
  // True when the peer closes (EOF or reset) within `timeout`; received bytes are discarded.
  bool wait_for_close(std::chrono::milliseconds timeout);
  // True when the peer has already closed (non-blocking check).
  bool closed_by_peer();
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

}  // namespace podgate::test
