#include "scan/present.h"

#include "util/json.h"
#include "util/time.h"

namespace podgate::scan {

namespace {

using util::JsonWriter;
using util::rfc3339;

void write_findings(JsonWriter& w, const std::vector<Finding>& findings, std::size_t maxFindings) {
  w.StartArray();
  for (std::size_t i = 0; i < findings.size() && i < maxFindings; ++i) {
    const auto& f = findings[i];
    w.StartObject();
    util::write_members(w, {{"kind", f.kind}, {"id", f.id}, {"package", f.package},
                            {"installedVersion", f.installedVersion}, {"fixedVersion", f.fixedVersion},
                            {"severity", to_string(f.severity)}});
    w.EndObject();
  }
  w.EndArray();
}

void write_record(JsonWriter& w, const ScanRecord& r, std::size_t maxFindings) {
  w.StartObject();
  util::write_members(w, {{"scanner", r.scanner}, {"scannerVersion", r.scannerVersion},
                          {"databaseVersion", r.databaseVersion}, {"scannedAt", rfc3339(r.scannedAt)},
                          {"artifact", r.artifact}, {"malware", to_string(r.malware)}});
  w.Key("counts");
  w.StartObject();
  for (std::size_t i = 0; i < kSeverityCount; ++i) {
    w.Key(to_string(static_cast<Severity>(i)));
    w.Int(r.counts[i]);
  }
  w.EndObject();
  w.Key("findings");
  write_findings(w, r.findings, maxFindings);
  if (r.findings.size() > maxFindings) {
    w.Key("findingsOmitted");
    w.Uint64(r.findings.size() - maxFindings);
  }
  w.EndObject();
}

}  // namespace

std::string records_json(std::string_view digest, const std::vector<ScanRecord>& records, std::size_t maxFindings) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  util::write_members(w, {{"digest", digest}});
  w.Key("scans");
  w.StartArray();
  for (const auto& r : records) write_record(w, r, maxFindings);
  w.EndArray();
  w.EndObject();
  return util::to_string(buffer);
}

std::string import_json(std::string_view format, std::string_view source, const std::vector<ScanRecord>& records,
                        const std::vector<PutOutcome>& outcomes) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  util::write_members(w, {{"format", format}, {"source", source}});
  w.Key("records");
  w.StartArray();
  for (std::size_t i = 0; i < records.size(); ++i) {
    w.StartObject();
    util::write_members(w, {{"digest", records[i].digest}, {"scanner", records[i].scanner},
                            {"scannedAt", rfc3339(records[i].scannedAt)}});
    w.Key("findings");
    w.Uint64(records[i].findings.size());
    w.Key("stored");
    w.Bool(i < outcomes.size() && outcomes[i].stored);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return util::to_string(buffer);
}

}  // namespace podgate::scan
