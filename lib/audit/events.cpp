// The Event recorder (events.h): one writer thread, a bounded queue, a per-object token bucket and
// isomorphic Events folded into a series, as client-go's recorders do.

#include "audit/events.h"

#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <deque>
#include <functional>
#include <list>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "util/json.h"

namespace podgate::audit {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kMaxNoteBytes = 1024;   // the apiserver's bound on note
constexpr std::size_t kMaxShortBytes = 128;   // on reason, action and reportingInstance
constexpr std::size_t kMaxNameBytes = 253;    // a DNS subdomain
constexpr auto kFirstBackoff = std::chrono::milliseconds(200);
constexpr auto kMaxBackoff = std::chrono::seconds(10);

// A map that forgets its least recently used entry past `capacity`: the recorder's memory stays
// bounded however many objects it hears about (client-go's LRU of 4096).
template <typename V>
class Lru {
 public:
  explicit Lru(std::size_t capacity) : capacity_(std::max<std::size_t>(capacity, 1)) {}
  V* find(const std::string& key) {
    const auto it = index_.find(key);
    if (it == index_.end()) return nullptr;
    items_.splice(items_.begin(), items_, it->second);
    return &it->second->second;
  }
  V& put(const std::string& key, V value) {
    if (V* existing = find(key)) return *existing = std::move(value);
    if (items_.size() >= capacity_) {
      index_.erase(items_.back().first);
      items_.pop_back();
    }
    items_.emplace_front(key, std::move(value));
    index_[key] = items_.begin();
    return items_.front().second;
  }

 private:
  std::size_t capacity_;
  std::list<std::pair<std::string, V>> items_;
  std::unordered_map<std::string, typename std::list<std::pair<std::string, V>>::iterator> index_;
};

struct Bucket {
  double tokens = 0;
  Clock::time_point refilledAt;
};

// An Event written, for its series.
struct Recorded {
  std::string namespace_, name;
  int count = 1;
  Clock::time_point lastObserved;
};

// RFC 3339 with microseconds, UTC: the MicroTime that eventTime and lastObservedTime require.
std::string micro_time(std::chrono::system_clock::time_point when) {
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(when.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(micros / 1000000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[96];  // room for any int the format could print
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(micros % 1000000));
  return buf;
}

void put(util::JsonWriter& w, std::string_view key, std::string_view value) {
  util::write_key(w, key);
  util::write_string(w, bounded_text(value, std::string_view::npos));
}

std::string object_key(const WorkloadRef& r) {
  if (!r.uid.empty()) return r.uid;
  return r.apiVersion + '\0' + r.kind + '\0' + r.namespace_ + '\0' + r.name;
}

std::string event_namespace(const EventSpec& e) {
  return e.regarding.namespace_.empty() ? "default" : e.regarding.namespace_;
}

std::string default_instance() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) == 0 && host[0]) return host;
  return "podgate";
}

// The spec as the apiserver accepts it: a known type, bounded texts, no empty required field.
void normalize(EventSpec& e) {
  if (e.type != "Normal" && e.type != "Warning") e.type = "Warning";
  if (e.reason.empty()) e.reason = "Audit";
  if (e.action.empty()) e.action = "Audit";
  e.reason = bounded_text(e.reason, kMaxShortBytes);
  e.action = bounded_text(e.action, kMaxShortBytes);
  e.note = bounded_text(e.note, kMaxNoteBytes);
}

std::string event_json(const EventSpec& e, const std::string& name, const std::string& eventTime,
                       const EventRecorderOptions& o) {
  rapidjson::StringBuffer buffer;
  util::JsonWriter w(buffer);
  w.StartObject();
  put(w, "apiVersion", "events.k8s.io/v1");
  put(w, "kind", "Event");
  util::write_key(w, "metadata");
  w.StartObject();
  put(w, "name", name);
  put(w, "namespace", event_namespace(e));
  w.EndObject();
  put(w, "eventTime", eventTime);
  put(w, "reportingController", o.reportingController);
  put(w, "reportingInstance", o.reportingInstance);
  put(w, "action", e.action);
  put(w, "reason", e.reason);
  put(w, "note", e.note);
  put(w, "type", e.type);
  util::write_key(w, "regarding");
  w.StartObject();
  put(w, "apiVersion", e.regarding.apiVersion);
  put(w, "kind", e.regarding.kind);
  put(w, "name", e.regarding.name);
  if (!e.regarding.namespace_.empty()) put(w, "namespace", e.regarding.namespace_);
  if (!e.regarding.uid.empty()) put(w, "uid", e.regarding.uid);
  w.EndObject();
  w.EndObject();
  return util::to_string(buffer);
}

