#pragma once
// Deterministic, distinct, well-spread sha256-shaped digests for tests and benchmarks that need
// many of them (the scan store tests, bench/memory_probe.cpp). Header-only and standard-library
// only, so the benchmark can include it without linking the test libraries.

#include <cstdint>
#include <string>

namespace podgate::test {

// "sha256:" + 64 hex digits derived from n (distinct n, distinct digests).
inline std::string digest_of(std::uint64_t n) {
  char hex[65];
  std::uint64_t x = n * 0x9E3779B97F4A7C15ull + 1;
  for (int i = 0; i < 64; ++i) {
    x ^= x >> 29;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 32;
    hex[i] = "0123456789abcdef"[x & 15];
  }
  hex[64] = '\0';
  return std::string("sha256:") + hex;
}

}  // namespace podgate::test
