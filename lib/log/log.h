#pragma once
// Structured logs: one JSON object per line on stderr, the way log pipelines (Loki, Fluent Bit,
// Cloud Logging) expect them. Thread-safe; each line is written with a single write.

#include <cstddef>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace podgate::log {

enum class Level { Debug = 0, Info = 1, Warn = 2, Error = 3 };
const char* to_string(Level level);
// "debug" | "info" | "warn" | "error"; returns false for anything else.
bool parse_level(std::string_view text, Level& out);

class Logger;

// One log line under construction. Fields keep their order. Emitted on destruction or emit().
class Line {
 public:
  Line(Line&&) noexcept;
  Line(const Line&) = delete;
  Line& operator=(const Line&) = delete;
  ~Line();

  Line& str(std::string_view key, std::string_view value);
  // A value bounded as append_json_string(out, text, max_bytes) bounds it.
  Line& str(std::string_view key, std::string_view value, std::size_t max_bytes);
  Line& num(std::string_view key, double value);
  Line& integer(std::string_view key, long long value);
  Line& boolean(std::string_view key, bool value);
  Line& strings(std::string_view key, const std::vector<std::string_view>& values);
  Line& strings(std::string_view key, const std::vector<std::string>& values);
  // Appends already-encoded JSON (an object or array) under key. The caller guarantees validity.
  Line& raw_json(std::string_view key, std::string_view json);
  void emit();

 private:
  friend class Logger;
  struct Impl;
  explicit Line(Logger* logger, Level level, std::string_view msg);
  std::unique_ptr<Impl> impl_;
};

class Logger {
 public:
  // Writes to the given file descriptor (2 = stderr). Lines below `min_level` are dropped.
  explicit Logger(int fd = 2, Level min_level = Level::Info);
  Line line(Level level, std::string_view msg);
  bool enabled(Level level) const { return level >= min_level_; }
  void set_min_level(Level level) { min_level_ = level; }

  // Convenience for a line with only a message.
  void info(std::string_view msg) { line(Level::Info, msg); }
  void warn(std::string_view msg) { line(Level::Warn, msg); }
  void error(std::string_view msg) { line(Level::Error, msg); }

 private:
  friend class Line;
  void write_line(const std::string& text);
  int fd_;
  Level min_level_;
  std::mutex mutex_;
};

// JSON string escaping, shared with anything else that hand-builds JSON.
void append_json_string(std::string& out, std::string_view text);
// The same, with at most `max_bytes` of escaped text between the quotes (max_bytes >= 16): a longer
// text is cut on a UTF-8 character boundary and ends in "…". For log fields whose value comes
// from a request, so one request cannot write a line of unbounded size.
void append_json_string(std::string& out, std::string_view text, std::size_t max_bytes);

}  // namespace podgate::log
