// The bypasses an outside attack review found (issue "Hardening"), each as a class: procfs magic
// links, other distributions' and rootless runtimes' sockets, PersistentVolumes, Windows
// HostProcess, ephemeral containers gaining an existing socket volume, reviews whose kind and
// resource disagree or that carry no object, and exemptions a pod creator controls.

#include <catch2/catch.hpp>

#include <algorithm>

#include "unit/judge.h"
#include "unit/review_json.h"

using namespace podgate;
using namespace podgate::testing;
using policy::Decision;
using policy::Verdict;

namespace {

std::string host_path_spec(const std::string& path) {
  return pod_spec({list("containers", {container("app", "alpine:3.19", mount("host"))}),
                   list("volumes", {host_path_volume("host", path)})});
}

const WorkloadKind kPersistentVolume{"", "v1", "PersistentVolume", "persistentvolumes", ""};

// A PersistentVolume review; `source` is the member of spec holding the node path.
std::string pv_review(const std::string& source, const std::string& operation = "CREATE",
                      const std::string& oldSource = "") {
  ReviewOptions o;
  o.operation = operation;
  o.ns = "";
  o.name = "pv1";
  auto object = [](const std::string& src) {
    return R"({"apiVersion":"v1","kind":"PersistentVolume","metadata":{"name":"pv1"},"spec":{"capacity":{"storage":"1Gi"},"accessModes":["ReadWriteOnce"],)" +
           src + "}}";
  };
  o.object = object(source);
  if (!oldSource.empty()) o.oldObject = object(oldSource);
  return review_json(kPersistentVolume, o);
}

}  // namespace

TEST_CASE("procfs: every path under /proc is refused, saying why", "[hardening][runtimeSockets][procfs]") {
  for (const std::string path : {"/proc", "/proc/", "/proc/1/root", "/proc/1/root/run/docker.sock", "/proc/self/root",
                                 "/proc/self/root/var/run/containerd/containerd.sock", "/proc/4242/cwd", "//proc/./1/root",
                                 "/proc/thread-self/root", "/proc/1/task/1/root", "/proc/1/fd/3",
                                 "/tmp/../proc/1/root", "/proc/sys/kernel"}) {
    CAPTURE(path);
    for (const auto& kind : workload_kinds()) {
      CAPTURE(kind.kind);
      const Verdict v = judge(create_review(kind, host_path_spec(path)));
      CHECK(v.decision == Decision::Denied);
      REQUIRE(v.violations.size() == 1);
      CHECK(v.violations[0].rule == "runtimeSockets");
    }
    const Verdict v = judge(create_review(pod_kind(), host_path_spec(path)));
    CHECK(contains(v.message, "which is /proc or under it"));
    CHECK(contains(v.message, "/proc/<pid>/root"));
  }
  // Only /proc itself: look-alikes are other directories.
  for (const std::string path : {"/proc2", "/procfs/x", "/var/proc", "/run/proc"}) {
    CAPTURE(path);
    CHECK(judge(create_review(pod_kind(), host_path_spec(path))).decision == Decision::Allowed);
  }
}

