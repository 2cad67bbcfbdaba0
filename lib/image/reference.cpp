// Image reference parsing, a hand-written port of distribution/reference's ParseNormalizedNamed
// (normalize.go), Parse (reference.go) and the grammar of regexp.go, as of v0.6.0 (2024).
// Hand-written rather than std::regex because std::regex is slow and recursive (long input can
// overflow the stack); every scanner here is a single loop.
//
// The steps follow the Go code in order, so acceptance matches it exactly:
//   1. refuse a bare 64-hex identifier;
//   2. splitDockerDomain: pick the domain by the first-component rule, fold index.docker.io,
//      add "library/" for single-component Docker Hub names;
//   3. refuse upper case in the remainder before its first ':' (or '@', see below);
//   4. match "<domain>/<remainder>" against the reference grammar (name, ":tag", "@digest");
//   5. path length <= 255 (v0.6.0 counts the path only, not the domain);
//   6. validate the digest (go-digest): here only sha256 and sha512.
// Error texts add detail where Go only says "invalid reference format".
//
// Deliberate differences from Go, both stricter:
// - A first component that splitDockerDomain takes for a domain (it has a '.') but that is not a
//   valid host, while the whole name is still a valid path ("foo_bar.com/app"), leaves Go with an
//   empty domain: the reference names no registry, and what a puller then contacts is up to the
//   puller. Refused here.
// - Digest algorithms other than sha256/sha512 (Docker also accepts sha384) are refused.

#include "image/reference.h"
#include "util/text.h"

#include <array>
#include <cstring>
#include <initializer_list>

namespace podgate::image {
namespace {

constexpr std::size_t kMaxPathLength = 255;  // RepositoryNameTotalLengthMax
constexpr std::size_t kMaxTagLength = 128;
constexpr std::string_view kDefaultDomain = "docker.io";
constexpr std::string_view kLegacyDefaultDomain = "index.docker.io";
constexpr std::string_view kOfficialPrefix = "library/";
constexpr std::string_view kDefaultTag = "latest";
constexpr std::string_view kFormat = "invalid reference format: ";

constexpr bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
constexpr bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
constexpr bool is_digit(char c) { return c >= '0' && c <= '9'; }
constexpr bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || is_upper(c); }
constexpr bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }
constexpr bool is_word(char c) { return is_alnum(c) || c == '_'; }  // Go's \w
constexpr bool is_xdigit(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
constexpr bool is_lower_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f'); }

bool has_upper(std::string_view s) {
  for (char c : s)
    if (is_upper(c)) return true;
  return false;
}

// identifier: [a-f0-9]{64}
bool is_identifier(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!is_lower_hex(c)) return false;
  return true;
}

// pathComponent: [a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*
bool is_path_component(std::string_view s) {
  std::size_t i = 0;
  const std::size_t n = s.size();
  while (true) {
    if (i == n || !is_lower_alnum(s[i])) return false;  // an alphanumeric run must follow
    while (i < n && is_lower_alnum(s[i])) ++i;
    if (i == n) return true;
    if (s[i] == '.') {
      ++i;
    } else if (s[i] == '_') {
      ++i;
      if (i < n && s[i] == '_') ++i;
    } else if (s[i] == '-') {
      while (i < n && s[i] == '-') ++i;
    } else {
      return false;
    }
  }
}

// remoteName: pathComponent(/pathComponent)*
bool is_remote_name(std::string_view s) {
  while (true) {
    const std::size_t slash = s.find('/');
    if (!is_path_component(s.substr(0, slash))) return false;
    if (slash == std::string_view::npos) return true;
    s.remove_prefix(slash + 1);
  }
}

// domainNameComponent: [a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
bool is_domain_component(std::string_view s) {
  if (s.empty() || !is_alnum(s.front()) || !is_alnum(s.back())) return false;
  for (char c : s)
    if (!is_alnum(c) && c != '-') return false;
  return true;
}

// domainAndPort: (domainName | \[[a-fA-F0-9:]+\]) (:[0-9]+)?
bool is_domain_and_port(std::string_view s) {
  std::string_view port;
  bool has_port = false;
  if (!s.empty() && s.front() == '[') {
    // ipv6address accepts any non-empty run of hex digits and colons: no zone, no dotted IPv4 tail.
    const std::size_t close = s.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    for (std::size_t i = 1; i < close; ++i)
      if (!is_xdigit(s[i]) && s[i] != ':') return false;
    const std::string_view rest = s.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return false;
      has_port = true;
      port = rest.substr(1);
    }
  } else {
    const std::size_t colon = s.find(':');
    std::string_view host = s.substr(0, colon);
    if (colon != std::string_view::npos) {
      has_port = true;
      port = s.substr(colon + 1);
    }
    while (true) {
      const std::size_t dot = host.find('.');
      if (!is_domain_component(host.substr(0, dot))) return false;
      if (dot == std::string_view::npos) break;
      host.remove_prefix(dot + 1);
    }
  }
  if (has_port) {
    if (port.empty()) return false;
    for (char c : port)
      if (!is_digit(c)) return false;
  }
  return true;
}

