// The decoder's reading of what the Pod Security Standards judge (admission.h: PodSecurity,
// ContainerSecurity, Volume::sources): every field for a Pod, every workload's template, and the
// ephemeralcontainers subresource; null as absent; wrong types and duplicate keys refused with the
// field named.

#include <catch2/catch.hpp>

#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "admission/admission.h"
#include "unit/review_json.h"

using namespace podgate::admission;
using namespace podgate::testing;
using Catch::Matchers::Contains;
using Catch::Matchers::Equals;

namespace {

Review decode_ok(const std::string& body) {
  DecodeResult r = decode(body);
  INFO((r.error ? r.error->message : std::string()));
  REQUIRE(r);
  return std::move(*r.review);
}

std::string decode_error(const std::string& body) {
  DecodeResult r = decode(body);
  REQUIRE_FALSE(r);
  REQUIRE(r.error);
  CHECK(r.error->message.find('\n') == std::string::npos);
  return r.error->message;
}

// The object of kind `k` carrying `podSpec`, with `podMeta` (members of a metadata object) as the
// pod's metadata (the Pod's own, or the template's), and annotations of its own on a workload that
// must not be read as the pod's.
std::string wrap(const WorkloadKind& k, const std::string& podSpec, const std::string& podMeta) {
  const std::string head = R"({"apiVersion":")" + api_version(k) + R"(","kind":")" + k.kind + R"(",)";
  const std::string tmpl = R"({"metadata":{)" + podMeta + R"(},"spec":)" + podSpec + "}";
  const std::string ownMeta =
      R"("metadata":{"name":"web","namespace":"default","annotations":{"deployment.kubernetes.io/revision":"3"}},)";
  if (k.kind == "Pod") return head + R"("metadata":{"name":"web",)" + podMeta + R"(},"spec":)" + podSpec + "}";
  if (k.kind == "PodTemplate") return head + ownMeta + R"("template":)" + tmpl + "}";
  if (k.kind == "CronJob") return head + ownMeta + R"("spec":{"jobTemplate":{"spec":{"template":)" + tmpl + "}}}}";
  return head + ownMeta + R"("spec":{"replicas":1,"template":)" + tmpl + "}}";
}

std::string create(const WorkloadKind& k, const std::string& podSpec, const std::string& podMeta = R"("labels":{})") {
  ReviewOptions o;
  o.object = wrap(k, podSpec, podMeta);
  return review_json(k, o);
}

const WorkloadKind& kind_named(const std::string& kind) {
  for (const auto& k : workload_kinds())
    if (k.kind == kind) return k;
  throw std::runtime_error("no kind " + kind);
}

// Every field the standards read, set, in a container of each list.
const std::string kContainerFields =
    R"("securityContext":{"privileged":false,"capabilities":{"add":["NET_ADMIN","SYS_TIME"],"drop":["ALL"]},)"
    R"("allowPrivilegeEscalation":true,"procMount":"Unmasked","seccompProfile":{"type":"Unconfined"},)"
    R"("appArmorProfile":{"type":"Localhost","localhostProfile":"p"},)"
    R"("seLinuxOptions":{"type":"spc_t","user":"sysadm_u","role":"sysadm_r","level":"s0"},)"
    R"("runAsNonRoot":false,"runAsUser":0,"windowsOptions":{"hostProcess":false}},)"
    R"("ports":[{"containerPort":80},{"containerPort":8080,"hostPort":0},{"containerPort":53,"hostPort":53,"protocol":"UDP"},{"hostPort":9100}],)"
    R"("livenessProbe":{"httpGet":{"host":"169.254.169.254","path":"/"},"tcpSocket":{"host":"10.0.0.1","port":1}},)"
    R"("readinessProbe":{"httpGet":{"host":"","port":80}},)"
    R"("startupProbe":{"tcpSocket":{"host":"127.0.0.1","port":10250}},)"
    R"("lifecycle":{"postStart":{"httpGet":{"host":"kubelet","port":10250}},"preStop":{"tcpSocket":{"host":"node"},"exec":{"command":["x"]}}})";

const std::string kPodFields =
    R"("hostNetwork":true,"hostPID":true,"hostIPC":false,"hostUsers":false,"os":{"name":"linux"},)"
    R"("securityContext":{"seccompProfile":{"type":"RuntimeDefault"},"appArmorProfile":{"type":"Unconfined"},)"
    R"("seLinuxOptions":{"type":"container_t"},"runAsNonRoot":true,"runAsUser":1000,"fsGroup":2000,)"
    R"("sysctls":[{"name":"kernel.shm_rmid_forced","value":"1"},{"name":"net.core.somaxconn","value":"1024"}],)"
    R"("windowsOptions":{"hostProcess":true}},)"
    R"("volumes":[{"name":"a","hostPath":{"path":"/"}},{"name":"b","configMap":{"name":"c"}},)"
    R"({"secret":{"secretName":"s"},"name":"c"},{"name":"d","projected":{"sources":[]},"csi":{"driver":"x"}},{"name":"e"}])";

const std::string kPodAnnotations =
    R"("annotations":{"seccomp.security.alpha.kubernetes.io/pod":"unconfined",)"
    R"("container.apparmor.security.beta.kubernetes.io/app":"unconfined","note":""})";

void check_container(const Container& c) {
  INFO(field_name(c.list) << "[" << c.index << "]");
  CHECK(c.privileged == std::optional<bool>(false));
  CHECK(c.hostProcess == std::optional<bool>(false));
  const ContainerSecurity& s = c.security;
  CHECK(s.capabilitiesAdd == std::vector<std::string_view>{"NET_ADMIN", "SYS_TIME"});
  CHECK(s.capabilitiesDrop == std::vector<std::string_view>{"ALL"});
  CHECK(s.allowPrivilegeEscalation == std::optional<bool>(true));
  CHECK(s.procMount == std::optional<std::string_view>("Unmasked"));
  CHECK(s.seccompProfileType == std::optional<std::string_view>("Unconfined"));
  CHECK(s.appArmorProfileType == std::optional<std::string_view>("Localhost"));
  REQUIRE(s.seLinuxOptions);
  CHECK(s.seLinuxOptions->type == "spc_t");
  CHECK(s.seLinuxOptions->user == "sysadm_u");
  CHECK(s.seLinuxOptions->role == "sysadm_r");
  CHECK(s.runAsNonRoot == std::optional<bool>(false));
  CHECK(s.runAsUser == std::optional<std::int64_t>(0));
  CHECK(s.hostPorts == std::vector<std::int64_t>{53, 9100});
  // liveness (httpGet, tcpSocket), readiness (empty host: left out), startup, postStart, preStop.
  CHECK(s.probeHosts == std::vector<std::string_view>{"169.254.169.254", "10.0.0.1", "127.0.0.1", "kubelet", "node"});
}

void check_pod(const PodSpec& spec) {
  const PodSecurity& s = spec.security;
  CHECK(s.hostNetwork == std::optional<bool>(true));
  CHECK(s.hostPID == std::optional<bool>(true));
  CHECK(s.hostIPC == std::optional<bool>(false));
  CHECK(s.hostUsers == std::optional<bool>(false));
  CHECK(s.osName == "linux");
  CHECK(s.seccompProfileType == std::optional<std::string_view>("RuntimeDefault"));
  CHECK(s.appArmorProfileType == std::optional<std::string_view>("Unconfined"));
  REQUIRE(s.seLinuxOptions);
  CHECK(s.seLinuxOptions->type == "container_t");
  CHECK(s.seLinuxOptions->user.empty());
  CHECK(s.seLinuxOptions->role.empty());
  CHECK(s.runAsNonRoot == std::optional<bool>(true));
  CHECK(s.runAsUser == std::optional<std::int64_t>(1000));
  CHECK(s.sysctls == std::vector<std::string_view>{"kernel.shm_rmid_forced", "net.core.somaxconn"});
  CHECK(spec.hostProcess == std::optional<bool>(true));
  using Pair = std::pair<std::string_view, std::string_view>;
  CHECK(s.annotations == std::vector<Pair>{{"seccomp.security.alpha.kubernetes.io/pod", "unconfined"},
                                           {"container.apparmor.security.beta.kubernetes.io/app", "unconfined"},
                                           {"note", ""}});
  REQUIRE(spec.volumes.size() == 5);
  CHECK(spec.volumes[0].sources == std::vector<std::string_view>{"hostPath"});
  CHECK(spec.volumes[1].sources == std::vector<std::string_view>{"configMap"});
  CHECK(spec.volumes[2].sources == std::vector<std::string_view>{"secret"});
  CHECK(spec.volumes[2].name == "c");
  CHECK(spec.volumes[3].sources == std::vector<std::string_view>{"projected", "csi"});
  CHECK(spec.volumes[4].sources.empty());
}

void check_unset(const PodSpec& spec) {
  const PodSecurity& s = spec.security;
  CHECK_FALSE(s.hostNetwork);
  CHECK_FALSE(s.hostPID);
  CHECK_FALSE(s.hostIPC);
  CHECK_FALSE(s.hostUsers);
  CHECK(s.osName.empty());
  CHECK_FALSE(s.seccompProfileType);
  CHECK_FALSE(s.appArmorProfileType);
  CHECK_FALSE(s.seLinuxOptions);
  CHECK_FALSE(s.runAsNonRoot);
  CHECK_FALSE(s.runAsUser);
  CHECK(s.sysctls.empty());
  CHECK(s.annotations.empty());
  for (const Container& c : spec.containers) {
    const ContainerSecurity& cs = c.security;
    CHECK_FALSE(c.privileged);
    CHECK(cs.capabilitiesAdd.empty());
    CHECK(cs.capabilitiesDrop.empty());
    CHECK_FALSE(cs.allowPrivilegeEscalation);
    CHECK_FALSE(cs.procMount);
    CHECK_FALSE(cs.seccompProfileType);
    CHECK_FALSE(cs.appArmorProfileType);
    CHECK_FALSE(cs.seLinuxOptions);
    CHECK_FALSE(cs.runAsNonRoot);
    CHECK_FALSE(cs.runAsUser);
    CHECK(cs.hostPorts.empty());
    CHECK(cs.probeHosts.empty());
  }
  for (const Volume& v : spec.volumes) CHECK(v.sources.empty());
}

std::string full_spec() {
  return pod_spec({list("initContainers", {container("init", "busybox", kContainerFields)}),
                   list("containers", {container("app", "nginx", kContainerFields)}),
                   list("ephemeralContainers", {container("debug", "busybox", kContainerFields)}), kPodFields});
}

}  // namespace

