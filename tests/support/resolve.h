#pragma once
// Resolving one image with a registry::Client and waiting for the answer, for the tests of the
// registry client against a real registry and against a misbehaving one.

#include <catch2/catch.hpp>

#include <chrono>
#include <future>
#include <string>

#include "image/reference.h"
#include "registry/client.h"

namespace podgate::test {

inline image::Reference parse_ref(const std::string& text) {
  auto parsed = image::parse(text);
  REQUIRE(parsed);
  return *parsed.reference;
}

// Resolves `image` and waits (20 s at most) for the callback; the failure, if any, is logged.
inline registry::Resolution resolve_now(registry::Client& client, const std::string& image) {
  std::promise<registry::Resolution> promise;
  auto future = promise.get_future();
  client.resolve(parse_ref(image), [&promise](registry::Resolution r) { promise.set_value(std::move(r)); });
  REQUIRE(future.wait_for(std::chrono::seconds(20)) == std::future_status::ready);
  auto r = future.get();
  UNSCOPED_INFO(image << ": " << registry::to_string(r.failure) << ": " << r.error);
  return r;
}

// A docker config.json with one username/password entry for `host`.
inline std::string docker_config(const std::string& host, const std::string& user, const std::string& password) {
  return "{\"auths\":{\"" + host + "\":{\"username\":\"" + user + "\",\"password\":\"" + password + "\"}}}";
}

}  // namespace podgate::test
