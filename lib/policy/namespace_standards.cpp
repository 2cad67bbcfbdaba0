// NamespaceStandardsCache: each namespace's pod-security.kubernetes.io labels, parsed as PSA parses
// them, kept from a reflector's list and watch, bounded in bytes.

#include "policy/namespace_standards.h"

#include <rapidjson/document.h>

#include <mutex>

#include "util/json_depth.h"

namespace podgate::policy {

namespace {

using config::PodSecurityLevel;
using config::PodSecurityVersion;

constexpr std::string_view kResource = "namespaces";
constexpr std::size_t kMaxLogged = 64;  // namespaces whose invalid labels are logged by name at once
constexpr unsigned kMaxDepth = 32;      // a Namespace is a few levels deep

// PSA's api.ParseLevel: a valid level, or Restricted and an error.
bool parse_level(std::string_view value, PodSecurityLevel& level) {
  if (value == "privileged") level = PodSecurityLevel::Privileged;
  else if (value == "baseline") level = PodSecurityLevel::Baseline;
  else if (value == "restricted") level = PodSecurityLevel::Restricted;
  else {
    level = PodSecurityLevel::Restricted;
    return false;
  }
  return true;
}

// PSA's api.ParseVersion: "latest", or ^v1\.([0-9]|[1-9][0-9]*)$ (Atoi must fit an int); else
// latest and an error.
bool parse_version(std::string_view value, PodSecurityVersion& version) {
  version = PodSecurityVersion{};
  if (value == "latest") return true;
  if (value.size() < 4 || value.substr(0, 3) != "v1.") return false;
  const std::string_view digits = value.substr(3);
  if (digits.size() > 1 && digits[0] == '0') return false;
  // Go's Atoi takes a 64-bit int: past that it fails (latest and an error); a minor past an int is
  // a version far newer than any, which PSA judges as its newest, as podgate judges INT_MAX.
  unsigned long long minor = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
    const unsigned digit = static_cast<unsigned>(c - '0');
    if (minor > (9223372036854775807ULL - digit) / 10) return false;
    minor = minor * 10 + digit;
  }
  version.minor = minor > 2147483647ULL ? 2147483647 : static_cast<int>(minor);
  return true;
}

int strictness(PodSecurityLevel level) { return static_cast<int>(level); }  // Privileged < Baseline < Restricted

constexpr const char* kLevelMessage = "must be one of privileged, baseline, restricted";
constexpr const char* kVersionMessage = "must be \"latest\" or \"v1.x\"";

// The label's mode name for the metric: the label name without PSA's prefix.
std::string_view label_suffix(std::string_view label) { return label.substr(label.find('/') + 1); }

}  // namespace

ParsedNamespaceLabels parse_namespace_labels(const std::vector<std::pair<std::string_view, std::string_view>>& labels) {
  ParsedNamespaceLabels out;
  const std::string_view* values[6] = {};  // enforce, enforce-version, audit, audit-version, warn, warn-version
  constexpr std::string_view names[6] = {kEnforceLevelLabel, kEnforceVersionLabel, kAuditLevelLabel,
                                         kAuditVersionLabel, kWarnLevelLabel, kWarnVersionLabel};
  for (const auto& [key, value] : labels)
    for (int i = 0; i < 6; ++i)
      if (key == names[i]) values[i] = &value;  // a JSON object with a duplicate key: the last wins, as Go's decoder
  const auto error = [&](int i, const char* message) {
    out.errors.push_back({std::string(names[i]), std::string(*values[i]), message});
  };
  NamespaceStandards& s = out.standards;
  bool enforceValid = false;
  if (values[0]) {
    s.enforce.set = true;
    enforceValid = parse_level(*values[0], s.enforce.level);  // invalid: Restricted (fail closed)
    if (!enforceValid) error(0, kLevelMessage);
  }
  if (values[1] && !parse_version(*values[1], s.enforce.version)) error(1, kVersionMessage);
  if (values[2]) {
    s.audit.set = true;
    if (!parse_level(*values[2], s.audit.level)) {
      s.audit.level = PodSecurityLevel::Privileged;  // PSA: fail open for audit
      error(2, kLevelMessage);
    }
  }
  if (values[3] && !parse_version(*values[3], s.audit.version)) error(3, kVersionMessage);
  if (values[4]) {
    s.warn.set = true;
    if (!parse_level(*values[4], s.warn.level)) {
      s.warn.level = PodSecurityLevel::Privileged;  // PSA: fail open for warn
      error(4, kLevelMessage);
    }
  }
  if (values[5] && !parse_version(*values[5], s.warn.version)) error(5, kVersionMessage);
  // PSA: warn defaults to the enforce level when that is explicitly set (and valid) and stricter
  // than the default warn level (privileged here).
  if (!values[4] && enforceValid && strictness(s.enforce.level) > strictness(s.warn.level)) {
    s.warn.set = true;
    s.warn.level = s.enforce.level;
    if (!values[5]) s.warn.version = s.enforce.version;
  }
  for (const auto* v : values) out.labelled = out.labelled || v != nullptr;
  return out;
}

