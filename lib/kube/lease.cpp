#include "kube/lease.h"

#include <rapidjson/document.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <utility>

#include "util/json.h"
#include "util/json_depth.h"

namespace podgate::kube {

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::string_view kResource = "leases";
// A Lease is shallow; the bound only stops a hostile answer from recursing without limit.
constexpr unsigned kMaxDepth = 64;

// A Lease's spec. Candidates compare the whole record, not only renewTime, to notice a renewal:
// any write by the holder restarts their clock.
struct LeaseRecord {
  std::string holder;
  long long durationSeconds = 0;
  std::string acquireTime, renewTime;
  long long transitions = 0;
  bool operator==(const LeaseRecord&) const = default;
};

// metav1.MicroTime: RFC 3339 in UTC with 6 fractional digits.
std::string micro_time(std::chrono::system_clock::time_point when) {
  const auto since = when.time_since_epoch();
  const auto secs = std::chrono::floor<std::chrono::seconds>(since);
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(since - secs).count();
  const auto t = static_cast<std::time_t>(secs.count());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[96];  // sized for the widest int fields, which -Wformat-truncation assumes
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(micros));
  return buf;
}

std::string string_member(const rapidjson::Value& v, const char* name) {
  auto it = v.FindMember(name);
  return it != v.MemberEnd() && it->value.IsString() ? std::string(it->value.GetString(), it->value.GetStringLength())
                                                     : std::string();
}

long long int_member(const rapidjson::Value& v, const char* name) {
  auto it = v.FindMember(name);
  return it != v.MemberEnd() && it->value.IsInt64() ? it->value.GetInt64() : 0;
}

// A Lease read from the apiserver; false when the body is not an object. A missing spec or holder
// reads as a free Lease.
bool parse_lease(const std::string& body, rapidjson::Document& doc, LeaseRecord& out) {
  if (!util::parse_depth_limited(body, doc, kMaxDepth) || !doc.IsObject()) return false;
  out = {};
  auto spec = doc.FindMember("spec");
  if (spec == doc.MemberEnd() || !spec->value.IsObject()) return true;
  const rapidjson::Value& s = spec->value;
  out.holder = string_member(s, "holderIdentity");
  out.durationSeconds = int_member(s, "leaseDurationSeconds");
  out.acquireTime = string_member(s, "acquireTime");
  out.renewTime = string_member(s, "renewTime");
  out.transitions = int_member(s, "leaseTransitions");
  return true;
}

void write_spec(util::JsonWriter& w, const LeaseRecord& r) {
  w.StartObject();
  util::write_members(w, {{"holderIdentity", r.holder}});
  util::write_key(w, "leaseDurationSeconds");
  w.Int64(r.durationSeconds);
  if (!r.acquireTime.empty()) util::write_members(w, {{"acquireTime", r.acquireTime}});
  if (!r.renewTime.empty()) util::write_members(w, {{"renewTime", r.renewTime}});
  util::write_key(w, "leaseTransitions");
  w.Int64(r.transitions);
  w.EndObject();
}

// The Lease to write: `base` (the object last read: its resourceVersion makes the write
// conditional, and its labels or owner references survive) with the spec replaced; a new object
// when there is no base.
std::string lease_body(const rapidjson::Value* base, const LeaseOptions& o, const LeaseRecord& r) {
  rapidjson::StringBuffer buffer;
  util::JsonWriter w(buffer);
  w.StartObject();
  if (base) {
    for (const auto& m : base->GetObject()) {
      const std::string_view name(m.name.GetString(), m.name.GetStringLength());
      if (name == "spec") continue;
      util::write_key(w, name);
      m.value.Accept(w);
    }
  } else {
    util::write_members(w, {{"apiVersion", "coordination.k8s.io/v1"}, {"kind", "Lease"}});
    util::write_key(w, "metadata");
    w.StartObject();
    util::write_members(w, {{"name", o.name}, {"namespace", o.namespace_}});
    w.EndObject();
  }
  util::write_key(w, "spec");
  write_spec(w, r);
  w.EndObject();
  return util::to_string(buffer);
}

// leaseDurationSeconds is whole seconds: round up, so a candidate never waits less than asked.
long long whole_seconds(std::chrono::milliseconds d) { return std::max<long long>(1, (d.count() + 999) / 1000); }

// RFC 1123 label, as Kubernetes validates a namespace name.
bool dns1123_label(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(s.front()) || !alnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) { return alnum(c) || c == '-'; });
}

