// The manifest reader (podgate check's input): multi-document YAML and its scalar typing, List
// kinds flattened, errors with file and line, directory loading, merge keys and alias bombs, and
// the AdmissionReview a manifest becomes.

#include <catch2/catch.hpp>
#include <rapidjson/document.h>

#include <chrono>
#include <filesystem>

#include "admission/admission.h"
#include "config/config.h"
#include "policy/policy.h"
#include "manifest/manifest.h"
#include "support/temp_dir.h"

using podgate::manifest::Document;
using podgate::manifest::ManifestError;

namespace {
rapidjson::Document json_of(const Document& d) {
  rapidjson::Document doc;
  doc.Parse(d.json.c_str());
  REQUIRE_FALSE(doc.HasParseError());
  return doc;
}
}  // namespace

TEST_CASE("multi-document YAML becomes one Document each, with source lines", "[manifest]") {
  const std::string yaml = R"(apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  template:
    spec:
      containers:
        - name: app
          image: nginx:1.27
          securityContext:
            privileged: true
---
# comment-only document is skipped
---
apiVersion: v1
kind: Service
metadata: {name: web}
)";
  auto docs = podgate::manifest::parse(yaml, "web.yaml");
  REQUIRE(docs.size() == 2);
  CHECK(docs[0].kind == "Deployment");
  CHECK(docs[0].apiVersion == "apps/v1");
  CHECK(docs[0].name == "web");
  CHECK(docs[0].namespace_ == "shop");
  CHECK(docs[0].source == "web.yaml:1");
  CHECK(docs[1].kind == "Service");
  CHECK(docs[1].source == "web.yaml:17");
  auto d = json_of(docs[0]);
  // Plain scalars are typed as YAML 1.2 core schema says: true is a bool.
  CHECK(d["spec"]["template"]["spec"]["containers"][0]["securityContext"]["privileged"].IsBool());
}

TEST_CASE("scalar typing follows the YAML core schema, quoted scalars stay strings", "[manifest]") {
  auto docs = podgate::manifest::parse(
      "kind: X\na: true\nb: 'true'\nc: 42\nd: \"42\"\ne: ~\nf: 1.5\ng: 0755\nh: +3\ni: yes\nj: -7\n", "t");
  REQUIRE(docs.size() == 1);
  auto d = json_of(docs[0]);
  CHECK(d["a"].IsBool());
  CHECK(d["b"].IsString());
  CHECK(d["c"].IsInt());
  CHECK(d["d"].IsString());
  CHECK(d["e"].IsNull());
  CHECK(d["f"].IsDouble());
  CHECK(d["g"].IsString());  // not a valid JSON number
  CHECK(d["h"].IsString());
  CHECK(d["i"].IsString());  // YAML 1.2: "yes" is a string
  CHECK(d["j"].IsInt());
}

// Found by the manifest fuzzer: "runAsUser: 1e332" (and "0e332") were written as JSON numbers that
// RapidJSON, and so podgate's own decoder, refuse. go-yaml resolves 1e332 as a string and 0e332 as
// 0, as here.
TEST_CASE("a number past double's range stays a string, as go-yaml resolves it", "[manifest]") {
  auto docs = podgate::manifest::parse(
      "kind: X\na: 1e332\nb: -1e400\nc: 1e300\nd: 123456789012345678901234\ne: 0e332\n", "t");
  REQUIRE(docs.size() == 1);
  auto d = json_of(docs[0]);
  CHECK(d["a"].IsString());
  CHECK(std::string(d["a"].GetString()) == "1e332");
  CHECK(d["b"].IsString());
  CHECK(d["c"].IsDouble());
  CHECK(d["d"].IsNumber());  // a big integer is still a number (a double), as go-yaml's float
  REQUIRE(d["e"].IsNumber());
  CHECK(d["e"].GetDouble() == 0.0);
}

