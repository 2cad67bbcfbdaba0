#!/usr/bin/env python3
"""Checks of the podgate Helm chart (charts/podgate), run by tests/chart/test.sh.

`helm lint --strict`, then `helm template` under default and non-default values (the files in
charts/podgate/ci/ and --set overrides), asserting the facts a reviewer would check by hand: the
webhook configuration, the pod's security settings, TLS wiring, the config file, the image rules and
their registry mounts, the scan cache (database volume, import token, a served import), the
continuous audit (its config, RBAC, Lease Role and Pod identity), monitoring objects, schema
rejections, and the upgrade path that reuses the Helm-generated certificate (through a fake API
server on loopback, since `helm template` alone never runs `lookup`). The plain manifests
in manifests/ must equal a fresh render by scripts/render-manifests.sh, byte for byte.

Prints one line per check and ends with `N passed, M failed` (`, K skipped` when a check's tool is
missing). Exit status 1 if anything failed.

Usage: checks.py --helm PATH_TO_HELM [--actionlint PATH_TO_ACTIONLINT]
"""

import argparse
import base64
import hashlib
import http.client
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "podgate"
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import values_doc  # noqa: E402  (sibling module)
import gate_checks  # noqa: E402  (sibling module: matchConditions, priority, the release workflow)

RELEASE = "podgate"
NAMESPACE = "podgate"

# Every metric podgate exports (lib/metrics/metrics.cpp, docs/operations.md).
PODGATE_METRICS = {
    "podgate_admission_requests_total",
    "podgate_admission_review_duration_seconds",
    "podgate_admission_violations_total",
    "podgate_pod_security_violations_total",
    "podgate_admission_denials_by_namespace_total",
    "podgate_admission_exemptions_total",
    "podgate_admission_skipped_total",
    "podgate_admission_invalid_requests_total",
    "podgate_http_requests_total",
    "podgate_http_connections_open",
    "podgate_http_connections_rejected_total",
    "podgate_http_connection_timeouts_total",
    "podgate_http_body_budget_rejections_total",
    "podgate_http_buffered_body_bytes",
    "podgate_scan_api_auth_failures_total",
    "podgate_tls_serving_certificate_expiry_timestamp_seconds",
    "podgate_tls_certificate_reloads_total",
    "podgate_config_reloads_total",
    "podgate_config_last_reload_success_timestamp_seconds",
    "podgate_build_info",
    "podgate_registry_requests_total",
    "podgate_registry_errors_total",
    "podgate_image_resolve_duration_seconds",
    "podgate_image_digest_cache_lookups_total",
    "podgate_image_digest_cache_entries",
    "podgate_image_resolve_failures_total",
    "podgate_image_signature_checks_total",
    "podgate_image_signature_cache_lookups_total",
    "podgate_image_digest_pins_total",
    "podgate_admission_mutations_total",
    "podgate_pull_secret_reads_total",
    "podgate_scan_lookups_total",
    "podgate_scan_imports_total",
    "podgate_scan_records",
    "podgate_scan_oldest_timestamp_seconds",
    "podgate_scan_newest_timestamp_seconds",
    "podgate_kube_requests_total",
    "podgate_kube_watch_restarts_total",
    "podgate_kube_relists_total",
    "podgate_kube_cache_last_event_timestamp_seconds",
    "podgate_kube_cache_synced",
    "podgate_kube_watch_connected",
    "podgate_kube_cache_objects",
    "podgate_kube_cache_bytes",
    # The kubernetes scan store's (docs/operations.md, "Running more than one replica").
    "podgate_scan_imagescans",
    "podgate_scan_imagescan_bytes",
    # The continuous audit's (lib/metrics/metrics.h). The running_* gauges are the Lease holder's.
    "podgate_audit_leader",
    "podgate_audit_leader_transitions_total",
    "podgate_audit_running_pods",
    "podgate_audit_running_violations",
    "podgate_audit_running_containers",
    "podgate_audit_pods_judged_total",
    "podgate_audit_pass_duration_seconds",
    "podgate_audit_verdict_to_report_seconds",
    "podgate_audit_reports_total",
    "podgate_audit_events_total",
    "podgate_audit_pods_dropped_total",
    # rules.podSecurity.namespaceLabels (lib/policy/namespace_standards.*).
    "podgate_pod_security_namespace_lookups_total",
    "podgate_pod_security_namespace_label_errors_total",
}
# The process collector's (lib/metrics/process.h: client_golang's names).
PROCESS_METRICS = {"process_cpu_seconds_total", "process_open_fds", "process_max_fds", "process_virtual_memory_bytes",
                   "process_virtual_memory_max_bytes", "process_resident_memory_bytes", "process_start_time_seconds"}
# The apiserver's own, for podgate's webhooks (k8s.io/apiserver/pkg/admission/metrics).
APISERVER_METRICS = {"apiserver_admission_webhook_rejection_count", "apiserver_admission_webhook_fail_open_count"}
# The dashboard's variables, in every query on podgate's series.
DASHBOARD_SELECTOR = 'cluster=~"$cluster",namespace=~"$namespace",job=~"$job"'
AUDIT_METRICS = {m for m in PODGATE_METRICS if m.startswith("podgate_audit_")}
HISTOGRAMS = {"podgate_admission_review_duration_seconds", "podgate_image_resolve_duration_seconds",
              "podgate_audit_pass_duration_seconds", "podgate_audit_verdict_to_report_seconds"}
# Series the alerts use that podgate does not export itself.
EXTERNAL_METRICS = {"up", "kube_deployment_status_replicas_available", "kube_deployment_spec_replicas"}

EXPECTED_RULES = [
    {"apiGroups": [""], "apiVersions": ["*"], "operations": ["CREATE", "UPDATE"],
     "resources": ["pods", "pods/ephemeralcontainers", "replicationcontrollers", "podtemplates"],
     "scope": "Namespaced"},
    {"apiGroups": ["apps"], "apiVersions": ["*"], "operations": ["CREATE", "UPDATE"],
     "resources": ["deployments", "replicasets", "statefulsets", "daemonsets"], "scope": "Namespaced"},
    {"apiGroups": ["batch"], "apiVersions": ["*"], "operations": ["CREATE", "UPDATE"],
     "resources": ["jobs", "cronjobs"], "scope": "Namespaced"},
]
# PersistentVolumes (hostPath, local) go to the enforce webhook only: they are cluster-scoped, so no
# namespaceSelector keeps them from the audit one, which would judge each twice.
PV_RULE = {"apiGroups": [""], "apiVersions": ["*"], "operations": ["CREATE", "UPDATE"],
           "resources": ["persistentvolumes"], "scope": "Cluster"}
EXPECTED_ALERTS = {
    "PodgateDown": "critical",
    "PodgateNoReadyReplicas": "critical",
    "PodgateReplicasMissing": "warning",
    "PodgateReviewErrors": "warning",
    "PodgateInvalidRequests": "warning",
    "PodgateHighLatency": "warning",
    "PodgateLatencyNearTimeout": "critical",
    "PodgateHighDenyRate": "info",
    "PodgateCertificateExpiringSoon": "warning",
    "PodgateCertificateReloadFailing": "warning",
    "PodgateConfigReloadFailing": "warning",
    "PodgateConnectionsRejected": "warning",
    "PodgateImageResolveFailOpen": "warning",
    "PodgateRegistryErrors": "warning",
    "PodgateScanImportsRejected": "warning",
    "PodgateStaleScans": "info",
    "PodgateScanStateUnsynced": "warning",
    "PodgateImageScansLarge": "warning",
    "PodgateMaliciousImageRunning": "critical",
    "PodgateAuditNoLeader": "warning",
    "PodgateRunningPodsViolate": "warning",
}
# The alerts only an enabled audit renders.
AUDIT_ALERTS = {"PodgateMaliciousImageRunning", "PodgateAuditNoLeader", "PodgateRunningPodsViolate"}
CLUSTER_SCOPED = {"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "ValidatingAdmissionPolicy",
                  "ValidatingAdmissionPolicyBinding", "ClusterRole", "ClusterRoleBinding",
                  "CustomResourceDefinition"}
