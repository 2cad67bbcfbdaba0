#include "kube/client.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <charconv>
#include <future>
#include <mutex>
#include <thread>

#include "http/transport.h"
#include "kube/ca.h"
#include "kube/token.h"
#include "log/log.h"
#include "metrics/metrics.h"
#include "util/json_depth.h"

namespace podgate::kube {

namespace {

using Clock = std::chrono::steady_clock;

// client-go's flowcontrol token bucket: `qps` tokens a second, at most `burst` saved up. A caller
// that finds none reserves the next one (the count goes negative) and sleeps until it is due, so
// waiters are served in order.
class TokenBucket {
 public:
  TokenBucket(double qps, int burst) : qps_(qps > 0 ? qps : 0), burst_(std::max(1, burst)), tokens_(burst_) {}
  // false when the token would come after `deadline` (nothing is reserved then).
  bool acquire(Clock::time_point deadline) {
    if (qps_ <= 0) return true;  // unlimited
    Clock::duration wait{};
    {
      std::lock_guard<std::mutex> lock(mutex_);
      const auto now = Clock::now();
      tokens_ = std::min<double>(burst_, tokens_ + std::chrono::duration<double>(now - last_).count() * qps_);
      last_ = now;
      if (tokens_ < 1) {
        wait = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>((1 - tokens_) / qps_));
        if (now + wait > deadline) return false;
      }
      tokens_ -= 1;
    }
    if (wait > Clock::duration::zero()) std::this_thread::sleep_for(wait);
    return true;
  }

 private:
  double qps_;
  int burst_;
  double tokens_;
  Clock::time_point last_ = Clock::now();
  std::mutex mutex_;
};

// Retry-After in seconds (the apiserver never sends an HTTP date); nullopt when absent or unusable.
std::optional<int> retry_after_seconds(const std::string& value) {
  int seconds = 0;
  const auto* end = value.data() + value.size();
  const auto [ptr, ec] = std::from_chars(value.data(), end, seconds);
  if (ec != std::errc() || ptr != end || seconds < 0) return std::nullopt;
  return seconds;
}

}  // namespace

std::string query_escape(std::string_view value) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

std::string Response::reason() const {
  rapidjson::Document doc;
  if (!util::parse_depth_limited(body, doc, 16) || !doc.IsObject()) return {};
  auto it = doc.FindMember("reason");
  return it != doc.MemberEnd() && it->value.IsString() ? std::string(it->value.GetString(), it->value.GetStringLength())
                                                       : std::string();
}

std::string Response::describe() const {
  if (status == 0) return error.empty() ? "no answer" : error;
  std::string out = std::to_string(status);
  rapidjson::Document doc;
  if (util::parse_depth_limited(body, doc, 16) && doc.IsObject()) {
    auto reason = doc.FindMember("reason");
    if (reason != doc.MemberEnd() && reason->value.IsString()) out += std::string(" ") + reason->value.GetString();
    auto message = doc.FindMember("message");
    if (message != doc.MemberEnd() && message->value.IsString())
      out += std::string(": ") + std::string(message->value.GetString()).substr(0, 300);
  }
  return out;
}

struct Client::Impl {
  ClusterConfig config;
  ClientOptions options;
  metrics::Metrics* metrics;
  log::Logger* logger;
  http::Url base;
  TokenSource tokens;
  FileWatch caFile;
  TokenBucket limiter;

  Impl(ClusterConfig c, ClientOptions o, metrics::Metrics* m, log::Logger* l)
      : config(std::move(c)), options(std::move(o)), metrics(m), logger(l), tokens(config.token, config.tokenFile),
        caFile(config.caFile), limiter(options.qps, options.burst) {
    if (!http::parse_url(config.server, base) || !base.endpoint.tls)
      throw ConfigError("unusable apiserver address \"" + config.server + "\" (from " + config.source +
                        "): podgate talks to the apiserver over https:// only");
    origin();  // load the CA and client key now, so a bad one fails at start
  }

