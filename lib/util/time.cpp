#include "util/time.h"

#include <cstdio>
#include <ctime>

namespace podgate::util {

namespace {

std::tm utc(std::int64_t unix_seconds) {
  const auto t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return tm;
}

}  // namespace

std::string rfc3339(std::int64_t unix_seconds) {
  const std::tm tm = utc(unix_seconds);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

void append_rfc3339_millis(std::string& out, std::chrono::system_clock::time_point when) {
  const auto since = when.time_since_epoch();
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(since);
  const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(since - secs).count();
  const std::tm tm = utc(secs.count());
  char buf[96];  // sized for the widest int fields, which -Wformat-truncation assumes
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(millis));
  out += buf;
}

}  // namespace podgate::util