TEST_CASE("List documents are flattened", "[manifest]") {
  auto docs = podgate::manifest::parse(
      R"({"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a"}},{"apiVersion":"v1","kind":"Pod","metadata":{"name":"b"}}]})",
      "list.json");
  REQUIRE(docs.size() == 2);
  CHECK(docs[0].name == "a");
  CHECK(docs[1].name == "b");
}

TEST_CASE("the items of a pretty-printed JSON List (kubectl get -o json) carry their own lines", "[manifest][list]") {
  auto docs = podgate::manifest::parse(R"({
  "apiVersion": "v1",
  "kind": "List",
  "items": [
    {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a"}},
    {
      "apiVersion": "v1",
      "kind": "Pod",
      "metadata": {"name": "b"}
    }
  ]
}
)", "pods.json");
  REQUIRE(docs.size() == 2);
  CHECK(docs[0].file == "pods.json");
  CHECK(docs[0].line == 5);
  CHECK(docs[0].source == "pods.json:5");
  CHECK(docs[1].line == 6);
  CHECK(docs[1].source == "pods.json:6");
}

TEST_CASE("bad YAML is an error naming file, line and column", "[manifest]") {
  try {
    podgate::manifest::parse("kind: Pod\nspec: [unclosed\n", "bad.yaml");
    FAIL("expected ManifestError");
  } catch (const ManifestError& e) {
    CHECK(std::string(e.what()).rfind("bad.yaml:", 0) == 0);
    CHECK(std::string(e.what()).find("invalid YAML") != std::string::npos);
  }
  CHECK_THROWS_AS(podgate::manifest::parse("- a\n- b\n", "seq.yaml"), ManifestError);  // not a mapping
  // yaml-cpp 0.7 alone loops on a stray token after a top-level flow collection, until memory
  // runs out (found by fuzzing): an error instead.
  for (const char* stray : {"{},", "{a: b}, c", "[], c", "{kind: Pod},\n"})
    CHECK_THROWS_WITH(podgate::manifest::parse(stray, "stray.yaml"), Catch::Matchers::Contains("stray.yaml:1:"));
  std::string deep(5000, '[');
  CHECK_THROWS_AS(podgate::manifest::parse("kind: X\nv: " + deep, "deep.yaml"), ManifestError);
}

TEST_CASE("load reads directories recursively in sorted order and refuses oversized files", "[manifest]") {
  const podgate::test::TempDir dir("podgate-manifest-test");
  std::filesystem::create_directories(dir.file("sub"));
  dir.write("b.yaml", "kind: Pod\nmetadata: {name: b}\n");
  dir.write("sub/a.yml", "kind: Pod\nmetadata: {name: a}\n");
  dir.write("notes.txt", "not a manifest");
  auto docs = podgate::manifest::load(dir.path());
  REQUIRE(docs.size() == 2);
  CHECK(docs[0].name == "b");  // "b.yaml" sorts before "sub/a.yml"
  CHECK(docs[1].name == "a");
  CHECK_THROWS_AS(podgate::manifest::load(dir.file("b.yaml"), 10), ManifestError);
  CHECK_THROWS_AS(podgate::manifest::load(dir.file("missing.yaml")), ManifestError);
}

TEST_CASE("to_admission_review produces a CREATE review admission decodes", "[manifest]") {
  auto docs = podgate::manifest::parse(
      "apiVersion: batch/v1beta1\nkind: CronJob\nmetadata: {name: nightly}\nspec:\n  jobTemplate:\n    spec:\n"
      "      template:\n        spec:\n          containers: [{name: c, image: busybox}]\n",
      "cj.yaml");
  REQUIRE(docs.size() == 1);
  const auto resource = podgate::admission::resource_for_kind(docs[0].kind);
  auto decoded = podgate::admission::decode(
      podgate::manifest::to_admission_review(docs[0], "team-a", resource.group, resource.resource));
  REQUIRE(decoded);
  const auto& req = decoded.review->request();
  CHECK(req.kind.group == "batch");
  CHECK(req.kind.version == "v1beta1");
  CHECK(req.kind.kind == "CronJob");
  CHECK(req.namespace_ == "team-a");
  CHECK(req.operation == podgate::admission::Operation::Create);
  REQUIRE(req.object.podSpec);
  CHECK(req.object.podSpec->fieldPath == "spec.jobTemplate.spec.template.spec");
  REQUIRE(req.object.podSpec->containers.size() == 1);
  CHECK(req.object.podSpec->containers[0].image == "busybox");
}

