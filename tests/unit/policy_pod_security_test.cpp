// rules.podSecurity: the Pod Security Standards' controls with PSA's semantics per version, the
// overrides at restricted, deny and warn, workload field paths, exemptions, UPDATE and the
// namespace labels. Most cases build an admission::PodSpec directly (the decoder's reading of the
// security fields is tested in admission_pod_security_test.cpp); one case judges JSON reviews end
// to end through the decoder.

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "judge.h"
#include "policy/policy.h"

using namespace podgate;
using admission::Container;
using admission::ContainerList;
using config::PodSecurityLevel;
using podgate::testing::contains;

namespace {

// A Pod (or a workload's pod template) under review, built field by field.
struct Pod {
  admission::Request request;
  explicit Pod(std::string fieldPath = "spec", std::string_view kind = "Pod") {
    request.uid = "uid-1";
    request.kind = {"", "v1", kind};
    request.requestKind = request.kind;
    request.resource = kind == "Pod" ? "pods" : "deployments";
    request.resourceGroup = kind == "Pod" ? "" : "apps";
    request.namespace_ = "team";
    request.name = "web";
    request.operation = admission::Operation::Create;
    request.userInfo.username = "alice";
    request.target = admission::Target::PodSpec;
    request.podBearing = true;
    request.object.name = "web";
    request.object.podSpec.emplace();
    spec().fieldPath = std::move(fieldPath);
  }
  admission::PodSpec& spec() { return *request.object.podSpec; }
  Container& add(std::string_view name, ContainerList list = ContainerList::Regular) {
    Container c;
    c.list = list;
    c.name = name;
    c.image = "registry.example.com/app:1";
    std::size_t index = 0;
    for (const auto& o : spec().containers) index += o.list == list;
    c.index = index;
    spec().containers.push_back(c);
    return spec().containers.back();
  }
  admission::Volume& volume(std::string_view name, std::vector<std::string_view> sources) {
    admission::Volume v;
    v.index = spec().volumes.size();
    v.name = name;
    v.sources = std::move(sources);
    spec().volumes.push_back(v);
    return spec().volumes.back();
  }
};

// A container that passes restricted at every version.
Container& restricted_container(Pod& pod, std::string_view name, ContainerList list = ContainerList::Regular) {
  Container& c = pod.add(name, list);
  c.security.allowPrivilegeEscalation = false;
  c.security.capabilitiesDrop = {"ALL"};
  c.security.runAsNonRoot = true;
  c.security.seccompProfileType = "RuntimeDefault";
  return c;
}

config::Config standards(PodSecurityLevel level, int minor = config::PodSecurityVersion::kLatest,
                         config::Action action = config::Action::Deny) {
  config::Config cfg;
  cfg.rules.podSecurity.level = level;
  cfg.rules.podSecurity.version.minor = minor;
  cfg.rules.podSecurity.action = action;
  return cfg;
}

policy::Verdict evaluate(const Pod& pod, const config::Config& cfg, const policy::NamespaceStandards* labels = nullptr) {
  const policy::Evaluator evaluator(cfg);
  policy::Facts facts;
  facts.namespaceStandards = labels;
  return evaluator.evaluate(pod.request, policy::Route::Validate, facts);
}

std::vector<const policy::Violation*> pod_security(const policy::Verdict& v) {
  std::vector<const policy::Violation*> out;
  for (const auto& x : v.violations)
    if (x.rule == "podSecurity") out.push_back(&x);
  return out;
}

// "control field" of every podSecurity violation, in order.
std::vector<std::string> found(const policy::Verdict& v) {
  std::vector<std::string> out;
  for (const auto* x : pod_security(v)) out.push_back(x->control + " " + x->fieldPath);
  return out;
}

std::vector<std::string> found_at(const Pod& pod, PodSecurityLevel level, int minor = -1) {
  return found(evaluate(pod, standards(level, minor)));
}

// The distinct controls found.
std::vector<std::string> control_ids(const policy::Verdict& v) {
  std::vector<std::string> out;
  for (const auto* x : pod_security(v))
    if (std::find(out.begin(), out.end(), x->control) == out.end()) out.push_back(x->control);
  return out;
}

using Strings = std::vector<std::string>;

}  // namespace

TEST_CASE("podSecurity is off by default and costs nothing then", "[policy][podSecurity]") {
  Pod pod;
  pod.add("app");
  pod.spec().security.hostPID = true;
  CHECK(found(evaluate(pod, config::Config{})).empty());
  CHECK(found_at(pod, PodSecurityLevel::Privileged).empty());
  CHECK(found_at(pod, PodSecurityLevel::Baseline) == Strings{"hostNamespaces spec.hostPID"});
}

