// scan::KubeStore (the shared scan state) against the real kube-apiserver that
// tests/e2e/kube_client.sh starts, with the chart's ImageScan CRD applied. The environment is
// kube_client_test.cpp's; the test user may use imagescans.podgate.io.

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <cstdlib>
#include <ctime>
#include <string>
#include <thread>

#include "kube/client.h"
#include "kube/config.h"
#include "metrics/metrics.h"
#include "scan/kube_store.h"
#include "kube_e2e.h"

using namespace std::chrono_literals;
using podgate::kube::Client;
using podgate::scan::KubeStore;
using podgate::scan::KubeStoreOptions;
using podgate::scan::ScanRecord;
using podgate::scan::Severity;

namespace {

using podgate::e2e::eventually;
using podgate::e2e::test_client;

// A digest of its own per test run and tag, so cases never see each other's ImageScans.
std::string digest_for(const std::string& tag) {
  static const std::string run = std::to_string(std::time(nullptr)) + std::to_string(std::rand());
  const std::string seed = run + tag;
  std::string hex;
  std::uint64_t h = 1469598103934665603ull;
  for (int block = 0; block < 4; ++block) {
    for (char c : seed + std::to_string(block)) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
    hex += buf;
  }
  return "sha256:" + hex;
}

ScanRecord record(const std::string& digest, const std::string& scanner, std::int64_t scannedAt, int criticals) {
  ScanRecord r;
  r.digest = digest;
  r.scanner = scanner;
  r.scannerVersion = "1.0";
  r.scannedAt = scannedAt;
  for (int i = 0; i < criticals; ++i) {
    r.findings.push_back({"vulnerability", "CVE-2025-" + std::to_string(1000 + i), "libx", "1.0", "1.1",
                          Severity::Critical});
  }
  r.counts[static_cast<int>(Severity::Critical)] = criticals;
  r.artifact = "e2e/" + scanner;
  return r;
}

std::int64_t now() { return static_cast<std::int64_t>(std::time(nullptr)); }

}  // namespace

TEST_CASE("KubeStore: two scanners on one digest merge, and another replica sees both") {
  Client client = test_client();
  KubeStore a(client, {});
  KubeStore b(client, {});
  a.start();
  b.start();
  REQUIRE(a.wait_synced(30s));
  REQUIRE(b.wait_synced(30s));
  const std::string digest = digest_for("merge");
  CHECK(a.put({record(digest, "trivy", now() - 10, 1)})[0].stored);
  CHECK(a.put({record(digest, "grype", now() - 5, 2)})[0].stored);
  // An older scan from a scanner already held is skipped, not written over the newer one.
  CHECK_FALSE(a.put({record(digest, "trivy", now() - 100, 0)})[0].stored);
  REQUIRE(eventually([&] { return b.lookup_cached(digest) && b.lookup_cached(digest)->size() == 2; }, 3s));
  auto records = *b.lookup_cached(digest);
  std::sort(records.begin(), records.end(), [](const auto& x, const auto& y) { return x.scanner < y.scanner; });
  CHECK(records[0].scanner == "grype");
  CHECK(records[0].counts[static_cast<int>(Severity::Critical)] == 2);
  CHECK(records[1].scanner == "trivy");
  CHECK(records[1].findings.size() == 1);
  // Never scanned, after the sync: answered from memory, without a request.
  const auto none = b.lookup_cached(digest_for("never"));
  REQUIRE(none);
  CHECK(none->empty());
}

TEST_CASE("KubeStore: a digest evicted by the byte bound is read back with a GET") {
  podgate::metrics::Metrics metrics;
  Client client = test_client(&metrics);
  KubeStoreOptions small;
  small.cacheBytes = 1;  // one entry at a time: the newest
  KubeStore store(client, small);
  store.start();
  REQUIRE(store.wait_synced(30s));
  const std::string first = digest_for("evict-1"), second = digest_for("evict-2");
  REQUIRE(store.put({record(first, "trivy", now(), 3)})[0].stored);
  REQUIRE(store.put({record(second, "trivy", now(), 1)})[0].stored);
  CHECK(store.lookup_cached(first) == nullptr);  // known to exist, not in memory: must be read
  const auto records = store.lookup(first);
  REQUIRE(records);
  REQUIRE(records->size() == 1);
  CHECK(records->front().counts[static_cast<int>(Severity::Critical)] == 3);
  CHECK(metrics.serialize().find("podgate_kube_requests_total{code=\"200\",resource=\"imagescans\",verb=\"get\"}") !=
        std::string::npos);
}

TEST_CASE("KubeStore: retention deletes ImageScans whose newest scan is older, and only those") {
  Client client = test_client();
  KubeStoreOptions options;
  options.retention = std::chrono::hours(1);
  options.retentionInterval = std::chrono::hours(24);  // run by hand below
  KubeStore store(client, options);
  store.start();
  REQUIRE(store.wait_synced(30s));
  const std::string old_digest = digest_for("retention-old"), fresh_digest = digest_for("retention-fresh");
  REQUIRE(store.put({record(old_digest, "trivy", now() - 2 * 3600, 1)})[0].stored);
  REQUIRE(store.put({record(fresh_digest, "trivy", now() - 60, 1)})[0].stored);
  // Another replica's view: it must see the old one go, through its watch.
  KubeStore other(client, {});
  other.start();
  REQUIRE(other.wait_synced(30s));
  REQUIRE(other.lookup_cached(old_digest));
  REQUIRE_FALSE(other.lookup_cached(old_digest)->empty());
  CHECK(store.delete_expired() >= 1);
  CHECK(client.get("imagescans", "/apis/podgate.io/v1alpha1/imagescans/" + podgate::scan::imagescan_name(old_digest))
            .status == 404);
  CHECK(client.get("imagescans", "/apis/podgate.io/v1alpha1/imagescans/" + podgate::scan::imagescan_name(fresh_digest))
            .status == 200);
  CHECK(eventually([&] { auto r = other.lookup_cached(old_digest); return r && r->empty(); }, 3s));
  // A second delete is harmless (another replica may have done it first).
  CHECK(store.delete_expired() == 0);
}
