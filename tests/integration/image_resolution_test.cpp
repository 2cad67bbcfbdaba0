// Image resolution against a real registry (Debian's docker-registry over TLS on loopback, see
// tests/support/test_registry.h): the registry client, the digest cache in front of it, the image
// rules, and the `podgate serve` / `podgate resolve` binaries. The bearer-token cases use a token
// issuer written for these tests (docker-registry validates tokens but issues none).

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <thread>

#include "metrics/metrics.h"
#include "policy/policy.h"
#include "policy/review.h"
#include "registry/client.h"
#include "registry/digest_cache.h"
#include "support/helpers.h"
#include "support/https_client.h"
#include "support/process.h"
#include "support/resolve.h"
#include "support/review_body.h"
#include "support/served_podgate.h"
#include "support/temp_dir.h"
#include "support/test_registry.h"
#include "support/tls_certs.h"

namespace pt = podgate::test;
using namespace podgate;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

config::RegistryConfig registry_entry(const pt::TestRegistry& reg, const std::string& credentialsFile = "") {
  config::RegistryConfig r;
  r.host = reg.host();
  r.caFile = reg.ca_file();
  r.credentialsFile = credentialsFile;
  return r;
}

using Served = pt::ServedPodgate;

std::string images_config(const pt::TestRegistry& reg, const std::string& extra = "") {
  return "rules:\n"
         "  images:\n"
         "    action: deny\n"
         "    resolve: {timeout: 3s, cacheTTL: 60s, errorTTL: 5s}\n" +
         extra +
         "registries:\n"
         "  - host: \"" + reg.host() + "\"\n"
         "    caFile: \"" + reg.ca_file() + "\"\n";
}

}  // namespace

TEST_CASE("client: a tag resolves to the digest the registry holds, a digest reference too", "[images]") {
  pt::TestRegistry reg;
  const std::string digest = reg.push_image("team/app", "1.0");
  registry::Client client({registry_entry(reg)}, {}, nullptr, nullptr);

  auto r = pt::resolve_now(client, reg.host() + "/team/app:1.0");
  REQUIRE(r.ok());
  CHECK(r.digest == digest);
  CHECK(r.mediaType == "application/vnd.oci.image.manifest.v1+json");
  CHECK(r.children.empty());
  CHECK(r.requests == 1);  // one HEAD: the digest header answers it
  CHECK(reg.manifest_requests("team/app", "1.0", "HEAD") == 1);
  CHECK(reg.manifest_requests("team/app", "1.0", "GET") == 0);

  auto by_digest = pt::resolve_now(client, reg.host() + "/team/app@" + digest);
  REQUIRE(by_digest.ok());
  CHECK(by_digest.digest == digest);
}

TEST_CASE("client: an index resolves to its own digest and lists its children per platform", "[images]") {
  pt::TestRegistry reg;
  const auto pushed = reg.push_index("team/multi", "2");
  registry::Client client({registry_entry(reg)}, {}, nullptr, nullptr);
  auto r = pt::resolve_now(client, reg.host() + "/team/multi:2");
  REQUIRE(r.ok());
  CHECK(r.digest == pushed.digest);
  CHECK(registry::is_index_media_type(r.mediaType));
  REQUIRE(r.children.size() == pushed.children.size());
  for (std::size_t i = 0; i < r.children.size(); ++i) {
    CHECK(r.children[i].platform == pushed.children[i].first);
    CHECK(r.children[i].digest == pushed.children[i].second);
  }
  // HEAD for the digest, one GET by digest for the children.
  CHECK(reg.manifest_requests("team/multi", "2", "HEAD") == 1);
  CHECK(reg.manifest_requests("team/multi", pushed.digest, "GET") == 1);
}

