// AdmissionReview decoding (every pod-bearing kind, every error) and response encoding.

#include <catch2/catch.hpp>

#include <rapidjson/document.h>

#include "admission/admission.h"
#include "unit/review_json.h"

using namespace podgate::admission;
using namespace podgate::testing;

namespace {

Review decode_ok(const std::string& body) {
  DecodeResult r = decode(body);
  INFO((r.error ? r.error->message : std::string()));
  REQUIRE(r);
  REQUIRE_FALSE(r.error);
  return std::move(*r.review);
}

std::string decode_error(const std::string& body) {
  DecodeResult r = decode(body);
  REQUIRE_FALSE(r);
  REQUIRE(r.error);
  // One line, for a person.
  CHECK(r.error->message.find('\n') == std::string::npos);
  CHECK_FALSE(r.error->message.empty());
  return r.error->message;
}

// A review whose request members are given verbatim (for error cases).
std::string with_request(const std::string& requestMembers) {
  return R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{)" + requestMembers + "}}";
}

const std::string kBaseRequest =
    R"("uid":"u1","kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},"operation":"CREATE","namespace":"default")";

std::string pod_request_with_spec(const std::string& spec) {
  return with_request(kBaseRequest + R"(,"object":{"metadata":{"name":"p"},"spec":)" + spec + "}");
}

const std::string kFullSpec = pod_spec({
    list("initContainers", {privileged_container("setup", "alpine:3.19")}),
    list("containers", {container("app", "nginx:1.25", mount("data") + R"(,"securityContext":{"privileged":false})"),
                        container("sidecar", "envoy:1.30")}),
    list("ephemeralContainers", {privileged_container("debugger")}),
    list("volumes", {host_path_volume("data", "/var/run/docker.sock"),
                     R"({"name":"cfg","configMap":{"name":"x"}})",
                     R"({"name":"img","image":{"reference":"quay.io/org/models:v1","pullPolicy":"IfNotPresent"}})"}),
    R"("serviceAccountName":"builder")",
});

void check_full_spec(const PodSpec& spec, const std::string& fieldPath) {
  CHECK(spec.fieldPath == fieldPath);
  CHECK(spec.serviceAccountName == "builder");
  REQUIRE(spec.containers.size() == 4);
  CHECK(spec.containers[0].list == ContainerList::Init);
  CHECK(spec.containers[0].name == "setup");
  CHECK(spec.containers[0].image == "alpine:3.19");
  CHECK(spec.containers[0].index == 0);
  CHECK(spec.containers[0].privileged == std::optional<bool>(true));
  CHECK(spec.containers[1].list == ContainerList::Regular);
  CHECK(spec.containers[1].name == "app");
  CHECK(spec.containers[1].index == 0);
  CHECK(spec.containers[1].privileged == std::optional<bool>(false));
  REQUIRE(spec.containers[1].volumeMounts.size() == 1);
  CHECK(spec.containers[1].volumeMounts[0] == "data");
  CHECK(spec.containers[2].name == "sidecar");
  CHECK(spec.containers[2].index == 1);
  CHECK_FALSE(spec.containers[2].privileged.has_value());
  CHECK(spec.containers[3].list == ContainerList::Ephemeral);
  CHECK(spec.containers[3].name == "debugger");
  CHECK(spec.containers[3].index == 0);
  REQUIRE(spec.volumes.size() == 3);
  CHECK(spec.volumes[0].name == "data");
  REQUIRE(spec.volumes[0].hostPath);
  CHECK(spec.volumes[0].hostPath->path == "/var/run/docker.sock");
  CHECK(spec.volumes[0].hostPath->type.empty());
  CHECK_FALSE(spec.volumes[1].hostPath);
  CHECK(spec.volumes[2].index == 2);
  REQUIRE(spec.volumes[2].imageReference);
  CHECK(*spec.volumes[2].imageReference == "quay.io/org/models:v1");
}

}  // namespace

TEST_CASE("decode extracts the pod spec of every pod-bearing kind and version", "[admission]") {
  for (const auto& kind : workload_kinds()) {
    CAPTURE(kind.kind, kind.group, kind.version);
    Review review = decode_ok(create_review(kind, kFullSpec, "team-a"));
    const Request& req = review.request();
    CHECK(req.kind.kind == kind.kind);
    CHECK(req.kind.group == kind.group);
    CHECK(req.kind.version == kind.version);
    CHECK(req.podBearing);
    CHECK(req.namespace_ == "team-a");
    CHECK(req.operation == Operation::Create);
    CHECK(req.resource == kind.resource);
    CHECK(req.object.name == "web");
    REQUIRE(req.object.podSpec);
    check_full_spec(*req.object.podSpec, kind.specPath);
    CHECK_FALSE(req.oldObject.podSpec);
  }
}

