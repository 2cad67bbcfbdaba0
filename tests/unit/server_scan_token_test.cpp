// The scan API's token: the rules at load (length, file mode) and failed authentications counted,
// logged at a bounded rate, and refused from the header alone (Router::refuse_before_body).

#include <catch2/catch.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <string>

#include "log/log.h"
#include "metrics/metrics.h"
#include "policy/policy.h"
#include "policy/review.h"
#include "server/scan_api.h"
#include "server/server.h"
#include "support/log_capture.h"

namespace {

struct TokenFile {
  std::string path;
  explicit TokenFile(const std::string& text, mode_t mode = 0600) {
    char name[] = "/tmp/podgate-token-XXXXXX";
    const int fd = ::mkstemp(name);
    REQUIRE(fd >= 0);
    REQUIRE(::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
    ::close(fd);
    path = name;
    ::chmod(name, mode);
  }
  ~TokenFile() { ::unlink(path.c_str()); }
};

std::string load_error(const std::string& path) {
  try {
    podgate::server::load_api_token(path);
    return "";
  } catch (const std::exception& e) {
    return e.what();
  }
}

int count(const std::string& text, const std::string& needle) {
  int n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("scan API tokens shorter than 32 bytes are refused at load, naming the file and the rule", "[scan][token]") {
  TokenFile short_token("only-31-bytes-long-0123456789ab\n");
  CHECK(load_error(short_token.path) ==
        "scans.apiTokenFile " + short_token.path +
            ": the token is 31 bytes; at least 32 are required (make one with: openssl rand -hex 32)");
  TokenFile ok(std::string(32, 'k') + "\n");
  CHECK(podgate::server::load_api_token(ok.path) == std::string(32, 'k'));
}

TEST_CASE("a token file readable by others is loaded with a warning", "[scan][token]") {
  const std::string token(40, 'x');
  SECTION("0644: others can read it") {
    TokenFile file(token, 0644);
    podgate::test::LogCapture capture;
    podgate::log::Logger logger(capture.writer(), podgate::log::Level::Info);
    CHECK(podgate::server::load_api_token(file.path, &logger) == token);
    const std::string log = capture.drain();
    CHECK(log.find("readable by group or others") != std::string::npos);
    CHECK(log.find("\"mode\":\"0644\"") != std::string::npos);
    CHECK(log.find(token) == std::string::npos);  // never the token itself
  }
  SECTION("0600: no warning") {
    TokenFile file(token, 0600);
    podgate::test::LogCapture capture;
    podgate::log::Logger logger(capture.writer(), podgate::log::Level::Info);
    CHECK(podgate::server::load_api_token(file.path, &logger) == token);
    CHECK(capture.drain().empty());
  }
}

TEST_CASE("failed scan API authentications are counted, and logged at most once per 10 s", "[scan][token]") {
  podgate::metrics::Metrics metrics;
  podgate::test::LogCapture capture;
  podgate::log::Logger logger(capture.writer(), podgate::log::Level::Info);
  const std::string token(48, 'z');
  podgate::server::ScanApi api(nullptr, token, 1 << 20, &metrics, &logger);
  // Counters start at 0.
  CHECK(metrics.serialize().find("podgate_scan_api_auth_failures_total{reason=\"invalid\"} 0") != std::string::npos);

  CHECK_FALSE(api.refuse_unauthorized("Bearer " + token).has_value());
  for (int i = 0; i < 50; ++i) {
    const auto refused = api.refuse_unauthorized("Bearer wrong");
    REQUIRE(refused.has_value());
    CHECK(refused->status == 401);
    CHECK(refused->wwwAuthenticate == "Bearer realm=\"podgate\"");
  }
  CHECK(api.refuse_unauthorized("").has_value());
  const std::string text = metrics.serialize();
  CHECK(text.find("podgate_scan_api_auth_failures_total{reason=\"invalid\"} 50") != std::string::npos);
  CHECK(text.find("podgate_scan_api_auth_failures_total{reason=\"missing\"} 1") != std::string::npos);
  const std::string log = capture.drain();
  CHECK(count(log, "bad or missing bearer token") == 1);

  // The Router refuses from the header alone, for the scan API's targets only.
  std::atomic<bool> draining{false};
  podgate::policy::Reviewer reviewer(
      std::make_shared<const podgate::policy::Evaluator>(podgate::config::Config{}), nullptr, nullptr);
  podgate::server::Router router(reviewer, nullptr, draining, std::chrono::seconds(10), &api);
  CHECK(router.refuse_before_body("/v1/scans", "Bearer nope").value().status == 401);
  CHECK_FALSE(router.refuse_before_body("/v1/scans", "Bearer " + token).has_value());
  CHECK_FALSE(router.refuse_before_body("/validate", "").has_value());
}