TEST_CASE("a PersistentVolume manifest becomes a cluster-scoped persistentvolumes review", "[manifest]") {
  auto docs = podgate::manifest::parse(
      "apiVersion: v1\nkind: PersistentVolume\nmetadata: {name: sock, namespace: ignored}\n"
      "spec:\n  capacity: {storage: 1Gi}\n  hostPath: {path: /var/run/docker.sock}\n",
      "pv.yaml");
  REQUIRE(docs.size() == 1);
  const auto resource = podgate::admission::resource_for_kind(docs[0].kind);
  CHECK(resource.resource == "persistentvolumes");
  auto decoded = podgate::admission::decode(
      podgate::manifest::to_admission_review(docs[0], "team-a", resource.group, resource.resource));
  REQUIRE(decoded);
  const auto& req = decoded.review->request();
  CHECK(req.target == podgate::admission::Target::PersistentVolume);
  CHECK(req.namespace_.empty());
  REQUIRE(req.object.nodePaths.size() == 1);
  CHECK(req.object.nodePaths[0].path == "/var/run/docker.sock");
}

// ---- YAML merge keys: podgate check must see the object kubectl sends (go-yaml v2 semantics) ----

namespace {
// The decision the webhook's rules reach on a document, as `podgate check` runs them.
podgate::policy::Decision judge(const Document& d) {
  const auto resource = podgate::admission::resource_for_kind(d.kind);
  auto decoded = podgate::admission::decode(podgate::manifest::to_admission_review(d, "default", resource.group, resource.resource));
  REQUIRE(decoded);
  podgate::policy::Evaluator evaluator{podgate::config::Config{}};
  return evaluator.evaluate(decoded.review->request(), podgate::policy::Route::Validate).decision;
}

const rapidjson::Value& security_context(const rapidjson::Document& d) {
  return d["spec"]["containers"][0]["securityContext"];
}
}  // namespace

TEST_CASE("a merge key brings its keys in, so a privileged Pod written with << is denied", "[manifest][merge]") {
  auto docs = podgate::manifest::parse(R"(apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
    - name: app
      image: nginx
      securityContext:
        <<: {privileged: true}
)",
                                       "merge.yaml");
  REQUIRE(docs.size() == 1);
  auto d = json_of(docs[0]);
  REQUIRE(security_context(d).HasMember("privileged"));
  CHECK(security_context(d)["privileged"].GetBool());
  CHECK_FALSE(security_context(d).HasMember("<<"));
  CHECK(judge(docs[0]) == podgate::policy::Decision::Denied);
}

