#include <catch2/catch.hpp>
#include <rapidjson/document.h>

#include <filesystem>
#include <fstream>

#include "admission/admission.h"
#include "manifest/manifest.h"

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

TEST_CASE("List documents are flattened", "[manifest]") {
  auto docs = podgate::manifest::parse(
      R"({"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a"}},{"apiVersion":"v1","kind":"Pod","metadata":{"name":"b"}}]})",
      "list.json");
  REQUIRE(docs.size() == 2);
  CHECK(docs[0].name == "a");
  CHECK(docs[1].name == "b");
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
  std::string deep(5000, '[');
  CHECK_THROWS_AS(podgate::manifest::parse("kind: X\nv: " + deep, "deep.yaml"), ManifestError);
}

TEST_CASE("load reads directories recursively in sorted order and refuses oversized files", "[manifest]") {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("podgate-manifest-test-" + std::to_string(::getpid()));
  fs::create_directories(dir / "sub");
  std::ofstream(dir / "b.yaml") << "kind: Pod\nmetadata: {name: b}\n";
  std::ofstream(dir / "sub" / "a.yml") << "kind: Pod\nmetadata: {name: a}\n";
  std::ofstream(dir / "notes.txt") << "not a manifest";
  auto docs = podgate::manifest::load(dir.string());
  REQUIRE(docs.size() == 2);
  CHECK(docs[0].name == "b");  // "b.yaml" sorts before "sub/a.yml"
  CHECK(docs[1].name == "a");
  CHECK_THROWS_AS(podgate::manifest::load((dir / "b.yaml").string(), 10), ManifestError);
  CHECK_THROWS_AS(podgate::manifest::load((dir / "missing.yaml").string()), ManifestError);
  fs::remove_all(dir);
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
