#!/usr/bin/env python3
"""A real Prometheus scrape of a running podgate (issue 5, "a real Prometheus scrape").

Starts, all on 127.0.0.1 with free ports and in one temp dir:
  - a docker-registry (plain HTTP) holding one small image, so the image rules resolve tags;
  - podgate, with a dev certificate (scripts/gen-dev-cert.sh), the image and scan rules on, a scan
    database imported with `podgate scans import` from tests/fixtures/scans, and the scan API on;
  - Debian's prometheus, scraping podgate's /metrics every second into a temp TSDB.
Then sends a small load of allowed, denied and would-deny reviews (fixtures from
tests/fixtures/reviews, rewritten into several namespaces and onto the loopback image, on /validate
and /audit) plus the odd cases the dashboard has panels for (invalid bodies, exemptions, unjudged
kinds, a missing tag, connections over the limit, a scan report posted to the API), keeps a trickle
of reviews going, and asks Prometheus's HTTP API:
  - the dashboard's variables resolve as Grafana resolves them: namespace and job offer this podgate's,
    and cluster, with no cluster label here (a single-cluster Prometheus), takes All, `.*`;
  - every target expression of every panel in charts/podgate/dashboards/podgate.json, with the
    variables substituted, must return a non-empty result; the panels on the apiserver's own series
    are skipped here and proven by the end-to-end suite, which scrapes its kube-apiserver
    (tests/e2e/apiserver_metrics.py);
  - every family on podgate's /metrics is in docs/operations.md, the process_* ones are there and no
    exposer_* one is;
  - every alert expression of the chart's PrometheusRule (rendered by helm) must evaluate.
One line per query, then "N passed, M failed" (", K skipped"). Exit status 1 if anything failed.
"""

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "support"))
from registry_push import push_image  # noqa: E402  (tests/support/registry_push.py)
FIXTURES = REPO / "tests" / "fixtures"
DASHBOARD = REPO / "charts" / "podgate" / "dashboards" / "podgate.json"
# The labels a ServiceMonitor gives the series, which every dashboard query selects on.
JOB = "podgate"
NAMESPACE = "podgate"
# Grafana's built-in variables, as a dashboard would fill them. $__rate_interval is at least four
# scrape intervals in Grafana; 30s keeps a few dozen samples in each window at a 1 s scrape. The
# dashboard's own variables (cluster, namespace, job) are resolved against Prometheus, as Grafana
# does it: dashboard_variables().
BUILTIN_VARIABLES = {
    "$__rate_interval": "30s",
    "$__interval": "5s",
    "$__range": "5m",
    "${datasource}": "prometheus",
    "$datasource": "prometheus",
}
# Series the apiserver exports, not podgate: this test's Prometheus does not scrape an apiserver,
# so the panels on them are proven by the end-to-end suite (tests/e2e/apiserver_metrics.py).
APISERVER_PREFIX = "apiserver_"
# Namespaces the load uses; EXEMPT is listed in the config's exemptions.
NAMESPACES = ["team-a", "team-b", "team-c", "legacy"]
EXEMPT = "ops-tools"


class Interrupted(BaseException):
    """A signal asked the test to stop (BaseException, so no `except Exception` swallows it)."""


