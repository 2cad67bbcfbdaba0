#pragma once
// The bearer token for the API server: a static one, or a file the kubelet rotates.

#include <chrono>
#include <mutex>
#include <string>

namespace podgate::kube {

// Re-reads the token file at most once per `period` (client-go's is 1 min), and at the next
// token() after invalidate() (the client calls it on a 401). A failed or empty read keeps the last
// good token and is reported by last_error(); until a first good read the static token (if any)
// is used. The path is re-opened on every read: the kubelet swaps a symlinked ..data directory.
// Surrounding whitespace is trimmed. Thread-safe.
class TokenSource {
 public:
  TokenSource(std::string staticToken, std::string file,
              std::chrono::milliseconds period = std::chrono::seconds(60));

  std::string token();  // "" when none
  void invalidate();
  // Why the last read failed ("" after a good one); names the file, never holds the token.
  std::string last_error() const;

 private:
  const std::string static_;
  const std::string file_;
  const std::chrono::milliseconds period_;
  mutable std::mutex mutex_;
  std::string token_;  // the file's last good content
  bool haveFileToken_ = false;
  bool invalid_ = true;  // read at the next token()
  std::chrono::steady_clock::time_point lastRead_{};
  std::string error_;
};

}  // namespace podgate::kube
