#!/usr/bin/env python3
"""bench/audit.sh's helper: talks to the kube-apiserver (and podgate's scan API) directly, with the
standard library only, so loading 10,000 Pods takes a minute and not an hour of kubectl runs.

  audit_load.py load SERVER PKI PODS IMAGES
      10 namespaces, IMAGES ReplicaSets (the workloads: no Deployment, no controller of their own),
      PODS Pods spread evenly over them (each owned by its ReplicaSet, controller: true), each as a
      real Pod looks (2 containers: the RS's app image and a shared sidecar; env, resources, probes,
      labels, annotations, a projected token volume), then each Pod's status as a kubelet would
      write it (PATCH /status, merge patch: Running, containerStatuses with imageID). 8 connections.
      Prints the seconds each step took and the mean size of a Pod as the apiserver serves it.
  audit_load.py verdicts DIR IMAGES
      IMAGES + 1 clean ScanVerdicts (one per app digest and the sidecar's), one file each.
  audit_load.py count-reports SERVER PKI
      How many PolicyReports exist (a list with limit=1 and its remainingItemCount).
  audit_load.py wait-reports SERVER PKI WANT TIMEOUT
      Polls count-reports every 0.25 s until WANT exist; prints the seconds it took (exit 1 on timeout).
  audit_load.py verdict-to-report SERVER PKI PODGATE_URL TOKEN_FILE RS_INDEX [RS_INDEX...]
      For each RS index: POSTs a malicious ScanVerdict for its app digest to PODGATE_URL/v1/scans,
      then polls the RS's PolicyReport (podgate-<rs uid>) every 10 ms until a scan result is fail.
      Prints one line per RS: index, seconds.

The names, images and digests are a function of the indexes (app_digest(i), rs_name(i)), so the
other subcommands find what `load` made without reading anything back but the ReplicaSets' uids.
"""

import hashlib
import http.client
import json
import os
import queue
import ssl
import sys
import threading
import time
import urllib.parse

NAMESPACES = 10
CONNECTIONS = 8
REGISTRY = "registry.bench.invalid"
SIDECAR_IMAGE = f"{REGISTRY}/mesh/proxy:1.0"


def app_image(i):
    return f"{REGISTRY}/team-{i}/app:1.{i}"


def app_digest(i):
    return "sha256:" + hashlib.sha256(f"app-{i}".encode()).hexdigest()


def sidecar_digest():
    return "sha256:" + hashlib.sha256(b"proxy-1.0").hexdigest()


def namespace_of(i):
    return f"bench-{i % NAMESPACES}"


def rs_hash(i):
    return hashlib.sha256(f"rs-{i}".encode()).hexdigest()[:10]


def rs_name(i):
    return f"team-{i}-app-{rs_hash(i)}"


def pod_suffix(j):
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    s = ""
    for _ in range(5):
        s += alphabet[j % len(alphabet)]
        j //= len(alphabet)
    return s


class Api:
    """One keep-alive HTTPS connection to the apiserver as the admin (client certificate)."""

    def __init__(self, server, pki):
        u = urllib.parse.urlparse(server)
        self.host, self.port = u.hostname, u.port
        self.ctx = ssl.create_default_context(cafile=os.path.join(pki, "cluster-ca.crt"))
        self.ctx.load_cert_chain(os.path.join(pki, "admin.crt"), os.path.join(pki, "admin.key"))
        self.conn = None

    def call(self, method, path, body=None, content_type="application/json", ok=(200, 201)):
        data = json.dumps(body, separators=(",", ":")).encode() if body is not None else None
        for attempt in range(10):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=60)
                headers = {"Accept": "application/json"}
                if data is not None:
                    headers["Content-Type"] = content_type
                self.conn.request(method, path, body=data, headers=headers)
                r = self.conn.getresponse()
                payload = r.read()
            except (OSError, http.client.HTTPException):
                self.conn = None
                time.sleep(0.2 * (attempt + 1))
                continue
            if r.status in ok:
                return json.loads(payload) if payload else None
            if r.status in (429, 500, 503, 504):
                time.sleep(0.2 * (attempt + 1))
                continue
            raise RuntimeError(f"{method} {path}: HTTP {r.status}: {payload[:400]!r}")
        raise RuntimeError(f"{method} {path}: gave up after 10 attempts")