TEST_CASE("baseline: each control, with its field, value and message", "[policy][podSecurity]") {
  Pod pod;
  Container& c = pod.add("app");
  const auto base = PodSecurityLevel::Baseline;
  REQUIRE(found_at(pod, base).empty());

  SECTION("privileged") {
    c.privileged = true;
    const auto v = evaluate(pod, standards(base));
    REQUIRE(pod_security(v).size() == 1);
    const auto& x = *pod_security(v)[0];
    CHECK(x.control == "privileged");
    CHECK(x.level == "baseline");
    CHECK(x.subject == "container \"app\"");
    CHECK(x.fieldPath == "spec.containers[0].securityContext.privileged");
    CHECK(x.value == "true");
    CHECK(v.decision == policy::Decision::Denied);
  }
  SECTION("capabilities_baseline: the message names the field and the fix") {
    c.security.capabilitiesAdd = {"NET_BIND_SERVICE", "SYS_ADMIN"};
    const auto v = evaluate(pod, standards(base));
    REQUIRE(pod_security(v).size() == 1);
    const auto& x = *pod_security(v)[0];
    CHECK(x.control == "capabilities_baseline");
    CHECK(x.fieldPath == "spec.containers[0].securityContext.capabilities.add");
    CHECK(x.value == "SYS_ADMIN");
    INFO(x.message);
    CHECK(contains(x.message, "container \"app\" sets spec.containers[0].securityContext.capabilities.add=["
                              "\"NET_BIND_SERVICE\", \"SYS_ADMIN\"]; baseline allows only the runtime's default "
                              "capabilities (AUDIT_WRITE, CHOWN"));
    CHECK(contains(x.message, "remove [\"SYS_ADMIN\"]"));
    CHECK(contains(x.message, "(Pod Security Standards baseline latest: capabilities_baseline)"));
    CHECK(contains(v.message, "podgate denied Pod team/web: container \"app\" sets"));
  }
  SECTION("capabilities_baseline allows the default set") {
    c.security.capabilitiesAdd = {"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
                                  "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"};
    CHECK(found_at(pod, base).empty());
    c.security.capabilitiesAdd = {"ALL"};
    CHECK(found_at(pod, base) == Strings{"capabilities_baseline spec.containers[0].securityContext.capabilities.add"});
  }
  SECTION("hostNamespaces: one violation per namespace") {
    pod.spec().security.hostNetwork = true;
    pod.spec().security.hostIPC = true;
    pod.spec().security.hostPID = false;
    CHECK(found_at(pod, base) == Strings{"hostNamespaces spec.hostNetwork", "hostNamespaces spec.hostIPC"});
  }
  SECTION("hostPathVolumes") {
    auto& v = pod.volume("logs", {"hostPath"});
    v.hostPath = admission::HostPathVolume{"/var/log", ""};
    pod.volume("cfg", {"configMap"});
    CHECK(found_at(pod, base) == Strings{"hostPathVolumes spec.volumes[0].hostPath"});
  }
  SECTION("hostPorts") {
    c.security.hostPorts = {8080, 9090};
    const auto v = evaluate(pod, standards(base));
    REQUIRE(pod_security(v).size() == 1);
    CHECK(pod_security(v)[0]->control == "hostPorts");
    CHECK(pod_security(v)[0]->value == "8080, 9090");
  }
  SECTION("appArmorProfile: fields and the deprecated annotation") {
    pod.spec().security.appArmorProfileType = "Localhost";
    c.security.appArmorProfileType = "RuntimeDefault";
    CHECK(found_at(pod, base).empty());
    c.security.appArmorProfileType = "Unconfined";
    pod.spec().security.appArmorProfileType = "";  // appArmorProfile without a type: refused, as PSA does
    pod.spec().security.annotations = {{"container.apparmor.security.beta.kubernetes.io/app", "unconfined"},
                                       {"container.apparmor.security.beta.kubernetes.io/b", "localhost/x"},
                                       {"container.apparmor.security.beta.kubernetes.io/c", "runtime/default"},
                                       {"container.apparmor.security.beta.kubernetes.io/d", ""}};
    CHECK(found_at(pod, base) ==
          Strings{"appArmorProfile spec.securityContext.appArmorProfile.type",
                  "appArmorProfile spec.containers[0].securityContext.appArmorProfile.type",
                  "appArmorProfile metadata.annotations[\"container.apparmor.security.beta.kubernetes.io/app\"]"});
  }
  SECTION("procMount") {
    c.security.procMount = "Default";
    CHECK(found_at(pod, base).empty());
    c.security.procMount = "Unmasked";
    CHECK(found_at(pod, base) == Strings{"procMount spec.containers[0].securityContext.procMount"});
    pod.spec().security.hostUsers = false;  // relaxPolicyForUserNamespacePods is off, as PSA's default
    CHECK(found_at(pod, base) == Strings{"procMount spec.containers[0].securityContext.procMount"});
  }
  SECTION("seLinuxOptions: type, user, role") {
    pod.spec().security.seLinuxOptions = admission::SELinuxOptions{"container_t", "", ""};
    c.security.seLinuxOptions = admission::SELinuxOptions{"", "", ""};
    CHECK(found_at(pod, base).empty());
    pod.spec().security.seLinuxOptions = admission::SELinuxOptions{"spc_t", "system_u", ""};
    c.security.seLinuxOptions = admission::SELinuxOptions{"container_init_t", "", "sysadm_r"};
    CHECK(found_at(pod, base) == Strings{"seLinuxOptions spec.securityContext.seLinuxOptions.type",
                                         "seLinuxOptions spec.securityContext.seLinuxOptions.user",
                                         "seLinuxOptions spec.containers[0].securityContext.seLinuxOptions.role"});
  }
  SECTION("seccompProfile_baseline: fields") {
    pod.spec().security.seccompProfileType = "Localhost";
    c.security.seccompProfileType = "RuntimeDefault";
    CHECK(found_at(pod, base).empty());
    c.security.seccompProfileType = "Unconfined";
    CHECK(found_at(pod, base) == Strings{"seccompProfile_baseline spec.containers[0].securityContext.seccompProfile.type"});
  }
  SECTION("sysctls") {
    pod.spec().security.sysctls = {"net.ipv4.tcp_syncookies", "kernel.msgmax", "net.ipv4.tcp_rmem"};
    CHECK(found_at(pod, base) == Strings{"sysctls spec.securityContext.sysctls[1].name"});
  }
  SECTION("windowsHostProcess: pod and container") {
    pod.spec().hostProcess = true;
    c.hostProcess = true;
    CHECK(found_at(pod, base) == Strings{"windowsHostProcess spec.securityContext.windowsOptions.hostProcess",
                                         "windowsHostProcess spec.containers[0].securityContext.windowsOptions.hostProcess"});
  }
  SECTION("hostProbesAndHostLifecycle") {
    c.security.probeHosts = {"169.254.169.254"};
    const auto v = evaluate(pod, standards(base));
    REQUIRE(pod_security(v).size() == 1);
    CHECK(pod_security(v)[0]->control == "hostProbesAndHostLifecycle");
    CHECK(pod_security(v)[0]->value == "169.254.169.254");
  }
  SECTION("init and ephemeral containers are judged too") {
    Container& init = pod.add("setup", ContainerList::Init);
    init.security.procMount = "Unmasked";
    Container& debug = pod.add("debug", ContainerList::Ephemeral);
    debug.privileged = true;
    const auto v = evaluate(pod, standards(base));
    CHECK(found(v) == Strings{"privileged spec.ephemeralContainers[0].securityContext.privileged",
                              "procMount spec.initContainers[0].securityContext.procMount"});
    CHECK(pod_security(v)[1]->subject == "init container \"setup\"");
  }
}

