// KubeStore: ImageScans (and optionally Trivy Operator reports) list-watched into memory.
//
// Memory holds two things. The index: one small entry per ImageScan (name, resourceVersion, newest
// scan, JSON size, per-scanner summaries), always complete once synced, so "never scanned" is
// answered without a request. The cache: the digests' full records (findings), an LRU bounded by
// estimated bytes like CachedStore; a digest evicted from it is read back with a GET, off the
// admission path (Store::lookup on the Reviewer's scan-read thread).

#include "scan/kube_store.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <condition_variable>
#include <future>
#include <list>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>

#include "kube/reflector.h"
#include "log/log.h"
#include "metrics/metrics.h"
#include "scan/trivy_operator.h"

namespace podgate::scan {

namespace {

using Records = std::shared_ptr<const std::vector<ScanRecord>>;
constexpr std::string_view kImageScansPath = "/apis/podgate.io/v1alpha1/imagescans";
constexpr std::string_view kResource = "imagescans";

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

Summary summary_of(const ScanRecord& r) {
  Summary s;
  s.digest = r.digest;
  s.scanner = r.scanner;
  s.scannerVersion = r.scannerVersion;
  s.scannedAt = r.scannedAt;
  for (std::size_t i = 0; i < kSeverityCount; ++i) s.counts[i] = r.counts[i];
  s.malware = r.malware;
  s.artifact = r.artifact;
  return s;
}

// A metric label from a skip reason ("no digest" -> "no_digest").
std::string label_of(std::string_view reason) {
  std::string out(reason);
  std::replace(out.begin(), out.end(), ' ', '_');
  return out;
}

}  // namespace

struct KubeStore::Impl : std::enable_shared_from_this<KubeStore::Impl> {
  kube::Client& client;
  KubeStoreOptions options;
  metrics::Metrics* metrics;
  log::Logger* logger;

  mutable std::mutex mutex;
  mutable std::condition_variable wake;
  bool stopping = false;
  bool publishNow = false;  // a list just ended: the gauges should say so now, not in 15 s

  struct IndexEntry {
    std::string name, resourceVersion;
    std::int64_t newestScan = 0;
    std::size_t jsonBytes = 0;
    std::vector<Summary> summaries;
    std::uint64_t listGeneration = 0;
  };
  std::unordered_map<std::string, IndexEntry> index;  // by digest
  std::unordered_map<std::string, std::string> digestByName;
  std::size_t jsonBytes = 0;
  std::uint64_t listGeneration = 0;  // of the ImageScan lists (each report collection has its own)

  struct CacheNode {
    std::string digest;
    Records imageScans;  // the ImageScan's records
    Records merged;      // with the operator's records, what lookups return
    std::size_t bytes = 0;
  };
  std::list<CacheNode> lru;  // front: most recently used
  std::unordered_map<std::string_view, std::list<CacheNode>::iterator> cache;
  std::size_t cacheBytes = 0;

  // Trivy Operator reports, by "<collection>:<key>"; a deleted one stays until its grace ends.
  struct OperatorReport {
    std::string digest;
    ScanRecord record;
    std::int64_t deletedAt = 0;
    std::uint64_t listGeneration = 0;
    std::size_t bytes = 0;  // estimated_bytes of the record, and the key
  };
  std::unordered_map<std::string, OperatorReport> reports;
  std::size_t reportBytes = 0;
  bool overBoundLogged = false;
  std::unordered_map<std::string, std::vector<std::string>> reportsByDigest;

  std::vector<std::unique_ptr<kube::ReflectorSink>> sinks;
  std::vector<std::unique_ptr<kube::Reflector>> reflectors;
  kube::Reflector* imageScanReflector = nullptr;  // null with a primary store
  Store::ChangeListener listener;  // set before start()
  std::vector<std::string> changed;  // digests changed under the lock, told to the listener after it (mutex)