def parallel(server, pki, jobs):
    """Runs each job(api) on CONNECTIONS threads, one connection each; returns their results in order."""
    results = [None] * len(jobs)
    work = queue.Queue()
    for n, job in enumerate(jobs):
        work.put((n, job))
    errors = []

    def worker():
        api = Api(server, pki)
        while not errors:
            try:
                n, job = work.get_nowait()
            except queue.Empty:
                return
            try:
                results[n] = job(api)
            except Exception as e:  # noqa: BLE001 - reported once, stops the others
                errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(CONNECTIONS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


def replicaset(i, replicas):
    labels = {"app": f"team-{i}-app", "pod-template-hash": rs_hash(i)}
    return {
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": rs_name(i), "namespace": namespace_of(i), "labels": dict(labels, team=f"team-{i}"),
                     "annotations": {"deployment.kubernetes.io/revision": "3"}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels},
                              "spec": {"containers": [{"name": "app", "image": app_image(i)},
                                                      {"name": "proxy", "image": SIDECAR_IMAGE}]}}},
    }


def pod(i, j, rs_uid):
    """The j-th Pod of RS i, as a Deployment's Pod looks once a webhook or two has been through it."""
    name = f"{rs_name(i)}-{pod_suffix(j)}"
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": name, "namespace": namespace_of(i),
            "labels": {"app": f"team-{i}-app", "pod-template-hash": rs_hash(i), "team": f"team-{i}",
                       "app.kubernetes.io/version": f"1.{i}", "security.istio.io/tlsMode": "istio"},
            "annotations": {"prometheus.io/scrape": "true", "prometheus.io/port": "9090",
                            "kubectl.kubernetes.io/default-container": "app"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs_name(i), "uid": rs_uid,
                                 "controller": True, "blockOwnerDeletion": True}],
        },
        "spec": {
            "nodeName": f"node-{(i * 7 + j) % 50}",
            "serviceAccountName": "default",
            "terminationGracePeriodSeconds": 30,
            "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "fsGroup": 10001,
                },
            "containers": [
                {"name": "app", "image": app_image(i), "args": ["--config=/etc/app/config.yaml", "--port=8080"],
                 "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"},
                           {"name": "metrics", "containerPort": 9090, "protocol": "TCP"}],
                 "env": [{"name": "APP_ENV", "value": "production"}, {"name": "LOG_LEVEL", "value": "info"},
                         {"name": "DB_HOST", "value": f"db-{i % 20}.data.svc.cluster.local"},
                         {"name": "DB_PORT", "value": "5432"},
                         {"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}},
                         {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": f"team-{i}-db", "key": "password"}}}],
                 "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}},
                 "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080, "scheme": "HTTP"}, "initialDelaySeconds": 10,
                                   "periodSeconds": 10, "timeoutSeconds": 1, "successThreshold": 1, "failureThreshold": 3},
                 "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080, "scheme": "HTTP"}, "periodSeconds": 5,
                                    "timeoutSeconds": 1, "successThreshold": 1, "failureThreshold": 3},
                 "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                     "capabilities": {"drop": ["ALL"]}},
                 "volumeMounts": [{"name": "config", "mountPath": "/etc/app", "readOnly": True},
                                  {"name": "tmp", "mountPath": "/tmp"},
                                  {"name": "kube-api-access", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                                   "readOnly": True}]},
                {"name": "proxy", "image": SIDECAR_IMAGE, "args": ["proxy", "sidecar", "--concurrency", "2"],
                 "ports": [{"name": "http-envoy-prom", "containerPort": 15090, "protocol": "TCP"}],
                 "env": [{"name": "MESH_WORKLOAD", "value": f"team-{i}-app"}],
                 "resources": {"requests": {"cpu": "10m", "memory": "40Mi"}, "limits": {"cpu": "2", "memory": "1Gi"}},
                 "readinessProbe": {"httpGet": {"path": "/healthz/ready", "port": 15021, "scheme": "HTTP"},
                                    "periodSeconds": 15, "timeoutSeconds": 3, "failureThreshold": 4},
                 "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "runAsUser": 1337,
                                     "capabilities": {"drop": ["ALL"]}},
                 "volumeMounts": [{"name": "proxy-certs", "mountPath": "/etc/certs"},
                                  {"name": "kube-api-access", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                                   "readOnly": True}]},
            ],
            "volumes": [
                {"name": "config", "configMap": {"name": f"team-{i}-app-config", "defaultMode": 420}},
                {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
                {"name": "proxy-certs", "emptyDir": {"medium": "Memory"}},
                {"name": "kube-api-access", "projected": {"defaultMode": 420, "sources": [
                    {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                    {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                    {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1",
                                                                                   "fieldPath": "metadata.namespace"}}]}}]}},
            ],
        },
    }


