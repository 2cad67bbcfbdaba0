#include "scan/present.h"

#include "util/json.h"
#include "util/time.h"


#include <ctime>

namespace podgate::scan {

namespace {

using Writer = util::JsonWriter;
using util::rfc3339;

void str(Writer& w, std::string_view s) { util::write_string(w, s); }

}  // namespace


std::string records_json(std::string_view digest, const std::vector<ScanRecord>& records, std::size_t maxFindings) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  w.Key("digest");
  str(w, digest);
  w.Key("scans");
  w.StartArray();
  for (const auto& r : records) {
    w.StartObject();
    w.Key("scanner");
    str(w, r.scanner);
    w.Key("scannerVersion");
    str(w, r.scannerVersion);
    w.Key("databaseVersion");
    str(w, r.databaseVersion);
    w.Key("scannedAt");
    str(w, rfc3339(r.scannedAt));
    w.Key("artifact");
    str(w, r.artifact);
    w.Key("malware");
    str(w, to_string(r.malware));
    w.Key("counts");
    w.StartObject();
    for (std::size_t i = 0; i < kSeverityCount; ++i) {
      w.Key(to_string(static_cast<Severity>(i)));
      w.Int(r.counts[i]);
    }
    w.EndObject();
    w.Key("findings");
    w.StartArray();
    for (std::size_t i = 0; i < r.findings.size() && i < maxFindings; ++i) {
      const auto& f = r.findings[i];
      w.StartObject();
      w.Key("kind");
      str(w, f.kind);
      w.Key("id");
      str(w, f.id);
      w.Key("package");
      str(w, f.package);
      w.Key("installedVersion");
      str(w, f.installedVersion);
      w.Key("fixedVersion");
      str(w, f.fixedVersion);
      w.Key("severity");
      str(w, to_string(f.severity));
      w.EndObject();
    }
    w.EndArray();
    if (r.findings.size() > maxFindings) {
      w.Key("findingsOmitted");
      w.Uint64(r.findings.size() - maxFindings);
    }
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string import_json(std::string_view format, std::string_view source, const std::vector<ScanRecord>& records,
                        const std::vector<PutOutcome>& outcomes) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  w.Key("format");
  str(w, format);
  w.Key("source");
  str(w, source);
  w.Key("records");
  w.StartArray();
  for (std::size_t i = 0; i < records.size(); ++i) {
    w.StartObject();
    w.Key("digest");
    str(w, records[i].digest);
    w.Key("scanner");
    str(w, records[i].scanner);
    w.Key("scannedAt");
    str(w, rfc3339(records[i].scannedAt));
    w.Key("findings");
    w.Uint64(records[i].findings.size());
    w.Key("stored");
    w.Bool(i < outcomes.size() && outcomes[i].stored);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace podgate::scan
