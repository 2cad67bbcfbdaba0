#pragma once
// Image references exactly as `docker pull` accepts them (distribution/reference's grammar and
// normalisation), so podgate judges the same image the kubelet will pull.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace podgate::image {

// A parsed, normalised reference. Every field is in canonical form:
//   "nginx"                      -> domain "docker.io", path "library/nginx", tag "latest"
//   "localhost:5000/a/b:1"       -> domain "localhost:5000", path "a/b", tag "1"
//   "ghcr.io/o/r@sha256:<64hex>" -> domain "ghcr.io", path "o/r", tag "", digest "sha256:<64hex>"
struct Reference {
  std::string domain;  // "docker.io" (index.docker.io folded in), "host", "host:port", "[v6]:port"
  std::string path;    // "library/nginx": lowercase components joined by '/'
  std::string tag;     // "latest" when neither tag nor digest was given; may be set with a digest
  std::string digest;  // "sha256:<64 hex>" or "sha512:<128 hex>"; empty for tag-only references

  // "docker.io/library/nginx" (the repository, without tag or digest)
  std::string repository() const;
  // The fully qualified reference: "docker.io/library/nginx:latest", ".../r:tag@sha256:..." or
  // ".../r@sha256:...". Parsing this string gives back the same Reference.
  std::string canonical() const;
  // What the registry is asked for in /v2/<path>/manifests/<ref>: the digest when there is one
  // (it wins over a tag given with it), else the tag.
  std::string_view manifest_reference() const { return digest.empty() ? std::string_view(tag) : std::string_view(digest); }
  // The registry API host for this domain: "registry-1.docker.io" for docker.io, else the domain.
  std::string registry_host() const;

  bool operator==(const Reference&) const = default;
};

struct ParseResult {
  std::optional<Reference> reference;
  std::string error;  // one line, e.g. "invalid reference format: repository name must be lowercase"
  explicit operator bool() const { return reference.has_value(); }
};

// Parses and normalises. Refuses (with a clear error): empty input, a bare 64-hex string
// ("cannot specify 64-byte hexadecimal strings"), upper case in the path, a path over 255
// characters, a tag over 128 characters, a malformed or unsupported digest, anything else
// distribution/reference refuses. Input longer than kMaxReferenceLength is refused unread.
ParseResult parse(std::string_view text);

inline constexpr std::size_t kMaxReferenceLength = 4096;

// "sha256:<64 lowercase hex>" or "sha512:<128 lowercase hex>".
bool is_valid_digest(std::string_view digest);

}  // namespace podgate::image
