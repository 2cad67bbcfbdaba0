// parse_report on Trivy, Grype and podgate verdict reports (tests/fixtures/scans/, shaped after the
// scanners' own JSON writers and golden files), the refusals, the bounds, random mutations, and
// scripts/clamav-verdict.sh run on recorded clamscan output (ClamAV itself is not installed here).

#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>
#include <string>
#include <string_view>

#include "scan/report.h"
#include "scan/scan.h"
#include "support/temp_dir.h"

using namespace podgate::scan;

namespace {

const std::string kAlpineIndex = "sha256:0c5ab2058a147f97350f8a33bece29884f8da99f848db9811b31172c74412967";
const std::string kAlpineConfig = "sha256:a3fb57f0151dedf371aad91cb8f6df1e0e52d1adf7dac6c160edf2b4a2488403";
const std::string kNginxIndex = "sha256:81a5b580161cbb7faef40e99c824e7bb12d4e81eb2d7ea5bfbf48b8d06e134da";
const std::string kNginxMirror = "sha256:ac694c1391b889f58b2e7cad1006a72751615df7c419f035a133430de6cef3d8";
const std::string kNginxConfig = "sha256:21f8228ac9d89eec18646f4b88159e27efb1276037b16740fbf1121d70f7dfd9";
const std::string kNginxAmd64 = "sha256:42de49d302127345f707bb48515f5318bc4f4f88e9dbec069926913f47d909f5";
const std::string kMirai = "sha256:e410e110978429a2a4e5685c53907f9b0792dfe4b72e3513bd276b739854025c";

std::string fixture(const std::string& name) {
  return podgate::test::read_file(std::string(PODGATE_FIXTURES_DIR) + "/scans/" + name);
}

// The fixture with one exact piece of text replaced (the piece must be there, once or more: the
// first is replaced).
std::string replaced(std::string text, std::string_view from, std::string_view to) {
  const auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  text.replace(at, from.size(), to);
  return text;
}

void check_refused(const ParsedReport& r, std::string_view needle) {
  INFO("error: " << r.error);
  CHECK_FALSE(r);
  CHECK(r.records.empty());
  CHECK(r.error.find(needle) != std::string::npos);
}

int count(const ScanRecord& r, Severity s) { return r.counts[static_cast<std::size_t>(s)]; }

const Finding* find_finding(const ScanRecord& r, std::string_view kind, std::string_view id, std::string_view package) {
  for (const Finding& f : r.findings)
    if (f.kind == kind && f.id == id && f.package == package) return &f;
  return nullptr;
}

// A minimal valid verdict whose pieces the tests swap.
std::string verdict(const std::string& digestPart = R"("digest": ")" + kMirai + R"(")",
                    const std::string& rest = R"("result": "clean")",
                    const std::string& time = "2026-11-30T07:45:00Z") {
  return R"({"apiVersion": "podgate.io/v1", "kind": "ScanVerdict", )" + digestPart +
         R"(, "scanner": {"name": "clamav", "version": "1.0.7", "database": "27500"}, "time": ")" + time + R"(", )" +
         rest + "}";
}

std::string hex64(std::size_t n) {
  char buf[65];
  std::snprintf(buf, sizeof buf, "%064zx", n);
  return buf;
}

// A Trivy report on `digests` digests with `n` vulnerabilities CVE-2026-0 ... (and, if
// `repeatFirst`, CVE-2026-0 again).
std::string trivy_with_vulnerabilities(std::size_t n, bool repeatFirst, std::size_t digests = 1) {
  std::string repoDigests;
  for (std::size_t i = 0; i < digests; ++i)
    repoDigests += (i ? ", " : "") + std::string("\"big@sha256:") + hex64(i + 1) + "\"";
  std::string s = R"({"SchemaVersion": 2, "CreatedAt": "2026-11-28T10:00:00Z", "ArtifactName": "big:1",
    "Metadata": {"RepoDigests": [)" + repoDigests + R"(]},
    "Results": [{"Target": "big", "Class": "os-pkgs", "Type": "alpine", "Vulnerabilities": [)";
  s.reserve(n * 110);
  const auto add = [&](std::size_t i, bool first) {
    if (!first) s += ',';
    s += R"({"VulnerabilityID": "CVE-2026-)" + std::to_string(i) +
         R"(", "PkgName": "pkg", "InstalledVersion": "1.0", "Severity": "LOW"})";
  };
  for (std::size_t i = 0; i < n; ++i) add(i, i == 0);
  if (repeatFirst) add(0, false);
  s += "]}]}";
  return s;
}

}  // namespace

TEST_CASE("severity and malware result spellings", "[scan]") {
  for (std::size_t i = 0; i < kSeverityCount; ++i) {
    const auto s = static_cast<Severity>(i);
    CHECK(parse_severity(to_string(s)) == s);
  }
  // Trivy's spelling, Grype's spelling, any case.
  CHECK(parse_severity("CRITICAL") == Severity::Critical);
  CHECK(parse_severity("Critical") == Severity::Critical);
  CHECK(parse_severity("negligible") == Severity::Negligible);
  CHECK(parse_severity("Unknown") == Severity::Unknown);
  CHECK(std::string(to_string(Severity::Medium)) == "MEDIUM");
  for (const char* bad : {"", "SEVERE", "HIGH ", "crit", "MODERATE", "none"}) {
    INFO(bad);
    CHECK_FALSE(parse_severity(bad));
  }

  CHECK(parse_malware_result("clean") == MalwareResult::Clean);
  CHECK(parse_malware_result("malicious") == MalwareResult::Malicious);
  CHECK(parse_malware_result("error") == MalwareResult::Error);
  CHECK_FALSE(parse_malware_result("none"));
  CHECK_FALSE(parse_malware_result("Clean"));
  CHECK_FALSE(parse_malware_result(""));
  CHECK(std::string(to_string(MalwareResult::None)) == "none");
  CHECK(std::string(to_string(MalwareResult::Malicious)) == "malicious");

  CHECK(std::string(to_string(ReportFormat::Trivy)) == "trivy");
  CHECK(std::string(to_string(ReportFormat::Grype)) == "grype");
  CHECK(std::string(to_string(ReportFormat::PodgateVerdict)) == "podgate-verdict");
  CHECK(std::string(to_string(ReportFormat::Unknown)) == "unknown");
}