std::string series_patch(int count, const std::string& lastObserved) {
  return "{\"series\":{\"count\":" + std::to_string(count) + ",\"lastObservedTime\":\"" + lastObserved + "\"}}";
}

bool retriable(const kube::Response& r) { return r.status == 0 || r.status == 429 || r.status >= 500; }

}  // namespace

std::string event_name(std::string_view regardingName, std::int64_t unixNanos) {
  char hex[24];
  std::snprintf(hex, sizeof hex, ".%llx", static_cast<unsigned long long>(unixNanos));
  std::string prefix(regardingName.substr(0, kMaxNameBytes - std::strlen(hex)));
  // A cut may leave a '-' or '.' before ours, which a DNS subdomain does not allow.
  while (!prefix.empty() && (prefix.back() == '-' || prefix.back() == '.')) prefix.pop_back();
  if (prefix.empty()) prefix = "podgate";
  return prefix + hex;
}

struct EventRecorder::Impl {
  kube::Client& client;
  EventRecorderOptions options;
  metrics::Metrics* metrics;
  log::Logger* logger;

  std::mutex mutex;  // guards queue, stopping, busy
  std::condition_variable cv;
  std::deque<EventSpec> queue;
  bool stopping = false;
  bool busy = false;  // the worker holds an Event taken from the queue

  // The worker thread's own state.
  Lru<Bucket> buckets;
  Lru<Recorded> recorded;
  std::int64_t lastNanos = 0;
  bool failing = false;
  std::thread worker;

  Impl(kube::Client& c, EventRecorderOptions o, metrics::Metrics* m, log::Logger* l)
      : client(c), options(std::move(o)), metrics(m), logger(l), buckets(options.maxTracked),
        recorded(options.maxTracked) {
    if (options.reportingInstance.empty()) options.reportingInstance = default_instance();
    options.reportingInstance = bounded_text(options.reportingInstance, kMaxShortBytes);
  }

  void count(std::string_view result) {
    if (metrics) metrics->count_audit_event(result);
  }

  void run() {
    for (;;) {
      EventSpec event;
      {
        std::unique_lock lock(mutex);
        cv.wait(lock, [&] { return stopping || !queue.empty(); });
        if (stopping) return;
        event = std::move(queue.front());
        queue.pop_front();
        busy = true;
      }
      handle(std::move(event));
      std::lock_guard lock(mutex);
      busy = false;
      cv.notify_all();
    }
  }

  // client-go's spam filter: `burst` tokens per object, one more every `refill`.
  bool take_token(const std::string& key, Clock::time_point now) {
    Bucket* b = buckets.find(key);
    if (!b) b = &buckets.put(key, Bucket{static_cast<double>(options.burst), now});
    const double refill = std::chrono::duration<double>(options.refill).count();
    if (refill > 0) {
      b->tokens = std::min(static_cast<double>(options.burst),
                           b->tokens + std::chrono::duration<double>(now - b->refilledAt).count() / refill);
    }
    b->refilledAt = now;
    if (b->tokens < 1) return false;
    b->tokens -= 1;
    return true;
  }

