#pragma once
// RFC 3339 timestamps in UTC, the form Kubernetes, scanners and log pipelines read.

#include <chrono>
#include <cstdint>
#include <string>

namespace podgate::util {

// "2026-11-28T10:00:00Z"
std::string rfc3339(std::int64_t unix_seconds);
// "2026-11-28T10:00:00.123Z", appended to `out` (the log line's timestamp).
void append_rfc3339_millis(std::string& out, std::chrono::system_clock::time_point when);

}  // namespace podgate::util
