// Host path normalisation, component-wise containment and the image glob. Pure string functions.

#include <algorithm>
#include <array>
#include <span>
#include <vector>

#include "policy/policy.h"

namespace podgate::policy {

// Resolves the path lexically while building it, so no component list is allocated. The
// /var/run -> /run mapping is applied the moment "/var/run" is formed, not at the end: /var/run is
// a symlink to /run on current distributions, so "/var/run/.." is "/" on the node, and
// "/var/run/../var/run/docker.sock" must come out as /run/docker.sock like the node sees it.
std::string normalize_host_path(std::string_view path) {
  if (path.empty() || path.front() != '/') return {};
  std::string out;
  out.reserve(path.size());
  std::size_t pos = 0;
  while (pos < path.size()) {
    while (pos < path.size() && path[pos] == '/') ++pos;
    const std::size_t end = std::min(path.find('/', pos), path.size());
    const std::string_view part = path.substr(pos, end - pos);
    pos = end;
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      // Never climbs above "/": popping from an empty path leaves it empty (the root).
      const std::size_t slash = out.rfind('/');
      out.resize(slash == std::string::npos ? 0 : slash);
      continue;
    }
    out += '/';
    out += part;
    if (out == "/var/run") out = "/run";
  }
  if (out.empty()) out = "/";
  return out;
}

bool covers(std::string_view ancestor, std::string_view path) {
  if (ancestor.empty() || path.empty()) return false;
  if (ancestor == "/") return path.front() == '/';
  if (path.size() < ancestor.size() || path.substr(0, ancestor.size()) != ancestor) return false;
  return path.size() == ancestor.size() || path[ancestor.size()] == '/';
}

namespace {

// The next component of a normalised path from `pos` (just after a '/'), advancing `pos`.
std::string_view next_component(std::string_view path, std::size_t& pos) {
  while (pos < path.size() && path[pos] == '/') ++pos;
  const std::size_t end = std::min(path.find('/', pos), path.size());
  const std::string_view part = path.substr(pos, end - pos);
  pos = end;
  return part;
}

bool component_matches(std::string_view pattern, std::string_view component) {
  if (pattern.find_first_of("*?") == std::string_view::npos) return pattern == component;
  return glob_match(pattern, component);  // '*' never crosses '/', and a component has none
}

// Walks both paths component by component while they match; reports which one ran out first.
enum class Prefix { Neither, PathFirst, PatternFirst, Both };
Prefix match_prefix(std::string_view path, std::string_view pattern) {
  std::size_t a = 0, b = 0;
  for (;;) {
    const std::string_view x = next_component(path, a);
    const std::string_view y = next_component(pattern, b);
    if (x.empty() && y.empty()) return Prefix::Both;
    if (x.empty()) return Prefix::PathFirst;
    if (y.empty()) return Prefix::PatternFirst;
    if (!component_matches(y, x)) return Prefix::Neither;
  }
}

}  // namespace

bool covers_pattern(std::string_view path, std::string_view pattern) {
  if (path.empty() || pattern.empty()) return false;
  const Prefix p = match_prefix(path, pattern);
  return p == Prefix::PathFirst || p == Prefix::Both;
}

bool inside_pattern(std::string_view path, std::string_view pattern) {
  if (path.empty() || pattern.empty()) return false;
  const Prefix p = match_prefix(path, pattern);
  return p == Prefix::PatternFirst || p == Prefix::Both;
}

namespace {

enum class GlobToken : unsigned char { Literal, AnyOne, Star, DoubleStar };
struct GlobStep {
  GlobToken token;
  char literal;
};

// The automaton over `steps` (from glob_match), with state buffers of steps.size() + 1 bytes
// each. Stars may match nothing: a live state on a star also makes the state after it live.
bool run_glob(std::span<const GlobStep> steps, std::string_view text, std::span<unsigned char> current,
              std::span<unsigned char> next) {
  const std::size_t n = steps.size();
  auto close = [&](std::span<unsigned char> states) {
    for (std::size_t i = 0; i < n; ++i)
      if (states[i] && (steps[i].token == GlobToken::Star || steps[i].token == GlobToken::DoubleStar)) states[i + 1] = 1;
  };
  std::fill(current.begin(), current.end(), 0);
  current[0] = 1;
  close(current);
  for (const char c : text) {
    std::fill(next.begin(), next.end(), 0);
    bool alive = false;
    for (std::size_t i = 0; i < n; ++i) {
      if (!current[i]) continue;
      switch (steps[i].token) {
        case GlobToken::Literal:
          if (steps[i].literal == c) next[i + 1] = alive = true;
          break;
        case GlobToken::AnyOne:
          if (c != '/') next[i + 1] = alive = true;
          break;
        case GlobToken::Star:
          if (c != '/') next[i] = alive = true;
          break;
        case GlobToken::DoubleStar:
          next[i] = alive = true;
          break;
      }
    }
    if (!alive) return false;
    close(next);
    std::swap(current, next);
  }
  return current[n] != 0;
}

}  // namespace

// Simulates the pattern as an NFA over token positions: O(len(pattern) * len(text)) in every case,
// so patterns such as "*a*a*a*a*b" cannot make matching exponential.
bool glob_match(std::string_view pattern, std::string_view text) {
  // Most calls are settled by the literal text before the first wildcard, without the automaton.
  const std::size_t wild = pattern.find_first_of("*?");
  if (wild == std::string_view::npos) return pattern == text;
  if (text.substr(0, wild) != pattern.substr(0, wild)) return false;
  // Patterns of a usual size run on the stack: this runs for every image of every review.
  constexpr std::size_t kStack = 128;
  std::array<GlobStep, kStack> stackSteps;
  std::vector<GlobStep> heapSteps;
  if (pattern.size() > kStack) heapSteps.resize(pattern.size());
  const std::span<GlobStep> slots = pattern.size() > kStack ? std::span<GlobStep>(heapSteps) : std::span<GlobStep>(stackSteps);
  std::size_t n = 0;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '*') {
      if (i + 1 < pattern.size() && pattern[i + 1] == '*') {
        slots[n++] = {GlobToken::DoubleStar, 0};
        while (i + 1 < pattern.size() && pattern[i + 1] == '*') ++i;  // "***" is "**"
      } else {
        slots[n++] = {GlobToken::Star, 0};
      }
    } else if (pattern[i] == '?') {
      slots[n++] = {GlobToken::AnyOne, 0};
    } else {
      slots[n++] = {GlobToken::Literal, pattern[i]};
    }
  }
  const std::span<const GlobStep> steps = slots.first(n);
  if (n < kStack) {
    std::array<unsigned char, kStack> current, next;
    return run_glob(steps, text, std::span(current).first(n + 1), std::span(next).first(n + 1));
  }
  std::vector<unsigned char> current(n + 1), next(n + 1);
  return run_glob(steps, text, current, next);
}

}  // namespace podgate::policy
