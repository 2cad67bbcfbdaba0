#pragma once
// ASCII case helpers. Kubernetes, HTTP and registry names are ASCII-case-insensitive where they are
// case-insensitive at all; the C locale functions (std::tolower) depend on the process locale and
// take an int that must not be a negative char, so these are the only case helpers podgate uses.

#include <string>
#include <string_view>

namespace podgate::util {

constexpr char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string ascii_lowercase(std::string_view text);
bool ascii_iequals(std::string_view a, std::string_view b);
bool ascii_istarts_with(std::string_view text, std::string_view prefix);

// `text` in double quotes, safe on one line of a message (and a valid YAML double-quoted scalar):
// '"' and '\' escaped with a backslash, control bytes (below 0x20, and 0x7f) as \xNN, and with
// `escapeNonAscii` every byte from 0x80 up too. Past `maxBytes` bytes of `text` it is cut and
// "..." follows.
std::string quoted(std::string_view text, std::size_t maxBytes = std::string_view::npos, bool escapeNonAscii = false);

// The length of the UTF-8 sequence at text[i], 0 when it is not one (overlong forms, surrogates
// and code points past U+10FFFF included, as RapidJSON's validation, Go's decoder and so the
// apiserver refuse them). RapidJSON's Writer escapes but does not validate, so every string from
// outside that goes into JSON for the apiserver is checked with this.
std::size_t utf8_sequence_length(std::string_view text, std::size_t i);
// `text` as valid UTF-8: each byte that does not start a valid sequence becomes U+FFFD; cut to at
// most `maxBytes` bytes on a character boundary.
std::string valid_utf8(std::string_view text, std::size_t maxBytes = std::string_view::npos);

}  // namespace podgate::util
