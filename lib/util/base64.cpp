#include "util/base64.h"

#include <cstdint>

namespace podgate::util {

namespace {

int value_of(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

std::optional<std::string> fail(Base64Error why, Base64Error* error) {
  if (error) *error = why;
  return std::nullopt;
}

bool skipped(char c, const Base64Options& options) {
  if (c == '\r' || c == '\n') return true;
  return options.skipAllWhitespace && (c == ' ' || c == '\t' || c == '\v' || c == '\f');
}

}  // namespace

std::optional<std::string> decode_base64(std::string_view text, std::size_t max_bytes, Base64Error* error,
                                         Base64Options options) {
  if (error) *error = Base64Error::None;
  // The decoded size from the characters that carry data, before anything is allocated.
  std::size_t data = 0;
  for (const char c : text)
    if (!skipped(c, options) && c != '=') ++data;
  if (data / 4 * 3 + (data % 4 > 1 ? data % 4 - 1 : 0) > max_bytes) return fail(Base64Error::TooLarge, error);
  std::string out;
  out.reserve(data / 4 * 3 + 2);
  std::uint32_t acc = 0;
  int bits = 0;
  std::size_t chars = 0;  // alphabet characters seen
  std::size_t pads = 0;
  for (const char c : text) {
    if (skipped(c, options)) continue;
    if (c == '=') {
      if (options.padding == Base64Options::Padding::Forbidden) return fail(Base64Error::Invalid, error);
      ++pads;
      continue;
    }
    if (pads > 0) return fail(Base64Error::Invalid, error);  // data after padding
    const int v = value_of(c);
    if (v < 0) return fail(Base64Error::Invalid, error);
    ++chars;
    acc = ((acc << 6) | static_cast<std::uint32_t>(v)) & 0xffffU;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xffU);
    }
  }
  if (chars % 4 == 1) return fail(Base64Error::Invalid, error);  // a lone 6-bit character ends no byte
  if (pads > 0 && (pads > 2 || (chars + pads) % 4 != 0)) return fail(Base64Error::Invalid, error);
  if (options.padding == Base64Options::Padding::Required && (chars + pads) % 4 != 0)
    return fail(Base64Error::Invalid, error);
  if (out.size() > max_bytes) return fail(Base64Error::TooLarge, error);
  return out;
}

}  // namespace podgate::util
