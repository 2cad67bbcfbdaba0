// Image reference parsing (lib/image/reference.*) against distribution/reference, the parser behind
// `docker pull` and the kubelet.
//
// Vectors are ported from github.com/distribution/reference:
//   normalize_test.go: TestValidateReferenceName, TestValidateRemoteName, TestParseRepositoryInfo,
//                      TestParseReferenceWithTagAndDigest, TestParseAnyReference,
//                      TestNormalizedSplitHostname
//   reference_test.go: TestReferenceParse, TestDomainAndPath, TestSerialization, TestWithTag,
//                      TestWithDigest, TestParseNamed
//   regexp_test.go:    TestDomainRegexp, TestFullNameRegexp, TestReferenceRegexp,
//                      TestIdentifierRegexp
// normalize_test.go calls ParseNormalizedNamed, which is what podgate implements. The other two
// files call Parse or the bare regexps; their inputs are kept and the expectations are what
// ParseNormalizedNamed gives for them (normalisation worked out by hand, e.g. "test.com:5000" is
// docker.io/library/test.com with tag 5000, and "foo_bar.com:8080" is valid as name plus tag).
// The length vectors follow v0.6.0, which counts the path only (distribution/reference#9).
//
// Beyond the vectors: a differential test against a literal std::regex transliteration of the Go
// code (regexp.go patterns + normalize.go steps) on tens of thousands of generated and mutated
// strings, the canonical() round trip for every accepted input, and no exception on any bytes.

#include <catch2/catch.hpp>

#include <optional>
#include <random>
#include <regex>
#include <string>
#include <vector>

#include "image/reference.h"

using podgate::image::is_valid_digest;
using podgate::image::kMaxReferenceLength;
using podgate::image::parse;
using podgate::image::Reference;

