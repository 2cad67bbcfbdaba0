#pragma once
// Internal to lib/registry: the outbound HTTP/1.1 transport (Boost.Beast + OpenSSL) that the
// registry client speaks through. One pool of kept-alive connections per origin, one TLS context
// per origin (the CA store is loaded once, not per connection), every read bounded in size and
// every operation bounded by the caller's deadline. See docs/architecture.md for why this is not
// cpprestsdk.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace podgate::registry::detail {

using Clock = std::chrono::steady_clock;

struct HttpRequest {
  std::string method = "GET";  // GET, HEAD, POST
  std::string target = "/";    // path and query
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

struct HttpResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string header(std::string_view name) const;  // case-insensitive; "" when absent
};

enum class TransportError { None, Timeout, Unreachable, Tls, TooLarge, Protocol };

struct TransportResult {
  TransportError error = TransportError::None;
  std::string message;  // why, when error != None
  HttpResponse response;
};

// scheme://host[:port] plus how to trust it.
struct Endpoint {
  bool tls = true;
  std::string host;  // DNS name or IP literal, without IPv6 brackets
  std::string port;  // "443", "5000"
  std::string caFile;
  bool operator==(const Endpoint&) const = default;
};

// An absolute URL split for requests: https://host:port/path?query.
struct Url {
  Endpoint endpoint;
  std::string target;     // "/path?query" ("/" when empty)
  std::string authority;  // "host:port" as written (for the Host header and comparisons)
};
// Parses http(s) URLs only; nullopt-like: ok=false on anything else.
bool parse_url(std::string_view text, Url& out);

// Loads a PEM CA file the way an origin will; throws std::runtime_error saying why it cannot.
void check_ca_file(const std::string& path);

class Origin;  // a connection pool and TLS context for one Endpoint

class Transport {
 public:
  // Process-wide: its threads are never joined, so a callback may drop the last reference to
  // anything without deadlocking (see Timers::shared()).
  static Transport& shared();

  // The pool for an endpoint (made once per distinct endpoint). Throws std::runtime_error when the
  // endpoint's CA file cannot be loaded.
  std::shared_ptr<Origin> origin(const Endpoint& endpoint);

  struct Limits {
    std::size_t maxHeaderBytes = 64 * 1024;
    std::size_t maxBodyBytes = 4 * 1024 * 1024;
  };
  // Sends one request and reads its answer (a HEAD answer has no body). `done` is called once, on
  // a transport thread. A kept-alive connection that turns out closed is retried once on a new one.
  void send(std::shared_ptr<Origin> origin, HttpRequest request, Limits limits, Clock::time_point deadline,
            std::function<void(TransportResult)> done);

  Transport();
  ~Transport();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace podgate::registry::detail
