#pragma once
// Hand-made registry answers for the image and scan rule tests: the ImageResolutions the Reviewer
// would have collected, keyed the way it keys them. Inputs of a pure function, not a mock.

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "image/reference.h"
#include "policy/policy.h"

namespace podgate::test {

// "sha256:" and 64 times the hex digit `c`: distinct, valid digests that read well in failures.
inline std::string sha(char c) { return "sha256:" + std::string(64, c); }

// The key evaluate() looks an image up by.
inline std::string key(const std::string& image) {
  const image::ParseResult parsed = image::parse(image);
  INFO(image << ": " << parsed.error);
  REQUIRE(parsed);
  return parsed.reference->canonical();
}

struct Answers {
  policy::ImageResolutions map;

  Answers& digest(const std::string& image, const std::string& digest,
                  std::vector<registry::ChildManifest> children = {}) {
    registry::Resolution r;
    r.digest = digest;
    r.mediaType = children.empty() ? "application/vnd.oci.image.manifest.v1+json"
                                   : "application/vnd.oci.image.index.v1+json";
    r.children = std::move(children);
    r.requests = 1;
    map[key(image)] = std::make_shared<const registry::Resolution>(std::move(r));
    return *this;
  }
  Answers& failure(const std::string& image, registry::Failure failure, const std::string& error) {
    registry::Resolution r;
    r.failure = failure;
    r.error = error;
    r.requests = 1;
    map[key(image)] = std::make_shared<const registry::Resolution>(std::move(r));
    return *this;
  }
  const policy::ImageResolutions* get() const { return &map; }
};

}  // namespace podgate::test