namespace {

std::string rep(std::string_view s, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out.append(s);
  return out;
}

const std::string F64 = rep("f", 64);
const std::string F128 = rep("f", 128);
const std::string kBe = "sha256:be178c0543eb17f5f3043021c9e5fcf30285e557a4fc309cce97ff9ca6182912";
const std::string kDbcc = "sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c";
const std::string kShort37 = "sha256:1234567890098765432112345667890098765";  // too short for sha256

struct Valid {
  std::string input, domain, path, tag, digest;
};

struct Invalid {
  std::string input;
  std::string error;  // a substring the error must contain
};

// Expected results. tag "latest" is spelled out: the default applies only without tag and digest.
const std::vector<Valid>& valid_vectors() {
  static const std::vector<Valid> v = {
      // normalize_test.go TestValidateReferenceName (valid)
      {"docker/docker", "docker.io", "docker/docker", "latest", ""},
      {"library/debian", "docker.io", "library/debian", "latest", ""},
      {"debian", "docker.io", "library/debian", "latest", ""},
      {"docker.io/docker/docker", "docker.io", "docker/docker", "latest", ""},
      {"docker.io/library/debian", "docker.io", "library/debian", "latest", ""},
      {"docker.io/debian", "docker.io", "library/debian", "latest", ""},
      {"index.docker.io/docker/docker", "docker.io", "docker/docker", "latest", ""},
      {"index.docker.io/library/debian", "docker.io", "library/debian", "latest", ""},
      {"index.docker.io/debian", "docker.io", "library/debian", "latest", ""},
      {"127.0.0.1:5000/docker/docker", "127.0.0.1:5000", "docker/docker", "latest", ""},
      {"127.0.0.1:5000/library/debian", "127.0.0.1:5000", "library/debian", "latest", ""},
      {"127.0.0.1:5000/debian", "127.0.0.1:5000", "debian", "latest", ""},
      {"192.168.0.1", "docker.io", "library/192.168.0.1", "latest", ""},
      {"192.168.0.1:80", "docker.io", "library/192.168.0.1", "80", ""},
      {"192.168.0.1:8/debian", "192.168.0.1:8", "debian", "latest", ""},
      {"192.168.0.2:25000/debian", "192.168.0.2:25000", "debian", "latest", ""},
      {"thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev", "docker.io",
       "library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev", "latest", ""},
      {"[fc00::1]:5000/docker", "[fc00::1]:5000", "docker", "latest", ""},
      {"[fc00::1]:5000/docker/docker", "[fc00::1]:5000", "docker/docker", "latest", ""},
      {"[fc00:1:2:3:4:5:6:7]:5000/library/debian", "[fc00:1:2:3:4:5:6:7]:5000", "library/debian", "latest", ""},
      {"docker.io/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a", "docker.io",
       "library/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a", "latest", ""},
      {"Docker/docker", "Docker", "docker", "latest", ""},
      {"DOCKER/docker", "DOCKER", "docker", "latest", ""},

      // normalize_test.go TestValidateRemoteName (valid)
      {"docker-rules/docker", "docker.io", "docker-rules/docker", "latest", ""},
      {"docker---rules/docker", "docker.io", "docker---rules/docker", "latest", ""},
      {"doc/docker", "docker.io", "doc/docker", "latest", ""},
      {"d/docker", "docker.io", "d/docker", "latest", ""},
      {"jess/t", "docker.io", "jess/t", "latest", ""},
      {"dock__er/docker", "docker.io", "dock__er/docker", "latest", ""},

      // normalize_test.go TestParseRepositoryInfo (familiar, full and ambiguous spellings)
      {"fooo/bar", "docker.io", "fooo/bar", "latest", ""},
      {"docker.io/fooo/bar", "docker.io", "fooo/bar", "latest", ""},
      {"index.docker.io/fooo/bar", "docker.io", "fooo/bar", "latest", ""},
      {"ubuntu", "docker.io", "library/ubuntu", "latest", ""},
      {"docker.io/library/ubuntu", "docker.io", "library/ubuntu", "latest", ""},
      {"library/ubuntu", "docker.io", "library/ubuntu", "latest", ""},
      {"nonlibrary/ubuntu", "docker.io", "nonlibrary/ubuntu", "latest", ""},
      {"docker.io/nonlibrary/ubuntu", "docker.io", "nonlibrary/ubuntu", "latest", ""},
      {"other/library", "docker.io", "other/library", "latest", ""},
      {"docker.io/other/library", "docker.io", "other/library", "latest", ""},
      {"127.0.0.1:8000/private/moonbase", "127.0.0.1:8000", "private/moonbase", "latest", ""},
      {"127.0.0.1:8000/privatebase", "127.0.0.1:8000", "privatebase", "latest", ""},
      {"example.com/private/moonbase", "example.com", "private/moonbase", "latest", ""},
      {"example.com/privatebase", "example.com", "privatebase", "latest", ""},
      {"example.com:8000/private/moonbase", "example.com:8000", "private/moonbase", "latest", ""},
      {"example.com:8000/privatebasee", "example.com:8000", "privatebasee", "latest", ""},
      {"ubuntu-12.04-base", "docker.io", "library/ubuntu-12.04-base", "latest", ""},
      {"docker.io/library/ubuntu-12.04-base", "docker.io", "library/ubuntu-12.04-base", "latest", ""},
      {"index.docker.io/library/ubuntu-12.04-base", "docker.io", "library/ubuntu-12.04-base", "latest", ""},
      {"foo", "docker.io", "library/foo", "latest", ""},
      {"docker.io/library/foo", "docker.io", "library/foo", "latest", ""},
      {"docker.io/foo", "docker.io", "library/foo", "latest", ""},
      {"library/foo/bar", "docker.io", "library/foo/bar", "latest", ""},
      {"docker.io/library/foo/bar", "docker.io", "library/foo/bar", "latest", ""},
      {"store/foo/bar", "docker.io", "store/foo/bar", "latest", ""},
      {"docker.io/store/foo/bar", "docker.io", "store/foo/bar", "latest", ""},
      {"Foo/bar", "Foo", "bar", "latest", ""},
      {"FOO/bar", "FOO", "bar", "latest", ""},

      // normalize_test.go TestParseReferenceWithTagAndDigest
      {"busybox:latest@sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa", "docker.io",
       "library/busybox", "latest", "sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa"},

      // normalize_test.go TestParseAnyReference (the named cases)
      {"redis", "docker.io", "library/redis", "latest", ""},
      {"redis:latest", "docker.io", "library/redis", "latest", ""},
      {"docker.io/library/redis:latest", "docker.io", "library/redis", "latest", ""},
      {"redis@" + kDbcc, "docker.io", "library/redis", "", kDbcc},
      {"docker.io/library/redis@" + kDbcc, "docker.io", "library/redis", "", kDbcc},
      {"dmcgowan/myapp", "docker.io", "dmcgowan/myapp", "latest", ""},
      {"dmcgowan/myapp:latest", "docker.io", "dmcgowan/myapp", "latest", ""},
      {"docker.io/mcgowan/myapp:latest", "docker.io", "mcgowan/myapp", "latest", ""},
      {"dmcgowan/myapp@" + kDbcc, "docker.io", "dmcgowan/myapp", "", kDbcc},
      {"docker.io/dmcgowan/myapp@" + kDbcc, "docker.io", "dmcgowan/myapp", "", kDbcc},
      {"dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9", "docker.io",
       "library/dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9", "latest", ""},
      {"dbcc1", "docker.io", "library/dbcc1", "latest", ""},
      // ParseAnyReference takes this for a bare digest; ParseNormalizedNamed (what the kubelet
      // uses) reads it as the image "sha256" with a 64-character tag.
      {kDbcc, "docker.io", "library/sha256", kDbcc.substr(7), ""},

      // normalize_test.go TestNormalizedSplitHostname
      {"test.com/foo", "test.com", "foo", "latest", ""},
      {"test_com/foo", "docker.io", "test_com/foo", "latest", ""},
      {"docker/migrator", "docker.io", "docker/migrator", "latest", ""},
      {"test.com:8080/foo", "test.com:8080", "foo", "latest", ""},
      {"test-com:8080/foo", "test-com:8080", "foo", "latest", ""},
      {"xn--n3h.com/foo", "xn--n3h.com", "foo", "latest", ""},
      {"xn--n3h.com:18080/foo", "xn--n3h.com:18080", "foo", "latest", ""},

      // reference_test.go TestReferenceParse (normalised)
      {"test_com", "docker.io", "library/test_com", "latest", ""},
      {"test.com:tag", "docker.io", "library/test.com", "tag", ""},
      {"test.com:5000", "docker.io", "library/test.com", "5000", ""},
      {"test.com/repo:tag", "test.com", "repo", "tag", ""},
      {"test:5000/repo", "test:5000", "repo", "latest", ""},
      {"test:5000/repo:tag", "test:5000", "repo", "tag", ""},
      {"test:5000/repo@sha256:" + F64, "test:5000", "repo", "", "sha256:" + F64},
      {"test:5000/repo:tag@sha256:" + F64, "test:5000", "repo", "tag", "sha256:" + F64},
      {"lowercase:Uppercase", "docker.io", "library/lowercase", "Uppercase", ""},
      {rep("a/", 127) + "a:tag-puts-this-over-max", "docker.io", rep("a/", 127) + "a", "tag-puts-this-over-max", ""},
      {"sub-dom1.foo.com/bar/baz/quux", "sub-dom1.foo.com", "bar/baz/quux", "latest", ""},
      {"sub-dom1.foo.com/bar/baz/quux:some-long-tag", "sub-dom1.foo.com", "bar/baz/quux", "some-long-tag", ""},
      {"b.gcr.io/test.example.com/my-app:test.example.com", "b.gcr.io", "test.example.com/my-app", "test.example.com", ""},
      {"xn--n3h.com/myimage:xn--n3h.com", "xn--n3h.com", "myimage", "xn--n3h.com", ""},
      {"xn--7o8h.com/myimage:xn--7o8h.com@sha512:" + F128, "xn--7o8h.com", "myimage", "xn--7o8h.com", "sha512:" + F128},
      {"foo_bar.com:8080", "docker.io", "library/foo_bar.com", "8080", ""},
      {"foo/foo_bar.com:8080", "docker.io", "foo/foo_bar.com", "8080", ""},
      {"192.168.1.1", "docker.io", "library/192.168.1.1", "latest", ""},
      {"192.168.1.1:tag", "docker.io", "library/192.168.1.1", "tag", ""},
      {"192.168.1.1:5000", "docker.io", "library/192.168.1.1", "5000", ""},
      {"192.168.1.1/repo", "192.168.1.1", "repo", "latest", ""},
      {"192.168.1.1:5000/repo", "192.168.1.1:5000", "repo", "latest", ""},
      {"192.168.1.1:5000/repo:5050", "192.168.1.1:5000", "repo", "5050", ""},
      {"[2001:db8::1]/repo", "[2001:db8::1]", "repo", "latest", ""},
      {"[2001:db8:1:2:3:4:5:6]/repo:tag", "[2001:db8:1:2:3:4:5:6]", "repo", "tag", ""},
      {"[2001:db8::1]:5000/repo", "[2001:db8::1]:5000", "repo", "latest", ""},
      {"[2001:db8::1]:5000/repo:tag", "[2001:db8::1]:5000", "repo", "tag", ""},
      {"[2001:db8::1]:5000/repo@sha256:" + F64, "[2001:db8::1]:5000", "repo", "", "sha256:" + F64},
      {"[2001:db8::1]:5000/repo:tag@sha256:" + F64, "[2001:db8::1]:5000", "repo", "tag", "sha256:" + F64},
      {"[2001:db8::]:5000/repo", "[2001:db8::]:5000", "repo", "latest", ""},
      {"[::1]:5000/repo", "[::1]:5000", "repo", "latest", ""},

      // reference_test.go TestDomainAndPath
      {"test.com:8080/foo", "test.com:8080", "foo", "latest", ""},

      // reference_test.go TestSerialization
      {"example.com:8000/named", "example.com:8000", "named", "latest", ""},
      {"example.com:8000/named:tagged", "example.com:8000", "named", "tagged", ""},
      {"other.com/named@sha256:1234567890098765432112345667890098765432112345667890098765432112", "other.com",
       "named", "", "sha256:1234567890098765432112345667890098765432112345667890098765432112"},

      // reference_test.go TestWithTag (the combined strings)
      {"test.com/foo:tag", "test.com", "foo", "tag", ""},
      {"foo:tag2", "docker.io", "library/foo", "tag2", ""},
      {"test.com:8000/foo:tag4", "test.com:8000", "foo", "tag4", ""},
      {"test.com:8000/foo:TAG5", "test.com:8000", "foo", "TAG5", ""},

      // reference_test.go TestParseNamed (all parse; ParseNamed's canonical-form check aside)
      {"test:8080/foo", "test:8080", "foo", "latest", ""},
      {"test.com", "docker.io", "library/test.com", "latest", ""},

      // regexp_test.go TestDomainRegexp (matching domains, as "<domain>/foo")
      {"test.com/foo", "test.com", "foo", "latest", ""},
      {"test.com:10304/foo", "test.com:10304", "foo", "latest", ""},
      {"localhost/foo", "localhost", "foo", "latest", ""},
      {"localhost:8080/foo", "localhost:8080", "foo", "latest", ""},
      {"a/foo", "docker.io", "a/foo", "latest", ""},  // a bare word is a namespace, not a domain
      {"a.b/foo", "a.b", "foo", "latest", ""},
      {"ab.cd.com/foo", "ab.cd.com", "foo", "latest", ""},
      {"a-b.com/foo", "a-b.com", "foo", "latest", ""},
      {"ab.c-om/foo", "ab.c-om", "foo", "latest", ""},
      {"0101.com/foo", "0101.com", "foo", "latest", ""},
      {"001a.com/foo", "001a.com", "foo", "latest", ""},
      {"b.gbc.io:443/foo", "b.gbc.io:443", "foo", "latest", ""},
      {"b.gbc.io/foo", "b.gbc.io", "foo", "latest", ""},
      {"Asdf.com/foo", "Asdf.com", "foo", "latest", ""},
      // The grammar does not bound ports or check IPv6 shapes ("will fail in validation", which
      // the parser never does); such a pull fails at the network, not at parsing.
      {"192.168.1.1:75050/foo", "192.168.1.1:75050", "foo", "latest", ""},
      {"192.168.1.1:750050/foo", "192.168.1.1:750050", "foo", "latest", ""},
      {"[fd00:1:2::3]:75050/foo", "[fd00:1:2::3]:75050", "foo", "latest", ""},
      {"[fd00123123123]:75050/foo", "[fd00123123123]:75050", "foo", "latest", ""},
      {"[2001:0db8:85a3:0000:0000:8a2e:0370:7334]:75050/foo", "[2001:0db8:85a3:0000:0000:8a2e:0370:7334]:75050",
       "foo", "latest", ""},
      {"[2001:0db8:85a3:0000:0000:8a2e:0370:7334]:750505/foo", "[2001:0db8:85a3:0000:0000:8a2e:0370:7334]:750505",
       "foo", "latest", ""},

      // regexp_test.go TestFullNameRegexp (matching names)
      {"short", "docker.io", "library/short", "latest", ""},
      {"simple/name", "docker.io", "simple/name", "latest", ""},
      {"docker/stevvooe/app", "docker.io", "docker/stevvooe/app", "latest", ""},
      {"aa/aa/aa/aa/aa/aa/aa/aa/aa/bb/bb/bb/bb/bb/bb", "docker.io", "aa/aa/aa/aa/aa/aa/aa/aa/aa/bb/bb/bb/bb/bb/bb",
       "latest", ""},
      {"aa/aa/bb/bb/bb", "docker.io", "aa/aa/bb/bb/bb", "latest", ""},
      {"a/a/a/a", "docker.io", "a/a/a/a", "latest", ""},
      {"a", "docker.io", "library/a", "latest", ""},
      {"a/aa", "docker.io", "a/aa", "latest", ""},
      {"a/aa/a", "docker.io", "a/aa/a", "latest", ""},
      {"foo.com", "docker.io", "library/foo.com", "latest", ""},
      {"foo.com:8080/bar", "foo.com:8080", "bar", "latest", ""},
      {"foo.com/bar", "foo.com", "bar", "latest", ""},
      {"foo.com/bar/baz", "foo.com", "bar/baz", "latest", ""},
      {"localhost:8080/bar", "localhost:8080", "bar", "latest", ""},
      {"blog.foo.com/bar/baz", "blog.foo.com", "bar/baz", "latest", ""},
      {"aa-a/a", "docker.io", "aa-a/a", "latest", ""},
      {"foo_bar", "docker.io", "library/foo_bar", "latest", ""},
      {"foo_bar.com", "docker.io", "library/foo_bar.com", "latest", ""},
      {"foo.com/foo_bar", "foo.com", "foo_bar", "latest", ""},
      {"xn--7o8h.com/myimage", "xn--7o8h.com", "myimage", "latest", ""},
      {"example.com/xn--7o8h.com/myimage", "example.com", "xn--7o8h.com/myimage", "latest", ""},
      {"example.com/some_separator__underscore/myimage", "example.com", "some_separator__underscore/myimage", "latest", ""},
      {"do__cker/docker", "docker.io", "do__cker/docker", "latest", ""},
      {"registry.io/foo/project--id.module--name.ver---sion--name", "registry.io",
       "foo/project--id.module--name.ver---sion--name", "latest", ""},
      {"Asdf.com/foo/bar", "Asdf.com", "foo/bar", "latest", ""},

      // regexp_test.go TestReferenceRegexp (matching references)
      {"registry.com:8080/myapp:tag", "registry.com:8080", "myapp", "tag", ""},
      {"registry.com:8080/myapp@" + kBe, "registry.com:8080", "myapp", "", kBe},
      {"registry.com:8080/myapp:tag2@" + kBe, "registry.com:8080", "myapp", "tag2", kBe},
      {"localhost:8080@" + kBe, "docker.io", "library/localhost", "8080", kBe},
      {"localhost:8080/name@" + kBe, "localhost:8080", "name", "", kBe},
      {"localhost@" + kBe, "docker.io", "library/localhost", "", kBe},

      // regexp_test.go TestIdentifierRegexp (inputs that are not identifiers)
      {"da304e823d8ca2b9d863a3c897baeb852ba21ea9a9f1414736394ae7fcaf", "docker.io",
       "library/da304e823d8ca2b9d863a3c897baeb852ba21ea9a9f1414736394ae7fcaf", "latest", ""},
      {"sha256:da304e823d8ca2b9d863a3c897baeb852ba21ea9a9f1414736394ae7fcaf9821", "docker.io", "library/sha256",
       "da304e823d8ca2b9d863a3c897baeb852ba21ea9a9f1414736394ae7fcaf9821", ""},
      {"da304e823d8ca2b9d863a3c897baeb852ba21ea9a9f1414736394ae7fcaf98218482", "docker.io",
       "library/da304e823d8ca2b9d863a3c897baeb852ba21ea9a9f1414736394ae7fcaf98218482", "latest", ""},

      // podgate's own cases: the header's examples, and normalisation corners.
      {"nginx", "docker.io", "library/nginx", "latest", ""},
      {"localhost:5000/a/b:1", "localhost:5000", "a/b", "1", ""},
      {"ghcr.io/o/r@sha256:" + F64, "ghcr.io", "o/r", "", "sha256:" + F64},
      {"docker.io/library/nginx:1.25@sha256:" + F64, "docker.io", "library/nginx", "1.25", "sha256:" + F64},
      {"nginx@sha512:" + F128, "docker.io", "library/nginx", "", "sha512:" + F128},
      {"localhost:5000", "docker.io", "library/localhost", "5000", ""},  // no '/': never a domain
      {"example.com", "docker.io", "library/example.com", "latest", ""},
      {"LOCALHOST/foo", "LOCALHOST", "foo", "latest", ""},
      {"Index.docker.io/nginx", "Index.docker.io", "nginx", "latest", ""},  // folding is case-sensitive
      {"[ABC]/x", "[ABC]", "x", "latest", ""},  // upper case makes it a domain; [hex] is an ipv6address
      {"[::1]/x", "[::1]", "x", "latest", ""},
      {"a.b.c.d.e.f/x", "a.b.c.d.e.f", "x", "latest", ""},
      {"host:1/x", "host:1", "x", "latest", ""},
      {"x:_", "docker.io", "library/x", "_", ""},
      {"x:" + rep("a", 128), "docker.io", "library/x", rep("a", 128), ""},
      {"x:A.b-C_d", "docker.io", "library/x", "A.b-C_d", ""},
      {"a-----b/c__d/e.f", "docker.io", "a-----b/c__d/e.f", "latest", ""},
      {rep("a", 247), "docker.io", "library/" + rep("a", 247), "latest", ""},  // path exactly 255
      {"example.com/" + rep("a", 255), "example.com", rep("a", 255), "latest", ""},  // domain not counted
      {"docker.io/" + rep("a", 247), "docker.io", "library/" + rep("a", 247), "latest", ""},
  };
  return v;
}

const std::vector<Invalid>& invalid_vectors() {
  static const std::vector<Invalid> v = {
      // normalize_test.go TestValidateReferenceName (invalid)
      {"https://github.com/docker/docker", "invalid registry host"},
      {"docker/Docker", "must be lowercase"},
      {"-docker", "invalid repository name"},
      {"-docker/docker", "invalid repository name"},
      {"-docker.io/docker/docker", "invalid registry host"},
      {"docker///docker", "invalid repository name"},
      {"docker.io/docker/Docker", "must be lowercase"},
      {"docker.io/docker///docker", "invalid repository name"},
      {"[fc00::1]", "invalid"},
      {"[fc00::1]:5000", "invalid"},
      {"fc00::1:5000/debian", "invalid registry host"},
      {"[fe80::1%eth0]:5000/debian", "invalid registry host"},
      {"[2001:db8:3:4::192.0.2.33]:5000/debian", "invalid registry host"},
      {"1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a", "cannot specify 64-byte hexadecimal strings"},

      // normalize_test.go TestValidateRemoteName (invalid)
      {"docker-/docker", "invalid repository name"},
      {"-docker-/docker", "invalid repository name"},
      {"____/____", "invalid repository name"},
      {"_docker/_docker", "invalid repository name"},
      {"dock..er/docker", "invalid registry host"},
      {"dock_.er/docker", "invalid registry host"},
      {"dock-.er/docker", "invalid registry host"},
      {"docker/", "invalid repository name"},
      {"this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_"
       "because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_"
       "255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255/docker",
       "must not be more than 255 characters"},

      // normalize_test.go TestInvalidReferenceComponents
      {"-foo", "invalid repository name"},

      // reference_test.go TestReferenceParse (errors)
      {"", "empty"},
      {":justtag", "invalid repository name"},
      {"@sha256:" + F64, "invalid repository name"},
      {"repo@sha256:" + rep("f", 34), "sha256 needs exactly 64 hex characters"},
      {"validname@invaliddigest:" + F64, "unsupported digest algorithm"},
      {"Uppercase:tag", "must be lowercase"},
      {"test:5000/Uppercase/lowercase:tag", "must be lowercase"},
      {rep("a/", 128) + "a:tag", "must not be more than 255 characters"},
      {"aa/asdf$$^/aa", "invalid repository name"},
      {"[2001:db8::1]", "invalid"},
      {"[2001:db8::1]:5000", "invalid"},
      {"[2001:db8::1]:tag", "invalid"},
      {"[fe80::1%eth0]:5000/repo", "invalid registry host"},
      {"[fe80::1%@invalidzone]:5000/repo", "invalid"},

      // reference_test.go TestWithTag/TestWithDigest combined strings: WithDigest does not check
      // the digest's length, Parse does.
      {"test.com:8000/foo:TAG5@" + kShort37, "sha256 needs exactly 64 hex characters"},
      {"test.com/foo@" + kShort37, "sha256 needs exactly 64 hex characters"},
      {"foo@" + kShort37, "sha256 needs exactly 64 hex characters"},
      {"test.com:8000/foo@" + kShort37, "sha256 needs exactly 64 hex characters"},
      {"test.com:8000/foo:latest@" + kShort37, "sha256 needs exactly 64 hex characters"},

      // regexp_test.go TestDomainRegexp (non-matching domains, as "<domain>/foo")
      {"test.com:http/foo", "invalid registry host"},
      {"-ab.com/foo", "invalid registry host"},
      {"ab-.com/foo", "invalid registry host"},
      {"ab.-com/foo", "invalid registry host"},
      {"ab.com-/foo", "invalid registry host"},
      {"[fd00:1:2::3]75050/foo", "invalid registry host"},
      {"[fd00:1:2::3]::75050/foo", "invalid registry host"},
      {"[fd00:1:2::3%eth0]:75050/foo", "invalid registry host"},
      {"fd00:1:2::3:75050/foo", "invalid registry host"},

      // regexp_test.go TestFullNameRegexp (non-matching names)
      {"a/a/a/a/", "invalid repository name"},
      {"a//a/a", "invalid repository name"},
      {"foo.com/", "invalid repository name"},
      {"foo.com:http/bar", "invalid registry host"},
      {"a^a", "invalid repository name"},
      {"asdf$$^/aa", "invalid repository name"},
      {rep("a/", 128) + "a", "must not be more than 255 characters"},
      {"a-/a/a/a", "invalid repository name"},
      {"foo.com/a-/a/a", "invalid repository name"},
      {"foo/bar-", "invalid repository name"},
      {"foo-/bar", "invalid repository name"},
      {"foo/-bar", "invalid repository name"},
      {"_foo/bar", "invalid repository name"},
      {"foo_bar.com:8080/app", "invalid registry host"},
      {"docker_/docker_", "invalid repository name"},
      {"example.com/__underscore/myimage", "invalid repository name"},
      {"example.com/..dots/myimage", "invalid repository name"},
      {"example.com/.dots/myimage", "invalid repository name"},
      {"example.com/nodouble..dots/myimage", "invalid repository name"},
      {"docker./docker", "invalid registry host"},
      {".docker/docker", "invalid registry host"},
      {"do..cker/docker", "invalid registry host"},
      {"do__cker:8080/docker", "invalid registry host"},
      {"Foo/FarB", "must be lowercase"},

      // regexp_test.go TestReferenceRegexp (non-matching references)
      {"registry.com:8080/myapp@sha256:badbadbadbad", "invalid digest"},
      {"registry.com:8080/myapp:invalid~tag", "invalid tag"},
      {"bad_hostname.com:8080/myapp:tag", "invalid registry host"},
      {"localhost:http/name@" + kBe, "invalid registry host"},
      {"registry.com:8080/myapp@bad", "invalid digest"},
      {"registry.com:8080/myapp@2bad", "invalid digest"},

      // regexp_test.go TestIdentifierRegexp
      {"da304e823d8ca2b9d863a3c897baeb852ba21ea9a9f1414736394ae7fcaf9821", "cannot specify 64-byte hexadecimal strings"},
      {"7EC43B381E5AEFE6E04EFB0B3F0693FF2A4A50652D64AEC573905F2DB5889A1C", "must be lowercase"},

      // podgate's own cases.
      // Go accepts these with an empty domain; podgate refuses them (see reference.cpp).
      {"foo_bar.com/app", "looks like a registry host"},
      {"a.b_c/d", "looks like a registry host"},
      // Parse's fallback: only upper case stops the match, even though the first component was
      // taken for a domain.
      {"Foo_bar/baz", "must be lowercase"},
      {"[abc]/x", "invalid repository name"},  // lower case, no '.' or ':': a path component
      {"localhost:/foo", "invalid registry host"},
      {"localhost:80a/foo", "invalid registry host"},
      {"[]:5000/foo", "invalid registry host"},
      {"[::1]:/foo", "invalid registry host"},
      {"foo:", "invalid tag"},
      {"foo:-x", "invalid tag"},
      {"foo:.x", "invalid tag"},
      {"foo:a+b", "invalid tag"},
      {"foo:bar:baz", "invalid tag"},
      {"foo:bar/baz", "invalid registry host"},  // a ':' before the last '/' is not a tag
      {"x:" + rep("a", 129), "tag is longer than 128 characters"},
      {"foo@", "invalid digest"},
      {"foo@sha256:" + F64 + "@x", "invalid digest"},
      {"foo@sha256", "invalid digest"},
      {"foo@:" + F64, "invalid digest"},
      {"foo@sha256:" + rep("g", 64), "invalid digest"},
      {"foo@sha256:" + rep("f", 31), "it must be <algorithm>:<hex>"},  // the grammar wants 32+
      {"foo@sha256:" + rep("f", 32), "sha256 needs exactly 64 hex characters"},
      {"foo@sha256:" + rep("f", 63), "sha256 needs exactly 64 hex characters"},
      {"foo@sha256:" + rep("f", 65), "sha256 needs exactly 64 hex characters"},
      {"foo@sha256:" + rep("F", 64), "hex characters must be lowercase"},
      {"foo@sha512:" + F64, "sha512 needs exactly 128 hex characters"},
      {"foo@sha384:" + rep("f", 96), "unsupported digest algorithm"},
      {"foo@SHA256:" + F64, "unsupported digest algorithm"},
      {"foo@md5:" + rep("f", 32), "unsupported digest algorithm"},
      {rep("a", 248), "must not be more than 255 characters"},
      {"example.com/" + rep("a", 256), "must not be more than 255 characters"},
      {"docker.io/" + rep("a", 248), "must not be more than 255 characters"},
      {" nginx", "invalid repository name"},
      {"nginx ", "invalid repository name"},
      {"nginx\n", "invalid"},
      {std::string("nginx\0:evil", 11), "invalid"},
      {"ngi\xc3\xadnx", "invalid repository name"},
      {"nginx:t\xc3\xa1g", "invalid tag"},
      {"\xff/x", "invalid"},
      {"/nginx", "invalid repository name"},
      {"nginx/", "invalid repository name"},
      {"NGINX", "must be lowercase"},
  };
  return v;
}

// ---- An independent oracle: distribution/reference transliterated with std::regex ---------------
// The patterns are built exactly as regexp.go builds them and the steps follow normalize.go and
// reference.go line by line. std::regex is fine here: test inputs are short.
struct Oracle {
  static std::string optional(const std::string& s) { return "(?:" + s + ")?"; }
  static std::string any_times(const std::string& s) { return "(?:" + s + ")*"; }
  static std::string capture(const std::string& s) { return "(" + s + ")"; }
  static std::string anchored(const std::string& s) { return "^" + s + "$"; }