TEST_CASE("client: not found, no TLS trust, down, and hung registries fail with their own kinds", "[images]") {
  pt::TestRegistry reg;
  reg.push_image("team/app", "1.0");

  registry::Client trusting({registry_entry(reg)}, {}, nullptr, nullptr);
  auto missing_tag = pt::resolve_now(trusting, reg.host() + "/team/app:nope");
  CHECK(missing_tag.failure == registry::Failure::NotFound);
  auto missing_repo = pt::resolve_now(trusting, reg.host() + "/team/none:1");
  CHECK(missing_repo.failure == registry::Failure::NotFound);
  CHECK(pt::contains(missing_repo.error, "does not exist"));

  // Without the registry's CA, verification fails: TLS is verified by default.
  registry::Client untrusting({}, {}, nullptr, nullptr);
  auto untrusted = pt::resolve_now(untrusting, reg.host() + "/team/app:1.0");
  CHECK(untrusted.failure == registry::Failure::Tls);

  reg.stop();
  auto down = pt::resolve_now(trusting, reg.host() + "/team/app:1.0");
  CHECK(down.failure == registry::Failure::Unreachable);

  pt::SilentServer hung;
  registry::ClientOptions options;
  options.timeout = 500ms;
  registry::Client impatient({}, options, nullptr, nullptr);
  const auto started = Clock::now();
  auto slow = pt::resolve_now(impatient, hung.host() + "/team/app:1.0");
  const auto took = Clock::now() - started;
  CHECK(slow.failure == registry::Failure::Timeout);
  CHECK(took >= 450ms);
  CHECK(took < 5s);  // the budget, not the transport's own (much longer) timeout
}

TEST_CASE("client: Basic auth from a dockerconfigjson file, refused without it", "[images][auth]") {
  pt::RegistryOptions options;
  options.basicAuth = true;
  pt::TestRegistry reg(options);
  const std::string digest = reg.push_image("private/app", "1");
  pt::TempDir dir("podgate-creds");
  pt::write_file(dir.file("good.json"), pt::docker_config(reg.host(), options.user, options.password));
  pt::write_file(dir.file("bad.json"), pt::docker_config(reg.host(), options.user, "wrong"));

  registry::Client with({registry_entry(reg, dir.file("good.json"))}, {}, nullptr, nullptr);
  auto ok = pt::resolve_now(with, reg.host() + "/private/app:1");
  REQUIRE(ok.ok());
  CHECK(ok.digest == digest);

  registry::Client wrong({registry_entry(reg, dir.file("bad.json"))}, {}, nullptr, nullptr);
  auto refused = pt::resolve_now(wrong, reg.host() + "/private/app:1");
  CHECK(refused.failure == registry::Failure::Unauthorized);
  CHECK(pt::contains(refused.error, "with the configured credentials"));
  CHECK_FALSE(pt::contains(refused.error, "wrong"));  // never the secret

  registry::Client without({registry_entry(reg)}, {}, nullptr, nullptr);
  auto anonymous = pt::resolve_now(without, reg.host() + "/private/app:1");
  CHECK(anonymous.failure == registry::Failure::Unauthorized);
  CHECK(pt::contains(anonymous.error, "no credentials are configured"));
}

