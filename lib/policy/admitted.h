#pragma once
// What admission judged, remembered for the audit (lib/audit), in memory and bounded in bytes:
// - per Pod (by metadata.uid, which the apiserver sets before validating admission), the digest
//   each container's image was judged as: the audit compares it with the digest the kubelet
//   reports, to catch a tag that moved between admission and pull;
// - per digest, when it was first admitted and a reference to pull it from: what
//   /v1/scans/wanted offers a scanner before a Pod even runs it.
// Each replica remembers what it judged itself (see docs/operations.md "What runs").

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "admission/admission.h"
#include "policy/policy.h"

namespace podgate::policy {

struct AdmittedImage {
  std::string subject;  // "container \"app\"" (JudgedImage::subject)
  std::string image;    // as written in the spec
  std::string digest;   // what it was judged as
  bool operator==(const AdmittedImage&) const = default;
};

struct AdmittedDigest {
  std::string digest;
  std::string reference;       // "registry/repo@sha256:..." to pull it from
  std::int64_t firstSeen = 0;  // unix seconds
};

class AdmissionLedger {
 public:
  // The bound for everything held (estimated); the least recently recorded entries go first.
  explicit AdmissionLedger(std::size_t maxBytes = 16u << 20, std::size_t maxDigests = 100000);

  // Records an allowed (or warned) request's judged images: a Pod CREATE with a uid by Pod, and
  // every request's digests. Requests denied, dry-run, or without resolved digests add nothing.
  void record(const admission::Request& request, const Verdict& verdict, std::int64_t now);

  // The images a Pod was admitted with; nullopt when this replica did not admit it (or forgot).
  std::optional<std::vector<AdmittedImage>> pod(std::string_view uid) const;
  // Every admitted digest, oldest first.
  std::vector<AdmittedDigest> digests() const;
  std::size_t bytes() const;

 private:
  struct PodEntry {
    std::string uid;
    std::vector<AdmittedImage> images;
    std::size_t bytes = 0;
  };
  void evict_locked();
  std::size_t maxBytes_;
  std::size_t maxDigests_;
  mutable std::mutex mutex_;
  std::list<PodEntry> pods_;  // front: newest
  std::unordered_map<std::string, std::list<PodEntry>::iterator> podIndex_;
  std::list<AdmittedDigest> digests_;  // front: newest first seen
  std::unordered_map<std::string, std::list<AdmittedDigest>::iterator> digestIndex_;
  std::size_t bytes_ = 0;
};

}  // namespace podgate::policy
