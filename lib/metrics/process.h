#pragma once
// The process_* series every Prometheus client library exports (client_golang's process collector:
// the same names, types and HELP), which prometheus-cpp does not. Read from procfs at scrape time:
//
//   process_cpu_seconds_total          counter  utime + stime of /proc/self/stat, in seconds
//   process_virtual_memory_bytes       gauge    vsize of /proc/self/stat
//   process_resident_memory_bytes      gauge    rss (pages) of /proc/self/stat x the page size
//   process_start_time_seconds         gauge    btime of /proc/stat + starttime of /proc/self/stat
//   process_open_fds                   gauge    entries of /proc/self/fd
//   process_max_fds                    gauge    "Max open files" soft limit of /proc/self/limits
//   process_virtual_memory_max_bytes   gauge    "Max address space" soft limit (unlimited: 2^64-1,
//                                               as client_golang reports it)
//
// A scrape reads two small files and counts one directory (on Linux >= 6.2 a single stat() of
// /proc/self/fd gives the count; before, the entries are read, at most the fd limit). btime never
// changes, so /proc/stat (one line per CPU) is read once. A file that cannot be read leaves its
// series out, as client_golang does; nothing throws.

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <optional>
#include <string>
#include <vector>

namespace podgate::metrics {

// The values of one reading; std::nullopt for what could not be read.
struct ProcessSample {
  std::optional<double> cpuSeconds;
  std::optional<double> virtualBytes;
  std::optional<double> residentBytes;
  std::optional<double> startTimeSeconds;
  std::optional<double> openFds;
  std::optional<double> maxFds;
  std::optional<double> maxVirtualBytes;
};

class ProcessCollector : public prometheus::Collectable {
 public:
  // `self` is the process's procfs directory, `stat` the system's stat file (tests point both at
  // fixtures; the defaults are this process's).
  explicit ProcessCollector(std::string self = "/proc/self", const std::string& stat = "/proc/stat");

  ProcessSample sample() const;
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  std::optional<double> count_fds() const;

  std::string self_;
  bool procFd_ = false;             // self_/fd is on procfs (else: a test's plain directory)
  std::optional<double> bootTime_;  // btime, unix seconds
  double ticksPerSecond_;           // sysconf(_SC_CLK_TCK)
  double pageSize_;                 // sysconf(_SC_PAGESIZE)
};

}  // namespace podgate::metrics
