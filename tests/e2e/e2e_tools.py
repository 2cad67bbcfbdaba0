#!/usr/bin/env python3
"""Small helpers for tests/e2e/run.sh, where bash alone would be fragile.

  free-ports N                      print N free loopback TCP ports, one per line
  webhook-config RENDERED URL CA [KIND]
                                    from `helm template` output, print the chart's
                                    ValidatingWebhookConfiguration (or KIND, e.g.
                                    MutatingWebhookConfiguration) with each webhook's
                                    clientConfig.service replaced by url URL/<path> and caBundle CA
                                    (base64 of a PEM file); the rest is exactly what the chart renders
  push-image REGISTRY REPO TAG SEED push a tiny, unique OCI image (one gzip layer) to a real registry
                                    over its HTTP API (plain HTTP on loopback); print its digest
  trivy-report IMAGE DIGEST [CVE SEVERITY PKG FIXED]...
                                    print a Trivy JSON (SchemaVersion 2) report for IMAGE@DIGEST with
                                    the given findings (none = a clean scan), as Trivy writes it
  wait-http URL SECONDS [CA]        poll URL until it answers 200 (TLS verified against CA when given)
  review URL CA NAMESPACE IMAGE [PULL_SECRET]
                                    POST a Pod CREATE AdmissionReview for IMAGE (naming PULL_SECRET in
                                    imagePullSecrets, when given) to URL (/validate of one podgate,
                                    not through the apiserver); print "allowed" or "denied: <message>"
  until-review URL CA NAMESPACE IMAGE WANT SECONDS
                                    repeat `review` until its answer starts with WANT; print the
                                    answer and the seconds it took, exit 1 if it never did
  review-object URL CA FILE         POST the CREATE AdmissionReview of the object in FILE (kubectl
                                    get -o json, its uid included) to URL; print allowed or denied
  scan-verdict DIGEST RESULT ARTIFACT
                                    print a podgate ScanVerdict (clean | malicious) from scanner
                                    e2e-av, timed now
  policy-report FILE RULE RESULT    exit 0 when the PolicyReport in FILE has a RULE result RESULT
                                    (RESULT "none": no fail or warn of RULE); print the summary
  ready-state URL CA                print "<HTTP status> <body>" of URL (/readyz), or "error <why>"
  audit-annotations LOG RESOURCE NAMESPACE NAME
                                    print, as JSON, the podgate annotations (keys with "podgate.io/")
                                    of the apiserver's ResponseComplete audit event for the create of
                                    RESOURCE NAMESPACE/NAME in the audit LOG; exit 1 if none yet
  vulnerability-report NAMESPACE NAME REGISTRY REPOSITORY TAG DIGEST [CVE SEVERITY PKG FIXED]...
                                    print a Trivy Operator VulnerabilityReport (aquasecurity.github.io/
                                    v1alpha1) as the operator writes it (trivy-operator.md)
"""

import base64
import datetime
import pathlib
import json
import socket
import ssl
import sys
import time
import urllib.error
import urllib.request

import yaml

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "support"))
from registry_push import push_image  # noqa: E402  (tests/support/registry_push.py)


def free_ports(n):
    # Hold all sockets open until every port is chosen, so the N ports differ.
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    for s in socks:
        print(s.getsockname()[1])
        s.close()


def webhook_config(rendered_path, base_url, ca_path, kind="ValidatingWebhookConfiguration"):
    with open(rendered_path) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    configs = [d for d in docs if d.get("kind") == kind]
    if len(configs) != 1:
        sys.exit(f"webhook-config: expected one {kind}, found {len(configs)}")
    config = configs[0]
    with open(ca_path, "rb") as f:
        ca_bundle = base64.b64encode(f.read()).decode()
    for hook in config["webhooks"]:
        service = hook["clientConfig"].pop("service", None)
        if service is None:
            sys.exit(f"webhook-config: webhook {hook['name']} has no clientConfig.service")
        # No Service IP routes on this machine, so the apiserver calls podgate on loopback instead;
        # the path is the chart's.
        hook["clientConfig"]["url"] = base_url.rstrip("/") + service.get("path", "/")
        hook["clientConfig"]["caBundle"] = ca_bundle
    yaml.safe_dump(config, sys.stdout, sort_keys=False)


