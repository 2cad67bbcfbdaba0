#include "support/process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "support/temp_dir.h"

extern char** environ;

namespace podgate::test {

Process::Process(std::vector<std::string> argv, std::vector<std::string> extraEnv)
    : dir_(std::make_unique<TempDir>("podgate-proc")) {
  if (argv.empty()) throw std::runtime_error("Process: empty argv");
  stdoutPath_ = dir_->file("stdout");
  stderrPath_ = dir_->file("stderr");

  // Everything the child needs is prepared before the spawn: posix_spawn is safe in a
  // multithreaded parent, unlike hand-written code between fork and exec.
  std::vector<char*> args;
  for (auto& arg : argv) args.push_back(arg.data());
  args.push_back(nullptr);
  std::vector<std::string> env_storage;
  for (char** e = environ; e && *e; ++e) env_storage.emplace_back(*e);
  for (auto& extra : extraEnv) env_storage.push_back(std::move(extra));
  std::vector<char*> env;
  for (auto& entry : env_storage) env.push_back(entry.data());
  env.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, stdoutPath_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, stderrPath_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  // The child starts with default signal handling and an empty mask whatever the test set up.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  int rc = posix_spawn(&pid_, args[0], &actions, &attr, args.data(), env.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    pid_ = -1;
    throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
  }
}

Process::~Process() {
  if (pid_ > 0 && !exitCode_) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
}

bool Process::running() { return !wait_for(std::chrono::milliseconds(0)).has_value(); }

void Process::signal(int sig) {
  if (pid_ > 0 && !exitCode_) ::kill(pid_, sig);
}

std::optional<int> Process::wait_for(std::chrono::milliseconds timeout) {
  if (exitCode_) return exitCode_;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      exitCode_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return exitCode_;
    }
    if (done < 0 && errno != EINTR) throw std::runtime_error(std::string("waitpid: ") + std::strerror(errno));
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

std::string Process::stdout_text() const { return read_file(stdoutPath_); }
std::string Process::stderr_text() const { return read_file(stderrPath_); }

bool Process::wait_for_output(std::string_view needle, std::chrono::milliseconds timeout, bool in_stdout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if ((in_stdout ? stdout_text() : stderr_text()).find(needle) != std::string::npos) return true;
    if (!running() || std::chrono::steady_clock::now() >= deadline) {
      // One last look: the text may have landed just before the exit.
      return (in_stdout ? stdout_text() : stderr_text()).find(needle) != std::string::npos;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

unsigned short free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(std::string("free_port: socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    int err = errno;
    ::close(fd);
    throw std::runtime_error(std::string("free_port: ") + std::strerror(err));
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

long rss_kib(pid_t pid) {
  std::ifstream status(pid == 0 ? std::string("/proc/self/status") : "/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      try {
        return std::stol(line.substr(6));
      } catch (const std::exception&) {
        return -1;
      }
    }
  }
  return -1;
}

std::optional<Finished> run_to_end(std::vector<std::string> argv, std::chrono::milliseconds timeout) {
  Process p(std::move(argv));
  const auto code = p.wait_for(timeout);
  if (!code) return std::nullopt;
  return Finished{*code, p.stdout_text(), p.stderr_text()};
}

}  // namespace podgate::test