std::string trim(std::string s) {
  const auto space = [](unsigned char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && space(s.back())) s.pop_back();
  std::size_t start = 0;
  while (start < s.size() && space(s[start])) ++start;
  return s.substr(start);
}

// How one tryAcquireOrRenew ended.
enum class Attempt {
  Acquired,  // created or updated the Lease with this candidate as holder
  Held,      // another candidate holds it and has renewed within its leaseDuration
  Conflict,  // the write lost a race (409): someone else wrote first
  Failed,    // no answer, or an unexpected one (logged)
};

}  // namespace

struct LeaderElector::Impl {
  Client& client;
  const LeaseOptions options;
  const Callbacks callbacks;
  metrics::Metrics* const metrics;
  log::Logger* const logger;
  const std::string collection, path;

  std::thread thread;   // the run loop; calls the callbacks
  std::thread attempt;  // one tryAcquireOrRenew at a time, so a hung request cannot hold the loop

  mutable std::mutex mutex;
  std::condition_variable changed;
  bool started = false, stopping = false;
  bool attemptDone = true;
  Attempt attemptResult = Attempt::Failed;
  bool leading = false;
  Clock::time_point renewedAt{};  // the start of the last successful renewal (conservative)
  LeaseRecord observed;           // written by the attempt thread under `mutex`
  std::string lastError;

  // The attempt thread's, and the run loop's once that thread is joined.
  Clock::time_point observedAt{};
  std::string lastLease;  // the Lease last read or written (for the next conditional update)

  // The run loop's.
  Clock::time_point attemptStart{};
  std::mt19937_64 random{std::random_device{}()};

  Impl(Client& c, LeaseOptions o, Callbacks cb, metrics::Metrics* m, log::Logger* l)
      : client(c), options(std::move(o)), callbacks(std::move(cb)), metrics(m), logger(l),
        collection("/apis/coordination.k8s.io/v1/namespaces/" + options.namespace_ + "/leases"),
        path(collection + "/" + options.name) {}

  // ---- the attempt (client-go's tryAcquireOrRenew), on the attempt thread -----------------------