def trivy_report(image, digest, findings):
    repo = image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image
    vulns = []
    for i in range(0, len(findings), 4):
        cve, severity, pkg, fixed = findings[i:i + 4]
        vulns.append({"VulnerabilityID": cve, "PkgName": pkg, "InstalledVersion": "1.0.0",
                      "FixedVersion": fixed, "Status": "fixed", "Severity": severity,
                      "Title": f"{pkg}: e2e test vulnerability"})
    result = {"Target": f"{image} (debian 12.8)", "Class": "os-pkgs", "Type": "debian"}
    if vulns:
        result["Vulnerabilities"] = vulns
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    report = {"SchemaVersion": 2, "Trivy": {"Version": "0.69.1"}, "CreatedAt": now,
              "ArtifactName": image, "ArtifactType": "container_image",
              "Metadata": {"RepoTags": [image], "RepoDigests": [f"{repo}@{digest}"]},
              "Results": [result]}
    json.dump(report, sys.stdout, indent=1)


def wait_http(url, seconds, ca=None):
    context = ssl.create_default_context(cafile=ca) if ca else None
    deadline = time.monotonic() + float(seconds)
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2, context=context) as resp:
                if resp.status == 200:
                    return
                last = f"HTTP {resp.status}"
        except (urllib.error.URLError, OSError) as e:
            last = str(e)
        time.sleep(0.2)
    sys.exit(f"wait-http: {url} did not answer 200 within {seconds}s ({last})")


def review(url, ca, namespace, image, pull_secret=""):
    body = {
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": "e2e-" + str(time.monotonic_ns()),
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "requestKind": {"group": "", "version": "v1", "kind": "Pod"},
            "requestResource": {"group": "", "version": "v1", "resource": "pods"},
            "name": "replica-probe", "namespace": namespace, "operation": "CREATE",
            "userInfo": {"username": "e2e"},
            "object": {"apiVersion": "v1", "kind": "Pod",
                       "metadata": {"name": "replica-probe", "namespace": namespace},
                       "spec": {"containers": [{"name": "app", "image": image}]}},
            "dryRun": False,
        },
    }
    if pull_secret:
        body["request"]["object"]["spec"]["imagePullSecrets"] = [{"name": pull_secret}]
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    context = ssl.create_default_context(cafile=ca)
    try:
        with urllib.request.urlopen(req, timeout=10, context=context) as resp:
            answer = json.load(resp)["response"]
    except (urllib.error.URLError, OSError, ValueError, KeyError) as e:
        return f"error: {e}"
    if answer.get("allowed"):
        return "allowed"
    return "denied: " + answer.get("status", {}).get("message", "")


def review_object(url, ca, path):
    """POSTs the AdmissionReview of a CREATE of the object in `path` (JSON, as kubectl get -o json
    prints it, uid included) and prints allowed or denied: MESSAGE."""
    with open(path) as f:
        obj = json.load(f)
    meta = obj["metadata"]
    kind = obj["kind"]
    body = {
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": "e2e-" + str(time.monotonic_ns()),
            "kind": {"group": "", "version": "v1", "kind": kind},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "requestKind": {"group": "", "version": "v1", "kind": kind},
            "requestResource": {"group": "", "version": "v1", "resource": "pods"},
            "name": meta["name"], "namespace": meta["namespace"], "operation": "CREATE",
            "userInfo": {"username": "e2e"}, "object": obj, "dryRun": False,
        },
    }
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    context = ssl.create_default_context(cafile=ca)
    with urllib.request.urlopen(req, timeout=10, context=context) as resp:
        answer = json.load(resp)["response"]
    print("allowed" if answer.get("allowed") else "denied: " + answer.get("status", {}).get("message", ""))


def scan_verdict(digest, result, artifact):
    """A podgate ScanVerdict (docs/scan-verdicts.md) from scanner e2e-av, timed now (with
    microseconds' worth of ordering: a later call is a newer scan)."""
    now = time.time()
    verdict = {
        "apiVersion": "podgate.io/v1", "kind": "ScanVerdict", "digest": digest, "artifact": artifact,
        "scanner": {"name": "e2e-av", "version": "1.0"},
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)), "result": result,
    }
    if result == "malicious":
        verdict["findings"] = [{"id": "Unix.Trojan.E2E-0", "path": "/usr/bin/.backdoor"}]
    print(json.dumps(verdict))


