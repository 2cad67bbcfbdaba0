// Router: routes, methods, status codes, the ?timeout= query, readyz while draining, and the
// http request metric, driven without sockets.

#include <catch2/catch.hpp>

#include <atomic>
#include <memory>

#include "metrics/metrics.h"
#include "policy/policy.h"
#include "policy/review.h"
#include "server/server.h"
#include "support/review_body.h"

using namespace std::chrono_literals;
using podgate::server::HttpRequest;
using podgate::server::HttpResponse;
using podgate::server::parse_timeout_query;
using podgate::server::Router;

namespace {

struct Fixture {
  podgate::metrics::Metrics metrics;
  podgate::policy::Reviewer reviewer{std::make_shared<const podgate::policy::Evaluator>(podgate::config::Config{}),
                                     &metrics, nullptr};
  std::atomic<bool> draining{false};
  Router router{reviewer, &metrics, draining, 10s};

  HttpResponse call(std::string_view method, std::string_view target, std::string body = "") {
    return router.handle(HttpRequest{method, target, std::move(body), {}});
  }
};

bool contains(const std::string& text, std::string_view needle) { return text.find(needle) != std::string::npos; }

}  // namespace

TEST_CASE("router: POST /validate answers an AdmissionReview with the request's uid", "[server][router]") {
  Fixture f;
  auto response = f.call("POST", "/validate?timeout=10s", podgate::test::pod_review("uid-allow-1"));
  CHECK(response.status == 200);
  CHECK(response.contentType == "application/json");
  CHECK(contains(response.body, "\"uid\":\"uid-allow-1\""));
  CHECK(contains(response.body, "\"allowed\":true"));
}

TEST_CASE("router: /validate enforces, /audit never denies", "[server][router]") {
  Fixture f;
  auto denied = f.call("POST", "/validate", podgate::test::pod_review("uid-priv", true));
  REQUIRE(denied.status == 200);
  CHECK(contains(denied.body, "\"allowed\":false"));

  auto audited = f.call("POST", "/audit?timeout=5s", podgate::test::pod_review("uid-priv-audit", true));
  REQUIRE(audited.status == 200);
  CHECK(contains(audited.body, "\"uid\":\"uid-priv-audit\""));
  CHECK(contains(audited.body, "\"allowed\":true"));
}

TEST_CASE("router: /mutate never denies and, with pinDigests off, sends no patch", "[server][router]") {
  Fixture f;
  auto mutated = f.call("POST", "/mutate?timeout=5s", podgate::test::pod_review("uid-priv-mutate", true));
  REQUIRE(mutated.status == 200);
  CHECK(contains(mutated.body, "\"uid\":\"uid-priv-mutate\""));
  CHECK(contains(mutated.body, "\"allowed\":true"));  // a privileged Pod: /validate denies it, not /mutate
  CHECK_FALSE(contains(mutated.body, "patch"));
  CHECK(f.call("GET", "/mutate").status == 405);
  CHECK(f.call("POST", "/mutate", "{").status == 400);
}

TEST_CASE("router: an unusable body is a 400 with a message, not a crash", "[server][router]") {
  Fixture f;
  for (const char* body : {"", "{", "null", "{\"apiVersion\":\"v1\",\"kind\":\"Pod\"}", "\x01\x02\xff"}) {
    auto response = f.call("POST", "/validate", body);
    CHECK(response.status == 400);
    CHECK_FALSE(response.body.empty());
  }
}

TEST_CASE("router: health endpoints", "[server][router]") {
  Fixture f;
  auto health = f.call("GET", "/healthz");
  CHECK(health.status == 200);
  CHECK(health.body == "ok\n");
  CHECK(f.call("HEAD", "/healthz").status == 200);
  CHECK(f.call("GET", "/readyz").status == 200);
  CHECK(f.call("GET", "/healthz?verbose=1").status == 200);
}

TEST_CASE("router: readyz turns 503 while draining, healthz stays 200", "[server][router]") {
  Fixture f;
  REQUIRE(f.call("GET", "/readyz").status == 200);
  f.draining = true;
  auto ready = f.call("GET", "/readyz");
  CHECK(ready.status == 503);
  CHECK(ready.body == "draining\n");
  CHECK(f.call("GET", "/healthz").status == 200);
  // In-flight reviews are still answered while draining.
  CHECK(f.call("POST", "/validate", podgate::test::pod_review("uid-drain")).status == 200);
}

