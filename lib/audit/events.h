#pragma once
// Kubernetes Events (events.k8s.io/v1) about workloads, recorded as the Kubernetes recorders do so
// that a finding seen again and again is one Event with a growing series, never a storm:
// - an Event isomorphic to one recorded in the last 6 minutes (same regarding object, reason,
//   action, type and note) updates that Event's series (count, lastObservedTime) instead of making
//   a new one (client-go tools/events);
// - a per-object token bucket, burst 25, one token per 5 minutes (client-go tools/record's spam
//   filter), throttles the rest;
// - a queue of at most 1000 Events, written by one thread through the client's rate limit; an
//   Event is dropped after 12 failed tries.
// See /work/shared/reference/policy-reports.md section 5.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "audit/reports.h"
#include "kube/client.h"
#include "log/log.h"
#include "metrics/metrics.h"

namespace podgate::audit {

struct EventSpec {
  WorkloadRef regarding;  // the Event goes in regarding.namespace_ ("default" when cluster-scoped)
  std::string type = "Warning";  // Normal | Warning
  std::string reason;            // UpperCamelCase, at most 128 characters: "MaliciousImageRunning"
  std::string action;            // UpperCamelCase, at most 128 characters: "Audit"
  std::string note;              // at most 1024 bytes (cut with a "..." suffix)
};

struct EventRecorderOptions {
  std::string reportingController = "podgate.io/audit";
  std::string reportingInstance;  // this replica (the lease identity); at most 128 characters
  std::size_t maxQueued = 1000;
  std::size_t burst = 25;
  std::chrono::seconds refill{300};       // one token per object every 5 minutes
  std::chrono::seconds seriesWindow{360}; // isomorphic Events within 6 minutes join a series
  std::size_t maxTracked = 4096;          // Events and buckets remembered (LRU), as client-go's cache
  int maxTries = 12;
};

// The name client-go gives an Event: "<regarding name>.<hex unix nanos>", the regarding name cut
// (and a '-' or '.' left at the cut dropped) so that the whole is a DNS subdomain of at most 253
// characters.
std::string event_name(std::string_view regardingName, std::int64_t unixNanos);

class EventRecorder {
 public:
  // metrics (podgate_audit_events_total) and logger may be null. Starts its writer thread.
  EventRecorder(kube::Client& client, EventRecorderOptions options, metrics::Metrics* metrics, log::Logger* logger);
  ~EventRecorder();  // writes nothing more; joins the thread (at most one request in flight)
  EventRecorder(const EventRecorder&) = delete;
  EventRecorder& operator=(const EventRecorder&) = delete;

  // Queues an Event; never blocks on the apiserver.
  void record(EventSpec event);
  // Blocks until the queue is empty and nothing is in flight, or `timeout` passes (tests, shutdown).
  bool flush(std::chrono::milliseconds timeout);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace podgate::audit