TEST_CASE("decode reads the request fields", "[admission]") {
  ReviewOptions o;
  o.operation = "UPDATE";
  o.dryRun = true;
  o.subResource = "ephemeralcontainers";
  o.object = wrap_pod_spec(pod_kind(), kFullSpec);
  o.oldObject = wrap_pod_spec(pod_kind(), pod_spec({list("containers", {container("app", "nginx")})}));
  Review review = decode_ok(review_json(pod_kind(), o));
  const Request& req = review.request();
  CHECK(req.uid == o.uid);
  CHECK(req.operation == Operation::Update);
  CHECK(req.operationText == "UPDATE");
  CHECK(req.subResource == "ephemeralcontainers");
  CHECK(req.name == "web");
  CHECK(req.dryRun);
  CHECK(req.userInfo.username == "alice");
  CHECK(req.userInfo.uid == "u-1");
  REQUIRE(req.userInfo.groups.size() == 2);
  CHECK(req.userInfo.groups[1] == "system:authenticated");
  CHECK(req.requestKind.kind == "Pod");
  REQUIRE(req.object.podSpec);
  REQUIRE(req.oldObject.podSpec);
  CHECK(req.oldObject.podSpec->containers.size() == 1);
  CHECK(req.object.podSpec->containers.size() == 4);
}

TEST_CASE("operations, generateName, requestKind and unknown kinds", "[admission]") {
  SECTION("operations") {
    const std::pair<const char*, Operation> ops[] = {{"CREATE", Operation::Create},
                                                     {"UPDATE", Operation::Update},
                                                     {"DELETE", Operation::Delete},
                                                     {"CONNECT", Operation::Connect},
                                                     {"PATCH", Operation::Unknown}};
    for (const auto& [text, op] : ops) {
      // A resource podgate does not judge: the operation is read whatever it is.
      Review r = decode_ok(with_request(R"("uid":"u","kind":{"kind":"ConfigMap"},"resource":{"resource":"configmaps"},"operation":")" + std::string(text) + "\""));
      CHECK(r.request().operation == op);
      CHECK(std::string(to_string(op)) == (op == Operation::Unknown ? "UNKNOWN" : text));
    }
  }
  SECTION("generateName is the name while the object has none") {
    Review r = decode_ok(with_request(kBaseRequest + R"(,"object":{"metadata":{"generateName":"web-"},"spec":{}})"));
    CHECK(r.request().object.name == "web-");
    REQUIRE(r.request().object.podSpec);
    CHECK(r.request().object.podSpec->containers.empty());
  }
  SECTION("requestKind defaults to kind and is read when present") {
    Review a = decode_ok(with_request(kBaseRequest + R"(,"object":{"spec":{}})"));
    CHECK(a.request().requestKind.kind == "Pod");
    Review b = decode_ok(with_request(
        R"("uid":"u","kind":{"group":"apps","version":"v1","kind":"Deployment"},"resource":{"group":"apps","version":"v1","resource":"deployments"},"requestKind":{"group":"extensions","version":"v1beta1","kind":"Deployment"},"operation":"CREATE","object":{})"));
    CHECK(b.request().requestKind.group == "extensions");
    CHECK(b.request().kind.group == "apps");
  }
  SECTION("a kind podgate does not know is not pod-bearing and its spec is not extracted") {
    Review r = decode_ok(with_request(
        R"("uid":"u","kind":{"group":"example.com","version":"v1","kind":"Rollout"},"operation":"CREATE","object":{"metadata":{"name":"r"},"spec":{"template":{"spec":{"containers":[{"name":"a","securityContext":{"privileged":true}}]}}}})"));
    CHECK_FALSE(r.request().podBearing);
    CHECK(r.request().object.name == "r");
    CHECK_FALSE(r.request().object.podSpec);
    CHECK_FALSE(is_pod_bearing_kind("Rollout"));
    CHECK_FALSE(is_pod_bearing_kind("pod"));
    CHECK(is_pod_bearing_kind("CronJob"));
  }
  SECTION("DELETE: object null, oldObject present") {
    Review r = decode_ok(read_fixture("reviews/pod-delete.json"));
    CHECK(r.request().operation == Operation::Delete);
    CHECK_FALSE(r.request().object.podSpec);
    CHECK(r.request().oldObject.podSpec);
  }
  SECTION("a missing step on the way to the pod spec means no pod spec") {
    Review r = decode_ok(with_request(
        R"("uid":"u","kind":{"group":"apps","version":"v1","kind":"Deployment"},"resource":{"group":"apps","version":"v1","resource":"deployments"},"operation":"CREATE","object":{"metadata":{"name":"d"},"spec":{"replicas":1}})"));
    CHECK_FALSE(r.request().object.podSpec);
    Review n = decode_ok(with_request(
        R"("uid":"u","kind":{"group":"apps","version":"v1","kind":"Deployment"},"resource":{"group":"apps","version":"v1","resource":"deployments"},"operation":"CREATE","object":{"spec":{"template":null}})"));
    CHECK_FALSE(n.request().object.podSpec);
  }
}

