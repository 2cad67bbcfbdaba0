// PolicyReports (wgpolicyk8s.io/v1alpha2) and OpenReports Reports (openreports.io/v1alpha1): the
// object podgate applies for a workload, and the writer that applies, deletes and collects them.
// The schemas are the CRDs in tests/e2e/fixtures/ (Kyverno's copies); see reports.h.

#include "audit/reports.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <array>
#include <functional>
#include <optional>

#include "util/json.h"
#include "util/json_depth.h"
#include "util/text.h"

namespace podgate::audit {
namespace {

constexpr std::string_view kManagedByKey = "app.kubernetes.io/managed-by";
constexpr std::string_view kManagedBy = "podgate";
constexpr std::string_view kSource = "podgate";
constexpr std::string_view kNamePrefix = "podgate-";
constexpr std::size_t kMaxMessageBytes = 1024;
// A list page's reports nest about 8 deep, managedFields' fieldsV1 a few more.
constexpr unsigned kMaxDepth = 64;
// Reports can be large (500 results): 50 a page keeps one answer well inside the client's bound.
constexpr int kListPageSize = 50;
constexpr std::array<std::string_view, 5> kResults = {"pass", "fail", "warn", "error", "skip"};
constexpr std::array<std::string_view, 5> kSeverities = {"critical", "high", "medium", "low", "info"};

struct Group {
  std::string_view group, version, kind, plural;
};

Group group_of(config::AuditReports g) {
  if (g == config::AuditReports::OpenReports) return {"openreports.io", "v1alpha1", "Report", "reports"};
  return {"wgpolicyk8s.io", "v1alpha2", "PolicyReport", "policyreports"};
}


// Every string goes through here: RapidJSON's Writer escapes but does not validate, and text from
// images, scanners or annotations may hold any bytes.
void put(util::JsonWriter& w, std::string_view s) {
  bool valid = true;
  for (std::size_t i = 0; i < s.size() && valid;) {
    const std::size_t n = util::utf8_sequence_length(s, i);
    valid = n != 0;
    i += n;
  }
  if (valid) return util::write_string(w, s);
  util::write_string(w, bounded_text(s, std::string_view::npos));
}

void put(util::JsonWriter& w, std::string_view key, std::string_view value) {
  util::write_key(w, key);
  put(w, value);
}

bool one_of(std::string_view value, const std::array<std::string_view, 5>& allowed) {
  return std::find(allowed.begin(), allowed.end(), value) != allowed.end();
}

// The enum value written: a result the schema does not know is an error of podgate's own making.
std::string_view result_value(const ReportResult& r) {
  return one_of(r.result, kResults) ? std::string_view(r.result) : std::string_view("error");
}

void write_metadata(util::JsonWriter& w, const WorkloadRef& workload) {
  util::write_key(w, "metadata");
  w.StartObject();
  put(w, "name", report_name(workload));
  put(w, "namespace", workload.namespace_);
  util::write_key(w, "labels");
  w.StartObject();
  put(w, kManagedByKey, kManagedBy);
  w.EndObject();
  // The workload owns its report, so the garbage collector removes it with the workload. Not a
  // controller reference: the workload's controller is someone else. No uid, no reference (the
  // apiserver refuses an empty one).
  if (!workload.uid.empty()) {
    util::write_key(w, "ownerReferences");
    w.StartArray();
    w.StartObject();
    put(w, "apiVersion", workload.apiVersion);
    put(w, "kind", workload.kind);
    put(w, "name", workload.name);
    put(w, "uid", workload.uid);
    util::write_key(w, "controller");
    w.Bool(false);
    util::write_key(w, "blockOwnerDeletion");
    w.Bool(false);
    w.EndObject();
    w.EndArray();
  }
  w.EndObject();
}

void write_scope(util::JsonWriter& w, const WorkloadRef& workload) {
  util::write_key(w, "scope");
  w.StartObject();
  put(w, "apiVersion", workload.apiVersion);
  put(w, "kind", workload.kind);
  put(w, "name", workload.name);
  put(w, "namespace", workload.namespace_);
  put(w, "uid", workload.uid);
  w.EndObject();
}

void write_summary(util::JsonWriter& w, const std::vector<ReportResult>& results) {
  std::array<std::int64_t, kResults.size()> counts{};
  for (const auto& r : results) {
    const auto v = result_value(r);
    counts[static_cast<std::size_t>(std::find(kResults.begin(), kResults.end(), v) - kResults.begin())]++;
  }
  util::write_key(w, "summary");
  w.StartObject();
  for (std::size_t i = 0; i < kResults.size(); ++i) {
    util::write_key(w, kResults[i]);
    w.Int64(counts[i]);
  }
  w.EndObject();
}

// properties: a map of strings; "container" first, then the result's own, a repeated key kept once
// (a JSON object with a key twice is refused by strict readers).
void write_properties(util::JsonWriter& w, const ReportResult& r) {
  if (r.container.empty() && r.properties.empty()) return;
  util::write_key(w, "properties");
  w.StartObject();
  std::vector<std::string_view> seen;
  if (!r.container.empty()) {
    put(w, "container", r.container);
    seen.push_back("container");
  }
  for (const auto& [key, value] : r.properties) {
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) continue;
    seen.push_back(key);
    put(w, key, value);
  }
  w.EndObject();
}

void write_result(util::JsonWriter& w, const ReportResult& r) {
  w.StartObject();
  put(w, "source", kSource);
  put(w, "policy", "podgate");
  put(w, "rule", r.rule);
  if (!r.category.empty()) put(w, "category", r.category);
  if (one_of(r.severity, kSeverities)) put(w, "severity", r.severity);
  put(w, "result", result_value(r));
  util::write_key(w, "scored");
  w.Bool(true);
  // A protobuf Timestamp, as the CRD declares it (an RFC 3339 string is refused).
  util::write_key(w, "timestamp");
  w.StartObject();
  util::write_key(w, "seconds");
  w.Int64(std::max<std::int64_t>(r.timestamp, 0));
  util::write_key(w, "nanos");
  w.Int(0);
  w.EndObject();
  if (!r.message.empty()) put(w, "message", bounded_text(r.message, kMaxMessageBytes));
  write_properties(w, r);
  w.EndObject();
}

// The results written: all of them, or the first kMaxReportResults - 1 and a note of how many more.
void write_results(util::JsonWriter& w, const std::vector<ReportResult>& results) {
  util::write_key(w, "results");
  w.StartArray();
  const bool cut = results.size() > kMaxReportResults;
  const std::size_t shown = cut ? kMaxReportResults - 1 : results.size();
  for (std::size_t i = 0; i < shown; ++i) write_result(w, results[i]);
  if (cut) {
    ReportResult note;
    note.rule = "truncated";
    note.result = "warn";
    note.message = std::to_string(results.size() - shown) + " more results not shown";
    // The newest of the results' times, so an unchanged report stays byte for byte the same.
    for (const auto& r : results) note.timestamp = std::max(note.timestamp, r.timestamp);
    write_result(w, note);
  }
  w.EndArray();
}

std::string member_string(const rapidjson::Value& object, const char* key) {
  if (!object.IsObject()) return {};
  const auto it = object.FindMember(key);
  return it != object.MemberEnd() && it->value.IsString()
             ? std::string(it->value.GetString(), it->value.GetStringLength())
             : std::string();
}

// Whether GET /apis lists `group` with `version`; nullopt when the answer is not the APIGroupList.
std::optional<bool> group_served(const std::string& body, std::string_view group, std::string_view version) {
  rapidjson::Document doc;
  if (!util::parse_depth_limited(body, doc, kMaxDepth) || !doc.IsObject()) return std::nullopt;
  const auto groups = doc.FindMember("groups");
  if (groups == doc.MemberEnd() || !groups->value.IsArray()) return std::nullopt;
  for (const auto& g : groups->value.GetArray()) {
    if (member_string(g, "name") != group) continue;
    const auto versions = g.FindMember("versions");
    if (versions == g.MemberEnd() || !versions->value.IsArray()) return false;
    for (const auto& v : versions->value.GetArray())
      if (member_string(v, "version") == version) return true;
    return false;
  }
  return false;
}

// What decides whether a report must be written again: the object without the results' times (a
// pass that finds the same again only moves them).
std::size_t results_hash(config::AuditReports group, const WorkloadRef& workload, std::vector<ReportResult> results) {
  for (auto& r : results) r.timestamp = 0;
  return std::hash<std::string>{}(report_json(group, workload, results));
}

// One list page: each report's namespace, name and workload uid (scope.uid, else the name's
// suffix), and the continue token ("" on the last page).
template <typename Listed>
bool parse_list_page(const std::string& body, std::vector<Listed>& out, std::string& continueToken, std::string& why) {
  rapidjson::Document doc;
  if (!util::parse_depth_limited(body, doc, kMaxDepth, &why) || !doc.IsObject()) {
    if (why.empty()) why = "the list is not an object";
    return false;
  }
  const auto items = doc.FindMember("items");
  if (items == doc.MemberEnd() || !(items->value.IsArray() || items->value.IsNull())) {
    why = "the list has no items";
    return false;
  }
  const auto meta = doc.FindMember("metadata");
  continueToken = meta != doc.MemberEnd() ? member_string(meta->value, "continue") : std::string();
  if (items->value.IsNull()) return true;
  for (const auto& item : items->value.GetArray()) {
    if (!item.IsObject()) continue;
    const auto m = item.FindMember("metadata");
    const auto scope = item.FindMember("scope");
    if (m == item.MemberEnd()) continue;
    Listed listed{member_string(m->value, "namespace"), member_string(m->value, "name"),
                  scope != item.MemberEnd() ? member_string(scope->value, "uid") : std::string()};
    if (listed.uid.empty() && listed.name.rfind(kNamePrefix, 0) == 0)
      listed.uid = listed.name.substr(kNamePrefix.size());
    if (!listed.name.empty() && !listed.namespace_.empty()) out.push_back(std::move(listed));
  }
  return true;
}

}  // namespace

