// parse_vulnerability_report on Trivy Operator objects (tests/fixtures/trivy-operator/, written to
// the schema in the operator's vulnerability_types.go): the record, the image name, the counts
// against the summary, and each skip reason. The large reports are generated here, not committed.

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "scan/imagescan.h"
#include "support/temp_dir.h"
#include "scan/scan.h"
#include "scan/trivy_operator.h"

using namespace podgate::scan;

namespace {

const std::string kWebDigest = "sha256:9b2a5c0d4e6f8a1b3c5d7e9f0a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e2f4a6b";

std::string fixture(const std::string& name) {
  return podgate::test::read_file(std::string(PODGATE_FIXTURES_DIR) + "/trivy-operator/" + name);
}

std::string replaced(std::string text, std::string_view from, std::string_view to) {
  const auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  text.replace(at, from.size(), to);
  return text;
}

int count(const ScanRecord& r, Severity s) { return r.counts[static_cast<std::size_t>(s)]; }

void check_skipped(const TrivyOperatorScan& s, std::string_view reason, std::string_view detailPart = {}) {
  INFO("skipReason: " << s.skipReason << "; detail: " << s.detail);
  CHECK_FALSE(s.record);
  CHECK(s.skipReason == reason);
  CHECK(s.detail.find(detailPart) != std::string::npos);
}

// A VulnerabilityReport with `n` vulnerabilities, each with the fields the operator always writes
// (title, dates, links, target) and a long title: about 400 bytes each, as the operator's are.
std::string report_with(std::size_t n) {
  std::string s = R"({"apiVersion": "aquasecurity.github.io/v1alpha1", "kind": "VulnerabilityReport",
    "metadata": {"name": "replicaset-old-1-app", "namespace": "legacy"},
    "report": {"updateTimestamp": "2025-11-20T09:14:02Z", "scanner": {"name": "Trivy", "version": "0.67.2"},
      "registry": {"server": "index.docker.io"},
      "artifact": {"repository": "library/debian", "tag": "9", "digest": ")" +
                  kWebDigest + R"("},
      "summary": {"criticalCount": 0, "highCount": 0, "mediumCount": 0, "lowCount": )" +
                  std::to_string(n) + R"(, "unknownCount": 0},
      "vulnerabilities": [)";
  s.reserve(n * 420 + 1000);
  for (std::size_t i = 0; i < n; ++i) {
    if (i) s += ',';
    s += R"({"vulnerabilityID": "CVE-2019-)" + std::to_string(10000 + i) +
         R"(", "resource": "libsomething)" + std::to_string(i % 50) +
         R"(", "installedVersion": "1.2.3-4+deb9u1", "fixedVersion": "", "severity": "LOW", "score": 5.5,
         "title": "libsomething: a long description of a denial of service through a crafted input file",
         "primaryLink": "https://avd.aquasec.com/nvd/cve-2019-)" +
         std::to_string(10000 + i) +
         R"(", "publishedDate": "2019-06-01T12:00:00Z", "lastModifiedDate": "2023-11-07T02:00:00Z",
         "links": [], "target": ""})";
  }
  s += "]}}";
  return s;
}

}  // namespace

TEST_CASE("Trivy Operator: the minimal report is a trivy record keyed by its digest", "[scan][trivy-operator]") {
  const TrivyOperatorScan s = parse_vulnerability_report(fixture("minimal.json"));
  INFO(s.skipReason << ": " << s.detail);
  REQUIRE(s.record);
  CHECK(s.skipReason.empty());
  const ScanRecord& r = *s.record;
  CHECK(r.digest == kWebDigest);
  CHECK(r.scanner == "trivy");
  CHECK(r.scannerVersion == "0.67.2");
  CHECK(r.databaseVersion.empty());
  CHECK(r.scannedAt == 1763630042);  // 2025-11-20T09:14:02Z
  CHECK(r.malware == MalwareResult::None);
  CHECK(s.image == "ghcr.io/acme/web:1.4.2");
  CHECK(r.artifact == s.image);
  REQUIRE(r.findings.size() == 2);
  CHECK(r.findings[0] == Finding{"vulnerability", "CVE-2024-45491", "libexpat1", "2.5.0-1", "2.5.0-1+deb12u1",
                                 Severity::Critical});
  CHECK(r.findings[1] ==
        Finding{"vulnerability", "CVE-2023-52425", "libexpat1", "2.5.0-1", "", Severity::High});
  CHECK(count(r, Severity::Critical) == 1);
  CHECK(count(r, Severity::High) == 1);
  CHECK(count(r, Severity::Medium) == 0);
}

