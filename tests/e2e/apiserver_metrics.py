#!/usr/bin/env python3
"""The dashboard's panels on the apiserver's own webhook metrics, against the end-to-end suite's
kube-apiserver, scraped by a real Prometheus (tests/e2e/apiserver_metrics.sh starts it and causes
what the panels count). The variables are resolved and substituted by the Prometheus scrape test's
own helpers (tests/prometheus/scrape_test.py), as Grafana does it.

  wait PROMETHEUS_URL SECONDS       until every target (the apiserver's, podgate's) is up
  check PROMETHEUS_URL CLUSTER      resolve the dashboard's variables (cluster CLUSTER, namespace and
                                    job podgate), then every query of the dashboard on apiserver_*
                                    series must return a series above 0, and those must show
                                    the three outcomes: a fail-open of audit.podgate.io, a refusal of
                                    enforce.podgate.io with error_type calling_webhook_error, and a
                                    denial by podgate (no_error). One line per check, then
                                    "N passed, M failed"; exit 1 if anything failed.
"""

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "prometheus"))
import scrape_test as st  # noqa: E402  (tests/prometheus/scrape_test.py)


def wait(base, seconds):
    deadline = time.monotonic() + float(seconds)
    last = None
    while time.monotonic() < deadline:
        try:
            targets = st.query(base, "up")["data"]["result"]
            last = {t["metric"]["job"]: t["value"][1] for t in targets}
            if len(last) >= 2 and all(v == "1" for v in last.values()):
                return
        except Exception as e:  # noqa: BLE001  (Prometheus starting)
            last = e
        time.sleep(0.5)
    sys.exit(f"targets not all up after {seconds}s: {last}")


def check(base, cluster):
    f = st.Failures()
    dashboard = json.loads(st.DASHBOARD.read_text())
    variables = st.dashboard_variables(base, dashboard, {"cluster": cluster, "namespace": st.NAMESPACE,
                                                         "job": st.JOB}, f)
    outcomes = set()
    targets = [(p, t) for p, t in st.panel_targets(dashboard) if st.APISERVER_PREFIX in t["expr"]]
    f.expect(len(targets) >= 3, f"the dashboard has {len(targets)} queries on the apiserver's series", "fewer than 3")
    for panel, target in targets:
        expr = st.substitute(target["expr"], variables)
        what = f"panel {panel['id']} '{panel['title']}' {target.get('refId', '')}: {expr}"
        for r in st.check_query(base, f, what, expr, positive=True):
            m = r["metric"]
            if float(r["value"][1]) <= 0:
                continue  # an earlier case's series (the whole suite runs before): not this case's
            if "fail_open" in expr and m.get("name"):
                outcomes.add(("failed open", m["name"]))
            elif m.get("error_type"):
                outcomes.add((m["error_type"], m["name"]))
            elif 'error_type="no_error"' in expr and m.get("name"):
                outcomes.add(("denied", m["name"]))
    want = {("failed open", "audit.podgate.io"), ("calling_webhook_error", "enforce.podgate.io"),
            ("denied", "enforce.podgate.io")}
    f.expect(want <= outcomes, f"the panels show {sorted(want)}", f"got {sorted(outcomes)}")
    # Another cluster's selection must not show them: the cluster variable really filters.
    other = {**variables, "cluster": "elsewhere"}
    expr = st.substitute(targets[0][1]["expr"], other)
    f.expect(not st.query(base, expr)["data"]["result"], f"cluster=~\"elsewhere\" selects nothing: {expr}",
             "another cluster's selection returned data")
    print(f.summary())
    return 0 if f.failed == 0 else 1


def main(argv):
    if len(argv) == 4 and argv[1] == "wait":
        wait(argv[2], argv[3])
    elif len(argv) == 4 and argv[1] == "check":
        sys.exit(check(argv[2], argv[3]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