std::string bounded_text(std::string_view text, std::size_t maxBytes) {
  constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  constexpr std::string_view kEllipsis = "...";
  std::string out;
  out.reserve(std::min(text.size(), maxBytes) + kReplacement.size());
  // Valid UTF-8 first; stop as soon as it is known to be too long.
  for (std::size_t i = 0; i < text.size() && out.size() <= maxBytes;) {
    const std::size_t n = util::utf8_sequence_length(text, i);
    out += n == 0 ? kReplacement : text.substr(i, n);
    i += n == 0 ? 1 : n;
  }
  if (out.size() <= maxBytes) return out;
  // Cut on a character boundary (a byte that is no continuation byte) that leaves room for "...".
  std::size_t keep = maxBytes >= kEllipsis.size() ? maxBytes - kEllipsis.size() : 0;
  while (keep > 0 && (static_cast<unsigned char>(out[keep]) & 0xC0) == 0x80) --keep;
  out.resize(keep);
  out += kEllipsis.substr(0, std::min(kEllipsis.size(), maxBytes));
  return out;
}

std::string report_name(const WorkloadRef& workload) { return std::string(kNamePrefix) + workload.uid; }

std::string report_json(config::AuditReports group, const WorkloadRef& workload,
                        const std::vector<ReportResult>& results) {
  const Group g = group_of(group);
  rapidjson::StringBuffer buffer;
  util::JsonWriter w(buffer);
  w.StartObject();
  put(w, "apiVersion", std::string(g.group) + "/" + std::string(g.version));
  put(w, "kind", g.kind);
  write_metadata(w, workload);
  if (group == config::AuditReports::OpenReports) put(w, "source", kSource);
  write_scope(w, workload);
  write_summary(w, results);
  write_results(w, results);
  w.EndObject();
  return util::to_string(buffer);
}