TEST_CASE("client: bearer tokens, anonymous and with credentials, are fetched once and reused", "[images][auth]") {
  SECTION("anonymous pull tokens") {
    pt::RegistryOptions options;
    options.tokenAuth = true;
    pt::TestRegistry reg(options);
    const std::string digest = reg.push_image("public/app", "1");
    registry::Client client({registry_entry(reg)}, {}, nullptr, nullptr);
    auto first = pt::resolve_now(client, reg.host() + "/public/app:1");
    REQUIRE(first.ok());
    CHECK(first.digest == digest);
    CHECK(first.requests == 3);  // HEAD 401, token, HEAD 200
    auto second = pt::resolve_now(client, reg.host() + "/public/app:1");
    REQUIRE(second.ok());
    CHECK(second.requests == 1);  // the cached token goes with the first request
    CHECK(reg.token_requests() == 1);
  }
  SECTION("credentials required by the token service") {
    pt::RegistryOptions options;
    options.tokenAuth = true;
    options.anonymousPull = false;
    pt::TestRegistry reg(options);
    const std::string digest = reg.push_image("private/app", "1");
    pt::TempDir dir("podgate-creds");
    pt::write_file(dir.file("config.json"), pt::docker_config(reg.host(), options.user, options.password));

    registry::Client with({registry_entry(reg, dir.file("config.json"))}, {}, nullptr, nullptr);
    auto ok = pt::resolve_now(with, reg.host() + "/private/app:1");
    REQUIRE(ok.ok());
    CHECK(ok.digest == digest);
    const auto log = reg.token_log();
    REQUIRE_FALSE(log.empty());
    CHECK(log.back().user == options.user);

    registry::Client without({registry_entry(reg)}, {}, nullptr, nullptr);
    auto refused = pt::resolve_now(without, reg.host() + "/private/app:1");
    CHECK(refused.failure == registry::Failure::Unauthorized);
  }
}

TEST_CASE("cache: a re-pushed tag is seen once the TTL has passed, not before", "[images][concurrency]") {
  pt::TestRegistry reg;
  const std::string before = reg.push_image("team/app", "moving");
  auto client = std::make_shared<registry::Client>(std::vector{registry_entry(reg)}, registry::ClientOptions{},
                                                   nullptr, nullptr);
  registry::DigestCache cache([client](const image::Reference& r, auto done) { client->resolve(r, std::move(done)); },
                              {1500ms, 500ms, 100}, nullptr);
  auto lookup = [&] {
    std::promise<registry::DigestCache::Result> p;
    auto f = p.get_future();
    cache.resolve(pt::parse_ref(reg.host() + "/team/app:moving"), Clock::now() + 10s, [&p](auto r) { p.set_value(r); });
    return f.get();
  };
  CHECK(lookup()->digest == before);
  const std::string after = reg.push_image("team/app", "moving");
  REQUIRE(after != before);
  CHECK(lookup()->digest == before);  // cached
  std::this_thread::sleep_for(1600ms);
  CHECK(lookup()->digest == after);
  CHECK(reg.manifest_requests("team/app", "moving", "HEAD") == 2);
}

TEST_CASE("serve: 50 concurrent reviews of one uncached tag make exactly one manifest request", "[images][binary][concurrency]") {
  pt::TestRegistry reg;
  const std::string digest = reg.push_image("team/popular", "1");
  Served served(images_config(reg));
  const std::string image = reg.host() + "/team/popular:1";

  constexpr int kReviews = 50;
  std::vector<std::future<pt::Response>> answers;
  std::atomic<bool> go{false};
  for (int i = 0; i < kReviews; ++i) {
    answers.push_back(std::async(std::launch::async, [&, i] {
      pt::HttpsClient c(served.client());
      c.connect();  // connect first, so the 50 requests arrive together
      while (!go.load()) std::this_thread::yield();
      return c.request("POST", "/validate", pt::pod_review_with_images("uid-" + std::to_string(i), {image}));
    }));
  }
  go = true;
  for (auto& a : answers) {
    const auto response = a.get();
    REQUIRE(response.status == 200);
    CHECK(pt::contains(response.body, "\"allowed\":true"));
    CHECK(pt::contains(response.body, digest));  // the judged digest, in the audit annotations
  }
  CHECK(reg.manifest_requests("team/popular", "1") == 1);
  INFO("the access log counted " << reg.manifest_requests("team/popular", "1") << " manifest requests");
}