  // Tells the listener what changed; called by the sinks after they released the lock.
  void notify_changed() {
    std::vector<std::string> digests;
    {
      std::lock_guard<std::mutex> lock(mutex);
      digests.swap(changed);
    }
    if (!listener) return;
    for (const std::string& digest : digests) listener(digest);
  }
  std::thread housekeeping;

  Impl(kube::Client& c, KubeStoreOptions o)
      : client(c), options(std::move(o)), metrics(c.metrics()), logger(c.logger()) {}

  // ---- the cache (mutex held) ----------------------------------------------------------------

  void cache_erase(const std::string& digest) {
    auto it = cache.find(digest);
    if (it == cache.end()) return;
    cacheBytes -= it->second->bytes;
    lru.erase(it->second);
    cache.erase(it);
  }

  // The operator's newest record per scanner for a digest (deleted ones within their grace).
  std::vector<ScanRecord> operator_records(const std::string& digest) const {
    std::vector<ScanRecord> out;
    auto keys = reportsByDigest.find(digest);
    if (keys == reportsByDigest.end()) return out;
    for (const std::string& key : keys->second) {
      auto r = reports.find(key);
      if (r == reports.end()) continue;
      auto same = std::find_if(out.begin(), out.end(), [&](const ScanRecord& x) { return x.scanner == r->second.record.scanner; });
      if (same == out.end()) out.push_back(r->second.record);
      else if (same->scannedAt < r->second.record.scannedAt) *same = r->second.record;
    }
    for (ScanRecord& r : out) r.scanner = "trivy-operator";  // apart from an imported "trivy" scan
    return out;
  }

  Records merge(const std::string& digest, const Records& imageScans) const {
    std::vector<ScanRecord> fromOperator = operator_records(digest);
    if (fromOperator.empty()) return imageScans;
    auto merged = std::make_shared<std::vector<ScanRecord>>(*imageScans);
    for (ScanRecord& r : fromOperator) merged->push_back(std::move(r));
    return merged;
  }

  Records cache_insert(const std::string& digest, Records imageScans) {
    cache_erase(digest);
    CacheNode node;
    node.digest = digest;
    node.merged = merge(digest, imageScans);
    node.bytes = estimated_bytes(digest, *imageScans) + (node.merged != imageScans ? estimated_bytes(digest, *node.merged) : 0);
    node.imageScans = std::move(imageScans);
    Records result = node.merged;
    lru.push_front(std::move(node));
    cache.emplace(lru.front().digest, lru.begin());
    cacheBytes += lru.front().bytes;
    while (cacheBytes > options.cacheBytes && lru.size() > 1) cache_erase(lru.back().digest);
    return result;
  }

  // ---- ImageScans ----------------------------------------------------------------------------

  void index_remove(const std::string& digest, bool tell = true) {
    auto it = index.find(digest);
    if (it == index.end()) return;
    if (tell) changed.push_back(digest);
    jsonBytes -= it->second.jsonBytes;
    digestByName.erase(it->second.name);
    index.erase(it);
    cache_erase(digest);
  }

  // The resourceVersion held for a digest ("" when none).
  std::string held_version(const std::string& digest) const {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = index.find(digest);
    return it == index.end() ? std::string() : it->second.resourceVersion;
  }

