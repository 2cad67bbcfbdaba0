"""Chart checks of the webhooks' matchConditions, the pods' priority and the release workflow
(run by checks.py, which passes its Runner: r.render, r.render_fails, r.check).

The release workflow runs only on GitHub, so here it is checked by actionlint (with shellcheck for
its scripts, when installed) and by the facts the chart depends on: the image it pushes is the
chart's default image, for both architectures, signed by digest, with SHA-pinned actions.
"""

import re
import subprocess
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "podgate"
WORKFLOW = REPO / ".github" / "workflows" / "release.yaml"

# Kubernetes' documented example (extensible admission controllers, "Matching requests:
# matchConditions"), and a second one so order and pass-through of several are seen.
EXCLUDE_NODES = {"name": "exclude-kubelet-requests", "expression": '!("system:nodes" in request.userInfo.groups)'}
EXCLUDE_LEASES = {"name": "example.com/exclude-leases",
                  "expression": '!(request.resource.group == "coordination.k8s.io" && request.resource.resource == "leases")'}
PIN = ["config.rules.images.action=deny", "config.rules.images.pinDigests=true"]


def _docs_of(kind, docs):
    return [d for d in docs if d["kind"] == kind]


def _hooks(docs):
    """Every webhook of the chart's webhook configurations, by name."""
    hooks = {}
    for kind in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
        for config in _docs_of(kind, docs):
            for hook in config["webhooks"]:
                hooks[hook["name"]] = hook
    return hooks


def _values_file(r, name, values):
    path = Path(r.workdir) / name
    path.write_text(yaml.safe_dump(values))
    return str(path)


def _pod_spec(docs):
    (deployment,) = _docs_of("Deployment", docs)
    return deployment["spec"]["template"]["spec"]