  const std::string alphanumeric = "[a-z0-9]+";
  const std::string separator = "(?:[._]|__|[-]+)";
  const std::string domain_name_component = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
  const std::string optional_port = "(?::[0-9]+)?";
  const std::string tag = R"([\w][\w.-]{0,127})";
  const std::string digest_pat = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9A-Fa-f]{32,}";
  const std::string ipv6address = R"(\[(?:[a-fA-F0-9:]+)\])";
  const std::string domain_name = domain_name_component + R"((?:\.)" + domain_name_component + ")*";
  const std::string host = "(?:" + domain_name + "|" + ipv6address + ")";
  const std::string domain_and_port = host + optional_port;
  const std::string path_component = alphanumeric + any_times(separator + alphanumeric);
  const std::string remote_name = path_component + any_times("/" + path_component);
  const std::string name_pat = optional(domain_and_port + "/") + remote_name;

  const std::regex reference{
      anchored(capture(name_pat) + optional(":" + capture(tag)) + optional("@" + capture(digest_pat)))};
  const std::regex anchored_name{anchored(optional(capture(domain_and_port) + "/") + capture(remote_name))};
  const std::regex identifier{"^[a-f0-9]{64}$"};

  static bool upper(const std::string& s) {
    for (char c : s)
      if (c >= 'A' && c <= 'Z') return true;
    return false;
  }