TEST_CASE("merge keys with anchors, aliases, lists, overrides and nesting", "[manifest][merge]") {
  auto docs = podgate::manifest::parse(R"(kind: Pod
apiVersion: v1
metadata:
  <<: {name: from-merge, namespace: merged-ns}
x-defaults:
  base: &base {a: base, b: base, deep: {privileged: true}}
  other: &other {a: other, c: other}
  nested: &nested {<<: *base, b: nested}
spec:
  containers:
    - name: alias
      image: nginx
      securityContext: {<<: *base}
    - name: list
      image: nginx
      env: {<<: [*other, *base]}
    - name: override
      image: nginx
      env:
        <<: *base
        a: explicit
    - name: nested
      image: nginx
      env: {<<: *nested}
    - name: quoted
      image: nginx
      env: {"<<": literal}
    - name: tagged
      image: nginx
      env: {!!merge <<: {t: 1}}
)",
                                       "anchors.yaml");
  REQUIRE(docs.size() == 1);
  CHECK(docs[0].name == "from-merge");  // metadata read through the merge, too
  CHECK(docs[0].namespace_ == "merged-ns");
  auto d = json_of(docs[0]);
  const auto& c = d["spec"]["containers"];
  CHECK(c[0]["securityContext"]["deep"]["privileged"].GetBool());
  // Earlier mappings in a merge list win; keys only the later one has still come in.
  CHECK(std::string(c[1]["env"]["a"].GetString()) == "other");
  CHECK(std::string(c[1]["env"]["b"].GetString()) == "base");
  CHECK(std::string(c[1]["env"]["c"].GetString()) == "other");
  // A key written after the merge key overrides the merged one.
  CHECK(std::string(c[2]["env"]["a"].GetString()) == "explicit");
  CHECK(std::string(c[2]["env"]["b"].GetString()) == "base");
  // A merged mapping's own merge key is applied; its explicit key overrides what it merged.
  CHECK(std::string(c[3]["env"]["a"].GetString()) == "base");
  CHECK(std::string(c[3]["env"]["b"].GetString()) == "nested");
  // A quoted "<<" is an ordinary key (go-yaml: only a plain or !!merge-tagged << merges).
  CHECK(std::string(c[4]["env"]["<<"].GetString()) == "literal");
  CHECK(c[5]["env"]["t"].GetInt() == 1);
}

TEST_CASE("merge keys cannot smuggle a second value for a key", "[manifest][merge]") {
  auto error_of = [](const std::string& yaml) {
    try {
      podgate::manifest::parse(yaml, "dup.yaml");
    } catch (const ManifestError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  // go-yaml v2 (kubectl) lets the merged value overwrite a key written before the merge key;
  // YAML 1.1 and go-yaml v3 keep the written one. Tools disagree, so podgate refuses it.
  CHECK_THAT(error_of("kind: Pod\nspec:\n  securityContext:\n    privileged: false\n    <<: {privileged: true}\n"),
             Catch::Matchers::Contains("dup.yaml:5:") && Catch::Matchers::Contains("before a merge key"));
  CHECK_THAT(error_of("kind: Pod\nspec: {privileged: false, privileged: true}\n"),
             Catch::Matchers::Contains("duplicate key \"privileged\""));
  CHECK_THAT(error_of("kind: Pod\nspec: {<<: {a: 1}, <<: {privileged: true}}\n"),
             Catch::Matchers::Contains("more than one merge key"));
  CHECK_THAT(error_of("kind: Pod\nspec: {<<: true}\n"), Catch::Matchers::Contains("merge key (<<) takes a mapping"));
  CHECK_THAT(error_of("kind: Pod\nspec: {<<: [{a: 1}, 2]}\n"), Catch::Matchers::Contains("merge key (<<) takes a mapping"));
  // Written after the merge key, the explicit value wins everywhere: accepted.
  auto docs = podgate::manifest::parse("kind: Pod\nspec: {<<: {privileged: true}, privileged: false}\n", "ok.yaml");
  REQUIRE(docs.size() == 1);
  CHECK_FALSE(json_of(docs[0])["spec"]["privileged"].GetBool());
}

TEST_CASE("alias and merge bombs are refused quickly", "[manifest][merge]") {
  // "Billion laughs": nine levels of ten aliases each expand to 10^9 values.
  std::string yaml = "kind: Pod\na0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (int i = 1; i <= 9; ++i) {
    std::string prev = "*a" + std::to_string(i - 1);
    yaml += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int j = 0; j < 10; ++j) yaml += (j ? ", " : "") + prev;
    yaml += "]\n";
  }
  // The same through merge keys: each level merges the previous one twice under new keys.
  std::string merges = "kind: Pod\nm0: &m0 {k: v}\n";
  for (int i = 1; i <= 40; ++i) {
    std::string prev = "*m" + std::to_string(i - 1);
    merges += "m" + std::to_string(i) + ": &m" + std::to_string(i) + " {x: {<<: " + prev + "}, y: {<<: " + prev + "}}\n";
  }
  // A large scalar aliased many times: few values, many bytes.
  std::string wide = "kind: Pod\nbig: &big \"" + std::string(1 << 20, 'x') + "\"\nmany: [";
  for (int j = 0; j < 100; ++j) wide += (j ? ", " : "") + std::string("*big");
  wide += "]\n";
  for (const auto* text : {&yaml, &merges, &wide}) {
    const auto start = std::chrono::steady_clock::now();
    CHECK_THROWS_WITH(podgate::manifest::parse(*text, "bomb.yaml"), Catch::Matchers::Contains("alias bomb"));
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(20));
  }
}

