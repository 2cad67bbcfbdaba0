#pragma once
// Standard base64 (RFC 4648 §4, the alphabet Kubernetes uses for Secret data and other []byte
// fields), decoded under a size bound so a hostile or broken answer cannot make podgate allocate
// more than the caller allows.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace podgate::util {

enum class Base64Error { None, Invalid, TooLarge };

struct Base64Options {
  // Optional: padded or not (Go's StdEncoding or RawStdEncoding, whichever fits); Required: the
  // length with padding a multiple of 4 (StdEncoding); Forbidden: no '=' at all (RawStdEncoding).
  enum class Padding { Optional, Required, Forbidden } padding = Padding::Optional;
  // Skip every ASCII space (a YAML block scalar wraps a long value), not only '\r' and '\n'.
  bool skipAllWhitespace = false;
};

// Decodes `text`: '\r' and '\n' are skipped wherever they are (as Go's decoder does; all ASCII
// space with skipAllWhitespace); any other byte outside the alphabet, or misplaced '=', is
// Invalid; the unused bits of the last character need not be zero (Go's non-strict mode).
// TooLarge when the decoded bytes would exceed `max_bytes` (checked before decoding). On failure
// returns nullopt and sets `error` if given. The error never quotes the text.
std::optional<std::string> decode_base64(std::string_view text, std::size_t max_bytes, Base64Error* error = nullptr,
                                         Base64Options options = {});

}  // namespace podgate::util
