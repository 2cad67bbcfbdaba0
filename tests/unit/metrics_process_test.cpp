// The process_* series (lib/metrics/process.h): this test process's real /proc values against
// what the kernel reports through other calls (getrusage, getrlimit, open/close), the exposition
// as client_golang writes it, and the parsing of hand-made procfs files.

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "metrics/metrics.h"
#include "metrics/process.h"
#include "support/temp_dir.h"

using Catch::Matchers::Contains;
using podgate::metrics::ProcessCollector;

namespace {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

double rusage_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

}  // namespace

TEST_CASE("process metrics: resident memory is this process's, within getrusage's peak", "[metrics][process]") {
  // 48 MiB written page by page: resident now, and so part of both readings.
  constexpr std::size_t kBytes = 48u << 20;
  std::vector<char> block(kBytes);
  for (std::size_t i = 0; i < kBytes; i += 4096) block[i] = static_cast<char>(i);
  const auto s = ProcessCollector().sample();
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  const double peak = static_cast<double>(u.ru_maxrss) * 1024;  // ru_maxrss is in KiB on Linux
  REQUIRE(s.residentBytes);
  CHECK(*s.residentBytes >= static_cast<double>(kBytes));
  CHECK(*s.residentBytes <= peak * 1.05);  // the peak is at least what is resident now
  CHECK(*s.residentBytes >= peak / 2);     // and the block is most of both
  REQUIRE(s.virtualBytes);
  CHECK(*s.virtualBytes >= *s.residentBytes);
  CHECK(block[4096] == static_cast<char>(4096 & 0xff));
}

TEST_CASE("process metrics: open descriptors follow open() and close()", "[metrics][process]") {
  const ProcessCollector collector;
  const auto before = collector.sample().openFds;
  REQUIRE(before);
  int fds[3];
  for (int& fd : fds) fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const auto during = collector.sample().openFds;
  for (int fd : fds) ::close(fd);
  const auto after = collector.sample().openFds;
  REQUIRE(fds[2] >= 0);
  REQUIRE(during);
  REQUIRE(after);
  CHECK(*during == *before + 3);
  CHECK(*after == *before);
  // stdin, stdout and stderr at least; and never more than the limit.
  CHECK(*before >= 3);
  const auto max = collector.sample().maxFds;
  REQUIRE(max);
  CHECK(*during <= *max);
}

TEST_CASE("process metrics: the limits are the soft limits getrlimit reports", "[metrics][process]") {
  const auto s = ProcessCollector().sample();
  rlimit files{}, address{};
  REQUIRE(getrlimit(RLIMIT_NOFILE, &files) == 0);
  REQUIRE(getrlimit(RLIMIT_AS, &address) == 0);
  REQUIRE(s.maxFds);
  CHECK(*s.maxFds == static_cast<double>(files.rlim_cur));
  REQUIRE(s.maxVirtualBytes);
  // Unlimited is 2^64-1, which is what RLIM_INFINITY is.
  CHECK(*s.maxVirtualBytes == static_cast<double>(address.rlim_cur));
}

TEST_CASE("process metrics: start time is this test process's, CPU time is getrusage's", "[metrics][process]") {
  const ProcessCollector collector;
  const auto s = collector.sample();
  REQUIRE(s.startTimeSeconds);
  // The test binary started moments ago (btime has whole seconds, starttime clock ticks).
  CHECK(*s.startTimeSeconds <= now_seconds() + 1.5);
  CHECK(*s.startTimeSeconds >= now_seconds() - 600);

  // Burn about 0.3 s of CPU: the counter grows by it and agrees with getrusage to a few ticks.
  const auto t0 = std::chrono::steady_clock::now();
  volatile unsigned long sink = 0;
  while (std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(300))
    for (int i = 0; i < 10000; ++i) sink = sink + static_cast<unsigned long>(i);
  const auto later = collector.sample();
  const double rusage = rusage_cpu_seconds();
  REQUIRE(s.cpuSeconds);
  REQUIRE(later.cpuSeconds);
  CHECK(*later.cpuSeconds >= *s.cpuSeconds + 0.1);
  CHECK(*later.cpuSeconds == Approx(rusage).margin(0.1));
}

TEST_CASE("process metrics: /metrics carries them with client_golang's HELP and TYPE", "[metrics][process]") {
  const std::string text = podgate::metrics::Metrics().serialize();
  for (const char* expected : {
           "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n"
           "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total ",
           "# HELP process_open_fds Number of open file descriptors.\n# TYPE process_open_fds gauge\nprocess_open_fds ",
           "# HELP process_max_fds Maximum number of open file descriptors.\n# TYPE process_max_fds gauge\n",
           "# HELP process_virtual_memory_bytes Virtual memory size in bytes.\n# TYPE process_virtual_memory_bytes gauge\n",
           "# HELP process_virtual_memory_max_bytes Maximum amount of virtual memory available in bytes.\n"
           "# TYPE process_virtual_memory_max_bytes gauge\n",
           "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
           "# TYPE process_resident_memory_bytes gauge\n",
           "# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.\n"
           "# TYPE process_start_time_seconds gauge\n",
       })
    CHECK_THAT(text, Contains(expected));
}

TEST_CASE("process metrics: procfs files are parsed field by field, and what is missing is left out",
          "[metrics][process]") {
  podgate::test::TempDir dir;
  // A comm with spaces and parentheses: the fields are counted from the last ')'.
  // utime 250, stime 50, starttime 1000 ticks; vsize 123456789; rss 1000 pages.
  dir.write("stat", "cpu  1 2 3 4\ncpu0 1 2 3 4\nintr 5\nbtime 1700000000\nprocesses 9\n");
  std::filesystem::create_directory(dir.file("self"));
  dir.write("self/stat",
            "4242 (a (b) c) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 1000 123456789 1000 "
            "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n");
  dir.write("self/limits",
            "Limit                     Soft Limit           Hard Limit           Units     \n"
            "Max cpu time              unlimited            unlimited            seconds   \n"
            "Max open files            4096                 524288               files     \n"
            "Max address space         unlimited            unlimited            bytes     \n");
  std::filesystem::create_directory(dir.file("self/fd"));
  for (const char* fd : {"0", "1", "2", "7", "9"}) dir.write(std::string("self/fd/") + fd, "");

  const auto s = ProcessCollector(dir.file("self"), dir.file("stat")).sample();
  const double hz = static_cast<double>(sysconf(_SC_CLK_TCK));
  REQUIRE(s.cpuSeconds);
  CHECK(*s.cpuSeconds == Approx(300 / hz));
  REQUIRE(s.startTimeSeconds);
  CHECK(*s.startTimeSeconds == Approx(1700000000 + 1000 / hz));
  CHECK(s.virtualBytes == 123456789.0);
  CHECK(s.residentBytes == 1000.0 * static_cast<double>(sysconf(_SC_PAGESIZE)));
  CHECK(s.maxFds == 4096.0);
  CHECK(s.maxVirtualBytes == 18446744073709551615.0);
  CHECK(s.openFds == 5.0);

  // No such process directory: nothing to report, and nothing thrown.
  const ProcessCollector gone(dir.file("nope"), dir.file("nope-stat"));
  CHECK(gone.Collect().empty());
}
