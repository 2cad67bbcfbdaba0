// workloads.custom through the real podgate binary: `podgate check` on an Argo Rollout manifest
// (judged with the config, a warning without it), and `podgate serve` judging a Rollout review
// after a SIGHUP reload adds the entry, counting an object with nothing at its podSpecPath.

#include <catch2/catch.hpp>
#include <signal.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <string>
#include <vector>

#include "support/helpers.h"
#include "support/https_client.h"
#include "support/process.h"
#include "support/served_podgate.h"
#include "support/temp_dir.h"

using namespace std::chrono_literals;
namespace pt = podgate::test;

namespace {

using Run = pt::Finished;
Run run(std::vector<std::string> args) {
  args.insert(args.begin(), PODGATE_BINARY);
  auto done = pt::run_to_end(std::move(args), 30s);
  REQUIRE(done.has_value());
  return *done;
}

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

std::string metrics(unsigned short port) {
  namespace http = boost::beast::http;
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket socket(io);
  socket.connect({boost::asio::ip::make_address("127.0.0.1"), port});
  http::request<http::empty_body> req{http::verb::get, "/metrics", 11};
  req.set(http::field::host, "127.0.0.1");
  http::write(socket, req);
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(socket, buffer, res);
  REQUIRE(res.result_int() == 200);
  return res.body();
}

const char* const kConfig = R"(workloads:
  custom:
    - {group: argoproj.io, kind: Rollout, podSpecPath: spec.template.spec}
)";

// A ConfigMap first, so the Rollout starts on line 4 of its file (after the ---).
const char* const kRollouts = R"(apiVersion: v1
kind: ConfigMap
---
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: web, namespace: shop}
spec:
  strategy: {canary: {steps: [{setWeight: 20}]}}
  template:
    spec:
      containers:
        - name: app
          image: nginx:1.27
          securityContext: {privileged: true}
  # A second template in the same document: still one warning.
  analysis:
    template:
      spec:
        containers: [{name: probe, image: busybox}]
)";

std::string rollout_review(const std::string& uid, const std::string& spec) {
  return R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":")" + uid +
         R"(","kind":{"group":"argoproj.io","version":"v1alpha1","kind":"Rollout"},)"
         R"("resource":{"group":"argoproj.io","version":"v1alpha1","resource":"rollouts"},)"
         R"("name":"web","namespace":"shop","operation":"CREATE","userInfo":{"username":"alice"},)"
         R"("object":{"metadata":{"name":"web","namespace":"shop"},"spec":)" + spec + "}}}";
}

const std::string kPrivilegedTemplate =
    R"({"template":{"spec":{"containers":[{"name":"app","image":"nginx:1.27","securityContext":{"privileged":true}}]}}})";

}  // namespace

TEST_CASE("check judges a Rollout listed in workloads.custom, and warns once for one that is not", "[binary][custom]") {
  pt::TempDir dir;
  pt::write_file(dir.file("rollout.yaml"), kRollouts);
  pt::write_file(dir.file("podgate.yaml"), kConfig);

  auto judged = run({"check", "--config", dir.file("podgate.yaml"), "-f", dir.file("rollout.yaml")});
  CHECK(judged.code == 1);
  CHECK(pt::contains(judged.out, "rollout.yaml:4: deny [privileged] Rollout shop/web"));
  CHECK(pt::contains(judged.out, "spec.template.spec.containers[0].securityContext.privileged"));
  CHECK_FALSE(pt::contains(judged.err, "warning"));
  CHECK(pt::contains(judged.err, "2 documents, 1 judged"));

  auto unjudged = run({"check", "-f", dir.file("rollout.yaml")});
  CHECK(unjudged.code == 0);
  CHECK(unjudged.out.empty());
  CHECK(pt::contains(unjudged.err, "rollout.yaml:4: warning: Rollout (argoproj.io/v1alpha1) has a pod template at "
                                   "spec.template.spec that podgate does not judge; add it to workloads.custom\n"));
  CHECK(count(unjudged.err, "warning:") == 1);
  CHECK(pt::contains(unjudged.err, "2 documents, 0 judged"));

  // A listed kind with nothing at its podSpecPath: allowed, with a warning (a wrong path shows).
  pt::write_file(dir.file("empty.yaml"), "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: e}\n"
                                         "spec: {workloadRef: {kind: Deployment, name: web}}\n");
  auto empty = run({"check", "--config", dir.file("podgate.yaml"), "-f", dir.file("empty.yaml")});
  CHECK(empty.code == 0);
  CHECK(pt::contains(empty.err, "empty.yaml:1: warning: Rollout (argoproj.io/v1alpha1) has no pod spec at its "
                                "workloads.custom podSpecPath; not judged"));

  // A bad entry stops check with the key named.
  pt::write_file(dir.file("bad.yaml"), "workloads:\n  custom:\n    - {group: argoproj.io, kind: Rollout}\n");
  auto bad = run({"check", "--config", dir.file("bad.yaml"), "-f", dir.file("rollout.yaml")});
  CHECK(bad.code == 2);
  CHECK(pt::contains(bad.err, "workloads.custom[0].podSpecPath: is required"));
}

TEST_CASE("serve: a SIGHUP reload adds workloads.custom, and an object without the path is counted", "[binary][custom]") {
  pt::ServedPodgate served("mode: enforce\n");
  pt::HttpsClient client(served.client());
  // Not listed: a Rollout is not podgate's to judge.
  CHECK(pt::contains(client.request("POST", "/validate", rollout_review("a", kPrivilegedTemplate)).body,
                     R"("allowed":true)"));

  pt::write_file_atomically(served.config_path(), std::string("mode: enforce\n") + kConfig);
  served.process->signal(SIGHUP);
  REQUIRE(served.process->wait_for_output("config reloaded", 10s));
  const std::string denied = client.request("POST", "/validate", rollout_review("b", kPrivilegedTemplate)).body;
  CHECK(pt::contains(denied, R"("allowed":false)"));
  CHECK(pt::contains(denied, "spec.template.spec.containers[0].securityContext.privileged"));

  CHECK(pt::contains(client.request("POST", "/validate", rollout_review("c", R"({"replicas":1})")).body,
                     R"("allowed":true)"));
  REQUIRE(served.process->wait_for_output("custom workload has no pod spec at its podSpecPath", 10s));
  const std::string text = metrics(served.metricsPort);
  CHECK(pt::contains(text, R"(podgate_custom_workload_missing_pod_spec_total{group="argoproj.io",kind="Rollout"} 1)"));
  // A listed kind is its own label; before the reload the Rollout was not judged, so not counted.
  CHECK(pt::contains(text, R"(podgate_admission_requests_total{decision="denied",kind="Rollout",mode="enforce",operation="CREATE"} 1)"));
  CHECK(pt::contains(text, R"(podgate_admission_requests_total{decision="allowed",kind="Rollout",mode="enforce",operation="CREATE"} 1)"));
}
