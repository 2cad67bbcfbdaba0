#pragma once
// Leader election over a coordination.k8s.io/v1 Lease, client-go's contract
// (k8s.io/client-go/tools/leaderelection): one holder at a time; a candidate takes the Lease when
// its holder has not renewed it for leaseDuration as observed on the candidate's own clock (never
// by comparing timestamps across machines); the leader renews every retryPeriod and steps down
// when it could not renew within renewDeadline; every write is an update at the resourceVersion
// read, so two candidates cannot both win. Used by the audit so that one replica writes reports.

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "kube/client.h"
#include "log/log.h"
#include "metrics/metrics.h"

namespace podgate::kube {

struct LeaseOptions {
  std::string namespace_;  // the Lease's namespace
  std::string name;        // "podgate-audit"
  std::string identity;    // this candidate: the Pod's name plus a random suffix (lease_identity())
  // client-go's defaults: 15 s, 10 s, 2 s. renewDeadline < leaseDuration; retryPeriod < renewDeadline.
  std::chrono::milliseconds leaseDuration{15000};
  std::chrono::milliseconds renewDeadline{10000};
  std::chrono::milliseconds retryPeriod{2000};
  // On stop(), hand the Lease back (holder "" and a 1 s duration) so another replica takes it at once
  // (client-go's ReleaseOnCancel).
  bool releaseOnStop = true;
};

// The options for `duration` (audit.lease.duration) with client-go's ratios: renewDeadline 2/3 of
// it, retryPeriod 2/15 of it.
LeaseOptions lease_options(std::string namespace_, std::string name, std::string identity,
                           std::chrono::milliseconds duration);

// A candidate identity: $POD_NAME (else the host name) and 8 random hex digits, so two processes
// on one host, or a restarted Pod, never share one.
std::string lease_identity();

// The namespace for a Lease when none is configured: $POD_NAMESPACE, else the service account's
// namespace file, else "default".
std::string own_namespace();

class LeaderElector {
 public:
  // Called on the elector's thread when this candidate starts or stops leading. on_stopped is also
  // called by stop() when leading.
  struct Callbacks {
    std::function<void()> on_started;
    std::function<void()> on_stopped;
  };
  // metrics (podgate_audit_leader) and logger may be null.
  LeaderElector(Client& client, LeaseOptions options, Callbacks callbacks, metrics::Metrics* metrics,
                log::Logger* logger);
  ~LeaderElector();  // stops
  LeaderElector(const LeaderElector&) = delete;
  LeaderElector& operator=(const LeaderElector&) = delete;

  void start();  // one thread: acquire, then renew; never returns early on errors (it retries)
  void stop();   // stops renewing; releases the Lease when leading and releaseOnStop
  bool is_leader() const;
  std::string holder() const;  // the holder last observed ("" when none)

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace podgate::kube