// ---- lists: any object whose top-level items is a sequence, as kubectl's resource builder ----

TEST_CASE("PodList, DeploymentList, nested lists and decoys with items are expanded", "[manifest][list]") {
  auto docs = podgate::manifest::parse(R"(apiVersion: v1
kind: PodList
items:
  - apiVersion: v1
    kind: Pod
    metadata: {name: in-podlist}
    spec: {containers: [{name: c, image: nginx, securityContext: {privileged: true}}]}
---
apiVersion: apps/v1
kind: DeploymentList
items:
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {name: in-deploymentlist}
---
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: List
    items:
      - apiVersion: v1
        kind: Pod
        metadata: {name: list-in-list}
---
apiVersion: v1
kind: Pod
metadata: {name: decoy}
spec: {containers: [{name: c, image: nginx}]}
items:
  - apiVersion: v1
    kind: Pod
    metadata: {name: hidden}
    spec: {containers: [{name: c, image: nginx, securityContext: {privileged: true}}]}
---
apiVersion: v1
kind: Pod
metadata: {name: items-not-a-list}
items: {a: 1}
)",
                                       "lists.yaml");
  REQUIRE(docs.size() == 5);
  CHECK(docs[0].name == "in-podlist");
  CHECK(docs[0].source == "lists.yaml:4");  // each item reports its own line
  CHECK(judge(docs[0]) == podgate::policy::Decision::Denied);
  CHECK(docs[1].name == "in-deploymentlist");
  CHECK(docs[1].kind == "Deployment");
  CHECK(docs[1].source == "lists.yaml:12");
  CHECK(docs[2].name == "list-in-list");
  CHECK(docs[2].source == "lists.yaml:22");
  // kubectl treats an object carrying an items sequence as a list and applies only the items.
  CHECK(docs[3].name == "hidden");
  CHECK(judge(docs[3]) == podgate::policy::Decision::Denied);
  CHECK(docs[4].name == "items-not-a-list");
}

TEST_CASE("list items must be mappings, and lists nest only so deep", "[manifest][list]") {
  CHECK_THROWS_WITH(podgate::manifest::parse("kind: List\nitems: [1]\n", "l.yaml"),
                    Catch::Matchers::Contains("l.yaml:2: a list item must be a mapping"));
  std::string deep = "{kind: Pod}";
  for (int i = 0; i < 40; ++i) deep = "{kind: List, items: [" + deep + "]}";
  CHECK_THROWS_WITH(podgate::manifest::parse(deep, "deep.yaml"), Catch::Matchers::Contains("lists nested deeper"));
  // Through an alias the same item is expanded each time it is named, each reporting the anchor's line.
  auto docs = podgate::manifest::parse("kind: List\nx: &p {kind: Pod, metadata: {name: p}}\nitems: [*p, *p]\n", "a.yaml");
  REQUIRE(docs.size() == 2);
  CHECK(docs[1].source == "a.yaml:2");
}