  // nullopt when ParseNormalizedNamed refuses. An empty domain is returned as is (podgate
  // refuses those on purpose; the comparison accounts for it).
  std::optional<Reference> parse(const std::string& s) const {
    if (s.size() > kMaxReferenceLength || s.empty() || std::regex_match(s, identifier)) return std::nullopt;
    // splitDockerDomain
    std::string domain, remainder;
    const auto slash = s.find('/');
    if (slash == std::string::npos) {
      domain = "docker.io";
      remainder = "library/" + s;
    } else {
      const std::string maybe_domain = s.substr(0, slash), maybe_remote = s.substr(slash + 1);
      if (maybe_domain == "localhost") {
        domain = maybe_domain, remainder = maybe_remote;
      } else if (maybe_domain == "index.docker.io") {
        domain = "docker.io", remainder = maybe_remote;
      } else if (maybe_domain.find_first_of(".:") != std::string::npos) {
        domain = maybe_domain, remainder = maybe_remote;
      } else if (upper(maybe_domain)) {
        domain = maybe_domain, remainder = maybe_remote;
      } else {
        domain = "docker.io", remainder = s;
      }
      if (domain == "docker.io" && remainder.find('/') == std::string::npos) remainder = "library/" + remainder;
    }
    if (upper(remainder.substr(0, remainder.find(':')))) return std::nullopt;
    // Parse
    const std::string full = domain + "/" + remainder;
    std::smatch m;
    if (!std::regex_match(full, m, reference)) return std::nullopt;
    Reference r;
    const std::string name = m[1].str();
    std::smatch nm;
    if (std::regex_match(name, nm, anchored_name)) {
      r.domain = nm[1].str();
      r.path = nm[2].str();
    } else {
      r.path = name;
    }
    if (r.path.size() > 255) return std::nullopt;
    r.tag = m[2].str();
    r.digest = m[3].str();
    if (!r.digest.empty()) {
      // go-digest Validate, for the algorithms podgate supports.
      const auto colon = r.digest.find(':');
      const std::string algorithm = r.digest.substr(0, colon), hex = r.digest.substr(colon + 1);
      const std::size_t want = algorithm == "sha256" ? 64 : algorithm == "sha512" ? 128 : 0;
      if (want == 0 || hex.size() != want || !std::regex_match(hex, std::regex("^[a-f0-9]+$")))
        return std::nullopt;
    }
    if (r.tag.empty() && r.digest.empty()) r.tag = "latest";  // TagNameOnly
    return r;
  }
};