TEST_CASE("ephemeral containers: the subresource UPDATE and the legacy kind", "[admission]") {
  SECTION("pods/ephemeralcontainers arrives as an UPDATE with the whole Pod") {
    Review r = decode_ok(read_fixture("reviews/ephemeral-privileged-update.json"));
    const Request& req = r.request();
    CHECK(req.operation == Operation::Update);
    CHECK(req.subResource == "ephemeralcontainers");
    REQUIRE(req.object.podSpec);
    CHECK(req.object.podSpec->fieldPath == "spec");
    const auto& cs = req.object.podSpec->containers;
    REQUIRE(cs.size() == 3);
    CHECK(cs[2].list == ContainerList::Ephemeral);
    CHECK(cs[2].name == "debugger-r4x7k");
    CHECK(cs[2].privileged == std::optional<bool>(true));
    REQUIRE(req.oldObject.podSpec);
    CHECK(req.oldObject.podSpec->containers.size() == 2);
  }
  SECTION("legacy kind EphemeralContainers keeps the list at the top level") {
    Review r = decode_ok(read_fixture("reviews/legacy-ephemeralcontainers-privileged.json"));
    const Request& req = r.request();
    CHECK(req.kind.kind == "EphemeralContainers");
    CHECK(req.podBearing);
    REQUIRE(req.object.podSpec);
    CHECK(req.object.podSpec->fieldPath.empty());
    REQUIRE(req.object.podSpec->containers.size() == 1);
    CHECK(req.object.podSpec->containers[0].list == ContainerList::Ephemeral);
    CHECK(req.object.podSpec->containers[0].privileged == std::optional<bool>(true));
    CHECK(req.object.name == "checkout-7d9c6b5f4-x2kqp");
    REQUIRE(req.oldObject.podSpec);
    CHECK(req.oldObject.podSpec->containers.empty());
  }
  SECTION("kind EphemeralContainers carrying a whole Pod uses its spec") {
    Review r = decode_ok(with_request(
        R"("uid":"u","kind":{"kind":"EphemeralContainers"},"resource":{"resource":"pods"},"subResource":"ephemeralcontainers","operation":"UPDATE","object":{"spec":{"ephemeralContainers":[{"name":"d","securityContext":{"privileged":true}}]}})"));
    REQUIRE(r.request().object.podSpec);
    CHECK(r.request().object.podSpec->fieldPath == "spec");
    CHECK(r.request().object.podSpec->containers.size() == 1);
  }
  SECTION("kind EphemeralContainers with both shapes is refused") {
    const std::string msg = decode_error(with_request(
        R"("uid":"u","kind":{"kind":"EphemeralContainers"},"resource":{"resource":"pods"},"subResource":"ephemeralcontainers","operation":"UPDATE","object":{"spec":{},"ephemeralContainers":[]})"));
    CHECK(msg.find("request.object") != std::string::npos);
    CHECK(msg.find("both spec and ephemeralContainers") != std::string::npos);
  }
}

TEST_CASE("the deprecated serviceAccount field is used when serviceAccountName is empty", "[admission]") {
  Review a = decode_ok(pod_request_with_spec(R"({"serviceAccount":"legacy"})"));
  CHECK(a.request().object.podSpec->serviceAccountName == "legacy");
  Review b = decode_ok(pod_request_with_spec(R"({"serviceAccount":"legacy","serviceAccountName":"current"})"));
  CHECK(b.request().object.podSpec->serviceAccountName == "current");
}