TEST_CASE("runtime sockets of other distributions and of rootless runtimes, for any uid",
          "[hardening][runtimeSockets]") {
  for (const std::string path :
       {"/run/k0s/containerd.sock", "/var/run/k0s/containerd.sock", "/run/k0s", "/run/k0s/status.sock",
        "/var/snap/microk8s/common/run/containerd.sock", "/var/snap/microk8s/common/run", "/var/snap/microk8s",
        "/var/snap", "/run/user/1000/docker.sock", "/run/user/0/docker.sock", "/var/run/user/4242/docker.sock",
        "/run/user/1000/docker/containerd/containerd.sock", "/run/user/1000/containerd/containerd.sock",
        "/run/user/1000/containerd-rootless/api.sock", "/run/user/1001/podman/podman.sock",
        "/run/user/1000/buildkit/buildkitd.sock", "/run/user/1000", "/run/user", "/run/user//1000/./docker.sock/",
        "/run/host-containerd/containerd.sock", "/system/run/containerd/containerd.sock",
        "/run/firecracker-containerd/containerd.sock", "/var/lib/lxd/unix.socket", "/var/lib/lxd",
        "/var/snap/lxd/common/lxd/unix.socket", "/var/lib/incus/unix.socket", "/var/lib"}) {
    CAPTURE(path);
    const Verdict v = judge(create_review(pod_kind(), host_path_spec(path)));
    CHECK(v.decision == Decision::Denied);
  }
  for (const std::string path : {"/run/user/1000/pulse", "/run/user/1000/bus", "/run/users/1000/docker.sock",
                                 "/run/user/1000/docker.socket", "/var/snap/microk8s/common/var/log",
                                 "/var/lib/lxd-data", "/run/k0s2", "/var/lib/incus-data/x"}) {
    CAPTURE(path);
    CHECK(judge(create_review(pod_kind(), host_path_spec(path))).decision == Decision::Allowed);
  }
  SECTION("the message names the pattern that matched") {
    const Verdict v = judge(create_review(pod_kind(), host_path_spec("/run/user/1000/docker.sock")));
    CHECK(contains(v.message, "exposing the container runtime socket /run/user/*/docker.sock"));
  }
}

TEST_CASE("PersistentVolumes: hostPath and local paths are judged by the runtime-socket rule",
          "[hardening][persistentVolumes]") {
  SECTION("a hostPath PersistentVolume on a runtime socket is refused") {
    const Verdict v = judge(pv_review(R"("hostPath":{"path":"/var/run/docker.sock","type":"Socket"})"));
    CHECK(v.decision == Decision::Denied);
    REQUIRE(v.violations.size() == 1);
    CHECK(v.violations[0].rule == "runtimeSockets");
    CHECK(v.violations[0].fieldPath == "spec.hostPath.path");
    CHECK(contains(v.message, "PersistentVolume pv1: hostPath volume source has path \"/var/run/docker.sock\""));
    CHECK(contains(v.message, "Every Pod that claims this PersistentVolume gets the same mount"));
  }
  SECTION("a local PersistentVolume on a parent directory or under /proc is refused") {
    for (const std::string path : {"/run", "/", "/proc/1/root", "/run/containerd"}) {
      CAPTURE(path);
      const Verdict v = judge(pv_review(R"("local":{"path":")" + path + R"("})"));
      CHECK(v.decision == Decision::Denied);
      REQUIRE(v.violations.size() == 1);
      CHECK(v.violations[0].fieldPath == "spec.local.path");
    }
  }
  SECTION("ordinary node paths and other sources are allowed") {
    CHECK(judge(pv_review(R"("hostPath":{"path":"/mnt/data"})")).decision == Decision::Allowed);
    CHECK(judge(pv_review(R"("local":{"path":"/mnt/disks/ssd1"})")).decision == Decision::Allowed);
    CHECK(judge(pv_review(R"("nfs":{"server":"nfs.example.com","path":"/run"})")).decision == Decision::Allowed);
  }
  SECTION("strict mode applies to them too, and a missing path fails closed") {
    config::Config strict;
    strict.rules.runtimeSockets.denyAllHostPaths = true;
    strict.rules.runtimeSockets.allowedHostPaths = {"/mnt/disks"};
    CHECK(judge(pv_review(R"("local":{"path":"/mnt/disks/ssd1"})"), strict).decision == Decision::Allowed);
    CHECK(judge(pv_review(R"("hostPath":{"path":"/srv"})"), strict).decision == Decision::Denied);
    CHECK(judge(pv_review(R"("hostPath":{})")).decision == Decision::Denied);
  }
  SECTION("UPDATE: a path the volume already had only warns; a changed one is judged anew") {
    const std::string sock = R"("hostPath":{"path":"/run/docker.sock"})";
    const Verdict same = judge(pv_review(sock, "UPDATE", sock));
    CHECK(same.decision == Decision::Allowed);
    REQUIRE(same.violations.size() == 1);
    CHECK(same.violations[0].preexisting);
    CHECK(judge(pv_review(sock, "UPDATE", R"("hostPath":{"path":"/mnt/data"})")).decision == Decision::Denied);
  }
  SECTION("a wrongly typed source is a 400, not a pass") {
    CHECK(contains(decode_refusal(pv_review(R"("hostPath":"/run/docker.sock")")), "spec.hostPath"));
  }
  SECTION("a user exemption covers them; a namespace exemption cannot (they have no namespace)") {
    config::Config cfg;
    cfg.exemptions.users = {"alice"};
    CHECK(judge(pv_review(R"("hostPath":{"path":"/run/docker.sock"})"), cfg).decision == Decision::Allowed);
  }
}

