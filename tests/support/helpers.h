#pragma once
// Small helpers the integration tests share: substring search, timing, the open-file limit,
// reading Prometheus' text exposition, raw HTTP heads, and a review that needs no registry.

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "support/review_body.h"

namespace podgate::test {

inline bool contains(const std::string& text, std::string_view needle) { return text.find(needle) != std::string::npos; }

inline std::chrono::milliseconds ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
}

// Raises this process's open-file limit (inherited by the podgate child) to at least `wanted`,
// the hard limit too when it is lower (root may); false when that is not allowed.
inline bool raise_nofile(rlim_t wanted) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return false;
  if (limit.rlim_cur >= wanted) return true;
  limit.rlim_cur = wanted;
  if (limit.rlim_max != RLIM_INFINITY && limit.rlim_max < wanted) limit.rlim_max = wanted;
  return setrlimit(RLIMIT_NOFILE, &limit) == 0;
}

// The sum of a family's samples in a text exposition whose label set contains every one of
// `labels` (`kind="timeout"`); 0 when none does (an unused label combination is absent).
inline double metric(const std::string& text, const std::string& family, const std::vector<std::string>& labels = {}) {
  double sum = 0;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with(family + "{") && !line.starts_with(family + " ")) continue;
    const auto close = line.rfind(' ');
    const std::string series = line.substr(0, close);
    if (std::all_of(labels.begin(), labels.end(),
                    [&](const std::string& l) { return contains(series, l); }))
      sum += std::stod(line.substr(close + 1));
  }
  return sum;
}

// The head of a POST of a JSON body of `length` bytes, `extra` header lines ("Name: value\r\n")
// before Content-Length.
inline std::string post_head(std::string_view target, std::size_t length, std::string_view extra = "") {
  return "POST " + std::string(target) + " HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n" +
         std::string(extra) + "Content-Length: " + std::to_string(length) + "\r\n\r\n";
}

// A review whose one image is pinned by digest: nothing to resolve, so the registry's state
// cannot touch it.
inline std::string clean_review(const std::string& uid) {
  return pod_review_with_images(uid, {"registry.example.com/team/app@sha256:" + std::string(64, 'a')});
}

}  // namespace podgate::test
