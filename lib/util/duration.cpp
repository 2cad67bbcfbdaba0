#include "util/duration.h"

namespace podgate::util {

namespace {

struct Unit {
  std::string_view name;
  std::uint64_t nanos;
};

constexpr Unit kUnits[] = {
    {"ns", 1},
    {"us", 1000},
    {"\xC2\xB5s", 1000},  // U+00B5 micro sign, as Go accepts
    {"\xCE\xBCs", 1000},  // U+03BC greek mu, as Go accepts
    {"ms", 1000000},
    {"s", 1000000000ULL},
    {"m", 60ULL * 1000000000ULL},
    {"h", 3600ULL * 1000000000ULL},
};

// Longest match wins, so the "m" of "ms" is not read as minutes.
const Unit* unit_at(std::string_view text) {
  const Unit* unit = nullptr;
  for (const auto& candidate : kUnits)
    if (text.starts_with(candidate.name) && (unit == nullptr || candidate.name.size() > unit->name.size()))
      unit = &candidate;
  return unit;
}

}  // namespace

std::optional<GoDuration> parse_go_duration(std::string_view text) {
  GoDuration result;
  if (!text.empty() && (text.front() == '+' || text.front() == '-')) {
    result.negative = text.front() == '-';
    text.remove_prefix(1);
  }
  if (text.empty()) return std::nullopt;
  // 128-bit arithmetic with saturation: a number below 2^64 times the largest unit (2^42 ns) stays
  // below 2^106, so nothing here can overflow.
  constexpr unsigned __int128 kWholeCap = static_cast<unsigned __int128>(1) << 64;
  constexpr unsigned __int128 kCap = static_cast<unsigned __int128>(1) << 100;
  unsigned __int128 total = 0;
  while (!text.empty()) {
    unsigned __int128 whole = 0, fraction = 0, fraction_scale = 1;
    bool digits = false;
    std::size_t i = 0;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
      digits = true;
      if (whole < kWholeCap) whole = whole * 10 + static_cast<unsigned>(text[i] - '0');
    }
    if (i < text.size() && text[i] == '.') {
      for (++i; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
        digits = true;
        if (fraction_scale < 1000000000000000000ULL) {  // 18 digits are more than ns precision needs
          fraction = fraction * 10 + static_cast<unsigned>(text[i] - '0');
          fraction_scale *= 10;
        }
      }
    }
    if (!digits) return std::nullopt;
    text.remove_prefix(i);
    const Unit* unit = unit_at(text);
    if (unit == nullptr) return std::nullopt;
    text.remove_prefix(unit->name.size());
    if (whole >= kWholeCap) {
      total = kCap;
      continue;
    }
    total += whole * unit->nanos + fraction * unit->nanos / fraction_scale;
    if (fraction * unit->nanos % fraction_scale != 0) result.inexact = true;
    if (total > kCap) total = kCap;
  }
  result.overflow = total >= kCap;
  result.subMillisecond = result.inexact || (!result.overflow && total % 1000000 != 0);
  constexpr std::uint64_t kMax64 = ~std::uint64_t{0};
  result.nanos = total > kMax64 ? kMax64 : static_cast<std::uint64_t>(total);
  return result;
}

}  // namespace podgate::util