TEST_CASE("baseline does not run the restricted controls", "[policy][podSecurity]") {
  Pod pod;
  Container& c = pod.add("app");
  c.security.runAsUser = 0;
  c.security.capabilitiesAdd = {"NET_BIND_SERVICE"};
  pod.volume("nfs", {"nfs"});
  CHECK(found_at(pod, PodSecurityLevel::Baseline).empty());
  const auto ids = control_ids(evaluate(pod, standards(PodSecurityLevel::Restricted)));
  CHECK(ids == Strings{"allowPrivilegeEscalation", "capabilities_restricted", "restrictedVolumes", "runAsNonRoot",
                       "runAsUser", "seccompProfile_restricted"});
}

TEST_CASE("restricted: each control", "[policy][podSecurity]") {
  Pod pod;
  Container& c = restricted_container(pod, "app");
  const auto r = PodSecurityLevel::Restricted;
  REQUIRE(found_at(pod, r).empty());

  SECTION("allowPrivilegeEscalation: unset or true") {
    c.security.allowPrivilegeEscalation.reset();
    CHECK(found_at(pod, r) == Strings{"allowPrivilegeEscalation spec.containers[0].securityContext.allowPrivilegeEscalation"});
    c.security.allowPrivilegeEscalation = true;
    CHECK(pod_security(evaluate(pod, standards(r)))[0]->value == "true");
  }
  SECTION("capabilities_restricted: drop ALL, add only NET_BIND_SERVICE") {
    c.security.capabilitiesAdd = {"NET_BIND_SERVICE"};
    CHECK(found_at(pod, r).empty());
    c.security.capabilitiesDrop = {"NET_RAW", "all"};  // PSA compares "ALL" exactly
    c.security.capabilitiesAdd = {"NET_BIND_SERVICE", "CHOWN"};
    CHECK(found_at(pod, r) == Strings{"capabilities_restricted spec.containers[0].securityContext.capabilities.drop",
                                      "capabilities_restricted spec.containers[0].securityContext.capabilities.add"});
  }
  SECTION("restrictedVolumes: the allowed types, the implicit emptyDir, anything else") {
    for (std::string_view s : {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "image",
                               "persistentVolumeClaim", "projected", "secret"})
      pod.volume("ok", {s});
    pod.volume("none", {});  // no source: the apiserver makes it an emptyDir (PSA's restrictedvolumes0)
    CHECK(found_at(pod, r).empty());
    pod.volume("share", {"nfs"});
    pod.volume("odd", {"futureVolume"});  // unknown to PSA's types: refused, podgate is stricter here
    auto& hp = pod.volume("host", {"hostPath"});
    hp.hostPath = admission::HostPathVolume{"/etc", ""};
    pod.volume("both", {"nfs", "secret"});  // PSA passes a volume with any allowed member
    const auto v = evaluate(pod, standards(r));
    CHECK(found(v) == Strings{"restrictedVolumes spec.volumes[10]", "restrictedVolumes spec.volumes[11]",
                              "restrictedVolumes spec.volumes[12]"});
    std::vector<std::string> values;
    for (const auto* x : pod_security(v)) values.push_back(x->value);
    CHECK(values == Strings{"nfs", "unknown", "hostPath"});
  }
  SECTION("runAsNonRoot: the pod's true covers containers; an explicit false anywhere is refused") {
    c.security.runAsNonRoot.reset();
    CHECK(found_at(pod, r) == Strings{"runAsNonRoot spec.containers[0].securityContext.runAsNonRoot"});
    pod.spec().security.runAsNonRoot = true;
    CHECK(found_at(pod, r).empty());
    c.security.runAsNonRoot = false;
    CHECK(found_at(pod, r) == Strings{"runAsNonRoot spec.containers[0].securityContext.runAsNonRoot"});
    c.security.runAsNonRoot = true;
    pod.spec().security.runAsNonRoot = false;
    CHECK(found_at(pod, r) == Strings{"runAsNonRoot spec.securityContext.runAsNonRoot"});
  }
  SECTION("runAsUser: 0 refused at pod and container level, from v1.23") {
    pod.spec().security.runAsUser = 0;
    c.security.runAsUser = 0;
    CHECK(found_at(pod, r) == Strings{"runAsUser spec.securityContext.runAsUser",
                                      "runAsUser spec.containers[0].securityContext.runAsUser"});
    CHECK(found_at(pod, r, 23).size() == 2);
    CHECK(found_at(pod, r, 22).empty());
    c.security.runAsUser = 1000;
    pod.spec().security.runAsUser = 1000;
    CHECK(found_at(pod, r).empty());
  }
  SECTION("seccompProfile_restricted: the pod's valid profile covers containers") {
    c.security.seccompProfileType.reset();
    CHECK(found_at(pod, r) == Strings{"seccompProfile_restricted spec.containers[0].securityContext.seccompProfile.type"});
    pod.spec().security.seccompProfileType = "Localhost";
    CHECK(found_at(pod, r).empty());
    pod.spec().security.seccompProfileType = "Unconfined";
    CHECK(found_at(pod, r) == Strings{"seccompProfile_restricted spec.securityContext.seccompProfile.type",
                                      "seccompProfile_restricted spec.containers[0].securityContext.seccompProfile.type"});
    pod.spec().security.seccompProfileType = "RuntimeDefault";
    c.security.seccompProfileType = "Unconfined";
    CHECK(found_at(pod, r) == Strings{"seccompProfile_restricted spec.containers[0].securityContext.seccompProfile.type"});
  }
}