def pod_status(i, j):
    started = "2026-12-07T04:00:00Z"
    n = i * 1000 + j

    def running(name, image, image_id):
        return {"name": name, "image": image, "imageID": image_id, "ready": True, "restartCount": 0, "started": True,
                "containerID": "containerd://" + hashlib.sha256(f"{n}-{name}".encode()).hexdigest(),
                "state": {"running": {"startedAt": started}}}

    return {"status": {
        "phase": "Running", "hostIP": f"10.1.{(i * 7 + j) % 50}.10", "podIP": f"10.244.{n // 250 % 250}.{n % 250 + 2}",
        "podIPs": [{"ip": f"10.244.{n // 250 % 250}.{n % 250 + 2}"}], "startTime": started, "qosClass": "Burstable",
        "conditions": [{"type": t, "status": "True", "lastTransitionTime": started}
                       for t in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")],
        "containerStatuses": [
            running("app", app_image(i), f"{REGISTRY}/team-{i}/app@{app_digest(i)}"),
            running("proxy", SIDECAR_IMAGE, f"{REGISTRY}/mesh/proxy@{sidecar_digest()}"),
        ]}}


def load(server, pki, pods, images):
    t0 = time.monotonic()
    parallel(server, pki, [lambda api, n=n: api.call("POST", "/api/v1/namespaces",
                                                     {"apiVersion": "v1", "kind": "Namespace",
                                                      "metadata": {"name": f"bench-{n}"}})
                           for n in range(NAMESPACES)])
    per_rs = [pods // images + (1 if i < pods % images else 0) for i in range(images)]
    created = parallel(server, pki, [lambda api, i=i: api.call("POST", f"/apis/apps/v1/namespaces/{namespace_of(i)}/replicasets",
                                                               replicaset(i, per_rs[i]))
                                     for i in range(images)])
    uids = [rs["metadata"]["uid"] for rs in created]
    t1 = time.monotonic()
    print(f"namespaces and {images} ReplicaSets: {t1 - t0:.1f} s", flush=True)

    def one(api, i, j):
        p = pod(i, j, uids[i])
        api.call("POST", f"/api/v1/namespaces/{namespace_of(i)}/pods", p)
        api.call("PATCH", f"/api/v1/namespaces/{namespace_of(i)}/pods/{p['metadata']['name']}/status",
                 pod_status(i, j), content_type="application/merge-patch+json")

    # Pod k goes to RS k % images: every RS fills at the same pace.
    jobs = []
    for k in range(pods):
        i, j = k % images, k // images
        jobs.append(lambda api, i=i, j=j: one(api, i, j))
    parallel(server, pki, jobs)
    t2 = time.monotonic()
    print(f"{pods} Pods created and their status written (2 requests each): {t2 - t1:.1f} s "
          f"({2 * pods / (t2 - t1):,.0f} requests/s)", flush=True)
    # The size of a Pod as the apiserver serves it (managedFields included), from one page of 100.
    page = Api(server, pki).call("GET", "/api/v1/namespaces/bench-0/pods?limit=100")
    sizes = [len(json.dumps(item, separators=(",", ":"))) for item in page["items"]]
    print(f"a Pod as served: {sum(sizes) / len(sizes):,.0f} bytes of JSON on average (managedFields included)")
    print(f"load total: {t2 - t0:.1f} s")


def verdicts(out, images):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
    import contextlib
    import io
    import e2e_tools
    os.makedirs(out, exist_ok=True)
    targets = [(app_digest(i), app_image(i)) for i in range(images)] + [(sidecar_digest(), SIDECAR_IMAGE)]
    for n, (digest, image) in enumerate(targets):
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            e2e_tools.scan_verdict(digest, "clean", image)
        with open(os.path.join(out, f"v{n:05d}.json"), "w") as f:
            f.write(buf.getvalue())


def count_reports(api):
    page = api.call("GET", "/apis/wgpolicyk8s.io/v1alpha2/policyreports?limit=1")
    return len(page["items"]) + int(page["metadata"].get("remainingItemCount", 0))


def wait_reports(server, pki, want, timeout):
    api = Api(server, pki)
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if count_reports(api) >= want:
            print(f"{time.monotonic() - t0:.2f}")
            return 0
        time.sleep(0.25)
    print(f"only {count_reports(api)} of {want} after {timeout} s", file=sys.stderr)
    return 1


def verdict_to_report(server, pki, podgate_url, token_file, indexes):
    api = Api(server, pki)
    uids = {}
    for i in indexes:
        rs = api.call("GET", f"/apis/apps/v1/namespaces/{namespace_of(i)}/replicasets/{rs_name(i)}")
        uids[i] = rs["metadata"]["uid"]
    with open(token_file) as f:
        token = f.read().strip()
    u = urllib.parse.urlparse(podgate_url)
    ctx = ssl._create_unverified_context()  # noqa: S323 - podgate on loopback, its dev certificate
    for i in indexes:
        verdict = {"apiVersion": "podgate.io/v1", "kind": "ScanVerdict", "digest": app_digest(i), "artifact": app_image(i),
                   "scanner": {"name": "e2e-av", "version": "1.0"},
                   "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "result": "malicious",
                   "findings": [{"id": "Unix.Trojan.Bench-0", "path": "/usr/bin/.backdoor"}]}
        path = f"/apis/wgpolicyk8s.io/v1alpha2/namespaces/{namespace_of(i)}/policyreports/podgate-{uids[i]}"
        conn = http.client.HTTPSConnection(u.hostname, u.port, context=ctx, timeout=30)
        t0 = time.monotonic()
        conn.request("POST", "/v1/scans", body=json.dumps(verdict),
                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        r = conn.getresponse()
        body = r.read()
        if r.status not in (200, 201):
            raise RuntimeError(f"POST /v1/scans: HTTP {r.status}: {body[:400]!r}")
        t_import = time.monotonic() - t0
        while True:
            report = api.call("GET", path)
            if any(x.get("rule") == "scan" and x.get("result") == "fail" for x in report.get("results", [])):
                break
            if time.monotonic() - t0 > 60:
                raise RuntimeError(f"RS {i}: no scan fail in {path} within 60 s")
            time.sleep(0.01)
        print(f"{i} {time.monotonic() - t0:.3f} {t_import:.3f}", flush=True)


def main(argv):
    cmd = argv[1]
    if cmd == "load":
        load(argv[2], argv[3], int(argv[4]), int(argv[5]))
    elif cmd == "verdicts":
        verdicts(argv[2], int(argv[3]))
    elif cmd == "count-reports":
        print(count_reports(Api(argv[2], argv[3])))
    elif cmd == "wait-reports":
        return wait_reports(argv[2], argv[3], int(argv[4]), float(argv[5]))
    elif cmd == "verdict-to-report":
        verdict_to_report(argv[2], argv[3], argv[4], argv[5], [int(x) for x in argv[6:]])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
