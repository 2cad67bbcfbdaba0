// Trivy Operator VulnerabilityReport / ClusterVulnerabilityReport → ScanRecord (trivy_operator.h).
// Field paths: aquasecurity/trivy-operator pkg/apis/aquasecurity/v1alpha1/vulnerability_types.go
// and common_types.go (report.{updateTimestamp, scanner, registry, artifact, summary,
// vulnerabilities[]}).

#include "scan/trivy_operator.h"

#include <array>
#include <new>

#include "image/reference.h"
#include "scan/report_reader.h"

namespace podgate::scan {
namespace {

using namespace report_detail;

constexpr unsigned kMaxDepth = 32;  // a report nests about 6 deep; managedFields a little more
// A summary count past this is not a real image's (the SQLite store caps findings at 100,000).
constexpr std::int64_t kMaxSummaryCount = 1000000;

// A skip with its short reason (TrivyOperatorScan::skipReason) and the detail.
struct Skip {
  const char* reason;
  std::string detail;
};

// "docker.io/library/nginx:1.27": registry.server, artifact.repository and artifact.tag,
// normalised as a pod spec's image is (index.docker.io is docker.io). "" when there is none.
std::string image_of(const Value& report, const Path& top) {
  std::string server, repository, tag;
  if (const Value* registry = object_member(report, "registry", top / "report"))
    server = string_member(*registry, "server", top / "report" / "registry");
  const Value* artifact = object_member(report, "artifact", top / "report");
  if (artifact != nullptr) {
    repository = string_member(*artifact, "repository", top / "report" / "artifact");
    tag = string_member(*artifact, "tag", top / "report" / "artifact");
  }
  if (repository.empty()) return {};
  const std::string name = (server.empty() ? "" : server + "/") + repository;
  const auto parsed = image::parse(name + (tag.empty() ? "" : ":" + tag));
  if (!parsed) {  // as the report says it, cut on a UTF-8 boundary (for logs only: it is no key)
    std::string raw = name + (tag.empty() ? "" : ":" + tag);
    if (raw.size() > 256) {
      std::size_t cut = 256;
      while (cut > 0 && (static_cast<unsigned char>(raw[cut]) & 0xC0) == 0x80) --cut;
      raw.resize(cut);
    }
    return raw;
  }
  return parsed.reference->repository() + (tag.empty() ? "" : ":" + parsed.reference->tag);
}

TrivyOperatorScan read(const Value& root, TrivyOperatorScan& out) {
  const Path top;
  if (!root.IsObject()) throw Skip{"not a vulnerability report", "the JSON is not an object"};
  const std::string apiVersion = string_member(root, "apiVersion", top);
  const std::string kind = string_member(root, "kind", top);
  if (apiVersion != "aquasecurity.github.io/v1alpha1" ||
      (kind != "VulnerabilityReport" && kind != "ClusterVulnerabilityReport"))
    throw Skip{"not a vulnerability report", "apiVersion " + quoted(apiVersion) + ", kind " + quoted(kind) +
                                                 " (expected aquasecurity.github.io/v1alpha1 VulnerabilityReport "
                                                 "or ClusterVulnerabilityReport)"};
  const Path reportPath = top / "report";
  const Value* report = object_member(root, "report", top);
  if (report == nullptr) refuse("report is missing");
  out.image = image_of(*report, top);

  const Path artifactPath = reportPath / "artifact";
  const Value* artifact = object_member(*report, "artifact", reportPath);
  const std::string digest = artifact == nullptr ? std::string() : string_member(*artifact, "digest", artifactPath);
  if (digest.empty())
    throw Skip{"no digest", "report.artifact.digest is absent (a filesystem-mode scan of an image named by tag?)"};
  if (!digest.starts_with("sha256:") || !image::is_valid_digest(digest))
    throw Skip{"malformed digest", "report.artifact.digest " + quoted(digest) + " is not sha256:<64 lowercase hex>"};

  ScanRecord r;
  r.digest = digest;
  r.scanner = "trivy";
  r.artifact = out.image;
  r.scannedAt = time_member(*report, "updateTimestamp", reportPath);
  if (const Value* scanner = object_member(*report, "scanner", reportPath)) {
    r.scannerVersion = string_member(*scanner, "version", reportPath / "scanner");
    if (r.scannerVersion.size() > 256) refuse("report.scanner.version is longer than 256 bytes");
  }

  // Every entry, and the entries per severity before duplicates are merged: the summary counts
  // entries, so only what it counts beyond them is unlisted.
  Findings findings;
  std::array<std::int64_t, kSeverityCount> entries{};
  for_each_object(*report, "vulnerabilities", reportPath, [&](const Value& v, const Path& at) {
    Finding f;
    f.kind = "vulnerability";
    f.id = string_member(v, "vulnerabilityID", at, Need::NonEmpty);
    f.package = string_member(v, "resource", at);
    f.installedVersion = string_member(v, "installedVersion", at);
    f.fixedVersion = string_member(v, "fixedVersion", at);
    f.severity = severity_member(v, "severity", at);
    ++entries[static_cast<std::size_t>(f.severity)];
    findings.add(std::move(f));
  });
  r.findings = findings.take();
  for (const Finding& f : r.findings) ++r.counts[static_cast<std::size_t>(f.severity)];

  if (const Value* summary = object_member(*report, "summary", reportPath)) {
    static constexpr std::array<std::pair<std::string_view, Severity>, 5> kSummary = {{
        {"criticalCount", Severity::Critical},
        {"highCount", Severity::High},
        {"mediumCount", Severity::Medium},
        {"lowCount", Severity::Low},
        {"unknownCount", Severity::Unknown},
    }};
    for (const auto& [key, severity] : kSummary) {
      const std::int64_t n = int_member(*summary, key, reportPath / "summary", 0, kMaxSummaryCount);
      const auto s = static_cast<std::size_t>(severity);
      if (n > entries[s]) r.counts[s] += static_cast<int>(n - entries[s]);
    }
  }
  out.record = std::move(r);
  return out;
}

}  // namespace

TrivyOperatorScan parse_vulnerability_report(std::string_view objectJson) {
  TrivyOperatorScan out;
  const auto skip = [&](const char* reason, std::string detail) {
    out.record.reset();
    out.skipReason = reason;
    out.detail = std::move(detail);
    return out;
  };
  if (objectJson.size() > kTrivyOperatorMaxReportBytes)
    return skip("too large", "the report is " + std::to_string(objectJson.size()) + " bytes, more than the limit of " +
                                 std::to_string(kTrivyOperatorMaxReportBytes));
  try {
    rapidjson::Document doc;
    try {
      parse_document(objectJson, doc, kMaxDepth);
    } catch (const Refusal& refusal) {
      return skip("not json", refusal.message);
    }
    return read(doc, out);
  } catch (const Skip& s) {
    return skip(s.reason, s.detail);
  } catch (const Refusal& refusal) {
    return skip("malformed report", refusal.message);
  } catch (const std::bad_alloc&) {
    return skip("too large", "out of memory while reading the report");
  }
}

}  // namespace podgate::scan
