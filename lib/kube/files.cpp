// Bounded reads of the small files lib/kube re-reads (tokens, CA bundles, kubeconfigs).

#include "kube/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace podgate::kube::detail {

namespace {

std::string size_text(std::size_t bytes) {
  if (bytes % (1024 * 1024) == 0) return std::to_string(bytes / (1024 * 1024)) + " MiB";
  if (bytes % 1024 == 0) return std::to_string(bytes / 1024) + " KiB";
  return std::to_string(bytes) + " bytes";
}

}  // namespace

std::optional<std::string> read_bounded(const std::string& path, std::size_t maxBytes, std::string& error) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    error = "cannot open: " + std::generic_category().message(errno);
    return std::nullopt;
  }
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};

  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    error = "cannot read: " + std::generic_category().message(errno);
    return std::nullopt;
  }
  if (S_ISDIR(info.st_mode)) {
    error = "is a directory";
    return std::nullopt;
  }
  // Read at most one byte past the limit: enough to know it is too big, whatever stat claims.
  std::string text;
  char buffer[16384];
  while (text.size() <= maxBytes) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      error = "cannot read: " + std::generic_category().message(errno);
      return std::nullopt;
    }
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
  }
  if (text.size() > maxBytes) {
    error = "is larger than " + size_text(maxBytes);
    return std::nullopt;
  }
  return text;
}

std::string trim(std::string text) {
  constexpr const char* kSpace = " \t\n\v\f\r";
  const auto end = text.find_last_not_of(kSpace);
  if (end == std::string::npos) return {};
  text.erase(end + 1);
  text.erase(0, text.find_first_not_of(kSpace));
  return text;
}

}  // namespace podgate::kube::detail