TEST_CASE("restricted overrides: the restricted control replaces the baseline one where it runs",
          "[policy][podSecurity]") {
  const auto r = PodSecurityLevel::Restricted;
  SECTION("capabilities: baseline's check before v1.22, restricted's from v1.22") {
    Pod pod;
    Container& c = restricted_container(pod, "app");
    c.security.capabilitiesAdd = {"SYS_ADMIN"};
    CHECK(control_ids(evaluate(pod, standards(r, 21))) == Strings{"capabilities_baseline"});
    CHECK(control_ids(evaluate(pod, standards(r, 22))) == Strings{"capabilities_restricted"});
    CHECK(control_ids(evaluate(pod, standards(r))) == Strings{"capabilities_restricted"});
  }
  SECTION("seccomp: the annotations before v1.19 (baseline's check), the fields after") {
    Pod pod;
    Container& c = restricted_container(pod, "app");
    c.security.seccompProfileType = "Unconfined";
    pod.spec().security.annotations = {{"seccomp.security.alpha.kubernetes.io/pod", "unconfined"}};
    CHECK(found_at(pod, r, 18) == Strings{"seccompProfile_baseline metadata.annotations[\"seccomp.security.alpha.kubernetes.io/pod\"]"});
    CHECK(found_at(pod, r, 19) == Strings{"seccompProfile_restricted spec.containers[0].securityContext.seccompProfile.type"});
  }
  SECTION("volumes: restrictedVolumes replaces hostPathVolumes at every version") {
    Pod pod;
    restricted_container(pod, "app");
    auto& v = pod.volume("host", {"hostPath"});
    v.hostPath = admission::HostPathVolume{"/", ""};
    CHECK(found_at(pod, r, 0) == Strings{"restrictedVolumes spec.volumes[0]"});
    CHECK(found_at(pod, PodSecurityLevel::Baseline, 0) == Strings{"hostPathVolumes spec.volumes[0].hostPath"});
  }
}