def match_condition_checks(r):
    def absent_by_default():
        hooks = _hooks(r.render(sets=PIN))
        assert set(hooks) == {"enforce.podgate.io", "audit.podgate.io", "pin.podgate.io"}, sorted(hooks)
        with_conditions = [n for n, h in hooks.items() if "matchConditions" in h]
        assert not with_conditions, f"matchConditions rendered with the default []: {with_conditions}"
    r.check("matchConditions: none rendered by default (validating and mutating webhooks)", absent_by_default)

    def passed_through():
        values = _values_file(r, "match-conditions.yaml",
                              {"webhook": {"matchConditions": [EXCLUDE_NODES, EXCLUDE_LEASES]}})
        hooks = _hooks(r.render(files=[values], sets=PIN))
        for name in ("enforce.podgate.io", "audit.podgate.io", "pin.podgate.io"):
            got = hooks[name].get("matchConditions")
            assert got == [EXCLUDE_NODES, EXCLUDE_LEASES], f"{name}: matchConditions {got!r}"
    r.check("matchConditions: passed through verbatim and in order to enforce, audit and pin webhooks", passed_through)

    def accepts_qualified_names():
        longest = "a" + "b" * 61 + "c"  # 63 characters, the API's limit for the name part
        prefixed = "policy.example.com/" + longest
        values = _values_file(r, "match-conditions-names.yaml", {"webhook": {"matchConditions": [
            {"name": longest, "expression": "true"}, {"name": prefixed, "expression": "true"},
            {"name": "My_Name.v2", "expression": "true"}]}})
        hooks = _hooks(r.render(files=[values]))
        names = [c["name"] for c in hooks["enforce.podgate.io"]["matchConditions"]]
        assert names == [longest, prefixed, "My_Name.v2"], names
    r.check("schema accepts qualified condition names (63 characters, DNS prefix, upper case, _ and .)",
            accepts_qualified_names)

    def accepts_64():
        values = _values_file(r, "match-conditions-64.yaml", {"webhook": {"matchConditions": [
            {"name": f"c{i}", "expression": "true"} for i in range(64)]}})
        hooks = _hooks(r.render(files=[values]))
        assert len(hooks["enforce.podgate.io"]["matchConditions"]) == 64
    r.check("schema accepts 64 matchConditions, the API's maximum", accepts_64)

    rejected = [
        ("65 matchConditions (the API allows 64)",
         [{"name": f"c{i}", "expression": "true"} for i in range(65)], "/webhook/matchConditions"),
        ("a condition name with a space", [{"name": "exclude nodes", "expression": "true"}], "/webhook/matchConditions/0/name"),
        ("a condition name of 64 characters", [{"name": "a" * 64, "expression": "true"}], "/webhook/matchConditions/0/name"),
        ("a condition name ending in -", [{"name": "exclude-", "expression": "true"}], "/webhook/matchConditions/0/name"),
        ("a condition without an expression", [{"name": "x"}], "/webhook/matchConditions/0"),
        ("a condition with an empty expression", [{"name": "x", "expression": ""}], "/webhook/matchConditions/0/expression"),
        ("a condition with an unknown key", [{"name": "x", "expression": "true", "match": "y"}], "match"),
    ]
    for title, conditions, expected in rejected:
        def rejects(conditions=conditions, expected=expected, title=title):
            values = _values_file(r, "match-conditions-bad.yaml", {"webhook": {"matchConditions": conditions}})
            r.render_fails(expected, files=[values])
        r.check(f"schema rejects {title}", rejects)

    def duplicate_names():
        values = _values_file(r, "match-conditions-dup.yaml", {"webhook": {"matchConditions": [
            EXCLUDE_NODES, {"name": EXCLUDE_NODES["name"], "expression": "true"}]}})
        r.render_fails('webhook.matchConditions names "exclude-kubelet-requests" twice', files=[values])
    r.check("chart refuses two matchConditions with one name (the apiserver would refuse the webhook)",
            duplicate_names)

    def older_cluster():
        # The chart's kubeVersion (>= 1.30, where matchConditions are GA) refuses the whole render:
        # a condition is never silently left out for an apiserver that would drop it.
        values = _values_file(r, "match-conditions-old.yaml", {"webhook": {"matchConditions": [EXCLUDE_NODES]}})
        r.render_fails("kubeVersion", files=[values], extra=["--kube-version", "1.29.9"])
        hooks = _hooks(r.render(files=[values], extra=["--kube-version", "1.30.0"]))
        assert hooks["enforce.podgate.io"]["matchConditions"] == [EXCLUDE_NODES]
    r.check("matchConditions: refused for Kubernetes 1.29 (kubeVersion), rendered for 1.30", older_cluster)