IMAGESCAN_RULE = {"apiGroups": ["podgate.io"], "resources": ["imagescans"],
                  "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]}
TRIVY_RULE = {"apiGroups": ["aquasecurity.github.io"],
              "resources": ["vulnerabilityreports", "clustervulnerabilityreports"], "verbs": ["get", "list", "watch"]}
PULL_SECRETS_RULE = {"apiGroups": [""], "resources": ["secrets", "serviceaccounts"], "verbs": ["get"]}
# rules.podSecurity.namespaceLabels: every Namespace list-watched for its PSA labels.
NAMESPACES_RULE = {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get", "list", "watch"]}
# The continuous audit's ClusterRole rules (config.audit): Pods list-watched, owners read, reports of
# the configured group written, Events in both groups. And the Lease, in a Role of its namespace.
AUDIT_PODS_RULES = [
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["list", "watch"]},
    {"apiGroups": ["apps"], "resources": ["replicasets"], "verbs": ["get"]},
    {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["get"]},
]
REPORT_VERBS = ["get", "list", "create", "patch", "update", "delete"]
POLICYREPORTS_RULE = {"apiGroups": ["wgpolicyk8s.io"], "resources": ["policyreports"], "verbs": REPORT_VERBS}
OPENREPORTS_RULE = {"apiGroups": ["openreports.io"], "resources": ["reports"], "verbs": REPORT_VERBS}
EVENTS_RULE = {"apiGroups": ["events.k8s.io", ""], "resources": ["events"], "verbs": ["create", "patch"]}
AUDIT_RULES = AUDIT_PODS_RULES + [POLICYREPORTS_RULE, EVENTS_RULE]
AUDIT_OFF = "config.audit.enabled=false"


def lease_rules(name):
    return [{"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "resourceNames": [name],
             "verbs": ["get", "update"]},
            {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create"]}]


class Skip(Exception):
    """The check cannot run here (a tool is missing); it neither passes nor fails."""


class HelmError(Exception):
    pass


class Runner:
    def __init__(self, helm, workdir):
        self.helm = helm
        self.workdir = Path(workdir)
        self.passed = self.failed = self.skipped = 0
        self._cache = {}

    # ---- reporting -------------------------------------------------------------------------
    def check(self, name, fn):
        try:
            fn()
        except Skip as e:
            self.skipped += 1
            print(f"skip  {name}: {e}")
        except AssertionError as e:
            self.failed += 1
            print(f"FAIL  {name}: {e}")
        except Exception as e:  # a crash in a check is a failure of that check, not of the run
            self.failed += 1
            print(f"FAIL  {name}: {type(e).__name__}: {e}")
        else:
            self.passed += 1
            print(f"ok    {name}")
        sys.stdout.flush()

    # ---- helm ------------------------------------------------------------------------------
    def run_helm(self, args, env=None, chart=None):
        cmd = [self.helm] + args
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                              env={**os.environ, **(env or {})}, cwd=REPO)
        return proc

    def template_args(self, files=(), sets=(), set_strings=(), release=RELEASE, namespace=NAMESPACE,
                      extra=(), chart=CHART):
        args = ["template", release, str(chart), "--namespace", namespace]
        for f in files:
            args += ["-f", str(CHART / "ci" / f) if "/" not in str(f) else str(f)]
        for s in sets:
            args += ["--set", s]
        for s in set_strings:
            args += ["--set-string", s]
        return args + list(extra)

    def render(self, files=(), sets=(), set_strings=(), release=RELEASE, namespace=NAMESPACE, extra=(),
               env=None, chart=CHART):
        key = (tuple(files), tuple(sets), tuple(set_strings), release, namespace, tuple(extra), str(chart))
        if env is None and key in self._cache:
            return self._cache[key]
        proc = self.run_helm(self.template_args(files, sets, set_strings, release, namespace, extra, chart),
                             env=env)
        if proc.returncode != 0:
            raise HelmError(f"helm template failed: {proc.stderr.strip()}")
        docs = [d for d in yaml.safe_load_all(proc.stdout) if d]
        if env is None:
            self._cache[key] = docs
        return docs

    def render_fails(self, expect_in_error, **kwargs):
        proc = self.run_helm(self.template_args(**kwargs))
        assert proc.returncode != 0, "helm template succeeded, expected a failure"
        assert expect_in_error in proc.stderr, f"error does not mention {expect_in_error!r}: {proc.stderr.strip()}"


# ---- helpers over rendered objects -------------------------------------------------------------
def find(docs, kind, name=None):
    found = [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]
    return found


def one(docs, kind, name=None):
    found = find(docs, kind, name)
    assert len(found) == 1, f"expected one {kind}{' ' + name if name else ''}, found {len(found)}"
    return found[0]


def deployment(docs):
    return one(docs, "Deployment")


def pod_spec(docs):
    return deployment(docs)["spec"]["template"]["spec"]


def container(docs):
    containers = pod_spec(docs)["containers"]
    assert len(containers) == 1, f"expected one container, found {len(containers)}"
    return containers[0]


def webhooks(docs):
    vwc = one(docs, "ValidatingWebhookConfiguration")
    return {w["name"]: w for w in vwc["webhooks"]}


def podgate_config(docs):
    cm = one(docs, "ConfigMap", f"{fullname(docs)}-config")
    return yaml.safe_load(cm["data"]["podgate.yaml"]), cm["data"]["podgate.yaml"]


def fullname(docs):
    return deployment(docs)["metadata"]["name"]


def eq(actual, expected, what):
    assert actual == expected, f"{what}: expected {expected!r}, got {actual!r}"


def volume(docs, name):
    vols = {v["name"]: v for v in pod_spec(docs)["volumes"]}
    assert name in vols, f"no volume {name!r} (have {sorted(vols)})"
    return vols[name]


def mount(docs, name):
    mounts = {m["name"]: m for m in container(docs)["volumeMounts"]}
    assert name in mounts, f"no volumeMount {name!r} (have {sorted(mounts)})"
    return mounts[name]


def metric_names(expr):
    """podgate_* / external metric names used in a PromQL expression, histogram suffixes removed."""
    names = set()
    for token in re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*(?=\s*[{\[(]|\s*$|\s*[)<>=!+\-*/ ])", expr):
        if token.startswith(("podgate_", "process_", "apiserver_")) or token in EXTERNAL_METRICS:
            names.add(token)
    # Histogram series: _bucket/_sum/_count of a known histogram.
    normalised = set()
    for n in names:
        base = re.sub(r"_(bucket|sum|count)$", "", n)
        normalised.add(base if base in HISTOGRAMS else n)
    return normalised


def doc_anchors(path):
    """The anchors GitHub gives a Markdown file's headings: lower case, punctuation but - and _
    dropped, spaces as -, a repeated one suffixed -1, -2, ..."""
    anchors, seen = set(), {}
    fence = False
    for line in Path(path).read_text().splitlines():
        if line.startswith("```"):
            fence = not fence
        if fence or not re.match(r"#{1,6} ", line):
            continue
        slug = re.sub(r"[^\w\- ]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        anchors.add(slug if n == 0 else f"{slug}-{n}")
    return anchors


def openssl(*args, input_bytes=None):
    if not shutil.which("openssl"):
        raise Skip("openssl not installed")
    proc = subprocess.run(["openssl", *args], input=input_bytes, capture_output=True, timeout=30)
    assert proc.returncode == 0, f"openssl {' '.join(args)}: {proc.stderr.decode().strip()}"
    return proc.stdout.decode()


REGISTRY_MOUNTS = "/etc/podgate/registries"
BYTE_UNITS = {"": 1, "Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "k": 1000, "M": 10**6, "G": 10**9}
DURATION_NS = {"h": 3600 * 10**9, "m": 60 * 10**9, "s": 10**9, "ms": 10**6, "us": 10**3, "µs": 10**3, "ns": 1}


def byte_size(value):
    if isinstance(value, int):
        return value
    m = re.fullmatch(r"([0-9]+)(Ki|Mi|Gi|k|M|G)?", str(value))
    assert m, f"not a byte size: {value!r}"
    return int(m.group(1)) * BYTE_UNITS[m.group(2) or ""]


def duration_ns(value):
    parts = re.findall(r"([0-9]+(?:\.[0-9]+)?)(ms|us|µs|ns|h|m|s)", str(value))
    assert parts and "".join(n + u for n, u in parts) == str(value), f"not a duration: {value!r}"
    return sum(round(float(n) * DURATION_NS[u]) for n, u in parts)


def image_settings(images):
    """rules.images with byte sizes and durations reduced to numbers, so "4Mi" equals 4194304."""
    out = json.loads(json.dumps(images))
    resolve = out.get("resolve", {})
    for key in ("timeout", "cacheTTL", "errorTTL", "pullSecretTTL"):
        if key in resolve:
            resolve[key] = duration_ns(resolve[key])
    if "maxManifestBytes" in resolve:
        resolve["maxManifestBytes"] = byte_size(resolve["maxManifestBytes"])
    return out


def scan_settings(cfg):
    """rules.images.scan and scans of a podgate config, with byte sizes and durations as numbers, and
    without scans.store and scans.database (the chart chooses them: see the scan and rbac checks)."""
    scan = json.loads(json.dumps(cfg["rules"]["images"]["scan"]))
    if "maxScanAge" in scan:
        scan["maxScanAge"] = duration_ns(scan["maxScanAge"])
    scans = json.loads(json.dumps(cfg["scans"]))
    for key in ("maxReportBytes", "cacheBytes"):
        if key in scans:
            scans[key] = byte_size(scans[key])
    for key in ("retention", "syncTimeout"):
        if key in scans:
            scans[key] = duration_ns(scans[key])
    scans.pop("store", None)
    scans.pop("database", None)
    return scan, scans


def podgate_defaults():
    """podgate's default config, from the block in docs/configuration.md a unit test keeps in sync with the code."""
    text = (REPO / "docs" / "configuration.md").read_text()
    m = re.search(r"^## The defaults\n.*?```yaml\n(.*?)```", text, re.S | re.M)
    assert m, "no defaults block under '## The defaults' in docs/configuration.md"
    return yaml.safe_load(m.group(1))


def manifests_config():
    docs = [d for d in yaml.safe_load_all((REPO / "manifests" / "podgate.yaml").read_text()) if d]
    cm = one(docs, "ConfigMap", "podgate-config")
    return yaml.safe_load(cm["data"]["podgate.yaml"]), cm["data"]["podgate.yaml"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def mount_of(docs, path):
    """The volumeMount whose directory holds `path` (the longest match), or None."""
    best = None
    for m in container(docs)["volumeMounts"]:
        root = m["mountPath"].rstrip("/")
        if path.startswith(root + "/") and (best is None or len(root) > len(best["mountPath"].rstrip("/"))):
            best = m
    return best


def mounted_files(docs):
    """{file path inside the container: volume} for every file of a Secret/ConfigMap volume mounted with items."""
    vols = {v["name"]: v for v in pod_spec(docs)["volumes"]}
    files = {}
    for m in container(docs)["volumeMounts"]:
        v = vols[m["name"]]
        source = v.get("secret") or v.get("configMap") or {}
        for item in source.get("items", []):
            files[f"{m['mountPath']}/{item['path']}"] = v
    return files


# ---- the checks --------------------------------------------------------------------------------
def lint_checks(r):
    def lint(files=()):
        def fn():
            args = ["lint", "--strict", str(CHART)]
            for f in files:
                args += ["-f", str(CHART / "ci" / f)]
            proc = r.run_helm(args)
            assert proc.returncode == 0, (proc.stdout + proc.stderr).strip()
        return fn

    r.check("helm lint --strict (default values)", lint())
    for f in sorted(p.name for p in (CHART / "ci").glob("*.yaml")):
        r.check(f"helm lint --strict -f ci/{f}", lint([f]))


def default_checks(r):
    d = lambda: r.render()  # noqa: E731

    def kinds():
        got = sorted(x["kind"] for x in d())
        eq(got, sorted(["ServiceAccount", "ConfigMap", "Secret", "Service", "Deployment",
                        "PodDisruptionBudget", "ValidatingWebhookConfiguration", "ClusterRole",
                        "ClusterRoleBinding", "Role", "RoleBinding", "ResourceQuota"]), "rendered kinds")
    r.check("default: renders exactly SA, ConfigMap, Secret, Service, Deployment, PDB, webhook config, the "
            "ClusterRole and binding of the kubernetes scan store (2 replicas) and the audit, the audit "
            "Lease's Role and binding, and the ResourceQuota admitting the priority class", kinds)

    def labels():
        for x in d():
            lb = x["metadata"].get("labels", {})
            for key in ["app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/version",
                        "app.kubernetes.io/managed-by", "helm.sh/chart"]:
                assert key in lb, f"{x['kind']} {x['metadata']['name']} lacks label {key}"
            eq(lb["helm.sh/chart"], "podgate-" + yaml.safe_load((CHART / "Chart.yaml").read_text())["version"],
               "helm.sh/chart")
            eq(lb["app.kubernetes.io/managed-by"], "Helm", "managed-by")
    r.check("default: every object has app.kubernetes.io/* and helm.sh/chart labels", labels)

    def namespaces():
        for x in d():
            if x["kind"] in CLUSTER_SCOPED:
                assert "namespace" not in x["metadata"], f"{x['kind']} is cluster-scoped but has a namespace"
            else:
                eq(x["metadata"].get("namespace"), NAMESPACE, f"{x['kind']} namespace")
    r.check("default: namespaced objects carry the release namespace", namespaces)

    def replicas_args_image():
        dep = deployment(d())
        eq(dep["spec"]["replicas"], 2, "replicas")
        c = container(d())
        eq(c["args"], ["serve", "--config", "/etc/podgate/config/podgate.yaml"], "args")
        app_version = yaml.safe_load((CHART / "Chart.yaml").read_text())["appVersion"]
        eq(c["image"], f"ghcr.io/podgate/podgate:{app_version}", "image (tag defaults to appVersion)")
        eq(c["imagePullPolicy"], "IfNotPresent", "imagePullPolicy")
    r.check("default: 2 replicas, args serve --config, image tag = appVersion", replicas_args_image)

    def pod_security():
        ps = pod_spec(d())
        sc = ps["securityContext"]
        eq(sc.get("runAsNonRoot"), True, "pod runAsNonRoot")
        eq(sc.get("runAsUser"), 65532, "pod runAsUser")
        eq(sc.get("seccompProfile"), {"type": "RuntimeDefault"}, "pod seccompProfile")
        # The audit (on by default) and the kubernetes scan store (2 replicas) call the API: the pod
        # mounts its token.
        eq(ps.get("automountServiceAccountToken"), True, "pod automountServiceAccountToken")
        eq(one(d(), "ServiceAccount").get("automountServiceAccountToken"), False, "SA automountServiceAccountToken")
        eq(pod_spec(r.render(sets=["replicaCount=1", AUDIT_OFF])).get("automountServiceAccountToken"), False,
           "pod automountServiceAccountToken with one replica and the audit off (sqlite, no API calls)")
        eq(pod_spec(r.render(sets=["replicaCount=1"])).get("automountServiceAccountToken"), True,
           "pod automountServiceAccountToken with one replica and the audit on")
        assert "hostNetwork" not in ps, "hostNetwork set by default"
        eq(ps.get("priorityClassName"), "system-cluster-critical", "default priorityClassName")
    r.check("default: pod runs as 65532, non-root, seccomp RuntimeDefault, SA token only where the API is used",
            pod_security)

    def container_security():
        sc = container(d())["securityContext"]
        eq(sc.get("readOnlyRootFilesystem"), True, "readOnlyRootFilesystem")
        eq(sc.get("allowPrivilegeEscalation"), False, "allowPrivilegeEscalation")
        eq(sc.get("capabilities"), {"drop": ["ALL"]}, "capabilities")
        assert not sc.get("privileged"), "privileged"
    r.check("default: container read-only root, no privilege escalation, drops ALL capabilities",
            container_security)

    def probes():
        c = container(d())
        eq(c["livenessProbe"]["httpGet"], {"path": "/healthz", "port": "https", "scheme": "HTTPS"}, "liveness")
        eq(c["readinessProbe"]["httpGet"], {"path": "/readyz", "port": "https", "scheme": "HTTPS"}, "readiness")
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        eq(ports, {"https": 8443, "metrics": 9090}, "container ports")
    r.check("default: liveness /healthz and readiness /readyz over HTTPS on port https (8443)", probes)

    def shutdown():
        c = container(d())
        eq(c["lifecycle"]["preStop"], {"sleep": {"seconds": 5}}, "preStop")
        eq(pod_spec(d())["terminationGracePeriodSeconds"], 30, "terminationGracePeriodSeconds")
    r.check("default: preStop sleep 5s, terminationGracePeriodSeconds 30", shutdown)

    def resources():
        res = container(d())["resources"]
        assert res["requests"].get("cpu") and res["requests"].get("memory"), f"requests: {res.get('requests')}"
        assert res["limits"].get("memory"), f"limits: {res.get('limits')}"
    r.check("default: resource requests (cpu, memory) and memory limit", resources)

    def anti_affinity():
        aff = pod_spec(d())["affinity"]["podAntiAffinity"]
        terms = aff["preferredDuringSchedulingIgnoredDuringExecution"]
        eq(len(terms), 1, "preferred terms")
        term = terms[0]["podAffinityTerm"]
        eq(term["topologyKey"], "kubernetes.io/hostname", "topologyKey")
        eq(term["labelSelector"]["matchLabels"], deployment(d())["spec"]["selector"]["matchLabels"],
           "anti-affinity selector")
        assert "requiredDuringSchedulingIgnoredDuringExecution" not in aff, "required anti-affinity by default"
    r.check("default: preferred pod anti-affinity by hostname on the pod's own labels", anti_affinity)

    def selectors():
        dep = deployment(d())
        sel = dep["spec"]["selector"]["matchLabels"]
        eq(sel, {"app.kubernetes.io/name": "podgate", "app.kubernetes.io/instance": RELEASE}, "selector")
        tmpl = dep["spec"]["template"]["metadata"]["labels"]
        assert sel.items() <= tmpl.items(), f"pod labels {tmpl} do not contain the selector {sel}"
        eq(one(d(), "Service")["spec"]["selector"], sel, "Service selector")
        eq(one(d(), "PodDisruptionBudget")["spec"]["selector"]["matchLabels"], sel, "PDB selector")
    r.check("default: Deployment, Service and PDB select the same pods", selectors)

    def pdb():
        spec = one(d(), "PodDisruptionBudget")["spec"]
        eq(spec["minAvailable"], 1, "minAvailable")
        eq(spec.get("unhealthyPodEvictionPolicy"), "AlwaysAllow", "unhealthyPodEvictionPolicy")
        assert not find(r.render(sets=["replicaCount=1"]), "PodDisruptionBudget"), \
            "a PDB with minAvailable 1 on a single replica would block every drain"
    r.check("default: PDB minAvailable 1 (none with replicaCount=1)", pdb)

    def service():
        ports = {p["name"]: (p["port"], p["targetPort"]) for p in one(d(), "Service")["spec"]["ports"]}
        eq(ports, {"https": (443, "https"), "metrics": (9090, "metrics")}, "Service ports")
    r.check("default: Service 443 -> https and 9090 -> metrics", service)

    def config():
        cfg, _ = podgate_config(d())
        eq(cfg["mode"], "enforce", "mode")
        eq(cfg["exemptions"]["namespaces"], ["kube-system", NAMESPACE], "exemptions.namespaces")
        eq(cfg["server"]["listen"], "0.0.0.0:8443", "server.listen")
        eq(cfg["server"]["metricsListen"], "0.0.0.0:9090", "server.metricsListen")
        eq(cfg["server"]["tls"]["certFile"], "/etc/podgate/tls/tls.crt", "tls.certFile")
        eq(cfg["server"]["tls"]["keyFile"], "/etc/podgate/tls/tls.key", "tls.keyFile")
        eq(cfg["rules"]["privileged"]["action"], "deny", "privileged action")
        eq(cfg["rules"]["runtimeSockets"]["action"], "deny", "runtimeSockets action")
        # YAML 1.1 tools read a bare off as false; it must reach podgate as the string "off".
        eq(cfg["rules"]["images"]["action"], "off", "images action")
    r.check("default: podgate.yaml has mode enforce, release ns exempt, listeners, TLS files, quoted \"off\"",
            config)

    def config_matches_values():
        cfg, _ = podgate_config(d())
        values = yaml.safe_load((CHART / "values.yaml").read_text())["config"]
        values["exemptions"]["namespaces"].append(NAMESPACE)
        values["scans"]["store"] = "kubernetes"
        del values["scans"]["database"]
        values["scans"]["apiTokenFile"] = ""
        values["rules"]["images"]["resolve"]["pullSecrets"] = False
        values["audit"]["lease"].update({"namespace": NAMESPACE, "name": f"{RELEASE}-audit"})
        eq(cfg, values, "rendered config vs values.config")
    r.check("default: podgate.yaml is values.config plus the release namespace, the scan store (kubernetes with 2 "
            "replicas, so no database), no token file, pullSecrets from rbac and the audit Lease's namespace and "
            "name, nothing else", config_matches_values)

    def mounts():
        eq(volume(d(), "config")["configMap"]["name"], f"{RELEASE}-config", "config volume")
        eq(mount(d(), "config")["mountPath"], "/etc/podgate/config", "config mountPath")
        eq(mount(d(), "tls")["mountPath"], "/etc/podgate/tls", "tls mountPath")
        assert mount(d(), "config").get("readOnly") and mount(d(), "tls").get("readOnly"), "mounts not read-only"
        eq(volume(d(), "tls")["secret"]["secretName"], one(d(), "Secret")["metadata"]["name"], "tls volume")
        names = [v["name"] for v in pod_spec(d())["volumes"]]
        assert "scan-cache" not in names, f"a scan-cache volume with the kubernetes store: {names}"
        assert "emptyDir" in volume(r.render(sets=["replicaCount=1"]), "scan-cache"), \
            "scan-cache is not an emptyDir with one replica"
    r.check("default: config and TLS Secret mounted read-only where podgate.yaml points; the scan-cache emptyDir "
            "only with the sqlite store", mounts)

    def checksum():
        _, text = podgate_config(d())
        annotation = deployment(d())["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
        eq(annotation, hashlib.sha256(text.rstrip("\n").encode()).hexdigest(), "checksum/config")
    r.check("default: checksum/config annotation is the sha256 of the rendered podgate.yaml", checksum)

    def checksum_rolls():
        def annotation(docs):
            return deployment(docs)["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
        base = annotation(d())
        assert annotation(r.render(sets=["config.logging.level=debug"])) != base, "config change kept the checksum"
        assert annotation(r.render(sets=["auditOnly=true"])) != base, "auditOnly kept the checksum"
        eq(annotation(r.render(sets=["replicaCount=3"])), base, "checksum after a non-config change")
    r.check("default: a config change (or auditOnly) changes the checksum; replicaCount does not", checksum_rolls)

    def webhook_names_paths():
        hooks = webhooks(d())
        eq(sorted(hooks), ["audit.podgate.io", "enforce.podgate.io"], "webhook names")
        eq(hooks["enforce.podgate.io"]["clientConfig"]["service"],
           {"name": RELEASE, "namespace": NAMESPACE, "path": "/validate", "port": 443}, "enforce service")
        eq(hooks["audit.podgate.io"]["clientConfig"]["service"],
           {"name": RELEASE, "namespace": NAMESPACE, "path": "/audit", "port": 443}, "audit service")
    r.check("default: two webhooks, enforce -> /validate, audit -> /audit, via the Service on 443",
            webhook_names_paths)

    def webhook_settings():
        hooks = webhooks(d())
        for name, policy in [("enforce.podgate.io", "Fail"), ("audit.podgate.io", "Ignore")]:
            w = hooks[name]
            eq(w["failurePolicy"], policy, f"{name} failurePolicy")
            eq(w["timeoutSeconds"], 5, f"{name} timeoutSeconds")
            eq(w["sideEffects"], "None", f"{name} sideEffects")
            eq(w["admissionReviewVersions"], ["v1"], f"{name} admissionReviewVersions")
            eq(w["matchPolicy"], "Equivalent", f"{name} matchPolicy")
            expected = EXPECTED_RULES + ([PV_RULE] if name == "enforce.podgate.io" else [])
            eq(w["rules"], expected, f"{name} rules")
    r.check("default: failurePolicy Fail/Ignore, timeout 5, sideEffects None, v1, Equivalent, all pod kinds, "
            "PersistentVolumes to enforce only",
            webhook_settings)

    def namespace_selectors():
        hooks = webhooks(d())
        names = {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["kube-system", NAMESPACE]}
        eq(hooks["enforce.podgate.io"]["namespaceSelector"],
           {"matchExpressions": [names, {"key": "podgate.io/mode", "operator": "NotIn", "values": ["audit", "off"]}]},
           "enforce namespaceSelector")
        eq(hooks["audit.podgate.io"]["namespaceSelector"],
           {"matchExpressions": [names, {"key": "podgate.io/mode", "operator": "In", "values": ["audit"]}]},
           "audit namespaceSelector")
    r.check("default: selectors exclude kube-system and the release ns; mode label routes audit/off", namespace_selectors)

    def port_chain():
        # apiserver -> Service port 443 -> targetPort "https" -> containerPort -> podgate's listen port.
        docs = r.render(sets=["config.server.listen=:10443", "config.server.metricsListen=[::]:9102"])
        cfg, _ = podgate_config(docs)
        ports = {p["name"]: p["containerPort"] for p in container(docs)["ports"]}
        eq(ports, {"https": 10443, "metrics": 9102}, "container ports follow config listen addresses")
        eq(cfg["server"]["listen"], ":10443", "server.listen")
        svc = {p["name"]: p["targetPort"] for p in one(docs, "Service")["spec"]["ports"]}
        eq(svc, {"https": "https", "metrics": "metrics"}, "Service targets named ports")
    r.check("ports: container ports and probes follow config.server.listen/metricsListen", port_chain)


def tls_checks(r):
    d = lambda: r.render()  # noqa: E731

    def secret_shape():
        s = one(d(), "Secret")
        eq(s["type"], "kubernetes.io/tls", "Secret type")
        eq(sorted(s["data"]), ["ca.crt", "tls.crt", "tls.key"], "Secret keys")
    r.check("tls(helm): Secret is kubernetes.io/tls with tls.crt, tls.key, ca.crt", secret_shape)

    def ca_bundle():
        ca = one(d(), "Secret")["data"]["ca.crt"]
        for name, w in webhooks(d()).items():
            eq(w["clientConfig"].get("caBundle"), ca, f"{name} caBundle")
    r.check("tls(helm): both webhooks' caBundle is the Secret's CA", ca_bundle)

    def certificate():
        data = one(d(), "Secret")["data"]
        files = {}
        for key in data:
            path = r.workdir / f"default-{key}"
            path.write_bytes(base64.b64decode(data[key]))
            files[key] = str(path)
        out = openssl("verify", "-CAfile", files["ca.crt"], files["tls.crt"])
        assert out.strip().endswith("OK"), out
        sans = openssl("x509", "-in", files["tls.crt"], "-noout", "-ext", "subjectAltName")
        for name in [f"DNS:{RELEASE}.{NAMESPACE}.svc", f"DNS:{RELEASE}.{NAMESPACE}.svc.cluster.local"]:
            assert name in sans, f"{name} not in {sans.strip()}"
        cert_key = openssl("x509", "-in", files["tls.crt"], "-noout", "-pubkey")
        key_pub = openssl("pkey", "-in", files["tls.key"], "-pubout")
        eq(cert_key, key_pub, "public key of tls.crt vs tls.key")
    r.check("tls(helm): certificate verifies against ca.crt, has both service SANs, matches its key", certificate)

    def other_namespace():
        docs = r.render(release="gate", namespace="security")
        eq(fullname(docs), "gate-podgate", "fullname")
        hooks = webhooks(docs)
        for w in hooks.values():
            eq(w["clientConfig"]["service"]["namespace"], "security", "service namespace")
            eq(w["clientConfig"]["service"]["name"], "gate-podgate", "service name")
            eq(w["namespaceSelector"]["matchExpressions"][0]["values"], ["kube-system", "security"], "excluded")
        cfg, _ = podgate_config(docs)
        eq(cfg["exemptions"]["namespaces"], ["kube-system", "security"], "exempt namespaces")
        crt = base64.b64decode(one(docs, "Secret")["data"]["tls.crt"])
        sans = openssl("x509", "-noout", "-ext", "subjectAltName", input_bytes=crt)
        assert "DNS:gate-podgate.security.svc" in sans, sans
    r.check("tls(helm): release gate in ns security -> names, SANs, exclusions and exemptions follow", other_namespace)

    def cert_manager():
        docs = r.render(files=["cert-manager-values.yaml"])
        assert not find(docs, "Secret"), "Helm-generated Secret rendered alongside cert-manager"
        issuers = {i["metadata"]["name"]: i["spec"] for i in find(docs, "Issuer")}
        eq(issuers.get(f"{RELEASE}-selfsigned"), {"selfSigned": {}}, "self-signed Issuer")
        certs = {c["metadata"]["name"]: c["spec"] for c in find(docs, "Certificate")}
        ca = certs[f"{RELEASE}-ca"]
        eq(ca["isCA"], True, "CA isCA")
        eq(ca["issuerRef"]["name"], f"{RELEASE}-selfsigned", "CA issuer")
        eq(issuers.get(f"{RELEASE}-ca"), {"ca": {"secretName": ca["secretName"]}}, "CA Issuer")
        serving = certs[f"{RELEASE}-serving-cert"]
        eq(serving["dnsNames"], [f"{RELEASE}.{NAMESPACE}.svc", f"{RELEASE}.{NAMESPACE}.svc.cluster.local"],
           "dnsNames")
        eq(serving["issuerRef"]["name"], f"{RELEASE}-ca", "serving issuer")
        eq(volume(docs, "tls")["secret"]["secretName"], serving["secretName"], "pod mounts the issued Secret")
        vwc = one(docs, "ValidatingWebhookConfiguration")
        eq(vwc["metadata"]["annotations"]["cert-manager.io/inject-ca-from"],
           f"{NAMESPACE}/{RELEASE}-serving-cert", "inject-ca-from")
        for w in vwc["webhooks"]:
            assert "caBundle" not in w["clientConfig"], "caBundle rendered although cert-manager injects it"
    r.check("tls(cert-manager): self-signed Issuer -> CA Certificate -> CA Issuer -> serving Certificate, "
            "inject-ca-from", cert_manager)

    def cert_manager_issuer_ref():
        docs = r.render(files=["full-values.yaml"])
        assert not find(docs, "Issuer"), "chart Issuers rendered although issuerRef is set"
        cert = one(docs, "Certificate")
        eq(cert["spec"]["issuerRef"], {"name": "platform-ca", "kind": "ClusterIssuer", "group": "cert-manager.io"},
           "issuerRef")
    r.check("tls(cert-manager): certManager.issuerRef uses the given ClusterIssuer and no chart CA", cert_manager_issuer_ref)

    def existing_secret():
        bundle = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n").decode()
        docs = r.render(sets=["tls.existingSecret=my-tls", f"tls.caBundle={bundle}"])
        assert not find(docs, "Secret"), "a Secret was generated although tls.existingSecret is set"
        eq(volume(docs, "tls")["secret"]["secretName"], "my-tls", "tls volume")
        for w in webhooks(docs).values():
            eq(w["clientConfig"]["caBundle"], bundle, "caBundle")
    r.check("tls(existing): tls.existingSecret + tls.caBundle are used as given", existing_secret)

    def existing_secret_needs_bundle():
        r.render_fails("tls.caBundle", sets=["tls.existingSecret=my-tls"])
        r.render_fails("not both", sets=["tls.existingSecret=my-tls", "tls.caBundle=QUJD", "certManager.enabled=true"])
    r.check("tls(existing): refused without tls.caBundle, or together with cert-manager", existing_secret_needs_bundle)


def lookup_checks(r):
    """Upgrades reuse the Helm-generated Secret: rendered against a fake API server that has it."""

    def with_fake_apiserver(secrets, fn):
        secrets_file = r.workdir / "secrets.json"
        port_file = r.workdir / "apiserver.port"
        if port_file.exists():
            port_file.unlink()
        secrets_file.write_text(json.dumps(secrets))
        server = subprocess.Popen([sys.executable, str(HERE / "fake_apiserver.py"), str(secrets_file), str(port_file)])
        try:
            deadline = time.monotonic() + 10
            while not port_file.exists():
                assert server.poll() is None, "fake API server exited"
                assert time.monotonic() < deadline, "fake API server did not start"
                time.sleep(0.05)
            kubeconfig = r.workdir / "kubeconfig"
            kubeconfig.write_text(yaml.safe_dump({
                "apiVersion": "v1", "kind": "Config",
                "clusters": [{"name": "fake", "cluster": {"server": f"http://127.0.0.1:{port_file.read_text()}"}}],
                "users": [{"name": "fake", "user": {"token": "fake"}}],
                "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake"}}],
                "current-context": "fake"}))
            kubeconfig.chmod(0o600)
            env = {"KUBECONFIG": str(kubeconfig), "HELM_CACHE_HOME": str(r.workdir / "helm-cache"),
                   "HELM_CONFIG_HOME": str(r.workdir / "helm-config")}
            return fn(lambda: r.render(extra=["--dry-run=server"], env=env))
        finally:
            server.terminate()
            server.wait(timeout=10)

    def reused():
        first = r.render()
        secret = one(first, "Secret")

        def upgrade(render):
            second = render()
            eq(one(second, "Secret")["data"], secret["data"], "Secret data after upgrade")
            for name, w in webhooks(second).items():
                eq(w["clientConfig"]["caBundle"], secret["data"]["ca.crt"], f"{name} caBundle after upgrade")
        with_fake_apiserver([secret], upgrade)
    r.check("tls(helm): an upgrade finds the Secret with lookup and keeps certificate and caBundle", reused)

    def regenerated_when_incomplete():
        secret = json.loads(json.dumps(one(r.render(), "Secret")))
        del secret["data"]["ca.crt"]

        def upgrade(render):
            second = render()
            new = one(second, "Secret")["data"]
            assert new["tls.crt"] != secret["data"]["tls.crt"], "reused a Secret without ca.crt"
            eq(webhooks(second)["enforce.podgate.io"]["clientConfig"]["caBundle"], new["ca.crt"], "caBundle")
        with_fake_apiserver([secret], upgrade)
    r.check("tls(helm): a Secret without ca.crt is replaced by a new CA and certificate", regenerated_when_incomplete)

    def fresh_install_against_cluster():
        def install(render):
            docs = render()
            s = one(docs, "Secret")["data"]
            eq(webhooks(docs)["audit.podgate.io"]["clientConfig"]["caBundle"], s["ca.crt"], "caBundle")
        with_fake_apiserver([], install)
    r.check("tls(helm): with no Secret in the cluster a new one is generated", fresh_install_against_cluster)


def audit_checks(r):
    def audit_only():
        docs = r.render(files=["audit-values.yaml"])
        cfg, _ = podgate_config(docs)
        eq(cfg["mode"], "audit", "mode")
        hooks = webhooks(docs)
        eq(hooks["enforce.podgate.io"]["failurePolicy"], "Ignore", "enforce failurePolicy")
        eq(hooks["audit.podgate.io"]["failurePolicy"], "Ignore", "audit failurePolicy")
        eq(hooks["enforce.podgate.io"]["clientConfig"]["service"]["path"], "/validate", "enforce path")
    r.check("auditOnly: podgate mode audit, both webhooks failurePolicy Ignore", audit_only)

    def audit_only_wins():
        docs = r.render(sets=["auditOnly=true", "webhook.enforce.failurePolicy=Fail", "config.mode=enforce"])
        cfg, _ = podgate_config(docs)
        eq(cfg["mode"], "audit", "mode")
        eq(webhooks(docs)["enforce.podgate.io"]["failurePolicy"], "Ignore", "enforce failurePolicy")
    r.check("auditOnly: overrides config.mode=enforce and failurePolicy=Fail", audit_only_wins)

    def failure_policy_values():
        docs = r.render(sets=["webhook.enforce.failurePolicy=Ignore", "webhook.enforce.timeoutSeconds=10",
                              "webhook.audit.timeoutSeconds=3"])
        hooks = webhooks(docs)
        eq(hooks["enforce.podgate.io"]["failurePolicy"], "Ignore", "enforce failurePolicy")
        eq(hooks["enforce.podgate.io"]["timeoutSeconds"], 10, "enforce timeoutSeconds")
        eq(hooks["audit.podgate.io"]["timeoutSeconds"], 3, "audit timeoutSeconds")
    r.check("webhook: failurePolicy and timeoutSeconds come from values", failure_policy_values)

    def label_guard():
        for files, actions in [(["audit-values.yaml"], ["Warn", "Audit"]), ((), ["Deny"])]:
            docs = r.render(files=files, sets=["labelGuard.enabled=true"])
            policy = one(docs, "ValidatingAdmissionPolicy")
            binding = one(docs, "ValidatingAdmissionPolicyBinding")
            eq(binding["spec"]["policyName"], policy["metadata"]["name"], "binding policyName")
            eq(binding["spec"]["validationActions"], actions, f"validationActions ({files or 'enforce'})")
            exprs = " ".join(v["expression"] for v in policy["spec"]["variables"])
            assert "'podgate.io/mode'" in exprs and '["system:masters"]' in exprs, exprs
            rules = policy["spec"]["matchConstraints"]["resourceRules"][0]
            assert "namespaces" in rules["resources"] and rules["operations"] == ["CREATE", "UPDATE"], rules
        assert not find(r.render(), "ValidatingAdmissionPolicy"), "label guard rendered while disabled"
    r.check("labelGuard: policy + binding guard podgate.io/mode (Deny; Warn+Audit under auditOnly)", label_guard)


def monitoring_checks(r):
    d = lambda: r.render(files=["monitoring-values.yaml"])  # noqa: E731

    def service_monitor():
        sm = one(d(), "ServiceMonitor")
        svc = one(d(), "Service")
        sel = sm["spec"]["selector"]["matchLabels"]
        assert sel.items() <= svc["metadata"]["labels"].items(), f"ServiceMonitor selector {sel} misses the Service"
        eq(sm["spec"]["namespaceSelector"], {"matchNames": [NAMESPACE]}, "namespaceSelector")
        eq([e["port"] for e in sm["spec"]["endpoints"]], ["metrics"], "endpoint ports")
        assert "metrics" in [p["name"] for p in svc["spec"]["ports"]], "Service has no metrics port"
        eq(sm["metadata"]["labels"].get("release"), "kube-prometheus-stack", "extra label")
    r.check("monitoring: ServiceMonitor scrapes the Service's metrics port", service_monitor)

    def rules():
        pr = one(d(), "PrometheusRule")
        alerts = {a["alert"]: a for g in pr["spec"]["groups"] for a in g["rules"]}
        eq(sorted(alerts), sorted(EXPECTED_ALERTS), "alerts")
        for name, a in alerts.items():
            eq(a["labels"]["severity"], EXPECTED_ALERTS[name], f"{name} severity")
            for key in ["summary", "description", "runbook_url"]:
                assert a["annotations"].get(key), f"{name} has no {key}"
            assert a["annotations"]["runbook_url"].endswith("#" + name.lower()), a["annotations"]["runbook_url"]
        assert "podgate_tls_serving_certificate_expiry_timestamp_seconds" in alerts[
            "PodgateCertificateExpiringSoon"]["expr"] and "14 * 86400" in alerts["PodgateCertificateExpiringSoon"]["expr"]
        assert "podgate_admission_review_duration_seconds_bucket" in alerts["PodgateHighLatency"]["expr"] and \
            alerts["PodgateHighLatency"]["expr"].endswith("> 0.1")
        assert alerts["PodgateStaleScans"]["expr"].startswith(
            'time() - podgate_scan_oldest_timestamp_seconds{job="podgate",namespace="podgate"} > 7 * 86400 and '
            'podgate_scan_records{'), alerts["PodgateStaleScans"]["expr"]
        assert 'result=~"rejected|error"' in alerts["PodgateScanImportsRejected"]["expr"] and \
            "[30m]" in alerts["PodgateScanImportsRejected"]["expr"], alerts["PodgateScanImportsRejected"]["expr"]
    r.check(f"monitoring: PrometheusRule has the {len(EXPECTED_ALERTS)} alerts with severities, summaries and "
            "runbook links", rules)

    def runbook_urls():
        # By default every alert links its paragraph of docs/operations.md in the repository
        # Chart.yaml names; each anchor must exist there. No non-standard `runbook` annotation.
        chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
        base = chart["home"] + "/blob/main/docs/operations.md"
        assert chart["home"] in chart.get("sources", []), "Chart.yaml sources lacks home"
        anchors = doc_anchors(REPO / "docs" / "operations.md")
        pr = one(r.render(sets=["metrics.prometheusRule.enabled=true"]), "PrometheusRule")
        alerts = [a for g in pr["spec"]["groups"] for a in g["rules"]]
        eq(sorted(a["alert"] for a in alerts), sorted(EXPECTED_ALERTS), "default alerts")
        for a in alerts:
            eq(a["annotations"].get("runbook_url"), f"{base}#{a['alert'].lower()}", f"{a['alert']} runbook_url")
            assert a["alert"].lower() in anchors, f"docs/operations.md has no heading for #{a['alert'].lower()}"
            assert "runbook" not in a["annotations"], f"{a['alert']} has a runbook annotation"
        # The chart README's links into docs/operations.md land on headings too.
        for anchor in re.findall(r"docs/operations\.md#([\w-]+)", (CHART / "README.md").read_text()):
            assert anchor in anchors, f"charts/podgate/README.md links docs/operations.md#{anchor}, which has no heading"
        pr = one(r.render(sets=["metrics.prometheusRule.enabled=true", "metrics.prometheusRule.runbookBaseURL="]),
                 "PrometheusRule")
        for a in (x for g in pr["spec"]["groups"] for x in g["rules"]):
            assert not {"runbook_url", "runbook"} & set(a["annotations"]), f"{a['alert']}: {a['annotations']}"
    r.check("monitoring: every alert's runbook_url is, by default, Chart.yaml home + /blob/main/docs/operations.md#"
            "<alert>, each anchor a heading there (README links too); runbookBaseURL empty: none", runbook_urls)

    def rule_metrics():
        pr = one(d(), "PrometheusRule")
        for g in pr["spec"]["groups"]:
            for a in g["rules"]:
                used = metric_names(a["expr"])
                assert used, f"{a['alert']}: no metric found in {a['expr']}"
                unknown = used - PODGATE_METRICS - EXTERNAL_METRICS
                assert not unknown, f"{a['alert']} uses metrics podgate does not export: {unknown}"
                for m in used - EXTERNAL_METRICS:
                    assert 'job="podgate",namespace="podgate"' in a["expr"], f"{a['alert']} does not select this release"
    r.check("monitoring: every alert uses only metrics podgate exports (plus up, kube-state-metrics)", rule_metrics)

    def rule_groups_file(strip_annotations):
        pr = one(d(), "PrometheusRule")
        groups = json.loads(json.dumps(pr["spec"]["groups"]))
        if strip_annotations:
            for g in groups:
                for a in g["rules"]:
                    a.pop("annotations", None)
        return yaml.safe_dump({"groups": groups}, sort_keys=False)

    def promtool_check():
        if not shutil.which("promtool"):
            raise Skip("promtool not installed (Debian package prometheus)")
        path = r.workdir / "podgate-rules.yaml"
        path.write_text(rule_groups_file(strip_annotations=False))
        proc = subprocess.run(["promtool", "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, (proc.stdout + proc.stderr).strip()
    r.check("monitoring: promtool check rules accepts the rule groups", promtool_check)

    def promtool_test():
        if not shutil.which("promtool"):
            raise Skip("promtool not installed (Debian package prometheus)")
        testdir = r.workdir / "promtool-test"
        testdir.mkdir(exist_ok=True)
        (testdir / "rules.yaml").write_text(rule_groups_file(strip_annotations=True))
        shutil.copy(HERE / "alerts_test.yaml", testdir / "alerts_test.yaml")
        proc = subprocess.run(["promtool", "test", "rules", "alerts_test.yaml"], capture_output=True, text=True,
                              timeout=60, cwd=testdir)
        assert proc.returncode == 0, (proc.stdout + proc.stderr).strip()[-3000:]
    r.check("monitoring: promtool test rules: each alert fires (and stays quiet) on synthetic series", promtool_test)

    def dashboard():
        cm = one(d(), "ConfigMap", f"{RELEASE}-dashboard")
        eq(cm["metadata"]["labels"].get("grafana_dashboard"), "1", "grafana_dashboard label")
        eq(cm["metadata"].get("annotations", {}).get("grafana_folder"), "Security", "folder annotation")
        dash = json.loads(cm["data"]["podgate.json"])
        eq(dash, json.loads((CHART / "dashboards" / "podgate.json").read_text()), "ConfigMap vs dashboards/podgate.json")
        exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
        assert len(exprs) >= 15, f"only {len(exprs)} queries"
        used = set()
        for e in exprs:
            names = metric_names(e)
            assert names, f"no metric in {e}"
            used |= names
        unknown = used - PODGATE_METRICS - PROCESS_METRICS - APISERVER_METRICS - {"up"}
        assert not unknown, f"dashboard uses metrics neither podgate nor the apiserver export: {unknown}"
        joined = " ".join(exprs)
        for q in ["histogram_quantile(0.5,", "histogram_quantile(0.99,", "histogram_quantile(0.999,"]:
            assert q in joined, f"no {q} latency query"
        for m in ["podgate_admission_requests_total", "podgate_admission_violations_total",
                  "podgate_tls_serving_certificate_expiry_timestamp_seconds",
                  "podgate_image_digest_cache_lookups_total", "podgate_registry_errors_total",
                  "podgate_image_resolve_failures_total", "podgate_image_resolve_duration_seconds",
                  "podgate_scan_lookups_total", "podgate_scan_imports_total", "podgate_scan_records",
                  "podgate_scan_oldest_timestamp_seconds", "podgate_scan_newest_timestamp_seconds"]:
            assert m in used, f"dashboard has no panel on {m}"
    r.check("monitoring: Grafana dashboard ConfigMap (label grafana_dashboard=1), queries use real metrics", dashboard)

    def dashboard_variables():
        dash = json.loads((CHART / "dashboards" / "podgate.json").read_text())
        variables = {v["name"]: v for v in dash["templating"]["list"]}
        eq(list(variables), ["datasource", "cluster", "namespace", "job"], "variables")
        # A Prometheus without a cluster label offers no value: All must then be .*, which matches
        # the series that lack the label (an empty value matches .*).
        cluster = variables["cluster"]
        eq((cluster["includeAll"], cluster.get("allValue")), (True, ".*"), "cluster: includeAll, allValue")
        eq(cluster["definition"], "label_values(podgate_build_info, cluster)", "cluster query")
        for name in ("namespace", "job"):
            v = variables[name]
            eq((v["multi"], v["includeAll"]), (True, True), f"{name}: multi, includeAll")
            # No allValue: All is the values found, not .*, which would match every job's `up`.
            assert "allValue" not in v, f"{name} has an allValue"
            assert 'cluster=~"$cluster"' in v["definition"], v["definition"]
        assert 'namespace=~"$namespace"' in variables["job"]["definition"], variables["job"]["definition"]
        for p in dash["panels"]:
            for t in p.get("targets", []):
                names = metric_names(t["expr"])
                assert '="$' not in t["expr"], f"{p['title']}: {t['expr']} matches a multi-value variable with ="
                if names & APISERVER_METRICS:
                    # The apiserver's series carry its own job and namespace: only the cluster applies.
                    assert 'cluster=~"$cluster",name=~' in t["expr"], f"{p['title']}: {t['expr']}"
                    assert "$namespace" not in t["expr"] and "$job" not in t["expr"], t["expr"]
                else:
                    assert DASHBOARD_SELECTOR in t["expr"], f"{p['title']}: {t['expr']} ignores the variables"
    r.check("monitoring: dashboard variables cluster (All = .*, for a Prometheus without the label), multi-select "
            "namespace and job; every query on podgate's series selects them with =~", dashboard_variables)

    def dashboard_apiserver_panel():
        dash = json.loads((CHART / "dashboards" / "podgate.json").read_text())
        panels = [p for p in dash["panels"] if any(metric_names(t["expr"]) & APISERVER_METRICS
                                                    for t in p.get("targets", []))]
        assert panels, "no panel on the apiserver's webhook metrics"
        used = set()
        for p in panels:
            for t in p["targets"]:
                used |= metric_names(t["expr"])
        eq(used & APISERVER_METRICS, APISERVER_METRICS, "apiserver metrics charted")
        ts = next(p for p in panels if p["type"] == "timeseries")
        assert "never reached podgate" in ts["title"] and "matter most" in ts["description"], ts["title"]
        # The first row, beside the health stats.
        eq(ts["gridPos"]["y"], 5, "apiserver panel position")
        # The name regex selects every webhook the chart registers, and nobody else's.
        hooks = set()
        for kind in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
            for c in find(r.render(sets=["config.rules.images.action=deny", "config.rules.images.pinDigests=true"]),
                          kind):
                hooks |= {h["name"] for h in c["webhooks"]}
        eq(sorted(hooks), ["audit.podgate.io", "enforce.podgate.io", "pin.podgate.io"], "the chart's webhooks")
        for p in panels:
            for t in p["targets"]:
                regex = re.search(r'name=~"([^"]+)"', t["expr"]).group(1)
                for h in hooks:
                    assert re.fullmatch(regex, h), f"{regex} misses {h}"
                for other in ("validate.kyverno.svc-fail", "validation.gatekeeper.sh", "enforce.podgate.iox"):
                    assert not re.fullmatch(regex, other), f"{regex} matches {other}"
    r.check("monitoring: dashboard panel 'Calls that never reached podgate' charts the apiserver's fail-open and "
            "rejection counts for exactly the chart's webhooks (enforce, audit, pin .podgate.io)",
            dashboard_apiserver_panel)

    def network_policy():
        np = one(d(), "NetworkPolicy")
        eq(np["spec"]["podSelector"]["matchLabels"], deployment(d())["spec"]["selector"]["matchLabels"], "podSelector")
        ingress = np["spec"]["ingress"]
        eq(len(ingress), 2, "ingress rules")
        eq(ingress[0], {"ports": [{"port": "https", "protocol": "TCP"}]}, "webhook rule (open to all sources)")
        eq(ingress[1]["ports"], [{"port": "metrics", "protocol": "TCP"}], "metrics rule ports")
        values = yaml.safe_load((CHART / "values.yaml").read_text())
        eq(ingress[1]["from"], values["networkPolicy"]["metricsFrom"], "metrics rule sources")
    r.check("monitoring: NetworkPolicy opens https to all, metrics to the configured selector", network_policy)

    def monitoring_off_by_default():
        kinds = {x["kind"] for x in r.render()}
        for k in ["ServiceMonitor", "PrometheusRule", "NetworkPolicy"]:
            assert k not in kinds, f"{k} rendered by default"
        assert not find(r.render(), "ConfigMap", f"{RELEASE}-dashboard"), "dashboard rendered by default"
    r.check("monitoring: ServiceMonitor, PrometheusRule, dashboard and NetworkPolicy are opt-in", monitoring_off_by_default)


def full_checks(r):
    d = lambda: r.render(files=["full-values.yaml"])  # noqa: E731

    def everything():
        kinds = sorted({x["kind"] for x in d()})
        for k in ["Certificate", "ConfigMap", "Deployment", "NetworkPolicy", "PodDisruptionBudget", "PrometheusRule",
                  "Secret", "Service", "ServiceAccount", "ServiceMonitor", "ValidatingAdmissionPolicy",
                  "ValidatingAdmissionPolicyBinding", "ValidatingWebhookConfiguration", "ClusterRole",
                  "ClusterRoleBinding", "CronJob"]:
            assert k in kinds, f"{k} missing from {kinds}"
    r.check("full values: every optional object renders together", everything)

    def pod_options():
        ps = pod_spec(d())
        c = container(d())
        eq(deployment(d())["spec"]["replicas"], 3, "replicas")
        eq(ps["priorityClassName"], "system-cluster-critical", "priorityClassName")
        eq(ps["imagePullSecrets"], [{"name": "regcred"}], "imagePullSecrets")
        eq(ps["nodeSelector"], {"kubernetes.io/os": "linux"}, "nodeSelector")
        eq(ps["tolerations"][0]["key"], "node-role.kubernetes.io/control-plane", "tolerations")
        assert "requiredDuringSchedulingIgnoredDuringExecution" in ps["affinity"]["podAntiAffinity"], "hard preset"
        assert c["image"].startswith("ghcr.io/podgate/podgate@sha256:"), c["image"]
        eq(c["lifecycle"]["preStop"]["sleep"]["seconds"], 10, "preStop")
        eq(ps["terminationGracePeriodSeconds"], 40, "terminationGracePeriodSeconds")
        eq({p["name"]: p["containerPort"] for p in c["ports"]}, {"https": 10443, "metrics": 9102}, "ports")
        assert "scan-cache" not in [v["name"] for v in ps["volumes"]], "scan-cache volume with the kubernetes store"
        eq(ps["automountServiceAccountToken"], True, "automountServiceAccountToken")
        eq(one(d(), "ClusterRole")["rules"], [IMAGESCAN_RULE, TRIVY_RULE, PULL_SECRETS_RULE, NAMESPACES_RULE] + AUDIT_RULES,
           "ClusterRole rules")
        eq(mount(d(), "scan-import")["mountPath"], "/etc/podgate/scan-import", "scan-import mount")
        tmpl = deployment(d())["spec"]["template"]["metadata"]
        eq(tmpl["labels"].get("example.com/tier"), "security", "podLabels")
        eq(tmpl["annotations"].get("example.com/team"), "platform", "podAnnotations")
    r.check("full values: replicas, priorityClassName, pull secrets, scheduling, digest, hooks, volumes", pod_options)

    def scan_import_secret():
        s = one(d(), "Secret", f"{RELEASE}-scan-import")
        eq(base64.b64decode(s["data"]["token"]).decode(), "not-a-real-token-0123456789abcdefghij", "token")
        eq(volume(d(), "scan-import")["secret"]["secretName"], f"{RELEASE}-scan-import", "scan-import volume")
        assert not find(r.render(), "Secret", f"{RELEASE}-scan-import"), "scan-import Secret rendered by default"
    r.check("full values: scanImport.token becomes a Secret mounted read-only (none by default)", scan_import_secret)

    def webhook_options():
        for name, w in webhooks(d()).items():
            eq(w["namespaceSelector"]["matchExpressions"][0]["values"],
               ["kube-system", "kube-node-lease", "cert-manager", NAMESPACE], f"{name} excluded namespaces")
            eq(w["objectSelector"], {"matchExpressions": [{"key": "podgate.io/skip", "operator": "DoesNotExist"}]},
               f"{name} objectSelector")
        eq(webhooks(d())["enforce.podgate.io"]["timeoutSeconds"], 10, "enforce timeout")
        vwc = one(d(), "ValidatingWebhookConfiguration")
        eq(vwc["metadata"]["annotations"].get("example.com/owner"), "platform", "webhook annotations")
    r.check("full values: excludeNamespaces, objectSelector and annotations reach both webhooks", webhook_options)

    def config_passthrough():
        cfg, _ = podgate_config(d())
        eq(cfg["server"]["limits"], {"maxBodyBytes": "3Mi", "maxConnections": 2048}, "limits")
        eq(cfg["server"]["tls"]["minVersion"], "1.3", "minVersion stays a string")
        eq(cfg["server"]["threads"], 4, "threads")
        eq(cfg["exemptions"]["namespaces"], ["kube-system", "monitoring", NAMESPACE], "exempt namespaces")
        eq(cfg["rules"]["runtimeSockets"]["denyAllHostPaths"], True, "denyAllHostPaths")
        eq(cfg["logging"], {"level": "debug", "logAllowed": True}, "logging")
        eq(cfg["kubernetes"], {"qps": 7.5, "burst": 15, "timeout": "15s"}, "kubernetes")
        eq(cfg["scans"]["sources"], {"trivyOperator": True}, "scans.sources")
        eq(cfg["scans"]["store"], "kubernetes", "scans.store")
        eq(cfg["rules"]["images"]["resolve"]["pullSecrets"], True, "pullSecrets from rbac.pullSecrets")
        eq(cfg["rules"]["podSecurity"], {"level": "baseline", "version": "v1.33", "action": "warn",
                                         "namespaceLabels": True}, "rules.podSecurity")
    r.check("full values: config keys beyond the defaults pass through with their types", config_passthrough)

    def monitoring_options():
        pr = one(d(), "PrometheusRule")
        alerts = {a["alert"]: a for g in pr["spec"]["groups"] for a in g["rules"]}
        assert "PodgateNoReadyReplicas" not in alerts, "kube-state-metrics alerts despite kubeStateMetrics=false"
        assert all(a["labels"].get("team") == "platform" for a in alerts.values()), "alertLabels missing"
        assert "21 * 86400" in alerts["PodgateCertificateExpiringSoon"]["expr"], "certificateExpiryDays ignored"
        eq(one(d(), "ConfigMap", f"{RELEASE}-dashboard")["metadata"]["namespace"], "monitoring", "dashboard namespace")
        eq(one(d(), "ServiceMonitor")["spec"]["endpoints"][0]["interval"], "15s", "scrape interval")
    r.check("full values: kubeStateMetrics=false, alertLabels, expiry days, dashboard namespace, interval",
            monitoring_options)

    def other_options():
        docs = r.render(sets=["preStopSleepSeconds=0", "podAntiAffinityPreset=none", "image.tag=1.2.3",
                              "hostNetwork=true"])
        c = container(docs)
        assert "lifecycle" not in c, "preStop hook rendered with preStopSleepSeconds=0"
        assert "affinity" not in pod_spec(docs), "affinity rendered with preset none"
        eq(c["image"], "ghcr.io/podgate/podgate:1.2.3", "image.tag")
        eq(pod_spec(docs).get("dnsPolicy"), "ClusterFirstWithHostNet", "dnsPolicy with hostNetwork")
    r.check("options: preStopSleepSeconds=0, podAntiAffinityPreset=none, image.tag, hostNetwork", other_options)


SCAN_TOKEN_FILE = "/etc/podgate/scan-import/token"


def scan_checks(r):
    d = lambda: r.render(files=["scan-values.yaml"])  # noqa: E731
    ci = yaml.safe_load((CHART / "ci" / "scan-values.yaml").read_text())

    def defaults():
        docs = r.render(sets=["replicaCount=1"])
        cfg, _ = podgate_config(docs)
        eq(cfg["scans"]["store"], "sqlite", "scans.store with one replica")
        eq(scan_settings(cfg), scan_settings(podgate_defaults()), "rules.images.scan and scans vs podgate's defaults")
        eq(cfg["scans"]["database"], "/var/lib/podgate/scans.db", "scans.database")
        eq(cfg["scans"]["apiTokenFile"], "", "scans.apiTokenFile (API off)")
        eq(mount_of(docs, cfg["scans"]["database"])["name"], "scan-cache", "volume holding the database")
        names = [v["name"] for v in pod_spec(docs)["volumes"]]
        assert "scan-import" not in names, f"scan-import volume without a token: {names}"
    r.check("scan: with one replica podgate.yaml has podgate's scan defaults (sqlite, rule off, database on the "
            "scan-cache volume, API off)", defaults)

    def values_and_manifests_agree():
        defaults = podgate_defaults()
        values = yaml.safe_load((CHART / "values.yaml").read_text())
        manifest, _ = manifests_config()
        eq(values["config"]["rules"]["images"]["scan"], defaults["rules"]["images"]["scan"],
           "values.yaml rules.images.scan")
        eq(byte_size(values["config"]["scans"]["maxReportBytes"]), defaults["scans"]["maxReportBytes"],
           "values.yaml scans.maxReportBytes")
        # database "" is the chart's "<scanCache.mountPath>/scans.db": podgate's default with the default mount.
        eq(f"{values['scanCache']['mountPath']}/scans.db", defaults["scans"]["database"],
           "scanCache.mountPath + /scans.db")
        eq(scan_settings(manifest), scan_settings(defaults), "manifests/podgate.yaml rules.images.scan and scans")
        # The manifests run 2 replicas: the kubernetes store, no database and no volume for one.
        eq(manifest["scans"]["store"], "kubernetes", "manifests/podgate.yaml scans.store")
        assert "database" not in manifest["scans"], "manifests/podgate.yaml names a database with the kubernetes store"
        docs = [x for x in yaml.safe_load_all((REPO / "manifests" / "podgate.yaml").read_text()) if x]
        assert "scan-cache" not in [v["name"] for v in pod_spec(docs)["volumes"]], "manifests mount a scan cache"
        eq(one(docs, "ClusterRole")["rules"], [IMAGESCAN_RULE] + AUDIT_RULES, "manifests/podgate.yaml ClusterRole rules")
    r.check("scan: values.yaml and manifests/podgate.yaml carry podgate's scan defaults; the manifests use the "
            "kubernetes store (no database volume, RBAC on imagescans, and the audit's)", values_and_manifests_agree)

    def config_keys():
        cfg, _ = podgate_config(d())
        eq(cfg["rules"]["images"]["scan"], ci["config"]["rules"]["images"]["scan"], "rules.images.scan")
        eq(cfg["scans"]["maxReportBytes"], "8Mi", "scans.maxReportBytes stays a string")
        eq(sorted(cfg["scans"]), ["apiTokenFile", "cacheBytes", "database", "findingsFloor", "maxReportBytes",
                                  "retention", "sources", "store", "syncTimeout"], "scans keys")
        eq(cfg["scans"]["store"], "sqlite", "scans.store (replicaCount 1)")
    r.check("scan(ci/scan-values.yaml): action, threshold, ignore list, onUnscanned, maxScanAge and scans reach "
            "podgate.yaml", config_keys)

    def token_file_mounted():
        docs = d()
        cfg, _ = podgate_config(docs)
        eq(cfg["scans"]["apiTokenFile"], SCAN_TOKEN_FILE, "scans.apiTokenFile")
        files = mounted_files(docs)
        assert SCAN_TOKEN_FILE in files, f"{SCAN_TOKEN_FILE} is not a mounted file ({sorted(files)})"
        secret = one(docs, "Secret", f"{RELEASE}-scan-import")
        eq(files[SCAN_TOKEN_FILE]["secret"]["secretName"], secret["metadata"]["name"], "token volume's Secret")
        eq(base64.b64decode(secret["data"]["token"]).decode(), ci["scanImport"]["token"], "token")
        eq(files[SCAN_TOKEN_FILE]["secret"].get("defaultMode"), 0o440, "token file mode")
        eq(mount(docs, "scan-import").get("readOnly"), True, "scan-import readOnly")
        # Your own Secret: mounted the same way, and the chart makes none.
        docs = r.render(sets=["scanImport.existingSecret=ci-scan-token"])
        eq(podgate_config(docs)[0]["scans"]["apiTokenFile"], SCAN_TOKEN_FILE, "apiTokenFile with existingSecret")
        eq(mounted_files(docs)[SCAN_TOKEN_FILE]["secret"]["secretName"], "ci-scan-token", "existingSecret volume")
        assert not find(docs, "Secret", f"{RELEASE}-scan-import"), "the chart made a token Secret for existingSecret"
    r.check("scan: with a token (or existingSecret), scans.apiTokenFile is the Secret's key `token` the pod mounts "
            "read-only", token_file_mounted)

    def database_on_volume():
        docs = d()
        cfg, _ = podgate_config(docs)
        eq(cfg["scans"]["database"], "/var/cache/podgate/scans.db", "database follows scanCache.mountPath")
        m = mount_of(docs, cfg["scans"]["database"])
        assert m is not None and m["name"] == "scan-cache", f"database not on the scan-cache volume: {m}"
        eq(m["mountPath"], "/var/cache/podgate", "mountPath (trailing slash trimmed)")
        assert not m.get("readOnly"), "scan-cache mounted read-only"
        eq(volume(docs, "scan-cache")["emptyDir"], {"sizeLimit": "512Mi"}, "scan-cache emptyDir")
        own = podgate_config(r.render(sets=["replicaCount=1", "config.scans.database=/var/lib/podgate/cache.sqlite"]))[0]
        eq(own["scans"]["database"], "/var/lib/podgate/cache.sqlite", "config.scans.database in the volume")
        claim = r.render(sets=["replicaCount=1", "scanCache.existingClaim=scans",
                               "config.scans.database=/var/lib/podgate/db/scans.db"])
        eq(volume(claim, "scan-cache")["persistentVolumeClaim"]["claimName"], "scans", "scan cache PVC")
        eq(podgate_config(claim)[0]["scans"]["database"], "/var/lib/podgate/db/scans.db", "subdirectory on a claim")
    r.check("scan: scans.database is on the writable scan-cache volume, following scanCache.mountPath",
            database_on_volume)

    def refused():
        r.render_fails("not on the scan cache volume", sets=["replicaCount=1", "config.scans.database=/tmp/scans.db"])
        r.render_fails("not on the scan cache volume", sets=["config.scans.store=sqlite",
                                                             "config.scans.database=/var/lib/podgate-other/scans.db"])
        r.render_fails("subdirectory of the scan cache's emptyDir", sets=["replicaCount=1",
                                                                          "config.scans.database=/var/lib/podgate/db/s.db"])
        r.render_fails("the kubernetes store", sets=["config.scans.database=/var/lib/podgate/scans.db"])
        r.render_fails("set by the chart", sets=["config.scans.apiTokenFile=/etc/token"])
        r.render_fails("set by the chart", sets=["scanImport.token=x0123456789abcdef0123456789abcdef", "config.scans.apiTokenFile=/etc/token"])
        r.render_fails("needs config.rules.images.action", sets=["config.rules.images.scan.action=warn"])
        # Naming the chart's own path is harmless.
        docs = r.render(sets=["scanImport.token=x0123456789abcdef0123456789abcdef", f"config.scans.apiTokenFile={SCAN_TOKEN_FILE}"])
        eq(podgate_config(docs)[0]["scans"]["apiTokenFile"], SCAN_TOKEN_FILE, "apiTokenFile")
    r.check("scan: a database off the volume (or in an emptyDir subdirectory, or with the kubernetes store), a "
            "hand-set apiTokenFile and the scan rule without image rules fail the render", refused)

    def checksums():
        def annotations(docs):
            return deployment(docs)["spec"]["template"]["metadata"]["annotations"]
        assert "checksum/scan-import" not in annotations(r.render()), "checksum/scan-import without a token"
        a = annotations(r.render(sets=["scanImport.token=one0123456789abcdef0123456789abcdef"]))["checksum/scan-import"]
        b = annotations(r.render(sets=["scanImport.token=two0123456789abcdef0123456789abcdef"]))["checksum/scan-import"]
        assert a != b, "a new token does not roll the pods"
        assert annotations(r.render())["checksum/config"] != annotations(d())["checksum/config"], \
            "turning the scan rule and API on kept checksum/config"
    r.check("scan: a new scanImport.token changes checksum/scan-import (podgate reads it at start)", checksums)

    def alerts():
        pr = one(d(), "PrometheusRule")
        rules_ = {a["alert"]: a for g in pr["spec"]["groups"] for a in g["rules"]}
        assert "> 3 * 86400" in rules_["PodgateStaleScans"]["expr"], "staleScanDays ignored"
        eq(rules_["PodgateStaleScans"]["for"], "1h", "PodgateStaleScans for")
    r.check("scan: metrics.prometheusRule.staleScanDays sets PodgateStaleScans' threshold", alerts)

    def dashboard_row():
        dash = json.loads((CHART / "dashboards" / "podgate.json").read_text())
        panels = dash["panels"]
        ids = [p["id"] for p in panels]
        eq(len(ids), len(set(ids)), "unique panel ids")
        titles = [p["title"] for p in panels if p["type"] == "row"]
        eq(titles[-3:], ["Images and registries", "Scan cache", "Running now"], "last rows")
        start = next(i for i, p in enumerate(panels) if p["title"] == "Scan cache")
        end = next(i for i, p in enumerate(panels) if p["title"] == "Running now")
        row = panels[start + 1:end]
        assert len(row) >= 3, f"Scan cache row has {len(row)} panels"
        for p in row:
            for target in p["targets"]:
                assert any(m.startswith("podgate_scan_") for m in metric_names(target["expr"])), target["expr"]
        cells = set()
        for p in panels:
            g = p["gridPos"]
            for x in range(g["x"], g["x"] + g["w"]):
                for y in range(g["y"], g["y"] + g["h"]):
                    assert (x, y) not in cells, f"panel {p['id']} ({p['title']}) overlaps another at {x},{y}"
                    cells.add((x, y))
    r.check("scan: dashboard has a 'Scan cache' row of podgate_scan_* panels before 'Running now', no panels overlap",
            dashboard_row)


def scanner_pod(docs):
    return one(docs, "CronJob")["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def scanner_checks(r):
    """The scanner CronJob (scanner.*, templates/scanner.yaml, files/scan-wanted.sh)."""
    token = ["scanImport.token=t0k3n0123456789abcdef0123456789abcdef"]
    d = lambda: r.render(files=["scanner-values.yaml"])  # noqa: E731
    plain = lambda: r.render(sets=token + ["scanner.enabled=true"])  # noqa: E731

    def off_by_default():
        assert not find(r.render(sets=token), "CronJob"), "a CronJob with scanner.enabled false"
        assert not find(r.render(sets=token), "ConfigMap", f"{RELEASE}-scanner"), "a scanner ConfigMap while off"
    r.check("scanner: off by default (no CronJob, no ConfigMap)", off_by_default)

    def schedule_and_runs():
        docs = plain()
        cron = one(docs, "CronJob", f"{RELEASE}-scanner")
        eq(cron["spec"]["schedule"], "*/30 * * * *", "schedule")
        eq(cron["spec"]["concurrencyPolicy"], "Forbid", "concurrencyPolicy")
        eq(cron["spec"]["jobTemplate"]["spec"]["backoffLimit"], 0, "backoffLimit")
        ps = scanner_pod(docs)
        eq(ps["restartPolicy"], "Never", "restartPolicy")
        eq(ps["automountServiceAccountToken"], False, "automountServiceAccountToken")
        c = ps["containers"][0]
        eq(c["image"], "curlimages/curl:8.16.0", "client image")
        eq(ps["initContainers"][0]["image"], "aquasec/trivy:0.67.2", "trivy image")
        eq(c["command"], ["/bin/sh", "/etc/podgate-scanner/script/scan-wanted.sh"], "command")
        eq(c["args"], ["--scanners", "vuln"], "args")
        env = {e["name"]: e.get("value") for e in c["env"]}
        eq(env["SCAN_LIMIT"], "50", "SCAN_LIMIT")
        # The URL must be a name podgate's serving certificate is issued for, on the Service's port.
        eq(env["PODGATE_URL"], f"https://{RELEASE}.{NAMESPACE}.svc:443", "PODGATE_URL")
        cm = one(docs, "ConfigMap", f"{RELEASE}-scanner")
        eq(cm["data"]["scan-wanted.sh"], (CHART / "files" / "scan-wanted.sh").read_text(), "the ConfigMap's script")
    r.check("scanner: CronJob on the schedule, one run at a time, no retry, pinned images, the script from "
            "files/scan-wanted.sh, the Service URL the certificate names", schedule_and_runs)

    def files_where_the_script_reads_them():
        docs = plain()
        ps = scanner_pod(docs)
        c, init = ps["containers"][0], ps["initContainers"][0]
        env = {e["name"]: e.get("value") for e in c["env"]}
        vols = {v["name"]: v for v in ps["volumes"]}

        def volume_of(container_, path):
            best = None
            for m in container_["volumeMounts"]:
                root = m["mountPath"].rstrip("/")
                if path.startswith(root + "/") and (best is None or len(root) > len(best["mountPath"])):
                    best = m
            assert best is not None, f"{path} is on no volume of {container_['name']}"
            return best, vols[best["name"]]

        script_mount, script_vol = volume_of(c, c["command"][1])
        eq(script_vol["configMap"]["name"], f"{RELEASE}-scanner", "script volume")
        _, ca_vol = volume_of(c, env["PODGATE_CA_FILE"])
        # Only ca.crt of the serving Secret: its tls.key must not reach the scanner.
        eq(ca_vol["secret"]["secretName"], f"{RELEASE}-tls", "CA volume's Secret")
        eq(ca_vol["secret"]["items"], [{"key": "ca.crt", "path": "ca.crt"}], "CA volume items")
        _, token_vol = volume_of(c, env["PODGATE_TOKEN_FILE"])
        eq(token_vol["secret"]["secretName"], f"{RELEASE}-scan-import", "token volume's Secret")
        eq(token_vol["secret"]["items"], [{"key": "token", "path": "token"}], "token volume items")
        # The init container copies trivy to exactly where TRIVY points, on a volume both mount.
        eq(init["command"][-1], env["TRIVY"], "where the init container copies trivy")
        trivy_mount, trivy_vol = volume_of(c, env["TRIVY"])
        init_mount, _ = volume_of(init, env["TRIVY"])
        eq(init_mount["name"], trivy_mount["name"], "trivy's volume in both containers")
        assert "emptyDir" in trivy_vol and not init_mount.get("readOnly"), "trivy's volume is not a writable emptyDir"
        for name in ("WORK_DIR", "TMPDIR", "HOME"):
            m, v = volume_of(c, env[name] + "/x")
            assert "emptyDir" in v and not m.get("readOnly"), f"{name} {env[name]} is not on a writable emptyDir"
        _, cache_vol = volume_of(c, env["TRIVY_CACHE_DIR"])
        eq(cache_vol["emptyDir"], {"sizeLimit": "5Gi"}, "Trivy's cache volume")
        for name in ("script", "ca", "token", "bin"):
            eq(next(m for m in c["volumeMounts"] if m["name"] == name).get("readOnly"), True, f"{name} readOnly")
    r.check("scanner: the script, CA (ca.crt only), token and trivy are mounted where the env points; Trivy's "
            "cache and the reports on a writable emptyDir", files_where_the_script_reads_them)

    def not_podgate_pods():
        docs = plain()
        labels = one(docs, "CronJob")["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
        selectors = [one(docs, "Service")["spec"]["selector"], deployment(docs)["spec"]["selector"]["matchLabels"],
                     one(docs, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"]]
        for selector in selectors:
            assert not all(labels.get(k) == v for k, v in selector.items()), \
                f"the scanner's pods {labels} match podgate's selector {selector}"
        eq(labels["app.kubernetes.io/component"], "scanner", "component label")
        eq(labels["app.kubernetes.io/instance"], RELEASE, "instance label")
    r.check("scanner: its pods are labelled apart from podgate's (the Service, Deployment and PDB never select them)",
            not_podgate_pods)

    def restricted():
        ps = scanner_pod(plain())
        eq(ps["securityContext"]["runAsNonRoot"], True, "pod runAsNonRoot")
        eq(ps["securityContext"]["seccompProfile"], {"type": "RuntimeDefault"}, "pod seccomp")
        for c in ps["initContainers"] + ps["containers"]:
            sc = c["securityContext"]
            eq(sc["readOnlyRootFilesystem"], True, f"{c['name']} readOnlyRootFilesystem")
            eq(sc["allowPrivilegeEscalation"], False, f"{c['name']} allowPrivilegeEscalation")
            eq(sc["capabilities"], {"drop": ["ALL"]}, f"{c['name']} capabilities")
            assert c["resources"]["limits"]["memory"], f"{c['name']} has no memory limit"
    r.check("scanner: non-root, read-only root filesystem, no privilege escalation, no capabilities, memory limit",
            restricted)

    def values_reach_the_job():
        docs = d()
        ci = yaml.safe_load((CHART / "ci" / "scanner-values.yaml").read_text())
        cron = one(docs, "CronJob")
        eq(cron["spec"]["schedule"], "15 * * * *", "schedule")
        c = scanner_pod(docs)["containers"][0]
        eq(c["args"], ci["scanner"]["args"], "args")
        eq(c["image"], "curlimages/curl@" + ci["scanner"]["clientImage"]["digest"], "client image by digest")
        env = {e["name"]: e for e in c["env"]}
        eq(env["SCAN_LIMIT"]["value"], "200", "SCAN_LIMIT")
        eq(env["TRIVY_USERNAME"], ci["scanner"]["env"][0], "extra env")
        eq(next(v for v in scanner_pod(docs)["volumes"] if v["name"] == "work")["emptyDir"], {"sizeLimit": "2Gi"},
           "workSizeLimit")
    r.check("scanner(ci/scanner-values.yaml): schedule, limit, args, env, client image digest and work size reach "
            "the CronJob", values_reach_the_job)

    def ca_sources():
        cm_docs = r.render(files=["cert-manager-values.yaml"], sets=token + ["scanner.enabled=true"])
        ca = next(v for v in scanner_pod(cm_docs)["volumes"] if v["name"] == "ca")
        eq(ca["secret"]["secretName"], f"{RELEASE}-serving-cert", "cert-manager: the serving Secret's ca.crt")
        pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
        bundle = base64.b64encode(pem.encode()).decode()
        docs = r.render(sets=token + ["scanner.enabled=true", "tls.existingSecret=mine", f"tls.caBundle={bundle}"])
        ca = next(v for v in scanner_pod(docs)["volumes"] if v["name"] == "ca")
        eq(ca["configMap"], {"name": f"{RELEASE}-scanner", "items": [{"key": "ca.crt", "path": "ca.crt"}]},
           "existingSecret: the CA volume")
        eq(one(docs, "ConfigMap", f"{RELEASE}-scanner")["data"]["ca.crt"], pem, "existingSecret: tls.caBundle decoded")
    r.check("scanner: the CA comes from cert-manager's serving Secret, or from tls.caBundle with tls.existingSecret",
            ca_sources)

    def refused():
        r.render_fails("scanner.enabled needs the scan API", sets=["scanner.enabled=true"])
        r.render_fails("scanner.enabled needs config.audit.enabled",
                       sets=token + ["scanner.enabled=true", "config.audit.enabled=false"])
        r.render_fails("scanner.image needs a tag or a digest", sets=token + ["scanner.enabled=true", "scanner.image.tag="])
        docs = r.render(sets=["scanner.enabled=true", "scanImport.existingSecret=mine"])
        token_vol = next(v for v in scanner_pod(docs)["volumes"] if v["name"] == "token")
        eq(token_vol["secret"]["secretName"], "mine", "token from scanImport.existingSecret")
    r.check("scanner: refused without the scan API's token or without an image tag; scanImport.existingSecret works",
            refused)

    def shell_syntax():
        for shell in ("sh", "busybox"):
            if not shutil.which(shell):
                continue
            cmd = [shell, "-n", str(CHART / "files" / "scan-wanted.sh")]
            if shell == "busybox":
                cmd.insert(1, "sh")
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
            assert proc.returncode == 0, f"{' '.join(cmd)}: {proc.stderr.strip()}"
        if shutil.which("shellcheck"):
            proc = subprocess.run(["shellcheck", "-s", "sh", str(CHART / "files" / "scan-wanted.sh")],
                                  capture_output=True, text=True, timeout=60)
            assert proc.returncode == 0, proc.stdout.strip()
    r.check("scanner: files/scan-wanted.sh parses as POSIX sh (and BusyBox sh, and shellcheck when installed)",
            shell_syntax)


def schema_checks(r):
    cases = [
        ("replicaCount: \"two\"", {"set_strings": ["replicaCount=two"]}, "/replicaCount"),
        ("unknown top-level key replicas", {"sets": ["replicas=3"]}, "replicas"),
        ("rules.privileged.action=block", {"sets": ["config.rules.privileged.action=block"]}, "/config/rules/privileged/action"),
        ("rules.images.action=block", {"sets": ["config.rules.images.action=block"]}, "/config/rules/images/action"),
        ("rules.images.onResolveError=warn", {"sets": ["config.rules.images.onResolveError=warn"]},
         "/config/rules/images/onResolveError"),
        ("rules.images.resolve.timeout without a unit", {"set_strings": ["config.rules.images.resolve.timeout=3"]},
         "/config/rules/images/resolve/timeout"),
        ("rules.images.resolve.maxManifestBytes=lots", {"sets": ["config.rules.images.resolve.maxManifestBytes=lots"]},
         "/config/rules/images/resolve/maxManifestBytes"),
        ("rules.images.requireDigest=yes", {"set_strings": ["config.rules.images.requireDigest=yes"]},
         "/config/rules/images/requireDigest"),
        ("unknown key under rules.images.resolve", {"sets": ["config.rules.images.resolve.ttl=1m"]}, "ttl"),
        ("registries entry with a scheme", {"sets": ["config.registries[0].host=https://ghcr.io"]},
         "/config/registries/0/host"),
        ("registries entry without a host", {"sets": ["config.registries[0].plainHTTP=true"]}, "host"),
        ("registryCredentials entry without secretName", {"sets": ["registryCredentials[0].name=x"]},
         "/registryCredentials/0"),
        ("registryCAs with both configMapName and secretName",
         {"sets": ["registryCAs[0].configMapName=ca", "registryCAs[0].secretName=ca"]}, "/registryCAs/0"),
        ("registryCAs key escaping the directory", {"sets": ["registryCAs[0].configMapName=ca", "registryCAs[0].key=../x"]},
         "/registryCAs/0/key"),
        ("unknown config key (podgate refuses them too)", {"sets": ["config.rulez.x=1"]}, "rulez"),
        ("mode=block", {"sets": ["config.mode=block"]}, "/config/mode"),
        ("failurePolicy=Sometimes", {"sets": ["webhook.enforce.failurePolicy=Sometimes"]}, "/webhook/enforce/failurePolicy"),
        ("timeoutSeconds=60 (apiserver maximum is 30)", {"sets": ["webhook.enforce.timeoutSeconds=60"]}, "/webhook/enforce/timeoutSeconds"),
        ("listen address without a port", {"sets": ["config.server.listen=8443"]}, "/config/server/listen"),
        ("duration without a unit", {"set_strings": ["config.server.shutdownGracePeriod=25"]}, "/config/server/shutdownGracePeriod"),
        ("image.digest that is not a digest", {"sets": ["image.digest=latest"]}, "/image/digest"),
        ("bare off read as a boolean", {"sets": ["config.rules.runtimeSockets.action=false"]}, "/config/rules/runtimeSockets/action"),
        ("exempt namespace that is not a DNS label", {"sets": ["config.exemptions.namespaces={Kube_System}"]}, "/config/exemptions/namespaces/0"),
        ("rules.images.scan.action=block", {"sets": ["config.rules.images.scan.action=block"]},
         "/config/rules/images/scan/action"),
        ("rules.images.scan.action bare off (a boolean)", {"sets": ["config.rules.images.scan.action=false"]},
         "/config/rules/images/scan/action"),
        ("rules.images.scan.severityThreshold=SEVERE", {"sets": ["config.rules.images.scan.severityThreshold=SEVERE"]},
         "/config/rules/images/scan/severityThreshold"),
        ("rules.images.scan.onUnscanned=block", {"sets": ["config.rules.images.scan.onUnscanned=block"]},
         "/config/rules/images/scan/onUnscanned"),
        ("rules.images.scan.maxScanAge=7d (no day unit)", {"sets": ["config.rules.images.scan.maxScanAge=7d"]},
         "/config/rules/images/scan/maxScanAge"),
        ("rules.images.scan.ignore entry without an id", {"sets": ["config.rules.images.scan.ignore[0].reason=x"]},
         "/config/rules/images/scan/ignore/0"),
        ("rules.images.scan.ignore expires that is not a date",
         {"sets": ["config.rules.images.scan.ignore[0].id=CVE-1", "config.rules.images.scan.ignore[0].expires=soon"]},
         "/config/rules/images/scan/ignore/0"),
        ("unknown key under rules.images.scan", {"sets": ["config.rules.images.scan.threshold=HIGH"]}, "threshold"),
        ("scans.maxReportBytes=lots", {"sets": ["config.scans.maxReportBytes=lots"]}, "/config/scans/maxReportBytes"),
        ("scans.database relative", {"sets": ["config.scans.database=scans.db"]}, "/config/scans/database"),
        ("unknown key under scans", {"sets": ["config.scans.path=/x"]}, "path"),
        ("scanImport.token with whitespace", {"sets": ["scanImport.token=a b"]}, "/scanImport/token"),
        ("scanImport.token shorter than 32 bytes", {"sets": ["scanImport.token=short"]}, "/scanImport/token"),
        ("scanCache.mountPath=/", {"sets": ["scanCache.mountPath=/"]}, "/scanCache/mountPath"),
        ("metrics.prometheusRule.staleScanDays=0", {"sets": ["metrics.prometheusRule.staleScanDays=0"]},
         "/metrics/prometheusRule/staleScanDays"),
        ("scans.store=etcd", {"sets": ["config.scans.store=etcd"]}, "/config/scans/store"),
        ("scans.retention=30d (no day unit)", {"sets": ["config.scans.retention=30d"]}, "/config/scans/retention"),
        ("scans.findingsFloor=SEVERE", {"sets": ["config.scans.findingsFloor=SEVERE"]}, "/config/scans/findingsFloor"),
        ("scans.sources.trivyOperator=yes", {"set_strings": ["config.scans.sources.trivyOperator=yes"]},
         "/config/scans/sources/trivyOperator"),
        ("unknown key under scans.sources", {"sets": ["config.scans.sources.grype=true"]}, "grype"),
        ("kubernetes.qps=0", {"sets": ["config.kubernetes.qps=0"]}, "/config/kubernetes/qps"),
        ("kubernetes.burst=0", {"sets": ["config.kubernetes.burst=0"]}, "/config/kubernetes/burst"),
        ("kubernetes.timeout without a unit", {"set_strings": ["config.kubernetes.timeout=10"]},
         "/config/kubernetes/timeout"),
        ("rules.images.resolve.pullSecretTTL without a unit",
         {"set_strings": ["config.rules.images.resolve.pullSecretTTL=60"]}, "/config/rules/images/resolve/pullSecretTTL"),
        ("rbac.pullSecrets=yes", {"set_strings": ["rbac.pullSecrets=yes"]}, "/rbac/pullSecrets"),
        ("audit.enabled=yes", {"set_strings": ["config.audit.enabled=yes"]}, "/config/audit/enabled"),
        ("audit.reports=policyreports", {"sets": ["config.audit.reports=policyreports"]}, "/config/audit/reports"),
        ("audit.interval=1d (no day unit)", {"sets": ["config.audit.interval=1d"]}, "/config/audit/interval"),
        ("audit.podsPerSecond=0", {"sets": ["config.audit.podsPerSecond=0"]}, "/config/audit/podsPerSecond"),
        ("audit.cacheBytes=lots", {"sets": ["config.audit.cacheBytes=lots"]}, "/config/audit/cacheBytes"),
        ("audit.lease.name that is not a DNS label", {"sets": ["config.audit.lease.name=Podgate_Audit"]},
         "/config/audit/lease/name"),
        ("audit.lease.namespace that is not a DNS label", {"sets": ["config.audit.lease.namespace=-x"]},
         "/config/audit/lease/namespace"),
        ("audit.lease.duration without a unit", {"set_strings": ["config.audit.lease.duration=15"]},
         "/config/audit/lease/duration"),
        ("unknown key under audit", {"sets": ["config.audit.namespaces=x"]}, "namespaces"),
        ("scanner.limit=0", {"sets": ["scanner.limit=0"]}, "/scanner/limit"),
        ("scanner.limit=20000 (the API takes at most 10000)", {"sets": ["scanner.limit=20000"]}, "/scanner/limit"),
        ("scanner.schedule that is not cron", {"sets": ["scanner.schedule=hourly"]}, "/scanner/schedule"),
        ("scanner.args as a string", {"sets": ["scanner.args=--scanners vuln"]}, "/scanner/args"),
        ("unknown key under scanner", {"sets": ["scanner.timeout=1h"]}, "timeout"),
        ("unknown key under rbac", {"sets": ["rbac.secrets=true"]}, "secrets"),
    ]
    for title, kwargs, expected in cases:
        r.check(f"schema rejects {title}", lambda kwargs=kwargs, expected=expected: r.render_fails(expected, **kwargs))

    def severity_any_case():
        for value in ("high", "High", "HIGH", "cRiTiCaL", "negligible"):
            docs = r.render(sets=["config.rules.images.action=warn", "config.rules.images.scan.action=warn",
                                  f"config.rules.images.scan.severityThreshold={value}"])
            eq(podgate_config(docs)[0]["rules"]["images"]["scan"]["severityThreshold"], value, "severityThreshold")
    r.check("schema accepts a severityThreshold in any case, as podgate does", severity_any_case)

    r.check("chart refuses Kubernetes older than 1.30 (kubeVersion)",
            lambda: r.render_fails("kubeVersion", extra=["--kube-version", "1.29.0"]))


def image_checks(r):
    d = lambda: r.render(files=["images-values.yaml"])  # noqa: E731
    ci = yaml.safe_load((CHART / "ci" / "images-values.yaml").read_text())

    def off_by_default():
        cfg, _ = podgate_config(r.render())
        defaults = podgate_defaults()
        eq(cfg["rules"]["images"]["action"], "off", "images action")
        eq(image_settings(cfg["rules"]["images"]), image_settings(defaults["rules"]["images"]),
           "rules.images vs podgate's defaults")
        eq(cfg["registries"], defaults["registries"], "registries")
        names = [v["name"] for v in pod_spec(r.render())["volumes"]]
        assert not [n for n in names if n.startswith("registry-")], f"registry volumes by default: {names}"
    r.check("images: default podgate.yaml has the image rules off, podgate's default settings, no registries, "
            "no registry volumes", off_by_default)

    def config_keys():
        cfg, _ = podgate_config(d())
        values = yaml.safe_load((CHART / "values.yaml").read_text())["config"]
        # ci/images-values.yaml leaves the scan rule and pullSecretTTL at values.yaml's settings;
        # pullSecrets is the chart's, from rbac.pullSecrets.
        resolve = {**ci["config"]["rules"]["images"]["resolve"],
                   "pullSecretTTL": values["rules"]["images"]["resolve"]["pullSecretTTL"], "pullSecrets": False}
        eq(cfg["rules"]["images"], {**ci["config"]["rules"]["images"], "resolve": resolve,
                                    "scan": values["rules"]["images"]["scan"]}, "rules.images")
        eq(cfg["registries"], ci["config"]["registries"], "registries")
        eq(cfg["rules"]["images"]["resolve"]["maxManifestBytes"], "8Mi", "byte size stays a string")
        eq(cfg["registries"][2]["host"], "*.internal.example.com:5000", "glob host")
    r.check("images(ci/images-values.yaml): action, resolve, trust, block list, requireDigest and registries reach "
            "podgate.yaml", config_keys)

    def credentials_mounted():
        docs = d()
        vols = {v["name"]: v for v in pod_spec(docs)["volumes"]}
        for i, entry in enumerate(ci["registryCredentials"]):
            name = f"registry-credentials-{i}"
            m = mount(docs, name)
            eq(m["mountPath"], f"{REGISTRY_MOUNTS}/credentials/{entry['secretName']}", f"{name} mountPath")
            eq(m.get("readOnly"), True, f"{name} readOnly")
            secret = vols[name]["secret"]
            eq(secret["secretName"], entry["secretName"], f"{name} secretName")
            eq(secret["items"], [{"key": ".dockerconfigjson", "path": ".dockerconfigjson"}], f"{name} items")
            eq(secret.get("defaultMode"), 0o440, f"{name} defaultMode")
    r.check("images: registryCredentials Secrets mounted read-only (0440, only .dockerconfigjson) at "
            "/etc/podgate/registries/credentials/<secretName>/", credentials_mounted)

    def cas_mounted():
        docs = d()
        vols = {v["name"]: v for v in pod_spec(docs)["volumes"]}
        for i, entry in enumerate(ci["registryCAs"]):
            name = f"registry-ca-{i}"
            source = entry.get("configMapName") or entry["secretName"]
            key = entry.get("key", "ca.crt")
            m = mount(docs, name)
            eq(m["mountPath"], f"{REGISTRY_MOUNTS}/ca/{source}", f"{name} mountPath")
            eq(m.get("readOnly"), True, f"{name} readOnly")
            v = vols[name]
            if "configMapName" in entry:
                eq(v["configMap"]["name"], source, f"{name} ConfigMap")
                items = v["configMap"]["items"]
            else:
                eq(v["secret"]["secretName"], source, f"{name} Secret")
                eq(v["secret"].get("defaultMode"), 0o440, f"{name} defaultMode")
                items = v["secret"]["items"]
            eq(items, [{"key": key, "path": key}], f"{name} items (only the CA key)")
    r.check("images: registryCAs (ConfigMap or Secret, key default ca.crt) mounted read-only at "
            "/etc/podgate/registries/ca/<name>/<key>", cas_mounted)

    def config_names_mounted_files():
        docs = d()
        cfg, _ = podgate_config(docs)
        files = mounted_files(docs)
        named = [r_[f] for r_ in cfg["registries"] for f in ("caFile", "credentialsFile") if r_.get(f)]
        assert len(named) == 4, f"expected 4 files named in the ci registries, got {named}"
        for f in named:
            assert f in files, f"{f} is named in config.registries but not mounted (mounted: {sorted(files)})"
    r.check("images: every caFile and credentialsFile in the ci config is a file the pod mounts", config_names_mounted_files)

    def unmounted_file_refused():
        r.render_fails("config.registries[0].credentialsFile",
                       sets=["config.registries[0].host=ghcr.io",
                             f"config.registries[0].credentialsFile={REGISTRY_MOUNTS}/credentials/ghcr/.dockerconfigjson"])
        r.render_fails("add it to registryCAs",
                       sets=["config.registries[0].host=ghcr.io", "registryCAs[0].configMapName=ca",
                             f"config.registries[0].caFile={REGISTRY_MOUNTS}/ca/ca/other.pem"])
        r.render_fails("mounted at /etc/podgate/registries/ca/ca",
                       sets=["registryCAs[0].configMapName=ca", "registryCAs[1].secretName=ca"])
        # A file the chart does not manage (baked into the image, say) is left to podgate.
        docs = r.render(sets=["config.registries[0].host=ghcr.io", "config.registries[0].caFile=/etc/ssl/extra.pem"])
        eq(podgate_config(docs)[0]["registries"][0]["caFile"], "/etc/ssl/extra.pem", "caFile outside the mounts")
    r.check("images: a registry file under /etc/podgate/registries/ that is not mounted, or two mounts on one path, "
            "fail the render", unmounted_file_refused)

    def egress_open():
        np = one(d(), "NetworkPolicy")
        eq(np["spec"]["policyTypes"], ["Ingress"], "policyTypes (egress to registries and DNS must stay open)")
        assert "egress" not in np["spec"], f"egress rules restrict podgate: {np['spec']['egress']}"
    r.check("images: with image rules on, the NetworkPolicy leaves egress (registries, DNS) unrestricted", egress_open)

    def checksum_follows_image_config():
        def annotation(docs):
            return deployment(docs)["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
        base = annotation(r.render())
        for sets in (["config.rules.images.action=warn"], ["config.rules.images.blocked={docker.io/library/bad}"],
                     ["config.registries[0].host=ghcr.io", "config.registries[0].plainHTTP=true"]):
            assert annotation(r.render(sets=sets)) != base, f"checksum unchanged after --set {sets}"
        eq(annotation(r.render(sets=["registryCredentials[0].secretName=x"])), base,
           "checksum after only mounting a Secret (the pod template changes anyway)")
    r.check("images: changing rules.images or registries changes checksum/config", checksum_follows_image_config)

    def defaults_agree():
        defaults = podgate_defaults()
        values = yaml.safe_load((CHART / "values.yaml").read_text())["config"]
        manifest, _ = manifests_config()
        # pullSecrets is the chart's, from rbac.pullSecrets (false by default).
        values["rules"]["images"]["resolve"]["pullSecrets"] = False
        for what, cfg in (("values.yaml", values), ("manifests/podgate.yaml", manifest)):
            eq(image_settings(cfg["rules"]["images"]), image_settings(defaults["rules"]["images"]),
               f"{what} rules.images vs podgate's defaults")
            eq(cfg["registries"], defaults["registries"], f"{what} registries")
    r.check("images: values.yaml and manifests/podgate.yaml carry podgate's default image settings (action off)",
            defaults_agree)


def rbac_checks(r):
    def rules_of(docs):
        roles = find(docs, "ClusterRole")
        return roles[0]["rules"] if roles else None

    def single_replica():
        docs = r.render(sets=["replicaCount=1", AUDIT_OFF])
        eq(podgate_config(docs)[0]["scans"]["store"], "sqlite", "scans.store")
        for kind in ("ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"):
            assert not find(docs, kind), f"{kind} rendered with nothing needing the API"
        eq(pod_spec(docs)["automountServiceAccountToken"], False, "automountServiceAccountToken")
        assert "emptyDir" in volume(docs, "scan-cache"), "no scan-cache emptyDir"
    r.check("rbac: replicaCount=1 with the audit off -> sqlite store, no RBAC objects, no token, the scan-cache "
            "emptyDir", single_replica)

    def several_replicas():
        docs = r.render(sets=["replicaCount=2", AUDIT_OFF])
        eq(podgate_config(docs)[0]["scans"]["store"], "kubernetes", "scans.store")
        eq(rules_of(docs), [IMAGESCAN_RULE], "ClusterRole rules")
        binding = one(docs, "ClusterRoleBinding")
        eq(binding["roleRef"], {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                "name": one(docs, "ClusterRole")["metadata"]["name"]}, "roleRef")
        eq(binding["subjects"], [{"kind": "ServiceAccount", "name": one(docs, "ServiceAccount")["metadata"]["name"],
                                  "namespace": NAMESPACE}], "subjects")
        eq(pod_spec(docs)["automountServiceAccountToken"], True, "automountServiceAccountToken")
        assert "scan-cache" not in [v["name"] for v in pod_spec(docs)["volumes"]], "scan-cache with kubernetes store"
        assert "scan-cache" not in [m["name"] for m in container(docs)["volumeMounts"]], "scan-cache mount"
    r.check("rbac: replicaCount=2 (audit off) -> kubernetes store, ClusterRole on imagescans only, bound to the "
            "ServiceAccount, token mounted, no scan-cache volume", several_replicas)

    def explicit_store():
        docs = r.render(sets=["replicaCount=3", "config.scans.store=sqlite", AUDIT_OFF])
        eq(podgate_config(docs)[0]["scans"]["store"], "sqlite", "explicit sqlite with 3 replicas")
        assert not find(docs, "ClusterRole"), "RBAC with the sqlite store"
        docs = r.render(sets=["replicaCount=1", "config.scans.store=kubernetes", AUDIT_OFF])
        eq(rules_of(docs), [IMAGESCAN_RULE], "explicit kubernetes with 1 replica")
    r.check("rbac: an explicit config.scans.store wins over the replica count", explicit_store)

    def trivy():
        docs = r.render(sets=["replicaCount=1", "config.scans.sources.trivyOperator=true", AUDIT_OFF])
        eq(rules_of(docs), [TRIVY_RULE], "ClusterRole rules (sqlite store + Trivy Operator)")
        eq(pod_spec(docs)["automountServiceAccountToken"], True, "automountServiceAccountToken")
        eq(podgate_config(docs)[0]["scans"]["sources"], {"trivyOperator": True}, "scans.sources")
        eq(rules_of(r.render(sets=["config.scans.sources.trivyOperator=true", AUDIT_OFF])), [IMAGESCAN_RULE, TRIVY_RULE],
           "ClusterRole rules (kubernetes store + Trivy Operator)")
    r.check("rbac: scans.sources.trivyOperator -> get, list, watch on (cluster)vulnerabilityreports", trivy)

    def pull_secrets():
        docs = r.render(sets=["replicaCount=1", "rbac.pullSecrets=true", AUDIT_OFF])
        eq(rules_of(docs), [PULL_SECRETS_RULE], "ClusterRole rules")
        eq(podgate_config(docs)[0]["rules"]["images"]["resolve"]["pullSecrets"], True, "resolve.pullSecrets")
        eq(pod_spec(docs)["automountServiceAccountToken"], True, "automountServiceAccountToken")
        eq(podgate_config(r.render(sets=["replicaCount=1"]))[0]["rules"]["images"]["resolve"]["pullSecrets"], False,
           "resolve.pullSecrets by default")
        r.render_fails("needs rbac.pullSecrets=true", sets=["config.rules.images.resolve.pullSecrets=true"])
        r.render_fails("leave config.rules.images.resolve.pullSecrets out",
                       sets=["rbac.pullSecrets=true", "config.rules.images.resolve.pullSecrets=false"])
    r.check("rbac: rbac.pullSecrets -> get on secrets and serviceaccounts and resolve.pullSecrets true; the config "
            "key alone fails the render", pull_secrets)

    def namespace_labels():
        on = "config.rules.podSecurity.namespaceLabels=true"
        docs = r.render(sets=["replicaCount=1", on, AUDIT_OFF])
        eq(rules_of(docs), [NAMESPACES_RULE], "ClusterRole rules (namespaceLabels alone)")
        eq(pod_spec(docs)["automountServiceAccountToken"], True, "automountServiceAccountToken")
        eq(podgate_config(docs)[0]["rules"]["podSecurity"]["namespaceLabels"], True, "podSecurity.namespaceLabels")
        eq(rules_of(r.render(sets=["replicaCount=1", on])), [NAMESPACES_RULE] + AUDIT_RULES,
           "ClusterRole rules (namespaceLabels and the audit)")
        for sets in (["replicaCount=1", AUDIT_OFF], ["replicaCount=1", AUDIT_OFF,
                                                     "config.rules.podSecurity.namespaceLabels=false"]):
            assert not find(r.render(sets=sets), "ClusterRole"), f"a ClusterRole with {sets}"
        r.render_fails("namespaceLabels", sets=["config.rules.podSecurity.namespaceLabels=yes"])
    r.check("rbac: config.rules.podSecurity.namespaceLabels -> get, list, watch on namespaces and the token "
            "mounted; off -> nothing", namespace_labels)

    def own_rbac():
        docs = r.render(sets=["rbac.create=false", "config.scans.sources.trivyOperator=true",
                              "config.rules.images.resolve.pullSecrets=true"])
        for kind in ("ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"):
            assert not find(docs, kind), f"{kind} with rbac.create=false"
        eq(pod_spec(docs)["automountServiceAccountToken"], True, "token still mounted for the API calls")
        eq(podgate_config(docs)[0]["rules"]["images"]["resolve"]["pullSecrets"], True, "resolve.pullSecrets")
    r.check("rbac: rbac.create=false renders no RBAC but still mounts the token the API calls need", own_rbac)

    def alerts():
        def names(sets):
            pr = one(r.render(sets=["metrics.prometheusRule.enabled=true"] + sets), "PrometheusRule")
            return {a["alert"]: a for g in pr["spec"]["groups"] for a in g["rules"]}
        single = names(["replicaCount=1", AUDIT_OFF])
        assert "PodgateScanStateUnsynced" not in single and "PodgateImageScansLarge" not in single, sorted(single)
        assert "PodgateScanStateUnsynced" in names(["replicaCount=1"]), "no watch alert with the audit's Pod watch"
        trivy = names(["replicaCount=1", "config.scans.sources.trivyOperator=true", AUDIT_OFF])
        assert "PodgateScanStateUnsynced" in trivy and "PodgateImageScansLarge" not in trivy, sorted(trivy)
        shared = names(["metrics.prometheusRule.imageScanBytes=1048576"])
        eq(shared["PodgateScanStateUnsynced"]["expr"], 'podgate_kube_watch_connected{job="podgate",namespace="podgate"} == 0',
           "PodgateScanStateUnsynced expr")
        eq(shared["PodgateScanStateUnsynced"]["for"], "5m", "PodgateScanStateUnsynced for")
        eq(shared["PodgateImageScansLarge"]["expr"],
           'max(podgate_scan_imagescan_bytes{job="podgate",namespace="podgate"}) > 1048576', "PodgateImageScansLarge expr")
    r.check("rbac: PodgateScanStateUnsynced with any API use, PodgateImageScansLarge with the kubernetes store "
            "(threshold from imageScanBytes)", alerts)


def pod_security_checks(r):
    """rules.podSecurity (docs/pod-security.md): off by default, as in podgate; namespaceLabels needs the API."""
    def defaults():
        cfg, _ = podgate_config(r.render())
        # Read as YAML 1.1 (as PyYAML does), a bare off would be the boolean false, which podgate refuses
        # for a level: the string here means it is quoted in podgate.yaml.
        eq(cfg["rules"]["podSecurity"], {"level": "off", "version": "latest", "action": "deny",
                                         "namespaceLabels": False}, "rules.podSecurity")
        eq(podgate_defaults()["rules"].get("podSecurity"), cfg["rules"]["podSecurity"],
           "the chart's default vs podgate's own (docs/configuration.md)")
    r.check("podSecurity: level \"off\" (quoted), version latest, action deny, namespaceLabels false by default, "
            "as podgate's own defaults", defaults)

    def namespace_labels():
        base = ["replicaCount=1", AUDIT_OFF]
        docs = r.render(sets=base + ["config.rules.podSecurity.namespaceLabels=true"])
        roles = find(docs, "ClusterRole")
        assert roles, "no ClusterRole with namespaceLabels on"
        eq(roles[0]["rules"], [NAMESPACES_RULE], "ClusterRole rules")
        assert find(docs, "ClusterRoleBinding"), "no ClusterRoleBinding"
        assert not find(docs, "Role"), "a Role without the audit's Lease"
        eq(pod_spec(docs)["automountServiceAccountToken"], True, "automountServiceAccountToken")
        eq(podgate_config(docs)[0]["rules"]["podSecurity"]["namespaceLabels"], True, "namespaceLabels")
        # A level alone reads no namespaces: no grant, no token.
        docs = r.render(sets=base + ["config.rules.podSecurity.level=restricted"])
        assert not find(docs, "ClusterRole"), "a ClusterRole for the level alone"
        eq(pod_spec(docs)["automountServiceAccountToken"], False, "automountServiceAccountToken without labels")
        # With the audit on (the default) the grant joins the audit's, once.
        rules = one(r.render(sets=["config.rules.podSecurity.namespaceLabels=true"]), "ClusterRole")["rules"]
        eq(rules, [IMAGESCAN_RULE, NAMESPACES_RULE] + AUDIT_RULES, "ClusterRole rules with the audit")
    r.check("podSecurity: namespaceLabels -> get, list, watch on namespaces and the token mounted; a level alone "
            "grants nothing", namespace_labels)

    def own_rbac():
        docs = r.render(sets=["replicaCount=1", AUDIT_OFF, "rbac.create=false",
                              "config.rules.podSecurity.namespaceLabels=true"])
        assert not find(docs, "ClusterRole"), "ClusterRole with rbac.create=false"
        eq(pod_spec(docs)["automountServiceAccountToken"], True, "token still mounted for the Namespace watch")
    r.check("podSecurity: namespaceLabels with rbac.create=false mounts the token and renders no RBAC", own_rbac)

    def watch_alert():
        pr = one(r.render(sets=["replicaCount=1", AUDIT_OFF, "metrics.prometheusRule.enabled=true",
                                "config.rules.podSecurity.namespaceLabels=true"]), "PrometheusRule")
        alerts = {a["alert"] for g in pr["spec"]["groups"] for a in g["rules"]}
        assert "PodgateScanStateUnsynced" in alerts, f"no watch alert with the Namespace watch: {sorted(alerts)}"
    r.check("podSecurity: namespaceLabels alone renders the lost-watch alert", watch_alert)

    def accepted():
        for sets in (["config.rules.podSecurity.level=baseline", "config.rules.podSecurity.version=v1.0"],
                     ["config.rules.podSecurity.level=restricted", "config.rules.podSecurity.version=v1.34",
                      "config.rules.podSecurity.action=warn"],
                     ["config.rules.podSecurity.level=privileged", "config.rules.podSecurity.version=v1.40"]):
            cfg, _ = podgate_config(r.render(sets=sets))
            for s_ in sets:
                key, value = s_.rsplit("=", 1)
                eq(str(cfg["rules"]["podSecurity"][key.rsplit(".", 1)[1]]), value, key)
    r.check("podSecurity: every level, v1.0 to a version newer than podgate knows, and warn are accepted", accepted)

    def refused():
        for sets, set_strings, where in (
                (["config.rules.podSecurity.level=strict"], [], "/config/rules/podSecurity/level"),
                (["config.rules.podSecurity.level=false"], [], "/config/rules/podSecurity/level"),
                ([], ["config.rules.podSecurity.version=1.34"], "/config/rules/podSecurity/version"),
                ([], ["config.rules.podSecurity.version=v1.034"], "/config/rules/podSecurity/version"),
                ([], ["config.rules.podSecurity.version=v2.0"], "/config/rules/podSecurity/version"),
                (["config.rules.podSecurity.action=off"], [], "/config/rules/podSecurity/action"),
                ([], ["config.rules.podSecurity.namespaceLabels=yes"], "/config/rules/podSecurity/namespaceLabels"),
                (["config.rules.podSecurity.exemptions=x"], [], "exemptions")):
            r.render_fails(where, sets=sets, set_strings=set_strings)
    r.check("podSecurity: schema refuses an unknown level, a bare off, versions PSA refuses, action off, a string "
            "namespaceLabels and unknown keys", refused)


def continuous_audit_checks(r):
    """config.audit: the chart turns it on, fills in the Lease, grants what it uses and names the Pod."""
    def rules_of(docs):
        roles = find(docs, "ClusterRole")
        return roles[0]["rules"] if roles else []

    def env_of(docs):
        return {e["name"]: e for e in container(docs).get("env", [])}

    def config_filled():
        cfg, _ = podgate_config(r.render())
        values = yaml.safe_load((CHART / "values.yaml").read_text())["config"]["audit"]
        eq(values["lease"], {"namespace": "", "name": "", "duration": "15s"}, "values.yaml audit.lease (the chart fills it)")
        eq(cfg["audit"], {**values, "lease": {"namespace": NAMESPACE, "name": f"{RELEASE}-audit", "duration": "15s"}},
           "rendered audit")
        eq(cfg["audit"]["enabled"], True, "audit.enabled (the chart turns it on)")
        eq(cfg["audit"]["reports"], "wgpolicyk8s.io/v1alpha2", "audit.reports")
        other = podgate_config(r.render(release="gate", namespace="security"))[0]["audit"]["lease"]
        eq(other, {"namespace": "security", "name": "gate-podgate-audit", "duration": "15s"}, "lease of release gate")
        for fullname_, lease in (("x" * 60, "x" * 60 + "-au"), ("x" * 62, "x" * 62)):
            cut = podgate_config(r.render(sets=[f"fullnameOverride={fullname_}"]))[0]["audit"]["lease"]["name"]
            eq(cut, lease, f"lease name of a {len(fullname_)}-character fullname (cut to 63, no trailing '-')")
            assert re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", cut), cut
        own = podgate_config(r.render(sets=["config.audit.lease.namespace=leases",
                                            "config.audit.lease.name=my-lease"]))[0]["audit"]["lease"]
        eq(own, {"namespace": "leases", "name": "my-lease", "duration": "15s"}, "lease as set")
        # podgate refuses an empty lease name even with the audit off: the chart fills it anyway.
        off = podgate_config(r.render(sets=[AUDIT_OFF]))[0]["audit"]
        eq((off["enabled"], off["lease"]["name"]), (False, f"{RELEASE}-audit"), "audit off: enabled, lease name")
    r.check("continuous audit: on by default; podgate.yaml's audit.lease gets the release namespace and "
            "<fullname>-audit (cut to 63) unless set", config_filled)

    def cluster_rules():
        eq(rules_of(r.render(sets=["replicaCount=1"])), AUDIT_RULES, "ClusterRole rules (audit only, one replica)")
        eq(rules_of(r.render(sets=["replicaCount=1", "config.audit.reports=openreports.io/v1alpha1"])),
           AUDIT_PODS_RULES + [OPENREPORTS_RULE, EVENTS_RULE], "ClusterRole rules with openreports.io")
        eq(rules_of(r.render(sets=["replicaCount=1", "config.audit.reports=none"])),
           AUDIT_PODS_RULES + [EVENTS_RULE], "ClusterRole rules with reports none")
        eq(rules_of(r.render(sets=["replicaCount=1", "config.audit.events=false"])),
           AUDIT_PODS_RULES + [POLICYREPORTS_RULE], "ClusterRole rules with events off")
        eq(rules_of(r.render(sets=["replicaCount=1", "config.audit.reports=none", "config.audit.events=false"])),
           AUDIT_PODS_RULES, "ClusterRole rules with neither reports nor events")
        docs = r.render(sets=["replicaCount=1"])
        eq(pod_spec(docs)["automountServiceAccountToken"], True, "token mounted for the audit alone")
        binding = one(docs, "ClusterRoleBinding")
        eq(binding["subjects"], [{"kind": "ServiceAccount", "name": one(docs, "ServiceAccount")["metadata"]["name"],
                                  "namespace": NAMESPACE}], "ClusterRoleBinding subjects")
        for rule in rules_of(docs):
            assert "*" not in rule["verbs"] + rule["resources"] + rule["apiGroups"], f"wildcard in {rule}"
    r.check("continuous audit: ClusterRole lists/watches pods, gets replicasets and jobs, writes the reports "
            "group of config.audit.reports (none: no rule) and events in both groups (events off: no rule)",
            cluster_rules)

    def lease_role():
        docs = r.render()
        role = one(docs, "Role")
        eq(role["metadata"]["namespace"], NAMESPACE, "Role namespace")
        eq(role["rules"], lease_rules(f"{RELEASE}-audit"), "Role rules (get/update on the Lease, create)")
        binding = one(docs, "RoleBinding")
        eq(binding["metadata"]["namespace"], NAMESPACE, "RoleBinding namespace")
        eq(binding["roleRef"], {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                "name": role["metadata"]["name"]}, "roleRef")
        eq(binding["subjects"], [{"kind": "ServiceAccount", "name": one(docs, "ServiceAccount")["metadata"]["name"],
                                  "namespace": NAMESPACE}], "RoleBinding subjects")
        assert not [x for x in rules_of(docs) if "coordination.k8s.io" in x["apiGroups"]], \
            "Leases granted cluster-wide"
        moved = r.render(sets=["config.audit.lease.namespace=leases", "config.audit.lease.name=my-lease"])
        eq(one(moved, "Role")["metadata"]["namespace"], "leases", "Role follows audit.lease.namespace")
        eq(one(moved, "RoleBinding")["metadata"]["namespace"], "leases", "RoleBinding follows it")
        eq(one(moved, "RoleBinding")["subjects"][0]["namespace"], NAMESPACE, "subject stays in the release namespace")
        eq(one(moved, "Role")["rules"], lease_rules("my-lease"), "Role rules name audit.lease.name")
        other = r.render(release="gate", namespace="security")
        eq(one(other, "Role")["metadata"]["namespace"], "security", "Role in release namespace security")
        eq(one(other, "Role")["rules"][0]["resourceNames"], ["gate-podgate-audit"], "resourceNames of release gate")
    r.check("continuous audit: a Role and RoleBinding in the Lease's namespace (the release's by default) grant "
            "get/update on that Lease only, and create", lease_role)

    def pod_env():
        env = env_of(r.render())
        eq(env.get("POD_NAME"), {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
           "POD_NAME")
        eq(env.get("POD_NAMESPACE"),
           {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}, "POD_NAMESPACE")
        full = container(r.render(files=["full-values.yaml"]))["env"]
        eq([e["name"] for e in full], ["POD_NAME", "POD_NAMESPACE", "TZ"], "downward API entries and values' env")
        eq(full[2], {"name": "TZ", "value": "UTC"}, "values' env kept")
        mine = container(r.render(sets=["env[0].name=POD_NAME", "env[0].value=gate-1"]))["env"]
        eq(mine, [{"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                  {"name": "POD_NAME", "value": "gate-1"}], "an env entry named POD_NAME replaces the chart's")
    r.check("continuous audit: POD_NAME and POD_NAMESPACE from the downward API, merged with `env` (which wins)",
            pod_env)

    def disabled():
        docs = r.render(sets=[AUDIT_OFF])
        eq(podgate_config(docs)[0]["audit"]["enabled"], False, "audit.enabled")
        for rule in AUDIT_RULES:
            assert rule not in rules_of(docs), f"audit rule {rule} with the audit off"
        eq(rules_of(docs), [IMAGESCAN_RULE], "ClusterRole rules (the scan store's only)")
        assert not find(docs, "Role") and not find(docs, "RoleBinding"), "Lease Role with the audit off"
        env = env_of(docs)
        assert "POD_NAME" not in env and "POD_NAMESPACE" not in env, f"downward API env with the audit off: {env}"
        assert "env" not in container(docs), "an env list with nothing in it"
        pr = one(r.render(sets=[AUDIT_OFF, "metrics.prometheusRule.enabled=true"]), "PrometheusRule")
        names = {a["alert"] for g in pr["spec"]["groups"] for a in g["rules"]}
        assert not names & AUDIT_ALERTS, f"audit alerts with the audit off: {sorted(names & AUDIT_ALERTS)}"
        alone = r.render(sets=[AUDIT_OFF, "replicaCount=1"])
        for kind in ("ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"):
            assert not find(alone, kind), f"{kind} with the audit off and one replica"
        eq(pod_spec(alone)["automountServiceAccountToken"], False, "token with the audit off and one replica")
    r.check("continuous audit: config.audit.enabled=false -> no audit rules, no Lease Role, no POD_* env, no audit "
            "alerts (and with one replica no RBAC and no token)", disabled)

    def alerts():
        pr = one(r.render(files=["monitoring-values.yaml"]), "PrometheusRule")
        a = {x["alert"]: x for g in pr["spec"]["groups"] for x in g["rules"]}
        sel = 'job="podgate",namespace="podgate"'
        eq(a["PodgateMaliciousImageRunning"]["expr"],
           f'max by (namespace, job) (podgate_audit_running_containers{{{sel},scan="malicious"}}) > 0', "malicious expr")
        eq(a["PodgateMaliciousImageRunning"]["for"], "1m", "malicious for")
        for s in ("kubectl get polr -A", "podgate audit", "MaliciousImageRunning"):
            assert s in a["PodgateMaliciousImageRunning"]["annotations"]["description"], f"description lacks {s!r}"
        eq(a["PodgateAuditNoLeader"]["expr"],
           f"sum by (namespace, job) (podgate_audit_leader{{{sel}}}) == 0 and on (namespace, job) "
           f"sum by (namespace, job) (up{{{sel}}}) > 0", "no-leader expr")
        eq(a["PodgateAuditNoLeader"]["for"], "10m", "no-leader for")
        assert "podgate/podgate-audit" in a["PodgateAuditNoLeader"]["annotations"]["description"], "Lease not named"
        eq(a["PodgateRunningPodsViolate"]["expr"],
           f'max by (namespace, job) (podgate_audit_running_pods{{{sel},verdict="fail"}}) > 0', "violate expr")
        eq(a["PodgateRunningPodsViolate"]["for"], "1h", "violate for")
    r.check("continuous audit: PodgateMaliciousImageRunning (critical, 1m), PodgateAuditNoLeader (10m, only with a "
            "target up) and PodgateRunningPodsViolate (1h) over the leader's gauges", alerts)

    def dashboard():
        dash = json.loads((CHART / "dashboards" / "podgate.json").read_text())
        panels = dash["panels"]
        start = next(i for i, p in enumerate(panels) if p["type"] == "row" and p["title"] == "Running now")
        row = panels[start + 1:]
        assert not [p for p in row if p["type"] == "row"], "a row after 'Running now'"
        used = set()
        for p in row:
            eq(p["datasource"], {"type": "prometheus", "uid": "${datasource}"}, f"panel {p['title']} datasource")
            for t in p["targets"]:
                assert DASHBOARD_SELECTOR in t["expr"], f"{p['title']}: {t['expr']} ignores the variables"
                names = metric_names(t["expr"])
                assert names and names <= AUDIT_METRICS, f"{p['title']}: {t['expr']} uses {names}"
                used |= names
        eq(sorted(AUDIT_METRICS - used), [], "audit metrics without a panel")
        exprs = " ".join(t["expr"] for p in row for t in p["targets"])
        for q in ("max by (verdict) (podgate_audit_running_pods", "max by (scan) (podgate_audit_running_containers",
                  "max by (rule, action) (podgate_audit_running_violations",
                  "histogram_quantile(0.5, sum by (le) (rate(podgate_audit_verdict_to_report_seconds_bucket",
                  "histogram_quantile(0.99, sum by (le) (rate(podgate_audit_verdict_to_report_seconds_bucket"):
            assert q in exprs, f"no {q}"
        types = {p["type"] for p in row}
        assert {"stat", "timeseries"} <= types, types
    r.check("continuous audit: the dashboard's last row 'Running now' charts every podgate_audit_* metric (running "
            "gauges as max over replicas, verdict-to-report p50/p99) with the dashboard's variables", dashboard)


def notes_checks(r):
    """NOTES.txt is not part of `helm template` output: render it through tpl in a copy of the chart."""
    def notes(sets=()):
        chart = r.workdir / "notes-chart"
        if not chart.exists():
            shutil.copytree(CHART, chart)
            shutil.copy(CHART / "templates" / "NOTES.txt", chart / "notes.txt")
            (chart / "templates" / "zz-notes.yaml").write_text(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: rendered-notes\n"
                "data:\n  notes: {{ tpl (.Files.Get \"notes.txt\") . | toJson }}\n")
        docs = r.render(sets=sets, chart=chart, extra=["--show-only", "templates/zz-notes.yaml"])
        return docs[0]["data"]["notes"]

    def enforce():
        text = notes()
        assert "MODE: ENFORCE" in text and "failurePolicy: Fail" in text, text
        assert "labelGuard.enabled=true" in text, "no label-guard advice"
    r.check("NOTES: default install says ENFORCE, Fail, and warns about the mode label", enforce)

    def audit():
        text = notes(sets=["auditOnly=true", "replicaCount=1"])
        assert "MODE: AUDIT (auditOnly=true)" in text and "--set auditOnly=false" in text, text
        assert "WARNING: replicaCount=1" in text and "blocks Pod creation" not in text, text
    r.check("NOTES: auditOnly install says AUDIT and how to enforce; single replica warned", audit)

    def images():
        assert "IMAGE RULES" not in notes(), "image-rules note while they are off"
        text = notes(sets=["config.rules.images.action=warn", "config.rules.images.onResolveError=allow"])
        assert "IMAGE RULES: warn" in text and "egress" in text and "registryCredentials" in text, text
        assert "onResolveError=allow" in text, text
    r.check("NOTES: image rules on -> says they need registry egress, DNS and credentials (nothing when off)", images)

    def pod_security():
        assert "POD SECURITY STANDARDS" not in notes(), "pod-security note while the standards are off"
        text = notes(sets=["config.rules.podSecurity.level=baseline"])
        assert "POD SECURITY STANDARDS: level=baseline, version=latest, action=deny" in text, text
        assert "refused at kubectl apply" in text and "list-watches Namespaces" not in text, text
        text = notes(sets=["config.rules.podSecurity.namespaceLabels=true"])
        assert "POD SECURITY STANDARDS: level=off" in text and "never lower it" in text, text
        assert "refused at kubectl apply" not in text, "deny advice with only the labels, which may raise nothing"
    r.check("NOTES: the Pod Security Standards' level, version and action when on or with namespace labels (nothing "
            "when off)", pod_security)

    scan_on = ["config.rules.images.action=deny", "config.rules.images.scan.action=deny"]

    def scan_import():
        assert "SCAN RULE" not in notes() and "/v1/scans" not in notes(), "scan notes while the scan cache is off"
        text = notes(sets=scan_on + ["scanImport.token=t0k3n0123456789abcdef0123456789abcdef", "config.scans.store=sqlite"])
        for s in ["SCAN RULE: deny", "/var/lib/podgate/scans.db", "onUnscanned=deny",
                  f"get secret {RELEASE}-scan-import -o jsonpath='{{.data.token}}'", "Authorization: Bearer",
                  f"get secret {RELEASE}-tls -o jsonpath='{{.data.ca\\.crt}}'",
                  f"port-forward svc/{RELEASE} 8443:443",
                  f"--resolve {RELEASE}.{NAMESPACE}.svc:8443:127.0.0.1",
                  f"https://{RELEASE}.{NAMESPACE}.svc:8443/v1/scans",
                  "Pods that use it are refused",
                  "WARNING: each of the 2 replicas has its own scan cache", "config.scans.store=kubernetes"]:
            assert s in text, f"{s!r} not in NOTES:\n{text}"
        assert "t0k3n" not in text, "NOTES print the token"
        single = notes(sets=scan_on + ["scanImport.token=t0k3n0123456789abcdef0123456789abcdef", "replicaCount=1"])
        assert "has its own scan cache" not in single, "per-replica warning with one replica"
        shared = notes(sets=scan_on + ["scanImport.token=t0k3n0123456789abcdef0123456789abcdef"])
        for s in ["SCAN STORE: kubernetes", "ImageScan objects", "imagescans.podgate.io", f"ClusterRole {RELEASE}"]:
            assert s in shared, f"{s!r} not in NOTES:\n{shared}"
        assert "has its own scan cache" not in shared and "scans.db" not in shared, shared
        mild = notes(sets=scan_on + ["scanImport.token=t0k3n0123456789abcdef0123456789abcdef", "config.rules.images.scan.onUnscanned=warn"])
        assert "onUnscanned=warn" in mild and "Pods that use it are refused" not in mild, mild
    r.check("NOTES: scan rule and token -> how to import (token Secret, CA, port-forward to the Service, curl); "
            "the kubernetes store is shared, each replica has its own sqlite cache", scan_import)

    def scan_without_api():
        text = notes(sets=scan_on)
        assert "SCAN RULE: deny" in text and "import API is off" in text, text
        assert "/v1/scans" not in text, "import example without a token"
        api_only = notes(sets=["scanImport.existingSecret=mine"])
        assert "SCAN RULE" not in api_only and "get secret mine -o jsonpath" in api_only, api_only
    r.check("NOTES: scan rule without a token says the API is off; a token alone gives the import example",
            scan_without_api)

    def shared_claim():
        text = notes(sets=scan_on + ["scanImport.token=t0123456789abcdef0123456789abcdef", "scanCache.existingClaim=scans",
                                     "config.scans.store=sqlite"])
        assert "open one SQLite database on claim scans" in text and "replicaCount=1" in text, text
        assert "has its own scan cache" not in text, text
        assert "SQLite" not in notes(sets=scan_on + ["scanImport.token=t0123456789abcdef0123456789abcdef", "scanCache.existingClaim=scans",
                                                     "replicaCount=1"]), "claim warning with one replica"
    r.check("NOTES: existingClaim with several replicas warns that SQLite's WAL needs one host", shared_claim)

    def cluster_access():
        assert "TRIVY OPERATOR" not in notes() and "PULL SECRETS" not in notes(), "opt-in notes by default"
        text = notes(sets=["config.scans.sources.trivyOperator=true", "rbac.pullSecrets=true"])
        assert "TRIVY OPERATOR" in text and "no ReplicaSet" in text, text
        assert "PULL SECRETS" in text and "any Secret in the cluster" in text, text
    r.check("NOTES: Trivy Operator (the denied-Deployment caveat) and pull Secrets (the Secret access) are explained "
            "when on", cluster_access)

    def scanner_note():
        token = "scanImport.token=t0123456789abcdef0123456789abcdef"
        assert "SCANNER" not in notes(sets=[token]), "scanner note while it is off"
        text = notes(sets=[token, "scanner.enabled=true"])
        for s in [f"CronJob {RELEASE}-scanner", "config.audit.enabled", "GET /v1/scans/wanted", "-c scanner"]:
            assert s in text, f"{s!r} not in NOTES:\n{text}"
    r.check("NOTES: the scanner CronJob says it needs the continuous audit and where its log is", scanner_note)


def manifests_checks(r):
    """manifests/ is rendered from the chart by scripts/render-manifests.sh and committed."""
    manifests = REPO / "manifests"
    script = REPO / "scripts" / "render-manifests.sh"

    def committed_files(directory):
        # What `kubectl apply -f manifests/` reads: the directory's own files, not subdirectories.
        return sorted(p.name for p in directory.iterdir() if p.is_file())

    def no_drift():
        out = r.workdir / "rendered-manifests"
        proc = subprocess.run(["bash", str(script), str(out)], capture_output=True, text=True, timeout=180,
                              env={**os.environ, "HELM": r.helm}, cwd=REPO)
        assert proc.returncode == 0, f"scripts/render-manifests.sh failed: {proc.stderr.strip()}"
        rendered, committed = committed_files(out), committed_files(manifests)
        eq(committed, rendered, "files in manifests/ (run scripts/render-manifests.sh)")
        stale = [name for name in rendered if (out / name).read_bytes() != (manifests / name).read_bytes()]
        assert not stale, (f"out of date with the chart: manifests/{', manifests/'.join(stale)}; "
                           "run scripts/render-manifests.sh and commit the result")
        # The render must not depend on anything but the chart and the values: a second one is identical.
        again = r.workdir / "rendered-manifests-again"
        proc = subprocess.run(["bash", str(script), str(again)], capture_output=True, text=True, timeout=180,
                              env={**os.environ, "HELM": r.helm}, cwd=REPO)
        assert proc.returncode == 0, f"second render failed: {proc.stderr.strip()}"
        for name in rendered:
            assert (again / name).read_bytes() == (out / name).read_bytes(), f"two renders of {name} differ"
    r.check("manifests: a fresh scripts/render-manifests.sh render is byte-identical to the committed manifests/ "
            "(and to a second render)", no_drift)

    def installable():
        docs = []
        for name in committed_files(manifests):
            text = (manifests / name).read_text()
            assert name.endswith(".yaml"), f"manifests/{name}: kubectl apply -f manifests/ would try to apply it"
            file_docs = [d for d in yaml.safe_load_all(text) if d]
            assert file_docs, f"manifests/{name} holds no object"
            for d in file_docs:
                assert d.get("apiVersion") and d.get("kind"), f"manifests/{name}: a document without apiVersion/kind"
            assert "scripts/render-manifests.sh" in text.split("\n---", 1)[0], \
                f"manifests/{name}'s header does not say it is generated by scripts/render-manifests.sh"
            docs += file_docs
        ns = one(docs, "Namespace")
        eq(ns["metadata"]["name"], NAMESPACE, "Namespace name")
        eq(ns["metadata"]["labels"].get("pod-security.kubernetes.io/enforce"), "restricted", "Pod Security label")
        # The Namespace file sorts first, so `kubectl apply -f manifests/` creates it before its objects.
        eq(committed_files(manifests)[0], "00-namespace.yaml", "first file kubectl applies")
        assert not find(docs, "Secret"), "the manifests carry a Secret (a committed key or token)"
        for x in docs:
            if x["kind"] not in CLUSTER_SCOPED | {"Namespace"}:
                eq(x["metadata"].get("namespace"), NAMESPACE, f"{x['kind']} {x['metadata']['name']} namespace")
        eq(volume(docs, "tls")["secret"]["secretName"], "podgate-tls", "tls volume")
        for name, w in webhooks(docs).items():
            # Not base64 on purpose: the apiserver refuses the configuration until the CA is filled in.
            eq(w["clientConfig"].get("caBundle"), "CA_BUNDLE_BASE64", f"{name} caBundle placeholder")
            eq(w["clientConfig"]["service"], {"name": "podgate", "namespace": NAMESPACE,
                                              "path": "/validate" if name.startswith("enforce") else "/audit",
                                              "port": 443}, f"{name} service")
        header = (manifests / "podgate.yaml").read_text().split("\n---", 1)[0]
        for s in ["do not edit", "kubectl apply -f manifests/", "podgate-tls", "CA_BUNDLE_BASE64",
                  "podgate.podgate.svc.cluster.local", "scripts/gen-dev-cert.sh"]:
            assert s in header, f"manifests/podgate.yaml's header lacks {s!r}"
    r.check("manifests: only YAML objects in manifests/, Namespace first (restricted), no Secret, the user's TLS "
            "Secret and a caBundle placeholder, a header with the install steps", installable)


def docs_checks(r):
    def readme_values():
        keys, uncovered, rows = values_doc.analyse(CHART / "values.yaml")
        assert not uncovered, f"values without a '# --' description: {uncovered}"
        readme = (CHART / "README.md").read_text()
        missing = [k for k in keys if rows[k] not in readme]
        assert not missing, (f"README values table is missing or out of date for {missing}; regenerate with "
                             "python3 tests/chart/values_doc.py charts/podgate/values.yaml table")
    r.check("README: the values table lists every value of values.yaml with its current default", readme_values)

    def schema_covers_values():
        schema = json.loads((CHART / "values.schema.json").read_text())
        values = yaml.safe_load((CHART / "values.yaml").read_text())
        eq(sorted(set(schema["properties"]) - {"global"}), sorted(values), "schema top-level keys vs values.yaml")
    r.check("values.schema.json: describes exactly the top-level keys of values.yaml", schema_covers_values)


def crd_checks(r):
    """The ImageScan CRD against the apply bodies podgate writes (tests/chart/crd_schema.py)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import crd_schema
    for name, fn in crd_schema.checks():
        r.check(name, fn)


def pin_checks(r):
    """Digest pinning: the MutatingWebhookConfiguration that config.rules.images.pinDigests adds."""
    pinned = lambda *sets, files=("images-values.yaml",): r.render(files=list(files), sets=list(sets))  # noqa: E731

    def mwc(docs):
        m = one(docs, "MutatingWebhookConfiguration")
        eq(len(m["webhooks"]), 1, "mutating webhooks")
        return m, m["webhooks"][0]

    def absent_by_default():
        for docs in (r.render(), r.render(files=["full-values.yaml"]), pinned("config.rules.images.pinDigests=false")):
            assert not find(docs, "MutatingWebhookConfiguration"), "a MutatingWebhookConfiguration without pinDigests"
    r.check("pin: no MutatingWebhookConfiguration unless config.rules.images.pinDigests is true", absent_by_default)

    def shape():
        docs = pinned()
        m, w = mwc(docs)
        enforce = webhooks(docs)["enforce.podgate.io"]
        eq(m["metadata"]["name"], fullname(docs), "name")
        eq(w["name"], "pin.podgate.io", "webhook name")
        eq(w["clientConfig"]["service"], {**enforce["clientConfig"]["service"], "path": "/mutate"}, "service")
        eq(w["clientConfig"]["caBundle"], one(docs, "Secret")["data"]["ca.crt"], "caBundle")
        eq(w["clientConfig"]["caBundle"], enforce["clientConfig"]["caBundle"], "caBundle vs the enforce webhook")
        eq(w["namespaceSelector"], enforce["namespaceSelector"], "namespaceSelector (audit and off namespaces unchanged)")
        eq(w["rules"], EXPECTED_RULES, "rules (pod-bearing kinds, ephemeralcontainers; no PersistentVolumes)")
        eq(w["reinvocationPolicy"], "IfNeeded", "reinvocationPolicy")
        eq(w["sideEffects"], "None", "sideEffects")
        eq(w["matchPolicy"], "Equivalent", "matchPolicy")
        eq(w["failurePolicy"], enforce["failurePolicy"], "failurePolicy follows the enforce webhook")
        eq(w["timeoutSeconds"], 5, "timeoutSeconds")
        eq(w["admissionReviewVersions"], ["v1"], "admissionReviewVersions")
        assert "objectSelector" not in w, "objectSelector rendered although none is set"
        cfg, _ = podgate_config(docs)
        eq(cfg["rules"]["images"]["pinDigests"], True, "podgate.yaml rules.images.pinDigests")
    r.check("pin: pinDigests renders pin.podgate.io -> /mutate with the enforce webhook's service, caBundle, "
            "namespaces, rules and failurePolicy, reinvocationPolicy IfNeeded, sideEffects None", shape)

    def settings():
        _, w = mwc(pinned("webhook.mutate.failurePolicy=Ignore", "webhook.mutate.timeoutSeconds=3",
                          "webhook.objectSelector.matchLabels.team=a"))
        eq(w["failurePolicy"], "Ignore", "failurePolicy")
        eq(w["timeoutSeconds"], 3, "timeoutSeconds")
        eq(w["objectSelector"], {"matchLabels": {"team": "a"}}, "objectSelector")
        eq(mwc(pinned("auditOnly=true"))[1]["failurePolicy"], "Ignore", "auditOnly: the enforce webhook's Ignore")
        excluded = mwc(r.render(files=["images-values.yaml"], release="gate", namespace="security"))[1]
        eq(excluded["namespaceSelector"]["matchExpressions"][0]["values"], ["kube-system", "security"], "excluded")
    r.check("pin: webhook.mutate.failurePolicy/timeoutSeconds, the shared objectSelector, auditOnly and the "
            "excluded namespaces apply", settings)

    def cert_manager():
        docs = pinned(files=("images-values.yaml", "cert-manager-values.yaml"))
        m, w = mwc(docs)
        eq(m["metadata"]["annotations"]["cert-manager.io/inject-ca-from"],
           one(docs, "ValidatingWebhookConfiguration")["metadata"]["annotations"]["cert-manager.io/inject-ca-from"],
           "inject-ca-from")
        assert "caBundle" not in w["clientConfig"], "caBundle rendered although cert-manager injects it"
    r.check("pin: with cert-manager the mutating webhook gets the same inject-ca-from and no caBundle", cert_manager)

    def refused():
        r.render_fails("pinDigests needs config.rules.images.action", sets=["config.rules.images.pinDigests=true"])
        r.render_fails("mutate", files=["images-values.yaml"], sets=["webhook.mutate.failurePolicy=Sometimes"])
        r.render_fails("mutate", files=["images-values.yaml"], sets=["webhook.mutate.timeoutSeconds=31"])
    r.check("pin: refused with the image rules off, a bad failurePolicy or timeout", refused)


def custom_workload_checks(r):
    """config.workloads.custom: the listed custom resources are routed to every webhook, and the
    entries reach podgate.yaml as written."""
    values = r.workdir / "custom-workloads-values.yaml"
    values.write_text(yaml.safe_dump({"config": {
        "rules": {"images": {"action": "warn", "pinDigests": True}},
        "workloads": {"custom": [
            {"group": "argoproj.io", "kind": "Rollout", "podSpecPath": "spec.template.spec"},
            {"group": "serving.knative.dev", "kind": "Service", "resource": "services", "versions": ["v1"],
             "podSpecPath": "spec.template.spec"},
        ]}}}))
    custom_rules = [
        {"apiGroups": ["argoproj.io"], "apiVersions": ["*"], "operations": ["CREATE", "UPDATE"],
         "resources": ["rollouts"], "scope": "Namespaced"},
        {"apiGroups": ["serving.knative.dev"], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"],
         "resources": ["services"], "scope": "Namespaced"},
    ]

    def routed():
        docs = r.render(files=[str(values)])
        hooks = webhooks(docs)
        eq(hooks["enforce.podgate.io"]["rules"], EXPECTED_RULES + custom_rules + [PV_RULE], "enforce rules")
        eq(hooks["audit.podgate.io"]["rules"], EXPECTED_RULES + custom_rules, "audit rules")
        eq(one(docs, "MutatingWebhookConfiguration")["webhooks"][0]["rules"], EXPECTED_RULES + custom_rules,
           "pin rules (/mutate pins the custom templates' images too)")
        cfg, _ = podgate_config(docs)
        eq(cfg["workloads"]["custom"][0], {"group": "argoproj.io", "kind": "Rollout", "podSpecPath": "spec.template.spec"},
           "podgate.yaml workloads.custom[0] as written (podgate applies the same defaults)")
        eq(len(cfg["workloads"]["custom"]), 2, "podgate.yaml workloads.custom entries")
    r.check("workloads.custom: each entry is a rule (group, versions default *, resource default lowercase kind + s) "
            "of the enforce, audit and pin webhooks, and reaches podgate.yaml", routed)

    def none_by_default():
        hooks = webhooks(r.render())
        eq(hooks["audit.podgate.io"]["rules"], EXPECTED_RULES, "audit rules without workloads.custom")
    r.check("workloads.custom: no extra rules by default", none_by_default)

    def refused():
        for entry, why in [("{kind: Rollout, podSpecPath: spec.template.spec}", "group"),
                           ("{group: argoproj.io, kind: Rollout}", "podSpecPath"),
                           ("{group: Argo.io, kind: Rollout, podSpecPath: spec}", "group"),
                           ("{group: argoproj.io, kind: Rollout, podSpecPath: 'spec.containers[0]'}", "podSpecPath"),
                           ("{group: argoproj.io, kind: Rollout, podSpecPath: spec, plural: rollouts}", "plural")]:
            bad = r.workdir / "custom-workloads-bad.yaml"
            bad.write_text("config:\n  workloads:\n    custom:\n      - " + entry + "\n")
            r.render_fails(why, files=[str(bad)])
    r.check("workloads.custom: the schema refuses an entry without group or podSpecPath, a bad group or path, "
            "an unknown key", refused)

    def loads():
        binary = os.environ.get("PODGATE_BINARY") or str(REPO / "build" / "podgate")
        if not os.access(binary, os.X_OK):
            raise Skip(f"{binary} not built (set PODGATE_BINARY)")
        _, text = podgate_config(r.render(files=[str(values)]))
        cfg = yaml.safe_load(text)
        cfg["rules"]["images"] = {"action": "off"}  # no registry here: only the workloads matter
        path = r.workdir / "podgate-custom.yaml"
        path.write_text(yaml.safe_dump(cfg))
        rollout = r.workdir / "rollout.yaml"
        rollout.write_text("apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: web}\nspec:\n"
                           "  template:\n    spec:\n      containers:\n        - {name: app, image: nginx:1.27, "
                           "securityContext: {privileged: true}}\n")
        proc = subprocess.run([binary, "check", "--config", str(path), "-f", str(rollout)], capture_output=True,
                              text=True, timeout=60)
        eq(proc.returncode, 1, f"podgate check exit code ({proc.stderr.strip()})")
        assert "deny [privileged] Rollout" in proc.stdout, proc.stdout
    r.check("podgate binary: the rendered workloads.custom loads, and check denies a privileged Rollout", loads)


def binary_checks(r):
    """If podgate is built, the rendered podgate.yaml must load in it and decide as the mode says."""
    binary = os.environ.get("PODGATE_BINARY") or str(REPO / "build" / "podgate")
    fixture = REPO / "tests" / "fixtures" / "reviews" / "pod-privileged.json"

    def review(text, label):
        if not os.access(binary, os.X_OK):
            raise Skip(f"{binary} not built (set PODGATE_BINARY)")
        path = r.workdir / f"podgate-{label}.yaml"
        # With the scan rule on, `podgate review` opens scans.database as the server does; the
        # pod's volume is not here, so the database goes to the work dir (the serve check below
        # covers the real path).
        cfg = yaml.safe_load(text) or {}
        if isinstance(cfg.get("scans"), dict) and cfg["scans"].get("database"):
            cfg["scans"]["database"] = str(r.workdir / f"scans-{label}.db")
            text = yaml.safe_dump(cfg)
        path.write_text(text)
        proc = subprocess.run([binary, "review", "--config", str(path), str(fixture)], capture_output=True,
                              text=True, timeout=60)
        assert proc.returncode == 0, f"podgate review: {proc.stderr.strip()}"
        return json.loads(proc.stdout)["response"]

    def decide(files, expect_allowed, label):
        def fn():
            _, text = podgate_config(r.render(files=files))
            eq(review(text, label)["allowed"], expect_allowed, "response.allowed for a privileged Pod")
        return fn

    r.check("podgate binary: default podgate.yaml loads and denies a privileged Pod", decide((), False, "default"))
    r.check("podgate binary: auditOnly podgate.yaml loads and allows it",
            decide(["audit-values.yaml"], True, "audit"))
    r.check("podgate binary: full-values podgate.yaml loads and denies it", decide(["full-values.yaml"], False, "full"))
    r.check("podgate binary: scan-values podgate.yaml (scan rule on) loads and denies it",
            decide(["scan-values.yaml"], False, "scan"))

    def manifests():
        _, text = manifests_config()
        eq(review(text, "manifests")["allowed"], False, "response.allowed for a privileged Pod")
    r.check("podgate binary: manifests/podgate.yaml's config loads and denies it", manifests)

    def images():
        # podgate opens every caFile and credentialsFile at start: put real files where the pod's
        # mounts would be, and point the rendered config there.
        if not os.access(binary, os.X_OK):
            raise Skip(f"{binary} not built (set PODGATE_BINARY)")
        docs = r.render(files=["images-values.yaml"])
        _, text = podgate_config(docs)
        root = r.workdir / "registries"
        ca = None
        for f in mounted_files(docs):
            if not f.startswith(REGISTRY_MOUNTS + "/"):
                continue
            local = root / f[len(REGISTRY_MOUNTS) + 1:]
            local.parent.mkdir(parents=True, exist_ok=True)
            if local.name == ".dockerconfigjson":
                auth = base64.b64encode(b"user:not-a-real-password").decode()
                local.write_text(json.dumps({"auths": {"harbor.example.com": {"auth": auth}}}))
            else:
                if ca is None:
                    key = r.workdir / "registry-ca.key"
                    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                            "-keyout", str(key), "-subj", "/CN=podgate chart test registry CA", "-days", "1",
                            "-out", str(r.workdir / "registry-ca.crt"))
                    ca = (r.workdir / "registry-ca.crt").read_text()
                local.write_text(ca)
        response = review(text.replace(REGISTRY_MOUNTS + "/", f"{root}/"), "images")
        eq(response["allowed"], False, "response.allowed")
        rules = [v["rule"] for v in json.loads(response["auditAnnotations"]["violations"])]
        # The fixture's images come from registries outside trustedRegistries: refused without a
        # network call, so this check needs no registry.
        assert "images" in rules, f"no image-rule violation: {rules}"
    r.check("podgate binary: images-values podgate.yaml loads with its CA and credential files and refuses "
            "untrusted images", images)

    def scan_api():
        # The whole chain the chart wires, minus Kubernetes: the rendered podgate.yaml, with every
        # file it names moved from its mount point to a local directory standing in for that volume
        # (the Helm-generated TLS Secret, the token Secret, the scan-cache emptyDir), served by
        # `podgate serve` on loopback; a report posted with the Secret's token must land in the
        # database on the scan-cache "volume".
        if not os.access(binary, os.X_OK):
            raise Skip(f"{binary} not built (set PODGATE_BINARY)")
        docs = r.render(files=["scan-values.yaml"])
        cfg, _ = podgate_config(docs)
        secrets = {s["metadata"]["name"]: s for s in find(docs, "Secret")}
        vols = {v["name"]: v for v in pod_spec(docs)["volumes"]}
        root = r.workdir / "scan-pod"
        local_dirs = {}
        for m in container(docs)["volumeMounts"]:
            local = root / m["name"]
            local.mkdir(parents=True, exist_ok=True)
            source = vols[m["name"]].get("secret")
            if source:
                data = secrets[source["secretName"]]["data"]
                items = source.get("items") or [{"key": k, "path": k} for k in data]
                for item in items:
                    (local / item["path"]).write_bytes(base64.b64decode(data[item["key"]]))
            local_dirs[m["mountPath"].rstrip("/")] = local

        def relocate(path, what):
            m = mount_of(docs, path)
            assert m is not None, f"{what} {path} is on no volume the pod mounts"
            root_path = m["mountPath"].rstrip("/")
            return str(local_dirs[root_path]) + path[len(root_path):]

        tls = cfg["server"]["tls"]
        tls["certFile"] = relocate(tls["certFile"], "server.tls.certFile")
        tls["keyFile"] = relocate(tls["keyFile"], "server.tls.keyFile")
        database = relocate(cfg["scans"]["database"], "scans.database")
        token_file = relocate(cfg["scans"]["apiTokenFile"], "scans.apiTokenFile")
        cfg["scans"].update({"database": database, "apiTokenFile": token_file})
        port, metrics_port = free_port(), free_port()
        cfg["server"].update({"listen": f"127.0.0.1:{port}", "metricsListen": f"127.0.0.1:{metrics_port}"})
        # No apiserver here, and the audit (on in the chart) needs one: tests/e2e/run.sh serves it.
        cfg.setdefault("audit", {})["enabled"] = False
        config_path = r.workdir / "podgate-scan-serve.yaml"
        config_path.write_text(yaml.safe_dump(cfg, sort_keys=False))

        host = f"{RELEASE}.{NAMESPACE}.svc"
        tls_secret = secrets[vols["tls"]["secret"]["secretName"]]
        ca_file = r.workdir / "scan-serve-ca.crt"
        ca_file.write_bytes(base64.b64decode(tls_secret["data"]["ca.crt"]))
        context = ssl.create_default_context(cafile=str(ca_file))

        class Connection(http.client.HTTPSConnection):
            # Connect to loopback but verify the certificate for the Service's name, like --resolve.
            def connect(self):
                self.sock = context.wrap_socket(socket.create_connection(("127.0.0.1", port), self.timeout),
                                                server_hostname=host)

        def call(method, path, body=None, token=None):
            conn = Connection(host, port, timeout=10)
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                return response.status, response.read().decode()
            finally:
                conn.close()

        token = (local_dirs["/etc/podgate/scan-import"] / "token").read_text()
        report = (REPO / "tests" / "fixtures" / "scans" / "trivy-alpine.json").read_bytes()
        digest = re.search(r"sha256:[0-9a-f]{64}", json.loads(report)["Metadata"]["RepoDigests"][0]).group(0)
        log = open(r.workdir / "podgate-scan-serve.log", "w+")
        server = subprocess.Popen([binary, "serve", "--config", str(config_path)], stdout=log, stderr=log)
        try:
            deadline = time.monotonic() + 20
            while True:
                if server.poll() is not None:
                    log.seek(0)
                    raise AssertionError(f"podgate serve exited {server.returncode}: {log.read()[-2000:]}")
                try:
                    if call("GET", "/readyz")[0] == 200:
                        break
                except OSError:
                    pass
                assert time.monotonic() < deadline, "podgate serve not ready within 20 s"
                time.sleep(0.1)
            eq(call("POST", "/v1/scans", report, token="wrong")[0], 401, "POST with a wrong token")
            status, body = call("POST", "/v1/scans", report, token=token)
            eq(status, 201, f"POST /v1/scans with the mounted token ({body.strip()})")
            status, body = call("GET", f"/v1/scans/{digest}", token=token)
            eq(status, 200, "GET /v1/scans/<digest>")
            assert digest in body, body
            assert os.path.getsize(database) > 0, f"no database at {database}"
            with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10) as m:
                metrics = m.read().decode()
            assert re.search(r"^podgate_scan_records 1(\.0+)?$", metrics, re.M), "podgate_scan_records is not 1"
            assert re.search(r'^podgate_scan_imports_total\{[^}]*result="stored"[^}]*\} 1', metrics, re.M), \
                "no stored import counted"
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
            log.close()
    r.check("podgate binary: scan-values podgate.yaml serves the scan API with the mounted token and stores a "
            "report in the database on the scan-cache volume", scan_api)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--helm", required=True)
    parser.add_argument("--actionlint", default="", help="actionlint binary (scripts/install-actionlint.sh)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="podgate-chart-") as workdir:
        # Keep helm away from the user's own config, cache and cluster.
        os.environ.update({"HELM_CACHE_HOME": f"{workdir}/helm-cache", "HELM_CONFIG_HOME": f"{workdir}/helm-config",
                           "HELM_DATA_HOME": f"{workdir}/helm-data", "KUBECONFIG": f"{workdir}/no-kubeconfig"})
        r = Runner(args.helm, workdir)
        for group in [lint_checks, default_checks, tls_checks, lookup_checks, audit_checks, monitoring_checks,
                      full_checks, image_checks, scan_checks, scanner_checks, rbac_checks, pod_security_checks,
                      continuous_audit_checks,
                      schema_checks, pin_checks, custom_workload_checks, gate_checks.match_condition_checks, gate_checks.priority_checks,
                      lambda r: gate_checks.release_checks(r, args.actionlint),
                      notes_checks, manifests_checks, docs_checks, crd_checks, binary_checks]:
            group(r)
        summary = f"{r.passed} passed, {r.failed} failed"
        if r.skipped:
            summary += f", {r.skipped} skipped"
        print(summary)
        return 1 if r.failed else 0


if __name__ == "__main__":
    sys.exit(main())