TEST_CASE("version boundaries", "[policy][podSecurity]") {
  const auto base = PodSecurityLevel::Baseline;
  const auto r = PodSecurityLevel::Restricted;
  SECTION("sysctls: the safe set grows at v1.27, v1.29 and v1.32") {
    const struct {
      std::string_view name;
      int since;
    } rows[] = {{"kernel.shm_rmid_forced", 0},        {"net.ipv4.ip_unprivileged_port_start", 0},
                {"net.ipv4.ip_local_reserved_ports", 27}, {"net.ipv4.tcp_keepalive_time", 29},
                {"net.ipv4.tcp_fin_timeout", 29},     {"net.ipv4.tcp_keepalive_intvl", 29},
                {"net.ipv4.tcp_keepalive_probes", 29}, {"net.ipv4.tcp_rmem", 32},
                {"net.ipv4.tcp_wmem", 32}};
    for (const auto& row : rows) {
      Pod pod;
      pod.add("app");
      pod.spec().security.sysctls = {row.name};
      INFO(row.name);
      if (row.since > 0) CHECK(found_at(pod, base, row.since - 1).size() == 1);
      CHECK(found_at(pod, base, row.since).empty());
      CHECK(found_at(pod, base).empty());
    }
  }
  SECTION("seLinuxOptions: container_engine_t from v1.31") {
    Pod pod;
    pod.add("app").security.seLinuxOptions = admission::SELinuxOptions{"container_engine_t", "", ""};
    CHECK(found_at(pod, base, 30).size() == 1);
    CHECK(found_at(pod, base, 31).empty());
  }
  SECTION("seccompProfile_baseline: annotations up to v1.18, fields from v1.19") {
    Pod pod;
    Container& c = pod.add("app");
    pod.spec().security.annotations = {{"container.seccomp.security.alpha.kubernetes.io/app", "unconfined"},
                                       {"container.seccomp.security.alpha.kubernetes.io/other", "unconfined"},
                                       {"seccomp.security.alpha.kubernetes.io/pod", "docker/default"}};
    // Only the annotation naming an existing container counts.
    CHECK(found_at(pod, base, 18) == Strings{"seccompProfile_baseline metadata.annotations[\"container.seccomp.security.alpha.kubernetes.io/app\"]"});
    CHECK(found_at(pod, base, 19).empty());
    c.security.seccompProfileType = "Unconfined";
    CHECK(found_at(pod, base, 18).size() == 1);  // the field is not read before v1.19
    CHECK(found_at(pod, base, 19) == Strings{"seccompProfile_baseline spec.containers[0].securityContext.seccompProfile.type"});
    pod.spec().security.annotations = {{"seccomp.security.alpha.kubernetes.io/pod", ""}};
    CHECK(found_at(pod, base, 0).size() == 1);  // an empty annotation is not an allowed value
  }
  SECTION("capabilities_restricted and seccompProfile_restricted: a windows pod is exempt from v1.25") {
    Pod pod;
    pod.add("app").security.allowPrivilegeEscalation = false;
    pod.spec().security.runAsNonRoot = true;
    pod.spec().security.osName = "windows";
    CHECK(control_ids(evaluate(pod, standards(r, 24))) == Strings{"capabilities_restricted", "seccompProfile_restricted"});
    CHECK(found_at(pod, r, 25).empty());
    pod.spec().security.osName = "linux";
    CHECK(control_ids(evaluate(pod, standards(r, 25))) == Strings{"capabilities_restricted", "seccompProfile_restricted"});
  }
  SECTION("allowPrivilegeEscalation: from v1.8, and a windows pod is exempt from v1.25") {
    Pod pod;
    Container& c = restricted_container(pod, "app");
    c.security.allowPrivilegeEscalation.reset();
    CHECK(found_at(pod, r, 7).empty());
    CHECK(control_ids(evaluate(pod, standards(r, 8))) == Strings{"allowPrivilegeEscalation"});
    pod.spec().security.osName = "windows";
    CHECK(control_ids(evaluate(pod, standards(r, 24))) == Strings{"allowPrivilegeEscalation"});
    CHECK(found_at(pod, r, 25).empty());
  }
  SECTION("hostProbesAndHostLifecycle: from v1.34 (latest)") {
    Pod pod;
    pod.add("app").security.probeHosts = {"10.0.0.1"};
    CHECK(found_at(pod, base, 33).empty());
    CHECK(found_at(pod, base, 34).size() == 1);
    CHECK(found_at(pod, base).size() == 1);
  }
  SECTION("a version newer than podgate knows judges as latest") {
    Pod pod;
    pod.add("app").security.probeHosts = {"10.0.0.1"};
    CHECK(found_at(pod, base, 40).size() == 1);
    const auto v = evaluate(pod, standards(base, 40));
    CHECK(contains(pod_security(v)[0]->message, "(Pod Security Standards baseline v1.40: hostProbesAndHostLifecycle)"));
  }
}

