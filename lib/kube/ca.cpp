// FileWatch: a CA bundle re-read on a period or on demand (client-go transport/ca_rotation.go).

#include "kube/ca.h"

#include "kube/files.h"

#include <utility>

namespace podgate::kube {

FileWatch::FileWatch(std::string path, std::chrono::milliseconds period, std::size_t maxBytes)
    : path_(std::move(path)), period_(period), maxBytes_(maxBytes) {
  std::lock_guard lock(mutex_);
  read_locked();
}

bool FileWatch::read_locked() {
  lastRead_ = std::chrono::steady_clock::now();
  std::string why;
  auto text = detail::read_bounded(path_, maxBytes_, why);
  if (!text) {
    error_ = path_ + ": " + why;
    return false;
  }
  // An empty read is what a half-written file looks like; the last good content stays.
  if (text->empty()) {
    error_ = path_ + ": is empty";
    return false;
  }
  error_.clear();
  if (generation_ != 0 && *text == content_) return false;
  content_ = std::move(*text);
  ++generation_;
  return true;
}

FileWatch::Snapshot FileWatch::get() {
  std::lock_guard lock(mutex_);
  if (generation_ == 0 || std::chrono::steady_clock::now() - lastRead_ >= period_) read_locked();
  return {content_, generation_};
}

bool FileWatch::refresh_now() {
  std::lock_guard lock(mutex_);
  return read_locked();
}

std::string FileWatch::last_error() const {
  std::lock_guard lock(mutex_);
  return error_;
}

}  // namespace podgate::kube
