#pragma once
// FUZZ_CHECK: an invariant the harness asserts. Not assert(): it must fire in every build type, and
// abort() is what libFuzzer records as a crash (with the input saved).

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(condition)                                                                     \
  do {                                                                                            \
    if (!(condition)) {                                                                           \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #condition);      \
      std::abort();                                                                               \
    }                                                                                             \
  } while (0)
