// Cold path under concurrency, for bench/image_resolution.sh: CONCURRENCY reviews of one uncached
// tag arrive at `podgate serve` at once, with the registry (Debian's docker-registry over TLS on
// loopback, the test fixture) behind bench/delay_proxy.py adding DELAY_MS to every response. The
// digest cache should send exactly one manifest request for them all; the registry's access log
// is what counts it (manifest_reqs: for that tag; all_reqs: every request podgate made during the
// round). A single cold review in the same run is the latency to compare with.
//
// Environment: PODGATE_BENCH_DELAY_MS (default 50; 0 = no proxy), PODGATE_BENCH_CONCURRENCY
// (default 200), PODGATE_BENCH_ROUNDS (default 3; each round a fresh tag).

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <latch>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/https_client.h"
#include "support/process.h"
#include "support/review_body.h"
#include "support/served_podgate.h"
#include "support/test_registry.h"

namespace pt = podgate::test;
using Clock = std::chrono::steady_clock;

namespace {

int env_int(const char* name, int fallback) {
  const char* value = std::getenv(name);
  return value ? std::atoi(value) : fallback;
}

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

bool contains(const std::string& text, std::string_view needle) { return text.find(needle) != std::string::npos; }

// Every request podgate made to the registry so far (the fixture's own pushes and checks left out).
int podgate_requests(const pt::TestRegistry& reg) {
  int n = 0;
  for (const auto& e : reg.access_log()) n += !e.byFixture;
  return n;
}

}  // namespace

TEST_CASE("bench: concurrent reviews of one uncached tag behind a slow registry", "[.bench]") {
  const int delay = env_int("PODGATE_BENCH_DELAY_MS", 50);
  const int concurrency = env_int("PODGATE_BENCH_CONCURRENCY", 200);
  const int rounds = env_int("PODGATE_BENCH_ROUNDS", 3);
  REQUIRE(concurrency > 0);
  REQUIRE(rounds > 0);

  pt::TestRegistry reg;
  std::unique_ptr<pt::Process> proxy;
  std::string host = reg.host();
  if (delay > 0) {
    const unsigned short port = pt::free_port();
    proxy = std::make_unique<pt::Process>(std::vector<std::string>{
        "/usr/bin/python3", std::string(PODGATE_SOURCE_DIR) + "/bench/delay_proxy.py", std::to_string(port),
        "127.0.0.1", std::to_string(reg.port()), std::to_string(delay)});
    REQUIRE(proxy->wait_for_output("delay proxy", std::chrono::seconds(10), true));
    host = "127.0.0.1:" + std::to_string(port);
  }
  // warm: opens podgate's pooled TLS connection to the registry (handshake flights each pay the
  // delay), so the rounds measure a resolution, not a first connection.
  reg.push_image("bench/popular", "warm");
  reg.push_image("bench/popular", "single");
  for (int r = 0; r < rounds; ++r) reg.push_image("bench/popular", "r" + std::to_string(r));

  // Server limits: connections well above the concurrency; the resolve budget above any queueing.
  pt::ServedPodgate served("server:\n  limits: {maxConnections: " + std::to_string(concurrency + 64) + "}\n"
                           "rules:\n  images:\n    action: deny\n    resolve: {timeout: 10s}\n"
                           "registries:\n  - host: \"" + host + "\"\n    caFile: \"" + reg.ca_file() + "\"\n");
  auto one_review = [&](const std::string& tag) {
    pt::HttpsClient client(served.client());
    client.connect();
    const auto t0 = Clock::now();
    auto r = client.request("POST", "/validate", pt::pod_review_with_images("one-" + tag, {host + "/bench/popular:" + tag}));
    const double ms = ms_between(t0, Clock::now());
    INFO(r.body);
    REQUIRE(contains(r.body, "\"allowed\":true"));
    return ms;
  };
  const double warm_ms = one_review("warm");
  const double single_ms = one_review("single");

  std::printf("cold path: %d concurrent reviews of one uncached tag, registry %s\n", concurrency,
              delay > 0 ? ("behind delay_proxy.py, +" + std::to_string(delay) + " ms per response chunk").c_str()
                        : "direct loopback");
  std::printf("case                                reviews  allowed  manifest_reqs  all_reqs   p50_ms   p90_ms   max_ms\n");
  std::printf("%-35s %7d %8d %14d %9s %8.1f %8.1f %8.1f\n", "first review (opens registry conn)", 1, 1,
              reg.manifest_requests("bench/popular", "warm"), "", warm_ms, warm_ms, warm_ms);
  std::printf("%-35s %7d %8d %14d %9s %8.1f %8.1f %8.1f\n", "single cold review", 1, 1,
              reg.manifest_requests("bench/popular", "single"), "", single_ms, single_ms, single_ms);

  bool all_one = true;
  for (int round = 0; round < rounds; ++round) {
    const std::string tag = "r" + std::to_string(round);
    const std::string image = host + "/bench/popular:" + tag;
    const int before = podgate_requests(reg);
    // Every client connects (TLS handshake done) first; then all send at once.
    std::latch connected(concurrency);
    std::promise<Clock::time_point> go_promise;
    std::shared_future<Clock::time_point> go = go_promise.get_future().share();
    std::vector<std::future<std::pair<bool, double>>> answers;
    answers.reserve(static_cast<std::size_t>(concurrency));
    for (int i = 0; i < concurrency; ++i) {
      answers.push_back(std::async(std::launch::async, [&, i] {
        pt::HttpsClient client(served.client());
        try {
          client.connect();
        } catch (...) {
          connected.count_down();
          throw;
        }
        connected.count_down();
        const auto start = go.get();
        auto r = client.request("POST", "/validate",
                                pt::pod_review_with_images("c" + std::to_string(round) + "-" + std::to_string(i), {image}));
        return std::make_pair(r.status == 200 && contains(r.body, "\"allowed\":true"), ms_between(start, Clock::now()));
      }));
    }
    connected.wait();
    go_promise.set_value(Clock::now());
    std::vector<double> ms;
    int allowed = 0;
    for (auto& a : answers) {
      auto [ok, took] = a.get();
      allowed += ok;
      ms.push_back(took);
    }
    const int requests = reg.manifest_requests("bench/popular", tag);
    const int all = podgate_requests(reg) - before;  // any request at all (e.g. a token or /v2/ ping)
    all_one = all_one && requests == 1 && all == 1;
    std::printf("%-35s %7d %8d %14d %9d %8.1f %8.1f %8.1f\n", ("concurrent, round " + std::to_string(round + 1)).c_str(),
                concurrency, allowed, requests, all, percentile(ms, 0.5), percentile(ms, 0.9), percentile(ms, 1.0));
    CHECK(allowed == concurrency);
  }
  std::printf("goal (one registry request per round: manifest_reqs and all_reqs both 1): %s\n", all_one ? "met" : "MISSED");
  CHECK(all_one);
}