TEST_CASE("Trivy: the short-form RepoDigest is the key, never the ImageID", "[scan][trivy]") {
  const auto r = parse_report(fixture("trivy-alpine.json"), "trivy-alpine.json");
  INFO(r.error);
  REQUIRE(r);
  CHECK(r.format == ReportFormat::Trivy);
  REQUIRE(r.records.size() == 1);
  const ScanRecord& rec = r.records[0];
  CHECK(rec.digest == kAlpineIndex);
  CHECK(rec.digest != kAlpineConfig);
  CHECK(rec.scanner == "trivy");
  CHECK(rec.scannerVersion == "0.69.1");
  CHECK(rec.databaseVersion.empty());  // a standalone report says nothing about its database
  CHECK(rec.scannedAt == 1795857330);   // 2026-11-28T10:15:30.123456789+01:00
  CHECK(rec.artifact == "alpine:3.19");
  CHECK(rec.malware == MalwareResult::None);

  REQUIRE(rec.findings.size() == 4);
  CHECK(rec.findings[0] == Finding{"vulnerability", "CVE-2024-0727", "libcrypto3", "3.1.4-r4", "3.1.4-r5", Severity::Medium});
  CHECK(rec.findings[1] == Finding{"vulnerability", "CVE-2024-2511", "libcrypto3", "3.1.4-r4", "3.1.4-r6", Severity::Low});
  CHECK(rec.findings[2] == Finding{"vulnerability", "CVE-2023-42366", "busybox", "1.36.1-r15", "1.36.1-r16", Severity::Medium});
  CHECK(rec.findings[3] == Finding{"vulnerability", "CVE-2024-6119", "libssl3", "3.1.4-r4", "", Severity::High});
  CHECK(count(rec, Severity::Low) == 1);
  CHECK(count(rec, Severity::Medium) == 2);
  CHECK(count(rec, Severity::High) == 1);
  CHECK(count(rec, Severity::Critical) == 0);
}

TEST_CASE("Trivy: several RepoDigests, server database, secrets kept, misconfigurations skipped", "[scan][trivy]") {
  const auto r = parse_report(fixture("trivy-multi-digests.json"), "nginx.json");
  INFO(r.error);
  REQUIRE(r);
  // Three RepoDigests, two of them the same digest under two names.
  REQUIRE(r.records.size() == 2);
  CHECK(r.records[0].digest == kNginxIndex);
  CHECK(r.records[1].digest == kNginxMirror);
  for (const ScanRecord& rec : r.records) CHECK(rec.digest != kNginxConfig);
  CHECK(r.records[0].findings == r.records[1].findings);
  CHECK(r.records[0].counts == r.records[1].counts);

  const ScanRecord& rec = r.records[0];
  CHECK(rec.scannerVersion == "0.69.1");
  CHECK(rec.databaseVersion == "v2 updated 2026-11-28T06:12:45.43821Z");
  CHECK(rec.scannedAt == 1795837267);  // 2026-11-27T22:41:07.512093-05:00
  CHECK(rec.artifact == "registry.example.com/mirror/nginx:1.27");

  // log4j twice in one Result (two jars) and Go's stdlib in two binaries: one finding each.
  CHECK(rec.findings.size() == 8);
  const Finding* log4j = find_finding(rec, "vulnerability", "CVE-2021-44228", "org.apache.logging.log4j:log4j-core");
  REQUIRE(log4j != nullptr);
  CHECK(log4j->fixedVersion == "2.15.0, 2.3.1, 2.12.2");
  const Finding* stdlib = find_finding(rec, "vulnerability", "CVE-2024-24790", "stdlib");
  REQUIRE(stdlib != nullptr);
  CHECK(stdlib->installedVersion == "v1.21.5");
  CHECK(stdlib->severity == Severity::Critical);
  const Finding* unknown = find_finding(rec, "vulnerability", "TEMP-0841856-B18BAF", "bash");
  REQUIRE(unknown != nullptr);
  CHECK(unknown->severity == Severity::Unknown);

  // Secrets: kind "secret", the rule id, the severity Trivy gave, and the file (the Result's Target).
  const Finding* aws = find_finding(rec, "secret", "aws-access-key-id", "/opt/app/.env");
  REQUIRE(aws != nullptr);
  CHECK(aws->severity == Severity::Critical);
  const Finding* pat = find_finding(rec, "secret", "github-pat", "/opt/app/.env");
  REQUIRE(pat != nullptr);
  CHECK(pat->severity == Severity::High);

  // The Dockerfile's DS002 misconfiguration and the MIT licence are not findings.
  for (const Finding& f : rec.findings) {
    CHECK(f.id != "DS002");
    CHECK(f.id != "MIT");
  }
  CHECK(count(rec, Severity::Unknown) == 1);
  CHECK(count(rec, Severity::Low) == 1);
  CHECK(count(rec, Severity::Medium) == 0);
  CHECK(count(rec, Severity::High) == 2);
  CHECK(count(rec, Severity::Critical) == 4);
}

TEST_CASE("Trivy: an archive scan has no manifest digest and is refused", "[scan][trivy]") {
  const auto r = parse_report(fixture("trivy-archive.json"), "trivy-archive.json");
  CHECK(r.format == ReportFormat::Trivy);
  check_refused(r, "trivy-archive.json: ");
  check_refused(r, "no manifest digest: Metadata.RepoDigests is empty (an image archive scan?); scan the image "
                   "from its registry, or write a podgate verdict");
  // The ImageID is there, and is still not used.
  CHECK(r.error.find("df345c51") == std::string::npos);
  CHECK(r.error.find('\n') == std::string::npos);

  // The same report with a RepoDigest is fine: no Trivy block means no scanner or database version.
  const auto withDigest = parse_report(
      replaced(fixture("trivy-archive.json"), R"("RepoTags": [)", R"("RepoDigests": ["alpine@)" + kAlpineIndex + R"("], "RepoTags": [)"),
      "x");
  INFO(withDigest.error);
  REQUIRE(withDigest);
  REQUIRE(withDigest.records.size() == 1);
  CHECK(withDigest.records[0].scannerVersion.empty());
  CHECK(withDigest.records[0].databaseVersion.empty());
  CHECK(withDigest.records[0].scannedAt == 1795939331);  // fractional nanoseconds dropped
}