class Failures:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.skipped = 0

    def ok(self, what):
        self.passed += 1
        print(f"PASS  {what}", flush=True)

    def skip(self, what, why):
        self.skipped += 1
        print(f"skip  {what}: {why}", flush=True)

    def summary(self):
        return f"{self.passed} passed, {self.failed} failed" + (f", {self.skipped} skipped" if self.skipped else "")

    def fail(self, what, why):
        self.failed += 1
        print(f"FAIL  {what}: {why}", flush=True)

    def expect(self, condition, what, why):
        if condition:
            self.ok(what)
        else:
            self.fail(what, why)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Processes:
    """Children started under setpriv --pdeathsig KILL, so even a killed test leaves none behind."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.children = []

    def start(self, name, argv, env=None):
        out = open(self.workdir / f"{name}.log", "wb")
        setpriv = shutil.which("setpriv")
        prefix = [setpriv, "--pdeathsig", "KILL", "--"] if setpriv else []
        proc = subprocess.Popen(prefix + argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env, start_new_session=True)
        self.children.append((name, proc))
        return proc

    def log(self, name, tail=3000):
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace")[-tail:] if path.exists() else ""

    def stop_all(self):
        for _, proc in reversed(self.children):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for _, proc in reversed(self.children):
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def wait_until(what, check, timeout=30.0, proc=None):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what}: exited with {proc.returncode}")
        try:
            if check():
                return
        except Exception as e:  # noqa: BLE001  (connection refused etc. until it is up)
            last = e
        time.sleep(0.2)
    raise RuntimeError(f"{what}: not ready after {timeout:.0f}s ({last})")


# --- the registry -------------------------------------------------------------------------------

def start_registry(procs, workdir):
    port = free_port()
    config = workdir / "registry.yml"
    config.write_text(json.dumps({
        "version": 0.1,
        "log": {"level": "warn", "accesslog": {"disabled": True}},
        "storage": {"filesystem": {"rootdirectory": str(workdir / "registry")}},
        "http": {"addr": f"127.0.0.1:{port}", "secret": os.urandom(16).hex()},
    }))
    proc = procs.start("registry", ["docker-registry", "serve", str(config)])
    base = f"http://127.0.0.1:{port}"
    wait_until("docker-registry", lambda: urllib.request.urlopen(base + "/v2/", timeout=2).status == 200, proc=proc)
    return f"127.0.0.1:{port}"


# --- podgate ------------------------------------------------------------------------------------

def podgate_config(workdir, registry, port, metrics_port):
    return {
        "mode": "enforce",
        "exemptions": {"namespaces": ["kube-system", EXEMPT]},
        "rules": {
            "images": {
                "action": "deny",
                # Short cache lifetimes, so the trickle of reviews keeps resolving (the resolution
                # latency and registry request panels need fresh observations in each rate window).
                "resolve": {"timeout": "2s", "cacheTTL": "1s", "errorTTL": "1s"},
                "onResolveError": "deny",
                "scan": {"action": "warn", "onUnscanned": "warn", "severityThreshold": "HIGH"},
            },
            # The privileged reviews below fail baseline too: the per-control panel gets data. The
            # clean ones pass it, so no decision in the load changes.
            "podSecurity": {"level": "baseline"},
        },
        "scans": {"database": str(workdir / "scans.db"), "apiTokenFile": str(workdir / "scan-token")},
        "registries": [{"host": registry, "plainHTTP": True}],
        "server": {
            "listen": f"127.0.0.1:{port}",
            "metricsListen": f"127.0.0.1:{metrics_port}",
            "threads": 2,
            "tls": {"certFile": str(workdir / "tls" / "tls.crt"), "keyFile": str(workdir / "tls" / "tls.key")},
            # Small, so the test can provoke the connection-rejected and timeout counters quickly.
            "limits": {"maxConnections": 6, "readTimeout": "1s"},
        },
        "logging": {"level": "warn"},
    }


def rewrite_images(node, image):
    """Points every container image in a review at the loopback registry."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "image" and isinstance(value, str):
                node[key] = image
            else:
                rewrite_images(value, image)
    elif isinstance(node, list):
        for item in node:
            rewrite_images(item, image)


def review(fixture, namespace, image, uid):
    doc = json.loads((FIXTURES / "reviews" / fixture).read_text())
    doc["request"]["uid"] = uid
    doc["request"]["namespace"] = namespace
    for key in ("object", "oldObject"):
        obj = doc["request"].get(key)
        if isinstance(obj, dict):
            obj.setdefault("metadata", {})["namespace"] = namespace
            rewrite_images(obj, image)
    return json.dumps(doc).encode()


