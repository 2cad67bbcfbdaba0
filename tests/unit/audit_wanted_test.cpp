// The digests that want a scan (lib/audit/wanted.h): what runs (Pod projections, as data) and what
// was admitted, less what has a fresh scan, oldest first and capped; and the JSON a scanner reads.
// The Pod cache and ledger overloads are thin wrappers over these (tested once both are built).

#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "audit/wanted.h"
#include "support/digests.h"

namespace {

using podgate::audit::ContainerStatus;
using podgate::audit::PodProjection;
using podgate::audit::RunningImage;
using podgate::audit::WantedImage;
using podgate::policy::AdmittedDigest;
using podgate::test::digest_of;

constexpr std::int64_t kNow = 1'800'000'000;
constexpr auto kWeek = std::chrono::hours(24 * 7);
constexpr std::int64_t kWeekSeconds = 7 * 24 * 3600;

// Records by digest; counts the lookups, so a test can see the store is asked only as needed.
class FakeStore final : public podgate::scan::Store {
 public:
  std::map<std::string, std::vector<podgate::scan::ScanRecord>> records;
  int lookups = 0;

  void scanned(const std::string& digest, std::int64_t at, const std::string& scanner = "trivy") {
    podgate::scan::ScanRecord r;
    r.digest = digest;
    r.scanner = scanner;
    r.scannedAt = at;
    records[digest].push_back(r);
  }
  std::vector<podgate::scan::PutOutcome> put(const std::vector<podgate::scan::ScanRecord>&) override { return {}; }
  std::vector<podgate::scan::ScanRecord> get(std::string_view digest) override {
    ++lookups;
    const auto it = records.find(std::string(digest));
    return it == records.end() ? std::vector<podgate::scan::ScanRecord>{} : it->second;
  }
  std::vector<podgate::scan::Summary> list(std::size_t, std::size_t) override { return {}; }
  podgate::scan::StoreStats stats() override { return {}; }
};

std::shared_ptr<const PodProjection> pod(const std::string& name, std::int64_t createdAt,
                                         std::vector<ContainerStatus> statuses, std::string object = "{}") {
  auto p = std::make_shared<PodProjection>();
  p->namespace_ = "default";
  p->name = name;
  p->phase = "Running";
  p->createdAt = createdAt;
  p->statuses = std::move(statuses);
  p->object = std::move(object);
  return p;
}

ContainerStatus status(const std::string& name, const std::string& image, const std::string& digest,
                       const std::string& list = "containers") {
  return ContainerStatus{list, name, image, digest};
}

std::vector<WantedImage> wanted(const std::vector<RunningImage>& running, const std::vector<AdmittedDigest>& admitted,
                                FakeStore& store, std::size_t limit = 500) {
  return podgate::audit::wanted_images(running, admitted, store, kWeek, kNow, limit);
}

}  // namespace

TEST_CASE("running images: one per digest, the status image's repository, the oldest Pod's time, Pods counted",
          "[audit][wanted]") {
  const std::string a = digest_of(1), b = digest_of(2);
  const auto running = podgate::audit::running_images({
      pod("web-1", 300, {status("app", "nginx:1.25", a), status("sidecar", "ghcr.io/acme/envoy:v1", b)}),
      pod("web-2", 200, {status("app", "docker.io/library/nginx:1.25", a), status("again", "nginx", a)}),
      pod("pending", 100, {status("app", "nginx:1.26", "")}),  // not started: no digest yet
      nullptr,
  });
  REQUIRE(running.size() == 2);
  const auto& nginx = running[0].digest == a ? running[0] : running[1];
  const auto& envoy = running[0].digest == a ? running[1] : running[0];
  CHECK(nginx.reference == "docker.io/library/nginx@" + a);  // tag stripped, canonical repository
  CHECK(nginx.since == 200);
  CHECK(nginx.pods == 2);  // two containers of web-2 count once
  CHECK(envoy.reference == "ghcr.io/acme/envoy@" + b);
  CHECK(envoy.since == 300);
  CHECK(envoy.pods == 1);
}

TEST_CASE("running images: a missing or bare-ID status image falls back to the spec image in the projection",
          "[audit][wanted]") {
  const std::string a = digest_of(3), b = digest_of(4), c = digest_of(5);
  const std::string object =
      R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{)"
      R"("initContainers":[{"name":"init","image":"registry.example.com:5000/tools/init:2"}],)"
      R"("containers":[{"name":"app","image":"ghcr.io/acme/app@)" + a + R"("},{"name":"other","image":"busybox"}]}})";
  const auto running = podgate::audit::running_images({pod(
      "p", 50,
      {status("init", "", b, "initContainers"),
       // containerd reports the image ID when the image has no name it was pulled as
       status("app", "sha256:" + std::string(64, 'f'), a),
       // neither a status image nor a matching spec container: no repository to pull from
       status("ghost", "", c)},
      object)});
  REQUIRE(running.size() == 2);  // c is left out: a scanner could not pull it
  std::map<std::string, std::string> refs;
  for (const auto& r : running) refs[r.digest] = r.reference;
  CHECK(refs[a] == "ghcr.io/acme/app@" + a);
  CHECK(refs[b] == "registry.example.com:5000/tools/init@" + b);
  CHECK(refs.count(c) == 0);
}