TEST_CASE("serve: missing images are denied, an outage follows onResolveError and is counted", "[images][binary]") {
  pt::TestRegistry reg;
  reg.push_image("team/app", "1.0");
  const std::string good = reg.host() + "/team/app:1.0";

  SECTION("not found is a deny reason of its own") {
    Served served(images_config(reg));
    auto r = served.validate(pt::pod_review_with_images("u1", {good, reg.host() + "/team/app:typo"}));
    REQUIRE(r.status == 200);
    CHECK(pt::contains(r.body, "\"allowed\":false"));
    CHECK(pt::contains(r.body, "container \\\"c1\\\" uses image"));
    CHECK(pt::contains(r.body, "which does not exist"));
    CHECK_FALSE(pt::contains(r.body, "container \\\"c0\\\" uses image"));
  }
  SECTION("registry down, onResolveError deny") {
    Served served(images_config(reg));
    reg.stop();
    auto r = served.validate(pt::pod_review_with_images("u2", {good}));
    CHECK(pt::contains(r.body, "\"allowed\":false"));
    CHECK(pt::contains(r.body, "could not resolve image"));
    CHECK(pt::contains(r.body, "onResolveError is deny"));
  }
  SECTION("registry down, onResolveError allow: allowed with a warning, counted as fail-open") {
    Served served(images_config(reg, "    onResolveError: allow\n"));
    reg.stop();
    auto r = served.validate(pt::pod_review_with_images("u3", {good}));
    INFO(r.body);
    CHECK(pt::contains(r.body, "\"allowed\":true"));
    CHECK(pt::contains(r.body, "allowed by rules.images.onResolveError: allow"));
    pt::Process curl({"/usr/bin/curl", "-s", "http://127.0.0.1:" + std::to_string(served.metricsPort) + "/metrics"});
    REQUIRE(curl.wait_for(10s) == 0);
    CHECK(pt::contains(curl.stdout_text(), "podgate_image_resolve_failures_total{outcome=\"allowed\"} 1"));
    CHECK(pt::contains(curl.stdout_text(), "podgate_registry_errors_total{kind=\"unreachable\""));
  }
}

TEST_CASE("serve: a hung registry costs one review its deadline, and no other request waits", "[images][binary][concurrency]") {
  pt::SilentServer hung;
  pt::TestRegistry reg;
  reg.push_image("team/app", "1.0");
  // resolve.timeout is longer than the apiserver's: the review's deadline is what ends the wait.
  Served served("server: {threads: 1}\n"
                "rules:\n  images:\n    action: deny\n    resolve: {timeout: 20s}\n"
                "registries:\n"
                "  - host: \"" + reg.host() + "\"\n    caFile: \"" + reg.ca_file() + "\"\n");
  const auto started = Clock::now();
  auto slow = std::async(std::launch::async, [&] {
    return served.validate(pt::pod_review_with_images("slow", {hung.host() + "/team/app:1"}), "?timeout=2s");
  });
  REQUIRE(hung.wait_accepted(1, 5s));
  // With one worker thread, a blocked worker would hold this answer until the slow one ends.
  const auto fast_started = Clock::now();
  auto fast = served.validate(pt::pod_review_with_images("fast", {"nginx:1@sha256:" + std::string(64, 'a')}));
  const auto fast_took = Clock::now() - fast_started;
  CHECK(pt::contains(fast.body, "\"allowed\":true"));
  const auto answer = slow.get();
  const auto took = Clock::now() - started;
  CHECK(pt::contains(answer.body, "\"allowed\":false"));
  CHECK(pt::contains(answer.body, "did not answer before the admission deadline"));
  CHECK(took >= 1500ms);  // ?timeout=2s less the answer margin
  CHECK(took < 2500ms);   // ...and not the 20 s resolve budget
  CHECK(fast_took < 1500ms);
}