  void handle(EventSpec event) {
    normalize(event);
    const auto now = Clock::now();
    const std::string key = object_key(event.regarding);
    if (!take_token(key, now)) return count("throttled");
    const std::string isomorphic =
        key + '\0' + event.reason + '\0' + event.action + '\0' + event.type + '\0' + event.note;
    Recorded* previous = recorded.find(isomorphic);
    if (previous && now - previous->lastObserved < options.seriesWindow) {
      const kube::Response r = extend_series(*previous, now);
      if (r.ok()) return count("series");
      if (r.status != 404) return failed(r);
      // The Event is gone (its TTL, or someone deleted it): a new one starts again.
    }
    std::string name;
    const kube::Response r = create(event, name);
    if (!r.ok() && r.status != 409) return failed(r);
    recorded.put(isomorphic, Recorded{event_namespace(event), name, 1, now});
    recovered();
    count("created");
  }

  kube::Response extend_series(Recorded& previous, Clock::time_point now) {
    const std::string target =
        "/apis/events.k8s.io/v1/namespaces/" + previous.namespace_ + "/events/" + previous.name;
    const std::string body = series_patch(previous.count + 1, micro_time(std::chrono::system_clock::now()));
    const kube::Response r = with_retries([&] {
      return client.request({"patch", "events"}, "PATCH", target, body, "application/merge-patch+json");
    });
    if (r.ok()) {
      previous.count += 1;
      previous.lastObserved = now;
      recovered();
    }
    return r;
  }

  // POST with a new name; the same name on every try, so a 409 after a lost answer means created.
  kube::Response create(const EventSpec& event, std::string& name) {
    const auto wall = std::chrono::system_clock::now();
    std::int64_t nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(wall.time_since_epoch()).count();
    nanos = std::max(nanos, lastNanos + 1);  // two Events in one nanosecond still get two names
    lastNanos = nanos;
    name = event_name(event.regarding.name, nanos);
    const std::string body = event_json(event, name, micro_time(wall), options);
    const std::string collection = "/apis/events.k8s.io/v1/namespaces/" + event_namespace(event) + "/events";
    return with_retries([&] { return client.create("events", collection, body); });
  }

  // Up to maxTries for answers that may succeed later (none, 429, 5xx), backing off between them;
  // an answer the apiserver gave for this Event (400, 403, 422) is final, as in client-go.
  kube::Response with_retries(const std::function<kube::Response()>& call) {
    kube::Response r;
    auto backoff = std::chrono::duration_cast<std::chrono::milliseconds>(kFirstBackoff);
    for (int attempt = 1;; ++attempt) {
      r = call();
      if (r.ok() || !retriable(r) || attempt >= options.maxTries) return r;
      std::unique_lock lock(mutex);
      if (cv.wait_for(lock, backoff, [&] { return stopping; })) return r;
      backoff = std::min(backoff * 2, std::chrono::duration_cast<std::chrono::milliseconds>(kMaxBackoff));
    }
  }

  // Logged once when Events start failing and once when they work again, not once per Event.
  void failed(const kube::Response& r) {
    count("error");
    if (failing || !logger) return;
    failing = true;
    logger->line(log::Level::Warn, "audit events: cannot write an Event; dropped")
        .str("error", r.describe(), 1024);
  }
  void recovered() {
    if (!failing) return;
    failing = false;
    if (logger) logger->line(log::Level::Info, "audit events: writing Events again");
  }
};

EventRecorder::EventRecorder(kube::Client& client, EventRecorderOptions options, metrics::Metrics* metrics,
                             log::Logger* logger)
    : impl_(std::make_unique<Impl>(client, std::move(options), metrics, logger)) {
  impl_->worker = std::thread([this] { impl_->run(); });
}

EventRecorder::~EventRecorder() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  impl_->worker.join();
}

void EventRecorder::record(EventSpec event) {
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->stopping) return;
    if (impl_->queue.size() < impl_->options.maxQueued) {
      impl_->queue.push_back(std::move(event));
      impl_->cv.notify_all();
      return;
    }
  }
  impl_->count("dropped");
}

bool EventRecorder::flush(std::chrono::milliseconds timeout) {
  std::unique_lock lock(impl_->mutex);
  return impl_->cv.wait_for(lock, timeout, [&] { return impl_->queue.empty() && !impl_->busy; });
}

}  // namespace podgate::audit
