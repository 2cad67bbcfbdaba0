#pragma once
// A CA bundle (or any small file) that may change on disk: the kube-root-ca.crt ConfigMap is
// projected into pods and rotated in place. Re-read at most every `period` (client-go's CA
// rotation uses 5 min) or at once on refresh_now(), e.g. after a TLS verification failure.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>

namespace podgate::kube {

class FileWatch {
 public:
  struct Snapshot {
    std::string content;      // the last good content; "" before a first good read
    std::uint64_t generation; // 0 before a first good read; +1 each time a read finds new content
  };

  // Reads the file once now (a failure is kept in last_error(), not thrown).
  explicit FileWatch(std::string path, std::chrono::milliseconds period = std::chrono::minutes(5),
                     std::size_t maxBytes = 1024 * 1024);

  // Re-reads first when `period` has passed. Compare `generation` with the one you built from to
  // know whether the content changed.
  Snapshot get();
  // Re-reads now; true when the content changed. A failed or empty read keeps the last content.
  bool refresh_now();
  std::string last_error() const;
  const std::string& path() const { return path_; }

 private:
  bool read_locked();
  const std::string path_;
  const std::chrono::milliseconds period_;
  const std::size_t maxBytes_;
  mutable std::mutex mutex_;
  std::string content_;
  std::uint64_t generation_ = 0;
  std::chrono::steady_clock::time_point lastRead_{};
  std::string error_;
};

}  // namespace podgate::kube