TEST_CASE("the fixtures decode", "[admission]") {
  for (const char* name : {"reviews/pod-clean-4k.json", "reviews/pod-privileged.json", "reviews/deployment-docker-sock.json",
                           "reviews/cronjob-v1beta1-privileged.json", "reviews/daemonset-privileged-run.json"}) {
    CAPTURE(name);
    Review r = decode_ok(read_fixture(name));
    CHECK(r.request().podBearing);
    CHECK(r.request().object.podSpec);
  }
  Review cj = decode_ok(read_fixture("reviews/cronjob-v1beta1-privileged.json"));
  CHECK(cj.request().kind.version == "v1beta1");
  CHECK(cj.request().object.podSpec->fieldPath == "spec.jobTemplate.spec.template.spec");
  CHECK(cj.request().object.podSpec->containers[0].list == ContainerList::Init);
}

TEST_CASE("decode refuses unusable reviews with a clear one-line message", "[admission][errors]") {
  struct Case {
    std::string body;
    std::string expected;
  };
  const std::vector<Case> cases{
      {"", "body is not valid JSON: "},
      {"{", "body is not valid JSON: "},
      {"not json", "body is not valid JSON: Invalid value at offset 1"},
      {"[]", "body: expected a JSON object (an AdmissionReview), got an array"},
      {R"({"kind":"AdmissionReview","request":{}})", R"(apiVersion: missing, expected "admission.k8s.io/v1")"},
      {R"({"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{}})",
       R"(apiVersion: expected "admission.k8s.io/v1", got "admission.k8s.io/v1beta1")"},
      {R"({"apiVersion":1,"kind":"AdmissionReview","request":{}})",
       R"(apiVersion: expected "admission.k8s.io/v1", got a number)"},
      {R"({"apiVersion":"admission.k8s.io/v1","kind":"Pod","request":{}})",
       R"(kind: expected "AdmissionReview", got "Pod")"},
      {R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"})", "request: missing or not an object"},
      {R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":null})",
       "request: missing or not an object"},
      {R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":"x"})",
       "request: missing or not an object"},
      {with_request(R"("kind":{"kind":"Pod"},"operation":"CREATE")"), "request.uid: missing or not a non-empty string"},
      {with_request(R"("uid":"","kind":{"kind":"Pod"},"operation":"CREATE")"),
       "request.uid: missing or not a non-empty string"},
      {with_request(R"("uid":7,"kind":{"kind":"Pod"},"operation":"CREATE")"),
       "request.uid: missing or not a non-empty string"},
      {with_request(R"("uid":"u","operation":"CREATE")"), "request.kind: missing or not an object"},
      {with_request(R"("uid":"u","kind":{"group":"apps"},"operation":"CREATE")"), "request.kind.kind: missing or empty"},
      {with_request(R"("uid":"u","kind":{"kind":5},"operation":"CREATE")"),
       "request.kind.kind: expected a string, got a number"},
      {with_request(R"("uid":"u","kind":{"kind":"Pod"})"), "request.operation: missing or not a string"},
      {with_request(R"("uid":"u","kind":{"kind":"Pod"},"operation":true)"), "request.operation: missing or not a string"},
      {with_request(kBaseRequest + R"(,"dryRun":"yes")"), "request.dryRun: expected a boolean, got a string"},
      {with_request(kBaseRequest + R"(,"namespace":1)"), "request.namespace: duplicate key"},
      {with_request(R"("uid":"u","kind":{"kind":"Pod"},"operation":"CREATE","namespace":1)"),
       "request.namespace: expected a string, got a number"},
      {with_request(kBaseRequest + R"(,"userInfo":{"groups":"admins"})"),
       "request.userInfo.groups: expected an array, got a string"},
      {with_request(kBaseRequest + R"(,"userInfo":{"groups":["a",1]})"),
       "request.userInfo.groups[1]: expected a string, got a number"},
      {with_request(kBaseRequest + R"(,"object":"pod")"), "request.object: expected an object or null, got a string"},
      {with_request(kBaseRequest + R"(,"object":{"spec":[]})"), "spec: expected an object, got an array"},
      // The stored old object keeps the AdmissionReview's path: nobody wrote it in a manifest.
      {with_request(kBaseRequest + R"(,"object":{},"oldObject":{"spec":[]})"),
       "request.oldObject.spec: expected an object, got an array"},
      {pod_request_with_spec(R"({"containers":"nginx"})"), "spec.containers: expected an array, got a string"},
      {pod_request_with_spec(R"({"initContainers":{}})"),
       "spec.initContainers: expected an array, got an object"},
      {pod_request_with_spec(R"({"ephemeralContainers":1})"),
       "spec.ephemeralContainers: expected an array, got a number"},
      {pod_request_with_spec(R"({"containers":["nginx"]})"),
       "spec.containers[0]: expected an object, got a string"},
      {pod_request_with_spec(R"({"containers":[{"name":"a"},{"name":"b","securityContext":{"privileged":"true"}}]})"),
       "spec.containers[1].securityContext.privileged: expected a boolean, got a string"},
      {pod_request_with_spec(R"({"containers":[{"name":"a","securityContext":true}]})"),
       "spec.containers[0].securityContext: expected an object, got a boolean"},
      {pod_request_with_spec(R"({"containers":[{"name":["a"]}]})"),
       "spec.containers[0].name: expected a string, got an array"},
      {pod_request_with_spec(R"({"containers":[{"name":"a","volumeMounts":{"name":"x"}}]})"),
       "spec.containers[0].volumeMounts: expected an array, got an object"},
      {pod_request_with_spec(R"({"containers":[{"name":"a","volumeMounts":[{"name":1}]}]})"),
       "spec.containers[0].volumeMounts[0].name: expected a string, got a number"},
      {pod_request_with_spec(R"({"volumes":{"name":"x"}})"), "spec.volumes: expected an array, got an object"},
      {pod_request_with_spec(R"({"volumes":[{"name":"x","hostPath":"/run"}]})"),
       "spec.volumes[0].hostPath: expected an object, got a string"},
      {pod_request_with_spec(R"({"volumes":[{"name":"x","hostPath":{"path":["/run"]}}]})"),
       "spec.volumes[0].hostPath.path: expected a string, got an array"},
      {pod_request_with_spec(R"({"volumes":[{"name":"x","image":{"reference":3}}]})"),
       "spec.volumes[0].image.reference: expected a string, got a number"},
      {pod_request_with_spec(R"({"serviceAccountName":false})"),
       "spec.serviceAccountName: expected a string, got a boolean"},
      // Duplicate keys: another reader would keep the last one, so podgate refuses to guess.
      {pod_request_with_spec(R"({"containers":[],"containers":[{"name":"p","securityContext":{"privileged":true}}]})"),
       "spec.containers: duplicate key"},
      {with_request(kBaseRequest + R"(,"object":{"spec":{},"spec":{}})"), "spec: duplicate key"},
      {R"({"apiVersion":"admission.k8s.io/v1","apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{}})",
       "apiVersion: duplicate key"},
      {with_request(
           R"("uid":"u","kind":{"group":"batch","version":"v1","kind":"CronJob"},"resource":{"group":"batch","version":"v1","resource":"cronjobs"},"operation":"CREATE","object":{"spec":{"jobTemplate":"x"}})"),
       "spec.jobTemplate: expected an object, got a string"},
      {with_request(
           R"("uid":"u","kind":{"group":"","version":"v1","kind":"PodTemplate"},"resource":{"group":"","version":"v1","resource":"podtemplates"},"operation":"DELETE","oldObject":{"template":{"spec":{"volumes":7}}})"),
       "request.oldObject.template.spec.volumes: expected an array, got a number"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.body);
    const std::string msg = decode_error(c.body);
    CAPTURE(msg);
    CHECK(msg.rfind(c.expected, 0) == 0);
  }
}