TEST_CASE("Trivy: whatever podgate reads must be well formed", "[scan][trivy]") {
  const std::string alpine = fixture("trivy-alpine.json");

  SECTION("schema version") {
    check_refused(parse_report(replaced(alpine, R"("SchemaVersion": 2)", R"("SchemaVersion": 1)"), "a"),
                  "Trivy SchemaVersion 1 is not supported");
    check_refused(parse_report(replaced(alpine, R"("SchemaVersion": 2)", R"("SchemaVersion": "2")"), "a"),
                  "SchemaVersion is a string");
  }
  SECTION("digests") {
    const std::string entry = "alpine@" + kAlpineIndex;
    check_refused(parse_report(replaced(alpine, entry, "alpine@sha256:0C5AB2058A147F97350F8A33BECE29884F8DA99F848DB9811B31172C74412967"), "a"),
                  "Metadata.RepoDigests[0]: malformed digest");
    check_refused(parse_report(replaced(alpine, entry, "alpine@sha256:0c5ab2"), "a"), "malformed digest");
    check_refused(parse_report(replaced(alpine, entry, "alpine:3.19"), "a"), "malformed digest");
    check_refused(parse_report(replaced(alpine, entry, "@" + kAlpineIndex), "a"), "malformed digest");
    check_refused(parse_report(replaced(alpine, entry, "alpine@md5:0c5ab2058a147f97350f8a33bece2988"), "a"), "malformed digest");
    // The only digest left is the config blob's: still no manifest digest.
    check_refused(parse_report(replaced(alpine, "\"" + entry + "\"", ""), "a"),
                  "no manifest digest: Metadata.RepoDigests is empty");
    check_refused(parse_report(replaced(replaced(alpine, "\"" + entry + "\"", ""), "\"container_image\"", "\"filesystem\""), "a"),
                  "no manifest digest: ArtifactType is \"filesystem\"");
    check_refused(parse_report(replaced(alpine, "\"" + entry + "\"", "42"), "a"), "Metadata.RepoDigests[0] is a number");
  }
  SECTION("severities") {
    check_refused(parse_report(replaced(alpine, R"("Severity": "LOW")", R"("Severity": "SEVERE")"), "a"),
                  "Results[0].Vulnerabilities[1].Severity: unknown severity \"SEVERE\"");
    check_refused(parse_report(replaced(alpine, R"("Severity": "HIGH")", R"("Severity": "")"), "a"),
                  "Results[0].Vulnerabilities[3].Severity is empty");
    check_refused(parse_report(replaced(alpine, R"("Severity": "HIGH")", R"("Sev": "HIGH")"), "a"),
                  "Results[0].Vulnerabilities[3].Severity is missing");
    const std::string multi = fixture("trivy-multi-digests.json");
    check_refused(parse_report(replaced(multi, R"("Severity": "CRITICAL",
          "Title": "AWS Access Key ID")", R"("Severity": "URGENT",
          "Title": "AWS Access Key ID")"), "a"),
                  "Results[5].Secrets[0].Severity: unknown severity \"URGENT\"");
    // Misconfigurations are not read, so their severities do not matter.
    const auto misconf = parse_report(replaced(multi, R"("Severity": "HIGH",
          "PrimaryURL": "https://avd.aquasec.com/misconfig/ds002")", R"("Severity": "whatever",
          "PrimaryURL": "https://avd.aquasec.com/misconfig/ds002")"), "a");
    INFO(misconf.error);
    CHECK(misconf);
  }
  SECTION("ids and types") {
    check_refused(parse_report(replaced(alpine, R"("VulnerabilityID": "CVE-2024-2511")", R"("VulnerabilityID": "")"), "a"),
                  "Results[0].Vulnerabilities[1].VulnerabilityID is empty");
    check_refused(parse_report(replaced(alpine, R"("PkgName": "busybox")", R"("PkgName": ["busybox"])"), "a"),
                  "Results[0].Vulnerabilities[2].PkgName is an array, expected a string");
    check_refused(parse_report(replaced(alpine, R"("Results": [)", R"("Results": [7, )"), "a"), "Results[0] is a number");
    check_refused(parse_report(replaced(alpine, R"("Results": [)", R"("Results": {"x": [)") + "}", "a"),
                  "Results is an object, expected an array");
    check_refused(parse_report(replaced(alpine, R"("Version": "0.69.1")", R"("Version": 69)"), "a"), "Trivy.Version is a number");
    // A key given twice: Go would read the last, RapidJSON the first.
    check_refused(parse_report(replaced(alpine, R"("CreatedAt":)", R"("CreatedAt": "2026-11-28T10:15:30Z", "CreatedAt":)"), "a"),
                  "CreatedAt is given twice");
  }
  SECTION("times") {
    check_refused(parse_report(replaced(alpine, R"("CreatedAt": "2026-11-28T10:15:30.123456789+01:00",)", ""), "a"),
                  "CreatedAt is missing");
    check_refused(parse_report(replaced(alpine, "2026-11-28T10:15:30.123456789+01:00", "2026-11-28 10:15:30"), "a"),
                  "CreatedAt is not an RFC 3339 time: \"2026-11-28 10:15:30\"");
    check_refused(parse_report(replaced(alpine, "2026-11-28T10:15:30.123456789+01:00", "0001-01-01T00:00:00Z"), "a"),
                  "CreatedAt is not a plausible scan time");
    check_refused(parse_report(replaced(alpine, "2026-11-28T10:15:30.123456789+01:00", "2099-01-01T00:00:00Z"), "a"),
                  "CreatedAt is more than a day in the future");
  }
  SECTION("nothing is kept from a refused report") {
    // The bad severity is the last finding: everything before it parsed, and is dropped.
    const auto r = parse_report(replaced(alpine, R"("Severity": "HIGH")", R"("Severity": "SEVERE")"), "a");
    CHECK(r.records.empty());
    CHECK(r.format == ReportFormat::Trivy);
  }
}

TEST_CASE("Trivy: database metadata in Trivy.VulnerabilityDB", "[scan][trivy]") {
  // Standalone reports may carry it at the top of the Trivy block (trivy#10076); it wins over
  // the server's.
  const std::string report = replaced(fixture("trivy-multi-digests.json"), R"("Version": "0.69.1",)",
                                      R"("Version": "0.70.0", "VulnerabilityDB": {"Version": 2, "UpdatedAt": "2026-11-29T00:10:02Z"},)");
  const auto r = parse_report(report, "a");
  INFO(r.error);
  REQUIRE(r);
  CHECK(r.records[0].scannerVersion == "0.70.0");
  CHECK(r.records[0].databaseVersion == "v2 updated 2026-11-29T00:10:02Z");
}

TEST_CASE("Grype: repoDigests then manifestDigest, matches are findings, ignoredMatches are not", "[scan][grype]") {
  const auto r = parse_report(fixture("grype-nginx.json"), "grype-nginx.json");
  INFO(r.error);
  REQUIRE(r);
  CHECK(r.format == ReportFormat::Grype);
  REQUIRE(r.records.size() == 2);
  CHECK(r.records[0].digest == kNginxIndex);  // the index the tag resolved to
  CHECK(r.records[1].digest == kNginxAmd64);  // the platform manifest grype scanned
  for (const ScanRecord& rec : r.records) CHECK(rec.digest != kNginxConfig);  // imageID
  CHECK(r.records[0].findings == r.records[1].findings);

  const ScanRecord& rec = r.records[0];
  CHECK(rec.scanner == "grype");
  CHECK(rec.scannerVersion == "0.92.2");
  CHECK(rec.databaseVersion == "v6.0.2 built 2026-11-26T04:11:09Z");
  CHECK(rec.scannedAt == 1795701832);  // 2026-11-26T15:03:52.318274611+01:00
  CHECK(rec.artifact == "nginx:1.27");

  // Six matches, stdlib twice (two binaries): five findings.
  REQUIRE(rec.findings.size() == 5);
  CHECK(rec.findings[0] == Finding{"vulnerability", "CVE-2023-45853", "zlib1g", "1:1.2.13.dfsg-1", "", Severity::Critical});
  CHECK(rec.findings[1] == Finding{"vulnerability", "CVE-2024-24790", "stdlib", "go1.21.5", "1.21.11", Severity::Critical});
  CHECK(rec.findings[2] == Finding{"vulnerability", "CVE-2024-6345", "setuptools", "66.1.1", "70.0.0", Severity::High});
  CHECK(rec.findings[3] == Finding{"vulnerability", "CVE-2011-3374", "apt", "2.6.1", "", Severity::Negligible});
  CHECK(rec.findings[4] == Finding{"vulnerability", "TEMP-0841856-B18BAF", "bash", "5.2.15-2+b7", "", Severity::Unknown});
  for (const Finding& f : rec.findings) {
    CHECK(f.id != "CVE-2005-2541");  // ignored by a rule
    CHECK(f.id != "CVE-2023-44487");  // ignored by VEX
  }
  CHECK(count(rec, Severity::Unknown) == 1);
  CHECK(count(rec, Severity::Negligible) == 1);
  CHECK(count(rec, Severity::High) == 1);
  CHECK(count(rec, Severity::Critical) == 2);
}

TEST_CASE("Grype: digests, database status, fixes and refusals", "[scan][grype]") {
  const std::string grype = fixture("grype-nginx.json");
  const std::string repoDigest = "\"index.docker.io/library/nginx@" + kNginxIndex + "\"";

  SECTION("a single-platform image: repoDigest and manifestDigest are the same digest") {
    const auto r = parse_report(replaced(grype, repoDigest, "\"nginx@" + kNginxAmd64 + "\""), "a");
    INFO(r.error);
    REQUIRE(r.records.size() == 1);
    CHECK(r.records[0].digest == kNginxAmd64);
  }
  SECTION("manifestDigest alone") {
    const auto r = parse_report(replaced(grype, repoDigest, ""), "a");
    INFO(r.error);
    REQUIRE(r.records.size() == 1);
    CHECK(r.records[0].digest == kNginxAmd64);
  }
  SECTION("no digest at all") {
    const std::string none = replaced(replaced(grype, repoDigest, ""), "\"" + kNginxAmd64 + "\"", "\"\"");
    check_refused(parse_report(none, "a"), "no manifest digest: source.target.repoDigests and manifestDigest are empty");
    check_refused(parse_report(replaced(grype, R"("type": "image")", R"("type": "directory")"), "a"),
                  "no manifest digest: source.type is \"directory\"");
    check_refused(parse_report(replaced(grype, repoDigest, "\"nginx@sha256:81a5\""), "a"),
                  "source.target.repoDigests[0]: malformed digest");
    check_refused(parse_report(replaced(grype, "\"" + kNginxAmd64 + "\"", "\"nginx:1.27\""), "a"),
                  "source.target.manifestDigest: malformed digest");
  }
  SECTION("schema v5 database status") {
    const std::string v5 = replaced(grype, R"("status": {
    "schemaVersion": "v6.0.2",
    "from": "https://grype.anchore.io/databases/v6/vulnerability-db_v6.0.2_2026-11-26T01:31:09Z_1795663869.tar.zst",
    "built": "2026-11-26T04:11:09Z",
    "path": "/home/ci/.cache/grype/db/6/vulnerability.db",
    "valid": true
   },)", R"("built": "2024-06-01T01:29:59Z", "schemaVersion": 5, "location": "/root/.cache/grype/db/5",
           "checksum": "sha256:9f2b1c0e4d6a8b3f5e7c9a1d3b5f7e9c1a3d5b7f9e1c3a5d7b9f1e3c5a7d9b1f", "error": null,)");
    const auto r = parse_report(v5, "a");
    INFO(r.error);
    REQUIRE(r);
    CHECK(r.records[0].databaseVersion == "v5 built 2024-06-01T01:29:59Z");
  }
  SECTION("no database block") {
    const auto r = parse_report(replaced(grype, R"("db": {
   "status")", R"("dbx": {
   "status")"), "a");
    INFO(r.error);
    REQUIRE(r);
    CHECK(r.records[0].databaseVersion.empty());
  }
  SECTION("a fix version counts only when the state is fixed") {
    const auto r = parse_report(replaced(grype, R"("versions": [
      "70.0.0"
     ],
     "state": "fixed")", R"("versions": [
      "70.0.0"
     ],
     "state": "wont-fix")"), "a");
    INFO(r.error);
    REQUIRE(r);
    const Finding* f = find_finding(r.records[0], "vulnerability", "CVE-2024-6345", "setuptools");
    REQUIRE(f != nullptr);
    CHECK(f->fixedVersion.empty());
  }
  SECTION("ignoredMatches are not read at all") {
    const auto r = parse_report(replaced(grype, R"("severity": "Negligible",
    "urls": [],
    "cvss": [],
    "fix": {
     "versions": [],
     "state": "not-fixed"
    },
    "advisories": []
   },
   "relatedVulnerabilities": [],
   "matchDetails": [],
   "artifact": {
    "id": "e4f6a8b0c2d41357")", R"("severity": "Whatever",
    "urls": [],
    "cvss": [],
    "fix": {
     "versions": [],
     "state": "not-fixed"
    },
    "advisories": []
   },
   "relatedVulnerabilities": [],
   "matchDetails": [],
   "artifact": {
    "id": "e4f6a8b0c2d41357")"), "a");
    INFO(r.error);
    CHECK(r);
  }
  SECTION("refusals") {
    check_refused(parse_report(replaced(grype, R"("severity": "High")", R"("severity": "Important")"), "a"),
                  "matches[3].vulnerability.severity: unknown severity \"Important\"");
    check_refused(parse_report(replaced(grype, "\"timestamp\": \"2026-11-26T15:03:52.318274611+01:00\"", "\"timestamp\": \"\""), "a"),
                  "descriptor.timestamp is empty");
    check_refused(parse_report(replaced(grype, "2026-11-26T15:03:52.318274611+01:00", "2026-11-26T15:03:52.318274611+0100"), "a"),
                  "descriptor.timestamp is not an RFC 3339 time");
    check_refused(parse_report(replaced(grype, R"("id": "CVE-2011-3374")", R"("id": "")"), "a"),
                  "matches[4].vulnerability.id is empty");
    check_refused(parse_report(replaced(grype, R"("name": "apt")", R"("name": null)"), "a"),
                  "matches[4].artifact.name is missing");
    check_refused(parse_report(replaced(grype, R"("name": "grype")", R"("name": "trivy")"), "a"),
                  "descriptor.name is \"trivy\"");
    check_refused(parse_report(replaced(grype, R"("1.21.11",)", R"(1.21,)"), "a"),
                  "matches[1].vulnerability.fix.versions[0] is a number");
  }
}

TEST_CASE("podgate verdict: the ClamAV fixture", "[scan][verdict]") {
  const auto r = parse_report(fixture("verdict-clamav.json"), "verdict-clamav.json");
  INFO(r.error);
  REQUIRE(r);
  CHECK(r.format == ReportFormat::PodgateVerdict);
  REQUIRE(r.records.size() == 1);
  const ScanRecord& rec = r.records[0];
  CHECK(rec.digest == kMirai);
  CHECK(rec.scanner == "clamav");
  CHECK(rec.scannerVersion == "1.0.7");
  CHECK(rec.databaseVersion == "27500");
  CHECK(rec.scannedAt == 1796024700);
  CHECK(rec.malware == MalwareResult::Malicious);
  CHECK(rec.artifact == "docker.io/someuser/ubuntu-tools:latest");
  REQUIRE(rec.findings.size() == 3);
  CHECK(rec.findings[0] == Finding{"malware", "Unix.Trojan.Mirai-9975234-0", "/usr/bin/.sysupdate", "", "", Severity::Critical});
  CHECK(rec.findings[1] == Finding{"malware", "PUA.Unix.Coinminer.XMRig-9937401-0", "/opt/xmrig/xmrig", "", "", Severity::High});
  // No severity given: a malware finding is critical.
  CHECK(rec.findings[2] == Finding{"malware", "Unix.Malware.Agent-6774375-0", "/etc/cron.hourly/.update", "", "", Severity::Critical});
  CHECK(count(rec, Severity::Critical) == 2);
  CHECK(count(rec, Severity::High) == 1);
}

TEST_CASE("podgate verdict: rules of the format", "[scan][verdict]") {
  SECTION("clean, error, and malicious without findings") {
    auto r = parse_report(verdict(), "v");
    INFO(r.error);
    REQUIRE(r);
    CHECK(r.records[0].malware == MalwareResult::Clean);
    CHECK(r.records[0].findings.empty());
    CHECK(r.records[0].counts == std::array<int, kSeverityCount>{});
    r = parse_report(verdict(R"("digest": ")" + kMirai + R"(")", R"("result": "error", "findings": [])"), "v");
    REQUIRE(r);
    CHECK(r.records[0].malware == MalwareResult::Error);
    r = parse_report(verdict(R"("digest": ")" + kMirai + R"(")", R"("result": "malicious")"), "v");
    REQUIRE(r);
    CHECK(r.records[0].malware == MalwareResult::Malicious);
    CHECK(r.records[0].findings.empty());
  }
  SECTION("digests: a list covers an index and its platform manifests") {
    const auto r = parse_report(
        verdict(R"("digests": [")" + kNginxIndex + R"(", ")" + kNginxAmd64 + R"(", ")" + kNginxIndex + R"("])",
                R"("result": "malicious", "findings": [{"id": "Eicar-Test-Signature", "path": "/tmp/eicar.com"}])"),
        "v");
    INFO(r.error);
    REQUIRE(r.records.size() == 2);
    CHECK(r.records[0].digest == kNginxIndex);
    CHECK(r.records[1].digest == kNginxAmd64);
    CHECK(r.records[1].findings == r.records[0].findings);
    CHECK(r.records[0].findings[0].package == "/tmp/eicar.com");
    CHECK(r.records[0].findings[0].kind == "malware");
  }
  SECTION("refusals") {
    const std::string digest = R"("digest": ")" + kMirai + R"(")";
    check_refused(parse_report(verdict(digest + R"(, "digests": [")" + kMirai + R"("])"), "v"),
                  "exactly one of \"digest\" and \"digests\"");
    check_refused(parse_report(verdict(R"("artifact": "x")"), "v"), "exactly one of \"digest\" and \"digests\"");
    check_refused(parse_report(verdict(R"("digests": [])"), "v"), "no manifest digest: digests is empty");
    check_refused(parse_report(verdict(R"("digest": "sha256:abc")"), "v"), "digest: malformed digest");
    check_refused(parse_report(verdict(digest, R"("result": "clean", "findings": [{"id": "Eicar"}])"), "v"),
                  "a verdict with findings must say \"malicious\"");
    check_refused(parse_report(verdict(digest, R"("result": "error", "findings": [{"id": "Eicar"}])"), "v"),
                  "a verdict with findings must say \"malicious\"");
    check_refused(parse_report(verdict(digest, R"("result": "infected")"), "v"), "result \"infected\" is not one of");
    check_refused(parse_report(verdict(digest, R"("result": "clean", "comment": "x")"), "v"),
                  "comment: unknown field \"comment\"");
    check_refused(parse_report(verdict(digest, R"("result": "malicious", "findings": [{"id": "E", "file": "/x"}])"), "v"),
                  "findings[0].file: unknown field");
    check_refused(parse_report(verdict(digest, R"("result": "malicious", "findings": [{"path": "/x"}])"), "v"),
                  "findings[0].id is missing");
    check_refused(parse_report(verdict(digest, R"("result": "malicious", "findings": [{"id": "E", "severity": "BAD"}])"), "v"),
                  "findings[0].severity: unknown severity \"BAD\"");
    check_refused(parse_report(verdict(digest, R"("result": "clean", "result": "malicious")"), "v"), "result is given twice");
    check_refused(parse_report(verdict(digest, R"("result": "clean")", "2026-11-30"), "v"), "time is not an RFC 3339 time");

    const std::string base = verdict();
    check_refused(parse_report(replaced(base, "podgate.io/v1", "podgate.io/v2"), "v"), "apiVersion \"podgate.io/v2\" is not supported");
    check_refused(parse_report(replaced(base, "ScanVerdict", "Verdict"), "v"), "kind \"Verdict\" is not ScanVerdict");
    check_refused(parse_report(replaced(base, R"("name": "clamav")", R"("name": "ClamAV")"), "v"), "scanner.name \"ClamAV\" must be lowercase");
    check_refused(parse_report(replaced(base, R"("name": "clamav")", R"("name": "trivy")"), "v"), "reserved");
    check_refused(parse_report(replaced(base, R"("name": "clamav")", R"("name": "-x")"), "v"), "scanner.name");
    check_refused(parse_report(replaced(base, R"("version": "1.0.7")", R"("version": "")"), "v"), "scanner.version is empty");
    check_refused(parse_report(replaced(base, R"("database": "27500")", R"("db": "27500")"), "v"), "scanner.db: unknown field");
  }
}

TEST_CASE("RFC 3339 times as the reports write them", "[scan][time]") {
  const std::string digest = R"("digest": ")" + kMirai + R"(")";
  const auto at = [&](const std::string& time) {
    const auto r = parse_report(verdict(digest, R"("result": "clean")", time), "t");
    return r ? r.records[0].scannedAt : std::int64_t{-1};
  };
  CHECK(at("2026-11-30T07:45:00Z") == 1796024700);
  CHECK(at("2026-11-30t07:45:00z") == 1796024700);
  CHECK(at("2026-11-30T07:45:00.999999999Z") == 1796024700);
  CHECK(at("2026-11-30T08:45:00+01:00") == 1796024700);
  CHECK(at("2026-11-30T02:15:00-05:30") == 1796024700);
  CHECK(at("2026-11-30T07:45:00-00:00") == 1796024700);
  CHECK(at("2024-02-29T00:00:00Z") == 1709164800);
  CHECK(at("2000-03-01T00:00:00Z") == 951868800);
  CHECK(at("1970-01-01T00:00:01Z") == 1);
  for (const char* bad : {"2026-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2026-11-31T00:00:00Z", "2026-13-01T00:00:00Z",
                          "2026-00-10T00:00:00Z", "2026-11-30T24:00:00Z", "2026-11-30T07:60:00Z", "2026-11-30T07:45:60Z",
                          "2026-11-30T07:45:00", "2026-11-30 07:45:00Z", "2026-11-30T07:45:00.Z", "2026-11-30T07:45:00+0100",
                          "2026-11-30T07:45:00+24:00", "2026-11-30T07:45Z", "26-11-30T07:45:00Z", "2026-11-30T07:45:00Zjunk",
                          "1970-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "+2026-11-30T07:45:00Z", ""}) {
    INFO(bad);
    CHECK(at(bad) == -1);
  }
}

TEST_CASE("unknown formats and broken JSON are refused with one line", "[scan]") {
  const std::string accepted = "podgate reads Trivy JSON";
  for (const char* text : {"{}", "[]", "\"report\"", "42", "null", R"({"bomFormat": "CycloneDX", "specVersion": "1.5"})",
                           R"({"version": "2.1.0", "runs": []})", R"({"matches": []})", R"({"apiVersion": "v1", "kind": "Pod"})"}) {
    INFO(text);
    const auto r = parse_report(text, "x.json");
    CHECK(r.format == ReportFormat::Unknown);
    check_refused(r, "x.json: unrecognised report format; " + accepted);
  }
  check_refused(parse_report("", "x.json"), "not valid JSON");
  check_refused(parse_report("{", "x.json"), "not valid JSON");
  check_refused(parse_report(fixture("trivy-alpine.json") + "{}", "x.json"), "not valid JSON");
  check_refused(parse_report(fixture("trivy-alpine.json") + std::string(1, '\0') + "{}", "x.json"), "NUL byte");
  check_refused(parse_report(R"({"SchemaVersion": 2, "ArtifactName": "a)" "\xff\xfe" R"("})", "x.json"), "not valid JSON");
  // A byte order mark is skipped.
  const auto bom = parse_report("\xEF\xBB\xBF" + verdict(), "x.json");
  INFO(bom.error);
  CHECK(bom);
  // Errors stay on one line whatever the report holds.
  const auto nasty = parse_report(replaced(verdict(), "1.0.7", "1.0.7\\n\\u001b[31m"), "x.json");
  CHECK(nasty);
  const auto nastyError = parse_report(replaced(verdict(), R"("result": "clean")", R"("result": "cle\nan")"), "x.json");
  CHECK(nastyError.error.find('\n') == std::string::npos);
  CHECK(nastyError.error.find("\\x0a") != std::string::npos);
}

TEST_CASE("bounds: size, depth, findings, digests", "[scan][bounds]") {
  SECTION("size") {
    const std::string huge(kMaxReportBytes + 1, ' ');
    check_refused(parse_report(huge, "big.json"), "more than the limit of 67108864 bytes");
  }
  SECTION("depth") {
    const std::string deep = std::string(65, '[') + std::string(65, ']');
    check_refused(parse_report(deep, "deep.json"), "nested deeper than 64 levels");
    const std::string alpine = fixture("trivy-alpine.json");
    check_refused(parse_report(replaced(alpine, R"("ReportID":)", R"("X": )" + std::string(70, '[') + std::string(70, ']') + R"(, "ReportID":)"), "a"),
                  "nested deeper than 64 levels");
    // A million levels: refused as quickly, and no stack is spent on them.
    const std::string veryDeep = std::string(1000000, '[') + std::string(1000000, ']');
    check_refused(parse_report(veryDeep, "deep.json"), "nested deeper");
    // Within the limit, extra nesting is just ignored.
    const auto ok = parse_report(replaced(alpine, R"("ReportID":)", R"("X": )" + std::string(60, '[') + std::string(60, ']') + R"(, "ReportID":)"), "a");
    INFO(ok.error);
    CHECK(ok);
  }
  SECTION("findings: 100000 distinct ones at most, counted after merging duplicates") {
    const auto atLimit = parse_report(trivy_with_vulnerabilities(100000, true), "big.json");
    INFO(atLimit.error);
    REQUIRE(atLimit);
    CHECK(atLimit.records[0].findings.size() == 100000);
    CHECK(count(atLimit.records[0], Severity::Low) == 100000);
    check_refused(parse_report(trivy_with_vulnerabilities(100001, false), "big.json"),
                  "more than 100000 distinct findings");
  }
  SECTION("findings times digests: 400000 stored findings at most") {
    const auto atLimit = parse_report(trivy_with_vulnerabilities(12500, false, 32), "big.json");
    INFO(atLimit.error);
    REQUIRE(atLimit.records.size() == 32);
    CHECK(atLimit.records[31].findings.size() == 12500);
    check_refused(parse_report(trivy_with_vulnerabilities(12501, false, 32), "big.json"),
                  "12501 findings for each of 32 digests is more than the 400000 findings one report may store");
  }
  SECTION("digests: 32 distinct ones at most") {
    const auto report = [](std::size_t n) {
      std::string digests;
      for (std::size_t i = 0; i < n; ++i) digests += (i ? ", " : "") + std::string("\"r") + std::to_string(i) + "@sha256:" + hex64(i + 1) + "\"";
      return R"({"SchemaVersion": 2, "CreatedAt": "2026-11-28T10:00:00Z", "Metadata": {"RepoDigests": [)" + digests + "]}}";
    };
    const auto ok = parse_report(report(32), "a");
    INFO(ok.error);
    REQUIRE(ok);
    CHECK(ok.records.size() == 32);
    CHECK(ok.records[31].digest == "sha256:" + hex64(32));
    CHECK(ok.records[0].findings.empty());
    check_refused(parse_report(report(33), "a"), "more than 32 distinct digests");
  }
}

TEST_CASE("random mutations of every fixture: never a throw, never half a report", "[scan][fuzz]") {
  std::mt19937 rng(20261130);
  const char* tokens[] = {"\"", "{", "}", "[", "]", ",", ":", "null", "0", "-1", "1e999", "\"x\"", "true", "\\u0000",
                          "\"CRITICAL\"", "\"sha256:\"", "@", "\"2026-11-30T07:45:00Z\"", "[[[[", "\xc3", "\xff"};
  int accepted = 0, refused = 0;
  for (const char* name : {"trivy-alpine.json", "trivy-multi-digests.json", "trivy-archive.json", "grype-nginx.json",
                           "verdict-clamav.json"}) {
    const std::string original = fixture(name);
    for (int i = 0; i < 1500; ++i) {
      std::string s = original;
      const int edits = 1 + static_cast<int>(rng() % 4);
      for (int e = 0; e < edits && !s.empty(); ++e) {
        const std::size_t at = rng() % s.size();
        switch (rng() % 5) {
          case 0: s[at] = static_cast<char>(rng() % 256); break;
          case 1: s.erase(at, 1 + rng() % 8); break;
          case 2: s.insert(at, tokens[rng() % (sizeof tokens / sizeof *tokens)]); break;
          case 3: {  // repeat a span: duplicate keys, elements, digests
            const std::size_t len = 1 + rng() % 64;
            s.insert(at, s.substr(at, len));
            break;
          }
          default: s.erase(at, 1 + rng() % 200); break;
        }
      }
      ParsedReport r;
      REQUIRE_NOTHROW(r = parse_report(s, name));
      if (r) {
        ++accepted;
        REQUIRE(r.error.empty());
        REQUIRE_FALSE(r.records.empty());
        for (const ScanRecord& rec : r.records) {
          CHECK(((rec.digest.size() == 71 && rec.digest.rfind("sha256:", 0) == 0) ||
                 (rec.digest.size() == 135 && rec.digest.rfind("sha512:", 0) == 0)));
          CHECK_FALSE(rec.scanner.empty());
          CHECK(rec.scannedAt > 0);
          int total = 0;
          for (int c : rec.counts) total += c;
          CHECK(static_cast<std::size_t>(total) == rec.findings.size());
          // Every record of a report says the same thing about a different digest.
          ScanRecord same = rec;
          same.digest = r.records[0].digest;
          CHECK(same == r.records[0]);
        }
      } else {
        ++refused;
        REQUIRE(r.records.empty());
        REQUIRE_FALSE(r.error.empty());
        CHECK(r.error.find('\n') == std::string::npos);
      }
    }
  }
  // The mutations both break reports and leave some readable (e.g. an edit inside a title).
  CHECK(accepted > 100);
  CHECK(refused > 100);
}

// ---- scripts/clamav-verdict.sh ----------------------------------------------------------------

namespace {

struct ScriptRun {
  int status = -1;
  std::string out;
};

ScriptRun run_script(const std::string& args, const std::string& environment = "") {
  const std::string command = environment + "bash '" + std::string(PODGATE_SOURCE_DIR) +
                              "/scripts/clamav-verdict.sh' " + args + " 2>/dev/null";
  ScriptRun run;
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) run.out.append(buf, n);
  const int status = pclose(pipe);
  run.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

// A file holding `content`, in a temp directory of its own that goes away with it.
class TempFile {
 public:
  explicit TempFile(const std::string& content) : path_(dir_.write("clamscan.txt", content)) {}
  const std::string& path() const { return path_; }

 private:
  podgate::test::TempDir dir_{"podgate-clamscan"};
  std::string path_;
};

const std::string kVersion = "--clamscan-version 'ClamAV 1.0.7/27500/Sat Nov 28 08:23:43 2026'";

// Writes `content` to `path`, creating the directories above it.
void write_tree_file(const std::filesystem::path& path, const std::string& content) {
  std::filesystem::create_directories(path.parent_path());
  podgate::test::write_file(path.string(), content);
}

}  // namespace

TEST_CASE("clamav-verdict.sh turns clamscan output into a verdict podgate reads", "[scan][clamav]") {
  SECTION("FOUND lines: malicious, paths relative to the image root") {
    const TempFile out(
        "/scan/rootfs/usr/bin/.sysupdate: Unix.Trojan.Mirai-9975234-0 FOUND\n"
        "/scan/rootfs/opt/odd: name \"q\" \\ x: Eicar-Test-Signature FOUND\n"
        "/scan/rootfs/tmp/tab\there: Unix.Malware.Agent-6774375-0 FOUND\n"
        "/scan/rootfs/usr/bin/.sysupdate: Unix.Trojan.Mirai-9975234-0 FOUND\n"
        "/scan/rootfs/not-a-finding: Access denied. ERROR\n");
    const auto run = run_script("--digest " + kMirai + " --artifact docker.io/someuser/tools:1 --clamscan-output '" +
                                out.path() + "' --exit-code 1 " + kVersion +
                                " --root /scan/rootfs/ --time 2026-11-30T07:45:00Z");
    REQUIRE(run.status == 0);
    const auto r = parse_report(run.out, "clamav");
    INFO(run.out << "\n" << r.error);
    REQUIRE(r);
    CHECK(r.format == ReportFormat::PodgateVerdict);
    REQUIRE(r.records.size() == 1);
    const ScanRecord& rec = r.records[0];
    CHECK(rec.digest == kMirai);
    CHECK(rec.scanner == "clamav");
    CHECK(rec.scannerVersion == "1.0.7");
    CHECK(rec.databaseVersion == "27500");
    CHECK(rec.scannedAt == 1796024700);
    CHECK(rec.artifact == "docker.io/someuser/tools:1");
    CHECK(rec.malware == MalwareResult::Malicious);
    REQUIRE(rec.findings.size() == 3);  // the repeated line is one finding
    CHECK(rec.findings[0] == Finding{"malware", "Unix.Trojan.Mirai-9975234-0", "/usr/bin/.sysupdate", "", "", Severity::Critical});
    CHECK(rec.findings[1].id == "Eicar-Test-Signature");
    CHECK(rec.findings[1].package == "/opt/odd: name \"q\" \\ x");  // split at the last ": "
    CHECK(rec.findings[2].package == "/tmp/tab\there");
    CHECK(count(rec, Severity::Critical) == 3);
  }
  SECTION("exit 0 and no FOUND line: clean; several digests") {
    const TempFile out("");
    const auto run = run_script("--digest " + kNginxIndex + " --digest " + kNginxAmd64 + " --clamscan-output '" +
                                out.path() + "' --exit-code 0 " + kVersion);
    REQUIRE(run.status == 0);
    const auto r = parse_report(run.out, "clamav");
    INFO(run.out << "\n" << r.error);
    REQUIRE(r.records.size() == 2);
    CHECK(r.records[0].digest == kNginxIndex);
    CHECK(r.records[1].digest == kNginxAmd64);
    CHECK(r.records[0].malware == MalwareResult::Clean);
    CHECK(r.records[0].findings.empty());
  }
  SECTION("clamscan errors without a FOUND line: error") {
    const TempFile out("/scan/rootfs/x: Can't open file or directory ERROR\n");
    for (const char* code : {"2", "1"}) {
      const auto run = run_script("--digest " + kMirai + " --clamscan-output '" + out.path() + "' --exit-code " + code +
                                  " " + kVersion);
      REQUIRE(run.status == 0);
      const auto r = parse_report(run.out, "clamav");
      INFO(run.out << "\n" << r.error);
      REQUIRE(r);
      CHECK(r.records[0].malware == MalwareResult::Error);
      CHECK(r.records[0].findings.empty());
    }
  }
  SECTION("a FOUND line wins over the exit status; a database-less version; a non-UTF-8 file name") {
    const TempFile out("/r/bin/\xff\xfe" "x: Win.Test.EICAR_HDB-1 FOUND\n");
    const auto run = run_script("--digest " + kMirai + " --clamscan-output '" + out.path() +
                                "' --exit-code 2 --clamscan-version 'ClamAV 1.4.1'");
    REQUIRE(run.status == 0);
    const auto r = parse_report(run.out, "clamav");
    INFO(run.out << "\n" << r.error);
    REQUIRE(r);
    CHECK(r.records[0].malware == MalwareResult::Malicious);
    CHECK(r.records[0].scannerVersion == "1.4.1");
    CHECK(r.records[0].databaseVersion.empty());
    REQUIRE(r.records[0].findings.size() == 1);
    CHECK(r.records[0].findings[0].package == "/r/bin/??x");
  }
  SECTION("DIR mode runs clamscan (a stand-in here: ClamAV is not installed) and strips DIR from paths") {
    // The stand-in answers --version like clamscan, records its arguments, and reports every file
    // whose name contains "mirai" in clamscan's format, exiting 1 (found) or 0.
    const podgate::test::TempDir dir("podgate-clamav");
    const std::filesystem::path root = dir.path();
    const auto bin = root / "bin";
    write_tree_file(bin / "clamscan",
               "#!/usr/bin/env bash\n"
               "if [ \"$1\" = --version ]; then echo 'ClamAV 1.0.7/27500/Sat Nov 28 08:23:43 2026'; exit 0; fi\n"
               "printf '%s\\n' \"$@\" > \"$(dirname \"$0\")/args\"\n"
               "found=0\n"
               "while IFS= read -r f; do echo \"$f: Unix.Trojan.Mirai-1 FOUND\"; found=1; done "
               "< <(find \"${!#}\" -type f -name '*mirai*' | sort)\n"
               "exit $found\n");
    std::filesystem::permissions(bin / "clamscan", std::filesystem::perms::owner_all);
    write_tree_file(root / "rootfs/usr/bin/tool", "hello\n");
    write_tree_file(root / "rootfs/usr/bin/mirai-bot", "bad\n");
    write_tree_file(root / "rootfs/etc/cron.d/mirai", "bad\n");

    const auto run = run_script("--digest " + kMirai + " --clamscan-option --max-filesize=400M '" +
                                (root / "rootfs").string() + "'", "PATH='" + bin.string() + "':\"$PATH\" ");
    REQUIRE(run.status == 0);
    const auto r = parse_report(run.out, "clamav");
    INFO(run.out << "\n" << r.error);
    REQUIRE(r);
    const ScanRecord& rec = r.records[0];
    CHECK(rec.malware == MalwareResult::Malicious);
    CHECK(rec.scannerVersion == "1.0.7");
    CHECK(rec.databaseVersion == "27500");
    REQUIRE(rec.findings.size() == 2);
    CHECK(rec.findings[0].package == "/etc/cron.d/mirai");
    CHECK(rec.findings[1].package == "/usr/bin/mirai-bot");

    std::ifstream argsFile(bin / "args");
    std::string args((std::istreambuf_iterator<char>(argsFile)), std::istreambuf_iterator<char>());
    CHECK(args.find("-r\n--infected\n--no-summary\n--follow-dir-symlinks=0\n--follow-file-symlinks=0\n--max-filesize=400M\n") == 0);

    // Nothing infected: clean.
    std::filesystem::remove(root / "rootfs/usr/bin/mirai-bot");
    std::filesystem::remove(root / "rootfs/etc/cron.d/mirai");
    const auto clean = run_script("--digest " + kMirai + " '" + (root / "rootfs").string() + "'",
                                  "PATH='" + bin.string() + "':\"$PATH\" ");
    REQUIRE(clean.status == 0);
    const auto rc = parse_report(clean.out, "clamav");
    INFO(clean.out << "\n" << rc.error);
    REQUIRE(rc);
    CHECK(rc.records[0].malware == MalwareResult::Clean);
  }
  SECTION("bad usage prints nothing and exits 2") {
    const TempFile out("");
    for (const std::string& args :
         {"--digest sha256:abc --clamscan-output '" + out.path() + "' --exit-code 0 " + kVersion,
          "--clamscan-output '" + out.path() + "' --exit-code 0 " + kVersion,
          "--digest " + kMirai + " --clamscan-output '" + out.path() + "' " + kVersion,
          "--digest " + kMirai + " --clamscan-output '" + out.path() + "' --exit-code 0 --clamscan-version 'clamscan 1.0'",
          "--digest " + kMirai + " --clamscan-output /nonexistent --exit-code 0 " + kVersion}) {
      INFO(args);
      const auto run = run_script(args);
      CHECK(run.status == 2);
      CHECK(run.out.empty());
    }
  }
}