def priority_checks(r):
    def quota_of(docs):
        quotas = _docs_of("ResourceQuota", docs)
        assert len(quotas) <= 1, f"{len(quotas)} ResourceQuotas"
        return quotas[0] if quotas else None

    def default():
        docs = r.render()
        r_name = _pod_spec(docs).get("priorityClassName")
        assert r_name == "system-cluster-critical", f"priorityClassName {r_name!r}"
        quota = quota_of(docs)
        assert quota, "no ResourceQuota admitting the priority class"
        assert quota["metadata"]["name"] == "podgate-critical-pods", quota["metadata"]["name"]
        assert quota["metadata"]["namespace"] == "podgate"
        assert quota["metadata"]["labels"]["app.kubernetes.io/instance"] == "podgate"
        spec = quota["spec"]
        assert spec["scopeSelector"] == {"matchExpressions": [
            {"scopeName": "PriorityClass", "operator": "In", "values": ["system-cluster-critical"]}]}, spec
        assert spec["hard"] == {"pods": "10"}, spec["hard"]
        # The quota must hold the replicas plus the rollout's surge, or a rollout would be refused.
        (deployment,) = _docs_of("Deployment", docs)
        surge = deployment["spec"]["strategy"]["rollingUpdate"]["maxSurge"]
        assert deployment["spec"]["replicas"] + int(surge) <= int(spec["hard"]["pods"])
    r.check("priority: pods at system-cluster-critical, with a ResourceQuota scoped to that class", default)

    def unset():
        docs = r.render(set_strings=["priorityClassName="])
        assert "priorityClassName" not in _pod_spec(docs), _pod_spec(docs).get("priorityClassName")
        assert quota_of(docs) is None, "ResourceQuota rendered without a priority class"
    r.check('priority: priorityClassName "" renders no class and no ResourceQuota', unset)

    def custom():
        docs = r.render(sets=["priorityClassName=platform-high"])
        assert _pod_spec(docs)["priorityClassName"] == "platform-high"
        assert quota_of(docs)["spec"]["scopeSelector"]["matchExpressions"][0]["values"] == ["platform-high"]
    r.check("priority: another class is used as given, the quota scoped to it", custom)

    def kube_system():
        docs = r.render(namespace="kube-system")
        assert _pod_spec(docs)["priorityClassName"] == "system-cluster-critical"
        assert quota_of(docs) is None, "ResourceQuota rendered in kube-system (it would cap its critical pods)"
    r.check("priority: no ResourceQuota in kube-system", kube_system)

    def disabled():
        docs = r.render(sets=["priorityResourceQuota.enabled=false"])
        assert quota_of(docs) is None
        assert _pod_spec(docs)["priorityClassName"] == "system-cluster-critical"
    r.check("priority: priorityResourceQuota.enabled=false keeps the class, renders no quota", disabled)

    r.check("priority: a quota with no room for the rollout's surge pod is refused",
            lambda: r.render_fails("priorityResourceQuota.pods (3) leaves no room",
                                   sets=["replicaCount=3", "priorityResourceQuota.pods=3"]))
    r.check("schema rejects a priorityClassName that is not a DNS subdomain",
            lambda: r.render_fails("/priorityClassName", sets=["priorityClassName=System_Critical"]))
    r.check("schema rejects priorityResourceQuota.pods=0",
            lambda: r.render_fails("/priorityResourceQuota/pods", sets=["priorityResourceQuota.pods=0"]))


def _workflow():
    return yaml.safe_load(WORKFLOW.read_text())


def _steps():
    return _workflow()["jobs"]["image"]["steps"]


def _step(uses_prefix):
    found = [s for s in _steps() if s.get("uses", "").startswith(uses_prefix + "@")]
    assert len(found) == 1, f"expected one step using {uses_prefix}, found {len(found)}"
    return found[0]