// tag: [\w][\w.-]{0,127}
bool is_tag(std::string_view s) {
  if (s.empty() || s.size() > kMaxTagLength || !is_word(s.front())) return false;
  for (char c : s)
    if (!is_word(c) && c != '.' && c != '-') return false;
  return true;
}

// digestPat: [A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][[:xdigit:]]{32,}
// The shape only; which algorithms and lengths are accepted is checked afterwards, as go-digest does.
bool is_digest_shape(std::string_view s) {
  const std::size_t colon = s.find(':');
  if (colon == std::string_view::npos) return false;
  const std::string_view algorithm = s.substr(0, colon), hex = s.substr(colon + 1);
  bool component_start = true;
  for (char c : algorithm) {
    if (component_start) {
      if (!is_alpha(c)) return false;
      component_start = false;
    } else if (c == '-' || c == '_' || c == '+' || c == '.') {
      component_start = true;
    } else if (!is_alnum(c)) {
      return false;
    }
  }
  if (component_start) return false;  // empty algorithm, or it ends with a separator
  if (hex.size() < 32) return false;
  for (char c : hex)
    if (!is_xdigit(c)) return false;
  return true;
}

// The pieces of "<name>[:tag][@digest]" as referencePat captures them, and the name split as
// anchoredNameRegexp does it. The split is deterministic: a name holds no '@', a tag neither '@',
// ':' nor '/', and a name's only ':' is a port inside its domain, before a '/'.
struct Pieces {
  std::string_view domain, path, tag, digest;
  bool has_tag = false, has_digest = false;
};

void split_pieces(std::string_view s, std::string_view& name, Pieces& p) {
  const std::size_t at = s.find('@');
  if (at != std::string_view::npos) {
    p.has_digest = true;
    p.digest = s.substr(at + 1);
    s = s.substr(0, at);
  }
  const std::size_t last_slash = s.rfind('/');
  const std::size_t colon = s.find(':', last_slash == std::string_view::npos ? 0 : last_slash + 1);
  if (colon != std::string_view::npos) {
    p.has_tag = true;
    p.tag = s.substr(colon + 1);
    s = s.substr(0, colon);
  }
  name = s;
}

enum class Match { ok, bad_name, bad_tag, bad_digest };

// referencePat anchored, then anchoredNameRegexp on the name. Go's regexp prefers taking the
// optional domain group, so the first component is the domain whenever it is a valid one.
Match match_reference(std::string_view s, Pieces& p) {
  std::string_view name;
  split_pieces(s, name, p);
  const std::size_t slash = name.find('/');
  if (slash != std::string_view::npos && is_domain_and_port(name.substr(0, slash)) &&
      is_remote_name(name.substr(slash + 1))) {
    p.domain = name.substr(0, slash);
    p.path = name.substr(slash + 1);
  } else if (is_remote_name(name)) {
    p.domain = {};
    p.path = name;
  } else {
    return Match::bad_name;
  }
  if (p.has_tag && !is_tag(p.tag)) return Match::bad_tag;
  if (p.has_digest && !is_digest_shape(p.digest)) return Match::bad_digest;
  return Match::ok;
}

ParseResult fail(std::string_view detail) {
  ParseResult r;
  r.error.reserve(kFormat.size() + detail.size());
  r.error.append(kFormat).append(detail);
  return r;
}

// Why "<domain>/<remainder>" does not match, for an error a person can act on.
ParseResult explain_mismatch(std::string_view domain, Match m, const Pieces& p) {
  if (m == Match::bad_tag) {
    if (p.tag.size() > kMaxTagLength) return fail("tag is longer than 128 characters");
    return fail("invalid tag: it must match [A-Za-z0-9_][A-Za-z0-9_.-]*");
  }
  if (m == Match::bad_digest) return fail("invalid digest: it must be <algorithm>:<hex>");
  if (!is_domain_and_port(domain))
    return fail("invalid registry host: host names are letters, digits, '-' and '.' with an "
                "optional :port, or [ipv6]:port");
  return fail("invalid repository name: path components are lowercase letters and digits "
              "separated by '.', '_', '__' or '-', joined by '/'");
}

// Parse's fallback: does the lowercased text match? Then upper case is what stopped it.
bool matches_when_lowercased(std::string_view full) {
  std::array<char, kMaxReferenceLength + 32> lowered;
  for (std::size_t i = 0; i < full.size(); ++i)
    lowered[i] = util::ascii_lower(full[i]);
  Pieces p;
  return match_reference(std::string_view(lowered.data(), full.size()), p) == Match::ok;
}