  // An object read from a list, a watch or an apply's answer. `onlyIfHeld`: an apply's answer is
  // taken only while the version held is still the one seen before the apply; when an event came
  // in between it may be newer than the answer (resourceVersions cannot be ordered), and the
  // apply's own event follows anyway.
  void upsert_imagescan(std::string_view json, const std::string* onlyIfHeld = nullptr) {
    std::string why;
    auto object = parse_imagescan(json, &why);
    if (!object) {
      if (logger) logger->line(log::Level::Warn, "ImageScan ignored: malformed").str("error", why, 512);
      return;
    }
    std::lock_guard<std::mutex> lock(mutex);
    if (onlyIfHeld) {
      auto it = index.find(object->digest);
      if ((it == index.end() ? std::string() : it->second.resourceVersion) != *onlyIfHeld) return;
    }
    {
      // A relist hands back every object: only a new resourceVersion is a change worth telling.
      auto held = index.find(object->digest);
      if (held == index.end() || held->second.resourceVersion != object->resourceVersion) changed.push_back(object->digest);
    }
    index_remove(object->digest, false);
    IndexEntry& e = index[object->digest];
    e.name = object->name;
    e.resourceVersion = object->resourceVersion;
    e.newestScan = object->newestScan;
    e.jsonBytes = object->bytes;
    e.listGeneration = listGeneration;
    for (const ScanRecord& r : object->records) e.summaries.push_back(summary_of(r));
    jsonBytes += e.jsonBytes;
    digestByName[object->name] = object->digest;
    cache_insert(object->digest, std::make_shared<const std::vector<ScanRecord>>(std::move(object->records)));
  }

  void remove_imagescan(std::string_view name) {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = digestByName.find(std::string(name));
    if (it != digestByName.end()) index_remove(std::string(it->second));
  }

  // ---- Trivy Operator reports ----------------------------------------------------------------

  void refresh_merged(const std::string& digest) {  // mutex held: an operator change for a cached digest
    changed.push_back(digest);
    auto it = cache.find(digest);
    if (it != cache.end()) cache_insert(digest, it->second->imageScans);
  }

  void forget_report(const std::string& key) {  // mutex held
    auto r = reports.find(key);
    if (r == reports.end()) return;
    const std::string digest = r->second.digest;
    reportBytes -= r->second.bytes;
    reports.erase(r);
    auto& keys = reportsByDigest[digest];
    keys.erase(std::remove(keys.begin(), keys.end(), key), keys.end());
    if (keys.empty()) reportsByDigest.erase(digest);
    refresh_merged(digest);
  }

  void upsert_report(const std::string& key, std::string_view json, std::uint64_t generation) {
    TrivyOperatorScan scan = parse_vulnerability_report(json);
    if (scan.record) {
      // As an ImageScan: the findings at or above the floor, counts for the rest (the judge
      // counts what is counted but not listed as bad).
      auto& findings = scan.record->findings;
      findings.erase(std::remove_if(findings.begin(), findings.end(),
                                    [&](const Finding& f) { return f.severity < options.limits.findingsFloor; }),
                     findings.end());
      findings.shrink_to_fit();
    }
    const std::size_t bytes = scan.record ? estimated_bytes(key, {*scan.record}) : 0;
    std::lock_guard<std::mutex> lock(mutex);
    forget_report(key);
    if (!scan.record) {  // counted, never guessed
      if (metrics) metrics->count_trivy_operator_report(label_of(scan.skipReason));
      return;
    }
    if (reports.size() >= options.trivyOperatorMaxReports || reportBytes + bytes > options.trivyOperatorMaxBytes) {
      if (metrics) metrics->count_trivy_operator_report("over_bound");
      if (logger && !std::exchange(overBoundLogged, true))
        logger->line(log::Level::Warn, "Trivy Operator reports past the memory bound are not held; their images count as unscanned")
            .integer("reports", static_cast<long long>(reports.size()))
            .integer("bytes", static_cast<long long>(reportBytes))
            .integer("maxBytes", static_cast<long long>(options.trivyOperatorMaxBytes));
      return;
    }
    if (metrics) metrics->count_trivy_operator_report("used");
    OperatorReport& r = reports[key];
    r.digest = scan.record->digest;
    r.record = std::move(*scan.record);
    r.listGeneration = generation;
    r.bytes = bytes;
    reportBytes += bytes;
    reportsByDigest[r.digest].push_back(key);
    refresh_merged(r.digest);
  }

