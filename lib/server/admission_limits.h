#pragma once
// Internal to the server: the two limits shared by every worker, so they cross threads.
//   PeerTable  - connections per client address (server.limits.maxConnectionsPerPeer)
//   BodyBudget - request body bytes held by all connections (server.limits.maxBufferedBodyBytes)
// Both hand out RAII holders, so a slot or a reservation is given back on every way out of a
// connection or a request (errors, a close mid-body, destruction) without bookkeeping at each.

#include <array>
#include <atomic>
#include <boost/asio/ip/address.hpp>
#include <cstddef>
#include <mutex>
#include <unordered_map>
#include <utility>

#include "metrics/metrics.h"

namespace podgate::server::detail {

class PeerTable;

// One connection's place in its peer's count; gives it back when destroyed.
class PeerSlot {
 public:
  using Key = std::array<unsigned char, 16>;
  PeerSlot() = default;
  PeerSlot(PeerTable* table, const Key& key) : table_(table), key_(key) {}
  PeerSlot(PeerSlot&& other) noexcept : table_(std::exchange(other.table_, nullptr)), key_(other.key_) {}
  PeerSlot& operator=(PeerSlot&& other) noexcept;
  PeerSlot(const PeerSlot&) = delete;
  PeerSlot& operator=(const PeerSlot&) = delete;
  ~PeerSlot() { release(); }
  void release() noexcept;

 private:
  PeerTable* table_ = nullptr;
  Key key_{};
};

class PeerTable {
 public:
  // An IPv4 address and its IPv4-mapped IPv6 form (a dual-stack listener) are one peer.
  static PeerSlot::Key key_of(const boost::asio::ip::address& address);
  // A slot for `key` when it holds fewer than `cap` connections; an empty slot (false) otherwise.
  bool try_take(const PeerSlot::Key& key, std::size_t cap, PeerSlot& slot);
  void give_back(const PeerSlot::Key& key) noexcept;

 private:
  struct Hash {
    std::size_t operator()(const PeerSlot::Key& key) const noexcept;
  };
  std::mutex mutex_;
  std::unordered_map<PeerSlot::Key, std::size_t, Hash> counts_;
};

class BodyBudget {
 public:
  // Bodies up to this size are always admitted: reviews are 4-30 KB, and refusing them would turn
  // an attacker's large uploads into failed admissions.
  static constexpr std::size_t kAlwaysAdmitted = 64 * 1024;

  BodyBudget(std::size_t capacity, metrics::Metrics& metrics) : capacity_(capacity), metrics_(metrics) {}
  // Adds `bytes`; false (nothing added) when that would pass the capacity, unless `force`.
  bool take(std::size_t bytes, bool force) noexcept;
  void give_back(std::size_t bytes) noexcept;
  std::size_t used() const { return used_.load(std::memory_order_relaxed); }

 private:
  void gauge(double delta) noexcept;
  const std::size_t capacity_;
  metrics::Metrics& metrics_;
  std::atomic<std::size_t> used_{0};
};

// The bytes one request's body holds in the budget; given back when destroyed or released.
class BodyReservation {
 public:
  BodyReservation() = default;
  BodyReservation(BodyReservation&& other) noexcept
      : budget_(std::exchange(other.budget_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}
  BodyReservation& operator=(BodyReservation&& other) noexcept;
  BodyReservation(const BodyReservation&) = delete;
  BodyReservation& operator=(const BodyReservation&) = delete;
  ~BodyReservation() { release(); }

  // Grows the reservation to `total` bytes; false when the budget cannot take the difference
  // (always true while `total` is at most BodyBudget::kAlwaysAdmitted).
  bool grow_to(BodyBudget& budget, std::size_t total) noexcept;
  void release() noexcept;
  std::size_t bytes() const { return bytes_; }

 private:
  BodyBudget* budget_ = nullptr;
  std::size_t bytes_ = 0;
};

}  // namespace podgate::server::detail
