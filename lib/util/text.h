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

}  // namespace podgate::util
