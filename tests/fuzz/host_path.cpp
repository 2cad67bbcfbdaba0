// policy::normalize_host_path, which decides whether a hostPath volume reaches a runtime socket,
// and policy::covers on its output. Invariants: a relative path gives ""; an absolute one gives an
// absolute, fully lexical path ("//", ".", "..", a trailing "/" and the /var/run alias all gone)
// that normalises to itself, and that "/" and the path itself cover.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "policy/policy.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using podgate::policy::covers;
  using podgate::policy::normalize_host_path;
  const std::string_view path(reinterpret_cast<const char*>(data), size);
  const std::string normal = normalize_host_path(path);
  if (path.empty() || path.front() != '/') {
    FUZZ_CHECK(normal.empty());
    return 0;
  }
  FUZZ_CHECK(!normal.empty() && normal.front() == '/');
  FUZZ_CHECK(normalize_host_path(normal) == normal);
  FUZZ_CHECK(normal.size() <= path.size());
  FUZZ_CHECK(normal == "/" || normal.back() != '/');
  const std::string padded = normal + "/";  // so every component, the last included, ends in '/'
  FUZZ_CHECK(padded.find("//") == std::string::npos || normal == "/");
  FUZZ_CHECK(padded.find("/./") == std::string::npos);
  FUZZ_CHECK(padded.find("/../") == std::string::npos);
  FUZZ_CHECK(!padded.starts_with("/var/run/"));
  FUZZ_CHECK(covers("/", normal));
  FUZZ_CHECK(covers(normal, normal));
  FUZZ_CHECK(covers(normal, normalize_host_path(normal + "/x")));
  // The glob-aware forms agree with covers() on glob-free paths, and a '*' component matches any one.
  using podgate::policy::covers_pattern;
  using podgate::policy::inside_pattern;
  FUZZ_CHECK(covers_pattern("/", normal));
  if (normal.find_first_of("*?[") == std::string::npos) {
    FUZZ_CHECK(covers_pattern(normal, normal) && inside_pattern(normal, normal));
    FUZZ_CHECK(inside_pattern(normalize_host_path(normal + "/x"), normal));
  }
  if (normal != "/") {
    const std::string parent = normal.substr(0, normal.rfind('/'));
    FUZZ_CHECK(inside_pattern(normal, (parent.empty() ? "" : parent) + "/*"));
  }
  return 0;
}