// go-digest's Digest.Validate for the algorithms podgate supports.
const char* digest_problem(std::string_view digest) {
  const std::size_t colon = digest.find(':');
  const std::string_view algorithm = digest.substr(0, colon), hex = digest.substr(colon + 1);
  std::size_t want;
  if (algorithm == "sha256")
    want = 64;
  else if (algorithm == "sha512")
    want = 128;
  else
    return "unsupported digest algorithm (only sha256 and sha512 are accepted)";
  if (hex.size() != want)
    return want == 64 ? "invalid digest: sha256 needs exactly 64 hex characters"
                      : "invalid digest: sha512 needs exactly 128 hex characters";
  for (char c : hex)
    if (!is_lower_hex(c)) return "invalid digest: hex characters must be lowercase";
  return nullptr;
}

}  // namespace

std::string Reference::repository() const {
  std::string out;
  out.reserve(domain.size() + 1 + path.size());
  out.append(domain).append(1, '/').append(path);
  return out;
}

std::string Reference::canonical() const {
  std::string out;
  out.reserve(domain.size() + path.size() + tag.size() + digest.size() + 3);
  out.append(domain).append(1, '/').append(path);
  if (!tag.empty()) out.append(1, ':').append(tag);
  if (!digest.empty()) out.append(1, '@').append(digest);
  return out;
}

std::string Reference::registry_host() const {
  return domain == kDefaultDomain ? std::string("registry-1.docker.io") : domain;
}

bool is_valid_digest(std::string_view digest) {
  return digest.find(':') != std::string_view::npos && digest_problem(digest) == nullptr;
}

ParseResult parse(std::string_view text) {
  if (text.size() > kMaxReferenceLength) return fail("longer than 4096 characters");
  if (text.empty()) return fail("empty image reference");
  if (is_identifier(text)) {
    ParseResult r;
    r.error = "invalid repository name: cannot specify 64-byte hexadecimal strings";
    return r;
  }

  // splitDockerDomain
  std::string_view domain, prefix, rest;
  const std::size_t slash = text.find('/');
  if (slash == std::string_view::npos) {
    domain = kDefaultDomain;
    prefix = kOfficialPrefix;
    rest = text;
  } else {
    const std::string_view first = text.substr(0, slash);
    rest = text.substr(slash + 1);
    if (first == "localhost") {
      domain = first;
    } else if (first == kLegacyDefaultDomain) {
      domain = kDefaultDomain;
    } else if (first.find_first_of(".:") != std::string_view::npos || has_upper(first)) {
      domain = first;
    } else {
      domain = kDefaultDomain;
      rest = text;
    }
    if (domain == kDefaultDomain && rest.find('/') == std::string_view::npos) prefix = kOfficialPrefix;
  }

  // ParseNormalizedNamed's own lowercase check, on the remainder ("library/" has no upper case).
  // Go stops at the first ':'; stopping at '@' too changes no outcome (an algorithm with upper
  // case is refused below) but blames the digest rather than the name for "x@SHA256:...".
  if (has_upper(rest.substr(0, rest.find_first_of(":@")))) return fail("repository name must be lowercase");

  // Parse(domain + "/" + remainder), in a stack buffer: no allocation on the way to the result.
  std::array<char, kMaxReferenceLength + 32> buffer;
  std::size_t len = 0;
  for (std::string_view part : {domain, std::string_view("/"), prefix, rest}) {
    if (part.empty()) continue;  // an empty view may hold a null pointer, which memcpy must not get
    std::memcpy(buffer.data() + len, part.data(), part.size());
    len += part.size();
  }
  const std::string_view full(buffer.data(), len);

  Pieces p;
  if (const Match m = match_reference(full, p); m != Match::ok) {
    if (has_upper(full) && matches_when_lowercased(full)) return fail("repository name must be lowercase");
    return explain_mismatch(domain, m, p);
  }
  if (p.domain.empty())
    return fail("the first component looks like a registry host but is not a valid host name");
  if (p.path.size() > kMaxPathLength) return fail("repository name must not be more than 255 characters");
  if (p.has_digest) {
    if (const char* problem = digest_problem(p.digest)) return fail(problem);
  }

  ParseResult r;
  Reference& ref = r.reference.emplace();
  ref.domain.assign(p.domain);
  ref.path.assign(p.path);
  if (p.has_tag)
    ref.tag.assign(p.tag);
  else if (!p.has_digest)
    ref.tag.assign(kDefaultTag);
  if (p.has_digest) ref.digest.assign(p.digest);
  return r;
}

}  // namespace podgate::image