def release_checks(r, actionlint):
    def lint():
        if not actionlint:
            raise AssertionError("no actionlint (scripts/install-actionlint.sh failed)")
        proc = subprocess.run([actionlint, "-no-color"], capture_output=True, text=True, timeout=120, cwd=REPO)
        assert proc.returncode == 0, f"actionlint:\n{proc.stdout}{proc.stderr}"
    r.check("actionlint: every workflow in .github/workflows passes (shellcheck on run: scripts when installed)",
            lint)

    def trigger_and_permissions():
        w = _workflow()
        on = w.get("on", w.get(True))  # PyYAML reads the key `on` as the boolean true
        assert on == {"push": {"tags": ["v*"]}}, f"trigger {on!r}"
        assert w["permissions"] == {}, f"workflow-level permissions {w['permissions']!r}"
        jobs = w["jobs"]
        assert list(jobs) == ["image"], list(jobs)
        eq = jobs["image"]["permissions"]
        assert eq == {"contents": "write", "packages": "write", "id-token": "write"}, eq
    r.check("release workflow: on tags v*, no default permissions, the job only contents/packages/id-token write",
            trigger_and_permissions)

    def pinned():
        unpinned = [s["uses"] for s in _steps() if "uses" in s and not re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", s["uses"])]
        assert not unpinned, f"actions not pinned by commit SHA: {unpinned}"
        # The reviewed tag stays visible next to each SHA.
        text = WORKFLOW.read_text()
        for s in _steps():
            if "uses" in s:
                assert re.search(re.escape(s["uses"]) + r" # v\d+\.\d+\.\d+", text), f"no version comment for {s['uses']}"
    r.check("release workflow: every action pinned by a 40-hex commit SHA with its version tag in a comment", pinned)

    def image_matches_chart():
        values = yaml.safe_load((CHART / "values.yaml").read_text())
        chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
        assert values["image"]["tag"] == "" and values["image"]["digest"] == "", "the default image is not the appVersion tag"
        assert re.fullmatch(r"\d+\.\d+\.\d+", chart["appVersion"]), chart["appVersion"]
        # The workflow pushes ghcr.io/<owner>/podgate:<tag without v> after checking it equals appVersion.
        owner = re.fullmatch(r"ghcr\.io/([a-z0-9-]+)/podgate", values["image"]["repository"])
        assert owner, f"image.repository {values['image']['repository']} is not ghcr.io/<owner>/podgate"
        version_step = next(s for s in _steps() if s.get("id") == "version")
        assert "charts/podgate/Chart.yaml" in version_step["run"] and "appVersion" in version_step["run"]
        assert 'image=ghcr.io/${GITHUB_REPOSITORY_OWNER,,}/podgate' in version_step["run"]
        build = _step("docker/build-push-action")["with"]
        tags = build["tags"].splitlines()
        assert "${{ steps.version.outputs.image }}:${{ steps.version.outputs.version }}" in tags, tags
        # Run the step's own check against the chart: the tag v<appVersion> passes, another fails.
        script = version_step["run"]
        for tag, ok in ((f"v{chart['appVersion']}", True), ("v99.0.0", False), ("latest", False)):
            out = Path(r.workdir) / "github-output"
            out.write_text("")
            proc = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=REPO, capture_output=True, text=True,
                                  env={"PATH": "/usr/bin:/bin", "GITHUB_REF_NAME": tag, "GITHUB_REPOSITORY_OWNER": "PodGate",
                                       "GITHUB_OUTPUT": str(out)}, timeout=30)
            assert (proc.returncode == 0) == ok, f"tag {tag}: exit {proc.returncode}: {proc.stdout}{proc.stderr}"
            if ok:
                outputs = dict(line.split("=", 1) for line in out.read_text().split())
                pulled = f"{values['image']['repository']}:{chart['appVersion']}"
                pushed = f"{outputs['image']}:{outputs['version']}"
                assert pushed == pulled, f"workflow pushes {pushed}, the chart pulls {pulled}"
    r.check("release workflow: pushes ghcr.io/<owner>/podgate:<appVersion>, the chart's default image "
            "(its tag check run here: v<appVersion> passes, another tag fails)", image_matches_chart)

    def multi_arch_signed():
        build = _step("docker/build-push-action")["with"]
        assert build["platforms"] == "linux/amd64,linux/arm64", build["platforms"]
        assert build["push"] is True and build["context"] == "."
        assert "arm64" in _step("docker/setup-qemu-action")["with"]["platforms"]
        assert _step("docker/login-action")["with"]["registry"] == "ghcr.io"
        _step("sigstore/cosign-installer")
        sign = next(s for s in _steps() if "cosign sign" in s.get("run", ""))
        assert sign["env"]["DIGEST"] == "${{ steps.build.outputs.digest }}", sign["env"]
        assert 'cosign sign --yes "$IMAGE@$DIGEST"' in sign["run"], "not signed by digest"
        release = next(s for s in _steps() if "gh release create" in s.get("run", ""))
        assert release["env"]["DIGEST"] == "${{ steps.build.outputs.digest }}" and "$IMAGE@$DIGEST" in release["run"]
        assert release["env"]["GH_TOKEN"] == "${{ github.token }}"
    r.check("release workflow: linux/amd64 and linux/arm64, cosign keyless by digest, the digest in the release notes",
            multi_arch_signed)

    def dockerfile_portable():
        text = (REPO / "Dockerfile").read_text()
        code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
        arch = re.findall(r"x86_64|amd64|aarch64|arm64|i386|/lib/[a-z0-9_]+-linux-gnu", code)
        assert not arch, f"architecture-specific names in the Dockerfile: {sorted(set(arch))}"
        bases = re.findall(r"^FROM\s+(\S+)", code, re.M)
        assert bases and all("--platform" not in b for b in bases), bases
    r.check("Dockerfile: no architecture-specific paths or pinned platform (builds the same for arm64)",
            dockerfile_portable)
