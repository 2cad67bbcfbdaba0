#pragma once
// Child processes for tests of the podgate binary: spawn with arguments, capture stdout and stderr
// to files, send signals, wait with a timeout; killed (SIGKILL) and reaped on destruction.

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace podgate::test {

class TempDir;

class Process {
 public:
  // argv[0] is the executable's path. `extraEnv` entries ("NAME=value") are added to the
  // environment. stdin is /dev/null. Throws std::runtime_error when the spawn fails.
  explicit Process(std::vector<std::string> argv, std::vector<std::string> extraEnv = {});
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  bool running();
  void signal(int sig);

  // Waits for the exit; the exit code (128+N when killed by signal N), or nullopt on timeout.
  std::optional<int> wait_for(std::chrono::milliseconds timeout);
  std::optional<int> exit_code() const { return exitCode_; }

  std::string stdout_text() const;
  std::string stderr_text() const;
  const std::string& stdout_path() const { return stdoutPath_; }
  const std::string& stderr_path() const { return stderrPath_; }
  // Waits until `needle` appears in stderr (or stdout when `in_stdout`); false on timeout or exit.
  bool wait_for_output(std::string_view needle, std::chrono::milliseconds timeout, bool in_stdout = false);

 private:
  std::unique_ptr<TempDir> dir_;
  std::string stdoutPath_, stderrPath_;
  pid_t pid_ = -1;
  std::optional<int> exitCode_;
};

// A child run to its end: its exit code and what it printed.
struct Finished {
  int code;
  std::string out, err;
};
// Runs `argv` to completion; nullopt when it is still running after `timeout` (then killed).
std::optional<Finished> run_to_end(std::vector<std::string> argv, std::chrono::milliseconds timeout);

// A TCP port on 127.0.0.1 that was free a moment ago (bind to :0, read the port, close).
unsigned short free_port();
// Resident set size of a process (0: this one) in KiB, from /proc/<pid>/status VmRSS; -1 on error.
long rss_kib(pid_t pid = 0);

}  // namespace podgate::test
