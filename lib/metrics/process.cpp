#include "metrics/process.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <string_view>

namespace podgate::metrics {

namespace {

// The whole file, up to `limit` bytes (procfs files report size 0, so read until EOF).
std::optional<std::string> read_file(const std::string& path, std::size_t limit = 64 * 1024) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string out;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buffer, static_cast<std::size_t>(n));
    if (out.size() >= limit) break;
  }
  ::close(fd);
  return out;
}

std::optional<double> to_number(std::string_view s) {
  unsigned long long value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return static_cast<double>(value);
}

std::vector<std::string_view> split_spaces(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n')) ++i;
    const std::size_t start = i;
    while (i < s.size() && s[i] != ' ' && s[i] != '\t' && s[i] != '\n') ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

// The soft limit of a /proc/<pid>/limits line ("Max open files  1024  1048576  files").
// "unlimited" is 2^64-1, as client_golang (procfs) reads it.
std::optional<double> soft_limit(std::string_view limits, std::string_view name) {
  std::size_t pos = 0;
  while (pos < limits.size()) {
    std::size_t eol = limits.find('\n', pos);
    if (eol == std::string_view::npos) eol = limits.size();
    const std::string_view line = limits.substr(pos, eol - pos);
    pos = eol + 1;
    if (line.substr(0, name.size()) != name) continue;
    const auto fields = split_spaces(line.substr(name.size()));
    if (fields.empty()) return std::nullopt;
    if (fields[0] == "unlimited") return 18446744073709551615.0;
    return to_number(fields[0]);
  }
  return std::nullopt;
}

prometheus::MetricFamily family(const char* name, const char* help, prometheus::MetricType type, double value) {
  prometheus::MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = type;
  prometheus::ClientMetric m;
  if (type == prometheus::MetricType::Counter) m.counter.value = value;
  else m.gauge.value = value;
  f.metric.push_back(std::move(m));
  return f;
}

}  // namespace

ProcessCollector::ProcessCollector(std::string self, const std::string& stat)
    : self_(std::move(self)),
      ticksPerSecond_(static_cast<double>(::sysconf(_SC_CLK_TCK))),
      pageSize_(static_cast<double>(::sysconf(_SC_PAGESIZE))) {
  if (auto text = read_file(stat, 1 << 20)) {
    const std::string_view s = *text;
    const auto at = s.find("\nbtime ");
    if (at != std::string_view::npos) {
      const auto fields = split_spaces(s.substr(at + 7, s.find('\n', at + 1) - (at + 7)));
      if (!fields.empty()) bootTime_ = to_number(fields[0]);
    }
  }
  struct statfs fs {};
  procFd_ = ::statfs((self_ + "/fd").c_str(), &fs) == 0 && fs.f_type == PROC_SUPER_MAGIC;
}

std::optional<double> ProcessCollector::count_fds() const {
  const std::string dir = self_ + "/fd";
  // Linux >= 6.2 reports the number of open descriptors as the size of /proc/<pid>/fd.
  struct stat st {};
  if (procFd_ && ::stat(dir.c_str(), &st) == 0 && st.st_size > 0) return static_cast<double>(st.st_size);
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return std::nullopt;
  // Reading our own fd directory lists the descriptor that reads it: not one the server holds.
  const std::string own = procFd_ ? std::to_string(::dirfd(d)) : std::string();
  double n = 0;
  while (const dirent* e = ::readdir(d)) {
    const std::string_view name = e->d_name;
    if (name == "." || name == ".." || name == own) continue;
    ++n;
  }
  ::closedir(d);
  return n;
}

ProcessSample ProcessCollector::sample() const {
  ProcessSample s;
  if (auto text = read_file(self_ + "/stat")) {
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so fields are counted
    // from the last ')'. Field 3 (state) is index 0 below; utime is field 14, stime 15,
    // starttime 22, vsize 23, rss 24 (proc(5)).
    const auto close = text->rfind(')');
    if (close != std::string::npos) {
      const auto f = split_spaces(std::string_view(*text).substr(close + 1));
      if (f.size() > 21) {
        const auto utime = to_number(f[11]), stime = to_number(f[12]), start = to_number(f[19]);
        if (utime && stime) s.cpuSeconds = (*utime + *stime) / ticksPerSecond_;
        if (start && bootTime_) s.startTimeSeconds = *bootTime_ + *start / ticksPerSecond_;
        s.virtualBytes = to_number(f[20]);
        if (auto rss = to_number(f[21])) s.residentBytes = *rss * pageSize_;
      }
    }
  }
  if (auto limits = read_file(self_ + "/limits")) {
    s.maxFds = soft_limit(*limits, "Max open files");
    s.maxVirtualBytes = soft_limit(*limits, "Max address space");
  }
  s.openFds = count_fds();
  return s;
}

std::vector<prometheus::MetricFamily> ProcessCollector::Collect() const {
  using prometheus::MetricType;
  const ProcessSample s = sample();
  std::vector<prometheus::MetricFamily> out;
  // Names, types and HELP as client_golang's process collector (prometheus/process_collector.go).
  auto add = [&out](const std::optional<double>& v, const char* name, const char* help, MetricType type) {
    if (v) out.push_back(family(name, help, type, *v));
  };
  add(s.cpuSeconds, "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", MetricType::Counter);
  add(s.openFds, "process_open_fds", "Number of open file descriptors.", MetricType::Gauge);
  add(s.maxFds, "process_max_fds", "Maximum number of open file descriptors.", MetricType::Gauge);
  add(s.virtualBytes, "process_virtual_memory_bytes", "Virtual memory size in bytes.", MetricType::Gauge);
  add(s.maxVirtualBytes, "process_virtual_memory_max_bytes", "Maximum amount of virtual memory available in bytes.",
      MetricType::Gauge);
  add(s.residentBytes, "process_resident_memory_bytes", "Resident memory size in bytes.", MetricType::Gauge);
  add(s.startTimeSeconds, "process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
      MetricType::Gauge);
  return out;
}

}  // namespace podgate::metrics
