#pragma once
// The plain-HTTP /metrics listener, on Beast and one thread of its own. It replaces
// prometheus-cpp's civetweb exposer, whose few threads and 30 s request timeout let one idle
// connection hold every scrape for 30 s: here connections are served concurrently, each read and
// write has a deadline, and at the connection cap the longest-waiting connection gives way.
//
//   GET|HEAD /metrics  -> 200, text/plain; version=0.0.4 (Metrics::serialize())
//   /metrics, other    -> 405 with Allow: GET, HEAD
//   anything else      -> 404

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "log/log.h"
#include "metrics/metrics.h"

namespace podgate::server {

struct MetricsListenerOptions {
  std::chrono::milliseconds readTimeout{5000};    // a whole request, and the wait for a next one
  std::chrono::milliseconds writeTimeout{10000};  // a whole response
  std::size_t maxConnections = 64;
  std::size_t maxHeaderBytes = 8192;
};

class MetricsListener {
 public:
  // Binds "HOST:PORT" now (port 0: a free one; empty host: every IPv4 address) and starts serving
  // on its own thread. Throws std::runtime_error naming the address when it cannot listen.
  MetricsListener(const std::string& host, unsigned short port, const metrics::Metrics& metrics, log::Logger& logger,
                  MetricsListenerOptions options = {});
  ~MetricsListener();  // stops the thread and closes every connection
  MetricsListener(const MetricsListener&) = delete;
  MetricsListener& operator=(const MetricsListener&) = delete;

  unsigned short port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace podgate::server