TEST_CASE("every Pod Security field is read, for every kind, from the pod's own metadata and spec", "[admission][podsecurity]") {
  for (const WorkloadKind& k : workload_kinds()) {
    INFO(api_version(k) << " " << k.kind);
    Review r = decode_ok(create(k, full_spec(), kPodAnnotations));
    const auto& spec = r.request().object.podSpec;
    REQUIRE(spec);
    CHECK(spec->fieldPath == k.specPath);
    REQUIRE(spec->containers.size() == 3);
    CHECK(spec->containers[0].list == ContainerList::Init);
    CHECK(spec->containers[1].list == ContainerList::Regular);
    CHECK(spec->containers[2].list == ContainerList::Ephemeral);
    for (const Container& c : spec->containers) check_container(c);
    check_pod(*spec);
  }
}

TEST_CASE("a workload's own annotations are not the pod's", "[admission][podsecurity]") {
  for (const char* kind : {"Deployment", "CronJob", "PodTemplate"}) {
    INFO(kind);
    Review r = decode_ok(create(kind_named(kind), pod_spec({list("containers", {container("a", "b")})})));
    REQUIRE(r.request().object.podSpec);
    CHECK(r.request().object.podSpec->security.annotations.empty());
  }
}

TEST_CASE("ephemeral containers: the subresource's Pod and the legacy object", "[admission][podsecurity]") {
  SECTION("pods/ephemeralcontainers: the whole Pod, old and new") {
    const std::string debugger = container("debugger", "busybox", kContainerFields);
    Review r = decode_ok(debug_review({list("containers", {container("app", "nginx")}), kPodFields}, {debugger}));
    const auto& spec = r.request().object.podSpec;
    REQUIRE(spec);
    REQUIRE(spec->containers.size() == 2);
    CHECK(spec->containers[1].list == ContainerList::Ephemeral);
    check_container(spec->containers[1]);
    CHECK(spec->containers[0].security.probeHosts.empty());
    CHECK(spec->security.hostPID == std::optional<bool>(true));
    CHECK(spec->security.sysctls.size() == 2);
    REQUIRE(r.request().oldObject.podSpec);
    CHECK(r.request().oldObject.podSpec->security.hostNetwork == std::optional<bool>(true));
  }
  SECTION("the legacy EphemeralContainers object: its metadata is the pod's") {
    const std::string body = R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u",)"
                             R"("kind":{"kind":"EphemeralContainers"},"resource":{"resource":"pods"},)"
                             R"("subResource":"ephemeralcontainers","operation":"UPDATE","object":{"metadata":{"name":"web",)" +
                             kPodAnnotations + R"(},"ephemeralContainers":[)" +
                             container("debugger", "busybox", kContainerFields) + "]}}}";
    Review r = decode_ok(body);
    const auto& spec = r.request().object.podSpec;
    REQUIRE(spec);
    REQUIRE(spec->containers.size() == 1);
    check_container(spec->containers[0]);
    CHECK(spec->security.annotations.size() == 3);
  }
}