TEST_CASE("podgate resolve prints digests and index children, exit 1 when one fails", "[images][binary]") {
  pt::TestRegistry reg;
  const std::string digest = reg.push_image("team/app", "1.0");
  const auto index = reg.push_index("team/multi", "2");
  pt::TempDir dir("podgate-resolve");
  pt::write_file(dir.file("podgate.yaml"), images_config(reg));

  pt::Process ok({PODGATE_BINARY, "resolve", "--config", dir.file("podgate.yaml"), reg.host() + "/team/app:1.0",
                  reg.host() + "/team/multi:2"});
  INFO(ok.stderr_text());
  REQUIRE(ok.wait_for(30s) == 0);
  const std::string out = ok.stdout_text();
  CHECK(pt::contains(out, reg.host() + "/team/app:1.0 " + digest));
  CHECK(pt::contains(out, reg.host() + "/team/multi:2 " + index.digest));
  CHECK(pt::contains(out, "  linux/arm64 " + index.children[1].second));

  pt::Process missing({PODGATE_BINARY, "resolve", "--config", dir.file("podgate.yaml"), reg.host() + "/team/app:gone"});
  REQUIRE(missing.wait_for(30s) == 1);
  CHECK(pt::contains(missing.stderr_text(), "not_found"));

  pt::Process bad({PODGATE_BINARY, "resolve", "UPPER/Case"});
  REQUIRE(bad.wait_for(30s) == 2);
  CHECK(pt::contains(bad.stderr_text(), "must be lowercase"));
}

// ---------------------------------------------------------------------------------------------
// Benchmark (hidden: run by bench/image_resolution.sh, not by ctest). Wall times of reviews
// through `podgate serve` against the loopback registry, with a baseline measured in the same
// run: one HEAD of a manifest straight to the registry over a kept-alive TLS connection.

namespace {

struct Stats {
  double p50 = 0, p90 = 0, max = 0;
};
Stats stats(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms[ms.size() * 9 / 10], ms.back()};
}
std::string row(const char* name, const Stats& s, std::size_t n) {
  char buffer[160];
  std::snprintf(buffer, sizeof buffer, "%-34s %5zu %9.2f %9.2f %9.2f", name, n, s.p50, s.p90, s.max);
  return buffer;
}

}  // namespace