ReportWriter::ReportWriter(kube::Client& client, config::AuditReports group, metrics::Metrics* metrics,
                           log::Logger* logger, std::string fieldManager)
    : client_(client), group_(group), metrics_(metrics), logger_(logger), fieldManager_(std::move(fieldManager)) {}

std::string ReportWriter::collection_path(std::string_view namespace_) const {
  const Group g = group_of(group_);
  std::string path = "/apis/";
  path.append(g.group).append("/").append(g.version).append("/namespaces/").append(namespace_);
  path.append("/").append(g.plural);
  return path;
}

std::string ReportWriter::object_path(std::string_view namespace_, std::string_view name) const {
  return collection_path(namespace_) + "/" + std::string(name);
}

void ReportWriter::count(std::string_view operation, bool ok) {
  if (metrics_) metrics_->count_audit_report(operation, ok ? "ok" : "error");
}

bool ReportWriter::available(std::chrono::seconds recheck) {
  if (group_ == config::AuditReports::None) return false;
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mutex_);
    if (checked_ && now - checkedAt_ < recheck) return served_;
  }
  // Asked without the lock: a slow apiserver must not hold up writes of other threads.
  const Group g = group_of(group_);
  const kube::Response r = client_.get("apis", "/apis");
  std::optional<bool> served;
  if (r.ok()) served = group_served(r.body, g.group, g.version);
  std::lock_guard lock(mutex_);
  checkedAt_ = now;
  checked_ = true;
  if (!served) {
    // Unknown: keep the last answer, and say why (the next call after `recheck` asks again).
    if (logger_)
      logger_->line(log::Level::Warn, "audit reports: cannot tell whether the reports API is served")
          .str("group", config::to_string(group_))
          .str("error", r.ok() ? "unreadable /apis answer" : r.describe());
    return served_;
  }
  note_served(*served);
  return served_;
}