const Oracle& oracle() {
  static const Oracle o;
  return o;
}

std::string describe(const std::string& input) {
  std::string out;
  for (unsigned char c : input) {
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
    } else {
      static const char* hex = "0123456789abcdef";
      out.append("\\x").push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

// Checks one input against the oracle, the round trip and the error shape. Returns whether the
// input was accepted, so generators can show they reach both outcomes.
bool check_against_oracle(const std::string& input) {
  INFO("input: " << describe(input));
  podgate::image::ParseResult got;
  REQUIRE_NOTHROW(got = parse(input));
  std::optional<Reference> want = oracle().parse(input);
  if (want && want->domain.empty()) want.reset();  // podgate's deliberate refusal
  if (!want) {
    CHECK_FALSE(got);
    CHECK_FALSE(got.error.empty());
    CHECK(got.error.find('\n') == std::string::npos);
    return false;
  }
  REQUIRE(got);
  CHECK(*got.reference == *want);
  const auto again = parse(got.reference->canonical());
  REQUIRE(again);
  CHECK(*again.reference == *got.reference);
  return true;
}

}  // namespace

TEST_CASE("valid references parse to their canonical parts", "[image][reference]") {
  for (const Valid& v : valid_vectors()) {
    INFO("input: " << describe(v.input));
    const auto r = parse(v.input);
    INFO("error: " << r.error);
    REQUIRE(r);
    CHECK(r.error.empty());
    CHECK(r.reference->domain == v.domain);
    CHECK(r.reference->path == v.path);
    CHECK(r.reference->tag == v.tag);
    CHECK(r.reference->digest == v.digest);
  }
}

TEST_CASE("invalid references are refused with a specific one-line error", "[image][reference]") {
  for (const Invalid& v : invalid_vectors()) {
    INFO("input: " << describe(v.input));
    const auto r = parse(v.input);
    CHECK_FALSE(r);
    CHECK_FALSE(r.reference.has_value());
    INFO("error: " << r.error);
    CHECK(r.error.find(v.error) != std::string::npos);
    CHECK(r.error.find('\n') == std::string::npos);
    CHECK(r.error.rfind("invalid ", 0) == 0);  // every error starts the same way
  }
}

TEST_CASE("every vector agrees with the regex transliteration of distribution/reference",
          "[image][reference]") {
  for (const Valid& v : valid_vectors()) check_against_oracle(v.input);
  for (const Invalid& v : invalid_vectors()) {
    // Go accepts these two with an empty domain; everything else it refuses too.
    if (v.error == "looks like a registry host") {
      const auto want = oracle().parse(v.input);
      REQUIRE(want);
      CHECK(want->domain.empty());
      continue;
    }
    check_against_oracle(v.input);
  }
}

TEST_CASE("canonical() parses back to the same reference", "[image][reference]") {
  for (const Valid& v : valid_vectors()) {
    INFO("input: " << describe(v.input));
    const auto first = parse(v.input);
    REQUIRE(first);
    const std::string canonical = first.reference->canonical();
    INFO("canonical: " << canonical);
    const auto second = parse(canonical);
    REQUIRE(second);
    CHECK(*second.reference == *first.reference);
    CHECK(second.reference->canonical() == canonical);
  }
}

TEST_CASE("canonical, repository, manifest_reference and registry_host", "[image][reference]") {
  const auto nginx = parse("nginx");
  REQUIRE(nginx);
  CHECK(nginx.reference->canonical() == "docker.io/library/nginx:latest");
  CHECK(nginx.reference->repository() == "docker.io/library/nginx");
  CHECK(nginx.reference->manifest_reference() == "latest");
  CHECK(nginx.reference->registry_host() == "registry-1.docker.io");

  const auto both = parse("index.docker.io/library/nginx:1.25@sha256:" + F64);
  REQUIRE(both);
  CHECK(both.reference->canonical() == "docker.io/library/nginx:1.25@sha256:" + F64);
  CHECK(both.reference->manifest_reference() == "sha256:" + F64);  // the digest wins
  CHECK(both.reference->tag == "1.25");                            // and the tag is kept

  const auto pinned = parse("ghcr.io/o/r@sha256:" + F64);
  REQUIRE(pinned);
  CHECK(pinned.reference->canonical() == "ghcr.io/o/r@sha256:" + F64);
  CHECK(pinned.reference->tag.empty());
  CHECK(pinned.reference->registry_host() == "ghcr.io");

  const auto local = parse("localhost:5000/a/b:1");
  REQUIRE(local);
  CHECK(local.reference->canonical() == "localhost:5000/a/b:1");
  CHECK(local.reference->repository() == "localhost:5000/a/b");
  CHECK(local.reference->registry_host() == "localhost:5000");
  CHECK(local.reference->manifest_reference() == "1");

  const auto v6 = parse("[fc00::1]:5000/docker");
  REQUIRE(v6);
  CHECK(v6.reference->registry_host() == "[fc00::1]:5000");

  // Only the exact Docker Hub domain maps to the API host.
  const auto upper = parse("Docker.io/nginx");
  REQUIRE(upper);
  CHECK(upper.reference->domain == "Docker.io");
  CHECK(upper.reference->registry_host() == "Docker.io");
}

TEST_CASE("input length limit", "[image][reference]") {
  // A long but valid reference: the domain is not length-limited by the grammar.
  std::string domain = rep("a.", (kMaxReferenceLength - 10) / 2) + "a";
  std::string ok = domain + "/x";
  ok.append(kMaxReferenceLength - ok.size(), 'x');
  REQUIRE(ok.size() == kMaxReferenceLength);
  const auto r = parse(ok);
  INFO(r.error);
  CHECK(r);
  const auto too_long = parse(ok + "x");
  CHECK_FALSE(too_long);
  CHECK(too_long.error.find("longer than 4096") != std::string::npos);
  // Long runs that a backtracking regex would struggle with.
  for (const std::string& s : {rep("a-", 2000) + "a", rep("a", 4096), rep("/", 4096), rep(":", 4096),
                               rep("@", 4096), rep("a.", 2048), "x:" + rep("a", 4094),
                               "x@sha256:" + rep("f", 4087), rep("[", 4096)}) {
    REQUIRE_NOTHROW(parse(s));
    CHECK_FALSE(parse(s).error.empty());
  }
  // The ipv6address pattern takes any run of hex digits and colons, however long.
  const std::string colons = "[" + rep(":", 4090) + "]";
  const auto v6 = parse(colons + "/x");
  REQUIRE(v6);
  CHECK(v6.reference->domain == colons);
}

TEST_CASE("is_valid_digest", "[image][reference]") {
  CHECK(is_valid_digest("sha256:" + F64));
  CHECK(is_valid_digest("sha512:" + F128));
  CHECK(is_valid_digest(kDbcc));
  CHECK_FALSE(is_valid_digest(""));
  CHECK_FALSE(is_valid_digest(F64));
  CHECK_FALSE(is_valid_digest("sha256:"));
  CHECK_FALSE(is_valid_digest("sha256:" + rep("f", 63)));
  CHECK_FALSE(is_valid_digest("sha256:" + rep("f", 65)));
  CHECK_FALSE(is_valid_digest("sha256:" + rep("F", 64)));
  CHECK_FALSE(is_valid_digest("sha256:" + rep("g", 64)));
  CHECK_FALSE(is_valid_digest("sha512:" + F64));
  CHECK_FALSE(is_valid_digest("sha384:" + rep("f", 96)));
  CHECK_FALSE(is_valid_digest("SHA256:" + F64));
  CHECK_FALSE(is_valid_digest(" sha256:" + F64));
  CHECK_FALSE(is_valid_digest("sha256:" + F64 + "\n"));
}

TEST_CASE("generated references agree with the oracle and never throw", "[image][reference][fuzz]") {
  // Tokens chosen to reach every branch of the grammar and of the normalisation rules.
  const std::vector<std::string> tokens = {
      "a", "b", "z", "0", "9", "A", "Z", ".", "_", "__", "-", "--", "/", "/", "/", ":", ":", "@", "[", "]",
      "5000", "::1", "fc00", "%eth0", "sha256:", "sha512:", "sha384:", F64, F128, rep("f", 32), "docker.io",
      "index.docker.io", "localhost", "library", "latest", "example.com", " ", std::string(1, '\0'), "\xff",
      "\xc3\xa9", "~", "+", "$"};
  std::mt19937 rng(20240607);  // fixed: failures must reproduce
  std::uniform_int_distribution<std::size_t> pick(0, tokens.size() - 1);
  std::uniform_int_distribution<int> count(1, 12);
  int accepted = 0;
  for (int i = 0; i < 15000; ++i) {
    std::string s;
    for (int n = count(rng); n > 0; --n) s += tokens[pick(rng)];
    if (s.size() > 400) s.resize(400);  // keeps the oracle's recursive std::regex shallow
    accepted += check_against_oracle(s);
  }
  INFO("generated: " << accepted << " of 15000 accepted");
  CHECK(accepted > 500);
  CHECK(accepted < 14500);
}

TEST_CASE("structured references agree with the oracle", "[image][reference][fuzz]") {
  // Built piece by piece (domain, path components, tag, digest) from small alphabets, so that
  // separators, ports, brackets and lengths meet at their boundaries far more often than in
  // random strings.
  std::mt19937 rng(31337);
  auto from = [&](std::string_view alphabet, std::size_t min, std::size_t max) {
    std::string out(min + rng() % (max - min + 1), ' ');
    for (char& c : out) c = alphabet[rng() % alphabet.size()];
    return out;
  };
  const std::vector<std::string> domains = {"docker.io", "index.docker.io", "localhost", "Docker", "example.com",
                                            "[::1]", "[fc00::1]:5000", "localhost:5000", "Ex.com:80", "1.2.3.4:5",
                                            "a_b.c", "[ABC]", "[abc]"};
  const std::vector<std::string> separators = {".", "_", "__", "-", "---", ".", "_", "-",
                                               "._", "___", "-_", ".."};
  int accepted = 0;
  for (int i = 0; i < 10000; ++i) {
    std::string s;
    switch (rng() % 3) {
      case 0: s = domains[rng() % domains.size()] + "/"; break;
      case 1: s = from("ab1.-:_A[]", 1, 8) + "/"; break;
      default: break;
    }
    for (int n = 1 + static_cast<int>(rng() % 3); n > 0; --n) {
      s += from("ab0", 1, 3);
      for (int parts = static_cast<int>(rng() % 3); parts > 0; --parts)  // mostly valid separators
        s += separators[rng() % separators.size()] + from("ab0", 1, 3);
      if (rng() % 16 == 0) s += from("._-A", 1, 1);  // sometimes a dangling or upper-case end
      if (n > 1) s += "/";
    }
    if (rng() % 2) s += ":" + (rng() % 10 ? from("aZ9_.-", 1, 6) : from("a", 127, 129));
    if (rng() % 3 == 0) {
      switch (rng() % 4) {
        case 0: s += "@sha256:" + (rng() % 4 ? from("0123456789abcdef", 64, 64) : from("0123456789abcdef", 63, 65)); break;
        case 1: s += "@sha512:" + (rng() % 4 ? from("0123456789abcdef", 128, 128) : from("0123456789abcdef", 127, 129)); break;
        case 2: s += "@sha256:" + from("0123456789abcdefABCDEF", 64, 64); break;
        default: s += "@" + from("sha25A+._-", 1, 8) + ":" + from("0123456789abcdef", 30, 66); break;
      }
    }
    accepted += check_against_oracle(s);
  }
  INFO("structured: " << accepted << " of 10000 accepted");
  CHECK(accepted > 1000);
  CHECK(accepted < 9000);
}

TEST_CASE("mutated vectors agree with the oracle and never throw", "[image][reference][fuzz]") {
  std::vector<std::string> seeds;
  for (const Valid& v : valid_vectors())
    if (v.input.size() < 300) seeds.push_back(v.input);
  for (const Invalid& v : invalid_vectors())
    if (v.input.size() < 300) seeds.push_back(v.input);
  const std::string interesting = "aZ09._-/:@[]%\0\xff ";
  std::mt19937 rng(7);
  int accepted = 0;
  for (int i = 0; i < 15000; ++i) {
    std::string s = seeds[rng() % seeds.size()];
    for (int edits = 1 + static_cast<int>(rng() % 3); edits > 0; --edits) {
      const std::size_t at = s.empty() ? 0 : rng() % (s.size() + 1);
      switch (rng() % 5) {
        case 0: s.insert(s.begin() + at, interesting[rng() % interesting.size()]); break;
        case 1: if (at < s.size()) s.erase(at, 1); break;
        case 2: if (at < s.size()) s[at] = interesting[rng() % interesting.size()]; break;
        case 3: if (at < s.size()) s[at] = static_cast<char>(rng() % 256); break;
        default: s.insert(at, s.substr(at, rng() % 8)); break;  // duplicate a chunk
      }
    }
    accepted += check_against_oracle(s);
  }
  INFO("mutated: " << accepted << " of 15000 accepted");
  CHECK(accepted > 500);
  CHECK(accepted < 14500);
}

TEST_CASE("arbitrary bytes never throw", "[image][reference][fuzz]") {
  std::mt19937 rng(99);
  for (int i = 0; i < 5000; ++i) {
    std::string s(rng() % 600, '\0');
    for (char& c : s) c = static_cast<char>(rng() % 256);
    podgate::image::ParseResult r;
    REQUIRE_NOTHROW(r = parse(s));
    if (!r) {
      CHECK_FALSE(r.error.empty());
      CHECK(r.error.find('\n') == std::string::npos);
    }
  }
}
