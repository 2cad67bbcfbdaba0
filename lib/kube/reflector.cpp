#include "kube/reflector.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <random>
#include <thread>
#include <utility>

#include "log/log.h"
#include "util/json_depth.h"
#include "metrics/metrics.h"

namespace podgate::kube {

namespace {

using Clock = std::chrono::steady_clock;

// Deeper than any Kubernetes object needs (a list page adds two levels, a watch event one); what a
// tenant writes into a schemaless field (Trivy Operator's reports keep unknown fields) cannot make
// the parse, or the re-serialisation for the sink, recurse without bound.
constexpr unsigned kMaxDepth = 100;

std::string member_string(const rapidjson::Value& v, const char* name) {
  if (!v.IsObject()) return {};
  auto it = v.FindMember(name);
  return it != v.MemberEnd() && it->value.IsString() ? std::string(it->value.GetString(), it->value.GetStringLength())
                                                     : std::string();
}

const rapidjson::Value* member(const rapidjson::Value& v, const char* name) {
  if (!v.IsObject()) return nullptr;
  auto it = v.FindMember(name);
  return it == v.MemberEnd() ? nullptr : &it->value;
}

// "namespace/name" or "name"; "" when the object has no name.
std::string object_key(const rapidjson::Value& object) {
  const rapidjson::Value* meta = member(object, "metadata");
  if (!meta) return {};
  std::string name = member_string(*meta, "name");
  if (name.empty()) return {};
  std::string ns = member_string(*meta, "namespace");
  return ns.empty() ? name : ns + "/" + name;
}

std::string to_json(const rapidjson::Value& v) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  v.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

// How a watch ended, which decides what comes next.
enum class WatchEnd { Closed, Expired, Error, TooLarge, Stopped };

const char* restart_reason(WatchEnd end) {
  switch (end) {
    case WatchEnd::Closed: return "closed";
    case WatchEnd::Expired: return "expired";
    case WatchEnd::TooLarge: return "too_large";
    default: return "error";
  }
}

}  // namespace

struct Reflector::Impl : std::enable_shared_from_this<Reflector::Impl> {
  Client& client;
  ReflectorOptions options;
  ReflectorSink& sink;
  std::thread thread;

  mutable std::mutex mutex;
  mutable std::condition_variable changed;
  bool stopping = false;
  bool synced = false;
  bool watching = false;
  std::string lastError;
  std::chrono::system_clock::time_point lastEvent{};
  std::int64_t lists = 0, bookmarks = 0;
  std::shared_ptr<Client::Watch> watch;

  std::string resourceVersion;  // the reflector thread's, and the watch's while it runs
  bool hadVersion = false;      // a list or resumeFrom gave a resourceVersion: the next list is a relist
  std::mt19937_64 random{std::random_device{}()};

  Impl(Client& c, ReflectorOptions o, ReflectorSink& s)
      : client(c), options(std::move(o)), sink(s), resourceVersion(options.resumeFrom),
        hadVersion(!options.resumeFrom.empty()) {}

  void note_event() {
    const auto now = std::chrono::system_clock::now();
    {
      std::lock_guard<std::mutex> lock(mutex);
      lastEvent = now;
    }
    if (auto* m = client.metrics())
      m->set_kube_last_event(options.resource, std::chrono::duration<double>(now.time_since_epoch()).count());
  }

  // Logs a change only: a new error once (not at every retry), and the recovery once.
  void set_error(std::string error) {
    std::string previous;
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (error == lastError) return;
      previous = std::exchange(lastError, error);
    }
    auto* logger = client.logger();
    if (!logger) return;
    if (!error.empty())
      logger->line(log::Level::Warn, "kubernetes cache: cannot list or watch; judging from what is cached")
          .str("resource", options.resource)
          .str("error", error, 512);
    else
      logger->line(log::Level::Info, "kubernetes cache: listing and watching again")
          .str("resource", options.resource)
          .str("previousError", previous, 512);
  }

  bool is_stopping() {
    std::lock_guard<std::mutex> lock(mutex);
    return stopping;
  }

  // Sleeps `d` unless stop() comes first; false when stopping.
  bool sleep_for(Clock::duration d) {
    std::unique_lock<std::mutex> lock(mutex);
    changed.wait_for(lock, d, [this] { return stopping; });
    return !stopping;
  }

  std::string list_target(const std::string& continueToken) const {
    std::string t = options.path + "?limit=" + std::to_string(options.pageSize);
    if (!options.labelSelector.empty()) t += "&labelSelector=" + query_escape(options.labelSelector);
    if (!continueToken.empty()) t += "&continue=" + query_escape(continueToken);
    return t;
  }

