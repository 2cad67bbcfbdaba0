#pragma once
// Internal to lib/registry: the distribution protocol's text helpers (digests, Basic credentials,
// WWW-Authenticate challenges, query encoding), apart from the client's state machine.

#include <map>
#include <string>
#include <string_view>

namespace podgate::registry::wire {

// "sha256:" + lowercase hex SHA-256 of `bytes`.
std::string sha256_digest(const std::string& bytes);
// Standard base64 (for a Basic Authorization header).
std::string base64(std::string_view text);

// A WWW-Authenticate challenge: scheme and its parameters (realm, service, scope, error).
struct Challenge {
  std::string scheme;  // lowercase: "bearer", "basic"
  std::map<std::string, std::string> params;
};
// Parses `Bearer realm="...",service="...",scope="..."` (quoted or token values). Only the
// first challenge is read; registries send one.
Challenge parse_challenge(std::string_view text);

// Percent-encoding of a query value (RFC 3986 unreserved characters kept).
std::string url_encode(std::string_view text);

}  // namespace podgate::registry::wire
