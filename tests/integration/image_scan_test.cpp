// The scan rule end to end: images pushed to a real registry (tests/support/test_registry.h),
// reports written for the digests it actually produced, imported over the HTTPS API of a running
// `podgate serve` (and with `podgate scans import`), then reviews judged by the scan cache.

#include <catch2/catch.hpp>
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "support/helpers.h"
#include "support/https_client.h"
#include "support/process.h"
#include "support/review_body.h"
#include "support/served_podgate.h"
#include "support/temp_dir.h"
#include "support/test_registry.h"

namespace pt = podgate::test;
using namespace std::chrono_literals;

namespace {

std::string rfc3339_days_ago(int days) {
  const std::time_t t = std::time(nullptr) - static_cast<std::time_t>(days) * 86400;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

struct Vuln {
  std::string id, package, installed, fixed, severity;
};

// A Trivy (SchemaVersion 2) report as `trivy image --format json` writes it, for one image.
std::string trivy_report(const std::string& repo_digest, const std::vector<Vuln>& vulns, int days_ago = 0) {
  std::string list;
  for (const auto& v : vulns) {
    if (!list.empty()) list += ',';
    list += "{\"VulnerabilityID\":\"" + v.id + "\",\"PkgName\":\"" + v.package + "\",\"InstalledVersion\":\"" +
            v.installed + "\",\"FixedVersion\":\"" + v.fixed + "\",\"Status\":\"fixed\",\"Severity\":\"" + v.severity +
            "\",\"Title\":\"test finding\"}";
  }
  return "{\"SchemaVersion\":2,\"CreatedAt\":\"" + rfc3339_days_ago(days_ago) +
         "\",\"ArtifactName\":\"" + repo_digest + "\",\"ArtifactType\":\"container_image\","
         "\"Metadata\":{\"OS\":{\"Family\":\"debian\",\"Name\":\"12.5\"},"
         "\"ImageID\":\"sha256:1111111111111111111111111111111111111111111111111111111111111111\","
         "\"RepoTags\":[],\"RepoDigests\":[\"" + repo_digest + "\"]},"
         "\"Results\":[{\"Target\":\"app (debian 12.5)\",\"Class\":\"os-pkgs\",\"Type\":\"debian\","
         "\"Vulnerabilities\":[" + list + "]}]}";
}

// A podgate verdict (docs/scan-verdicts.md) from a malware scanner.
std::string malware_verdict(const std::string& digest, const std::string& signature) {
  return "{\"apiVersion\":\"podgate.io/v1\",\"kind\":\"ScanVerdict\",\"digest\":\"" + digest +
         "\",\"scanner\":{\"name\":\"clamav\",\"version\":\"1.0.7\",\"database\":\"27500\"},"
         "\"time\":\"" + rfc3339_days_ago(0) + "\",\"result\":\"malicious\","
         "\"findings\":[{\"id\":\"" + signature + "\",\"path\":\"/usr/bin/.x\",\"severity\":\"CRITICAL\"}]}";
}

const Vuln kXz{"CVE-2024-3094", "xz-utils", "5.6.0-0.2", "5.6.1+really5.4.5-1", "CRITICAL"};
const Vuln kLow{"CVE-2023-4039", "gcc-12", "12.2.0-14", "", "LOW"};
const Vuln kAccepted{"CVE-2023-44487", "nghttp2", "1.52.0-1", "1.52.0-1+deb12u1", "CRITICAL"};

struct Images {
  std::string vulnerable, clean, unscanned, stale, accepted, malicious, multi;
  std::string vulnerableDigest, malwareDigest;
};

}  // namespace

TEST_CASE("scan rule: reports imported over HTTPS judge the images a real registry serves", "[images][scan][binary]") {
  pt::TestRegistry reg;
  const std::string h = reg.host();
  Images im;
  im.vulnerable = h + "/team/vulnerable:1";
  im.clean = h + "/team/clean:1";
  im.unscanned = h + "/team/unscanned:1";
  im.stale = h + "/team/stale:1";
  im.accepted = h + "/team/accepted:1";
  im.malicious = h + "/team/miner:1";
  im.multi = h + "/team/multi:1";
  im.vulnerableDigest = reg.push_image("team/vulnerable", "1");
  const std::string clean = reg.push_image("team/clean", "1");
  reg.push_image("team/unscanned", "1");
  const std::string stale = reg.push_image("team/stale", "1");
  const std::string accepted = reg.push_image("team/accepted", "1");
  im.malwareDigest = reg.push_image("team/miner", "1");
  const auto index = reg.push_index("team/multi", "1");

  pt::TempDir dir("podgate-scan");
  pt::write_file(dir.file("token"), "s3cret-scan-token-0123456789abcdef\n");
  const std::string config = "rules:\n  images:\n    action: deny\n"
                             "    scan:\n      action: deny\n      severityThreshold: HIGH\n"
                             "      ignore: [{id: CVE-2023-44487, reason: \"no HTTP/2 server in the image\"}]\n"
                             "registries:\n  - host: \"" + h + "\"\n    caFile: \"" + reg.ca_file() + "\"\n"
                             "scans:\n  database: \"" + dir.file("scans.db") + "\"\n"
                             "  apiTokenFile: \"" + dir.file("token") + "\"\n";
  auto served = std::make_unique<pt::ServedPodgate>(config);

  auto post = [&](const std::string& body, const std::string& token) {
    pt::HttpsClient c(served->client());
    std::string raw = "POST /v1/scans HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n";
    if (!token.empty()) raw += "Authorization: Bearer " + token + "\r\n";
    raw += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    c.connect();
    c.send_raw(raw);
    return c.read_response();
  };
  auto review = [&](const std::string& image, const std::string& route = "/validate") {
    pt::HttpsClient c(served->client());
    auto r = c.request("POST", route, pt::pod_review_with_images("u", {image}));
    REQUIRE(r.status == 200);
    return r.body;
  };

  SECTION("the API refuses a missing or wrong token, and imports with the right one") {
    const std::string report = trivy_report(h + "/team/vulnerable@" + im.vulnerableDigest, {kXz, kLow});
    auto none = post(report, "");
    CHECK(none.status == 401);
    CHECK(none.header("WWW-Authenticate") == "Bearer realm=\"podgate\"");
    CHECK(post(report, "wrong-token").status == 401);
    auto ok = post(report, "s3cret-scan-token-0123456789abcdef");
    REQUIRE(ok.status == 201);
    CHECK(pt::contains(ok.body, im.vulnerableDigest));
    CHECK(pt::contains(ok.body, "\"stored\":true"));
    auto again = post(report, "s3cret-scan-token-0123456789abcdef");
    CHECK(again.status == 200);  // nothing newer: unchanged
    CHECK(pt::contains(again.body, "\"stored\":false"));
    auto archive = post("{\"SchemaVersion\":2,\"CreatedAt\":\"2026-11-01T00:00:00Z\",\"ArtifactName\":\"app.tar\","
                        "\"ArtifactType\":\"container_image\",\"Metadata\":{\"ImageID\":\"sha256:" +
                            std::string(64, '2') + "\",\"RepoDigests\":[]},\"Results\":[]}",
                        "s3cret-scan-token-0123456789abcdef");
    CHECK(archive.status == 422);
    CHECK(pt::contains(archive.body, "RepoDigests"));
  }

  SECTION("verdicts: vulnerable, clean, unscanned, stale, ignored, a child of an index, malicious") {
    const std::string token = "s3cret-scan-token-0123456789abcdef";
    REQUIRE(post(trivy_report(h + "/team/vulnerable@" + im.vulnerableDigest, {kXz, kLow}), token).status == 201);
    REQUIRE(post(trivy_report(h + "/team/clean@" + clean, {kLow}), token).status == 201);
    REQUIRE(post(trivy_report(h + "/team/stale@" + stale, {}, 30), token).status == 201);
    REQUIRE(post(trivy_report(h + "/team/accepted@" + accepted, {kAccepted}), token).status == 201);
    // The scanner saw one platform's manifest: the index is judged by it.
    REQUIRE(post(trivy_report(h + "/team/multi@" + index.children[1].second, {kXz}), token).status == 201);
    REQUIRE(post(malware_verdict(im.malwareDigest, "Unix.Trojan.Mirai-9976015-0"), token).status == 201);

    const std::string vulnerable = review(im.vulnerable);
    CHECK(pt::contains(vulnerable, "\"allowed\":false"));
    CHECK(pt::contains(vulnerable, "CVE-2024-3094 (CRITICAL, xz-utils, fixed in 5.6.1+really5.4.5-1)"));
    CHECK_FALSE(pt::contains(vulnerable, "CVE-2023-4039"));  // LOW is under the HIGH threshold

    const std::string ok = review(im.clean);
    CHECK(pt::contains(ok, "\"allowed\":true"));
    CHECK(pt::contains(ok, "\\\"scan\\\":\\\"clean\\\""));  // the audit annotation records the verdict
    CHECK(pt::contains(ok, "trivy"));

    const std::string unscanned = review(im.unscanned);
    CHECK(pt::contains(unscanned, "\"allowed\":false"));
    CHECK(pt::contains(unscanned, "has not been scanned"));
    const std::string audited = review(im.unscanned, "/audit");
    CHECK(pt::contains(audited, "\"allowed\":true"));
    CHECK(pt::contains(audited, "would deny"));

    const std::string old = review(im.stale);
    CHECK(pt::contains(old, "\"allowed\":false"));
    CHECK(pt::contains(old, "whose newest scan is 30 days old"));

    CHECK(pt::contains(review(im.accepted), "\"allowed\":true"));

    const std::string multi = review(im.multi);
    CHECK(pt::contains(multi, "\"allowed\":false"));
    CHECK(pt::contains(multi, "CVE-2024-3094"));

    const std::string miner = review(im.malicious);
    CHECK(pt::contains(miner, "\"allowed\":false"));
    CHECK(pt::contains(miner, "found malicious (Unix.Trojan.Mirai-9976015-0 in /usr/bin/.x)"));
    const std::string miner_audit = review(im.malicious, "/audit");
    CHECK(pt::contains(miner_audit, "\"allowed\":false"));  // denied even on the audit route

    // GET /v1/scans/<digest> shows what podgate knows; the scans survive a restart.
    served->process->signal(SIGTERM);
    REQUIRE(served->process->wait_for(20s) == 0);
    served.reset();
    served = std::make_unique<pt::ServedPodgate>(config);
    pt::HttpsClient c(served->client());
    c.connect();
    c.send_raw("GET /v1/scans/" + im.vulnerableDigest +
               " HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer s3cret-scan-token-0123456789abcdef\r\n\r\n");
    const auto shown = c.read_response();
    CHECK(shown.status == 200);
    CHECK(pt::contains(shown.body, "CVE-2024-3094"));
    CHECK(pt::contains(review(im.vulnerable), "\"allowed\":false"));
  }
}

TEST_CASE("podgate scans import, show and list work on the database file", "[scan][binary]") {
  pt::TempDir dir("podgate-scans-cli");
  const std::string digest = "sha256:" + std::string(64, 'c');
  pt::write_file(dir.file("podgate.yaml"), "scans:\n  database: \"" + dir.file("scans.db") + "\"\n");
  pt::write_file(dir.file("trivy.json"), trivy_report("registry.example.com/app@" + digest, {kXz}));
  pt::write_file(dir.file("broken.json"), "{\"not\": \"a report\"}");

  pt::Process import({PODGATE_BINARY, "scans", "import", "--config", dir.file("podgate.yaml"), dir.file("trivy.json")});
  REQUIRE(import.wait_for(30s) == 0);
  CHECK(pt::contains(import.stdout_text(), digest));
  CHECK(pt::contains(import.stdout_text(), "stored"));

  pt::Process bad({PODGATE_BINARY, "scans", "import", "--config", dir.file("podgate.yaml"), dir.file("broken.json")});
  REQUIRE(bad.wait_for(30s) == 1);
  CHECK(pt::contains(bad.stderr_text(), "broken.json"));

  pt::Process show({PODGATE_BINARY, "scans", "show", "--config", dir.file("podgate.yaml"), digest});
  REQUIRE(show.wait_for(30s) == 0);
  CHECK(pt::contains(show.stdout_text(), "CVE-2024-3094"));

  pt::Process list({PODGATE_BINARY, "scans", "list", "--config", dir.file("podgate.yaml")});
  REQUIRE(list.wait_for(30s) == 0);
  CHECK(pt::contains(list.stdout_text(), digest));
  CHECK(pt::contains(list.stderr_text(), "1 scans of 1 digests"));

  // `podgate review` judges with the same database, as the server would (a pinned image needs
  // no registry).
  pt::write_file(dir.file("scan-on.yaml"), "rules:\n  images:\n    action: deny\n    scan: {action: deny}\n"
                                           "scans:\n  database: \"" + dir.file("scans.db") + "\"\n");
  pt::write_file(dir.file("review.json"), pt::pod_review_with_images("u", {"registry.example.com/app@" + digest}));
  pt::Process review({PODGATE_BINARY, "review", "--config", dir.file("scan-on.yaml"), dir.file("review.json")});
  REQUIRE(review.wait_for(30s) == 0);
  CHECK(pt::contains(review.stdout_text(), "\"allowed\":false"));
  CHECK(pt::contains(review.stdout_text(), "CVE-2024-3094"));
}

TEST_CASE("scan API: 404 without a token file, and its own body limit refused before the body", "[scan][binary]") {
  pt::TempDir dir("podgate-scan-api");
  SECTION("off") {
    pt::ServedPodgate served("scans:\n  database: \"" + dir.file("scans.db") + "\"\n");
    pt::HttpsClient c(served.client());
    CHECK(c.request("POST", "/v1/scans", "{}").status == 404);
  }
  SECTION("on, with maxReportBytes 2Ki: a larger Content-Length gets 413 at once") {
    pt::write_file(dir.file("token"), "t0ken-0123456789abcdef0123456789ab");
    pt::ServedPodgate served("scans:\n  database: \"" + dir.file("scans.db") + "\"\n  apiTokenFile: \"" +
                             dir.file("token") + "\"\n  maxReportBytes: 2Ki\n");
    pt::HttpsClient c(served.client());
    c.connect();
    c.send_raw("POST /v1/scans HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer t0ken-0123456789abcdef0123456789ab\r\nContent-Length: 4096\r\n\r\n");
    CHECK(c.read_response().status == 413);
    pt::HttpsClient d(served.client());
    auto get = d.request("GET", "/v1/scans/not-a-digest");
    CHECK(get.status == 401);  // the token is checked before anything else
  }
}

// ---------------------------------------------------------------------------------------------
// Benchmark (hidden; bench/scan_store.sh runs it): a warm review (digest cached, scan cached)
// with the scan rule on, against the same review with it off, in the same run.
TEST_CASE("bench: warm review cost of the scan rule", "[.bench]") {
  pt::TestRegistry reg;
  const std::string digest = reg.push_image("team/app", "1");
  const std::string image = reg.host() + "/team/app:1";
  pt::TempDir dir("podgate-scan-bench");
  pt::write_file(dir.file("token"), "bench-token-0123456789abcdef0123456789");
  std::vector<Vuln> vulns;
  for (int i = 0; i < 200; ++i)  // a realistic report: many findings under the threshold
    vulns.push_back(Vuln{"CVE-2024-" + std::to_string(10000 + i), "pkg" + std::to_string(i), "1.0", "1.1", "MEDIUM"});
  const std::string report = trivy_report(reg.host() + "/team/app@" + digest, vulns);
  auto measure = [&](bool scan_on) {
    const std::string config = std::string("rules:\n  images:\n    action: deny\n") +
                               (scan_on ? "    scan: {action: deny}\n" : "") + "registries:\n  - host: \"" + reg.host() +
                               "\"\n    caFile: \"" + reg.ca_file() + "\"\n" + "scans:\n  database: \"" +
                               dir.file(scan_on ? "on.db" : "off.db") + "\"\n  apiTokenFile: \"" + dir.file("token") + "\"\n";
    pt::ServedPodgate served(config);
    pt::HttpsClient c(served.client());
    c.connect();
    c.send_raw("POST /v1/scans HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer bench-token-0123456789abcdef0123456789\r\nContent-Length: " +
               std::to_string(report.size()) + "\r\n\r\n" + report);
    REQUIRE(c.read_response().status == 201);
    const std::string body = pt::pod_review_with_images("b", {image});
    for (int i = 0; i < 50; ++i) REQUIRE(c.request("POST", "/validate", body).status == 200);  // warm both caches
    std::vector<double> ms;
    for (int i = 0; i < 2000; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      auto r = c.request("POST", "/validate", body);
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      REQUIRE(pt::contains(r.body, "\"allowed\":true"));
    }
    std::sort(ms.begin(), ms.end());
    return std::make_pair(ms[ms.size() / 2], ms[ms.size() * 99 / 100]);
  };
  const auto off = measure(false);
  const auto on = measure(true);
  std::printf("warm review, scan rule off: p50 %.3f ms, p99 %.3f ms\n", off.first, off.second);
  std::printf("warm review, scan rule on:  p50 %.3f ms, p99 %.3f ms (200 findings in the cached record)\n", on.first,
              on.second);
  std::printf("difference at p50: %.1f us\n", (on.first - off.first) * 1000.0);
  CHECK(on.first > 0);
}