TEST_CASE("Windows HostProcess containers are denied by the privileged rule, with their own message",
          "[hardening][privileged][windows]") {
  const std::string hostProcess = R"("securityContext":{"windowsOptions":{"hostProcess":true}})";
  SECTION("container level, in any list and kind") {
    for (const auto& kind : workload_kinds()) {
      CAPTURE(kind.kind);
      for (const char* listName : {"containers", "initContainers"}) {
        const Verdict v = judge(create_review(kind, pod_spec({list(listName, {container("w", "mcr.microsoft.com/x", hostProcess)})})));
        CHECK(v.decision == Decision::Denied);
        REQUIRE(v.violations.size() == 1);
        CHECK(v.violations[0].rule == "privileged");
        CHECK(contains(v.violations[0].fieldPath, ".securityContext.windowsOptions.hostProcess"));
        CHECK(contains(v.message, "is a Windows HostProcess container"));
        CHECK(contains(v.message, "Windows' privileged"));
      }
    }
  }
  SECTION("pod level makes every container one") {
    const Verdict v = judge(create_review(
        pod_kind(), pod_spec({R"("securityContext":{"windowsOptions":{"hostProcess":true}})",
                              list("containers", {container("a", "x"), container("b", "y")})})));
    CHECK(v.decision == Decision::Denied);
    REQUIRE(v.violations.size() == 2);
    CHECK(v.violations[0].fieldPath == "spec.securityContext.windowsOptions.hostProcess");
  }
  SECTION("false, absent, or a container that says false is allowed") {
    CHECK(judge(create_review(pod_kind(), pod_spec({list("containers", {container("a", "x", R"("securityContext":{"windowsOptions":{"hostProcess":false}})")})})))
              .decision == Decision::Allowed);
    CHECK(judge(create_review(pod_kind(), pod_spec({list("containers", {container("a", "x", R"("securityContext":{"windowsOptions":{"runAsUserName":"x"}})")})})))
              .decision == Decision::Allowed);
  }
  SECTION("privileged and HostProcess on one container are two violations") {
    const Verdict v = judge(create_review(
        pod_kind(),
        pod_spec({list("containers", {container("a", "x", R"("securityContext":{"privileged":true,"windowsOptions":{"hostProcess":true}})")})})));
    CHECK(v.violations.size() == 2);
  }
  SECTION("a mistyped hostProcess is a 400") {
    CHECK(contains(decode_refusal(create_review(pod_kind(), pod_spec({list("containers", {container("a", "x", R"("securityContext":{"windowsOptions":{"hostProcess":"true"}})")})}))),
                   "hostProcess: expected a boolean"));
  }
}