TEST_CASE("decode refuses trailing garbage, NUL bytes and bad UTF-8", "[admission][errors]") {
  const std::string good = read_fixture("reviews/pod-privileged.json");
  REQUIRE(decode(good));
  CHECK(decode_error(good + "x").find("The document root must not be followed by other values") != std::string::npos);
  CHECK(decode_error(good + "{}").rfind("body is not valid JSON: ", 0) == 0);
  CHECK(decode_error(good + std::string(1, '\0') + "{}") ==
        "body is not valid JSON: NUL byte at offset " + std::to_string(good.size()));
  // Whitespace after the document is fine.
  CHECK(decode(good + "\n\t  \r\n"));
  CHECK(decode_error(with_request(R"("uid":"u)" + std::string("\xC3\x28") + R"(","kind":{"kind":"Pod"},"operation":"CREATE")"))
            .find("Invalid encoding") != std::string::npos);
  CHECK(decode_error(good.substr(0, good.size() / 2)).rfind("body is not valid JSON: ", 0) == 0);
}

// A multi-byte UTF-8 lead byte as the last byte of the body: RapidJSON's validator reads the
// continuation bytes it announces past the end of the buffer (heap-buffer-overflow under ASan;
// found by tests/fuzz/admission_review). decode_error hands decode() a copy, which is allocated at
// exactly its size, so the ASan build sees any byte read past it.
TEST_CASE("a body ending inside a multi-byte UTF-8 sequence is refused without reading past it", "[admission][errors]") {
  for (const std::string tail : {"\xF1", "\xF4\x8F", "\xE0", "\xED\x9F", "\xC3"}) {
    for (const std::string& head : {std::string("\"DaemonSetrequestxind"), with_request(R"("uid":"u)")}) {
      CHECK(decode_error(head + tail).rfind("body is not valid JSON: ", 0) == 0);
    }
  }
}

TEST_CASE("deeply nested JSON cannot exhaust the stack", "[admission][errors]") {
  constexpr std::size_t kDepth = 100000;
  SECTION("unterminated") {
    CHECK(decode_error(std::string(kDepth, '[')) == "body is not valid JSON: nested deeper than 512 levels at offset 512");
  }
  SECTION("well-formed, inside the request") {
    const std::string nested = std::string(kDepth, '[') + std::string(kDepth, ']');
    CHECK(decode_error(with_request(kBaseRequest + R"(,"options":)" + nested))
              .rfind("body is not valid JSON: nested deeper than 512 levels at offset ", 0) == 0);
  }
  SECTION("objects as the root") {
    std::string deep;
    for (std::size_t i = 0; i < kDepth; ++i) deep += "{\"a\":";
    deep += "1" + std::string(kDepth, '}');
    CHECK(decode_error(deep).rfind("body is not valid JSON: nested deeper than 512 levels", 0) == 0);
  }
  SECTION("up to 512 levels are accepted") {
    // The root object and request are two levels; options adds the rest.
    const std::string ok = std::string(510, '[') + std::string(510, ']');
    Review r = decode_ok(with_request(kBaseRequest + R"(,"object":{},"options":)" + ok));
    CHECK(r.request().uid == "u1");
    const std::string over = std::string(511, '[') + std::string(511, ']');
    CHECK(decode_error(with_request(kBaseRequest + R"(,"options":)" + over))
              .rfind("body is not valid JSON: nested deeper than 512 levels", 0) == 0);
  }
}

TEST_CASE("escaped keys and strings are decoded", "[admission]") {
  // "privil\u0065ged" is the key "privileged" to any JSON reader; podgate must read it too.
  Review r = decode_ok(pod_request_with_spec(
      R"({"contain\u0065rs":[{"name":"a\"b","image":"x\/y","securityContext":{"privil\u0065ged":true}}]})"));
  const auto& c = r.request().object.podSpec->containers.at(0);
  CHECK(c.name == "a\"b");
  CHECK(c.image == "x/y");
  CHECK(c.privileged == std::optional<bool>(true));
}