TEST_CASE("running images: the reference comes from the oldest Pod whatever the list order", "[audit][wanted]") {
  const std::string a = digest_of(6);
  const auto young = pod("young", 900, {status("app", "mirror.example.com/library/nginx:1", a)});
  const auto old = pod("old", 100, {status("app", "nginx:1", a)});
  const auto one = podgate::audit::running_images({young, old});
  const auto other = podgate::audit::running_images({old, young});
  REQUIRE(one.size() == 1);
  REQUIRE(other.size() == 1);
  CHECK(one[0].reference == "docker.io/library/nginx@" + a);
  CHECK(other[0].reference == one[0].reference);
  CHECK(one[0].pods == 2);
}

TEST_CASE("wanted: running and admitted digests without a fresh scan, oldest first, capped", "[audit][wanted]") {
  FakeStore store;
  const std::string fresh = digest_of(10), stale = digest_of(11), never = digest_of(12), admittedOnly = digest_of(13),
                    both = digest_of(14), boundary = digest_of(15);
  store.scanned(fresh, kNow - kWeekSeconds - 100, "grype");
  store.scanned(fresh, kNow - 3600);  // any scanner's fresh record is enough
  store.scanned(stale, kNow - kWeekSeconds - 1);
  store.scanned(boundary, kNow - kWeekSeconds);  // exactly maxScanAge old: fresh, as the scan rule counts it
  const std::vector<RunningImage> running = {
      {fresh, "docker.io/library/a@" + fresh, 100, 1},
      {stale, "docker.io/library/b@" + stale, 400, 3},
      {never, "docker.io/library/c@" + never, 300, 1},
      {both, "docker.io/library/d@" + both, 700, 2},
      {boundary, "docker.io/library/e@" + boundary, 50, 1},
  };
  const std::vector<AdmittedDigest> admitted = {
      {admittedOnly, "ghcr.io/acme/x@" + admittedOnly, 200},
      {both, "ghcr.io/acme/other-name@" + both, 250},  // earlier than the Pods: since follows it
      {digest_of(16), "", 10},                         // no reference to pull: left out
      {"sha256:nothex", "ghcr.io/acme/y@sha256:nothex", 5},
  };

  const auto all = wanted(running, admitted, store);
  REQUIRE(all.size() == 4);
  CHECK(all[0].digest == admittedOnly);
  CHECK(all[0].since == 200);
  CHECK_FALSE(all[0].running);
  CHECK(all[0].pods == 0);
  CHECK(all[0].scannedAt == 0);
  CHECK(all[1].digest == both);
  CHECK(all[1].since == 250);
  CHECK(all[1].running);
  CHECK(all[1].pods == 2);
  CHECK(all[1].reference == "docker.io/library/d@" + both);  // what runs names it
  CHECK(all[2].digest == never);
  CHECK(all[2].scannedAt == 0);
  CHECK(all[3].digest == stale);
  CHECK(all[3].scannedAt == kNow - kWeekSeconds - 1);
  CHECK(all[3].pods == 3);

  store.lookups = 0;
  const auto two = wanted(running, admitted, store, 2);
  REQUIRE(two.size() == 2);
  CHECK(two[0].digest == admittedOnly);
  CHECK(two[1].digest == both);
  // boundary (since 50) and fresh (100) come first, then admittedOnly and both: the rest is not read.
  CHECK(store.lookups == 4);

  CHECK(wanted(running, admitted, store, 0).empty());
  CHECK(wanted({}, {}, store).empty());
}

TEST_CASE("wanted JSON: WantedScans with RFC 3339 times and null for never scanned", "[audit][wanted]") {
  const std::string a = digest_of(20), b = digest_of(21);
  const std::vector<WantedImage> items = {
      {a, "docker.io/library/nginx@" + a, 1764583200, 0, true, 3},
      {b, "ghcr.io/acme/app@" + b, 1764586800, 1764590400, false, 0},
  };
  CHECK(podgate::audit::wanted_json(items) ==
        R"({"apiVersion":"podgate.io/v1alpha1","kind":"WantedScans","items":[)"
        R"({"digest":")" + a + R"(","reference":"docker.io/library/nginx@)" + a +
            R"(","since":"2025-12-01T10:00:00Z","scannedAt":null,"running":true,"pods":3},)"
            R"({"digest":")" + b + R"(","reference":"ghcr.io/acme/app@)" + b +
            R"(","since":"2025-12-01T11:00:00Z","scannedAt":"2025-12-01T12:00:00Z","running":false,"pods":0}]})");
  CHECK(podgate::audit::wanted_json({}) == R"({"apiVersion":"podgate.io/v1alpha1","kind":"WantedScans","items":[]})");
}
