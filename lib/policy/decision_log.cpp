// The metrics and the decision log line of each judged request. The line's lists (violations,
// exemptions, images, groups) are written with RapidJSON's Writer, violations by the same writer
// as the audit annotation (verdict_json.h), every string bounded as the logger bounds them.

#include "policy/decision_log.h"

#include <array>
#include <string>

#include "policy/review.h"
#include "policy/verdict_json.h"

namespace podgate::policy {

std::string_view kind_label(std::string_view kind) {
  static constexpr std::array<std::string_view, 11> known = {
      "Pod",        "EphemeralContainers", "Deployment", "ReplicaSet",           "StatefulSet",
      "DaemonSet",  "Job",                 "CronJob",    "ReplicationController", "PodTemplate",
      "PersistentVolume"};
  for (auto k : known)
    if (k == kind) return k;
  return "other";  // bounded label values: a client cannot mint new series
}

}  // namespace podgate::policy

namespace podgate::policy::detail {

namespace {

// Bounds for one decision log line: a 2.9 MB dry-run object once produced an 11 MB line. Each
// list logs at most kMaxLoggedEntries entries and stops early past kMaxLoggedListBytes (the rest
// are counted in "<list>Omitted"), and every string from the request is cut at kMaxLoggedString
// bytes, so a line stays under kMaxDecisionLineBytes whatever the request holds (3 lists of at
// most 12 KiB plus one entry each, 12 top-level fields and 16 groups of at most 256 bytes each).
constexpr std::size_t kMaxLoggedEntries = 20;  // as the audit annotations (verdict.cpp)
constexpr std::size_t kMaxLoggedString = 256;
constexpr std::size_t kMaxLoggedListBytes = 12 * 1024;
constexpr std::size_t kMaxLoggedGroups = 16;
// An entry holds at most 5 strings of kMaxLoggedString and their keys: under 8 x kMaxLoggedString.
static_assert(3 * (kMaxLoggedListBytes + 8 * kMaxLoggedString) + (12 + kMaxLoggedGroups) * kMaxLoggedString <
              kMaxDecisionLineBytes);

constexpr ArrayBounds kListBounds{kMaxLoggedEntries, kMaxLoggedListBytes};

// `text` as the other fields of the line write it: log::append_json_string's escapes, cut at
// kMaxLoggedString bytes of escaped text on a UTF-8 boundary and ended with "…". Written through
// RawValue, so the lists keep the logger's escaping and bound byte for byte (RapidJSON's own
// escapes are shorter for some control characters, which would change how many entries fit).
void write_bounded(JsonWriter& w, std::string_view text) {
  std::string json;
  log::append_json_string(json, text, kMaxLoggedString);
  w.RawValue(json.data(), json.size(), rapidjson::kStringType);
}

void write_exemption(JsonWriter& w, const Exemption& e) {
  w.StartObject();
  w.Key("kind");
  write_bounded(w, e.kind);
  w.Key("value");
  write_bounded(w, e.value);
  w.EndObject();
}

void write_image(JsonWriter& w, const JudgedImage& j) { write_judged_image(w, j, {write_bounded, write_bounded}); }

// Adds the array `write(w, buffer)` writes under `key`, and "<key>Omitted" (the count `write`
// returns) when some entries were left out.
template <typename Write>
void add_list(log::Line& line, const char* key, Write write) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  const std::size_t omitted = write(w, buffer);
  line.raw_json(key, std::string_view(buffer.GetString(), buffer.GetSize()));
  if (omitted) line.integer(std::string(key) + "Omitted", static_cast<long long>(omitted));
}

}  // namespace

const char* route_label(Route route) {
  switch (route) {
    case Route::Audit: return "audit";
    case Route::Mutate: return "mutate";
    case Route::Validate: break;
  }
  return "validate";
}

void count_decision(metrics::Metrics& metrics, const admission::Request& request, const Verdict& verdict, Route route,
                    double seconds) {
  // A workloads.custom kind is its own label: the config bounds them (at most 64).
  const std::string_view kind = request.customWorkload ? request.kind.kind : kind_label(request.kind.kind);
  metrics.count_request(to_string(verdict.decision), config::to_string(verdict.mode), kind,
                        admission::to_string(request.operation));
  if (verdict.decision != Decision::Allowed)
    metrics.count_denial_by_namespace(metrics.namespace_label(request.namespace_), to_string(verdict.decision));
  metrics.observe_review_duration(route_label(route), seconds);
  for (const auto& v : verdict.violations) {
    metrics.count_violation(v.rule, config::to_string(v.action));
    if (!v.control.empty()) metrics.count_pod_security_violation(v.control, v.level, config::to_string(v.action));
  }
  for (const auto& e : verdict.exemptions) metrics.count_exemption(e.kind);
  for (const auto& j : verdict.images) {
    if (!j.scan.empty()) metrics.count_scan_verdict(j.scan);
    if (!j.signature.empty()) metrics.count_signature_check(j.signature == "error" ? "error_denied" : j.signature);
  }
  for (int i = 0; i < verdict.resolveFailuresDenied; ++i) metrics.count_resolve_failure("denied");
  for (int i = 0; i < verdict.resolveFailuresAllowed; ++i) metrics.count_resolve_failure("allowed");
  // Requests allowed without a pod spec to judge are fail-open paths: count each one.
  if (request.target == admission::Target::None) metrics.count_skipped("unknown_kind");
  else if (request.target == admission::Target::PodSpec && !request.object.podSpec) metrics.count_skipped("no_pod_spec");
}