TEST_CASE("string views stay valid after the Review moves", "[admission]") {
  std::optional<Review> holder;
  {
    std::string body = read_fixture("reviews/deployment-docker-sock.json");
    DecodeResult result = decode(std::move(body));
    REQUIRE(result);
    holder.emplace(std::move(*result.review));
  }
  std::vector<Review> many;
  many.push_back(std::move(*holder));
  holder.reset();
  for (int i = 0; i < 20; ++i)
    many.push_back(decode_ok(read_fixture("reviews/pod-privileged.json")));  // forces reallocation
  Review moved = std::move(many.front());
  const Request& req = moved.request();
  CHECK(req.uid == "c1d2e3f4-a5b6-4c7d-8e9f-001122334455");
  CHECK(req.namespace_ == "ci");
  CHECK(req.object.name == "ci-runner");
  REQUIRE(req.object.podSpec);
  CHECK(req.object.podSpec->containers.at(0).name == "runner");
  CHECK(req.object.podSpec->containers.at(0).volumeMounts.at(0) == "docker-sock");
  CHECK(req.object.podSpec->volumes.at(0).hostPath->path == "/var/run//docker.sock");
  CHECK(req.object.podSpec->volumes.at(0).hostPath->type == "Socket");
  CHECK(req.userInfo.groups.at(1) == "platform-devs");

  Review assigned = decode_ok(read_fixture("reviews/pod-privileged.json"));
  assigned = std::move(moved);
  CHECK(assigned.request().object.name == "ci-runner");
}