  // A full list, page by page (resourceVersion unset: a consistent read, and `limit` is honoured,
  // so memory stays bounded by one page). An expired continue token (410) restarts the list.
  bool list() {
    for (int attempt = 0; attempt < 3; ++attempt) {
      std::string continueToken, listVersion;
      bool begun = false, restart = false;
      do {
        Response page = client.request({"list", options.resource}, "GET", list_target(continueToken));
        if (page.status == 410 && begun) {
          restart = true;
          break;
        }
        if (!page.ok()) {
          // No list_end(): nothing is swept on a failed list; the pages read so far were current.
          set_error("list " + options.path + ": " + page.describe());
          return false;
        }
        rapidjson::Document doc;
        const bool parsed = util::parse_depth_limited(page.body, doc, kMaxDepth);
        const rapidjson::Value* items = parsed ? member(doc, "items") : nullptr;
        if (!items || !items->IsArray()) {
          set_error("list " + options.path + ": the answer is not a list");
          return false;
        }
        if (!begun) {
          sink.list_begin();
          begun = true;
        }
        for (const auto& item : items->GetArray()) {
          const std::string key = object_key(item);
          if (!key.empty()) sink.upsert(key, to_json(item));
        }
        const rapidjson::Value* meta = member(doc, "metadata");
        continueToken = meta ? member_string(*meta, "continue") : std::string();
        if (meta) listVersion = member_string(*meta, "resourceVersion");
        if (is_stopping()) return false;
      } while (!continueToken.empty());
      if (restart) continue;
      sink.list_end();
      resourceVersion = listVersion;
      // Metrics and state first, then the news: whoever wait_synced() wakes sees them.
      if (auto* m = client.metrics()) {
        m->set_kube_synced(options.resource, true);
        if (hadVersion) m->count_kube_relist(options.resource);
      }
      hadVersion = true;
      note_event();
      set_error("");
      {
        std::lock_guard<std::mutex> lock(mutex);
        ++lists;
        synced = true;
      }
      changed.notify_all();
      return true;
    }
    set_error("list " + options.path + ": the continue token kept expiring");
    return false;
  }

  // Applies one watch event line; returns false (with `end` set) when the watch must stop.
  bool apply_event(std::string_view line, WatchEnd& end) {
    rapidjson::Document doc;
    if (!util::parse_depth_limited(line, doc, kMaxDepth) || !doc.IsObject()) {
      end = WatchEnd::Error;
      set_error("watch " + options.path + ": an event is not JSON");
      return false;
    }
    const std::string type = member_string(doc, "type");
    const rapidjson::Value* object = member(doc, "object");
    if (!object || !object->IsObject()) {
      end = WatchEnd::Error;
      return false;
    }
    if (type == "ERROR") {
      // A Status inside a 200 stream; 410 Expired means the resourceVersion was compacted away.
      const rapidjson::Value* code = member(*object, "code");
      end = code && code->IsInt() && code->GetInt() == 410 ? WatchEnd::Expired : WatchEnd::Error;
      set_error("watch " + options.path + ": " + member_string(*object, "message"));
      return false;
    }
    const rapidjson::Value* meta = member(*object, "metadata");
    const std::string version = meta ? member_string(*meta, "resourceVersion") : std::string();
    if (type == "BOOKMARK") {
      std::lock_guard<std::mutex> lock(mutex);
      ++bookmarks;
    } else if (type == "ADDED" || type == "MODIFIED" || type == "DELETED") {
      const std::string key = object_key(*object);
      if (!key.empty()) {
        if (type == "DELETED") sink.remove(key);
        else sink.upsert(key, to_json(*object));
      }
    }
    if (!version.empty()) resourceVersion = version;
    note_event();
    return true;
  }

  // What one watch's handlers share with the thread waiting for it.
  struct WatchState {
    std::mutex mutex;
    std::condition_variable cv;
    bool done = false;
    WatchEnd end = WatchEnd::Closed;
    std::string buffer;  // the part of an event not yet ended by its newline
    bool gotData = false;
  };

  std::string watch_target(std::chrono::seconds timeout) const {
    std::string target = options.path + "?watch=1&allowWatchBookmarks=true&resourceVersion=" +
                         query_escape(resourceVersion) + "&timeoutSeconds=" + std::to_string(timeout.count());
    if (!options.labelSelector.empty()) target += "&labelSelector=" + query_escape(options.labelSelector);
    return target;
  }

  // The stream's handlers: split the body into newline-ended events (each bounded) and apply them,
  // and record how the watch ended.
  Client::WatchHandlers watch_handlers(const std::shared_ptr<WatchState>& state) {
    auto self = shared_from_this();
    Client::WatchHandlers handlers;
    handlers.onStatus = [self, state](int status, const std::string&) {
      state->end = status == 410 ? WatchEnd::Expired : WatchEnd::Error;
      self->set_error("watch " + self->options.path + ": HTTP " + std::to_string(status));
      return false;
    };
    handlers.onData = [self, state](std::string_view bytes) {
      state->gotData = true;
      state->buffer.append(bytes);
      std::size_t start = 0;
      for (;;) {
        const auto nl = state->buffer.find('\n', start);
        if (nl == std::string::npos) break;
        const std::string_view line(state->buffer.data() + start, nl - start);
        start = nl + 1;
        if (line.empty()) continue;
        if (!self->apply_event(line, state->end)) return false;
      }
      state->buffer.erase(0, start);
      if (state->buffer.size() > self->options.maxEventBytes) {
        state->end = WatchEnd::TooLarge;
        self->set_error("watch " + self->options.path + ": an event is over " +
                        std::to_string(self->options.maxEventBytes) + " bytes");
        return false;
      }
      return true;
    };
    handlers.done = [self, state](std::string error) {
      std::lock_guard<std::mutex> lock(state->mutex);
      if (!error.empty() && state->end == WatchEnd::Closed) {
        state->end = WatchEnd::Error;
        self->set_error("watch " + self->options.path + ": " + error);
      }
      state->done = true;
      state->cv.notify_all();
    };
    return handlers;
  }

