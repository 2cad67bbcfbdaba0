// rules.podSecurity.namespaceLabels against a real kube-apiserver (run by tests/e2e/kube_client.sh):
// the namespace label cache list-watches Namespaces as the test user (RBAC: get, list, watch on
// namespaces, as the chart grants), picks up a namespace labelled enforce=restricted, a relabel,
// a namespace created after the sync; and the Reviewer looks each request's namespace up in it
// (hit, miss) on the way to the evaluator, which denies a Pod the restricted label forbids.

#include <catch2/catch.hpp>

#include <cstdio>
#include <memory>
#include <random>
#include <string>

#include "kube/reflector.h"
#include "kube_e2e.h"
#include "policy/namespace_standards.h"
#include "policy/review.h"

using namespace std::chrono_literals;
using podgate::config::PodSecurityLevel;
using podgate::e2e::env_or_fail;
using podgate::e2e::eventually;
using podgate::policy::NamespaceLookupResult;
using podgate::policy::NamespaceStandardsCache;

namespace {

std::string sh(const std::string& command, int* rc = nullptr) {
  std::string out;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (!p) return out;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  const int status = ::pclose(p);
  if (rc) *rc = status;
  return out;
}

// kubectl as the cluster admin (the test user may only read namespaces); REQUIREs success.
void kubectl(const std::string& args) {
  int rc = -1;
  const std::string out = sh("'" + env_or_fail("PODGATE_E2E_KUBECTL") + "' --kubeconfig '" +
                             env_or_fail("PODGATE_E2E_ADMIN_KUBECONFIG") + "' --request-timeout=30s " + args, &rc);
  INFO("kubectl " << args << ": " << out);
  REQUIRE(rc == 0);
}

std::string unique(const std::string& prefix) {
  std::random_device rd;
  return prefix + "-" + std::to_string(rd() % 1000000);
}

podgate::kube::ReflectorOptions namespaces() {
  podgate::kube::ReflectorOptions o;
  o.resource = "namespaces";
  o.path = "/api/v1/namespaces";
  return o;
}

std::string pod_review(const std::string& ns) {
  return R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"e2e-ns-1",)"
         R"("kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},)"
         R"("name":"web","namespace":")" + ns + R"(","operation":"CREATE","userInfo":{"username":"alice"},)"
         R"("object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","namespace":")" + ns +
         R"("},"spec":{"containers":[{"name":"app","image":"busybox:1.36"}]}},"oldObject":null,"dryRun":false}})";
}

}  // namespace