TEST_CASE("absent, empty and null Pod Security fields are unset", "[admission][podsecurity]") {
  SECTION("absent") {
    Review r = decode_ok(create(pod_kind(), pod_spec({list("containers", {container("a", "b")}),
                                                      list("volumes", {R"({"name":"v"})"})})));
    check_unset(*r.request().object.podSpec);
  }
  SECTION("null, at every level") {
    const std::string c = container(
        "a", "b",
        R"("securityContext":{"privileged":null,"capabilities":{"add":null,"drop":null},"allowPrivilegeEscalation":null,)"
        R"("procMount":null,"seccompProfile":null,"appArmorProfile":null,"seLinuxOptions":null,"runAsNonRoot":null,)"
        R"("runAsUser":null},"ports":[null,{"hostPort":null}],"livenessProbe":{"httpGet":{"host":null},"tcpSocket":null},)"
        R"("readinessProbe":null,"startupProbe":null,"lifecycle":{"postStart":null,"preStop":{"httpGet":null}})");
    const std::string spec =
        pod_spec({list("containers", {c}), list("volumes", {R"({"name":"v","emptyDir":null,"hostPath":null})"}),
                  R"("hostNetwork":null,"hostPID":null,"hostIPC":null,"hostUsers":null,"os":null,)"
                  R"("securityContext":{"seccompProfile":null,"appArmorProfile":null,"seLinuxOptions":null,)"
                  R"("runAsNonRoot":null,"runAsUser":null,"sysctls":[null]})"});
    for (const char* kind : {"Pod", "Deployment", "CronJob"}) {
      INFO(kind);
      Review r = decode_ok(create(kind_named(kind), spec, R"("annotations":{"a":null})"));
      check_unset(*r.request().object.podSpec);
    }
    Review r = decode_ok(create(pod_kind(), pod_spec({list("containers", {container("a", "b")})}), R"("annotations":null)"));
    check_unset(*r.request().object.podSpec);
  }
  SECTION("a profile without a type, options without values, a sysctl without a name") {
    Review r = decode_ok(create(
        pod_kind(),
        pod_spec({list("containers", {container("a", "b", R"("securityContext":{"seccompProfile":{},"appArmorProfile":{"type":null},"seLinuxOptions":{},"capabilities":{}})")}),
                  R"("os":{},"securityContext":{"seLinuxOptions":{"level":"s0"},"sysctls":[{}]})"})));
    const PodSpec& spec = *r.request().object.podSpec;
    const ContainerSecurity& cs = spec.containers[0].security;
    CHECK(cs.seccompProfileType == std::optional<std::string_view>(""));
    CHECK(cs.appArmorProfileType == std::optional<std::string_view>(""));
    REQUIRE(cs.seLinuxOptions);
    CHECK(cs.seLinuxOptions->type.empty());
    CHECK(cs.capabilitiesAdd.empty());
    CHECK(spec.security.osName.empty());
    REQUIRE(spec.security.seLinuxOptions);
    // An unnamed sysctl is kept (as ""): no sysctl is allowed by that name, so it is judged.
    CHECK(spec.security.sysctls == std::vector<std::string_view>{""});
  }
}

