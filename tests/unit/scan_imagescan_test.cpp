// The ImageScan object (scan/imagescan.h): its name and field manager, the apply body (golden files
// in tests/fixtures/imagescan/, which tests/chart/crd_schema.py checks against the CRD's schema),
// the findings floor and the size cap, and parse_imagescan: round trips and every refusal.

#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "scan/imagescan.h"
#include "scan/scan.h"

using namespace podgate::scan;

namespace {

const std::string kDigest = "sha256:9b2a5c0d4e6f8a1b3c5d7e9f0a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e2f4a6b";
const std::string kName = "sha256-9b2a5c0d4e6f8a1b3c5d7e9f0a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e2f4a6b";
constexpr std::int64_t kScannedAt = 1763630042;  // 2025-11-20T09:14:02Z

// The golden file's text; with PODGATE_UPDATE_GOLDEN=1 in the environment, `actual` is written to it
// first (then review the diff).
std::string golden(const std::string& name, const std::string& actual) {
  const std::string path = std::string(PODGATE_FIXTURES_DIR) + "/imagescan/" + name;
  if (const char* update = std::getenv("PODGATE_UPDATE_GOLDEN"); update != nullptr && std::string_view(update) == "1")
    std::ofstream(path, std::ios::binary) << actual << '\n';
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  std::ostringstream out;
  out << in.rdbuf();
  std::string s = out.str();
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

std::string replaced(std::string text, std::string_view from, std::string_view to) {
  const auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  text.replace(at, from.size(), to);
  return text;
}

Finding vuln(std::string id, Severity s, std::string package = "libexpat1", std::string fixed = "") {
  return Finding{"vulnerability", std::move(id), std::move(package), "2.5.0-1", std::move(fixed), s};
}

ScanRecord record_of(std::vector<Finding> findings, std::string scanner = "trivy") {
  ScanRecord r;
  r.digest = kDigest;
  r.scanner = std::move(scanner);
  r.scannerVersion = "0.67.2";
  r.databaseVersion = "v2 updated 2025-11-20T06:14:03Z";
  r.scannedAt = kScannedAt;
  r.artifact = "ghcr.io/acme/web:1.4.2";
  for (const Finding& f : findings) ++r.counts[static_cast<std::size_t>(f.severity)];
  r.findings = std::move(findings);
  return r;
}

// What every test wants of a body: it reads back, one scan, and findingsOmitted says the truth.
ScanRecord read_back(const std::string& body, std::int64_t* omitted = nullptr) {
  std::string why;
  const auto o = parse_imagescan(body, &why);
  INFO(why << "\nbody: " << body);
  REQUIRE(o);
  CHECK(why.empty());
  CHECK(o->name == kName);
  CHECK(o->digest == kDigest);
  CHECK(o->bytes == body.size());
  REQUIRE(o->records.size() == 1);
  CHECK(o->newestScan == o->records[0].scannedAt);
  if (omitted != nullptr) {
    std::int64_t total = 0;
    for (int c : o->records[0].counts) total += c;
    *omitted = total - static_cast<std::int64_t>(o->records[0].findings.size());
  }
  return o->records[0];
}

void check_refused(std::string_view json, std::string_view needle) {
  std::string why;
  const auto o = parse_imagescan(json, &why);
  INFO("why: " << why);
  CHECK_FALSE(o);
  CHECK(why.starts_with("ImageScan refused: "));
  CHECK(why.find(needle) != std::string::npos);
}

// 50 findings as a Debian image's scan has them: CVE ids, ~10-character package names, Debian
// versions, severities across the range (4 CRITICAL, 10 HIGH, 16 MEDIUM, 14 LOW, 6 UNKNOWN).
ScanRecord realistic_50() {
  std::vector<Finding> findings;
  for (int i = 0; i < 50; ++i) {
    const Severity s = i < 4 ? Severity::Critical : i < 14 ? Severity::High : i < 30 ? Severity::Medium
                                                                                      : i < 44 ? Severity::Low
                                                                                               : Severity::Unknown;
    char id[32], package[32];
    std::snprintf(id, sizeof id, "CVE-2024-%05d", 12345 + i * 37);
    std::snprintf(package, sizeof package, "libpkg%04d", i);
    findings.push_back(Finding{"vulnerability", id, package, "1.2.3-4+deb12u1", i % 3 == 0 ? "" : "1.2.3-4+deb12u2", s});
  }
  ScanRecord r = record_of(std::move(findings));
  r.artifact = "docker.io/library/nginx:1.27";
  return r;
}

}  // namespace

TEST_CASE("ImageScan: names and field managers", "[scan][imagescan]") {
  CHECK(imagescan_name(kDigest) == kName);
  CHECK(imagescan_name("sha512:" + std::string(128, 'a')) == "sha512-" + std::string(128, 'a'));
  for (const std::string& bad : std::vector<std::string>{"", "sha256:abc", "sha256-" + kDigest.substr(7), "SHA256:" + kDigest.substr(7),
                                "sha256:" + std::string(64, 'A'), "ghcr.io/a@" + kDigest}) {
    INFO(bad);
    CHECK(imagescan_name(bad).empty());
  }
  CHECK(imagescan_field_manager("trivy") == "podgate-trivy");
  CHECK(imagescan_field_manager("grype") == "podgate-grype");
  CHECK(imagescan_field_manager("Trivy Operator/x") == "podgate-trivy-operator-x");
  CHECK(imagescan_field_manager(std::string(200, 'a')) == "podgate-" + std::string(64, 'a'));
}

TEST_CASE("ImageScan: the apply body, byte for byte", "[scan][imagescan][golden]") {
  SECTION("a Trivy scan: the findings below HIGH counted, not listed") {
    ScanRecord r = record_of({vuln("CVE-2024-45491", Severity::Critical, "libexpat1", "2.5.0-1+deb12u1"),
                              vuln("CVE-2023-52425", Severity::High), vuln("CVE-2024-2511", Severity::Medium, "openssl"),
                              vuln("CVE-2011-3374", Severity::Low, "apt")});
    const std::string body = imagescan_apply_body(r);
    CHECK(body == golden("trivy.json", body));
  }
  SECTION("every key the body can have: a secret, a malware verdict, every severity, no artifact") {
    ScanRecord r = record_of({Finding{"secret", "aws-access-key-id", "/app/.env", "", "", Severity::Critical},
                              Finding{"malware", "Eicar-Test-Signature", "/tmp/eicar.com", "", "", Severity::Critical},
                              vuln("CVE-2024-0001", Severity::High, "zlib1g", "1:1.2.13"),
                              vuln("CVE-2024-0002", Severity::Medium), vuln("CVE-2024-0003", Severity::Low),
                              vuln("CVE-2024-0004", Severity::Negligible), vuln("CVE-2024-0005", Severity::Unknown)},
                             "clamav");
    r.malware = MalwareResult::Malicious;
    r.artifact.clear();
    const std::string body = imagescan_apply_body(r, {.findingsFloor = Severity::Unknown});
    CHECK(body == golden("all-keys.json", body));
  }
}

TEST_CASE("ImageScan: apply body then parse gives the record back", "[scan][imagescan][roundtrip]") {
  const ImageScanLimits all{.findingsFloor = Severity::Unknown};
  SECTION("findings of every severity and kind") {
    ScanRecord r = record_of({vuln("CVE-2024-45491", Severity::Critical, "libexpat1", "2.5.0-1+deb12u1"),
                              Finding{"secret", "github-pat", "/root/.git-credentials", "", "", Severity::High},
                              vuln("CVE-2024-0004", Severity::Negligible), vuln("CVE-2024-0005", Severity::Unknown)});
    std::int64_t omitted = -1;
    CHECK(read_back(imagescan_apply_body(r, all), &omitted) == r);
    CHECK(omitted == 0);
  }
  SECTION("no findings, no versions, every malware result") {
    for (const MalwareResult m :
         {MalwareResult::None, MalwareResult::Clean, MalwareResult::Malicious, MalwareResult::Error}) {
      ScanRecord r = record_of({}, "clamav");
      r.scannerVersion.clear();
      r.databaseVersion.clear();
      r.artifact.clear();
      r.malware = m;
      CHECK(read_back(imagescan_apply_body(r, all)) == r);
    }
  }
  SECTION("a lone surrogate escape is read as U+FFFD, and the record written back reads the same") {
    // RapidJSON lets "\udc0f" through as bytes that are not UTF-8; Go's decoder reads U+FFFD.
    ScanRecord r = record_of({vuln("CVE-2024-45491", Severity::Critical, "libexpat1", "2.5.0-1")});
    std::string body = imagescan_apply_body(r, all);
    const std::string installed = "\"installed\":\"2.5.0-1\"";
    REQUIRE(body.find(installed) != std::string::npos);
    body.replace(body.find(installed), installed.size(), "\"installed\":\"2.5\\udc0f\"");
    const ScanRecord odd = read_back(body);
    REQUIRE(odd.findings.size() == 1);
    CHECK(odd.findings[0].installedVersion.find("\xEF\xBF\xBD") != std::string::npos);
    CHECK(read_back(imagescan_apply_body(odd, all)) == odd);
  }
  SECTION("a finding kind that is neither written nor read as the default") {
    ScanRecord r = record_of({Finding{"", "X-1", "", "", "", Severity::High}});
    CHECK(read_back(imagescan_apply_body(r)) == r);
  }
  SECTION("control characters, quotes and non-ASCII text") {
    ScanRecord r = record_of({vuln("GHSA-xxxx-\"q\"-\\", Severity::High, "p\xC3\xA4ket\n\t\x01", "1.0 \xE2\x80\x94 2.0")});
    r.artifact = "registry.example.com/\xE6\x97\xA5\xE6\x9C\xAC:1";
    CHECK(read_back(imagescan_apply_body(r)) == r);
  }
  SECTION("the most findings an object lists, each at its bounds") {
    std::vector<Finding> findings;
    for (std::size_t i = 0; i < kImageScanMaxFindings; ++i)
      findings.push_back(vuln("CVE-" + std::to_string(i), Severity::High));
    ScanRecord r = record_of(std::move(findings));
    r.findings[0].id = std::string(kImageScanMaxIdBytes, 'i');
    r.findings[0].package = std::string(kImageScanMaxPackageBytes, 'p');
    r.findings[0].installedVersion = std::string(kImageScanMaxPackageVersionBytes, '1');
    r.findings[0].fixedVersion = std::string(kImageScanMaxPackageVersionBytes, '2');
    r.findings[1].kind = std::string(kImageScanMaxKindBytes, 'k');
    r.scannerVersion = std::string(kImageScanMaxVersionBytes, 'v');
    r.artifact = std::string(kImageScanMaxArtifactBytes, 'a');
    CHECK(read_back(imagescan_apply_body(r, {.findingsFloor = Severity::Unknown, .maxObjectBytes = 1 << 20})) == r);
  }
}

TEST_CASE("ImageScan: the findings floor and findingsOmitted", "[scan][imagescan][floor]") {
  ScanRecord r = record_of({vuln("CVE-1", Severity::Low), vuln("CVE-2", Severity::Critical),
                            vuln("CVE-3", Severity::Medium), vuln("CVE-4", Severity::High)});
  std::int64_t omitted = -1;
  SECTION("the default floor, HIGH") {
    const ScanRecord back = read_back(imagescan_apply_body(r), &omitted);
    CHECK(back.counts == r.counts);
    REQUIRE(back.findings.size() == 2);
    CHECK(back.findings[0].id == "CVE-2");  // in the record's order
    CHECK(back.findings[1].id == "CVE-4");
    CHECK(omitted == 2);
    CHECK(imagescan_apply_body(r).find("\"findingsOmitted\":2") != std::string::npos);
  }
  SECTION("CRITICAL") {
    const ScanRecord back = read_back(imagescan_apply_body(r, {.findingsFloor = Severity::Critical}), &omitted);
    CHECK(back.findings.size() == 1);
    CHECK(omitted == 3);
  }
  SECTION("counts the record states beyond its list are kept, and counted as omitted") {
    r.counts[static_cast<std::size_t>(Severity::Critical)] = 5;
    const ScanRecord back = read_back(imagescan_apply_body(r), &omitted);
    CHECK(back.counts[static_cast<std::size_t>(Severity::Critical)] == 5);
    CHECK(omitted == 2 + 4);
  }
  SECTION("counts lower than the list are raised to it: nothing is under-counted") {
    r.counts = {};
    const ScanRecord back = read_back(imagescan_apply_body(r), &omitted);
    CHECK(back.counts[static_cast<std::size_t>(Severity::Critical)] == 1);
    CHECK(back.counts[static_cast<std::size_t>(Severity::Low)] == 1);
    CHECK(omitted == 2);
  }
  SECTION("a finding with a string past the schema's bound is counted, not listed") {
    r.findings[1].package = std::string(kImageScanMaxPackageBytes + 1, 'p');
    const ScanRecord back = read_back(imagescan_apply_body(r), &omitted);
    CHECK(back.findings.size() == 1);
    CHECK(back.counts == r.counts);
    CHECK(omitted == 3);
  }
}

TEST_CASE("ImageScan: a body past maxObjectBytes drops findings, lowest severity first", "[scan][imagescan][size]") {
  std::vector<Finding> findings;
  for (int i = 0; i < 300; ++i) {
    const Severity s = i % 3 == 0 ? Severity::Critical : i % 3 == 1 ? Severity::High : Severity::Medium;
    findings.push_back(vuln("CVE-2024-" + std::to_string(10000 + i), s, "package-" + std::to_string(i), "9.9.9-1"));
  }
  const ScanRecord r = record_of(std::move(findings));
  const ImageScanLimits all{.findingsFloor = Severity::Unknown};
  const std::size_t full = imagescan_apply_body(r, all).size();
  const std::size_t criticalOnly = imagescan_apply_body(r, {.findingsFloor = Severity::Critical}).size();

  for (const std::size_t max : {full, full - 1, full - 500, (full + criticalOnly) / 2, criticalOnly,
                                criticalOnly - 1, criticalOnly - 3000, std::size_t{1000}}) {
    INFO("maxObjectBytes " << max << " (all: " << full << ", CRITICAL only: " << criticalOnly << ")");
    const std::string body = imagescan_apply_body(r, {.findingsFloor = Severity::Unknown, .maxObjectBytes = max});
    CHECK(body.size() <= max);
    std::int64_t omitted = -1;
    const ScanRecord back = read_back(body, &omitted);
    CHECK(back.counts == r.counts);
    CHECK(omitted == 300 - static_cast<std::int64_t>(back.findings.size()));
    // Lowest first: a finding is kept only when every worse one is, and within a severity the first.
    int kept[kSeverityCount] = {};
    for (const Finding& f : back.findings) ++kept[static_cast<std::size_t>(f.severity)];
    const int med = kept[static_cast<std::size_t>(Severity::Medium)];
    const int high = kept[static_cast<std::size_t>(Severity::High)];
    const int crit = kept[static_cast<std::size_t>(Severity::Critical)];
    if (med > 0) CHECK(high == 100);
    if (high > 0) CHECK(crit == 100);
    if (max == full) CHECK(back == r);
    if (max >= criticalOnly) CHECK(crit == 100);
    if (max < criticalOnly) CHECK(crit < 100);
    // Greedy, not wasteful: one more finding would not have fit.
    if (!back.findings.empty() && back.findings.size() < 300) CHECK(body.size() + 200 > max);  // a finding is about 110 bytes
    for (std::size_t i = 1; i < back.findings.size(); ++i) {  // the record's order is kept
      CHECK(std::stoi(back.findings[i - 1].id.substr(9)) < std::stoi(back.findings[i].id.substr(9)));
    }
  }
  SECTION("too small for even the bare object") {
    CHECK_THROWS_AS(imagescan_apply_body(r, {.maxObjectBytes = 300}), std::invalid_argument);
  }
}

TEST_CASE("ImageScan: what the apply body refuses or repairs", "[scan][imagescan][body]") {
  ScanRecord r = record_of({vuln("CVE-1", Severity::High)});
  SECTION("an invalid digest, scanner or time throws") {
    ScanRecord bad = r;
    bad.digest = "sha256:abc";
    CHECK_THROWS_AS(imagescan_apply_body(bad), std::invalid_argument);
    bad = r;
    bad.scanner = "Trivy";
    CHECK_THROWS_AS(imagescan_apply_body(bad), std::invalid_argument);
    bad.scanner = "";
    CHECK_THROWS_AS(imagescan_apply_body(bad), std::invalid_argument);
    bad = r;
    bad.scannedAt = 0;
    CHECK_THROWS_AS(imagescan_apply_body(bad), std::invalid_argument);
  }
  SECTION("bytes that are not UTF-8 become U+FFFD; the body stays valid JSON") {
    r.findings[0].package = "lib\xFF\xC0\x80ssl\xED\xA0\x80";  // a stray byte, an overlong NUL, a surrogate
    r.artifact = "img\xE2\x82";                                 // cut in a character
    const ScanRecord back = read_back(imagescan_apply_body(r));
    const std::string fffd = "\xEF\xBF\xBD";
    CHECK(back.findings.at(0).package == "lib" + fffd + fffd + fffd + "ssl" + fffd + fffd + fffd);
    CHECK(back.artifact == "img" + fffd + fffd);
  }
  SECTION("record-level strings past their bound are cut on a character boundary") {
    r.artifact = std::string(kImageScanMaxArtifactBytes - 1, 'a') + "\xC3\xA4";
    r.scannerVersion = std::string(1000, 'v');
    const ScanRecord back = read_back(imagescan_apply_body(r));
    CHECK(back.artifact == std::string(kImageScanMaxArtifactBytes - 1, 'a'));
    CHECK(back.scannerVersion == std::string(kImageScanMaxVersionBytes, 'v'));
  }
}

TEST_CASE("ImageScan: an object as the apiserver returns it", "[scan][imagescan][parse]") {
  // Two scanners' entries merged by server-side apply, with the metadata the apiserver adds.
  const std::string object = R"({"apiVersion":"podgate.io/v1alpha1","kind":"ImageScan",
    "metadata":{"name":")" + kName + R"(","uid":"4a7c","resourceVersion":"918273","generation":2,
      "creationTimestamp":"2025-11-20T09:14:05Z",
      "managedFields":[{"manager":"podgate-trivy","operation":"Apply","apiVersion":"podgate.io/v1alpha1",
        "time":"2025-11-20T09:14:05Z","fieldsType":"FieldsV1","fieldsV1":{"f:spec":{"f:digest":{},
        "f:scans":{"k:{\"scanner\":\"trivy\"}":{".":{},"f:counts":{"f:critical":{}},"f:findings":{}}}}}}]},
    "spec":{"digest":")" + kDigest + R"(","scans":[
      {"scanner":"trivy","scannerVersion":"0.67.2","scannedAt":"2025-11-20T09:14:02Z","malware":"none",
       "counts":{"critical":1,"low":7},"findingsOmitted":7,
       "findings":[{"id":"CVE-2024-45491","severity":"CRITICAL","package":"libexpat1","installed":"2.5.0-1",
                    "fixed":"2.5.0-1+deb12u1","futureField":true}]},
      {"scanner":"clamav","scannedAt":"2025-11-21T00:00:00+02:00","malware":"clean","counts":{},
       "findingsOmitted":0,"findings":[],"futureField":{}}]}})";
  std::string why;
  const auto o = parse_imagescan(object, &why);
  INFO(why);
  REQUIRE(o);
  CHECK(o->name == kName);
  CHECK(o->digest == kDigest);
  CHECK(o->resourceVersion == "918273");
  CHECK(o->bytes == object.size());
  REQUIRE(o->records.size() == 2);
  CHECK(o->records[0].scanner == "trivy");
  CHECK(o->records[0].digest == kDigest);
  CHECK(o->records[0].counts[static_cast<std::size_t>(Severity::Low)] == 7);
  CHECK(o->records[0].findings.size() == 1);
  CHECK(o->records[1].scanner == "clamav");
  CHECK(o->records[1].digest == kDigest);
  CHECK(o->records[1].malware == MalwareResult::Clean);
  CHECK(o->records[1].scannedAt == 1763676000);  // 2025-11-20T22:00:00Z
  CHECK(o->newestScan == 1763676000);

  SECTION("without apiVersion and kind, as some list items come, and without scans") {
    const std::string bare = R"({"metadata":{"name":")" + kName + R"("},"spec":{"digest":")" + kDigest + R"("}})";
    const auto b = parse_imagescan(bare);
    REQUIRE(b);
    CHECK(b->records.empty());
    CHECK(b->newestScan == 0);
  }
}

