#include "policy/admitted.h"

#include <algorithm>

#include "image/reference.h"

namespace podgate::policy {

namespace {

// What an entry costs: its strings' buffers and the list and index nodes (about 64 bytes each).
constexpr std::size_t kNodeBytes = 64;

std::size_t image_bytes(const AdmittedImage& image) {
  return sizeof(AdmittedImage) + image.subject.capacity() + image.image.capacity() + image.digest.capacity();
}

std::size_t digest_bytes(const AdmittedDigest& digest) {
  return sizeof(AdmittedDigest) + 2 * kNodeBytes + 2 * digest.digest.capacity() + digest.reference.capacity();
}

bool is_pod_create(const admission::Request& request) {
  return request.operation == admission::Operation::Create && request.resource == "pods" &&
         request.resourceGroup.empty() && request.subResource.empty() && !request.object.uid.empty();
}

}  // namespace

AdmissionLedger::AdmissionLedger(std::size_t maxBytes, std::size_t maxDigests)
    : maxBytes_(maxBytes), maxDigests_(maxDigests) {}

void AdmissionLedger::record(const admission::Request& request, const Verdict& verdict, std::int64_t now) {
  if (verdict.decision == Decision::Denied || request.dryRun || verdict.images.empty()) return;
  PodEntry entry;
  entry.uid = std::string(request.object.uid);
  entry.bytes = sizeof(PodEntry) + 2 * kNodeBytes + 2 * entry.uid.capacity();
  for (const JudgedImage& judged : verdict.images) {
    if (judged.digest.empty()) continue;
    entry.images.push_back({judged.subject, judged.image, judged.digest});
    entry.bytes += image_bytes(entry.images.back());
  }
  if (entry.images.empty()) return;

  const std::lock_guard lock(mutex_);
  for (const AdmittedImage& image : entry.images) {
    if (digestIndex_.contains(image.digest)) continue;
    // A reference a scanner can pull: the judged image's repository at the judged digest.
    const image::ParseResult parsed = image::parse(image.image);
    if (!parsed.reference) continue;
    AdmittedDigest digest{image.digest, parsed.reference->domain + "/" + parsed.reference->path + "@" + image.digest, now};
    bytes_ += digest_bytes(digest);
    digests_.push_front(std::move(digest));
    digestIndex_.emplace(digests_.front().digest, digests_.begin());
  }
  if (is_pod_create(request) && !podIndex_.contains(entry.uid)) {
    bytes_ += entry.bytes;
    pods_.push_front(std::move(entry));
    podIndex_.emplace(pods_.front().uid, pods_.begin());
  }
  evict_locked();
}

void AdmissionLedger::evict_locked() {
  // Pods go first (the oldest admissions: their Pods have long been pulled and compared), then
  // the oldest digests (their scans are the likeliest to exist by now).
  while (bytes_ > maxBytes_ && !pods_.empty()) {
    bytes_ -= pods_.back().bytes;
    podIndex_.erase(pods_.back().uid);
    pods_.pop_back();
  }
  while ((bytes_ > maxBytes_ || digests_.size() > maxDigests_) && !digests_.empty()) {
    bytes_ -= digest_bytes(digests_.back());
    digestIndex_.erase(digests_.back().digest);
    digests_.pop_back();
  }
}

std::optional<std::vector<AdmittedImage>> AdmissionLedger::pod(std::string_view uid) const {
  const std::lock_guard lock(mutex_);
  const auto it = podIndex_.find(std::string(uid));
  if (it == podIndex_.end()) return std::nullopt;
  return it->second->images;
}

std::vector<AdmittedDigest> AdmissionLedger::digests() const {
  const std::lock_guard lock(mutex_);
  return {digests_.rbegin(), digests_.rend()};
}

std::size_t AdmissionLedger::bytes() const {
  const std::lock_guard lock(mutex_);
  return bytes_;
}

}  // namespace podgate::policy