  // One watch from resourceVersion, until it ends. Events are applied on a transport thread while
  // this thread waits; nothing else touches the sink meanwhile.
  WatchEnd watch_once() {
    std::uniform_int_distribution<long long> pick(options.minWatchTimeout.count(),
                                                  std::max(options.minWatchTimeout, options.maxWatchTimeout).count());
    const std::chrono::seconds timeout(pick(random));
    const std::string target = watch_target(timeout);
    auto state = std::make_shared<WatchState>();
    Client::WatchHandlers handlers = watch_handlers(state);
    std::string startError;
    const auto opened = Clock::now();
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (stopping) return WatchEnd::Stopped;
      try {
        watch = client.watch(options.resource, target, timeout, std::move(handlers));
        watching = true;
      } catch (const std::exception& e) {
        startError = e.what();
      }
    }
    if (!startError.empty()) {
      set_error(startError);
      return WatchEnd::Error;
    }
    if (auto* m = client.metrics()) m->set_kube_watch_connected(options.resource, true);
    {
      std::unique_lock<std::mutex> lock(state->mutex);
      state->cv.wait(lock, [&] { return state->done; });
    }
    {
      std::lock_guard<std::mutex> lock(mutex);
      watching = false;
      watch.reset();
    }
    if (auto* m = client.metrics()) m->set_kube_watch_connected(options.resource, false);
    if (is_stopping()) return WatchEnd::Stopped;
    // A watch that closes at once with nothing sent may be a stale resourceVersion served without
    // a 410 (kubernetes/kubernetes#104171): relist to be sure. Only at once (client-go's "very
    // short watch" is under a second): a quiet watch that ran until its timeout, or until the
    // apiserver shut down, is a normal close, and rewatching from the same version is right.
    if (state->end == WatchEnd::Closed && !state->gotData && Clock::now() - opened < std::chrono::seconds(1))
      return WatchEnd::Expired;
    if (state->end == WatchEnd::Closed) set_error("");
    return state->end;
  }

  void run() {
    auto backoff = options.backoffInitial;
    auto healthySince = Clock::now();
    while (!is_stopping()) {
      bool failed = false;
      if (resourceVersion.empty()) {
        if (!list()) failed = true;
      }
      if (!failed) {
        const WatchEnd end = watch_once();
        if (end == WatchEnd::Stopped) return;
        if (auto* m = client.metrics()) m->count_kube_watch_restart(options.resource, restart_reason(end));
        if (end == WatchEnd::Expired || end == WatchEnd::TooLarge) resourceVersion.clear();  // relist
        failed = end == WatchEnd::Error || end == WatchEnd::TooLarge;
      }
      if (!failed) continue;
      // client-go's backoff: reset after two healthy minutes, double up to the cap, full jitter.
      const auto now = Clock::now();
      if (now - healthySince > std::chrono::minutes(2)) backoff = options.backoffInitial;
      std::uniform_real_distribution<double> jitter(0, 1);
      const auto wait = std::chrono::duration_cast<Clock::duration>(backoff * (1 + jitter(random)));
      backoff = std::min(backoff * 2, options.backoffMax);
      if (!sleep_for(wait)) return;
      healthySince = Clock::now();
    }
  }
};

Reflector::Reflector(Client& client, ReflectorOptions options, ReflectorSink& sink)
    : impl_(std::make_shared<Impl>(client, std::move(options), sink)) {}

Reflector::~Reflector() { stop(); }

void Reflector::start() {
  if (impl_->thread.joinable()) return;
  impl_->thread = std::thread([impl = impl_] { impl->run(); });
}

void Reflector::stop() {
  std::shared_ptr<Client::Watch> watch;
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->stopping = true;
    watch = impl_->watch;
  }
  impl_->changed.notify_all();
  if (watch) watch->cancel();
  if (impl_->thread.joinable()) impl_->thread.join();
}

std::string Reflector::list_once() {
  if (impl_->list()) return "";
  const std::string error = last_error();
  return error.empty() ? "list " + impl_->options.path + ": stopped" : error;
}

bool Reflector::synced() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->synced;
}

bool Reflector::wait_synced(std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(impl_->mutex);
  return impl_->changed.wait_for(lock, timeout, [this] { return impl_->synced || impl_->stopping; }) && impl_->synced;
}

bool Reflector::watching() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->watching;
}

std::chrono::system_clock::time_point Reflector::last_event() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->lastEvent;
}

std::string Reflector::last_error() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->lastError;
}

std::int64_t Reflector::lists() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->lists;
}

std::int64_t Reflector::bookmarks() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->bookmarks;
}

}  // namespace podgate::kube