const char* to_string(NamespaceLookupResult result) {
  switch (result) {
    case NamespaceLookupResult::Hit: return "hit";
    case NamespaceLookupResult::Miss: return "miss";
    case NamespaceLookupResult::Unsynced: return "unsynced";
  }
  return "unsynced";
}

// ---- NamespaceStandardsCache ------------------------------------------------------------------

NamespaceStandardsCache::NamespaceStandardsCache(NamespaceStandardsOptions options, metrics::Metrics* metrics,
                                                 log::Logger* logger)
    : options_(options), metrics_(metrics), logger_(logger) {}

std::size_t NamespaceStandardsCache::entry_bytes(std::string_view name, bool labelled) {
  // An unordered_map node (next pointer, the key string, the Entry, the cached hash) with malloc's
  // header, a bucket pointer, the name's heap buffer past the small-string capacity (15), and for a
  // labelled namespace the make_shared block of the standards (control block and 36 bytes).
  constexpr std::size_t kNode = 96, kBucket = 8, kStandards = 64;
  const std::size_t heapName = name.size() > 15 ? ((name.size() + 1 + 15) / 16) * 16 + 16 : 0;
  return kNode + kBucket + heapName + (labelled ? kStandards : 0);
}

NamespaceLookup NamespaceStandardsCache::lookup(std::string_view ns, bool count) const {
  NamespaceLookup out;
  if (!synced()) {
    out.result = NamespaceLookupResult::Unsynced;
  } else if (ns.empty()) {
    out.result = NamespaceLookupResult::Hit;
  } else {
    std::shared_lock lock(mutex_);
    auto it = namespaces_.find(ns);
    if (it == namespaces_.end()) {
      out.result = NamespaceLookupResult::Miss;
    } else {
      out.result = NamespaceLookupResult::Hit;
      out.standards = it->second.standards;
    }
  }
  if (metrics_ && count) metrics_->count_pod_security_namespace_lookup(to_string(out.result));
  return out;
}

std::size_t NamespaceStandardsCache::size() const {
  std::shared_lock lock(mutex_);
  return namespaces_.size();
}

std::size_t NamespaceStandardsCache::bytes() const {
  std::shared_lock lock(mutex_);
  return bytes_;
}

void NamespaceStandardsCache::publish() const {
  if (!metrics_) return;
  std::size_t count, held;
  {
    std::shared_lock lock(mutex_);
    count = namespaces_.size();
    held = bytes_;
  }
  metrics_->set_kube_cache(kResource, static_cast<double>(count), static_cast<double>(held));
}

void NamespaceStandardsCache::list_begin() {
  std::unique_lock lock(mutex_);
  listing_ = true;
  seen_.clear();
}

void NamespaceStandardsCache::list_end() {
  {
    std::unique_lock lock(mutex_);
    if (!listing_) return;
    for (auto it = namespaces_.begin(); it != namespaces_.end();) {
      if (seen_.count(it->first)) {
        ++it;
        continue;
      }
      bytes_ -= it->second.bytes;
      logged_.erase(it->first);
      it = namespaces_.erase(it);
    }
    listing_ = false;
    seen_ = {};
    if (warnedFull_ && bytes_ <= options_.maxBytes / 10 * 9) warnedFull_ = false;
  }
  // Lookups answer from the cache only once a whole list is in: before that a namespace not yet
  // listed would look like one that does not exist.
  synced_.store(true, std::memory_order_release);
  publish();
}