class Client:
    """Keep-alive HTTPS client for podgate's webhook port."""

    def __init__(self, port, cafile):
        self.port = port
        self.ctx = ssl.create_default_context(cafile=str(cafile))
        self.conn = None

    def request(self, method, path, body=b"", headers=None):
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx, timeout=10)
            try:
                self.conn.request(method, path, body=body, headers=headers or {"Content-Type": "application/json"})
                r = self.conn.getresponse()
                data = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return r.status, data
            except (ConnectionError, http.client.HTTPException, ssl.SSLError, OSError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def close(self):
        if self.conn is not None:
            self.conn.close()


def decision(status, body):
    if status != 200:
        return f"http {status}"
    resp = json.loads(body)["response"]
    if not resp["allowed"]:
        return "denied"
    return "warned" if resp.get("warnings") else "allowed"


# --- Prometheus ---------------------------------------------------------------------------------

def start_prometheus(procs, workdir, metrics_port):
    port = free_port()
    config = workdir / "prometheus.yml"
    config.write_text(json.dumps({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [{
            "job_name": JOB,
            "scrape_interval": "1s",
            "scrape_timeout": "1s",
            "static_configs": [{"targets": [f"127.0.0.1:{metrics_port}"], "labels": {"namespace": NAMESPACE}}],
        }],
    }))
    proc = procs.start("prometheus", [
        "prometheus", f"--config.file={config}", f"--storage.tsdb.path={workdir / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn",
    ])
    base = f"http://127.0.0.1:{port}"
    wait_until("prometheus", lambda: urllib.request.urlopen(base + "/-/ready", timeout=2).status == 200,
               timeout=60, proc=proc)
    return base


def query(base, expr):
    url = base + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as e:  # 400/422 carry the error as JSON
        return json.loads(e.read())


def substitute(expr, variables):
    """expr with the dashboard's variables (name -> value, "$name" in the expression) and Grafana's
    built-in ones filled in."""
    values = {**BUILTIN_VARIABLES, **{"$" + k: v for k, v in variables.items()}}
    for name in sorted(values, key=len, reverse=True):
        expr = expr.replace(name, values[name])
    assert "$" not in expr, f"unsubstituted variable in {expr}"
    return expr


def label_values(base, series, label):
    url = f"{base}/api/v1/label/{label}/values?" + urllib.parse.urlencode({"match[]": series})
    with urllib.request.urlopen(url, timeout=30) as r:
        return json.loads(r.read()).get("data", [])


def regex_value(values):
    """A multi-value variable's selection as Grafana's Prometheus data source writes it into =~"...":
    the one value regex-escaped, or (a|b|...); the escapes doubled, as in a PromQL string."""
    escaped = [re.sub(r"([\\^$.|?*+()\[\]{}])", r"\\\\\1", v) for v in values]
    return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"


def dashboard_variables(base, dashboard, wanted, f):
    """Resolves the dashboard's query variables in order, as Grafana does: label_values(SERIES, LABEL)
    with the variables before it filled in. A variable in `wanted` must offer that value, which is
    then selected; any other takes All (its allValue, else every value offered). One check each.
    Returns {name: value}."""
    resolved = {}
    for var in dashboard.get("templating", {}).get("list", []):
        if var.get("type") != "query":
            continue
        name, definition = var["name"], var["definition"]
        m = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", definition)
        if not m:
            f.fail(f"variable ${name}", f"not a label_values() query: {definition}")
            continue
        offered = label_values(base, substitute(m.group(1), resolved), m.group(2))
        if name in wanted:
            resolved[name] = regex_value([wanted[name]])
            f.expect(wanted[name] in offered, f"variable ${name}: {definition} -> {offered}",
                     f"{wanted[name]} not offered")
        elif var.get("includeAll"):
            resolved[name] = var["allValue"] if "allValue" in var else regex_value(offered)
            f.expect(bool(offered) or "allValue" in var, f"variable ${name}: {definition} -> {offered}, All is "
                     f"{resolved[name]}", "nothing offered and no allValue")
        else:
            f.fail(f"variable ${name}", "neither wanted nor includeAll")
    return resolved


def panel_targets(dashboard):
    """(panel, target) for every query of the dashboard."""
    return [(p, t) for p in dashboard["panels"] for t in p.get("targets", [])]


def check_query(base, f, what, expr, positive=False):
    """One check: expr returns data (and, with positive, a series above 0)."""
    answer = query(base, expr)
    if answer.get("status") != "success":
        f.fail(what, f"{answer.get('errorType')}: {answer.get('error')}")
    elif not answer["data"]["result"]:
        f.fail(what, "no data")
    elif positive and not any(float(r["value"][1]) > 0 for r in answer["data"]["result"]):
        f.fail(what, "no value above 0: " + json.dumps(answer["data"]["result"])[:600])
    else:
        got = ", ".join(f"{r['metric']} {r['value'][1]}" for r in answer["data"]["result"][:4])
        f.ok(f"{what} -> {len(answer['data']['result'])} series: {got[:300]}")
    return answer.get("data", {}).get("result", [])


def documented_metrics():
    """The podgate_* and process_* names in the first column of docs/operations.md's tables."""
    names = set()
    for line in (REPO / "docs" / "operations.md").read_text().splitlines():
        if line.startswith("| `"):
            names |= set(re.findall(r"`((?:podgate|process)_\w+?)(?:\{[^`]*\})?`", line.split("|")[1]))
    return names


def render_alerts(args):
    helm = args.helm or os.environ.get("PODGATE_HELM")
    if not helm:
        proc = subprocess.run(["bash", str(REPO / "scripts" / "install-helm.sh")], capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError("scripts/install-helm.sh failed: " + proc.stderr.strip()[-500:])
        helm = proc.stdout.strip().splitlines()[-1]
    proc = subprocess.run([helm, "template", "podgate", str(REPO / "charts" / "podgate"), "-n", NAMESPACE,
                           "--set", "metrics.prometheusRule.enabled=true",
                           "--show-only", "templates/prometheusrule.yaml"], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError("helm template failed: " + proc.stderr.strip()[-500:])
    rule = yaml.safe_load(proc.stdout)
    return [(r["alert"], r["expr"]) for g in rule["spec"]["groups"] for r in g["rules"] if "alert" in r]


# --- the test -----------------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--podgate", default=os.environ.get("PODGATE_BIN", str(REPO / "build" / "podgate")))
    parser.add_argument("--helm", default=None, help="helm binary (default: $PODGATE_HELM, or scripts/install-helm.sh)")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs, configs) and print it")
    args = parser.parse_args()

    f = Failures()
    podgate = Path(args.podgate)
    missing = [t for t in ("prometheus", "docker-registry", "openssl") if not shutil.which(t)]
    if not podgate.is_file() or not os.access(podgate, os.X_OK):
        missing.append(f"{podgate} (build it, or set PODGATE_BIN)")
    if missing:
        f.fail("prerequisites", "missing " + ", ".join(missing) + " (scripts/install-deps.sh, scripts/build.sh)")
        print(f.summary())
        return 1

    workdir = Path(tempfile.mkdtemp(prefix="podgate-prom-"))
    procs = Processes(workdir)

    # SIGTERM and SIGINT end the run through the finally below, which stops every child and
    # removes the temp dir (the children also get SIGKILL from the kernel if this process dies).
    def on_signal(signum, _frame):
        raise Interrupted(signal.Signals(signum).name)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        run(args, f, podgate, workdir, procs)
    except Interrupted as e:
        f.fail("run", f"interrupted by {e}")
    except Exception as e:  # noqa: BLE001  (setup failures are reported as one failed check)
        f.fail("setup", f"{type(e).__name__}: {e}")
        for name, _ in procs.children:
            print(f"--- {name} log (tail)\n{procs.log(name)}")
    finally:
        procs.stop_all()
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f.summary())
    return 0 if f.failed == 0 else 1


def run(args, f, podgate, workdir, procs):
    # Everything the servers need, then the servers.
    subprocess.run(["bash", str(REPO / "scripts" / "gen-dev-cert.sh"), str(workdir / "tls")], check=True,
                   stdout=subprocess.DEVNULL)
    registry = start_registry(procs, workdir)
    digest = push_image(registry, "team/app", "1.0", "scrape-test team/app:1.0")
    image, missing_image = f"{registry}/team/app:1.0", f"{registry}/team/app:does-not-exist"
    # A registry nobody listens on: resolutions fail (unreachable), which onResolveError denies.
    unreachable_image = f"127.0.0.1:{free_port()}/team/app:1.0"
    print(f"info  pushed {image} as {digest}", flush=True)

    port, metrics_port = free_port(), free_port()
    token = os.urandom(16).hex()
    (workdir / "scan-token").write_text(token)
    config = workdir / "podgate.yaml"
    config.write_text(json.dumps(podgate_config(workdir, registry, port, metrics_port), indent=2))

    # The scan database, imported before the server starts (the server publishes the store's size
    # and age at start). The archive scan has no manifest digest and is refused by design.
    reports = sorted(str(p) for p in (FIXTURES / "scans").glob("*.json") if p.name != "trivy-archive.json")
    proc = subprocess.run([str(podgate), "scans", "import", "--config", str(config)] + reports,
                          capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        raise RuntimeError(f"podgate scans import: exit {proc.returncode}: {proc.stderr.strip()[-500:]}")

    server = procs.start("podgate", [str(podgate), "serve", "--config", str(config)])
    client = Client(port, workdir / "tls" / "ca.crt")
    wait_until("podgate", lambda: client.request("GET", "/readyz")[0] == 200, proc=server)
    prom = start_prometheus(procs, workdir, metrics_port)
    wait_until("first scrape of podgate",
               lambda: query(prom, f'up{{job="{JOB}"}} == 1')["data"]["result"], timeout=30)

    # Connections over the limit, and connections that never finish a TLS handshake: held open
    # until podgate's read deadline cuts them, they count as rejected (beyond maxConnections) and as
    # handshake timeouts. Done first, so the load below finds the server free again.
    idle = []
    for _ in range(8):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        idle.append(s)
    time.sleep(2.0)
    for s in idle:
        s.close()

    # The load: allowed, denied and would-deny reviews in several namespaces, on both routes.
    load = [
        ("pod-privileged.json", "team-a", image, "/validate", "denied"),
        ("pod-privileged.json", "team-b", image, "/validate", "denied"),
        ("deployment-docker-sock.json", "team-b", image, "/validate", "denied"),
        ("daemonset-privileged-run.json", "team-c", image, "/validate", "denied"),
        ("cronjob-v1beta1-privileged.json", "legacy", image, "/audit", "warned"),
        ("pod-privileged.json", "legacy", image, "/audit", "warned"),
        ("pod-clean-4k.json", "team-a", image, "/validate", "warned"),   # unscanned: the scan rule warns
        ("deployment-clean-30k.json", "team-c", image, "/validate", "warned"),
        ("pod-clean-4k.json", "team-b", missing_image, "/validate", "denied"),  # the tag does not exist
        ("pod-clean-4k.json", "team-c", unreachable_image, "/validate", "denied"),  # resolution fails
        ("pod-privileged.json", EXEMPT, image, "/validate", "allowed"),  # exempt namespace
        ("pod-delete.json", "team-a", image, "/validate", "allowed"),    # no pod spec: skipped
    ]
    n = 0

    def send(item):
        nonlocal n
        fixture, ns, img, route, _ = item
        n += 1
        return decision(*client.request("POST", route, review(fixture, ns, img, f"scrape-{n}")))

    for item in load:
        got = send(item)
        want = item[4]
        name = f"load {item[0]} in {item[1]} on {item[3]}"
        f.expect(got == want, f"{name}: {got}", f"got {got}, want {want}")
    # A kind podgate does not judge, and a body that is no AdmissionReview.
    configmap = json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": "scrape-cm", "kind": {"group": "", "version": "v1", "kind": "ConfigMap"}, "operation": "CREATE",
        "namespace": "team-a", "object": {"data": {}}}}).encode()
    got = decision(*client.request("POST", "/validate", configmap))
    f.expect(got == "allowed", "load ConfigMap (unknown kind): allowed", got)
    status, _ = client.request("POST", "/validate", b"{not json")
    f.expect(status == 400, "load invalid body: HTTP 400", f"HTTP {status}")
    # A report posted to the scan API (podgate_scan_imports_total).
    report = (FIXTURES / "scans" / "grype-nginx.json").read_bytes()
    status, body = client.request("POST", "/v1/scans", report, {"Authorization": f"Bearer {token}",
                                                                 "Content-Type": "application/json"})
    f.expect(status in (200, 201), "scan API: POST /v1/scans stores a Grype report", f"HTTP {status}: {body[:200]!r}")

    # A trickle of reviews while the queries run, so every rate() window has fresh samples.
    stop = threading.Event()

    def trickle():
        trickle_client = Client(port, workdir / "tls" / "ca.crt")
        i = 0
        while not stop.is_set():
            fixture, ns, img, route, _ = load[i % len(load)]
            try:
                trickle_client.request("POST", route, review(fixture, ns, img, f"trickle-{i}"))
            except Exception:  # noqa: BLE001  (a failed request shows up in the queries, not here)
                pass
            i += 1
            stop.wait(0.2)
        trickle_client.close()
    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    client.close()
    # A few scrapes after the load: rate() needs two samples that differ.
    time.sleep(6)

    try:
        dashboard = json.loads(DASHBOARD.read_text())
        # A Prometheus without a cluster label (this one): $cluster offers nothing and takes All (.*).
        variables = dashboard_variables(prom, dashboard, {"namespace": NAMESPACE, "job": JOB}, f)
        for panel, target in panel_targets(dashboard):
            expr = substitute(target["expr"], variables)
            what = f"panel {panel['id']} '{panel['title']}' {target.get('refId', '')}: {expr}"
            if APISERVER_PREFIX in target["expr"]:
                f.skip(what, "the apiserver's series: tests/e2e/run.sh proves it (case 'apiserver metrics')")
                continue
            check_query(prom, f, what, expr)

        # What the real scrape holds: every family is in docs/operations.md, and no exposer_*.
        names = set(label_values(prom, f'{{job="{JOB}"}}', "__name__")) - {"up"}
        names = {n for n in names if not n.startswith("scrape_")}
        histograms = {n[:-len("_bucket")] for n in names if n.endswith("_bucket")}
        bases = histograms | {n for n in names if re.sub(r"_(bucket|sum|count)$", "", n) not in histograms}
        undocumented = sorted(bases - documented_metrics())
        f.expect(not undocumented, f"scrape: all {len(bases)} families on /metrics are in docs/operations.md",
                 f"undocumented: {undocumented}")
        exposer = sorted(n for n in names if n.startswith("exposer_"))
        f.expect(not exposer and any(n.startswith("process_") for n in names),
                 "scrape: process_* series, no exposer_* series", f"exposer: {exposer}")

        # The namespace panel counts what the load did: each denied or would-deny review under
        # its own namespace, and nothing for the exempt one or for reviews only warned about.
        expected = {(ns, "denied") for _, ns, _, _, want in load if want == "denied"}
        expected |= {(ns, "would_deny") for _, ns, _, route, want in load if route == "/audit" and want == "warned"}
        answer = query(prom, 'sum by (resource_namespace, decision) (podgate_admission_denials_by_namespace_total'
                             f'{{namespace="{NAMESPACE}",job="{JOB}"}})')
        got = {(r["metric"].get("resource_namespace"), r["metric"].get("decision"))
               for r in answer.get("data", {}).get("result", [])}
        f.expect(got == expected, f"denials by namespace: {sorted(expected)}", f"got {sorted(got)}")

        for name, expr in render_alerts(args):
            answer = query(prom, expr)
            what = f"alert {name}: {expr}"
            if answer.get("status") == "success":
                f.ok(f"{what} -> {len(answer['data']['result'])} series firing")
            else:
                f.fail(what, f"{answer.get('errorType')}: {answer.get('error')}")
    finally:
        stop.set()
        thread.join(timeout=15)


if __name__ == "__main__":
    sys.exit(main())