TEST_CASE("warn allows and says why, and a Deployment names the template's fields", "[policy][podSecurity]") {
  Pod pod("spec.template.spec", "Deployment");
  pod.add("app").security.capabilitiesAdd = {"SYS_ADMIN"};
  pod.spec().security.annotations = {{"container.apparmor.security.beta.kubernetes.io/app", "unconfined"}};
  const auto denied = evaluate(pod, standards(PodSecurityLevel::Baseline));
  CHECK(denied.decision == policy::Decision::Denied);
  CHECK(found(denied) ==
        Strings{"appArmorProfile spec.template.metadata.annotations[\"container.apparmor.security.beta.kubernetes.io/app\"]",
                "capabilities_baseline spec.template.spec.containers[0].securityContext.capabilities.add"});
  CHECK(contains(denied.message, "podgate denied Deployment team/web: 2 violations"));

  const auto warned = evaluate(pod, standards(PodSecurityLevel::Baseline, -1, config::Action::Warn));
  CHECK(warned.decision == policy::Decision::Allowed);
  CHECK(warned.violations.size() == 2);
  CHECK(podgate::testing::any_warning(
      warned, "[podgate] warning: Deployment team/web: container \"app\" sets "
              "spec.template.spec.containers[0].securityContext.capabilities.add=[\"SYS_ADMIN\"]"));
  // The audit annotation carries the control and the level.
  const auto json = podgate::testing::annotation(warned, "violations");
  REQUIRE(json);
  CHECK(contains(*json, "\"control\":\"capabilities_baseline\",\"level\":\"baseline\""));
}

TEST_CASE("the privileged and runtimeSockets rules stay on beside it", "[policy][podSecurity]") {
  Pod pod;
  pod.add("app").privileged = true;
  const auto v = evaluate(pod, standards(PodSecurityLevel::Baseline));
  std::vector<std::string> rules;
  for (const auto& x : v.violations) rules.push_back(x.rule + "/" + x.control);
  CHECK(rules == Strings{"privileged/", "podSecurity/privileged"});
}

