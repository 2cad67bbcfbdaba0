// The real podgate binary as a child process: review and check from the command line, and serve
// with real TLS clients, a real plain-HTTP scrape of /metrics checked by promtool, SIGHUP reload,
// and the SIGTERM drain under load.

#include <catch2/catch.hpp>
#include <signal.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/helpers.h"
#include "support/https_client.h"
#include "support/process.h"
#include "support/served_podgate.h"
#include "support/review_body.h"
#include "support/temp_dir.h"
#include "support/tls_certs.h"

using namespace std::chrono_literals;
namespace pt = podgate::test;

namespace {

std::string fixture(const std::string& name) { return std::string(PODGATE_FIXTURES_DIR) + "/reviews/" + name; }

// Runs the podgate binary to completion; returns the exit code, with stdout/stderr.
using Run = pt::Finished;
Run run(std::vector<std::string> args) {
  args.insert(args.begin(), PODGATE_BINARY);
  auto done = pt::run_to_end(std::move(args), 30s);
  REQUIRE(done.has_value());
  return *done;
}

// A plain HTTP GET (the /metrics listener is plain HTTP, as Prometheus scrapes it).
std::string http_get(unsigned short port, const std::string& target) {
  namespace beast = boost::beast;
  namespace http = beast::http;
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket socket(io);
  socket.connect({boost::asio::ip::make_address("127.0.0.1"), port});
  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, "127.0.0.1");
  http::write(socket, req);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(socket, buffer, res);
  REQUIRE(res.result_int() == 200);
  return res.body();
}

using Served = pt::ServedPodgate;

}  // namespace

TEST_CASE("version and --help work for every command", "[binary]") {
  auto v = run({"version"});
  CHECK(v.code == 0);
  CHECK(pt::contains(v.out, "podgate "));
  for (std::string cmd : {"serve", "review", "check"}) {
    auto h = run({cmd, "--help"});
    CHECK(h.code == 0);
    CHECK(pt::contains(h.out, "--config"));
  }
  CHECK(pt::contains(run({"serve", "--help"}).out, "--metrics-listen"));
  auto bad = run({"serve", "--no-such-flag"});
  CHECK(bad.code == 2);
}

TEST_CASE("review prints the response the server would send, exit 2 on unusable input", "[binary]") {
  auto r = run({"review", fixture("pod-privileged.json")});
  CHECK(r.code == 0);
  CHECK(pt::contains(r.out, R"("kind":"AdmissionReview")"));
  CHECK(pt::contains(r.out, R"("allowed":false)"));
  CHECK(pt::contains(r.out, R"("uid":"b7e4d1a0-0c1f-4f2a-8e3d-5a6b7c8d9e0f")"));

  auto audit = run({"review", "--audit", fixture("pod-privileged.json")});
  CHECK(audit.code == 0);
  CHECK(pt::contains(audit.out, R"("allowed":true)"));
  CHECK(pt::contains(audit.out, R"("warnings")"));

  auto clean = run({"review", fixture("pod-clean-4k.json")});
  CHECK(clean.code == 0);
  CHECK(pt::contains(clean.out, R"("allowed":true)"));

  pt::TempDir dir;
  pt::write_file(dir.file("bad.json"), R"({"apiVersion":"v1","kind":"AdmissionReview"})");
  auto bad = run({"review", dir.file("bad.json")});
  CHECK(bad.code == 2);
  CHECK(bad.out.empty());
  CHECK(std::count(bad.err.begin(), bad.err.end(), '\n') == 1);
  CHECK(pt::contains(bad.err, "apiVersion"));

  auto missing = run({"review", dir.file("missing.json")});
  CHECK(missing.code == 2);
}

