#pragma once
// What the test cases run by tests/e2e/kube_client.sh share: the environment that script sets, a
// client of the test user, a metric read back from a registry, and polling for a condition.

#include <chrono>
#include <cstdlib>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "kube/client.h"
#include "kube/config.h"
#include "metrics/metrics.h"

namespace podgate::e2e {

// A variable kube_client.sh exports; a clear failure when the binary is run without it.
inline std::string env_or_fail(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) throw std::runtime_error(std::string(name) + " is not set: run tests/e2e/kube_client.sh");
  return v;
}

// The test user's client (no client-side rate limit). `server`: another URL for the apiserver
// (a proxy's), "" for the kubeconfig's.
inline kube::Client test_client(metrics::Metrics* metrics = nullptr,
                                std::chrono::milliseconds timeout = std::chrono::seconds(30),
                                const std::string& server = "") {
  kube::ClientOptions o;
  o.qps = 0;
  o.timeout = timeout;
  auto config = kube::kubeconfig_config(env_or_fail("PODGATE_E2E_KUBECONFIG"));
  if (!server.empty()) config.server = server;
  return kube::Client(std::move(config), o, metrics, nullptr);
}

// The sum of a metric's series whose lines contain every one of `labels` (`name="value"` text).
inline double metric(const metrics::Metrics& m, const std::string& name, const std::vector<std::string>& labels = {}) {
  std::istringstream in(m.serialize());
  double sum = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(name + "{", 0) != 0 && line.rfind(name + " ", 0) != 0) continue;
    bool all = true;
    for (const auto& l : labels) all = all && line.find(l) != std::string::npos;
    if (all) sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

// Polls `check` until it holds or `within` has passed; one last check at the end.
inline bool eventually(const std::function<bool()>& check, std::chrono::milliseconds within,
                       std::chrono::milliseconds every = std::chrono::milliseconds(20)) {
  const auto until = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < until) {
    if (check()) return true;
    std::this_thread::sleep_for(every);
  }
  return check();
}

}  // namespace podgate::e2e