  void delete_report(const std::string& key) {
    std::lock_guard<std::mutex> lock(mutex);
    auto r = reports.find(key);
    if (r != reports.end() && r->second.deletedAt == 0) r->second.deletedAt = unix_now();
  }

  void expire_reports() {
    std::lock_guard<std::mutex> lock(mutex);
    const std::int64_t cutoff = unix_now() - options.trivyOperatorGrace.count();
    std::vector<std::string> gone;
    for (const auto& [key, r] : reports)
      if (r.deletedAt != 0 && r.deletedAt < cutoff) gone.push_back(key);
    for (const std::string& key : gone) forget_report(key);
  }

  // ---- sinks ---------------------------------------------------------------------------------

  struct ImageScanSink final : kube::ReflectorSink {
    Impl& store;
    explicit ImageScanSink(Impl& s) : store(s) {}
    void list_begin() override {
      std::lock_guard<std::mutex> lock(store.mutex);
      ++store.listGeneration;
    }
    void list_end() override {  // what the list did not name is gone
      {
        std::lock_guard<std::mutex> lock(store.mutex);
        std::vector<std::string> gone;
        for (const auto& [digest, e] : store.index)
          if (e.listGeneration != store.listGeneration) gone.push_back(digest);
        for (const std::string& digest : gone) store.index_remove(digest);
        store.publishNow = true;
        store.wake.notify_all();
      }
      store.notify_changed();
    }
    void upsert(std::string_view, std::string_view json) override {
      store.upsert_imagescan(json);
      store.notify_changed();
    }
    void remove(std::string_view key) override {
      store.remove_imagescan(key);
      store.notify_changed();
    }
  };

  struct ReportSink final : kube::ReflectorSink {
    Impl& store;
    std::string prefix;
    std::uint64_t generation = 0;
    ReportSink(Impl& s, std::string p) : store(s), prefix(std::move(p)) {}
    void list_begin() override { ++generation; }  // called by this sink's reflector only
    void list_end() override {  // a report the list did not name was deleted: its grace starts now
      std::lock_guard<std::mutex> lock(store.mutex);
      const std::int64_t now = unix_now();
      for (auto& [key, r] : store.reports)
        if (key.starts_with(prefix) && r.listGeneration < generation && r.deletedAt == 0) r.deletedAt = now;
    }
    void upsert(std::string_view key, std::string_view json) override {
      store.upsert_report(prefix + std::string(key), json, generation);
      store.notify_changed();
    }
    void remove(std::string_view key) override { store.delete_report(prefix + std::string(key)); }
  };

  void add_reflector(std::string resource, std::string path, std::unique_ptr<kube::ReflectorSink> sink) {
    kube::ReflectorOptions o;
    o.resource = std::move(resource);
    o.path = std::move(path);
    reflectors.push_back(std::make_unique<kube::Reflector>(client, std::move(o), *sink));
    sinks.push_back(std::move(sink));
  }

  // ---- housekeeping: metrics every 15 s, retention and the operator's grace on their interval ----

  void publish_metrics() {
    if (!metrics) return;
    std::size_t records = 0, objects = 0, bytes = 0, cached = 0, cachedEntries = 0, heldReports = 0, heldBytes = 0;
    std::int64_t oldest = 0, newest = 0;
    {
      std::lock_guard<std::mutex> lock(mutex);
      heldReports = reports.size();
      heldBytes = reportBytes;
      objects = index.size();
      bytes = jsonBytes;
      cached = cacheBytes;
      cachedEntries = cache.size();
      for (const auto& [digest, e] : index) {
        records += e.summaries.size();
        for (const Summary& s : e.summaries) {
          if (oldest == 0 || s.scannedAt < oldest) oldest = s.scannedAt;
          newest = std::max(newest, s.scannedAt);
        }
      }
    }
    if (options.trivyOperator)
      metrics->set_kube_cache("vulnerabilityreports", static_cast<double>(heldReports), static_cast<double>(heldBytes));
    if (options.primary) return;  // the primary store's gauges are its own
    metrics->set_scan_store(static_cast<double>(records), static_cast<double>(oldest), static_cast<double>(newest));
    metrics->set_imagescans(static_cast<double>(objects), static_cast<double>(bytes));
    metrics->set_kube_cache(kResource, static_cast<double>(cachedEntries), static_cast<double>(cached));
  }