TEST_CASE("exemptions: namespace and user for the request, service account and image per container",
          "[policy][podSecurity]") {
  Pod pod;
  Container& agent = pod.add("agent");
  agent.image = "registry.example.com/platform/agent:1";
  agent.security.capabilitiesAdd = {"SYS_ADMIN"};
  Container& app = pod.add("app");
  app.security.procMount = "Unmasked";
  auto cfg = standards(PodSecurityLevel::Baseline);

  SECTION("an image exemption lifts its container's findings, not the others', and says so") {
    cfg.exemptions.images = {"registry.example.com/platform/*"};
    const auto v = evaluate(pod, cfg);
    CHECK(found(v) == Strings{"procMount spec.containers[1].securityContext.procMount"});
    CHECK(podgate::testing::any_warning(v, "[podgate] exempt: Pod team/web: allowed only by the image exemption"));
    REQUIRE(!v.exemptions.empty());
    CHECK(v.exemptions[0].kind == "image");
  }
  SECTION("a pod-level finding needs every container exempt") {
    pod.spec().security.hostNetwork = true;
    cfg.exemptions.images = {"registry.example.com/platform/*"};
    CHECK(found(evaluate(pod, cfg)) ==
          Strings{"hostNamespaces spec.hostNetwork", "procMount spec.containers[1].securityContext.procMount"});
    cfg.exemptions.images = {"registry.example.com/**"};
    CHECK(found(evaluate(pod, cfg)).empty());
  }
  SECTION("service account") {
    cfg.exemptions.serviceAccounts = {"team:default"};
    pod.spec().security.hostPID = true;
    const auto v = evaluate(pod, cfg);
    CHECK(found(v).empty());
    CHECK(v.decision == policy::Decision::Allowed);
  }
  SECTION("namespace and user") {
    cfg.exemptions.namespaces = {"team"};
    CHECK(found(evaluate(pod, cfg)).empty());
    cfg.exemptions.namespaces = {};
    cfg.exemptions.users = {"alice"};
    CHECK(found(evaluate(pod, cfg)).empty());
  }
}

TEST_CASE("UPDATE: what oldObject already had is preexisting, what is new denies", "[policy][podSecurity]") {
  Pod pod("spec.template.spec", "Deployment");
  pod.add("app").security.procMount = "Unmasked";
  pod.request.operation = admission::Operation::Update;
  pod.request.oldObject = pod.request.object;
  const auto cfg = standards(PodSecurityLevel::Baseline);
  auto v = evaluate(pod, cfg);
  REQUIRE(pod_security(v).size() == 1);
  CHECK(pod_security(v)[0]->preexisting);
  CHECK(v.decision == policy::Decision::Allowed);

  pod.spec().containers[0].security.capabilitiesAdd = {"NET_RAW"};
  v = evaluate(pod, cfg);
  REQUIRE(pod_security(v).size() == 2);
  CHECK(pod_security(v)[0]->control == "capabilities_baseline");
  CHECK_FALSE(pod_security(v)[0]->preexisting);
  CHECK(pod_security(v)[1]->preexisting);
  CHECK(v.decision == policy::Decision::Denied);
}

