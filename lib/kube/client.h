#pragma once
// The Kubernetes REST client: one apiserver, its credentials (lib/kube/config.h), and the verbs
// podgate uses (get, list pages, create, update, server-side apply, delete, watch). Knows nothing
// of podgate's rules. Calls block the calling thread (never call from the admission path; serve
// reviews from a Reflector's cache), each under a deadline, each answer bounded in size.

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "kube/config.h"

namespace podgate::log {
class Logger;
}
namespace podgate::metrics {
class Metrics;
}

namespace podgate::kube {

struct ClientOptions {
  // client-go's defaults: a token bucket of 5 requests per second, bursts of 10; watches are
  // not limited.
  double qps = 5;
  int burst = 10;
  std::chrono::milliseconds timeout{10000};          // one request, retries included
  std::size_t maxResponseBytes = 64u << 20;          // one answer (a list page)
  int maxRetries = 10;                               // 429 and 5xx answers that carry Retry-After
  std::chrono::seconds maxRetryAfter{30};            // a longer Retry-After is cut to this
  std::string userAgent = "podgate";
};

struct Response {
  int status = 0;          // 0: no answer (see error)
  std::string body;
  std::string error;       // why there was no answer; "" when status != 0
  std::string retryAfter;  // the last answer's Retry-After header, if any
  bool ok() const { return status >= 200 && status < 300; }
  // The Status object's reason ("NotFound", "Conflict", "Expired", ...) or "".
  std::string reason() const;
  // A one-line description for logs: "409 Conflict: the object has been modified" or the error.
  std::string describe() const;
};

// What a request is about, for metrics: the resource plural ("imagescans", "secrets").
struct Call {
  std::string_view verb;      // get, list, create, update, patch, delete, watch
  std::string_view resource;
};

class Client {
 public:
  // Throws ConfigError when the configuration cannot make a connection (a bad server URL, an
  // unreadable CA or client key).
  Client(ClusterConfig config, ClientOptions options, metrics::Metrics* metrics, log::Logger* logger);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const ClusterConfig& config() const;

  // One request: waits for the rate limiter, sends with the current token, and retries 429/5xx
  // answers that carry Retry-After (sleeping that long), and a 401 once after re-reading the token.
  Response request(Call call, std::string_view method, std::string_view target, std::string_view body = {},
                   std::string_view contentType = "application/json");

  Response get(std::string_view resource, std::string_view target);
  Response create(std::string_view resource, std::string_view collection, std::string_view object);
  Response update(std::string_view resource, std::string_view target, std::string_view object);
  // Server-side apply: the complete set of fields `fieldManager` owns; force takes fields over
  // from other managers.
  Response apply(std::string_view resource, std::string_view target, std::string_view object,
                 std::string_view fieldManager, bool force = true);
  Response remove(std::string_view resource, std::string_view target);

  // Read-modify-write with optimistic concurrency: `mutate` gets the current object (its JSON, or
  // "" when absent) and returns the object to write (with the resourceVersion it read), or "" to
  // write nothing. A 409 Conflict re-reads and tries again, up to 5 times (client-go's
  // retry.DefaultRetry).
  Response update_with_retry(std::string_view resource, std::string_view target,
                             const std::function<std::string(const std::string& current)>& mutate);

  // A watch: the events' bytes as they arrive (see Reflector for the parsing), on a transport
  // thread. The returned handle's cancel() ends it; `done` runs once with the final status.
  class Watch {
   public:
    virtual ~Watch() = default;
    virtual void cancel() = 0;
  };
  struct WatchHandlers {
    std::function<bool(int status, const std::string& errorBody)> onStatus;  // false stops (non-200)
    std::function<bool(std::string_view bytes)> onData;
    std::function<void(std::string error)> done;  // "" on a clean end
  };
  std::shared_ptr<Watch> watch(std::string_view resource, std::string_view target, std::chrono::seconds timeout,
                               WatchHandlers handlers);

  metrics::Metrics* metrics() const;
  log::Logger* logger() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Percent-encodes a query value (a label selector, a continue token).
std::string query_escape(std::string_view value);

}  // namespace podgate::kube