  // Logs a change of error only: once when it starts, not at every retry.
  void set_error(std::string error) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (error == lastError) return;
      lastError = error;
    }
    if (logger && !error.empty())
      logger->line(log::Level::Warn, "lease acquire failed")
          .str("lease", options.namespace_ + "/" + options.name)
          .str("identity", options.identity)
          .str("error", error, 512);
  }

  void observe(const LeaseRecord& record) {
    observedAt = Clock::now();
    std::lock_guard<std::mutex> lock(mutex);
    observed = record;
  }

  // client-go's isLeaseValid: the holder renewed within its own leaseDuration, on our clock.
  bool observed_valid(Clock::time_point now) const {
    return observedAt + std::chrono::seconds(observed.durationSeconds) > now;
  }

  // A conditional write of `record` over the Lease last seen (lastLease), or a create. `report`:
  // log a failure (not for the renewal's fast path, which falls back to a GET that reports it).
  Attempt write(const LeaseRecord& record, bool create, bool report = true) {
    rapidjson::Document base;
    LeaseRecord ignored;
    if (!create && !parse_lease(lastLease, base, ignored)) return Attempt::Failed;
    const std::string body = lease_body(create ? nullptr : &base, options, record);
    Response r = create ? client.create(kResource, collection, body) : client.update(kResource, path, body);
    if (r.status == 409) return Attempt::Conflict;
    if (!r.ok()) {
      if (report) set_error(std::string(create ? "create " : "update ") + path + ": " + r.describe());
      return Attempt::Failed;
    }
    lastLease = std::move(r.body);
    observe(record);
    set_error("");
    return Attempt::Acquired;
  }

  Attempt try_acquire_or_renew() {
    const auto now = Clock::now();
    const std::string stamp = micro_time(std::chrono::system_clock::now());
    LeaseRecord mine{options.identity, whole_seconds(options.leaseDuration), stamp, stamp, 0};
    // The holder renews from the Lease it last wrote, without a GET; a 409 falls back to reading.
    if (observed.holder == options.identity && observed_valid(now) && !lastLease.empty()) {
      mine.acquireTime = observed.acquireTime;
      mine.transitions = observed.transitions;
      if (write(mine, false, false) == Attempt::Acquired) return Attempt::Acquired;
    }
    Response got = client.get(kResource, path);
    if (got.status == 404) return write(mine, true);
    rapidjson::Document doc;
    LeaseRecord current;
    if (!got.ok() || !parse_lease(got.body, doc, current)) {
      set_error("get " + path + ": " + (got.ok() ? std::string("the answer is not a Lease") : got.describe()));
      return Attempt::Failed;
    }
    lastLease = std::move(got.body);
    if (!(current == observed)) observe(current);
    const bool ours = current.holder == options.identity;
    if (!current.holder.empty() && !ours && observed_valid(now)) {
      set_error("");
      return Attempt::Held;
    }
    if (ours) mine.acquireTime = current.acquireTime;
    mine.transitions = ours ? current.transitions : current.transitions + 1;
    return write(mine, false);
  }

  // client-go's release: holder "" and a 1 s duration, so the others need not wait for expiry.
  void release() {
    if (observed.holder != options.identity || lastLease.empty()) return;
    const std::string stamp = micro_time(std::chrono::system_clock::now());
    const LeaseRecord record{"", 1, stamp, stamp, observed.transitions};
    if (write(record, false, false) != Attempt::Acquired && logger)
      logger->line(log::Level::Warn, "lease release failed; the others wait for it to expire")
          .str("lease", options.namespace_ + "/" + options.name)
          .str("identity", options.identity);
  }

  // ---- the run loop ----------------------------------------------------------------------------

  // Sleeps until `until` unless stop() comes first; false when stopping.
  bool sleep_until(Clock::time_point until) {
    std::unique_lock<std::mutex> lock(mutex);
    changed.wait_until(lock, until, [this] { return stopping; });
    return !stopping;
  }

  // client-go's wait.Jitter with factor 1.2: retryPeriod plus up to 1.2 times it, so candidates
  // that started together do not keep asking together.
  Clock::duration jittered(std::chrono::milliseconds period) {
    std::uniform_real_distribution<double> extra(0, 1.2);
    return std::chrono::duration_cast<Clock::duration>(period * (1 + extra(random)));
  }

  enum class Wait { Done, Deadline, Stopping };

  // Starts one attempt on its own thread and waits for it, for stop(), or for `deadline` (none:
  // nullopt). On Deadline or Stopping the attempt goes on; finish_attempt() waits for it.
  Wait run_attempt(std::optional<Clock::time_point> deadline, Attempt& result) {
    finish_attempt();
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (stopping) return Wait::Stopping;
      attemptDone = false;
    }
    attemptStart = Clock::now();
    attempt = std::thread([this] {
      const Attempt r = try_acquire_or_renew();
      std::lock_guard<std::mutex> lock(mutex);
      attemptResult = r;
      attemptDone = true;
      changed.notify_all();
    });
    std::unique_lock<std::mutex> lock(mutex);
    const auto ended = [this] { return attemptDone || stopping; };
    if (deadline) changed.wait_until(lock, *deadline, ended);
    else changed.wait(lock, ended);
    if (!attemptDone) return stopping ? Wait::Stopping : Wait::Deadline;
    result = attemptResult;
    return Wait::Done;
  }

  // Waits for the attempt in flight, if any (bounded by the client's timeout).
  void finish_attempt() {
    if (attempt.joinable()) attempt.join();
  }

  bool is_stopping() {
    std::lock_guard<std::mutex> lock(mutex);
    return stopping;
  }

  void set_leading(bool on, const char* reason) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      leading = on;
      // From the winning attempt's start, not its end: the others' clocks started no earlier.
      if (on) renewedAt = attemptStart;
    }
    if (metrics) metrics->set_audit_leader(on);
    if (logger) {
      auto line = logger->line(on ? log::Level::Info : log::Level::Warn, on ? "became leader" : "lost leadership");
      line.str("lease", options.namespace_ + "/" + options.name).str("identity", options.identity);
      if (!on) line.str("reason", reason);
    }
    const auto& callback = on ? callbacks.on_started : callbacks.on_stopped;
    if (callback) callback();
  }

  // Tries every retryPeriod (jittered) until the Lease is ours; false when stopping.
  bool acquire() {
    for (;;) {
      Attempt result = Attempt::Failed;
      if (run_attempt(std::nullopt, result) != Wait::Done) return false;
      if (result == Attempt::Acquired) return true;
      if (!sleep_until(Clock::now() + jittered(options.retryPeriod))) return false;
    }
  }

  // Renews every retryPeriod until a renewal has not succeeded for renewDeadline, the Lease shows
  // another holder, or stop(). Returns with leading still set only when stopping.
  void renew() {
    Clock::time_point renewed;
    {
      std::lock_guard<std::mutex> lock(mutex);
      renewed = renewedAt;
    }
    for (;;) {
      const auto deadline = renewed + options.renewDeadline;
      if (!sleep_until(std::min(Clock::now() + options.retryPeriod, deadline))) return;
      Attempt result = Attempt::Failed;
      const Wait wait = Clock::now() >= deadline ? Wait::Deadline : run_attempt(deadline, result);
      if (wait == Wait::Stopping) return;
      // A success that came back after the deadline counts as a failure (client-go's renew gives
      // up at the deadline too): the others may already have seen the Lease expire.
      if (wait == Wait::Done && result == Attempt::Acquired && Clock::now() < deadline) {
        renewed = attemptStart;
        std::lock_guard<std::mutex> lock(mutex);
        renewedAt = attemptStart;
        continue;
      }
      // Another holder took the Lease (it saw ours expire, or wrote over it): it is not ours now,
      // whatever the deadline says.
      const char* lost = nullptr;
      if (wait == Wait::Done && result == Attempt::Held) lost = "another candidate holds the lease";
      else if (wait == Wait::Deadline || Clock::now() >= deadline) lost = "no renewal within renewDeadline";
      if (lost) {
        set_leading(false, lost);
        return;
      }
    }
  }

  void run() {
    while (acquire()) {
      set_leading(true, "");
      renew();
      if (is_stopping()) break;
    }
    finish_attempt();  // release() and observed state need the attempt's result
    bool wasLeading;
    {
      std::lock_guard<std::mutex> lock(mutex);
      wasLeading = leading;
    }
    if (!wasLeading) return;
    if (options.releaseOnStop) release();
    set_leading(false, "stopped");
  }
};