  // The connection pool for the apiserver with the CA as it is now: a rotated CA file gives a new
  // endpoint, so new connections trust the new CA (kube-client.md §1, CA rotation).
  std::shared_ptr<http::Origin> origin() {
    http::Endpoint e = base.endpoint;
    e.caPem = config.caPem;
    if (!config.caFile.empty()) e.caPem += caFile.get().content;
    e.systemRoots = e.caPem.empty();
    e.serverName = config.tlsServerName;
    e.clientCertPem = config.clientCertPem;
    e.clientKeyPem = config.clientKeyPem;
    try {
      return http::Transport::shared().origin(e);
    } catch (const std::exception& ex) {
      throw ConfigError(std::string(ex.what()) + " (from " + config.source + ")");
    }
  }

  http::HttpRequest make_request(std::string_view method, std::string_view target, std::string_view body,
                                 std::string_view contentType) {
    http::HttpRequest req;
    req.method = std::string(method);
    std::string path = base.target == "/" ? std::string() : base.target;  // a server URL with a path prefix
    if (!path.empty() && path.back() == '/') path.pop_back();
    req.target = path + std::string(target);
    req.headers.emplace_back("Accept", "application/json");
    req.headers.emplace_back("User-Agent", options.userAgent);
    if (const std::string token = tokens.token(); !token.empty()) req.headers.emplace_back("Authorization", "Bearer " + token);
    if (!body.empty()) {
      req.headers.emplace_back("Content-Type", std::string(contentType));
      req.body = std::string(body);
    }
    return req;
  }

  void count(Call call, int status) {
    if (metrics) metrics->count_kube_request(call.verb, call.resource, status ? std::to_string(status) : "error");
  }
};

namespace {

http::TransportResult send_and_wait(std::shared_ptr<http::Origin> origin, http::HttpRequest request,
                                    http::Transport::Limits limits, Clock::time_point deadline) {
  auto promise = std::make_shared<std::promise<http::TransportResult>>();
  auto future = promise->get_future();
  http::Transport::shared().send(std::move(origin), std::move(request), limits, deadline,
                                 [promise](http::TransportResult r) { promise->set_value(std::move(r)); });
  return future.get();
}

}  // namespace

Client::Client(ClusterConfig config, ClientOptions options, metrics::Metrics* metrics, log::Logger* logger)
    : impl_(std::make_unique<Impl>(std::move(config), std::move(options), metrics, logger)) {}
Client::~Client() = default;

const ClusterConfig& Client::config() const { return impl_->config; }
metrics::Metrics* Client::metrics() const { return impl_->metrics; }
log::Logger* Client::logger() const { return impl_->logger; }

Response Client::request(Call call, std::string_view method, std::string_view target, std::string_view body,
                         std::string_view contentType) {
  Impl& d = *impl_;
  const auto deadline = Clock::now() + d.options.timeout;
  http::Transport::Limits limits;
  limits.maxBodyBytes = d.options.maxResponseBytes;
  bool reauthenticated = false, caRefreshed = false;
  Response response;
  for (int retries = 0;;) {
    if (!d.limiter.acquire(deadline)) {
      response.error = "client-side rate limit: no request slot before the deadline";
      return response;
    }
    http::TransportResult result;
    try {
      result = send_and_wait(d.origin(), d.make_request(method, target, body, contentType), limits, deadline);
    } catch (const std::exception& e) {
      response = Response{};
      response.error = e.what();
      return response;
    }
    response = Response{};
    if (result.error != http::TransportError::None) {
      d.count(call, 0);
      response.error = "apiserver " + d.base.authority + ": " + result.message;
      // A TLS failure may be a rotated CA: read the file again now, and try once more.
      if (result.error == http::TransportError::Tls && !caRefreshed && !d.config.caFile.empty()) {
        caRefreshed = true;
        d.caFile.refresh_now();
        continue;
      }
      return response;
    }
    response.status = result.response.status;
    response.body = std::move(result.response.body);
    response.retryAfter = result.response.header("Retry-After");
    d.count(call, response.status);
    // A 401 may be a rotated token: re-read it at once and try once more (client-go does the same).
    if (response.status == 401 && !reauthenticated && !d.config.tokenFile.empty()) {
      reauthenticated = true;
      d.tokens.invalidate();
      continue;
    }
    if ((response.status == 429 || response.status >= 500) && retries < d.options.maxRetries) {
      const auto seconds = retry_after_seconds(response.retryAfter);
      if (!seconds) return response;  // only a server that says when may be asked again (client-go's rule)
      const auto wait = std::chrono::seconds(std::min<long long>(*seconds, d.options.maxRetryAfter.count()));
      if (Clock::now() + wait >= deadline) return response;
      std::this_thread::sleep_for(wait);
      ++retries;
      continue;
    }
    return response;
  }
}