TEST_CASE("router: a wrong method on a known path is 405 with Allow", "[server][router]") {
  Fixture f;
  auto get_validate = f.call("GET", "/validate");
  CHECK(get_validate.status == 405);
  CHECK(get_validate.allow == "POST");
  CHECK(f.call("PUT", "/audit").allow == "POST");
  auto post_health = f.call("POST", "/healthz", "x");
  CHECK(post_health.status == 405);
  CHECK(post_health.allow == "GET, HEAD");
  CHECK(f.call("DELETE", "/readyz").status == 405);
}

TEST_CASE("router: unknown paths are 404, routing is on the exact path", "[server][router]") {
  Fixture f;
  for (const char* target : {"/", "/validate/", "/validatex", "/VALIDATE", "/metrics", "*", "//validate", "/audit/x"}) {
    auto response = f.call("POST", target, podgate::test::pod_review("u"));
    INFO(target);
    CHECK(response.status == 404);
    CHECK(response.allow.empty());
  }
  CHECK(f.call("GET", "/nope?x=/healthz").status == 404);
}

TEST_CASE("router: counts podgate_http_requests_total by route and code", "[server][router]") {
  Fixture f;
  f.call("POST", "/validate", podgate::test::pod_review("m1"));
  f.call("GET", "/validate");
  f.call("GET", "/some/random/path");
  f.call("GET", "/healthz");
  auto text = f.metrics.serialize();
  CHECK(contains(text, "podgate_http_requests_total{code=\"200\",route=\"validate\"} 1"));
  CHECK(contains(text, "podgate_http_requests_total{code=\"405\",route=\"validate\"} 1"));
  CHECK(contains(text, "podgate_http_requests_total{code=\"404\",route=\"other\"} 1"));
  CHECK(contains(text, "podgate_http_requests_total{code=\"200\",route=\"healthz\"} 1"));
  CHECK_FALSE(contains(text, "random"));
}

TEST_CASE("route_label maps paths to a fixed set", "[server][router]") {
  using podgate::server::route_label;
  CHECK(route_label("/validate?timeout=10s") == "validate");
  CHECK(route_label("/audit") == "audit");
  CHECK(route_label("/mutate?timeout=5s") == "mutate");
  CHECK(route_label("/healthz") == "healthz");
  CHECK(route_label("/readyz") == "readyz");
  CHECK(route_label("/x") == "other");
  CHECK(route_label("") == "other");
}

TEST_CASE("parse_timeout_query reads the apiserver's ?timeout=", "[server][router]") {
  const auto fallback = 7s;
  CHECK(parse_timeout_query("/validate?timeout=10s", fallback) == 10s);
  CHECK(parse_timeout_query("/validate?timeout=5s", fallback) == 5s);
  CHECK(parse_timeout_query("/validate?timeout=1m", fallback) == 30s);  // clamped to the apiserver's maximum
  CHECK(parse_timeout_query("/validate?timeout=500ms", fallback) == 500ms);
  CHECK(parse_timeout_query("/validate?timeout=1.5s", fallback) == 1500ms);
  CHECK(parse_timeout_query("/validate?timeout=0m20s", fallback) == 20s);
  CHECK(parse_timeout_query("/validate?a=b&timeout=3s&c=d", fallback) == 3s);
  CHECK(parse_timeout_query("/validate?timeout=1ns", fallback) == 100ms);  // clamped up
  CHECK(parse_timeout_query("/validate?timeout=99999999999h", fallback) == 30s);
}

TEST_CASE("parse_timeout_query falls back on anything unusable", "[server][router]") {
  const auto fallback = 7s;
  for (const char* target : {"/validate", "/validate?", "/validate?timeout=", "/validate?timeout=10",
                             "/validate?timeout=abc", "/validate?timeout=-5s", "/validate?timeout=5x",
                             "/validate?timeout=s", "/validate?timeout=.s", "/validate?timeouts=5s",
                             "/validate?timeout=5s5", "/validate?timeout=%35s"}) {
    INFO(target);
    CHECK(parse_timeout_query(target, fallback) == fallback);
  }
}

TEST_CASE("review_deadline leaves a margin before the apiserver gives up", "[server][router]") {
  using podgate::server::review_deadline;
  const auto now = std::chrono::steady_clock::time_point{} + 1000s;
  CHECK(review_deadline(now, 10s) == now + 9s);
  CHECK(review_deadline(now, 30s) == now + 27s);
  CHECK(review_deadline(now, 1s) == now + 900ms);
  CHECK(review_deadline(now, 100ms) == now + 50ms);
}