TEST_CASE("Trivy Operator: image names are normalised as a pod spec's are", "[scan][trivy-operator]") {
  SECTION("index.docker.io and library/nginx") {
    const TrivyOperatorScan s = parse_vulnerability_report(fixture("dockerhub-nginx.json"));
    REQUIRE(s.record);
    CHECK(s.image == "docker.io/library/nginx:1.27");
    CHECK(s.record->digest == "sha256:6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a");
    CHECK(s.record->findings.size() == 4);
    CHECK(count(*s.record, Severity::High) == 1);
    CHECK(count(*s.record, Severity::Medium) == 1);
    CHECK(count(*s.record, Severity::Low) == 2);
    // A Debian tracker id is an id like any other.
    CHECK(s.record->findings[3].id == "TEMP-0841856-B18BAF");
  }
  SECTION("a registry with a port, and the name-hash label variant (labels are not read)") {
    const TrivyOperatorScan s = parse_vulnerability_report(fixture("name-hash.json"));
    REQUIRE(s.record);
    CHECK(s.image == "registry.example.com:5000/payments/settlement:2.0.0");
    CHECK(s.record->findings.empty());
    CHECK(s.record->counts == std::array<int, kSeverityCount>{});
  }
  SECTION("no registry server: Docker Hub, as the operator means it") {
    const TrivyOperatorScan s =
        parse_vulnerability_report(replaced(fixture("minimal.json"), R"("server": "ghcr.io")", R"("server": "")"));
    REQUIRE(s.record);
    CHECK(s.image == "docker.io/acme/web:1.4.2");
  }
  SECTION("a repository the reference grammar refuses is kept as written, for logs") {
    const TrivyOperatorScan s =
        parse_vulnerability_report(replaced(fixture("minimal.json"), R"("acme/web")", R"("Acme/Web")"));
    REQUIRE(s.record);
    CHECK(s.image == "ghcr.io/Acme/Web:1.4.2");
  }
}

TEST_CASE("Trivy Operator: counts never fall below the summary, and duplicates are not counted twice",
          "[scan][trivy-operator][counts]") {
  SECTION("a ClusterVulnerabilityReport whose summary counts more than it lists") {
    const TrivyOperatorScan s = parse_vulnerability_report(fixture("cluster-summary-beyond-list.json"));
    REQUIRE(s.record);
    CHECK(s.image == "registry.k8s.io/kube-apiserver:v1.31.2");
    CHECK(s.record->findings.size() == 2);
    CHECK(count(*s.record, Severity::Critical) == 3);  // 1 listed, 2 counted only
    CHECK(count(*s.record, Severity::High) == 1);
  }
  SECTION("a summary lower than the list: the list counts") {
    const TrivyOperatorScan s = parse_vulnerability_report(
        replaced(fixture("minimal.json"), R"("criticalCount": 1)", R"("criticalCount": 0)"));
    REQUIRE(s.record);
    CHECK(count(*s.record, Severity::Critical) == 1);
  }
  SECTION("the same vulnerability in two targets is one finding, and the summary's 2 adds none") {
    std::string json = fixture("minimal.json");
    const std::string entry = R"({"vulnerabilityID": "CVE-2024-45491", "resource": "libexpat1",
      "installedVersion": "2.5.0-1", "fixedVersion": "2.5.0-1+deb12u1", "severity": "CRITICAL", "target": "/usr/lib"},)";
    json = replaced(json, R"("vulnerabilities": [)", R"("vulnerabilities": [)" + entry);
    json = replaced(json, R"("criticalCount": 1)", R"("criticalCount": 2)");
    const TrivyOperatorScan s = parse_vulnerability_report(json);
    REQUIRE(s.record);
    CHECK(s.record->findings.size() == 2);
    CHECK(count(*s.record, Severity::Critical) == 1);
  }
  SECTION("no summary at all: the list counts") {
    const TrivyOperatorScan s = parse_vulnerability_report(replaced(
        fixture("minimal.json"),
        R"("summary": {
      "criticalCount": 1,
      "highCount": 1,
      "mediumCount": 0,
      "lowCount": 0,
      "unknownCount": 0
    },)",
        ""));
    REQUIRE(s.record);
    CHECK(count(*s.record, Severity::Critical) == 1);
    CHECK(count(*s.record, Severity::High) == 1);
  }
}