TEST_CASE("check judges manifests in files and directories, exit 1 when anything would be denied", "[binary]") {
  pt::TempDir dir;
  std::filesystem::create_directories(dir.file("deploy"));
  pt::write_file(dir.file("deploy/web.yaml"), R"(apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    spec:
      containers:
        - name: app
          image: nginx:1.27
          securityContext: {privileged: true}
      volumes:
        - name: sock
          hostPath: {path: //var/run/docker.sock}
---
apiVersion: v1
kind: Service
metadata: {name: web}
)");
  pt::write_file(dir.file("deploy/clean.yaml"), R"(apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  schedule: "@daily"
  jobTemplate:
    spec:
      template:
        spec:
          containers: [{name: job, image: busybox}]
)");
  auto r = run({"check", "-f", dir.file("deploy")});
  CHECK(r.code == 1);
  CHECK(pt::contains(r.out, "web.yaml:1: deny [privileged] Deployment shop/web"));
  CHECK(pt::contains(r.out, "deny [runtimeSockets]"));
  CHECK(pt::contains(r.out, "//var/run/docker.sock"));
  CHECK(pt::contains(r.err, "3 documents"));

  auto clean = run({"check", "-f", dir.file("deploy/clean.yaml")});
  CHECK(clean.code == 0);
  CHECK(clean.out.empty());

  // Audit mode in the config does not hide what enforcement would do.
  pt::write_file(dir.file("audit.yaml"), "mode: audit\n");
  CHECK(run({"check", "--config", dir.file("audit.yaml"), "-f", dir.file("deploy/web.yaml")}).code == 1);

  pt::write_file(dir.file("broken.yaml"), "kind: Pod\nspec: [\n");
  auto broken = run({"check", "-f", dir.file("broken.yaml")});
  CHECK(broken.code == 2);
  CHECK(pt::contains(broken.err, "broken.yaml:"));

  pt::write_file(dir.file("typo.yaml"), "mode: enforce\nrules:\n  privileged: {acton: deny}\n");
  auto typo = run({"check", "--config", dir.file("typo.yaml"), "-f", dir.file("deploy/clean.yaml")});
  CHECK(typo.code == 2);
  CHECK(pt::contains(typo.err, "rules.privileged.acton"));
}

TEST_CASE("serve refuses a bad config or address with a clear JSON log line", "[binary]") {
  pt::TempDir dir;
  pt::write_file(dir.file("bad.yaml"), "mode: block\n");
  auto r = run({"serve", "--config", dir.file("bad.yaml")});
  CHECK(r.code == 1);
  CHECK(pt::contains(r.err, R"("level":"error")"));
  CHECK(pt::contains(r.err, "mode"));
  auto addr = run({"serve", "--listen", "nonsense"});
  CHECK(addr.code == 1);
  CHECK(pt::contains(addr.err, "--listen"));
  auto nocert = run({"serve", "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0", "--tls-cert",
                     dir.file("missing.crt"), "--tls-key", dir.file("missing.key")});
  CHECK(nocert.code == 1);
  CHECK(pt::contains(nocert.err, "missing.crt"));
}

TEST_CASE("serve: /metrics passes promtool check metrics after real traffic", "[binary]") {
  Served served;
  pt::HttpsClient client(served.client());
  auto denied = client.request("POST", "/validate?timeout=5s", pt::pod_review("u-1", true));
  CHECK(denied.status == 200);
  CHECK(pt::contains(denied.body, R"("allowed":false)"));
  CHECK(client.request("POST", "/audit", pt::pod_review("u-2", true)).status == 200);
  CHECK(client.request("POST", "/validate", pt::pod_review("u-3", false)).status == 200);
  CHECK(client.request("POST", "/validate", "{not json").status == 400);
  CHECK(client.request("GET", "/healthz").status == 200);

  const std::string text = http_get(served.metricsPort, "/metrics");
  CHECK(pt::contains(text, R"(podgate_admission_requests_total{decision="denied",kind="Pod",mode="enforce",operation="CREATE"} 1)"));
  CHECK(pt::contains(text, R"(decision="would_deny",kind="Pod",mode="audit")"));
  CHECK(pt::contains(text, "podgate_admission_review_duration_seconds_bucket"));
  CHECK(pt::contains(text, "podgate_tls_serving_certificate_expiry_timestamp_seconds"));
  CHECK(pt::contains(text, "podgate_build_info"));

  pt::TempDir dir;
  pt::write_file(dir.file("metrics.txt"), text);
  const std::string cmd = "promtool check metrics < " + dir.file("metrics.txt") + " > " + dir.file("promtool.out") + " 2>&1";
  const int rc = std::system(cmd.c_str());
  INFO(pt::read_file(dir.file("promtool.out")));
  CHECK(rc == 0);
  CHECK(pt::read_file(dir.file("promtool.out")).empty());  // promtool prints lint problems, if any
}

TEST_CASE("serve: SIGHUP reloads the rules, a bad file keeps the old ones", "[binary]") {
  Served served("mode: enforce\n");
  pt::HttpsClient client(served.client());
  CHECK(pt::contains(client.request("POST", "/validate", pt::pod_review("a", true)).body, R"("allowed":false)"));

  pt::write_file_atomically(served.config_path(), "mode: audit\n");
  served.process->signal(SIGHUP);
  REQUIRE(served.process->wait_for_output("config reloaded", 10s));
  CHECK(pt::contains(client.request("POST", "/validate", pt::pod_review("b", true)).body, R"("allowed":true)"));

  pt::write_file_atomically(served.config_path(), "mode: sideways\n");
  served.process->signal(SIGHUP);
  REQUIRE(served.process->wait_for_output("config reload failed", 10s));
  CHECK(pt::contains(client.request("POST", "/validate", pt::pod_review("c", true)).body, R"("allowed":true)"));

  const std::string text = http_get(served.metricsPort, "/metrics");
  CHECK(pt::contains(text, R"(podgate_config_reloads_total{result="success"} 1)"));
  CHECK(pt::contains(text, R"(podgate_config_reloads_total{result="failure"} 1)"));
}

TEST_CASE("serve: SIGTERM under load answers every request in flight, closes idle connections, exits 0",
          "[binary][concurrency]") {
  Served served;
  // An idle keep-alive connection: it must be closed promptly once draining starts.
  pt::HttpsClient idle(served.client());
  REQUIRE(idle.request("GET", "/healthz").status == 200);

  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, bad_status{0}, refused_after_term{0}, failed_before_term{0};
  std::atomic<bool> termSent{false};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&, t] {
      pt::HttpsClient c(served.client());
      int i = 0;
      while (!stop) {
        try {
          auto r = c.request("POST", "/validate", pt::pod_review("t" + std::to_string(t) + "-" + std::to_string(i++)));
          if (r.status == 200) ++ok; else ++bad_status;
        } catch (const std::exception&) {
          // Once SIGTERM is sent, the listener closes (new connections are refused: the apiserver's
          // cue to use another replica) and a keep-alive connection that was idle at that instant
          // is closed, so a request racing it may fail before the server read it. Requests the
          // server had received are answered (the server tests check that). Before SIGTERM,
          // nothing may fail.
          if (termSent) { ++refused_after_term; std::this_thread::sleep_for(20ms); }
          else ++failed_before_term;
        }
      }
    });
  }
  std::this_thread::sleep_for(1500ms);
  const int before = ok.load();
  termSent = true;
  served.process->signal(SIGTERM);
  CHECK(idle.wait_for_close(5s));
  auto code = served.process->wait_for(30s);
  stop = true;
  for (auto& c : clients) c.join();

  REQUIRE(code.has_value());
  CHECK(*code == 0);
  CHECK(before > 50);
  CHECK(bad_status == 0);
  CHECK(failed_before_term == 0);
  const std::string err = served.process->stderr_text();
  CHECK(pt::contains(err, "draining"));
  CHECK(pt::contains(err, "podgate stopped"));
}
