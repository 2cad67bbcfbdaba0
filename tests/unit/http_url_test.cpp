// URLs from registries (redirect Locations, token realms) are untrusted input: parse_url must
// take exactly http(s)://host[:port][/path][?query] and refuse the rest without crashing.

#include <catch2/catch.hpp>

#include <random>

#include "http/transport.h"

using podgate::http::parse_url;
using podgate::http::Url;

TEST_CASE("parse_url splits what a registry sends", "[registry][url]") {
  Url u;
  REQUIRE(parse_url("https://auth.docker.io/token?service=registry.docker.io", u));
  CHECK(u.endpoint.tls);
  CHECK(u.endpoint.host == "auth.docker.io");
  CHECK(u.endpoint.port == "443");
  CHECK(u.target == "/token?service=registry.docker.io");
  CHECK(u.authority == "auth.docker.io");

  REQUIRE(parse_url("http://127.0.0.1:5000", u));
  CHECK_FALSE(u.endpoint.tls);
  CHECK(u.endpoint.port == "5000");
  CHECK(u.target == "/");

  REQUIRE(parse_url("https://[fd00::1]:8443/v2/x/manifests/1#frag", u));
  CHECK(u.endpoint.host == "fd00::1");
  CHECK(u.endpoint.port == "8443");
  CHECK(u.target == "/v2/x/manifests/1");

  REQUIRE(parse_url("https://h.example?x=1", u));
  CHECK(u.target == "/?x=1");
}

TEST_CASE("parse_url refuses other schemes, userinfo, bad ports and header injection", "[registry][url]") {
  Url u;
  for (const char* bad : {"ftp://x/token", "//x/token", "/token", "https://", "https://user:pw@host/x",
                          "https://host:99999x/", "https://host:123456/", "https://host:65536/", "https://[fd00::1/x", "https://[::1]x/",
                          "https://host/a b", "https://host/a\r\nX-Injected: 1", "https://ho st/", "x"}) {
    INFO(bad);
    CHECK_FALSE(parse_url(bad, u));
  }
}

TEST_CASE("parse_url never crashes on arbitrary bytes", "[registry][url]") {
  std::mt19937 rng(7);
  const std::string seeds[] = {"https://a.b:443/v2/x?y=z", "http://[::1]:80/", "https://h/"};
  Url u;
  for (int i = 0; i < 20000; ++i) {
    std::string s = seeds[i % 3];
    const int edits = 1 + static_cast<int>(rng() % 6);
    for (int e = 0; e < edits && !s.empty(); ++e) {
      const std::size_t at = rng() % s.size();
      switch (rng() % 3) {
        case 0: s[at] = static_cast<char>(rng() % 256); break;
        case 1: s.erase(at, 1); break;
        default: s.insert(at, 1, static_cast<char>(rng() % 256));
      }
    }
    if (parse_url(s, u)) {
      CHECK_FALSE(u.endpoint.host.empty());
      CHECK(u.target.front() == '/');
      for (char c : u.target) CHECK(static_cast<unsigned char>(c) > 0x20);
    }
  }
}