TEST_CASE("the decoded views survive the Review's move", "[admission][podsecurity]") {
  std::optional<Review> kept;
  {
    Review r = decode_ok(create(kind_named("CronJob"), full_spec(), kPodAnnotations));
    kept.emplace(std::move(r));
  }
  const PodSpec& spec = *kept->request().object.podSpec;
  check_pod(spec);
  for (const Container& c : spec.containers) check_container(c);
}

TEST_CASE("a Pod Security field of the wrong type is refused, naming it", "[admission][podsecurity][errors]") {
  struct Case {
    std::string specMembers;     // members of the pod spec (a container "c" is added)
    std::string containerExtra;  // members of that container
    std::string field;           // the path below the pod spec
    std::string expected;        // "a boolean", ...
  };
  const std::vector<Case> cases{
      {R"("hostPID":"true")", "", "hostPID", "a boolean, got a string"},
      {R"("hostNetwork":1)", "", "hostNetwork", "a boolean, got a number"},
      {R"("hostIPC":[true])", "", "hostIPC", "a boolean, got an array"},
      {R"("hostUsers":"false")", "", "hostUsers", "a boolean, got a string"},
      {R"("os":"linux")", "", "os", "an object, got a string"},
      {R"("os":{"name":1})", "", "os.name", "a string, got a number"},
      {R"("securityContext":{"seccompProfile":"Unconfined"})", "", "securityContext.seccompProfile",
       "an object, got a string"},
      {R"("securityContext":{"seccompProfile":{"type":true}})", "", "securityContext.seccompProfile.type",
       "a string, got a boolean"},
      {R"("securityContext":{"appArmorProfile":{"type":0}})", "", "securityContext.appArmorProfile.type",
       "a string, got a number"},
      {R"("securityContext":{"seLinuxOptions":{"role":{}}})", "", "securityContext.seLinuxOptions.role",
       "a string, got an object"},
      {R"("securityContext":{"runAsNonRoot":"true"})", "", "securityContext.runAsNonRoot", "a boolean, got a string"},
      {R"("securityContext":{"runAsUser":"0"})", "", "securityContext.runAsUser", "an integer, got a string"},
      {R"("securityContext":{"runAsUser":0.5})", "", "securityContext.runAsUser", "an integer, got a number"},
      {R"("securityContext":{"runAsUser":1e3})", "", "securityContext.runAsUser", "an integer, got a number"},
      {R"("securityContext":{"runAsUser":18446744073709551615})", "", "securityContext.runAsUser",
       "an integer, got a number"},
      {R"("securityContext":{"sysctls":{"name":"x"}})", "", "securityContext.sysctls", "an array, got an object"},
      {R"("securityContext":{"sysctls":[{"name":"a"},"kernel.x"]})", "", "securityContext.sysctls[1]",
       "an object, got a string"},
      {R"("securityContext":{"sysctls":[{"name":false}]})", "", "securityContext.sysctls[0].name",
       "a string, got a boolean"},
      {R"("volumes":[{"name":"v","emptyDir":"yes"}])", "", "volumes[0].emptyDir", "an object, got a string"},
      {R"("volumes":[{"name":"v","nfs":[]}])", "", "volumes[0].nfs", "an object, got an array"},
      {"", R"("securityContext":{"capabilities":["SYS_ADMIN"]})", "containers[0].securityContext.capabilities",
       "an object, got an array"},
      {"", R"("securityContext":{"capabilities":{"add":"SYS_ADMIN"}})",
       "containers[0].securityContext.capabilities.add", "an array, got a string"},
      {"", R"("securityContext":{"capabilities":{"add":["NET_RAW",1]}})",
       "containers[0].securityContext.capabilities.add[1]", "a string, got a number"},
      {"", R"("securityContext":{"capabilities":{"drop":[null]}})",
       "containers[0].securityContext.capabilities.drop[0]", "a string, got null"},
      {"", R"("securityContext":{"allowPrivilegeEscalation":"false"})",
       "containers[0].securityContext.allowPrivilegeEscalation", "a boolean, got a string"},
      {"", R"("securityContext":{"procMount":true})", "containers[0].securityContext.procMount",
       "a string, got a boolean"},
      {"", R"("securityContext":{"seccompProfile":{"type":["Unconfined"]}})",
       "containers[0].securityContext.seccompProfile.type", "a string, got an array"},
      {"", R"("securityContext":{"appArmorProfile":true})", "containers[0].securityContext.appArmorProfile",
       "an object, got a boolean"},
      {"", R"("securityContext":{"seLinuxOptions":{"type":1}})", "containers[0].securityContext.seLinuxOptions.type",
       "a string, got a number"},
      {"", R"("securityContext":{"runAsNonRoot":0})", "containers[0].securityContext.runAsNonRoot",
       "a boolean, got a number"},
      {"", R"("securityContext":{"runAsUser":true})", "containers[0].securityContext.runAsUser",
       "an integer, got a boolean"},
      {"", R"("ports":{"hostPort":80})", "containers[0].ports", "an array, got an object"},
      {"", R"("ports":[80])", "containers[0].ports[0]", "an object, got a number"},
      {"", R"("ports":[{"hostPort":"80"}])", "containers[0].ports[0].hostPort", "an integer, got a string"},
      {"", R"("ports":[{"hostPort":80.5}])", "containers[0].ports[0].hostPort", "an integer, got a number"},
      {"", R"("livenessProbe":"http")", "containers[0].livenessProbe", "an object, got a string"},
      {"", R"("readinessProbe":{"httpGet":[]})", "containers[0].readinessProbe.httpGet", "an object, got an array"},
      {"", R"("startupProbe":{"tcpSocket":{"host":1}})", "containers[0].startupProbe.tcpSocket.host",
       "a string, got a number"},
      {"", R"("lifecycle":[])", "containers[0].lifecycle", "an object, got an array"},
      {"", R"("lifecycle":{"postStart":"x"})", "containers[0].lifecycle.postStart", "an object, got a string"},
      {"", R"("lifecycle":{"preStop":{"httpGet":{"host":false}}})", "containers[0].lifecycle.preStop.httpGet.host",
       "a string, got a boolean"},
  };
  for (const WorkloadKind* k : {&pod_kind(), &kind_named("Deployment"), &kind_named("CronJob")}) {
    for (const Case& c : cases) {
      INFO(k->kind << ": " << c.specMembers << c.containerExtra);
      std::vector<std::string> members{list("containers", {container("c", "i", c.containerExtra)})};
      if (!c.specMembers.empty()) members.push_back(c.specMembers);
      CHECK_THAT(decode_error(create(*k, pod_spec(members))),
                 Equals(k->specPath + "." + c.field + ": expected " + c.expected));
    }
  }
  SECTION("in init and ephemeral containers too") {
    const std::string bad = container("c", "i", R"("securityContext":{"capabilities":{"add":[true]}})");
    CHECK_THAT(decode_error(create(pod_kind(), pod_spec({list("initContainers", {bad})}))),
               Equals("spec.initContainers[0].securityContext.capabilities.add[0]: expected a string, got a boolean"));
    CHECK_THAT(decode_error(debug_review({list("containers", {container("app", "nginx")})}, {bad})),
               Equals("spec.ephemeralContainers[0].securityContext.capabilities.add[0]: expected a string, got a boolean"));
  }
  SECTION("annotations, in the pod's metadata") {
    const std::string spec = pod_spec({list("containers", {container("c", "i")})});
    CHECK_THAT(decode_error(create(pod_kind(), spec, R"("annotations":["a"])")),
               Equals("metadata.annotations: expected an object, got an array"));
    CHECK_THAT(decode_error(create(pod_kind(), spec, R"("annotations":{"seccomp.security.alpha.kubernetes.io/pod":1})")),
               Equals("metadata.annotations.seccomp.security.alpha.kubernetes.io/pod: expected a string, got a number"));
    CHECK_THAT(decode_error(create(kind_named("Deployment"), spec, R"("annotations":{"a":true})")),
               Equals("spec.template.metadata.annotations.a: expected a string, got a boolean"));
    CHECK_THAT(decode_error(create(kind_named("CronJob"), spec, R"("annotations":{"a":{}})")),
               Equals("spec.jobTemplate.spec.template.metadata.annotations.a: expected a string, got an object"));
    // A workload's template metadata of the wrong type.
    ReviewOptions o;
    o.object = R"({"metadata":{"name":"d"},"spec":{"template":{"metadata":"x","spec":)" + spec + "}}}";
    CHECK_THAT(decode_error(review_json(kind_named("Deployment"), o)),
               Equals("spec.template.metadata: expected an object, got a string"));
  }
}

