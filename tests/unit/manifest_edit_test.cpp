// manifest::append_to_scalars: edits of one scalar each, in place, the rest of the text byte for
// byte; what cannot be edited safely is reported, never guessed.

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "manifest/manifest.h"

using podgate::manifest::append_to_scalars;
using podgate::manifest::ScalarAppend;
using podgate::manifest::ScalarAppendFailure;

namespace {

struct Edited {
  std::string text;
  std::vector<ScalarAppendFailure> failures;
};

Edited edit(const std::string& text, const std::vector<ScalarAppend>& edits) {
  Edited out;
  out.text = append_to_scalars(text, "m.yaml", edits, out.failures);
  return out;
}

}  // namespace

TEST_CASE("plain, quoted and flow scalars get the suffix and nothing else changes", "[manifest][edit]") {
  const std::string text =
      "# ünïcödé comment: multi-byte characters before the scalars\n"
      "kind: Pod\n"
      "spec:\n"
      "  containers:\n"
      "  - name: a\n"
      "    image: nginx:1.27 # trailing comment\n"
      "  - {name: b, image: \"redis:7\"}\n"
      "  - name: c\n"
      "    image: 'busybox'\n";
  const auto out = edit(text, {{0, "spec.containers[0].image", "nginx:1.27", "@A"},
                               {0, "spec.containers[1].image", "redis:7", "@B"},
                               {0, "spec.containers[2].image", "busybox", "@C"}});
  CHECK(out.failures.empty());
  CHECK(out.text ==
        "# ünïcödé comment: multi-byte characters before the scalars\n"
        "kind: Pod\n"
        "spec:\n"
        "  containers:\n"
        "  - name: a\n"
        "    image: nginx:1.27@A # trailing comment\n"
        "  - {name: b, image: \"redis:7@B\"}\n"
        "  - name: c\n"
        "    image: 'busybox@C'\n");
}

TEST_CASE("objects are counted across documents and list items, as parse() counts them", "[manifest][edit]") {
  const std::string text = "kind: Service\n---\n\n---\n{\"kind\": \"List\", \"items\": [{\"kind\": \"Pod\", \"image\": \"x:1\"},\n"
                           "  {\"kind\": \"Pod\", \"image\": \"y:1\"}]}\n";
  REQUIRE(podgate::manifest::parse(text, "m.yaml").size() == 3);
  const auto out = edit(text, {{2, "image", "y:1", "@D"}});
  CHECK(out.failures.empty());
  CHECK(out.text == "kind: Service\n---\n\n---\n{\"kind\": \"List\", \"items\": [{\"kind\": \"Pod\", \"image\": \"x:1\"},\n"
                    "  {\"kind\": \"Pod\", \"image\": \"y:1@D\"}]}\n");
}

TEST_CASE("what cannot be edited safely is reported and left alone", "[manifest][edit]") {
  const std::string text =
      "kind: Pod\n"
      "base: &img nginx:1\n"
      "spec:\n"
      "  a: *img\n"
      "  b: >-\n"
      "    redis:7\n"
      "  c: \"esc\\u0061ped:1\"\n"
      "  d: busybox:1\n";
  const auto out = edit(text, {{0, "spec.a", "nginx:1", "@A"},
                               {0, "spec.b", "redis:7", "@B"},
                               {0, "spec.c", "escaped:1", "@C"},
                               {0, "spec.d", "other:2", "@D"},
                               {0, "spec.e", "x", "@E"},
                               {5, "spec.d", "busybox:1", "@F"}});
  CHECK(out.text == text);
  REQUIRE(out.failures.size() == 6);
  CHECK(out.failures[0].message.find("m.yaml:2: spec.a: not written on one line") == 0);  // the anchor's line
  CHECK(out.failures[1].message.find("spec.b: not written on one line") != std::string::npos);
  CHECK(out.failures[2].message.find("spec.c: not written on one line") != std::string::npos);
  CHECK(out.failures[3].message.find("spec.d: is busybox:1, expected other:2") != std::string::npos);
  CHECK(out.failures[4].message.find("spec.e: not found") != std::string::npos);
  CHECK(out.failures[5].message.find("no such object") != std::string::npos);
  CHECK(out.failures[5].edit == 5);
}

TEST_CASE("one scalar named twice through an alias is edited once", "[manifest][edit]") {
  const std::string text = "kind: Pod\nx: &i nginx:1\ny: *i\n";
  // The anchor's own scalar starts at '&': refused; a plain scalar named twice (same object and
  // field) is edited once.
  const auto twice = edit("kind: Pod\nimage: nginx:1\n", {{0, "image", "nginx:1", "@A"}, {0, "image", "nginx:1", "@A"}});
  CHECK(twice.failures.empty());
  CHECK(twice.text == "kind: Pod\nimage: nginx:1@A\n");
  const auto aliased = edit(text, {{0, "y", "nginx:1", "@A"}});
  CHECK(aliased.text == text);
  CHECK(aliased.failures.size() == 1);
}