TEST_CASE("Trivy Operator: reports that are skipped, and why", "[scan][trivy-operator][skip]") {
  const std::string minimal = fixture("minimal.json");
  SECTION("no digest (a filesystem-mode scan), with the image still named") {
    const TrivyOperatorScan s = parse_vulnerability_report(fixture("no-digest.json"));
    check_skipped(s, "no digest", "report.artifact.digest");
    CHECK(s.image == "ghcr.io/acme/web:1.4.2");
  }
  SECTION("an empty digest") {
    check_skipped(parse_vulnerability_report(replaced(minimal, kWebDigest, "")), "no digest");
  }
  SECTION("malformed digests") {
    for (const std::string& bad : std::vector<std::string>{"sha256:9B2A", "sha256:" + std::string(63, 'a'), "md5:abc",
                                  "sha512:" + std::string(128, 'a'), "ghcr.io/acme/web@" + kWebDigest}) {
      INFO(bad);
      check_skipped(parse_vulnerability_report(replaced(minimal, kWebDigest, bad)), "malformed digest");
    }
  }
  SECTION("not a vulnerability report") {
    check_skipped(parse_vulnerability_report(replaced(minimal, "\"VulnerabilityReport\"", "\"ExposedSecretReport\"")),
                  "not a vulnerability report", "ExposedSecretReport");
    check_skipped(parse_vulnerability_report(replaced(minimal, "aquasecurity.github.io/v1alpha1", "v1")),
                  "not a vulnerability report");
    check_skipped(parse_vulnerability_report("[]"), "not a vulnerability report");
  }
  SECTION("not JSON") {
    check_skipped(parse_vulnerability_report("{"), "not json");
    check_skipped(parse_vulnerability_report(std::string("{\"a\": \"\xff\"}")), "not json");
    check_skipped(parse_vulnerability_report(std::string(100, '[')), "not json", "deeper");
  }
  SECTION("malformed reports") {
    check_skipped(parse_vulnerability_report(replaced(minimal, "\"CRITICAL\"", "\"SEVERE\"")), "malformed report",
                  "vulnerabilities[0].severity");
    check_skipped(parse_vulnerability_report(replaced(minimal, "2025-11-20T09:14:02Z", "yesterday")),
                  "malformed report", "updateTimestamp");
    check_skipped(parse_vulnerability_report(replaced(minimal, "\"updateTimestamp\"", "\"updatedAt\"")),
                  "malformed report", "updateTimestamp is missing");
    check_skipped(parse_vulnerability_report(replaced(minimal, "\"criticalCount\": 1", "\"criticalCount\": \"1\"")),
                  "malformed report", "criticalCount");
    check_skipped(parse_vulnerability_report(replaced(minimal, "\"criticalCount\": 1", "\"criticalCount\": -1")),
                  "malformed report", "criticalCount");
    check_skipped(parse_vulnerability_report(replaced(minimal, "\"vulnerabilityID\": \"CVE-2024-45491\"",
                                                      "\"vulnerabilityID\": \"\"")),
                  "malformed report", "vulnerabilityID is empty");
    check_skipped(parse_vulnerability_report(
                      replaced(minimal, "\"resource\": \"libexpat1\"", "\"resource\": \"a\", \"resource\": \"b\"")),
                  "malformed report", "given twice");
    // A time from the future is a broken clock, and such a record would never go stale.
    check_skipped(parse_vulnerability_report(replaced(minimal, "2025-11-20T09:14:02Z", "2999-01-01T00:00:00Z")),
                  "malformed report", "future");
  }
}

TEST_CASE("Trivy Operator: size bounds", "[scan][trivy-operator][bounds]") {
  SECTION("a 1.5 MB report (3,600 vulnerabilities, the operator's largest) is read") {
    const std::string json = report_with(3600);
    REQUIRE(json.size() > 1500000);
    REQUIRE(json.size() < kTrivyOperatorMaxReportBytes);
    const TrivyOperatorScan s = parse_vulnerability_report(json);
    INFO(s.skipReason << ": " << s.detail);
    REQUIRE(s.record);
    CHECK(s.record->findings.size() == 3600);
    CHECK(count(*s.record, Severity::Low) == 3600);
    CHECK(s.image == "docker.io/library/debian:9");
    // Its ImageScan keeps the counts and lists none of them (LOW is below the floor).
    const auto o = parse_imagescan(imagescan_apply_body(*s.record));
    REQUIRE(o);
    CHECK(o->records.at(0).findings.empty());
    CHECK(o->records.at(0).counts == s.record->counts);
  }
  SECTION("past 4 MiB it is refused unread") {
    const std::string json = report_with(10500);
    REQUIRE(json.size() > kTrivyOperatorMaxReportBytes);
    check_skipped(parse_vulnerability_report(json), "too large", "bytes");
  }
}

TEST_CASE("Trivy Operator: the record makes an ImageScan that reads back equal", "[scan][trivy-operator][imagescan]") {
  for (const char* name : {"minimal.json", "dockerhub-nginx.json", "name-hash.json", "cluster-summary-beyond-list.json"}) {
    INFO(name);
    const TrivyOperatorScan s = parse_vulnerability_report(fixture(name));
    REQUIRE(s.record);
    std::string why;
    const auto o = parse_imagescan(imagescan_apply_body(*s.record, {.findingsFloor = Severity::Unknown}), &why);
    INFO(why);
    REQUIRE(o);
    REQUIRE(o->records.size() == 1);
    CHECK(o->records[0] == *s.record);
  }
}