TEST_CASE("bench: cold and warm resolution, and 8 uncached images against 1", "[.bench]") {
  const int reps = std::getenv("PODGATE_BENCH_REPS") ? std::atoi(std::getenv("PODGATE_BENCH_REPS")) : 20;
  const char* delay = std::getenv("PODGATE_BENCH_DELAY_MS");
  pt::TestRegistry reg;
  // With a delay, podgate reaches the registry through bench/delay_proxy.py: a registry across a
  // network, where resolving a pod's images in parallel is what keeps a review fast.
  std::unique_ptr<pt::Process> proxy;
  std::string host = reg.host();
  unsigned short port = reg.port();
  if (delay) {
    port = pt::free_port();
    proxy = std::make_unique<pt::Process>(std::vector<std::string>{
        "/usr/bin/python3", std::string(PODGATE_SOURCE_DIR) + "/bench/delay_proxy.py", std::to_string(port),
        "127.0.0.1", std::to_string(reg.port()), delay});
    REQUIRE(proxy->wait_for_output("delay proxy", 10s, true));
    host = "127.0.0.1:" + std::to_string(port);
  }
  // Fresh tags for every cold review: tag t<i> for the single-image runs, m<i> for the 8-image ones.
  std::vector<std::string> single, multi;
  for (int i = 0; i < reps; ++i) {
    reg.push_image("bench/app", "t" + std::to_string(i));
    single.push_back(host + "/bench/app:t" + std::to_string(i));
  }
  for (int i = 0; i < reps * 8; ++i) {
    reg.push_image("bench/app", "m" + std::to_string(i));
    multi.push_back(host + "/bench/app:m" + std::to_string(i));
  }
  Served served("rules:\n  images:\n    action: deny\n    resolve: {timeout: 5s}\n"
                "registries:\n  - host: \"" + host + "\"\n    caFile: \"" + reg.ca_file() + "\"\n");
  pt::HttpsClient client(served.client());
  client.connect();
  auto timed = [&](const std::vector<std::string>& images) {
    const auto t0 = Clock::now();
    auto r = client.request("POST", "/validate", pt::pod_review_with_images("bench", images));
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    REQUIRE(r.status == 200);
    INFO(r.body);
    REQUIRE(pt::contains(r.body, "\"allowed\":true"));
    return ms;
  };

  // Baseline: one request straight to the registry (through the proxy when there is one) on a
  // kept-alive TLS connection: what a single resolution cannot beat.
  pt::ClientOptions direct;
  direct.port = port;
  direct.caFile = reg.ca_file();
  direct.serverName = "127.0.0.1";
  pt::HttpsClient registry_client(direct);
  std::vector<double> baseline;
  for (int i = 0; i < reps * 5; ++i) {
    const auto t0 = Clock::now();
    auto r = registry_client.request("GET", "/v2/");
    baseline.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    REQUIRE(r.status == 200);
  }

  std::vector<double> cold1, cold8, warm1, warm8;
  for (int i = 0; i < reps; ++i) cold1.push_back(timed({single[i]}));
  for (int i = 0; i < reps; ++i) {
    std::vector<std::string> eight(multi.begin() + i * 8, multi.begin() + i * 8 + 8);
    cold8.push_back(timed(eight));
  }
  for (int i = 0; i < reps * 10; ++i) warm1.push_back(timed({single[i % reps]}));
  for (int i = 0; i < reps * 10; ++i) {
    std::vector<std::string> eight(multi.begin(), multi.begin() + 8);
    warm8.push_back(timed(eight));
  }
  const Stats b = stats(baseline), c1 = stats(cold1), c8 = stats(cold8), w1 = stats(warm1), w8 = stats(warm8);
  std::string report = std::string("registry: ") + (delay ? std::string("behind delay_proxy.py, +") + delay + " ms per response chunk" : "direct loopback") + "\n";
  report += "case                               reps   p50_ms    p90_ms    max_ms\n";
  report += row("baseline: GET /v2/ to registry", b, baseline.size()) + "\n";
  report += row("review, 1 image, cold (HEAD)", c1, cold1.size()) + "\n";
  report += row("review, 8 images, cold (8 HEADs)", c8, cold8.size()) + "\n";
  report += row("review, 1 image, warm (cached)", w1, warm1.size()) + "\n";
  report += row("review, 8 images, warm (cached)", w8, warm8.size()) + "\n";
  char ratios[200];
  std::snprintf(ratios, sizeof ratios,
                "ratio cold 8 images / cold 1 image (p50): %.2f\nratio cold 1 image / baseline (p50): %.2f\n",
                c8.p50 / c1.p50, c1.p50 / b.p50);
  report += ratios;
  std::printf("%s", report.c_str());
  CHECK(c8.p50 > 0);
}

TEST_CASE("serve: an image pinned to an index digest is fetched, and a blocked platform of it is denied", "[images][binary]") {
  pt::TestRegistry reg;
  const auto index = reg.push_index("team/multi", "2");
  const std::string arm = index.children.at(1).second;
  const std::string pinned = reg.host() + "/team/multi@" + index.digest;
  // The block list names one platform's digest: only the index's children reveal it.
  Served served(images_config(reg, "    blocked: [\"" + arm + "\"]\n"));
  auto r = served.validate(pt::pod_review_with_images("pinned-index", {pinned}));
  REQUIRE(r.status == 200);
  INFO(r.body);
  CHECK(pt::contains(r.body, "\"allowed\":false"));
  CHECK(pt::contains(r.body, "which is blocked (" + arm + ")"));
  CHECK(reg.manifest_requests("team/multi", index.digest) >= 1);

  // Without digest entries in the block list (and the scan rule off), a pinned image is judged by
  // its digest alone: the registry is not asked.
  Served plain(images_config(reg));
  const std::string solo = reg.push_image("team/solo", "1");
  auto ok = plain.validate(pt::pod_review_with_images("pinned-solo", {reg.host() + "/team/solo@" + solo}));
  CHECK(pt::contains(ok.body, "\"allowed\":true"));
  CHECK(reg.manifest_requests("team/solo", solo) == 0);
}
