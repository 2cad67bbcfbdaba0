#pragma once
// A pipe to hand a log::Logger as its file descriptor, and read back what it wrote. Header-only so
// unit tests (which do not link the support library) can use it. drain() reads after the writer
// is done, so keep what is written under the pipe's 64 KiB buffer, or read from another thread.

#include <unistd.h>

#include <cstddef>
#include <stdexcept>
#include <string>

namespace podgate::test {

struct LogCapture {
  int fds[2]{-1, -1};
  LogCapture() {
    if (::pipe(fds) != 0) throw std::runtime_error("pipe() failed");
  }
  ~LogCapture() {
    if (fds[0] >= 0) ::close(fds[0]);
    close_writer();
  }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  int writer() const { return fds[1]; }
  int reader() const { return fds[0]; }
  void close_writer() {
    if (fds[1] >= 0) ::close(fds[1]);
    fds[1] = -1;
  }
  // Closes the write end and returns everything written.
  std::string drain() {
    close_writer();
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
    return out;
  }
};

}  // namespace podgate::test