void NamespaceStandardsCache::upsert(std::string_view key, std::string_view objectJson) {
  {
    std::unique_lock lock(mutex_);
    if (listing_) seen_.emplace(key);
  }
  rapidjson::Document doc;
  std::string why;
  const rapidjson::Value* labels = nullptr;
  if (util::parse_depth_limited(objectJson, doc, kMaxDepth, &why) && doc.IsObject()) {
    auto metadata = doc.FindMember("metadata");
    if (metadata != doc.MemberEnd() && metadata->value.IsObject()) {
      auto l = metadata->value.FindMember("labels");
      if (l != metadata->value.MemberEnd() && l->value.IsObject()) labels = &l->value;
    }
  } else if (logger_) {
    // Not expected from the apiserver; the namespace is kept without labels (the configured level).
    logger_->line(log::Level::Warn, "pod security: unreadable Namespace; its labels are not applied")
        .str("namespace", key, 256)
        .str("error", why.empty() ? std::string("not a JSON object") : why, 256);
  }
  std::vector<std::pair<std::string_view, std::string_view>> pairs;
  if (labels) {
    for (const auto& m : labels->GetObject())
      if (m.name.IsString() && m.value.IsString())
        pairs.emplace_back(std::string_view(m.name.GetString(), m.name.GetStringLength()),
                           std::string_view(m.value.GetString(), m.value.GetStringLength()));
  }
  ParsedNamespaceLabels parsed = parse_namespace_labels(pairs);
  report_invalid(key, parsed.errors);
  store(key, std::move(parsed));
}

void NamespaceStandardsCache::store(std::string_view name, ParsedNamespaceLabels parsed) {
  std::shared_ptr<const NamespaceStandards> standards;
  if (parsed.labelled) standards = std::make_shared<const NamespaceStandards>(parsed.standards);
  const std::size_t cost = entry_bytes(name, parsed.labelled);
  bool kept = false, warn = false;
  std::size_t held = 0;
  {
    std::unique_lock lock(mutex_);
    auto it = namespaces_.find(name);
    if (it != namespaces_.end()) {
      const auto& old = it->second.standards;
      if ((!old && !standards) || (old && standards && *old == *standards)) return;  // a change PSA does not read
    }
    const std::size_t old = it != namespaces_.end() ? it->second.bytes : 0;
    if (bytes_ - old + cost <= options_.maxBytes) {
      bytes_ = bytes_ - old + cost;
      if (it != namespaces_.end()) it->second = Entry{std::move(standards), cost};
      else namespaces_.emplace(std::string(name), Entry{std::move(standards), cost});
      kept = true;
      if (warnedFull_ && bytes_ <= options_.maxBytes / 10 * 9) warnedFull_ = false;
    } else {
      // Past the bound: not kept, and an older entry goes too rather than stay stale (its reviews
      // are then misses, counted, at the configured level).
      if (it != namespaces_.end()) {
        bytes_ -= old;
        namespaces_.erase(it);
      }
      warn = !std::exchange(warnedFull_, true);
      held = bytes_;
    }
  }
  if (!kept && warn && logger_)
    logger_->line(log::Level::Warn,
                  "pod security: the namespace label cache is full; namespaces past it are judged at the configured level")
        .str("namespace", name, 256)
        .integer("bytes", static_cast<long long>(held))
        .integer("maxBytes", static_cast<long long>(options_.maxBytes));
  publish();
}

void NamespaceStandardsCache::remove(std::string_view key) { erase(key); }

void NamespaceStandardsCache::erase(std::string_view name) {
  {
    std::unique_lock lock(mutex_);
    if (auto l = logged_.find(std::string(name)); l != logged_.end()) logged_.erase(l);
    auto it = namespaces_.find(name);
    if (it == namespaces_.end()) return;
    bytes_ -= it->second.bytes;
    namespaces_.erase(it);
    if (warnedFull_ && bytes_ <= options_.maxBytes / 10 * 9) warnedFull_ = false;
  }
  publish();
}

// PSA reports invalid labels at each evaluation (an "error" audit annotation, its error metric);
// here each bad value is counted when it is read, and each namespace logged once while it stays
// invalid, so a flood of bad namespaces cannot flood the log.
void NamespaceStandardsCache::report_invalid(std::string_view name, const std::vector<NamespaceLabelError>& errors) {
  bool log = false;
  {
    std::unique_lock lock(mutex_);
    if (errors.empty()) {
      if (!logged_.empty()) logged_.erase(std::string(name));
      return;
    }
    log = logged_.size() < kMaxLogged && logged_.emplace(name).second;
  }
  if (metrics_)
    for (const auto& e : errors) metrics_->count_pod_security_label_error(label_suffix(e.label));
  if (!log || !logger_) return;
  std::string what;
  for (const auto& e : errors) {
    if (!what.empty()) what += "; ";
    what += e.label + "=\"" + e.value.substr(0, 64) + "\": " + e.message;
  }
  logger_->line(log::Level::Warn,
                "pod security: invalid pod-security.kubernetes.io label; as PSA, an invalid enforce level is "
                "restricted, an invalid warn or audit level privileged, an invalid version latest")
      .str("namespace", name, 256)
      .str("error", what, 1024);
}

}  // namespace podgate::policy