def policy_report(path, want_rule, want_result):
    """Exit 0 when the PolicyReport JSON in `path` has a result of that rule with that outcome
    ("none": no result of the rule is fail or warn); prints the summary and the matching messages."""
    try:
        with open(path) as f:
            report = json.load(f)
    except (OSError, ValueError):
        sys.exit(1)
    results = report.get("results", [])
    print(json.dumps(report.get("summary", {})))
    if want_result == "none":
        bad = [r for r in results if r.get("rule") == want_rule and r.get("result") in ("fail", "warn")]
        sys.exit(1 if bad else 0)
    found = [r for r in results if r.get("rule") == want_rule and r.get("result") == want_result]
    for r in found:
        print(r.get("message", ""))
    sys.exit(0 if found else 1)


def until_review(url, ca, namespace, image, want, seconds):
    start = time.monotonic()
    answer = ""
    while time.monotonic() - start < float(seconds):
        answer = review(url, ca, namespace, image)
        if answer.startswith(want):
            print(f"{answer}\n{time.monotonic() - start:.2f}")
            return
        time.sleep(0.05)
    print(f"{answer}\n{time.monotonic() - start:.2f}")
    sys.exit(1)


def ready_state(url, ca):
    context = ssl.create_default_context(cafile=ca)
    try:
        with urllib.request.urlopen(url, timeout=2, context=context) as resp:
            print(resp.status, resp.read().decode().strip())
    except urllib.error.HTTPError as e:
        print(e.code, e.read().decode().strip())
    except (urllib.error.URLError, OSError) as e:
        print("error", e)


def vulnerability_report(namespace, name, registry, repository, tag, digest, findings):
    vulns = []
    counts = {s: 0 for s in ("CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN")}
    for i in range(0, len(findings), 4):
        cve, severity, pkg, fixed = findings[i:i + 4]
        counts[severity] += 1
        vulns.append({"vulnerabilityID": cve, "resource": pkg, "installedVersion": "1.0-1",
                      "fixedVersion": fixed, "severity": severity, "title": "", "primaryLink": "",
                      "publishedDate": "", "lastModifiedDate": "", "links": [], "target": ""})
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    print(json.dumps({
        "apiVersion": "aquasecurity.github.io/v1alpha1", "kind": "VulnerabilityReport",
        "metadata": {"name": name, "namespace": namespace, "labels": {
            "app.kubernetes.io/managed-by": "trivy-operator", "trivy-operator.container.name": "app",
            "trivy-operator.resource.kind": "ReplicaSet", "trivy-operator.resource.name": name,
            "trivy-operator.resource.namespace": namespace}},
        "report": {
            "updateTimestamp": now,
            "scanner": {"name": "Trivy", "vendor": "Aqua Security", "version": "0.67.2"},
            "registry": {"server": registry},
            "artifact": {"repository": repository, "tag": tag, "digest": digest},
            "os": {"family": "debian", "name": "12.7"},
            "summary": {"criticalCount": counts["CRITICAL"], "highCount": counts["HIGH"],
                        "mediumCount": counts["MEDIUM"], "lowCount": counts["LOW"],
                        "unknownCount": counts["UNKNOWN"]},
            "vulnerabilities": vulns,
        },
    }))


def audit_annotations(log_path, resource, namespace, name):
    with open(log_path) as f:
        for line in f:
            event = json.loads(line)
            ref = event.get("objectRef", {})
            if (event.get("stage") == "ResponseComplete" and event.get("verb") == "create"
                    and ref.get("resource") == resource and not ref.get("subresource")
                    and ref.get("namespace") == namespace and ref.get("name") == name):
                found = {k: v for k, v in event.get("annotations", {}).items() if "podgate.io/" in k}
                if found:
                    print(json.dumps(found))
                    return
    sys.exit(1)


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    cmd, args = argv[1], argv[2:]
    if cmd == "free-ports":
        free_ports(int(args[0]))
    elif cmd == "webhook-config":
        webhook_config(*args)
    elif cmd == "push-image":
        print(push_image(*args))
    elif cmd == "trivy-report":
        trivy_report(args[0], args[1], args[2:])
    elif cmd == "wait-http":
        wait_http(*args)
    elif cmd == "review":
        print(review(*args))
    elif cmd == "review-object":
        review_object(*args)
    elif cmd == "scan-verdict":
        scan_verdict(*args)
    elif cmd == "policy-report":
        policy_report(*args)
    elif cmd == "until-review":
        until_review(*args)
    elif cmd == "ready-state":
        ready_state(*args)
    elif cmd == "audit-annotations":
        audit_annotations(*args)
    elif cmd == "vulnerability-report":
        vulnerability_report(*args[:6], args[6:])
    else:
        sys.exit(f"unknown command {cmd}\n{__doc__}")


if __name__ == "__main__":
    main(sys.argv)