  void run_housekeeping(KubeStore& owner) {
    auto lastRetention = std::chrono::steady_clock::now() - options.retentionInterval;
    std::unique_lock<std::mutex> lock(mutex);
    while (!stopping) {
      lock.unlock();
      publish_metrics();
      const bool synced = std::all_of(reflectors.begin(), reflectors.end(), [](const auto& r) { return r->synced(); });
      if (synced && std::chrono::steady_clock::now() - lastRetention >= options.retentionInterval) {
        lastRetention = std::chrono::steady_clock::now();
        try {
          owner.delete_expired();
        } catch (const std::exception& e) {
          if (logger) logger->line(log::Level::Warn, "ImageScan retention failed").str("error", e.what());
        }
        expire_reports();
        notify_changed();
      }
      lock.lock();
      wake.wait_for(lock, std::chrono::seconds(15), [this] { return stopping || publishNow; });
      publishNow = false;
    }
  }
};

KubeStore::KubeStore(kube::Client& client, KubeStoreOptions options)
    : impl_(std::make_shared<Impl>(client, std::move(options))) {
  if (!impl_->options.primary) {
    impl_->add_reflector(std::string(kResource), std::string(kImageScansPath), std::make_unique<Impl::ImageScanSink>(*impl_));
    impl_->imageScanReflector = impl_->reflectors.back().get();
  }
  if (impl_->options.trivyOperator) {
    impl_->add_reflector("vulnerabilityreports", "/apis/aquasecurity.github.io/v1alpha1/vulnerabilityreports",
                         std::make_unique<Impl::ReportSink>(*impl_, "vr:"));
    impl_->add_reflector("clustervulnerabilityreports",
                         "/apis/aquasecurity.github.io/v1alpha1/clustervulnerabilityreports",
                         std::make_unique<Impl::ReportSink>(*impl_, "cvr:"));
  }
}

KubeStore::~KubeStore() { stop(); }

void KubeStore::set_change_listener(ChangeListener listener) {
  if (impl_->options.primary) impl_->options.primary->set_change_listener(listener);
  impl_->listener = std::move(listener);
}

void KubeStore::start() {
  for (auto& r : impl_->reflectors) r->start();
  if (!impl_->housekeeping.joinable()) impl_->housekeeping = std::thread([this] { impl_->run_housekeeping(*this); });
}

void KubeStore::stop() {
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  if (impl_->housekeeping.joinable()) impl_->housekeeping.join();
  for (auto& r : impl_->reflectors) r->stop();
}

bool KubeStore::synced() const {
  return std::all_of(impl_->reflectors.begin(), impl_->reflectors.end(), [](const auto& r) { return r->synced(); });
}

bool KubeStore::wait_synced(std::chrono::milliseconds timeout) const {
  const auto until = std::chrono::steady_clock::now() + timeout;
  for (const auto& r : impl_->reflectors) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    if (!r->wait_synced(std::max(left, std::chrono::milliseconds(0)))) return false;
  }
  return true;
}

std::string KubeStore::sync_error() const {
  for (const auto& r : impl_->reflectors) {
    std::string e = r->last_error();
    if (!e.empty()) return e;
    if (!r->synced()) return "not listed yet";
  }
  return {};
}