Response Client::get(std::string_view resource, std::string_view target) {
  return request({"get", resource}, "GET", target);
}

Response Client::create(std::string_view resource, std::string_view collection, std::string_view object) {
  return request({"create", resource}, "POST", collection, object);
}

Response Client::update(std::string_view resource, std::string_view target, std::string_view object) {
  return request({"update", resource}, "PUT", target, object);
}

Response Client::apply(std::string_view resource, std::string_view target, std::string_view object,
                       std::string_view fieldManager, bool force) {
  std::string t(target);
  t += t.find('?') == std::string::npos ? '?' : '&';
  t += "fieldManager=" + query_escape(fieldManager);
  if (force) t += "&force=true";
  return request({"patch", resource}, "PATCH", t, object, "application/apply-patch+yaml");
}

Response Client::remove(std::string_view resource, std::string_view target) {
  return request({"delete", resource}, "DELETE", target);
}

Response Client::update_with_retry(std::string_view resource, std::string_view target,
                                   const std::function<std::string(const std::string& current)>& mutate) {
  Response last;
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    Response current = get(resource, target);
    if (!current.ok() && current.status != 404) return current;
    const std::string desired = mutate(current.ok() ? current.body : std::string());
    if (desired.empty()) return current;
    if (current.status == 404) {
      std::string collection(target);
      collection.erase(collection.rfind('/'));
      last = create(resource, collection, desired);
      if (last.status == 409) continue;  // created by someone else meanwhile: read it and try again
      return last;
    }
    last = update(resource, target, desired);
    if (last.status != 409) return last;
  }
  return last;
}

namespace {

class WatchHandle final : public Client::Watch {
 public:
  explicit WatchHandle(std::shared_ptr<http::Transport::Stream> stream) : stream_(std::move(stream)) {}
  void cancel() override { stream_->cancel(); }

 private:
  std::shared_ptr<http::Transport::Stream> stream_;
};

}  // namespace

std::shared_ptr<Client::Watch> Client::watch(std::string_view resource, std::string_view target,
                                             std::chrono::seconds timeout, WatchHandlers handlers) {
  Impl& d = *impl_;
  http::Transport::StreamHandlers stream;
  const std::string res(resource);
  stream.onHead = [&d, res, onStatus = handlers.onStatus](const http::HttpResponse& head) {
    d.count({"watch", res}, head.status);
    if (head.status == 401) d.tokens.invalidate();
    if (head.status == 200) return true;
    onStatus(head.status, head.body);
    return false;
  };
  stream.onData = std::move(handlers.onData);
  stream.done = [&d, res, done = std::move(handlers.done)](http::TransportResult r) {
    if (r.error != http::TransportError::None) {
      if (r.error == http::TransportError::Tls && !d.config.caFile.empty()) d.caFile.refresh_now();
      d.count({"watch", res}, 0);
      done("apiserver " + d.base.authority + ": " + r.message);
    } else {
      done("");
    }
  };
  // The server ends the watch at `timeout`; a silent connection is given up a little after it,
  // and a bookmark arrives every minute on a healthy one.
  const auto overall = timeout + std::chrono::seconds(30);
  const auto idle = std::min<Clock::duration>(overall, std::chrono::seconds(100));
  auto s = http::Transport::shared().stream(d.origin(), d.make_request("GET", target, {}, {}), 64 * 1024,
                                            Clock::now() + overall, idle, std::move(stream));
  return std::make_shared<WatchHandle>(std::move(s));
}

}  // namespace podgate::kube
