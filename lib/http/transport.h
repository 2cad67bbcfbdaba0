#pragma once
// The outbound HTTP/1.1 transport (Boost.Beast + OpenSSL) that the registry client and the
// Kubernetes client speak through. One pool of kept-alive connections per origin, one TLS context
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

namespace podgate::http {

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

// scheme://host[:port] plus how to trust it and how to prove who we are.
struct Endpoint {
  bool tls = true;
  std::string host;  // DNS name or IP literal, without IPv6 brackets
  std::string port;  // "443", "5000"
  std::string caFile;
  std::string caPem;           // CA certificates given inline (a kubeconfig's certificate-authority-data)
  bool systemRoots = true;     // also trust the system CAs (a registry: yes; an apiserver with its own CA: no)
  std::string serverName;      // the name to verify and send as SNI when not `host` (kubeconfig tls-server-name)
  std::string clientCertPem;   // a client certificate chain and its key, for mutual TLS ("" for none)
  std::string clientKeyPem;
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

  // A streamed answer (a Kubernetes watch): the head first, then the body piece by piece as it
  // arrives, on a connection of its own that is never pooled. Handlers run on a transport thread.
  struct StreamHandlers {
    // Once, with the status and headers (body empty). Return false to stop before the body.
    std::function<bool(const HttpResponse& head)> onHead;
    // Each piece of the (de-chunked) body, in order. Return false to stop reading.
    std::function<bool(std::string_view bytes)> onData;
    // Once at the end. error None: the body ended, a handler stopped it, or cancel() was called.
    std::function<void(TransportResult)> done;
  };
  class Stream {  // what stream() returns: cancel() closes the connection (done still runs once)
   public:
    virtual ~Stream() = default;
    virtual void cancel() = 0;
  };
  // `deadline` bounds the whole stream; `idle` the silence between two reads.
  std::shared_ptr<Stream> stream(std::shared_ptr<Origin> origin, HttpRequest request, std::size_t maxHeaderBytes,
                                 Clock::time_point deadline, Clock::duration idle, StreamHandlers handlers);

  Transport();
  ~Transport();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace podgate::http
