#pragma once
// Go's time.ParseDuration grammar ("1h2m3.5s", "500ms", "1.5h", "-2m"), the form Kubernetes uses
// for durations in config and in the apiserver's ?timeout= parameter.

#include <cstdint>
#include <optional>
#include <string_view>

namespace podgate::util {

struct GoDuration {
  bool negative = false;
  std::uint64_t nanos = 0;  // the magnitude, saturated at UINT64_MAX (about 584 years)
  bool overflow = false;    // past 2^100 ns: parsing stopped counting
  bool inexact = false;     // a fraction finer than a nanosecond was dropped ("1.0000000001s")
  bool subMillisecond = false;  // not a whole number of milliseconds (inexact included)
};

// Unlike Go, a bare number ("10", "0") is refused: a unitless value is exactly the ambiguity the
// units exist to remove. nullopt: not a duration.
std::optional<GoDuration> parse_go_duration(std::string_view text);

}  // namespace podgate::util
