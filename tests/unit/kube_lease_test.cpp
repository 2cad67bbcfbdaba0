// lib/kube/lease.h without an apiserver: the options' client-go ratios, the candidate identity and
// the namespace fallbacks. The election itself runs against a real apiserver in
// tests/e2e/lease_test.cpp.

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <string>

#include "kube/lease.h"

using namespace std::chrono_literals;
using podgate::kube::lease_identity;
using podgate::kube::lease_options;
using podgate::kube::own_namespace;

TEST_CASE("lease_options: client-go's ratios (15 s, 10 s, 2 s)") {
  const auto o = lease_options("ns", "podgate-audit", "me", 15000ms);
  CHECK(o.namespace_ == "ns");
  CHECK(o.name == "podgate-audit");
  CHECK(o.identity == "me");
  CHECK(o.leaseDuration == 15000ms);
  CHECK(o.renewDeadline == 10000ms);
  CHECK(o.retryPeriod == 2000ms);
  CHECK(o.releaseOnStop);
  const auto fast = lease_options("ns", "n", "me", 3000ms);
  CHECK(fast.renewDeadline == 2000ms);
  CHECK(fast.retryPeriod == 400ms);
}

TEST_CASE("lease_identity: the Pod's name and 8 random hex digits, different each time") {
  ::setenv("POD_NAME", "podgate-7d9f-abcde", 1);
  const std::string a = lease_identity(), b = lease_identity();
  CHECK(std::regex_match(a, std::regex("podgate-7d9f-abcde-[0-9a-f]{8}")));
  CHECK(a != b);
  // Events' reportingInstance takes 128 characters at most.
  ::setenv("POD_NAME", std::string(300, 'p').c_str(), 1);
  CHECK(lease_identity().size() <= 128);
  // Without $POD_NAME: the host name.
  ::unsetenv("POD_NAME");
  CHECK(std::regex_match(lease_identity(), std::regex(".+-[0-9a-f]{8}")));
}

TEST_CASE("own_namespace: $POD_NAMESPACE when it is a valid name, else the next source") {
  ::setenv("POD_NAMESPACE", "security", 1);
  CHECK(own_namespace() == "security");
  const bool inCluster = std::filesystem::exists("/var/run/secrets/kubernetes.io/serviceaccount/namespace");
  for (const char* bad : {"", "Security", "-x", "a/b", "../etc"}) {
    ::setenv("POD_NAMESPACE", bad, 1);
    const std::string ns = own_namespace();
    CHECK(ns != bad);
    if (!inCluster) CHECK(ns == "default");
  }
  ::unsetenv("POD_NAMESPACE");
  if (!inCluster) CHECK(own_namespace() == "default");
}