TEST_CASE("encode produces exactly the AdmissionReview the apiserver accepts", "[admission][encode]") {
  SECTION("allowed: no status, no patch") {
    Response r;
    r.uid = "705ab4f5-6393-11e8-b7cc-42010a800002";
    CHECK(encode(r) ==
          R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"705ab4f5-6393-11e8-b7cc-42010a800002","allowed":true}})");
  }
  SECTION("denied with status, warnings and audit annotations") {
    Response r;
    r.uid = "u-1";
    r.allowed = false;
    r.code = 403;
    r.reason = "Forbidden";
    r.message = "podgate denied Pod default/x: container \"app\" is privileged";
    r.warnings = {"[podgate] warning: one", "two"};
    r.auditAnnotations = {{"decision", "denied"}, {"mode", "enforce"}};
    CHECK(encode(r) ==
          R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"u-1","allowed":false,)"
          R"("status":{"code":403,"reason":"Forbidden","message":"podgate denied Pod default/x: container \"app\" is privileged"},)"
          R"("warnings":["[podgate] warning: one","two"],"auditAnnotations":{"decision":"denied","mode":"enforce"}}})");
  }
  SECTION("allowed with warnings never carries a status") {
    Response r;
    r.uid = "u";
    r.message = "ignored when allowed";
    r.warnings = {"w"};
    CHECK(encode(r) ==
          R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"u","allowed":true,"warnings":["w"]}})");
  }
  SECTION("escaping") {
    Response r;
    r.uid = "a\"b\\c";
    r.allowed = false;
    r.code = 403;
    r.message = std::string("line1\nline2\ttab \x01 </script> \xE2\x80\xA6") + std::string(1, '\0') + "end";
    r.auditAnnotations = {{"k", "{\"json\":[1]}"}};
    const std::string out = encode(r);
    CHECK(out.find(R"("uid":"a\"b\\c")") != std::string::npos);
    CHECK(out.find(R"(line1\nline2\ttab \u0001 </script> )"
                   "\xE2\x80\xA6"
                   R"(\u0000end)") != std::string::npos);
    rapidjson::Document doc;
    doc.Parse(out.c_str(), out.size());
    REQUIRE_FALSE(doc.HasParseError());
    CHECK(std::string(doc["response"]["uid"].GetString()) == r.uid);
    CHECK(std::string(doc["response"]["status"]["message"].GetString(),
                      doc["response"]["status"]["message"].GetStringLength()) == r.message);
    CHECK(std::string(doc["response"]["auditAnnotations"]["k"].GetString()) == "{\"json\":[1]}");
    CHECK_FALSE(doc["response"].HasMember("patch"));
    CHECK_FALSE(doc["response"].HasMember("patchType"));
  }
  SECTION("the uid of a decoded review is echoed byte for byte") {
    Review review = decode_ok(with_request(R"("uid":"\u00e9t\u00e9-42","kind":{"kind":"Pod"},"resource":{"resource":"pods"},"operation":"CREATE","object":{})"));
    Response r;
    r.uid = std::string(review.request().uid);
    const std::string out = encode(r);
    rapidjson::Document doc;
    doc.Parse(out.c_str());
    REQUIRE_FALSE(doc.HasParseError());
    CHECK(std::string(doc["response"]["uid"].GetString()) == "\xC3\xA9t\xC3\xA9-42");
  }
}

TEST_CASE("names of operations and container lists", "[admission]") {
  CHECK(std::string(field_name(ContainerList::Init)) == "initContainers");
  CHECK(std::string(field_name(ContainerList::Regular)) == "containers");
  CHECK(std::string(field_name(ContainerList::Ephemeral)) == "ephemeralContainers");
  CHECK(std::string(to_string(Operation::Connect)) == "CONNECT");
}
