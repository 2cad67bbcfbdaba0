// Scan reports in, ScanRecords out. The field paths are those of the scanners' own JSON writers:
//   Trivy  pkg/types/report.go (SchemaVersion 2; `Trivy.Version` since trivy#10065, January 2026;
//          `Trivy.Server` in client/server mode since trivy#10075) and trivy-db pkg/metadata
//          (VulnerabilityDB: Version, UpdatedAt, ...);
//   Grype  grype/presenter/models (document.go, match.go, source.go, descriptor.go), and the
//          database status it puts in `descriptor.db` (schema v5: {built, schemaVersion, ...};
//          schema v6: {status: {schemaVersion, from, built, path, valid}, providers: ...}).
// Every report is refused as a whole when anything podgate reads from it is malformed: a record
// built from half a report could let an image through on the half that was read.

#include "scan/report.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <cstring>
#include <new>

#include "scan/report_reader.h"
#include "util/json_depth.h"

namespace podgate::scan {
namespace {

using namespace report_detail;

// Real reports nest about 8 deep (Trivy's ImageConfig.history); 64 leaves room and keeps a
// hostile file from making any later walk over the tree deep.
constexpr unsigned kMaxDepth = 64;
constexpr std::string_view kAcceptedFormats =
    "podgate reads Trivy JSON (trivy image --format json, SchemaVersion 2), Grype JSON (grype -o json) "
    "and podgate ScanVerdict JSON (docs/scan-verdicts.md)";

// ---- parsing ----------------------------------------------------------------------------------

struct Generator {
  std::string_view json;
  rapidjson::ParseResult result;
  bool tooDeep = false;

  bool operator()(rapidjson::Document& doc) {
    // The reader runs iteratively, so the depth it reaches costs heap, not stack; the bound is for
    // the walks over the tree afterwards.
    util::DepthLimitedHandler<rapidjson::Document> handler{doc, kMaxDepth};
    rapidjson::MemoryStream stream(json.data(), json.size());
    rapidjson::Reader reader;
    result = reader.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag>(stream, handler);
    tooDeep = handler.tooDeep;
    return !result.IsError();
  }
};

ReportFormat detect(const Value& root) {
  if (!root.IsObject()) return ReportFormat::Unknown;
  const Path top;
  const Value* apiVersion = find(root, "apiVersion", top);
  if (apiVersion != nullptr && apiVersion->IsString() &&
      std::string_view(apiVersion->GetString(), apiVersion->GetStringLength()).substr(0, 11) == "podgate.io/")
    return ReportFormat::PodgateVerdict;
  if (find(root, "SchemaVersion", top) != nullptr) return ReportFormat::Trivy;
  if (find(root, "matches", top) != nullptr && find(root, "descriptor", top) != nullptr) return ReportFormat::Grype;
  return ReportFormat::Unknown;
}

}  // namespace

const char* to_string(ReportFormat format) {
  switch (format) {
    case ReportFormat::Unknown: return "unknown";
    case ReportFormat::Trivy: return "trivy";
    case ReportFormat::Grype: return "grype";
    case ReportFormat::PodgateVerdict: return "podgate-verdict";
  }
  return "unknown";
}

ParsedReport parse_report(std::string_view json, std::string_view source) {
  ParsedReport out;
  const auto fail = [&](const std::string& message) {
    out.records.clear();
    out.error = source.empty() ? message : std::string(source) + ": " + message;
    return out;
  };
  if (json.size() > kMaxReportBytes)
    return fail("the report is " + std::to_string(json.size()) + " bytes, more than the limit of " +
                std::to_string(kMaxReportBytes) + " bytes");
  // Some Windows tools start UTF-8 files with a byte order mark; JSON does not allow one.
  if (json.substr(0, 3) == "\xEF\xBB\xBF") json.remove_prefix(3);
  // A raw NUL cannot occur in JSON text, and the reader would take it for the end of input (and
  // ignore whatever follows).
  if (const void* nul = std::memchr(json.data(), '\0', json.size()))
    return fail("not valid JSON: a NUL byte at offset " +
                std::to_string(static_cast<const char*>(nul) - json.data()));
  try {
    rapidjson::Document doc;
    Generator generator{json, {}, false};
    doc.Populate(generator);
    if (generator.tooDeep)
      return fail("not a scan report: JSON nested deeper than " + std::to_string(kMaxDepth) + " levels");
    if (generator.result.IsError())
      return fail(std::string("not valid JSON: ") + rapidjson::GetParseError_En(generator.result.Code()) +
                  " (at byte " + std::to_string(generator.result.Offset()) + ")");
    out.format = detect(doc);
    switch (out.format) {
      case ReportFormat::Trivy: out.records = parse_trivy(doc); break;
      case ReportFormat::Grype: out.records = parse_grype(doc); break;
      case ReportFormat::PodgateVerdict: out.records = parse_verdict(doc); break;
      case ReportFormat::Unknown: return fail("unrecognised report format; " + std::string(kAcceptedFormats));
    }
  } catch (const Refusal& refusal) {
    return fail(out.format == ReportFormat::Unknown
                    ? refusal.message
                    : std::string(to_string(out.format)) + " report refused: " + refusal.message);
  } catch (const std::bad_alloc&) {
    return fail("out of memory while reading the report");
  }
  return out;
}

}  // namespace podgate::scan