void log_decision(log::Logger& logger, const admission::Request& request, const Verdict& verdict, Route route,
                  double seconds, bool logAllowed) {
  const bool noteworthy = verdict.decision != Decision::Allowed || !verdict.violations.empty() ||
                          !verdict.exemptions.empty();
  if (!noteworthy && !logAllowed) return;
  const char* msg = verdict.decision == Decision::Denied      ? "admission denied"
                    : verdict.decision == Decision::WouldDeny ? "admission would deny (audit)"
                    : !verdict.exemptions.empty()             ? "admission exempted"
                                                              : "admission allowed";
  auto line = logger.line(verdict.decision == Decision::Allowed ? log::Level::Info : log::Level::Warn, msg);
  const std::size_t n = kMaxLoggedString;
  line.str("uid", request.uid, n)
      .str("decision", to_string(verdict.decision))
      .str("mode", config::to_string(verdict.mode))
      .str("route", route_label(route))
      .str("kind", request.kind.kind, n)
      .str("namespace", request.namespace_, n)
      .str("name", request.name.empty() ? request.object.name : request.name, n)
      .str("operation", request.operationText, n)
      .str("subResource", request.subResource, n)
      .boolean("dryRun", request.dryRun)
      .str("user", request.userInfo.username, n);
  add_list(line, "groups", [&](JsonWriter& w, const rapidjson::StringBuffer& out) {
    return write_bounded_array(w, out, request.userInfo.groups, {kMaxLoggedGroups, kMaxLoggedListBytes},
                               write_bounded);
  });
  add_list(line, "violations", [&](JsonWriter& w, const rapidjson::StringBuffer& out) {
    return write_violations(w, out, verdict.violations, kListBounds, {write_bounded, write_bounded});
  });
  if (!verdict.exemptions.empty())
    add_list(line, "exemptions", [&](JsonWriter& w, const rapidjson::StringBuffer& out) {
      return write_bounded_array(w, out, verdict.exemptions, kListBounds, write_exemption);
    });
  if (!verdict.images.empty())
    add_list(line, "images", [&](JsonWriter& w, const rapidjson::StringBuffer& out) {
      return write_bounded_array(w, out, verdict.images, kListBounds, write_image);
    });
  line.num("latencyMs", seconds * 1000.0);
}

void count_mutation(metrics::Metrics& metrics, const PinPlan& pins, double seconds) {
  metrics.observe_review_duration(route_label(Route::Mutate), seconds);
  metrics.count_mutation(!pins.pins.empty());
  if (!pins.pins.empty()) metrics.count_digest_pins("pinned", static_cast<double>(pins.pins.size()));
  if (!pins.unresolved.empty()) metrics.count_digest_pins("unresolved", static_cast<double>(pins.unresolved.size()));
}

void log_mutation(log::Logger& logger, const admission::Request& request, const PinPlan& pins, double seconds,
                  bool logAllowed) {
  if (pins.pins.empty() && pins.unresolved.empty() && !logAllowed) return;
  auto line = logger.line(log::Level::Info, pins.pins.empty() ? "admission not mutated" : "admission mutated");
  const std::size_t n = kMaxLoggedString;
  line.str("uid", request.uid, n)
      .str("route", route_label(Route::Mutate))
      .str("kind", request.kind.kind, n)
      .str("namespace", request.namespace_, n)
      .str("name", request.name.empty() ? request.object.name : request.name, n)
      .str("operation", request.operationText, n)
      .str("subResource", request.subResource, n)
      .boolean("dryRun", request.dryRun)
      .str("user", request.userInfo.username, n);
  add_list(line, "pins", [&](JsonWriter& w, const rapidjson::StringBuffer& out) {
    return write_bounded_array(w, out, pins.pins, kListBounds, [](JsonWriter& jw, const DigestPin& pin) {
      jw.StartObject();
      jw.Key("subject");
      write_bounded(jw, pin.subject);
      jw.Key("field");
      write_bounded(jw, pin.field);
      jw.Key("image");
      write_bounded(jw, pin.image);
      jw.Key("pinned");
      write_bounded(jw, pin.pinned);
      jw.EndObject();
    });
  });
  if (!pins.unresolved.empty())
    add_list(line, "unresolved", [&](JsonWriter& w, const rapidjson::StringBuffer& out) {
      return write_bounded_array(w, out, pins.unresolved, kListBounds, [](JsonWriter& jw, const UnresolvedImage& u) {
        jw.StartObject();
        jw.Key("field");
        write_bounded(jw, u.field);
        jw.Key("image");
        write_bounded(jw, u.image);
        jw.Key("error");
        write_bounded(jw, u.why);
        jw.EndObject();
      });
    });
  line.num("latencyMs", seconds * 1000.0);
}

}  // namespace podgate::policy::detail
