#include "log/log.h"

#include "util/time.h"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace podgate::log {

const char* to_string(Level level) {
  switch (level) {
    case Level::Debug: return "debug";
    case Level::Info: return "info";
    case Level::Warn: return "warn";
    case Level::Error: return "error";
  }
  return "info";
}

bool parse_level(std::string_view text, Level& out) {
  if (text == "debug") out = Level::Debug;
  else if (text == "info") out = Level::Info;
  else if (text == "warn") out = Level::Warn;
  else if (text == "error") out = Level::Error;
  else return false;
  return true;
}

namespace {
constexpr char kHex[] = "0123456789abcdef";

// How many bytes `c` takes once escaped inside a JSON string.
std::size_t escaped_size(unsigned char c) {
  switch (c) {
    case '"': case '\\': case '\n': case '\r': case '\t': return 2;
    default: return c < 0x20 || c == 0x7f ? 6 : 1;
  }
}

void append_escaped(std::string& out, std::string_view text) {
  for (unsigned char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += "\\u00";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 0xf]);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
}
}  // namespace

void append_json_string(std::string& out, std::string_view text) {
  out.push_back('"');
  append_escaped(out, text);
  out.push_back('"');
}

void append_json_string(std::string& out, std::string_view text, std::size_t max_bytes) {
  static constexpr std::string_view kEllipsis = "\xE2\x80\xA6";
  std::size_t total = 0, cut = text.size();
  for (std::size_t i = 0; i < text.size(); ++i) {
    total += escaped_size(static_cast<unsigned char>(text[i]));
    if (cut == text.size() && total + kEllipsis.size() > max_bytes) cut = i;  // the last prefix with room for "…"
    if (total > max_bytes) break;
  }
  if (total <= max_bytes) return append_json_string(out, text);
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;  // not inside a character
  out.push_back('"');
  append_escaped(out, text.substr(0, cut));
  out += kEllipsis;
  out.push_back('"');
}

struct Line::Impl {
  Logger* logger = nullptr;  // null: level disabled, everything is a no-op
  std::string text;
  bool emitted = false;

  void key(std::string_view k) {
    text.push_back(',');
    append_json_string(text, k);
    text.push_back(':');
  }
};

Line::Line(Logger* logger, Level level, std::string_view msg) : impl_(std::make_unique<Impl>()) {
  if (logger == nullptr || !logger->enabled(level)) return;
  impl_->logger = logger;
  auto& t = impl_->text;
  t.reserve(256);
  t += "{\"ts\":\"";
  util::append_rfc3339_millis(t, std::chrono::system_clock::now());  // the form log pipelines parse
  t += "\",\"level\":\"";
  t += to_string(level);
  t += "\",\"msg\":";
  append_json_string(t, msg);
}

Line::Line(Line&&) noexcept = default;
Line::~Line() { emit(); }

Line& Line::str(std::string_view key, std::string_view value) {
  if (impl_ && impl_->logger) {
    impl_->key(key);
    append_json_string(impl_->text, value);
  }
  return *this;
}

Line& Line::str(std::string_view key, std::string_view value, std::size_t max_bytes) {
  if (impl_ && impl_->logger) {
    impl_->key(key);
    append_json_string(impl_->text, value, max_bytes);
  }
  return *this;
}

Line& Line::num(std::string_view key, double value) {
  if (impl_ && impl_->logger) {
    impl_->key(key);
    if (std::isfinite(value)) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.6g", value);
      impl_->text += buf;
    } else {
      impl_->text += "null";  // JSON has no NaN or Inf
    }
  }
  return *this;
}

Line& Line::integer(std::string_view key, long long value) {
  if (impl_ && impl_->logger) {
    impl_->key(key);
    impl_->text += std::to_string(value);
  }
  return *this;
}

Line& Line::boolean(std::string_view key, bool value) {
  if (impl_ && impl_->logger) {
    impl_->key(key);
    impl_->text += value ? "true" : "false";
  }
  return *this;
}

namespace {
template <typename Strings>
void append_string_array(std::string& out, const Strings& values) {
  out.push_back('[');
  bool first = true;
  for (const auto& v : values) {
    if (!first) out.push_back(',');
    first = false;
    append_json_string(out, v);
  }
  out.push_back(']');
}
}  // namespace

Line& Line::strings(std::string_view key, const std::vector<std::string_view>& values) {
  if (impl_ && impl_->logger) {
    impl_->key(key);
    append_string_array(impl_->text, values);
  }
  return *this;
}

Line& Line::strings(std::string_view key, const std::vector<std::string>& values) {
  if (impl_ && impl_->logger) {
    impl_->key(key);
    append_string_array(impl_->text, values);
  }
  return *this;
}

Line& Line::raw_json(std::string_view key, std::string_view json) {
  if (impl_ && impl_->logger) {
    impl_->key(key);
    impl_->text += json;
  }
  return *this;
}

void Line::emit() {
  if (!impl_ || !impl_->logger || impl_->emitted) return;
  impl_->emitted = true;
  impl_->text += "}\n";
  impl_->logger->write_line(impl_->text);
}

Logger::Logger(int fd, Level min_level) : fd_(fd), min_level_(min_level) {}

Line Logger::line(Level level, std::string_view msg) { return Line(this, level, msg); }

void Logger::write_line(const std::string& text) {
  // One write per line under a lock, so lines from different threads never interleave.
  std::lock_guard<std::mutex> lock(mutex_);
  const char* p = text.data();
  std::size_t left = text.size();
  while (left > 0) {
    ssize_t n = ::write(fd_, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // nowhere to report a failing log stream; never block or crash the gate over it
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

}  // namespace podgate::log
