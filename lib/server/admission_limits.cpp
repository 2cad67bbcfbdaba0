#include "server/admission_limits.h"

#include <cstring>

namespace podgate::server::detail {

// --- PeerTable ------------------------------------------------------------------------------------

PeerSlot& PeerSlot::operator=(PeerSlot&& other) noexcept {
  if (this != &other) {
    release();
    table_ = std::exchange(other.table_, nullptr);
    key_ = other.key_;
  }
  return *this;
}

void PeerSlot::release() noexcept {
  if (table_) std::exchange(table_, nullptr)->give_back(key_);
}

PeerSlot::Key PeerTable::key_of(const boost::asio::ip::address& address) {
  if (address.is_v4()) return boost::asio::ip::make_address_v6(boost::asio::ip::v4_mapped, address.to_v4()).to_bytes();
  return address.to_v6().to_bytes();
}

std::size_t PeerTable::Hash::operator()(const PeerSlot::Key& key) const noexcept {
  std::size_t a = 0, b = 0;
  std::memcpy(&a, key.data(), sizeof a);
  std::memcpy(&b, key.data() + 8, sizeof b);
  return a * 0x9E3779B97F4A7C15ULL ^ b;
}

bool PeerTable::try_take(const PeerSlot::Key& key, std::size_t cap, PeerSlot& slot) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::size_t& count = counts_[key];
  if (count >= cap) {
    if (count == 0) counts_.erase(key);
    return false;
  }
  ++count;
  slot = PeerSlot(this, key);
  return true;
}

void PeerTable::give_back(const PeerSlot::Key& key) noexcept {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = counts_.find(key);
  if (it == counts_.end()) return;
  if (--it->second == 0) counts_.erase(it);  // the table holds only peers with connections open
}

// --- BodyBudget -----------------------------------------------------------------------------------

bool BodyBudget::take(std::size_t bytes, bool force) noexcept {
  std::size_t used = used_.load(std::memory_order_relaxed);
  do {
    if (!force && (bytes > capacity_ || used > capacity_ - bytes)) return false;
  } while (!used_.compare_exchange_weak(used, used + bytes, std::memory_order_relaxed));
  gauge(static_cast<double>(bytes));
  return true;
}

void BodyBudget::give_back(std::size_t bytes) noexcept {
  used_.fetch_sub(bytes, std::memory_order_relaxed);
  gauge(-static_cast<double>(bytes));
}

void BodyBudget::gauge(double delta) noexcept {
  try {
    metrics_.add_buffered_body_bytes(delta);
  } catch (...) {
    // A gauge that cannot move must not fail a request.
  }
}

BodyReservation& BodyReservation::operator=(BodyReservation&& other) noexcept {
  if (this != &other) {
    release();
    budget_ = std::exchange(other.budget_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

bool BodyReservation::grow_to(BodyBudget& budget, std::size_t total) noexcept {
  if (budget_ && budget_ != &budget) release();
  if (total <= bytes_) return true;
  if (!budget.take(total - bytes_, total <= BodyBudget::kAlwaysAdmitted)) return false;
  budget_ = &budget;
  bytes_ = total;
  return true;
}

void BodyReservation::release() noexcept {
  if (budget_ && bytes_ > 0) budget_->give_back(bytes_);
  budget_ = nullptr;
  bytes_ = 0;
}

}  // namespace podgate::server::detail