std::vector<PutOutcome> KubeStore::put(const std::vector<ScanRecord>& records) {
  Impl& d = *impl_;
  if (d.options.primary) return d.options.primary->put(records);
  // Every body first: a record the format refuses stops the report before anything is written.
  std::vector<PutOutcome> outcomes;
  std::vector<std::pair<std::size_t, std::string>> writes;  // (record, body) of the records to apply
  for (std::size_t i = 0; i < records.size(); ++i) {
    const ScanRecord& record = records[i];
    outcomes.push_back(PutOutcome{record.digest, record.scanner, false});
    {
      std::lock_guard<std::mutex> lock(d.mutex);
      auto it = d.index.find(record.digest);
      const bool newer_held = it != d.index.end() &&
                              std::any_of(it->second.summaries.begin(), it->second.summaries.end(), [&](const Summary& s) {
                                return s.scanner == record.scanner && s.scannedAt >= record.scannedAt;
                              });
      if (newer_held) continue;
    }
    try {
      writes.emplace_back(i, imagescan_apply_body(record, d.options.limits));
    } catch (const std::invalid_argument& e) {
      throw RecordRefused(e.what());
    }
  }
  // Up to kParallelApplies at a time: one apply is a round trip the apiserver spends milliseconds
  // on, and a report with many images (or a bulk import) should not pay them one after another.
  constexpr std::size_t kParallelApplies = 8;
  std::vector<std::string> failures(writes.size());
  for (std::size_t start = 0; start < writes.size(); start += kParallelApplies) {
    std::vector<std::future<void>> inflight;
    for (std::size_t w = start; w < std::min(writes.size(), start + kParallelApplies); ++w) {
      inflight.push_back(std::async(std::launch::async, [&d, &records, &writes, &failures, &outcomes, w] {
        const ScanRecord& record = records[writes[w].first];
        const std::string name = imagescan_name(record.digest);
        const std::string before = d.held_version(record.digest);
        const kube::Response r = d.client.apply(kResource, std::string(kImageScansPath) + "/" + name,
                                                writes[w].second, imagescan_field_manager(record.scanner), true);
        if (!r.ok()) {
          failures[w] = "cannot write ImageScan " + name + ": " + r.describe();
          return;
        }
        d.upsert_imagescan(r.body, &before);  // seen here at once; other replicas see it through their watch
        outcomes[writes[w].first].stored = true;
      }));
    }
    for (auto& f : inflight) f.get();
    for (const std::string& failure : failures)
      if (!failure.empty()) throw StoreError(failure);
  }
  return outcomes;
}

std::shared_ptr<const std::vector<ScanRecord>> KubeStore::lookup_cached(std::string_view digest) {
  Impl& d = *impl_;
  static const Records kNone = std::make_shared<const std::vector<ScanRecord>>();
  const std::string key(digest);
  if (d.options.primary) {
    Records held = d.options.primary->lookup_cached(digest);
    if (!held) return nullptr;
    std::lock_guard<std::mutex> lock(d.mutex);
    return d.merge(key, held);
  }
  std::lock_guard<std::mutex> lock(d.mutex);
  if (auto it = d.cache.find(key); it != d.cache.end()) {
    d.lru.splice(d.lru.begin(), d.lru, it->second);
    return it->second->merged;
  }
  if (!d.imageScanReflector->synced() || d.index.count(key)) return nullptr;  // must be read
  if (d.reportsByDigest.count(key)) return d.cache_insert(key, kNone);
  return kNone;
}

std::shared_ptr<const std::vector<ScanRecord>> KubeStore::lookup(std::string_view digest) {
  if (auto records = lookup_cached(digest)) return records;
  Impl& d = *impl_;
  if (d.options.primary) {
    Records held = d.options.primary->lookup(digest);
    std::lock_guard<std::mutex> lock(d.mutex);
    return d.merge(std::string(digest), held);
  }
  const std::string name = imagescan_name(digest);
  if (name.empty()) return std::make_shared<const std::vector<ScanRecord>>();
  const kube::Response r = d.client.get(kResource, std::string(kImageScansPath) + "/" + name);
  std::lock_guard<std::mutex> lock(d.mutex);
  if (r.status == 404) return d.cache_insert(std::string(digest), std::make_shared<const std::vector<ScanRecord>>());
  if (!r.ok()) throw StoreError("cannot read ImageScan " + name + ": " + r.describe());
  std::string why;
  auto object = parse_imagescan(r.body, &why);
  if (!object) throw StoreError("ImageScan " + name + " is malformed: " + why);
  return d.cache_insert(object->digest, std::make_shared<const std::vector<ScanRecord>>(std::move(object->records)));
}