TEST_CASE("namespace labels: a stricter enforce label raises the level, warn and audit add warnings",
          "[policy][podSecurity]") {
  Pod pod;
  Container& c = pod.add("app");
  c.security.capabilitiesAdd = {"SYS_ADMIN"};
  auto cfg = standards(PodSecurityLevel::Baseline);
  cfg.rules.podSecurity.namespaceLabels = true;

  policy::NamespaceStandards labels;
  SECTION("an enforce label stricter than the configured level applies, with its version") {
    labels.enforce = {true, PodSecurityLevel::Restricted, config::PodSecurityVersion{21}};
    const auto v = evaluate(pod, cfg, &labels);
    // At restricted v1.21 capabilities_baseline still runs (capabilities_restricted comes at v1.22).
    const auto ids = control_ids(v);
    CHECK(ids == Strings{"capabilities_baseline", "allowPrivilegeEscalation", "runAsNonRoot", "seccompProfile_restricted"});
    CHECK(pod_security(v)[0]->level == "restricted");
    CHECK(v.decision == policy::Decision::Denied);
  }
  SECTION("a stricter label's older version does not drop a check of the configured standard") {
    // hostProbesAndHostLifecycle starts at v1.34: baseline latest has it, restricted v1.22 does not.
    c.security.capabilitiesAdd.clear();
    c.security.probeHosts = {"169.254.169.254"};
    labels.enforce = {true, PodSecurityLevel::Restricted, config::PodSecurityVersion{22}};
    const auto v = evaluate(pod, cfg, &labels);
    const auto ids = control_ids(v);
    CHECK(std::count(ids.begin(), ids.end(), "hostProbesAndHostLifecycle") == 1);
    CHECK(std::count(ids.begin(), ids.end(), "runAsNonRoot") == 1);
    CHECK(v.decision == policy::Decision::Denied);
  }
  SECTION("a label never lowers the configured level") {
    labels.enforce = {true, PodSecurityLevel::Privileged, {}};
    CHECK(control_ids(evaluate(pod, cfg, &labels)) == Strings{"capabilities_baseline"});
  }
  SECTION("the labels are ignored unless namespaceLabels is on") {
    labels.enforce = {true, PodSecurityLevel::Restricted, {}};
    cfg.rules.podSecurity.namespaceLabels = false;
    CHECK(control_ids(evaluate(pod, cfg, &labels)) == Strings{"capabilities_baseline"});
  }
  SECTION("with the configured level off, an enforce label alone applies") {
    cfg.rules.podSecurity.level = PodSecurityLevel::Privileged;
    CHECK(found(evaluate(pod, cfg, &labels)).empty());
    labels.enforce = {true, PodSecurityLevel::Baseline, {}};
    CHECK(control_ids(evaluate(pod, cfg, &labels)) == Strings{"capabilities_baseline"});
  }
  SECTION("warn and audit labels warn about what enforce did not report") {
    labels.warn = {true, PodSecurityLevel::Restricted, {}};
    labels.audit = {true, PodSecurityLevel::Baseline, {}};
    const auto v = evaluate(pod, cfg, &labels);
    CHECK(v.decision == policy::Decision::Denied);
    const auto found_here = pod_security(v);
    REQUIRE(found_here.size() >= 2);
    CHECK(found_here[0]->control == "capabilities_baseline");
    CHECK(found_here[0]->action == config::Action::Deny);
    // The audit label's baseline finding is the one enforce reported: not repeated.
    int baselineCaps = 0;
    for (const auto* x : found_here) {
      if (x->control == "capabilities_baseline") ++baselineCaps;
      if (x != found_here[0]) CHECK(x->action == config::Action::Warn);
    }
    CHECK(baselineCaps == 1);
    CHECK(control_ids(v) == Strings{"capabilities_baseline", "allowPrivilegeEscalation", "capabilities_restricted",
                                    "runAsNonRoot", "seccompProfile_restricted"});
  }
}

TEST_CASE("JSON reviews: a Pod and a Deployment judged end to end", "[policy][podSecurity]") {
  const std::string pod = R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{
    "uid":"u1","kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},
    "namespace":"team","operation":"CREATE","userInfo":{"username":"alice"},
    "object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web"},"spec":{
      "hostPID":true,
      "securityContext":{"sysctls":[{"name":"kernel.msgmax","value":"1"}]},
      "containers":[{"name":"app","image":"nginx","securityContext":{"capabilities":{"add":["SYS_ADMIN"]},"procMount":"Unmasked"},
                     "ports":[{"containerPort":80,"hostPort":8080}]}],
      "volumes":[{"name":"data","nfs":{"server":"x","path":"/"}}]}}}})";
  auto cfg = standards(PodSecurityLevel::Baseline);
  const auto v = podgate::testing::judge(pod, cfg);
  CHECK(control_ids(v) == Strings{"capabilities_baseline", "hostNamespaces", "hostPorts", "procMount", "sysctls"});

  const std::string deployment = R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{
    "uid":"u2","kind":{"group":"apps","version":"v1","kind":"Deployment"},
    "resource":{"group":"apps","version":"v1","resource":"deployments"},
    "namespace":"team","operation":"CREATE","userInfo":{"username":"alice"},
    "object":{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"template":{
      "metadata":{"annotations":{"container.apparmor.security.beta.kubernetes.io/app":"unconfined"}},
      "spec":{"securityContext":{"runAsNonRoot":true,"seccompProfile":{"type":"RuntimeDefault"}},
        "containers":[{"name":"app","image":"nginx","securityContext":{"allowPrivilegeEscalation":false,
                       "capabilities":{"drop":["ALL"]}}}],
        "volumes":[{"name":"cfg","configMap":{"name":"c"}},{"name":"data","nfs":{"server":"x","path":"/"}}]}}}}}})";
  const auto d = podgate::testing::judge(deployment, standards(PodSecurityLevel::Restricted));
  CHECK(found(d) == Strings{"appArmorProfile spec.template.metadata.annotations[\"container.apparmor.security.beta.kubernetes.io/app\"]",
                            "restrictedVolumes spec.template.spec.volumes[1]"});
}