LeaseOptions lease_options(std::string namespace_, std::string name, std::string identity,
                           std::chrono::milliseconds duration) {
  LeaseOptions o;
  o.namespace_ = std::move(namespace_);
  o.name = std::move(name);
  o.identity = std::move(identity);
  o.leaseDuration = duration;
  o.renewDeadline = duration * 2 / 3;
  o.retryPeriod = duration * 2 / 15;
  return o;
}

std::string lease_identity() {
  std::string base;
  if (const char* pod = std::getenv("POD_NAME"); pod && *pod) base = pod;
  if (base.empty()) {
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) == 0) base = host;
  }
  if (base.empty()) base = "podgate";
  // Events' reportingInstance takes at most 128 characters: the base, "-" and 8 digits fit.
  if (base.size() > 119) base.resize(119);
  std::random_device device;
  char suffix[16];
  std::snprintf(suffix, sizeof suffix, "-%08x", static_cast<unsigned>(device()));
  return base + suffix;
}

std::string own_namespace() {
  if (const char* ns = std::getenv("POD_NAMESPACE"); ns && dns1123_label(trim(ns))) return trim(ns);
  std::ifstream file("/var/run/secrets/kubernetes.io/serviceaccount/namespace");
  std::string line;
  if (file && std::getline(file, line) && dns1123_label(trim(line))) return trim(line);
  return "default";
}

LeaderElector::LeaderElector(Client& client, LeaseOptions options, Callbacks callbacks, metrics::Metrics* metrics,
                             log::Logger* logger)
    : impl_(std::make_unique<Impl>(client, std::move(options), std::move(callbacks), metrics, logger)) {}

LeaderElector::~LeaderElector() { stop(); }

void LeaderElector::start() {
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    if (impl_->started || impl_->stopping) return;
    impl_->started = true;
  }
  impl_->thread = std::thread([impl = impl_.get()] { impl->run(); });
}

void LeaderElector::stop() {
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->changed.notify_all();
  // From a callback (the run loop's own thread) stop() can only ask: the loop ends after it.
  if (impl_->thread.get_id() == std::this_thread::get_id()) return;
  if (impl_->thread.joinable()) impl_->thread.join();
  impl_->finish_attempt();
}

bool LeaderElector::is_leader() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  // Also false past the deadline while the run loop still waits for a hung request.
  return impl_->leading && Clock::now() < impl_->renewedAt + impl_->options.renewDeadline;
}

std::string LeaderElector::holder() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->observed.holder;
}

}  // namespace podgate::kube
