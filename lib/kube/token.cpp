// TokenSource: a static token or a rotated token file (client-go transport/token_source.go,
// NewCachedFileTokenSource).

#include "kube/token.h"

#include "kube/config.h"
#include "kube/files.h"

#include <utility>

namespace podgate::kube {

TokenSource::TokenSource(std::string staticToken, std::string file, std::chrono::milliseconds period)
    : static_(detail::trim(std::move(staticToken))), file_(std::move(file)), period_(period) {}

std::string TokenSource::token() {
  std::lock_guard lock(mutex_);
  if (file_.empty()) return static_;
  const auto now = std::chrono::steady_clock::now();
  // Without a good token yet, every call tries again; with one, a failure waits out the period
  // like a success does (the last good token keeps working meanwhile).
  if (invalid_ || !haveFileToken_ || now - lastRead_ >= period_) {
    invalid_ = false;
    lastRead_ = now;
    std::string why;
    if (auto text = detail::read_bounded(file_, kMaxTokenBytes, why)) {
      std::string value = detail::trim(std::move(*text));
      if (value.empty()) {
        error_ = "token file " + file_ + " is empty";
      } else {
        token_ = std::move(value);
        haveFileToken_ = true;
        error_.clear();
      }
    } else {
      error_ = "token file " + file_ + ": " + why;
    }
  }
  return haveFileToken_ ? token_ : static_;
}

void TokenSource::invalidate() {
  std::lock_guard lock(mutex_);
  invalid_ = true;
}

std::string TokenSource::last_error() const {
  std::lock_guard lock(mutex_);
  return error_;
}

}  // namespace podgate::kube