// Logs the changes only: missing once (with the CRD to install) until it appears, then once more.
void ReportWriter::note_served(bool served) {
  const Group g = group_of(group_);
  if (!served && !warnedMissing_) {
    warnedMissing_ = true;
    if (logger_)
      logger_->line(log::Level::Warn, "audit reports: the API is not served; reports are not written")
          .str("group", config::to_string(group_))
          .str("install", std::string(g.plural) + "." + std::string(g.group) +
                              " (the CRD from Kyverno's or Policy Reporter's chart)");
  } else if (served && warnedMissing_) {
    warnedMissing_ = false;
    if (logger_)
      logger_->line(log::Level::Info, "audit reports: the API is served now; writing reports")
          .str("group", config::to_string(group_));
  }
  served_ = served;
}

bool ReportWriter::write(const WorkloadRef& workload, const std::vector<ReportResult>& results) {
  if (group_ == config::AuditReports::None) return true;  // reports are off: nothing to do
  if (workload.namespace_.empty() || workload.uid.empty() || workload.name.empty()) {
    if (logger_)
      logger_->line(log::Level::Warn, "audit reports: a workload without namespace, name or uid; no report")
          .str("kind", workload.kind)
          .str("name", workload.name, 256);
    count("apply", false);
    return false;
  }
  const std::size_t hash = results_hash(group_, workload, results);
  {
    std::lock_guard lock(mutex_);
    const auto it = written_.find(workload.uid);
    if (it != written_.end() && it->second == hash) return true;
  }
  const Group g = group_of(group_);
  const kube::Response r = client_.apply(g.plural, object_path(workload.namespace_, report_name(workload)),
                                         report_json(group_, workload, results), fieldManager_, true);
  count("apply", r.ok());
  if (!r.ok()) {
    if (logger_)
      logger_->line(log::Level::Warn, "audit reports: cannot write a report")
          .str("namespace", workload.namespace_)
          .str("name", report_name(workload))
          .str("error", r.describe(), 1024);
    return false;
  }
  std::lock_guard lock(mutex_);
  written_[workload.uid] = hash;
  return true;
}

bool ReportWriter::remove(const WorkloadRef& workload) {
  if (group_ == config::AuditReports::None) return true;
  const bool ok = delete_report(workload.namespace_, report_name(workload));
  if (ok) {
    std::lock_guard lock(mutex_);
    written_.erase(workload.uid);
  }
  return ok;
}

bool ReportWriter::delete_report(const std::string& namespace_, const std::string& name) {
  const kube::Response r = client_.remove(group_of(group_).plural, object_path(namespace_, name));
  const bool ok = r.ok() || r.status == 404;  // gone already is done
  count("delete", ok);
  if (!ok && logger_)
    logger_->line(log::Level::Warn, "audit reports: cannot delete a report")
        .str("namespace", namespace_)
        .str("name", name)
        .str("error", r.describe(), 1024);
  return ok;
}

std::size_t ReportWriter::collect_garbage(const std::unordered_set<std::string>& liveWorkloadUids) {
  if (group_ == config::AuditReports::None) return 0;
  std::vector<ListedReport> listed;
  if (!list_reports(listed)) return 0;
  std::size_t deleted = 0;
  for (const auto& report : listed) {
    if (report.uid.empty() || liveWorkloadUids.count(report.uid)) continue;
    if (!delete_report(report.namespace_, report.name)) continue;
    ++deleted;
    std::lock_guard lock(mutex_);
    written_.erase(report.uid);
  }
  if (deleted > 0 && logger_)
    logger_->line(log::Level::Info, "audit reports: deleted the reports of workloads that are gone")
        .integer("deleted", static_cast<long long>(deleted));
  return deleted;
}

void ReportWriter::forget() {
  std::lock_guard lock(mutex_);
  written_.clear();
}

// Every report labelled as podgate's, in every namespace, page by page (the same snapshot: the
// deletions wait until the list is complete).
bool ReportWriter::list_reports(std::vector<ListedReport>& out) {
  const Group g = group_of(group_);
  const std::string base = "/apis/" + std::string(g.group) + "/" + std::string(g.version) + "/" +
                           std::string(g.plural) + "?labelSelector=" +
                           kube::query_escape(std::string(kManagedByKey) + "=" + std::string(kManagedBy)) +
                           "&limit=" + std::to_string(kListPageSize);
  std::string continueToken;
  do {
    const kube::Response r =
        client_.get(g.plural, continueToken.empty() ? base : base + "&continue=" + kube::query_escape(continueToken));
    std::string why;
    if (r.ok() && parse_list_page(r.body, out, continueToken, why)) continue;
    if (logger_)
      logger_->line(log::Level::Warn, "audit reports: cannot list podgate's reports; no garbage collected")
          .str("group", config::to_string(group_))
          .str("error", r.ok() ? why : r.describe(), 1024);
    return false;
  } while (!continueToken.empty());
  return true;
}

}  // namespace podgate::audit