TEST_CASE("UPDATE: a new container that gains an existing socket volume is a new violation",
          "[hardening][update][ephemeral]") {
  const std::string volumes = list("volumes", {host_path_volume("sock", "/run/docker.sock")});
  const std::string regular = list("containers", {container("app", "nginx", mount("sock"))});
  SECTION("a debug container that mounts the socket volume is denied") {
    const Verdict v = judge(debug_review({regular}, {container("dbg", "busybox", mount("sock"))}, {volumes}));
    CHECK(v.decision == Decision::Denied);
    REQUIRE(v.violations.size() == 1);
    CHECK_FALSE(v.violations[0].preexisting);
  }
  SECTION("a debug container that does not mount it leaves the violation preexisting") {
    const Verdict v = judge(debug_review({regular}, {container("dbg", "busybox")}, {volumes}));
    CHECK(v.decision == Decision::Allowed);
    REQUIRE(v.violations.size() == 1);
    CHECK(v.violations[0].preexisting);
  }
  SECTION("a debug container targeting the container that mounts it reaches it through /proc: denied") {
    const Verdict v =
        judge(debug_review({regular}, {container("dbg", "busybox", R"("targetContainerName":"app")")}, {volumes}));
    CHECK(v.decision == Decision::Denied);
    CHECK_FALSE(v.violations.at(0).preexisting);
    // Targeting a container without the mount changes nothing.
    const std::string two = list("containers", {container("app", "nginx", mount("sock")), container("web", "nginx")});
    CHECK(judge(debug_review({two}, {container("dbg", "busybox", R"("targetContainerName":"web")")}, {volumes}))
              .decision == Decision::Allowed);
  }
  SECTION("in a pod sharing its process namespace, any new container reaches it: denied") {
    const std::string shared = R"("shareProcessNamespace":true)";
    CHECK(judge(debug_review({regular}, {container("dbg", "busybox")}, {volumes, shared})).decision ==
          Decision::Denied);
  }
  SECTION("an exempt agent's socket stays exempt only while no one else reaches it") {
    config::Config cfg;
    cfg.exemptions.images = {"registry.corp/agents/**"};
    const std::string agent = list("containers", {container("agent", "registry.corp/agents/ctr:1", mount("sock"))});
    const std::string debug = debug_review({agent}, {container("dbg", "busybox", R"("targetContainerName":"agent")")},
                                           {volumes});
    CHECK(judge(debug, cfg).decision == Decision::Denied);
  }
  SECTION("a template change that mounts the volume in another container is new, too") {
    const WorkloadKind& deployment = workload_kinds()[1];
    ReviewOptions d;
    d.operation = "UPDATE";
    d.oldObject = wrap_pod_spec(deployment, pod_spec({regular, volumes}));
    d.object = wrap_pod_spec(deployment, pod_spec({list("containers", {container("app", "nginx", mount("sock")),
                                                                       container("side", "busybox", mount("sock"))}),
                                                   volumes}));
    CHECK(judge(review_json(deployment, d)).decision == Decision::Denied);
  }
}

TEST_CASE("a review whose kind and resource disagree, or that has no object, is refused",
          "[hardening][admission]") {
  const std::string privileged = pod_spec({list("containers", {privileged_container("app")})});
  auto review = [&](const WorkloadKind& k, const std::string& objectKind, const std::string& op = "CREATE",
                    const std::string& sub = "") {
    ReviewOptions o;
    o.operation = op;
    o.subResource = sub;
    WorkloadKind objectAs = k;
    for (const auto& w : workload_kinds())
      if (w.kind == objectKind) objectAs = w;
    o.object = wrap_pod_spec(objectAs, privileged);
    return review_json(k, o);
  };
  SECTION("a kind podgate judges, under another resource") {
    WorkloadKind deploymentAsPods = workload_kinds()[1];
    deploymentAsPods.group = "";
    deploymentAsPods.resource = "pods";
    CHECK(contains(decode_refusal(review(deploymentAsPods, "Deployment")), "does not match request.resource pods (core)"));
    WorkloadKind podAsConfigMap = pod_kind();
    podAsConfigMap.resource = "configmaps";
    CHECK(contains(decode_refusal(review(podAsConfigMap, "Pod")), "request.kind Pod (core) does not match"));
    WorkloadKind podAsDeployments = pod_kind();
    podAsDeployments.resource = "deployments";
    podAsDeployments.group = "apps";
    CHECK(contains(decode_refusal(review(podAsDeployments, "Pod")), "(expected Deployment)"));
  }
  SECTION("a resource podgate judges, carrying another kind") {
    WorkloadKind configMapAsPods{"", "v1", "ConfigMap", "pods", ""};
    CHECK(contains(decode_refusal(review(configMapAsPods, "Pod")), "request.kind ConfigMap (core) does not match"));
    WorkloadKind otherOnEphemeral{"apps", "v1", "Deployment", "pods", ""};
    CHECK_FALSE(decode_refusal(review(otherOnEphemeral, "Deployment", "UPDATE", "ephemeralcontainers")).empty());
  }
  SECTION("a missing resource") {
    std::string body = create_review(pod_kind(), privileged);
    const std::string resource = R"("resource":{"group":"","version":"v1","resource":"pods"},)";
    body.erase(body.find(resource), resource.size());
    CHECK(contains(decode_refusal(body), "request.resource: missing for kind Pod"));
  }
  SECTION("CREATE or UPDATE without an object") {
    for (const char* op : {"CREATE", "UPDATE"}) {
      ReviewOptions o;
      o.operation = op;
      CHECK(contains(decode_refusal(review_json(pod_kind(), o)), "request.object: missing for"));
      o.object = "null";
      CHECK(contains(decode_refusal(review_json(pod_kind(), o)), "request.object: missing for"));
    }
  }
  SECTION("what still passes unjudged: another group's kind of the same name, other subresources, status") {
    const WorkloadKind crd{"example.com", "v1", "Deployment", "deployments", ""};
    CHECK(judge(review(crd, "Deployment")).decision == Decision::Allowed);
    const WorkloadKind scale{"autoscaling", "v1", "Scale", "deployments", ""};
    ReviewOptions o;
    o.subResource = "scale";
    o.object = R"({"spec":{"replicas":3}})";
    WorkloadKind scaleOnDeployments = scale;
    scaleOnDeployments.group = "apps";
    CHECK(judge(review_json(scaleOnDeployments, o)).decision == Decision::Allowed);
    CHECK(judge(review(pod_kind(), "Pod", "UPDATE", "status")).decision == Decision::Allowed);
  }
}

