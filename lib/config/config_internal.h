#pragma once
// What the config library's own files share (values.cpp, reader.cpp, schema.cpp, render.cpp); not
// part of the library's interface, which is config.h.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace podgate::config::detail {

// A value as an error message echoes it: double-quoted, escaped (non-ASCII bytes as \xNN, so the
// message stays valid UTF-8 for JSON log lines) and truncated, so an error stays one line (reader.cpp).
std::string quoted(std::string_view value);

inline constexpr std::uint64_t kSaturated = UINT64_MAX;

// Digits only (no sign, no 0x, no '_'); saturates at UINT64_MAX on overflow (reader.cpp).
std::optional<std::uint64_t> parse_unsigned(std::string_view text);

// True when `text` holds a control character (below 0x20, or DEL) (reader.cpp).
bool has_control(std::string_view text);

// True when `text` holds whitespace, a control character or DEL (schema.cpp).
bool has_whitespace_or_control(std::string_view text);

// "index.docker.io" is "docker.io"; any other domain is itself (values.cpp).
std::string fold_docker_hub(std::string domain);

// rules.images.trustedRegistries and .blocked entries in their stored form; std::invalid_argument
// says what is wrong with one that has none (schema.cpp).
std::string normalize_trusted_entry(const std::string& entry);
std::string normalize_blocked_entry(const std::string& entry);
std::string normalize_repository_pattern(const std::string& entry);

}  // namespace podgate::config::detail