TEST_CASE("ImageScan: what parse_imagescan refuses", "[scan][imagescan][refused]") {
  const std::string good = imagescan_apply_body(
      record_of({vuln("CVE-2024-45491", Severity::Critical), vuln("CVE-2011-3374", Severity::Low)}),
      {.findingsFloor = Severity::Unknown});
  REQUIRE(parse_imagescan(good));
  const std::string other = "sha256:" + std::string(64, 'e');
  check_refused(replaced(good, kName, imagescan_name(other)), "does not match spec.digest");
  check_refused(replaced(good, "\"digest\":\"" + kDigest, "\"digest\":\"" + other), "does not match spec.digest");
  check_refused(replaced(replaced(good, kName, "sha256-ABC"), kDigest, "sha256:ABC"), "malformed digest");
  check_refused(replaced(good, "podgate.io/v1alpha1", "podgate.io/v1"), "apiVersion");
  check_refused(replaced(good, "\"ImageScan\"", "\"ScanVerdict\""), "kind");
  check_refused(replaced(good, "\"CRITICAL\"", "\"SEVERE\""), "findings[0].severity: unknown severity");
  check_refused(replaced(good, "\"critical\":1", "\"critcal\":1"), "counts.critcal: unknown severity");
  check_refused(replaced(good, "\"critical\":1", "\"critical\":-1"), "counts.critical");
  check_refused(replaced(good, "\"critical\":1", "\"critical\":1.5"), "counts.critical is a number");
  check_refused(replaced(good, "\"critical\":1", "\"critical\":\"1\""), "counts.critical");
  check_refused(replaced(good, "\"critical\":1", "\"critical\":1,\"critical\":0"), "given twice");
  check_refused(replaced(good, "\"low\":1", "\"low\":0"), "findings listed at LOW but counts.low is 0");
  check_refused(replaced(good, "\"findingsOmitted\":0", "\"findingsOmitted\":1"), "findingsOmitted is 1");
  check_refused(replaced(good, "\"findingsOmitted\":0,", ""), "findingsOmitted is missing");
  check_refused(replaced(good, "\"counts\":{\"critical\":1,\"high\":0,\"medium\":0,\"low\":1,\"negligible\":0,\"unknown\":0},", ""),
                "counts is missing");
  check_refused(replaced(good, "\"malware\":\"none\"", "\"malware\":\"infected\""), "unknown result");
  check_refused(replaced(good, "\"malware\":\"none\",", ""), "malware is missing");
  check_refused(replaced(good, "\"scanner\":\"trivy\"", "\"scanner\":\"Trivy\""), "scanner");
  check_refused(replaced(good, "2025-11-20T09:14:02Z", "2025-11-20"), "not an RFC 3339 time");
  check_refused(replaced(good, "\"id\":\"CVE-2024-45491\"", "\"id\":\"\""), "id is empty");
  check_refused(replaced(good, "\"id\":\"CVE-2024-45491\"", "\"id\":\"" + std::string(257, 'x') + "\""),
                "more than 256");
  check_refused(replaced(good, "\"findings\":[", "\"findings\":[1,"), "expected an object");
  check_refused(replaced(good, "\"metadata\":{\"name\":\"" + kName + "\"}", "\"metadata\":{}"), "name is missing");
  // The same scanner twice (a broken merge) would let the judge see two different answers.
  {
    const auto at = good.find("{\"scanner\"");
    const auto end = good.rfind("]}");
    const std::string entry = good.substr(at, end - at);
    check_refused(replaced(good, entry, entry + "," + entry), "listed twice");
    std::string many = entry;
    for (int i = 0; i < 16; ++i) many += "," + replaced(entry, "\"trivy\"", "\"s" + std::to_string(i) + "\"");
    check_refused(replaced(good, entry, many), "more than 16");
  }
  check_refused("", "not valid JSON");
  check_refused("[]", "is an array, expected an object");
  check_refused(std::string("{\"a\":\"\xC0\x80\"}"), "not valid JSON");
  check_refused(std::string("{\"a\":1}\0{", 10), "NUL");
  check_refused(std::string(40, '[') + std::string(40, ']'), "deeper than 32");
  check_refused(std::string(kImageScanMaxParseBytes + 1, ' '), "more than the limit");
  // why may be null.
  CHECK_FALSE(parse_imagescan("{}", nullptr));
}

TEST_CASE("ImageScan: the size of a realistic object", "[scan][imagescan][size]") {
  // Reported, and bounded: 10,000 such objects with ~600 bytes of metadata and managedFields each
  // must stay well under 50 MiB in etcd.
  const ScanRecord r = realistic_50();
  const std::string floorHigh = imagescan_apply_body(r);
  const std::string everything = imagescan_apply_body(r, {.findingsFloor = Severity::Unknown});
  WARN("apply body, 50 findings (4 CRITICAL, 10 HIGH, 16 MEDIUM, 14 LOW, 6 UNKNOWN): " << floorHigh.size()
       << " bytes with the default floor (HIGH, 14 listed), " << everything.size() << " bytes with every finding listed");
  CHECK(read_back(everything) == r);
  CHECK(floorHigh.size() < 2500);
  CHECK(everything.size() < 7000);  // about 115 bytes a finding
}
