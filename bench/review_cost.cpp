// Per-review cost: decode + evaluate + encode of one AdmissionReview body through
// server::Router::handle_async, the server's entry point for a POST /validate body once HTTP has
// been parsed (it calls policy::Reviewer::review_async), with the embedded defaults (image and
// scan rules off, so the review answers inline), the server's metrics, and a logger writing to
// /dev/null. TLS and HTTP parsing are not in it. Run by bench/review_cost.sh.
//
//   podgate_bench_review_cost [catch2 options] --fixture FILE [--fixture FILE...]
//       Catch2 BENCHMARKs in ns: the whole review per fixture (the body copy done outside the
//       timed region, since decoding parses in situ and consumes it), and the three phases apart.
//   podgate_bench_review_cost --repeat N FILE
//       N reviews of FILE and nothing else, for `valgrind --tool=callgrind` (instruction counts);
//       prints the decision and response size once.

#define CATCH_CONFIG_RUNNER
#define CATCH_CONFIG_ENABLE_BENCHMARKING
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "admission/admission.h"
#include "config/config.h"
#include "log/log.h"
#include "metrics/metrics.h"
#include "policy/policy.h"
#include "policy/review.h"
#include "server/server.h"

using namespace podgate;

namespace {

std::vector<std::string> g_fixtures;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string base_name(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// The embedded defaults, with rules.podSecurity.level from PODGATE_BENCH_POD_SECURITY (baseline,
// restricted) when set: the standards' cost on the same reviews.
config::Config bench_config() {
  config::Config c;
  const char* level = std::getenv("PODGATE_BENCH_POD_SECURITY");
  if (level && *level) {
    auto parsed = config::parse_pod_security_level(level);
    if (!parsed) {
      std::fprintf(stderr, "PODGATE_BENCH_POD_SECURITY: privileged, baseline or restricted\n");
      std::exit(2);
    }
    c.rules.podSecurity.level = *parsed;
  }
  return c;
}

// What `podgate serve` builds with no --config: the embedded defaults, metrics, a logger. The
// logger writes to /dev/null so denied reviews still pay for formatting and write(2) of their
// log line, as in the server.
struct Pipeline {
  int devnull = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  metrics::Metrics metrics;
  log::Logger logger{devnull, log::Level::Info};
  policy::Reviewer reviewer{std::make_shared<const policy::Evaluator>(bench_config()), &metrics, &logger};
  std::atomic<bool> draining{false};
  server::Router router{reviewer, &metrics, draining};
  ~Pipeline() { ::close(devnull); }

  // One review as the server's session hands it over (the target as the apiserver sends it);
  // answered inline, since no registry is involved with the image rules off.
  server::HttpResponse review(std::string body) const {
    server::HttpResponse out;
    bool answered = false;
    router.handle_async(server::HttpRequest{"POST", "/validate?timeout=10s", std::move(body), ""},
                        [&](server::HttpResponse r) {
                          out = std::move(r);
                          answered = true;
                        });
    if (!answered) throw std::runtime_error("review did not answer inline: are the image rules on?");
    return out;
  }
};

const char* decision_name(const server::HttpResponse& r) {
  if (r.status != 200) return "invalid";
  return r.body.find("\"allowed\":false") != std::string::npos ? "denied" : "allowed";
}

// A copy of the body as the server's session hands it over: with admission::kBodyPadding spare
// bytes reserved past its end, so the decoder parses it where it is.
std::string as_read(const std::string& body) {
  std::string copy;
  copy.reserve(body.size() + admission::kBodyPadding);
  copy.assign(body);
  return copy;
}

int repeat(long n, const std::string& path) {
  const std::string body = read_file(path);
  Pipeline pipeline;
  std::size_t bytes = 0;
  server::HttpResponse last;
  for (long i = 0; i < n; ++i) {
    last = pipeline.review(as_read(body));  // the copy is the server's read buffer; callgrind counts it too
    bytes += last.body.size();
  }
  std::printf("%s: %ld reviews, decision %s, response %zu bytes (total %zu)\n", base_name(path).c_str(), n,
              n > 0 ? decision_name(last) : "-", last.body.size(), bytes);
  return 0;
}

}  // namespace

TEST_CASE("review cost per fixture", "[bench]") {
  REQUIRE_FALSE(g_fixtures.empty());
  Pipeline pipeline;
  for (const auto& path : g_fixtures) {
    const std::string body = read_file(path);
    const std::string name = base_name(path);
    const auto probe = pipeline.review(body);
    REQUIRE(probe.status == 200);  // a fixture the decoder refuses measures nothing useful
    std::printf("fixture %s: %zu bytes, decision %s, response %zu bytes\n", name.c_str(), body.size(),
                decision_name(probe), probe.body.size());
    std::fflush(stdout);

    BENCHMARK_ADVANCED(std::string("review ") + name)(Catch::Benchmark::Chronometer meter) {
      std::vector<std::string> bodies;
      for (int i = 0; i < meter.runs(); ++i) bodies.push_back(as_read(body));
      meter.measure([&](int i) { return pipeline.review(std::move(bodies[static_cast<std::size_t>(i)])).body.size(); });
    };

    // The phases apart, with the server's own calls: decode (in situ, so a fresh copy each run),
    // evaluate the decoded request, encode the verdict's response.
    BENCHMARK_ADVANCED(std::string("decode ") + name)(Catch::Benchmark::Chronometer meter) {
      std::vector<std::string> bodies;
      for (int i = 0; i < meter.runs(); ++i) bodies.push_back(as_read(body));
      std::vector<admission::DecodeResult> decoded(static_cast<std::size_t>(meter.runs()));
      meter.measure([&](int i) {
        const auto k = static_cast<std::size_t>(i);
        decoded[k] = admission::decode(std::move(bodies[k]));
        return decoded[k].review.has_value();
      });
    };
    const auto decoded = admission::decode(body);
    REQUIRE(decoded);
    const auto evaluator = pipeline.reviewer.evaluator();
    const admission::Request& request = decoded.review->request();
    BENCHMARK(std::string("evaluate ") + name) {
      return evaluator->evaluate(request, policy::Route::Validate, policy::Facts{}).violations.size();
    };
    const auto verdict = evaluator->evaluate(request, policy::Route::Validate, policy::Facts{});
    BENCHMARK(std::string("encode ") + name) {
      return admission::encode(policy::to_response(request.uid, verdict)).size();
    };
  }
}

int main(int argc, char** argv) {
  if (argc == 4 && std::string(argv[1]) == "--repeat") return repeat(std::atol(argv[2]), argv[3]);
  Catch::Session session;
  using namespace Catch::clara;
  session.cli(session.cli() | Opt(g_fixtures, "file")["--fixture"]("an AdmissionReview body to measure (repeatable)"));
  if (int rc = session.applyCommandLine(argc, argv); rc != 0) return rc;
  return session.run();
}