TEST_CASE("exemptions: users are strong, service accounts and images are weak and say so",
          "[hardening][exemptions]") {
  const std::string privileged = pod_spec({list("containers", {privileged_container("app")}),
                                           R"("serviceAccountName":"agent")"});
  SECTION("exemptions.users matches the requesting identity exactly") {
    config::Config cfg;
    cfg.exemptions.users = {"alice"};
    const Verdict v = judge(create_review(pod_kind(), privileged), cfg);
    CHECK(v.decision == Decision::Allowed);
    REQUIRE(v.exemptions.size() == 1);
    CHECK(v.exemptions[0].kind == "user");
    CHECK(v.exemptions[0].value == "alice");
    cfg.exemptions.users = {"Alice", "alice2", "system:serviceaccount:default:alice"};
    CHECK(judge(create_review(pod_kind(), privileged), cfg).decision == Decision::Denied);
  }
  SECTION("a service-account exemption says in a warning what it let through") {
    config::Config cfg;
    cfg.exemptions.serviceAccounts = {"default:agent"};
    const Verdict v = judge(create_review(pod_kind(), privileged), cfg);
    CHECK(v.decision == Decision::Allowed);
    CHECK(any_warning(v, "[podgate] exempt: Pod default/web: allowed only by the serviceAccount exemption \"default:agent\": container \"app\" is privileged"));
  }
  SECTION("an image exemption says so too") {
    config::Config cfg;
    cfg.exemptions.images = {"busybox:*"};
    const Verdict v = judge(create_review(pod_kind(), privileged), cfg);
    CHECK(v.decision == Decision::Allowed);
    CHECK(any_warning(v, "allowed only by the image exemption \"busybox:1.36\""));
  }
  SECTION("neither covers an ephemeral container added through pods/ephemeralcontainers") {
    for (int which = 0; which < 2; ++which) {
      config::Config cfg;
      if (which == 0) cfg.exemptions.serviceAccounts = {"default:agent"};
      else cfg.exemptions.images = {"busybox:*"};
      CAPTURE(which);
      const std::string regular = list("containers", {privileged_container("app")});
      const std::string review = debug_review({regular, R"("serviceAccountName":"agent")"}, {privileged_container("dbg")});
      const Verdict v = judge(review, cfg);
      CHECK(v.decision == Decision::Denied);
      REQUIRE(v.violations.size() == 1);
      CHECK(v.violations[0].subject == "ephemeral container \"dbg\"");
      // The pod's own privileged container stays exempt: only the debug container is a violation
      // (checked above). A requester who is exempt may still debug the pod.
      config::Config strong = cfg;
      strong.exemptions.users = {"alice"};
      CHECK(judge(review, strong).decision == Decision::Allowed);
    }
  }
}