TEST_CASE("namespace labels: a labelled namespace, a relabel and a new namespace reach the cache, and the "
          "Reviewer looks requests' namespaces up", "[namespace-standards]") {
  podgate::metrics::Metrics m;
  auto client = podgate::e2e::test_client(&m);
  const std::string labelled = unique("e2e-psa-restricted"), later = unique("e2e-psa-later");
  const std::string restricted = unique("e2e-psa-deny");  // stays enforce=restricted, for the verdict
  kubectl("create namespace " + labelled);
  kubectl("label namespace " + labelled + " pod-security.kubernetes.io/enforce=restricted");
  kubectl("create namespace " + restricted);
  kubectl("label namespace " + restricted + " pod-security.kubernetes.io/enforce=restricted");

  auto cache = std::make_shared<NamespaceStandardsCache>(podgate::policy::NamespaceStandardsOptions{}, &m, nullptr);
  podgate::kube::Reflector reflector(client, namespaces(), *cache);
  reflector.start();
  REQUIRE(reflector.wait_synced(30s));
  REQUIRE(cache->synced());
  INFO("reflector: " << reflector.last_error());

  // From the list: enforce=restricted, and warn defaulted to it as PSA does.
  auto hit = cache->lookup(labelled);
  REQUIRE(hit.result == NamespaceLookupResult::Hit);
  REQUIRE(hit.standards);
  CHECK(hit.standards->enforce.set);
  CHECK(hit.standards->enforce.level == PodSecurityLevel::Restricted);
  CHECK(hit.standards->warn.level == PodSecurityLevel::Restricted);
  // default has no PSA labels: known, nothing to hand on.
  CHECK(cache->lookup("default").result == NamespaceLookupResult::Hit);
  CHECK_FALSE(cache->lookup("default").standards);

  // A relabel arrives by the watch (MODIFIED).
  kubectl("label --overwrite namespace " + labelled +
          " pod-security.kubernetes.io/enforce=baseline pod-security.kubernetes.io/enforce-version=v1.29"
          " pod-security.kubernetes.io/audit=restricted");
  CHECK(eventually(
      [&] {
        auto s = cache->lookup(labelled).standards;
        return s && s->enforce.level == PodSecurityLevel::Baseline && s->enforce.version.minor == 29 &&
               s->audit.set && s->audit.level == PodSecurityLevel::Restricted;
      },
      15s));
  // Labels taken off: known, no standards.
  kubectl("label namespace " + labelled + " pod-security.kubernetes.io/enforce- pod-security.kubernetes.io/enforce-version-"
          " pod-security.kubernetes.io/audit-");
  CHECK(eventually([&] { return cache->lookup(labelled).result == NamespaceLookupResult::Hit && !cache->lookup(labelled).standards; }, 15s));

  // A namespace created after the sync: a miss until its ADDED event, then a hit.
  CHECK(cache->lookup(later).result == NamespaceLookupResult::Miss);
  kubectl("create namespace " + later);
  kubectl("label namespace " + later + " pod-security.kubernetes.io/warn=baseline");
  CHECK(eventually(
      [&] {
        auto s = cache->lookup(later).standards;
        return s && s->warn.level == PodSecurityLevel::Baseline && !s->enforce.set;
      },
      15s));
  CHECK(podgate::e2e::metric(m, "podgate_kube_cache_objects", {R"(resource="namespaces")"}) >= 3);
  CHECK(podgate::e2e::metric(m, "podgate_kube_cache_synced", {R"(resource="namespaces")"}) == 1);

  // The Reviewer: with rules.podSecurity.namespaceLabels on, each judged request's namespace is
  // looked up (the standards go into Facts::namespaceStandards); one not known is a counted miss.
  podgate::config::Config cfg;
  cfg.rules.podSecurity.namespaceLabels = true;
  podgate::policy::Reviewer reviewer(std::make_shared<const podgate::policy::Evaluator>(cfg), &m, nullptr);
  reviewer.set_namespace_standards(cache);
  const double hits = podgate::e2e::metric(m, "podgate_pod_security_namespace_lookups_total", {R"(result="hit")"});
  const double misses = podgate::e2e::metric(m, "podgate_pod_security_namespace_lookups_total", {R"(result="miss")"});
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  CHECK(reviewer.review(pod_review(later), podgate::policy::Route::Validate, deadline).httpStatus == 200);
  CHECK(reviewer.review(pod_review("no-such-namespace"), podgate::policy::Route::Validate, deadline).httpStatus == 200);
  CHECK(podgate::e2e::metric(m, "podgate_pod_security_namespace_lookups_total", {R"(result="hit")"}) == hits + 1);
  CHECK(podgate::e2e::metric(m, "podgate_pod_security_namespace_lookups_total", {R"(result="miss")"}) == misses + 1);

  // The verdict: at a baseline floor, the restricted-labelled namespace's Pod (no runAsNonRoot,
  // among others) is denied at restricted; the namespace with only a warn label admits it.
  podgate::config::Config floor;
  floor.rules.podSecurity.level = PodSecurityLevel::Baseline;
  floor.rules.podSecurity.namespaceLabels = true;
  podgate::policy::Reviewer judge(std::make_shared<const podgate::policy::Evaluator>(floor), &m, nullptr);
  judge.set_namespace_standards(cache);
  const auto denied = judge.review(pod_review(restricted), podgate::policy::Route::Validate, deadline);
  INFO("restricted: " << denied.body);
  CHECK(denied.httpStatus == 200);
  CHECK(denied.decision == podgate::policy::Decision::Denied);
  CHECK(denied.body.find("runAsNonRoot") != std::string::npos);
  CHECK(denied.body.find("restricted") != std::string::npos);
  const auto admitted = judge.review(pod_review(later), podgate::policy::Route::Validate, deadline);
  INFO("warn label only: " << admitted.body);
  CHECK(admitted.decision == podgate::policy::Decision::Allowed);
  reflector.stop();
  // No namespace controller runs here, so a deleted namespace would stay Terminating: left in place
  // (each run's names are random).
}
