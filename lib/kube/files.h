#pragma once
// Internal to lib/kube: small files read with a size bound.

#include <cstddef>
#include <optional>
#include <string>

namespace podgate::kube::detail {

// The whole file, or nullopt with `error` set to why ("cannot open: ...", "is a directory", "is
// larger than N bytes"); the error never holds the content. Re-opens `path` on every call.
std::optional<std::string> read_bounded(const std::string& path, std::size_t maxBytes, std::string& error);

// ASCII whitespace trimmed from both ends.
std::string trim(std::string text);

}  // namespace podgate::kube::detail
