#pragma once
// RFC 3339 timestamps in UTC, the form Kubernetes, scanners and log pipelines read.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace podgate::util {

// "2026-11-28T10:00:00Z"
std::string rfc3339(std::int64_t unix_seconds);
// "2026-11-28T10:00:00.123Z", appended to `out` (the log line's timestamp).
void append_rfc3339_millis(std::string& out, std::chrono::system_clock::time_point when);
// An RFC 3339 date-time as Go's time.Time marshals it ("2024-03-05T10:20:30.123456789-05:00",
// "...Z") in unix seconds: fractional seconds of any length (dropped), numeric offsets applied.
// nullopt for anything else; leap seconds (":60") are refused, as Go refuses them.
std::optional<std::int64_t> parse_rfc3339(std::string_view s);

}  // namespace podgate::util