std::vector<ScanRecord> KubeStore::get(std::string_view digest) { return *lookup(digest); }

std::vector<Summary> KubeStore::list(std::size_t limit, std::size_t offset) {
  if (impl_->options.primary) return impl_->options.primary->list(limit, offset);
  std::vector<Summary> all;
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    for (const auto& [digest, e] : impl_->index) all.insert(all.end(), e.summaries.begin(), e.summaries.end());
  }
  std::sort(all.begin(), all.end(), [](const Summary& a, const Summary& b) {
    return a.scannedAt != b.scannedAt ? a.scannedAt > b.scannedAt : a.digest < b.digest;
  });
  if (offset >= all.size()) return {};
  all.erase(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(offset));
  if (all.size() > limit) all.resize(limit);
  return all;
}

StoreStats KubeStore::stats() {
  if (impl_->options.primary) return impl_->options.primary->stats();
  StoreStats s;
  std::lock_guard<std::mutex> lock(impl_->mutex);
  s.digests = static_cast<std::int64_t>(impl_->index.size());
  for (const auto& [digest, e] : impl_->index)
    for (const Summary& x : e.summaries) {
      ++s.records;
      if (s.oldestScan == 0 || x.scannedAt < s.oldestScan) s.oldestScan = x.scannedAt;
      s.newestScan = std::max(s.newestScan, x.scannedAt);
    }
  return s;
}

std::size_t KubeStore::delete_expired() {
  Impl& d = *impl_;
  if (d.options.primary) return 0;  // the primary store keeps its own
  struct Victim {
    std::string name, resourceVersion;
  };
  std::vector<Victim> victims;
  {
    std::lock_guard<std::mutex> lock(d.mutex);
    const std::int64_t cutoff = unix_now() - d.options.retention.count();
    for (const auto& [digest, e] : d.index)
      if (e.newestScan > 0 && e.newestScan < cutoff) victims.push_back({e.name, e.resourceVersion});
  }
  std::size_t deleted = 0;
  for (const Victim& v : victims) {
    // The precondition keeps an ImageScan another replica just refreshed.
    const std::string options = R"({"kind":"DeleteOptions","apiVersion":"v1","preconditions":{"resourceVersion":")" +
                                v.resourceVersion + "\"}}";
    const kube::Response r = d.client.request({"delete", kResource}, "DELETE",
                                              std::string(kImageScansPath) + "/" + v.name, options);
    if (r.ok() || r.status == 404) {
      ++deleted;
      std::lock_guard<std::mutex> lock(d.mutex);
      auto it = d.digestByName.find(v.name);
      if (it != d.digestByName.end()) d.index_remove(std::string(it->second));
    } else if (r.status != 409 && d.logger) {
      d.logger->line(log::Level::Warn, "ImageScan retention: delete failed").str("name", v.name).str("error", r.describe());
    }
  }
  if (deleted > 0 && d.logger)
    d.logger->line(log::Level::Info, "ImageScan retention: deleted expired scans")
        .integer("deleted", static_cast<long long>(deleted))
        .integer("retentionSeconds", d.options.retention.count());
  return deleted;
}

std::size_t KubeStore::cached_bytes() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->cacheBytes;
}

std::size_t KubeStore::imagescan_bytes() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->jsonBytes;
}

}  // namespace podgate::scan