TEST_CASE("a Pod Security field given twice is refused", "[admission][podsecurity][errors]") {
  const auto error_for = [](const std::string& specMembers, const std::string& containerExtra = "",
                            const std::string& meta = R"("labels":{})") {
    std::vector<std::string> members{list("containers", {container("c", "i", containerExtra)})};
    if (!specMembers.empty()) members.push_back(specMembers);
    return decode_error(create(kind_named("Deployment"), pod_spec(members), meta));
  };
  const std::string at = "spec.template.spec.";
  CHECK_THAT(error_for(R"("hostPID":false,"hostPID":true)"), Equals(at + "hostPID: duplicate key"));
  CHECK_THAT(error_for(R"("securityContext":{"sysctls":[],"sysctls":[{"name":"kernel.x"}]})"),
             Equals(at + "securityContext.sysctls: duplicate key"));
  CHECK_THAT(error_for(R"("securityContext":{"seccompProfile":{"type":"RuntimeDefault","type":"Unconfined"}})"),
             Equals(at + "securityContext.seccompProfile.type: duplicate key"));
  CHECK_THAT(error_for("", R"("securityContext":{"capabilities":{"add":[],"add":["SYS_ADMIN"]}})"),
             Equals(at + "containers[0].securityContext.capabilities.add: duplicate key"));
  CHECK_THAT(error_for("", R"("ports":[{"hostPort":0,"hostPort":22}])"),
             Equals(at + "containers[0].ports[0].hostPort: duplicate key"));
  CHECK_THAT(error_for("", R"("livenessProbe":{"httpGet":{"host":"","host":"10.0.0.1"}})"),
             Equals(at + "containers[0].livenessProbe.httpGet.host: duplicate key"));
  CHECK_THAT(error_for("", R"("lifecycle":{"preStop":{},"preStop":{"tcpSocket":{"host":"x"}}})"),
             Equals(at + "containers[0].lifecycle.preStop: duplicate key"));
  // Every member of a volume is read: a source given twice is refused, whichever it is.
  CHECK_THAT(error_for(R"("volumes":[{"name":"v","emptyDir":{},"emptyDir":{"medium":"Memory"}}])"),
             Equals(at + "volumes[0].emptyDir: duplicate key"));
  CHECK_THAT(error_for(R"("volumes":[{"name":"v","emptyDir":{},"nfs":{},"name":"w"}])"),
             Equals(at + "volumes[0].name: duplicate key"));
  // Annotations: a few (compared pairwise) and many (sorted).
  CHECK_THAT(error_for("", "", R"("annotations":{"seccomp.security.alpha.kubernetes.io/pod":"runtime/default","b":"","seccomp.security.alpha.kubernetes.io/pod":"unconfined"})"),
             Equals("spec.template.metadata.annotations.seccomp.security.alpha.kubernetes.io/pod: duplicate key"));
  std::string many = R"("annotations":{)";
  for (int i = 0; i < 40; ++i) many += "\"k" + std::to_string(i) + "\":\"v\",";
  CHECK_THAT(error_for("", "", many + R"("k17":"w"})"),
             Equals("spec.template.metadata.annotations.k17: duplicate key"));
  many += R"("last":"v"})";
  Review r = decode_ok(create(kind_named("Deployment"), pod_spec({list("containers", {container("c", "i")})}), many));
  CHECK(r.request().object.podSpec->security.annotations.size() == 41);
  CHECK_THAT(decode_error(create(pod_kind(), pod_spec({list("containers", {container("c", "i")})}),
                                 R"("annotations":{},"annotations":{"a":"b"})")),
             Equals("metadata.annotations: duplicate key"));
}
