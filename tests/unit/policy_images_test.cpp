// The image rules (rules.images) through policy::Evaluator: reference form, trusted registries,
// the block list (by name and by digest, index children included), requireDigest, what a
// resolution (or its absence) makes of an image, modes and actions, exemptions, UPDATE semantics,
// the `images` audit annotation, and which references images_to_resolve hands to the registry.
//
// Pure: the registry's answers are hand-made policy::ImageResolutions, the input evaluate() takes.
// The registry side (HEAD, tokens, the digest cache) is covered by the integration tests.

#include <catch2/catch.hpp>

#include <rapidjson/document.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "unit/judge.h"
#include "unit/registry_answers.h"
#include "admission/admission.h"
#include "image/reference.h"
#include "policy/policy.h"
#include "registry/client.h"
#include "unit/review_json.h"

using namespace podgate;
using namespace podgate::testing;
using config::Action;
using policy::Decision;
using policy::ImageResolutions;
using policy::Route;
using policy::Verdict;
using policy::Violation;
using registry::Failure;

namespace {

using podgate::test::Answers;
using podgate::test::key;
using podgate::test::sha;

config::Config images_config(Action action = Action::Deny) {
  config::Config cfg;
  cfg.rules.images.action = action;
  return cfg;
}

// A Pod "default/web" whose regular containers run `images` (named c0, c1, ...).
std::string pod_with_images(const std::vector<std::string>& images, const std::string& ns = "default") {
  std::vector<std::string> containers;
  for (std::size_t i = 0; i < images.size(); ++i) containers.push_back(container("c" + std::to_string(i), images[i]));
  return create_review(pod_kind(), pod_spec({list("containers", containers)}), ns);
}

// volumes[] entry of an image volume (Kubernetes 1.31+); review_json.h has no helper for it.
std::string image_volume(const std::string& name, const std::string& reference) {
  return "{\"name\":\"" + name + "\",\"image\":{\"reference\":\"" + reference + "\",\"pullPolicy\":\"IfNotPresent\"}}";
}

std::vector<std::string> image_violations(const Verdict& v) {
  std::vector<std::string> subjects;
  for (const Violation& x : v.violations)
    if (x.rule == "images") subjects.push_back(x.subject);
  return subjects;
}

const Violation* violation_of(const Verdict& v, const std::string& subject) {
  for (const Violation& x : v.violations)
    if (x.subject == subject) return &x;
  return nullptr;
}

// The `images` annotation of a verdict the scan rule had no part in: {subject, image, digest} each.
std::vector<AnnotatedImage> image_annotation(const Verdict& v) {
  std::vector<AnnotatedImage> all = annotated_images(v);
  for (const AnnotatedImage& a : all) REQUIRE_FALSE(a.scan);
  return all;
}

std::vector<AnnotatedImage> judged_images(const Verdict& v) {
  std::vector<AnnotatedImage> out;
  for (const auto& j : v.images) out.push_back(AnnotatedImage{j.subject, j.image, j.digest});
  return out;
}

// Only the images that were judged by a digest: those refused before resolution (invalid,
// untrusted, blocked by name, tag-only under requireDigest) or not found are recorded with an
// empty digest, and the tests about resolved images leave them out.
std::vector<AnnotatedImage> with_digest(std::vector<AnnotatedImage> all) {
  std::erase_if(all, [](const AnnotatedImage& a) { return a.digest.empty(); });
  return all;
}

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace

TEST_CASE("images: action off judges nothing and resolves nothing", "[policy][images]") {
  config::Config cfg;  // the default: rules.images.action off
  REQUIRE(cfg.rules.images.action == Action::Off);
  // Every other image setting present, so only the action keeps them quiet.
  cfg.rules.images.trustedRegistries = {"ghcr.io"};
  cfg.rules.images.blocked = {"docker.io/library/nginx", sha('a')};
  cfg.rules.images.requireDigest = true;
  Answers answers;
  answers.failure("redis:7", Failure::Timeout, "timed out");

  const Outcome o = judge(pod_with_images({"nginx:1.25", "Nginx/App", "redis:7", "quay.io/x/y@" + sha('a')}), cfg,
                          answers.get());
  CHECK(o.toResolve.empty());
  CHECK(o.verdict.decision == Decision::Allowed);
  CHECK(o.verdict.violations.empty());
  CHECK(o.verdict.warnings.empty());
  CHECK(o.verdict.images.empty());
  CHECK(o.verdict.resolveFailuresDenied == 0);
  CHECK(o.verdict.resolveFailuresAllowed == 0);
  CHECK_FALSE(annotation(o.verdict, "images"));

  // Null resolutions are fine when the rules are off.
  const Outcome n = judge(pod_with_images({"nginx:1.25"}), cfg, nullptr);
  CHECK(n.verdict.decision == Decision::Allowed);
  CHECK(n.verdict.violations.empty());
}

TEST_CASE("images: an invalid reference is a violation and is never resolved", "[policy][images]") {
  const config::Config cfg = images_config();
  Answers answers;
  answers.digest("nginx:1.25", sha('1'));
  const std::vector<std::string> invalid{
      "Nginx/App",             // a domain "Nginx", then an upper-case path
      "docker/Docker",         // upper case in the path
      "nginx:",                // empty tag
      std::string(64, 'a'),    // a bare 64-hex string (it looks like an image ID)
      "nginx@sha256:abc",      // malformed digest
      "nginx:1.25 ",           // trailing space
      ":latest",               // no name
  };
  for (const std::string& bad : invalid) {
    CAPTURE(bad);
    const image::ParseResult parsed = image::parse(bad);
    REQUIRE_FALSE(parsed);
    // The invalid image second, so the field path's index is checked too.
    const Outcome o = judge(pod_with_images({"nginx:1.25", bad}), cfg, answers.get());
    CHECK(o.toResolve == std::vector<std::string>{key("nginx:1.25")});
    CHECK(o.verdict.decision == Decision::Denied);
    REQUIRE(o.verdict.violations.size() == 1);
    const Violation& v = o.verdict.violations[0];
    CHECK(v.rule == "images");
    CHECK(v.action == Action::Deny);
    CHECK(v.subject == "container \"c1\"");
    CHECK(v.fieldPath == "spec.containers[1].image");
    CHECK(v.value == bad);
    CHECK_FALSE(v.preexisting);
    CHECK(contains(v.message, "Pod default/web: container \"c1\" has image \"" + bad +
                                  "\" at spec.containers[1].image, which is not a valid image reference (" +
                                  parsed.error + ")"));
    CHECK(contains(o.verdict.message, "podgate denied Pod default/web: "));
    CHECK(contains(o.verdict.message, "not a valid image reference"));
    // The valid container next to it was resolved and judged as usual; the invalid one is recorded
    // without a digest.
    CHECK(judged_images(o.verdict) == std::vector<AnnotatedImage>{{"container \"c0\"", "nginx:1.25", sha('1')},
                                                                  {"container \"c1\"", bad, ""}});
  }
}

TEST_CASE("images: trustedRegistries admits listed registries and prefixes only", "[policy][images][trust]") {
  config::Config cfg = images_config();
  // As config::parse stores them: registries lowercase, prefixes ending in '/'.
  cfg.rules.images.trustedRegistries = {"docker.io", "ghcr.io/myorg/", "registry.example.com:5000"};

  struct Row {
    std::string image;
    bool trusted;
  };
  const std::vector<Row> table{
      {"nginx", true},  // docker.io/library/nginx:latest
      {"nginx:1.25", true},
      {"bitnami/redis:7", true},
      {"docker.io/library/nginx:1.25", true},
      {"index.docker.io/library/nginx:1.25", true},
      {"ghcr.io/myorg/app:1", true},
      {"ghcr.io/myorg/team/app:1", true},
      {"GHCR.io/myorg/app:1", true},  // registry names are case-insensitive
      {"registry.example.com:5000/a/b:1", true},
      {"ghcr.io/myorgx/app:1", false},  // a prefix matches at a '/' boundary only
      {"ghcr.io/other/app:1", false},
      {"ghcr.io/app:1", false},
      {"registry.example.com/a/b:1", false},  // another port is another registry
      {"registry.example.com:5001/a/b:1", false},
      {"quay.io/myorg/app:1", false},
      {"docker.io.evil.com/library/nginx:1", false},
      {"localhost:5000/nginx:1", false},
      {"quay.io/myorg/app@" + sha('a'), false},  // a digest does not make an untrusted registry trusted
  };
  for (const Row& row : table) {
    CAPTURE(row.image);
    Answers answers;
    if (row.trusted) answers.digest(row.image, sha('1'));
    const Outcome o = judge(pod_with_images({row.image}), cfg, answers.get());
    if (row.trusted) {
      CHECK(o.toResolve == std::vector<std::string>{key(row.image)});
      CHECK(o.verdict.decision == Decision::Allowed);
      CHECK(o.verdict.violations.empty());
      CHECK(judged_images(o.verdict) == std::vector<AnnotatedImage>{{"container \"c0\"", row.image, sha('1')}});
    } else {
      // podgate never contacts a registry it does not trust.
      CHECK(o.toResolve.empty());
      CHECK(o.verdict.decision == Decision::Denied);
      REQUIRE(o.verdict.violations.size() == 1);
      const Violation& v = o.verdict.violations[0];
      CHECK(v.rule == "images");
      CHECK(v.fieldPath == "spec.containers[0].image");
      CHECK(v.value == row.image);
      CHECK(contains(v.message, "Pod default/web: container \"c0\" uses image \"" + row.image + "\" from "));
      CHECK(contains(v.message, "which is not a trusted registry"));
      CHECK(contains(v.message, "only images from docker.io, ghcr.io/myorg/, registry.example.com:5000 are admitted"));
      // Recorded as judged, with no digest (podgate never asked the untrusted registry).
      REQUIRE(o.verdict.images.size() == 1);
      CHECK(o.verdict.images[0].image == row.image);
      CHECK(with_digest(judged_images(o.verdict)).size() == (image::parse(row.image).reference->digest.empty() ? 0u : 1u));
    }
  }
}

TEST_CASE("images: trustedRegistries entries from the config file are normalised like images",
          "[policy][images][trust]") {
  const config::Config cfg = config::parse(R"(
rules:
  images:
    action: deny
    trustedRegistries: ["index.docker.io/myorg/", "GHCR.IO/team", "Registry.Example.com:5000"]
)");
  for (const std::string& image : std::vector<std::string>{"myorg/app:1", "docker.io/myorg/app:1",
                                                           "index.docker.io/myorg/sub/app:1", "ghcr.io/team/app:1",
                                                           "ghcr.io/team/sub/app:1", "registry.example.com:5000/a:1"}) {
    CAPTURE(image);
    Answers answers;
    answers.digest(image, sha('2'));
    const Outcome o = judge(pod_with_images({image}), cfg, answers.get());
    CHECK(o.toResolve == std::vector<std::string>{key(image)});
    CHECK(o.verdict.violations.empty());
  }
  for (const std::string& image : std::vector<std::string>{"nginx:1.25", "myorgx/app:1", "bitnami/redis:7",
                                                           "ghcr.io/myorg/app:1", "ghcr.io/teamx/app:1",
                                                           "quay.io/team/app:1", "registry.example.com/a:1"}) {
    CAPTURE(image);
    const Outcome o = judge(pod_with_images({image}), cfg, nullptr);
    CHECK(o.toResolve.empty());
    REQUIRE(o.verdict.violations.size() == 1);
    CHECK(contains(o.verdict.violations[0].message, "which is not a trusted registry"));
  }
}

// A fixed bug, kept as a regression case: docs/configuration.md says a trustedRegistries entry "myorg/" is "docker.io/myorg/" (a
// Docker Hub prefix), but the config normaliser stripped the trailing '/' before deciding between
// registry and prefix, so "myorg/" was read as a registry named "myorg" and config::parse threw
// "expected a registry such as ...". It must parse to "docker.io/myorg/" and admit myorg/app but
// not myorgx/app or nginx.
TEST_CASE("images: regression: a Docker Hub prefix myorg/ in trustedRegistries is accepted by the config",
          "[policy][images][trust]") {
  config::Config cfg;
  REQUIRE_NOTHROW(cfg = config::parse("rules:\n  images:\n    action: deny\n    trustedRegistries: [\"myorg/\"]\n"));
  CHECK(cfg.rules.images.trustedRegistries == std::vector<std::string>{"docker.io/myorg/"});
  Answers answers;
  answers.digest("myorg/app:1", sha('1'));
  CHECK(judge(pod_with_images({"myorg/app:1"}), cfg, answers.get()).verdict.violations.empty());
  CHECK(judge(pod_with_images({"myorgx/app:1"}), cfg, nullptr).verdict.violations.size() == 1);
  CHECK(judge(pod_with_images({"nginx:1.25"}), cfg, nullptr).verdict.violations.size() == 1);
}

TEST_CASE("images: blocked images", "[policy][images][blocked]") {
  config::Config cfg = images_config();

  SECTION("a repository blocks every tag and digest of it, without asking the registry") {
    cfg.rules.images.blocked = {"docker.io/evil/miner"};
    for (const std::string& image : std::vector<std::string>{"evil/miner", "evil/miner:1.0", "docker.io/evil/miner:latest",
                                    "index.docker.io/evil/miner:2", "evil/miner@" + sha('c'),
                                    "evil/miner:1.0@" + sha('c')}) {
      CAPTURE(image);
      const Outcome o = judge(pod_with_images({image}), cfg, nullptr);
      CHECK(o.toResolve.empty());
      CHECK(o.verdict.decision == Decision::Denied);
      REQUIRE(o.verdict.violations.size() == 1);
      CHECK(o.verdict.violations[0].fieldPath == "spec.containers[0].image");
      CHECK(contains(o.verdict.violations[0].message,
                     "Pod default/web: container \"c0\" uses image \"" + image + "\", which is blocked (docker.io/evil/miner)"));
    }
    // Neighbours are not blocked.
    for (const std::string& image : std::vector<std::string>{"evil/miner2:1", "evil/minerx", "ghcr.io/evil/miner:1", "evil/miner/sub:1"}) {
      CAPTURE(image);
      Answers answers;
      answers.digest(image, sha('1'));
      const Outcome o = judge(pod_with_images({image}), cfg, answers.get());
      CHECK(o.toResolve == std::vector<std::string>{key(image)});
      CHECK(o.verdict.violations.empty());
    }
  }

  SECTION("repository:tag blocks that tag only") {
    cfg.rules.images.blocked = {"docker.io/library/nginx:1.25"};
    for (const std::string& image : std::vector<std::string>{"nginx:1.25", "docker.io/library/nginx:1.25"}) {
      CAPTURE(image);
      const Outcome o = judge(pod_with_images({image}), cfg, nullptr);
      CHECK(o.toResolve.empty());
      REQUIRE(o.verdict.violations.size() == 1);
      CHECK(contains(o.verdict.violations[0].message, "which is blocked (docker.io/library/nginx:1.25)"));
    }
    for (const std::string& image : std::vector<std::string>{"nginx:1.26", "nginx", "nginx:1.25.1", "bitnami/nginx:1.25"}) {
      CAPTURE(image);
      Answers answers;
      answers.digest(image, sha('1'));
      const Outcome o = judge(pod_with_images({image}), cfg, answers.get());
      CHECK(o.verdict.violations.empty());
    }
  }

  SECTION("a digest in the reference is blocked without asking the registry") {
    cfg.rules.images.blocked = {sha('a')};
    const std::string image = "ghcr.io/org/app@" + sha('a');
    const Outcome o = judge(pod_with_images({image}), cfg, nullptr);
    CHECK(o.toResolve.empty());
    CHECK(o.verdict.decision == Decision::Denied);
    REQUIRE(o.verdict.violations.size() == 1);
    CHECK(contains(o.verdict.violations[0].message, "which is blocked (" + sha('a') + ")"));
  }

  SECTION("a digest the tag resolves to is blocked wherever it is pushed") {
    cfg.rules.images.blocked = {sha('a')};
    Answers answers;
    answers.digest("ghcr.io/org/app:2", sha('a')).digest("quay.io/mirror/app:2", sha('a')).digest("ghcr.io/org/app:3", sha('b'));
    const Outcome o = judge(pod_with_images({"ghcr.io/org/app:2", "quay.io/mirror/app:2", "ghcr.io/org/app:3"}), cfg,
                            answers.get());
    // It has to be resolved to be judged.
    CHECK(sorted(o.toResolve) == sorted({key("ghcr.io/org/app:2"), key("quay.io/mirror/app:2"), key("ghcr.io/org/app:3")}));
    CHECK(o.verdict.decision == Decision::Denied);
    CHECK(image_violations(o.verdict) == std::vector<std::string>{"container \"c0\"", "container \"c1\""});
    const Violation* v = violation_of(o.verdict, "container \"c0\"");
    REQUIRE(v);
    CHECK(contains(v->message, "Pod default/web: container \"c0\" uses image \"ghcr.io/org/app:2\" (" + sha('a') +
                                   "), which is blocked (" + sha('a') + ")"));
    CHECK(contains(o.verdict.message, "2 violations"));
    // Every resolved image is recorded with the digest it was judged as, the blocked ones too.
    CHECK(judged_images(o.verdict) == std::vector<AnnotatedImage>{{"container \"c0\"", "ghcr.io/org/app:2", sha('a')},
                                                                  {"container \"c1\"", "quay.io/mirror/app:2", sha('a')},
                                                                  {"container \"c2\"", "ghcr.io/org/app:3", sha('b')}});
  }

  SECTION("a blocked digest that is one platform of a resolved index blocks the index") {
    cfg.rules.images.blocked = {sha('a')};
    Answers answers;
    answers.digest("ghcr.io/org/multi:1", sha('c'),
                   {{"linux/amd64", sha('d')}, {"linux/arm64/v8", sha('a')}, {"unknown/unknown", sha('e')}});
    answers.digest("ghcr.io/org/clean:1", sha('c'), {{"linux/amd64", sha('d')}});
    const Outcome o = judge(pod_with_images({"ghcr.io/org/multi:1", "ghcr.io/org/clean:1"}), cfg, answers.get());
    CHECK(image_violations(o.verdict) == std::vector<std::string>{"container \"c0\""});
    CHECK(o.verdict.decision == Decision::Denied);
    const Violation* v = violation_of(o.verdict, "container \"c0\"");
    REQUIRE(v);
    // The message names the index digest the image was judged as, and the entry that matched.
    CHECK(contains(v->message, "(" + sha('c') + "), which is blocked (" + sha('a') + ")"));
    CHECK(judged_images(o.verdict).at(0).digest == sha('c'));
  }

  SECTION("repository@digest blocks that digest in that repository only") {
    cfg.rules.images.blocked = {"ghcr.io/org/app@" + sha('b')};
    Answers answers;
    answers.digest("ghcr.io/org/app:3", sha('b'))
        .digest("ghcr.io/other/app:3", sha('b'))
        .digest("ghcr.io/org/app:4", sha('c'))
        .digest("ghcr.io/org/app:multi", sha('d'), {{"linux/amd64", sha('b')}});
    const Outcome o = judge(pod_with_images({"ghcr.io/org/app:3", "ghcr.io/other/app:3", "ghcr.io/org/app:4",
                                             "ghcr.io/org/app@" + sha('b'), "ghcr.io/org/app:multi"}),
                            cfg, answers.get());
    CHECK(image_violations(o.verdict) ==
          std::vector<std::string>{"container \"c0\"", "container \"c3\"", "container \"c4\""});
    // The pinned one needs no registry.
    CHECK(sorted(o.toResolve) == sorted({key("ghcr.io/org/app:3"), key("ghcr.io/other/app:3"), key("ghcr.io/org/app:4"),
                                         key("ghcr.io/org/app:multi")}));
    for (const char* subject : {"container \"c0\"", "container \"c3\"", "container \"c4\""}) {
      CAPTURE(subject);
      const Violation* v = violation_of(o.verdict, subject);
      REQUIRE(v);
      CHECK(contains(v->message, "which is blocked (ghcr.io/org/app@" + sha('b') + ")"));
    }
  }

  SECTION("blocked entries from the config file are normalised like images") {
    const config::Config parsed = config::parse(R"(
rules:
  images:
    action: deny
    blocked: ["evil/miner", "nginx:1.25", "index.docker.io/library/redis@sha256:)" + std::string(64, 'f') + R"("]
)");
    Answers answers;
    answers.digest("redis:7", sha('f')).digest("nginx:1.26", sha('1'));
    const Outcome o =
        judge(pod_with_images({"docker.io/evil/miner:x", "nginx:1.25", "redis:7", "nginx:1.26"}), parsed, answers.get());
    CHECK(image_violations(o.verdict) ==
          std::vector<std::string>{"container \"c0\"", "container \"c1\"", "container \"c2\""});
  }
}

TEST_CASE("images: requireDigest", "[policy][images][digest]") {
  config::Config cfg = images_config();
  cfg.rules.images.requireDigest = true;
  const std::string pinned = "ghcr.io/org/app@" + sha('a');
  const std::string taggedAndPinned = "ghcr.io/org/app:1.0@" + sha('b');

  const Outcome o = judge(pod_with_images({"nginx:1.25", pinned, taggedAndPinned, "redis"}), cfg, nullptr);
  // Tag-only images are refused without asking; pinned ones need no registry.
  CHECK(o.toResolve.empty());
  CHECK(o.verdict.decision == Decision::Denied);
  CHECK(image_violations(o.verdict) == std::vector<std::string>{"container \"c0\"", "container \"c3\""});
  const Violation* v = violation_of(o.verdict, "container \"c0\"");
  REQUIRE(v);
  CHECK(v->fieldPath == "spec.containers[0].image");
  CHECK(contains(v->message, "Pod default/web: container \"c0\" uses image \"nginx:1.25\" without a digest"));
  CHECK(contains(v->message, "docker.io/library/nginx@sha256:<digest>"));
  // The pinned images were judged as their own digests.
  CHECK(with_digest(judged_images(o.verdict)) == std::vector<AnnotatedImage>{{"container \"c1\"", pinned, sha('a')},
                                                                {"container \"c2\"", taggedAndPinned, sha('b')}});
  CHECK(o.verdict.resolveFailuresDenied == 0);

  const Outcome ok = judge(pod_with_images({pinned}), cfg, nullptr);
  CHECK(ok.verdict.decision == Decision::Allowed);
  CHECK(ok.verdict.violations.empty());
  CHECK(ok.toResolve.empty());
}

TEST_CASE("images: what the resolution says", "[policy][images][resolve]") {
  config::Config cfg = images_config();

  SECTION("not found is a violation of its own, not a resolve failure") {
    Answers answers;
    answers.failure("nginx:9.99", Failure::NotFound, "ghcr.io answered 404 MANIFEST_UNKNOWN");
    const Outcome o = judge(pod_with_images({"nginx:9.99"}), cfg, answers.get());
    CHECK(o.toResolve == std::vector<std::string>{key("nginx:9.99")});
    CHECK(o.verdict.decision == Decision::Denied);
    REQUIRE(o.verdict.violations.size() == 1);
    const Violation& v = o.verdict.violations[0];
    CHECK(v.rule == "images");
    CHECK(v.action == Action::Deny);
    CHECK(v.fieldPath == "spec.containers[0].image");
    CHECK(contains(v.message, "Pod default/web: container \"c0\" uses image \"nginx:9.99\", which does not exist "
                              "(ghcr.io answered 404 MANIFEST_UNKNOWN)"));
    CHECK(o.verdict.resolveFailuresDenied == 0);
    CHECK(o.verdict.resolveFailuresAllowed == 0);
    // onResolveError has no say over an image that does not exist.
    cfg.rules.images.onResolveError = config::OnResolveError::Allow;
    CHECK(judge(pod_with_images({"nginx:9.99"}), cfg, answers.get()).verdict.decision == Decision::Denied);
  }

  SECTION("a failure under onResolveError deny is a denying violation") {
    for (const Failure failure : {Failure::Timeout, Failure::Unreachable, Failure::Unauthorized, Failure::RateLimited,
                                  Failure::Tls, Failure::BadResponse, Failure::TooLarge, Failure::ServerError}) {
      CAPTURE(registry::to_string(failure));
      Answers answers;
      answers.failure("nginx:1.25", failure, "registry-1.docker.io did not answer");
      const Outcome o = judge(pod_with_images({"nginx:1.25"}), cfg, answers.get());
      CHECK(o.verdict.decision == Decision::Denied);
      REQUIRE(o.verdict.violations.size() == 1);
      const Violation& v = o.verdict.violations[0];
      CHECK(v.action == Action::Deny);
      CHECK(v.fieldPath == "spec.containers[0].image");
      CHECK(contains(v.message, "Pod default/web: podgate could not resolve image \"nginx:1.25\" of container \"c0\" "
                                "to a digest: registry-1.docker.io did not answer"));
      CHECK(contains(v.message, "onResolveError is deny"));
      CHECK(o.verdict.resolveFailuresDenied == 1);
      CHECK(o.verdict.resolveFailuresAllowed == 0);
      CHECK(judged_images(o.verdict) == std::vector<AnnotatedImage>{{"container \"c0\"", "nginx:1.25", ""}});
    }
  }

  SECTION("a failure under onResolveError allow is let through with a warning") {
    cfg.rules.images.onResolveError = config::OnResolveError::Allow;
    Answers answers;
    answers.failure("nginx:1.25", Failure::Unreachable, "registry-1.docker.io: connection refused")
        .digest("redis:7", sha('7'));
    const Outcome o = judge(pod_with_images({"nginx:1.25", "redis:7"}), cfg, answers.get());
    CHECK(o.verdict.decision == Decision::Allowed);
    CHECK(o.verdict.message.empty());
    REQUIRE(o.verdict.violations.size() == 1);
    const Violation& v = o.verdict.violations[0];
    CHECK(v.action == Action::Warn);  // the rule says deny; the fail-open setting makes it a warning
    CHECK(v.subject == "container \"c0\"");
    REQUIRE(o.verdict.warnings.size() == 1);
    CHECK(contains(o.verdict.warnings[0], "[podgate] warning: Pod default/web: "));
    CHECK(contains(o.verdict.warnings[0], "container \"c0\""));
    CHECK(contains(o.verdict.warnings[0], "allowed by rules.images.onResolveError: allow"));
    CHECK(contains(o.verdict.warnings[0], "connection refused"));
    CHECK(o.verdict.resolveFailuresAllowed == 1);
    CHECK(o.verdict.resolveFailuresDenied == 0);
    CHECK(judged_images(o.verdict) == std::vector<AnnotatedImage>{{"container \"c0\"", "nginx:1.25", ""},
                                                                  {"container \"c1\"", "redis:7", sha('7')}});
  }

  SECTION("an image missing from the resolutions counts as a failed resolution") {
    Answers answers;
    answers.digest("redis:7", sha('7'));
    const Outcome o = judge(pod_with_images({"nginx:1.25", "redis:7", "busybox:1.36"}), cfg, answers.get());
    CHECK(o.verdict.decision == Decision::Denied);
    CHECK(image_violations(o.verdict) == std::vector<std::string>{"container \"c0\"", "container \"c2\""});
    CHECK(contains(o.verdict.violations.at(0).message, "could not resolve image \"nginx:1.25\""));
    CHECK(o.verdict.resolveFailuresDenied == 2);

    // No resolutions at all: the same.
    const Outcome none = judge(pod_with_images({"nginx:1.25"}), cfg, nullptr);
    CHECK(none.verdict.decision == Decision::Denied);
    CHECK(none.verdict.resolveFailuresDenied == 1);

    cfg.rules.images.onResolveError = config::OnResolveError::Allow;
    const Outcome allowed = judge(pod_with_images({"nginx:1.25", "redis:7", "busybox:1.36"}), cfg, answers.get());
    CHECK(allowed.verdict.decision == Decision::Allowed);
    CHECK(allowed.verdict.resolveFailuresAllowed == 2);
    CHECK(allowed.verdict.resolveFailuresDenied == 0);
    CHECK(any_warning(allowed.verdict, "allowed by rules.images.onResolveError: allow"));
  }

  SECTION("a resolution is looked up by the canonical reference, however the image is spelled") {
    Answers answers;
    answers.digest("docker.io/library/nginx:latest", sha('9'));
    const Outcome o = judge(pod_with_images({"nginx", "index.docker.io/library/nginx", "nginx:latest"}), cfg,
                            answers.get());
    CHECK(o.verdict.decision == Decision::Allowed);
    CHECK(o.verdict.violations.empty());
    for (const auto& j : o.verdict.images) CHECK(j.digest == sha('9'));
    CHECK(o.verdict.images.size() == 3);
  }
}

TEST_CASE("images: action warn only warns", "[policy][images][warn]") {
  config::Config cfg = images_config(Action::Warn);
  cfg.rules.images.trustedRegistries = {"docker.io"};
  cfg.rules.images.blocked = {sha('a')};
  Answers answers;
  answers.digest("nginx:1.25", sha('a')).failure("redis:7", Failure::Timeout, "timed out").failure(
      "busybox:9", Failure::NotFound, "not found");
  const Outcome o =
      judge(pod_with_images({"nginx:1.25", "redis:7", "busybox:9", "quay.io/x/y:1", "Bad/Name"}), cfg, answers.get());
  CHECK(o.verdict.decision == Decision::Allowed);
  CHECK(o.verdict.message.empty());
  REQUIRE(o.verdict.violations.size() == 5);
  for (const Violation& v : o.verdict.violations) {
    CAPTURE(v.message);
    CHECK(v.rule == "images");
    CHECK(v.action == Action::Warn);
  }
  // One warning per violation, each naming the object and the container.
  REQUIRE(o.verdict.warnings.size() == 5);
  for (std::size_t i = 0; i < 5; ++i) {
    CAPTURE(o.verdict.warnings[i]);
    CHECK(contains(o.verdict.warnings[i], "[podgate] warning: Pod default/web: "));
    CHECK(contains(o.verdict.warnings[i], "container \"c" + std::to_string(i) + "\""));
  }
  // Under onResolveError deny the failure is still counted as such; the rule's action decides the rest.
  CHECK(o.verdict.resolveFailuresDenied == 1);
  CHECK(annotation(o.verdict, "decision") == std::optional<std::string>("allowed"));
}

TEST_CASE("images: audit mode and the audit route would deny", "[policy][images][audit]") {
  config::Config cfg = images_config();
  cfg.rules.images.trustedRegistries = {"ghcr.io"};
  Answers answers;
  answers.digest("ghcr.io/org/app:1", sha('1'));
  const std::string body = pod_with_images({"ghcr.io/org/app:1", "quay.io/x/y:1"});

  const Outcome enforced = judge(body, cfg, answers.get());
  CHECK(enforced.verdict.decision == Decision::Denied);

  const Outcome viaRoute = judge(body, cfg, answers.get(), Route::Audit);
  config::Config auditCfg = cfg;
  auditCfg.mode = config::Mode::Audit;
  const Outcome viaMode = judge(body, auditCfg, answers.get());
  for (const Outcome* o : {&viaRoute, &viaMode}) {
    const Verdict& v = o->verdict;
    CHECK(v.decision == Decision::WouldDeny);
    CHECK(v.mode == config::Mode::Audit);
    CHECK(contains(v.message, "podgate would deny Pod default/web: container \"c1\" uses image \"quay.io/x/y:1\""));
    REQUIRE(v.warnings.size() == 1);
    CHECK(contains(v.warnings[0], "[podgate] would deny: Pod default/web: container \"c1\""));
    CHECK(annotation(v, "would-deny") == std::optional<std::string>("true"));
    CHECK(policy::to_response("u", v).allowed);
    // The images annotation is there in audit mode too.
    CHECK(with_digest(image_annotation(v)) == std::vector<AnnotatedImage>{{"container \"c0\"", "ghcr.io/org/app:1", sha('1')}});
  }
}

TEST_CASE("images: the images audit annotation", "[policy][images][annotation]") {
  const config::Config cfg = images_config();
  const std::string spec = pod_spec({
      list("initContainers", {container("setup", "busybox:1.36")}),
      list("containers", {container("app", "ghcr.io/org/app:2"), container("sidecar", "ghcr.io/org/proxy@" + sha('3'))}),
      list("ephemeralContainers", {container("debugger", "busybox:1.36")}),
      list("volumes", {R"({"name":"scratch","emptyDir":{}})", image_volume("models", "ghcr.io/org/models:v1")}),
  });
  Answers answers;
  answers.digest("busybox:1.36", sha('1')).digest("ghcr.io/org/app:2", sha('2')).digest("ghcr.io/org/models:v1", sha('4'));

  SECTION("lists every container and image volume with its digest, also when allowed") {
    const Outcome o = judge(create_review(pod_kind(), spec), cfg, answers.get());
    CHECK(o.verdict.decision == Decision::Allowed);
    CHECK(o.verdict.violations.empty());
    const std::vector<AnnotatedImage> expected{
        {"init container \"setup\"", "busybox:1.36", sha('1')},
        {"container \"app\"", "ghcr.io/org/app:2", sha('2')},
        {"container \"sidecar\"", "ghcr.io/org/proxy@" + sha('3'), sha('3')},
        {"ephemeral container \"debugger\"", "busybox:1.36", sha('1')},
        {"volume \"models\"", "ghcr.io/org/models:v1", sha('4')},
    };
    CHECK(image_annotation(o.verdict) == expected);
    CHECK(judged_images(o.verdict) == expected);
    // The only thing to report about a clean pod is what it was judged as.
    CHECK(o.verdict.auditAnnotations.size() == 1);
    CHECK_FALSE(annotation(o.verdict, "decision"));
  }

  SECTION("an unresolved image is listed with an empty digest") {
    config::Config open = cfg;
    open.rules.images.onResolveError = config::OnResolveError::Allow;
    answers.map.erase(key("ghcr.io/org/app:2"));
    const Outcome o = judge(create_review(pod_kind(), spec), open, answers.get());
    CHECK(o.verdict.decision == Decision::Allowed);
    const std::vector<AnnotatedImage> got = image_annotation(o.verdict);
    REQUIRE(got.size() == 5);
    CHECK(got[1] == AnnotatedImage{"container \"app\"", "ghcr.io/org/app:2", ""});
    CHECK(got[0].digest == sha('1'));
    CHECK(annotation(o.verdict, "decision") == std::optional<std::string>("allowed"));
  }

  SECTION("absent when the image rules are off") {
    const Outcome o = judge(create_review(pod_kind(), spec), config::Config{}, answers.get());
    CHECK_FALSE(annotation(o.verdict, "images"));
    CHECK(o.verdict.images.empty());
  }
}

// A fixed bug, kept as a regression case: the `images` annotation is
// meant to show in the apiserver's audit log exactly what was admitted. Under action warn (or in
// audit mode) every image below is admitted, but a JudgedImage used to be recorded only for images
// that got past the static checks and were resolved or failed to resolve; an image refused by name
// (untrusted, blocked, tag-only under requireDigest) or one the registry says does not exist was
// left out, so the audit log did not show that it ran. Every non-exempt container and image volume
// must be listed (digest empty when podgate has none).
TEST_CASE("images: regression: the images annotation lists admitted images refused by name or not found",
          "[policy][images][annotation]") {
  config::Config cfg = images_config(Action::Warn);
  cfg.rules.images.trustedRegistries = {"docker.io"};
  Answers answers;
  answers.digest("nginx:1.25", sha('1')).failure("busybox:9", Failure::NotFound, "not found");
  const Outcome o = judge(pod_with_images({"nginx:1.25", "quay.io/x/y:1", "busybox:9"}), cfg, answers.get());
  REQUIRE(o.verdict.decision == Decision::Allowed);  // all three will run
  std::vector<std::string> listed;
  for (const AnnotatedImage& a : image_annotation(o.verdict)) listed.push_back(a.subject + " " + a.image);
  CHECK(listed == std::vector<std::string>{"container \"c0\" nginx:1.25", "container \"c1\" quay.io/x/y:1",
                                           "container \"c2\" busybox:9"});
}

TEST_CASE("images: every container list and image volumes are judged", "[policy][images][sites]") {
  config::Config cfg = images_config();
  cfg.rules.images.trustedRegistries = {"docker.io"};
  const std::string spec = pod_spec({
      list("initContainers", {container("setup", "quay.io/x/setup:1")}),
      list("containers", {container("app", "nginx:1.25"), container("sidecar", "quay.io/x/proxy:1")}),
      list("ephemeralContainers", {container("debug", "quay.io/x/debug:1")}),
      list("volumes", {R"({"name":"scratch","emptyDir":{}})", image_volume("models", "quay.io/x/models:v1")}),
  });
  Answers answers;
  answers.digest("nginx:1.25", sha('1'));
  const Outcome o = judge(create_review(pod_kind(), spec), cfg, answers.get());
  CHECK(o.toResolve == std::vector<std::string>{key("nginx:1.25")});
  CHECK(o.verdict.decision == Decision::Denied);
  struct Expected {
    std::string subject, field, image;
  };
  const std::vector<Expected> expected{
      {"init container \"setup\"", "spec.initContainers[0].image", "quay.io/x/setup:1"},
      {"container \"sidecar\"", "spec.containers[1].image", "quay.io/x/proxy:1"},
      {"ephemeral container \"debug\"", "spec.ephemeralContainers[0].image", "quay.io/x/debug:1"},
      {"volume \"models\"", "spec.volumes[1].image.reference", "quay.io/x/models:v1"},
  };
  REQUIRE(o.verdict.violations.size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const Violation& v = o.verdict.violations[i];
    CAPTURE(i, v.message);
    CHECK(v.rule == "images");
    CHECK(v.subject == expected[i].subject);
    CHECK(v.fieldPath == expected[i].field);
    CHECK(v.value == expected[i].image);
    CHECK(contains(v.message, "Pod default/web: " + expected[i].subject + " uses image \"" + expected[i].image + "\""));
  }
  CHECK(contains(o.verdict.message, "4 violations"));

  SECTION("an image volume is resolved and blocked like a container image") {
    config::Config open = images_config();
    open.rules.images.blocked = {sha('4')};
    Answers more = answers;
    more.digest("quay.io/x/setup:1", sha('5'))
        .digest("quay.io/x/proxy:1", sha('5'))
        .digest("quay.io/x/debug:1", sha('5'))
        .digest("quay.io/x/models:v1", sha('4'));
    const Outcome b = judge(create_review(pod_kind(), spec), open, more.get());
    CHECK(std::find(b.toResolve.begin(), b.toResolve.end(), key("quay.io/x/models:v1")) != b.toResolve.end());
    REQUIRE(b.verdict.violations.size() == 1);
    CHECK(b.verdict.violations[0].fieldPath == "spec.volumes[1].image.reference");
    CHECK(contains(b.verdict.violations[0].message, "volume \"models\" uses image \"quay.io/x/models:v1\" (" + sha('4') +
                                                        "), which is blocked"));
  }
}

TEST_CASE("images: workload kinds carry their field paths and names", "[policy][images][kinds]") {
  config::Config cfg = images_config();
  cfg.rules.images.trustedRegistries = {"docker.io"};
  const std::string spec = pod_spec({
      list("initContainers", {container("setup", "quay.io/x/setup:1")}),
      list("containers", {container("app", "nginx:1.25")}),
      list("volumes", {image_volume("models", "quay.io/x/models:v1")}),
  });
  Answers answers;
  answers.digest("nginx:1.25", sha('1'));
  for (const WorkloadKind& k : workload_kinds()) {
    CAPTURE(api_version(k), k.kind);
    const Outcome o = judge(create_review(k, spec), cfg, answers.get());
    CHECK(o.toResolve == std::vector<std::string>{key("nginx:1.25")});
    CHECK(o.verdict.decision == Decision::Denied);
    REQUIRE(o.verdict.violations.size() == 2);
    CHECK(o.verdict.violations[0].fieldPath == k.specPath + ".initContainers[0].image");
    CHECK(o.verdict.violations[1].fieldPath == k.specPath + ".volumes[0].image.reference");
    CHECK(contains(o.verdict.message, "podgate denied " + k.kind + " default/web: 2 violations"));
    CHECK(contains(o.verdict.violations[0].message, k.kind + " default/web: init container \"setup\" uses image"));
    CHECK(with_digest(judged_images(o.verdict)) == std::vector<AnnotatedImage>{{"container \"app\"", "nginx:1.25", sha('1')}});
  }
}

TEST_CASE("images: exemptions", "[policy][images][exemptions]") {
  config::Config cfg = images_config();
  cfg.rules.images.trustedRegistries = {"docker.io"};
  cfg.rules.images.requireDigest = false;

  SECTION("an exempt namespace is neither resolved nor judged") {
    REQUIRE(std::find(cfg.exemptions.namespaces.begin(), cfg.exemptions.namespaces.end(), "kube-system") !=
            cfg.exemptions.namespaces.end());
    const Outcome o = judge(pod_with_images({"nginx:1.25", "quay.io/x/y:1", "Bad/Name"}, "kube-system"), cfg, nullptr);
    CHECK(o.toResolve.empty());
    CHECK(o.verdict.decision == Decision::Allowed);
    CHECK(o.verdict.violations.empty());
    CHECK(o.verdict.images.empty());
    CHECK(o.verdict.resolveFailuresDenied == 0);
    REQUIRE(o.verdict.exemptions.size() == 1);
    CHECK(o.verdict.exemptions[0].kind == "namespace");
    CHECK(o.verdict.exemptions[0].value == "kube-system");
    CHECK_FALSE(annotation(o.verdict, "images"));
  }

  SECTION("an image exemption skips that container and is recorded") {
    cfg.exemptions.images = {"quay.io/vendor/**"};
    Answers answers;
    answers.digest("nginx:1.25", sha('1'));
    const std::string spec = pod_spec({
        list("containers", {container("agent", "quay.io/vendor/agent:1"), container("app", "nginx:1.25"),
                            container("other", "quay.io/other/x:1")}),
        list("volumes", {image_volume("data", "quay.io/vendor/data:1")}),
    });
    const Outcome o = judge(create_review(pod_kind(), spec), cfg, answers.get());
    CHECK(o.toResolve == std::vector<std::string>{key("nginx:1.25")});
    CHECK(image_violations(o.verdict) == std::vector<std::string>{"container \"other\""});
    CHECK(o.verdict.decision == Decision::Denied);
    REQUIRE(o.verdict.exemptions.size() == 2);
    CHECK(o.verdict.exemptions[0].kind == "image");
    CHECK(o.verdict.exemptions[0].value == "quay.io/vendor/agent:1");
    CHECK(o.verdict.exemptions[1].kind == "image");
    CHECK(o.verdict.exemptions[1].value == "quay.io/vendor/data:1");
    CHECK(with_digest(judged_images(o.verdict)) == std::vector<AnnotatedImage>{{"container \"app\"", "nginx:1.25", sha('1')}});
    CHECK(annotation(o.verdict, "exempt") == std::optional<std::string>("image=quay.io/vendor/agent:1,image=quay.io/vendor/data:1"));

    // With nothing else wrong the pod is allowed, and the exemption still recorded.
    const Outcome clean = judge(
        create_review(pod_kind(), pod_spec({list("containers", {container("agent", "quay.io/vendor/agent:1"),
                                                                 container("app", "nginx:1.25")})})),
        cfg, answers.get());
    CHECK(clean.verdict.decision == Decision::Allowed);
    CHECK(clean.verdict.violations.empty());
    REQUIRE(clean.verdict.exemptions.size() == 1);
    CHECK(image_annotation(clean.verdict) == std::vector<AnnotatedImage>{{"container \"app\"", "nginx:1.25", sha('1')}});
  }

  SECTION("an exempt service account is neither resolved nor judged, in its namespace only") {
    cfg.exemptions.serviceAccounts = {"default:builder"};
    const std::string spec = pod_spec({R"("serviceAccountName":"builder")",
                                       list("containers", {container("app", "quay.io/x/y:1"), container("b", "nginx:1")})});
    const Outcome o = judge(create_review(pod_kind(), spec), cfg, nullptr);
    CHECK(o.toResolve.empty());
    CHECK(o.verdict.decision == Decision::Allowed);
    CHECK(o.verdict.violations.empty());
    CHECK(o.verdict.images.empty());
    REQUIRE(o.verdict.exemptions.size() == 1);
    CHECK(o.verdict.exemptions[0].kind == "serviceAccount");
    CHECK(o.verdict.exemptions[0].value == "default:builder");

    const Outcome elsewhere = judge(create_review(pod_kind(), spec, "prod"), cfg, nullptr);
    CHECK(elsewhere.toResolve == std::vector<std::string>{key("nginx:1")});
    CHECK(elsewhere.verdict.decision == Decision::Denied);
    CHECK(contains(elsewhere.verdict.message, "podgate denied Pod prod/web: 2 violations"));
  }
}

TEST_CASE("images: UPDATE", "[policy][images][update]") {
  config::Config cfg = images_config();
  cfg.rules.images.trustedRegistries = {"docker.io"};
  const WorkloadKind& deployment = workload_kinds()[1];
  REQUIRE(deployment.kind == "Deployment");
  auto update = [&](const std::string& oldSpec, const std::string& newSpec) {
    return update_review(deployment, oldSpec, newSpec);
  };
  auto spec_of = [](const std::vector<std::string>& images) {
    std::vector<std::string> containers;
    for (std::size_t i = 0; i < images.size(); ++i) containers.push_back(container("c" + std::to_string(i), images[i]));
    return pod_spec({list("containers", containers)});
  };

  SECTION("an image violation already in oldObject only warns") {
    const std::string s = spec_of({"quay.io/x/app:1"});
    const Outcome o = judge(update(s, s), cfg, nullptr);
    CHECK(o.verdict.decision == Decision::Allowed);
    REQUIRE(o.verdict.violations.size() == 1);
    CHECK(o.verdict.violations[0].preexisting);
    CHECK(o.verdict.violations[0].action == Action::Deny);
    REQUIRE(o.verdict.warnings.size() == 1);
    CHECK(contains(o.verdict.warnings[0], "[podgate] warning: Deployment default/web: container \"c0\" uses image "
                                          "\"quay.io/x/app:1\""));
    CHECK(contains(o.verdict.warnings[0], "(already present before this update, so not denied)"));
    // Not a would-deny in audit mode either.
    CHECK(judge(update(s, s), cfg, nullptr, Route::Audit).verdict.decision == Decision::Allowed);
  }

  SECTION("a changed image is judged like a CREATE") {
    const Outcome o = judge(update(spec_of({"quay.io/x/app:1"}), spec_of({"quay.io/x/app:2"})), cfg, nullptr);
    CHECK(o.verdict.decision == Decision::Denied);
    REQUIRE(o.verdict.violations.size() == 1);
    CHECK_FALSE(o.verdict.violations[0].preexisting);
    CHECK(o.verdict.violations[0].fieldPath == "spec.template.spec.containers[0].image");
    CHECK(contains(o.verdict.message, "podgate denied Deployment default/web: container \"c0\" uses image \"quay.io/x/app:2\""));
  }

  SECTION("a new container next to a preexisting violation is judged, the old one only warned about") {
    const Outcome o = judge(update(spec_of({"quay.io/x/app:1"}), spec_of({"quay.io/x/app:1", "quay.io/x/side:1"})), cfg,
                            nullptr);
    CHECK(o.verdict.decision == Decision::Denied);
    REQUIRE(o.verdict.violations.size() == 2);
    CHECK(o.verdict.violations[0].preexisting);
    CHECK_FALSE(o.verdict.violations[1].preexisting);
    CHECK(contains(o.verdict.message, "container \"c1\""));
    CHECK_FALSE(contains(o.verdict.message, "container \"c0\""));
  }

  SECTION("a digest blocked after the object was admitted is preexisting; the same digest under a new tag is not") {
    config::Config blocked = images_config();
    blocked.rules.images.blocked = {sha('a')};
    Answers answers;
    answers.digest("nginx:1.25", sha('a')).digest("nginx:1.25-alpine", sha('a'));
    const Outcome same = judge(update(spec_of({"nginx:1.25"}), spec_of({"nginx:1.25"})), blocked, answers.get());
    CHECK(same.verdict.decision == Decision::Allowed);
    REQUIRE(same.verdict.violations.size() == 1);
    CHECK(same.verdict.violations[0].preexisting);
    CHECK(judged_images(same.verdict) == std::vector<AnnotatedImage>{{"container \"c0\"", "nginx:1.25", sha('a')}});

    const Outcome retagged =
        judge(update(spec_of({"nginx:1.25"}), spec_of({"nginx:1.25-alpine"})), blocked, answers.get());
    CHECK(retagged.verdict.decision == Decision::Denied);
  }

  SECTION("a resolve failure for an unchanged image is preexisting: an outage does not block the update") {
    Answers answers;
    answers.failure("nginx:1.25", Failure::Timeout, "timed out").failure("nginx:1.26", Failure::Timeout, "timed out");
    const Outcome same = judge(update(spec_of({"nginx:1.25"}), spec_of({"nginx:1.25"})), cfg, answers.get());
    CHECK(same.verdict.decision == Decision::Allowed);
    REQUIRE(same.verdict.violations.size() == 1);
    CHECK(same.verdict.violations[0].preexisting);
    CHECK(any_warning(same.verdict, "could not resolve image \"nginx:1.25\""));
    CHECK(any_warning(same.verdict, "already present before this update"));
    // The metric counts failures by what onResolveError says, not by the request's decision.
    CHECK(same.verdict.resolveFailuresDenied == 1);

    const Outcome changed = judge(update(spec_of({"nginx:1.25"}), spec_of({"nginx:1.26"})), cfg, answers.get());
    CHECK(changed.verdict.decision == Decision::Denied);
  }

  SECTION("images_to_resolve includes oldObject's images, without duplicates") {
    Answers answers;
    answers.digest("nginx:1.25", sha('1')).digest("nginx:1.26", sha('2')).digest("redis:7", sha('3'));
    const Outcome o = judge(update(spec_of({"nginx:1.25", "redis:7", "quay.io/x/y:1"}),
                                   spec_of({"nginx:1.25", "nginx:1.26", "docker.io/library/nginx:1.26"})),
                            cfg, answers.get());
    CHECK(sorted(o.toResolve) == sorted({key("nginx:1.25"), key("nginx:1.26"), key("redis:7")}));
    CHECK(o.verdict.decision == Decision::Allowed);
    CHECK(o.verdict.violations.empty());
    // Only the new object's images are recorded.
    CHECK(judged_images(o.verdict) == std::vector<AnnotatedImage>{{"container \"c0\"", "nginx:1.25", sha('1')},
                                                                  {"container \"c1\"", "nginx:1.26", sha('2')},
                                                                  {"container \"c2\"", "docker.io/library/nginx:1.26", sha('2')}});
  }

  SECTION("a kubectl debug container is judged; the pod's existing images are preexisting") {
    const std::string running = list("containers", {container("app", "quay.io/x/app:1")});
    const Outcome o = judge(debug_review({running}, {container("debugger-x7", "quay.io/x/debug:1")}), cfg, nullptr);
    CHECK(o.verdict.decision == Decision::Denied);
    REQUIRE(o.verdict.violations.size() == 2);
    CHECK(o.verdict.violations[0].preexisting);
    CHECK_FALSE(o.verdict.violations[1].preexisting);
    CHECK(o.verdict.violations[1].fieldPath == "spec.ephemeralContainers[0].image");
    CHECK(contains(o.verdict.message, "ephemeral container \"debugger-x7\""));
  }
}

// A fixed bug, kept as a regression case: images_to_resolve promises
// "Empty when ... the request is exempt" (policy.h), and evaluate() allows an UPDATE whose new
// object runs as an exempt service account without looking at oldObject. images_to_resolve used to
// skip only the exempt spec and still return oldObject's images, so the Reviewer waited on registry
// resolutions nobody used. It must be empty.
TEST_CASE("images: regression: an UPDATE to an exempt service account does not resolve oldObject's images",
          "[policy][images][update][exemptions]") {
  config::Config cfg = images_config();
  cfg.exemptions.serviceAccounts = {"default:builder"};
  const WorkloadKind& deployment = workload_kinds()[1];
  ReviewOptions o;
  o.operation = "UPDATE";
  o.oldObject = wrap_pod_spec(deployment, pod_spec({list("containers", {container("app", "nginx:1.25")})}));
  o.object = wrap_pod_spec(deployment, pod_spec({R"("serviceAccountName":"builder")",
                                                 list("containers", {container("app", "nginx:1.26")})}));
  const Outcome out = judge(review_json(deployment, o), cfg, nullptr);
  REQUIRE(out.verdict.decision == Decision::Allowed);
  REQUIRE(out.verdict.exemptions.size() == 1);
  CHECK(out.toResolve == std::vector<std::string>{});
}

TEST_CASE("images: images_to_resolve", "[policy][images][resolve]") {
  const config::Config cfg = images_config();

  SECTION("the same image in several containers is resolved once") {
    const std::string spec = pod_spec({
        list("initContainers", {container("i", "index.docker.io/library/nginx")}),
        list("containers", {container("a", "nginx"), container("b", "nginx:latest"), container("c", "redis:7"),
                            container("d", "docker.io/library/nginx:latest")}),
        list("ephemeralContainers", {container("e", "redis:7")}),
        list("volumes", {image_volume("v", "nginx")}),
    });
    const Outcome o = judge(create_review(pod_kind(), spec), cfg, nullptr);
    CHECK(o.toResolve == std::vector<std::string>{"docker.io/library/nginx:latest", "docker.io/library/redis:7"});
  }

  SECTION("nothing for requests that are not judged") {
    const std::string spec = pod_spec({list("containers", {container("a", "nginx:1.25")})});
    ReviewOptions status;
    status.operation = "UPDATE";
    status.subResource = "status";
    status.object = wrap_pod_spec(pod_kind(), spec);
    status.oldObject = wrap_pod_spec(pod_kind(), spec);
    CHECK(judge(review_json(pod_kind(), status), cfg, nullptr).toResolve.empty());

    ReviewOptions del;
    del.operation = "DELETE";
    del.oldObject = wrap_pod_spec(pod_kind(), spec);
    CHECK(judge(review_json(pod_kind(), del), cfg, nullptr).toResolve.empty());

    const WorkloadKind rollout{"argoproj.io", "v1alpha1", "Rollout", "rollouts", "spec.template.spec"};
    CHECK(judge(create_review(rollout, spec), cfg, nullptr).toResolve.empty());
  }

  SECTION("what evaluate() consults is what images_to_resolve asked for") {
    config::Config strict = cfg;
    strict.rules.images.trustedRegistries = {"docker.io", "ghcr.io/org/"};
    strict.rules.images.blocked = {"docker.io/evil/miner"};
    const std::vector<std::string> images{"nginx:1.25", "ghcr.io/org/app:1", "ghcr.io/org/app@" + sha('a'),
                                          "ghcr.io/other/app:1", "evil/miner:1", "Bad/Name", "nginx:1.25"};
    const Outcome first = judge(pod_with_images(images), strict, nullptr);
    CHECK(first.toResolve == std::vector<std::string>{key("nginx:1.25"), key("ghcr.io/org/app:1")});
    // Answering exactly those leaves no resolve failure.
    Answers answers;
    for (const std::string& k : first.toResolve) answers.digest(k, sha('1'));
    const Outcome second = judge(pod_with_images(images), strict, answers.get());
    CHECK(second.verdict.resolveFailuresDenied == 0);
    CHECK(image_violations(second.verdict) ==
          std::vector<std::string>{"container \"c3\"", "container \"c4\"", "container \"c5\""});
  }
}
