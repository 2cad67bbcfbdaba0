#!/usr/bin/env python3
"""Checks the ImageScan CRD (charts/podgate/crds/imagescans.podgate.io.yaml) against what podgate
writes: the golden apply bodies of tests/unit/scan_imagescan_test.cpp (tests/fixtures/imagescan/*.json)
must validate against its structural schema (every key known, types, enums, patterns, maxLength,
maxItems, bounds), the list map keys must be there, and the bounds must be those of
lib/scan/imagescan.h. A small validator of the OpenAPI subset the CRD uses, not a full one.

Run from anywhere: python3 tests/chart/crd_schema.py (needs PyYAML). tests/chart/checks.py runs it too.
"""
import glob
import json
import os
import re
import sys

import yaml

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
CRD = os.path.join(REPO, "charts/podgate/crds/imagescans.podgate.io.yaml")
HEADER = os.path.join(REPO, "lib/scan/imagescan.h")
GOLDEN = os.path.join(REPO, "tests/fixtures/imagescan")

# Which schema bound each C++ constant is (path in the schema -> constant).
BOUNDS = {
    ("spec", "scans", "maxItems"): "kImageScanMaxScans",
    ("spec", "scans", "*", "scanner", "maxLength"): "kImageScanMaxScannerBytes",
    ("spec", "scans", "*", "scannerVersion", "maxLength"): "kImageScanMaxVersionBytes",
    ("spec", "scans", "*", "databaseVersion", "maxLength"): "kImageScanMaxVersionBytes",
    ("spec", "scans", "*", "artifact", "maxLength"): "kImageScanMaxArtifactBytes",
    ("spec", "scans", "*", "findings", "maxItems"): "kImageScanMaxFindings",
    ("spec", "scans", "*", "findings", "*", "id", "maxLength"): "kImageScanMaxIdBytes",
    ("spec", "scans", "*", "findings", "*", "package", "maxLength"): "kImageScanMaxPackageBytes",
    ("spec", "scans", "*", "findings", "*", "installed", "maxLength"): "kImageScanMaxPackageVersionBytes",
    ("spec", "scans", "*", "findings", "*", "fixed", "maxLength"): "kImageScanMaxPackageVersionBytes",
    ("spec", "scans", "*", "findings", "*", "kind", "maxLength"): "kImageScanMaxKindBytes",
    ("spec", "scans", "*", "counts", "critical", "maximum"): "kImageScanMaxCount",
}


def load_crd():
    with open(CRD) as f:
        crd = yaml.safe_load(f)
    assert crd["apiVersion"] == "apiextensions.k8s.io/v1", crd["apiVersion"]
    assert crd["kind"] == "CustomResourceDefinition"
    spec = crd["spec"]
    assert crd["metadata"]["name"] == f"{spec['names']['plural']}.{spec['group']}"
    assert spec["group"] == "podgate.io" and spec["scope"] == "Cluster"
    assert spec["names"]["kind"] == "ImageScan" and spec["names"]["plural"] == "imagescans"
    versions = spec["versions"]
    assert [v["name"] for v in versions] == ["v1alpha1"]
    assert versions[0]["served"] and versions[0]["storage"]
    return versions[0]


def validate(value, schema, path="$"):
    """Errors of `value` against the structural schema `schema`, as a list of strings."""
    errors = []
    t = schema.get("type")
    kinds = {"object": dict, "array": list, "string": str, "boolean": bool}
    if t == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            return [f"{path}: {value!r} is not an integer"]
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"{path}: {value} < minimum {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(f"{path}: {value} > maximum {schema['maximum']}")
        return errors
    if t in kinds and not isinstance(value, kinds[t]):
        return [f"{path}: {type(value).__name__} is not {t}"]
    if t == "string":
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            errors.append(f"{path}: longer than {schema['maxLength']}")
        if "minLength" in schema and len(value) < schema["minLength"]:
            errors.append(f"{path}: shorter than {schema['minLength']}")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append(f"{path}: {value!r} does not match {schema['pattern']}")
        if "enum" in schema and value not in schema["enum"]:
            errors.append(f"{path}: {value!r} not in {schema['enum']}")
    if t == "array":
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            errors.append(f"{path}: more than {schema['maxItems']} items")
        for i, item in enumerate(value):
            errors += validate(item, schema["items"], f"{path}[{i}]")
        keys = schema.get("x-kubernetes-list-map-keys")
        if keys:
            seen = [tuple(item.get(k) for k in keys) for item in value]
            if len(seen) != len(set(seen)):
                errors.append(f"{path}: duplicate map keys {keys}")
    if t == "object":
        props = schema.get("properties")
        for k in schema.get("required", []):
            if k not in value:
                errors.append(f"{path}: required {k!r} missing")
        if props is not None and not schema.get("x-kubernetes-preserve-unknown-fields"):
            for k, v in value.items():
                if k not in props:
                    # metadata is the apiserver's: an empty object schema there means "any".
                    if props or path != "$.metadata":
                        errors.append(f"{path}: unknown field {k!r} (the apiserver would prune it)")
                    continue
                errors += validate(v, props[k], f"{path}.{k}")
    return errors


def schema_at(root, path):
    s = root
    for p in path:
        s = s["items"] if p == "*" else s["properties"][p]
    return s


def header_constants():
    text = open(HEADER).read()
    out = {}
    for name, expr in re.findall(r"constexpr std::\w+ (kImageScan\w+) = ([^;]+);", text):
        out[name] = eval(expr.replace("u", ""))  # simple arithmetic: 2 * 1024 * 1024
    return out


def checks():
    """(name, function) pairs; each raises AssertionError on failure."""
    version = load_crd()
    root = version["schema"]["openAPIV3Schema"]

    def goldens_validate():
        files = sorted(glob.glob(os.path.join(GOLDEN, "*.json")))
        assert files, f"no golden bodies in {GOLDEN}"
        for f in files:
            body = json.load(open(f))
            errors = validate(body, root)
            assert not errors, f"{os.path.basename(f)}: " + "; ".join(errors)
            assert body["metadata"]["name"] == body["spec"]["digest"].replace(":", "-"), f"{f}: name rule"
            for scan in body["spec"]["scans"]:  # the x-kubernetes-validations rule, computed here
                assert scan["findingsOmitted"] + len(scan["findings"]) == sum(scan["counts"].values()), f"{f}: omitted"

    def every_key_is_written_somewhere():
        # The other way round: a schema field no golden body writes is a field podgate never sets
        # (or a golden file that no longer covers it).
        written = set()

        def walk(v, path):
            if isinstance(v, dict):
                for k, x in v.items():
                    written.add(path + (k,))
                    walk(x, path + (k,))
            elif isinstance(v, list):
                for x in v:
                    walk(x, path + ("*",))
        for f in glob.glob(os.path.join(GOLDEN, "*.json")):
            walk(json.load(open(f)), ())
        declared = set()

        def decl(s, path):
            for k, x in (s.get("properties") or {}).items():
                declared.add(path + (k,))
                decl(x, path + (k,))
            if "items" in s:
                decl(s["items"], path + ("*",))
        decl(root, ())
        written = {p for p in written if p[:1] != ("metadata",) or len(p) == 1}  # metadata.*: the apiserver's
        assert not (written - declared), f"written but not in the schema: {sorted(written - declared)}"
        assert not (declared - written), f"in the schema but never written: {sorted(declared - written)}"

    def map_list():
        scans = schema_at(root, ["spec", "scans"])
        assert scans.get("x-kubernetes-list-type") == "map"
        assert scans.get("x-kubernetes-list-map-keys") == ["scanner"]
        assert "scanner" in scans["items"]["required"], "a map key must be required"
        findings = schema_at(root, ["spec", "scans", "*", "findings"])
        assert findings.get("x-kubernetes-list-type") == "atomic"

    def bounds_match_header():
        consts = header_constants()
        for path, name in BOUNDS.items():
            actual = schema_at(root, path[:-1])[path[-1]]
            assert actual == consts[name], f"{'.'.join(path)} is {actual}, {name} is {consts[name]}"
        counts = schema_at(root, ["spec", "scans", "*", "counts"])["properties"]
        for sev, s in counts.items():
            assert s["maximum"] == consts["kImageScanMaxCount"], f"counts.{sev}"

    def printer_columns():
        cols = {c["name"]: c["jsonPath"] for c in version["additionalPrinterColumns"]}
        for name in ["Digest", "Scanners", "Critical", "Age"]:
            assert name in cols, f"printer column {name} missing"

    def invalid_bodies_fail():
        body = json.load(open(os.path.join(GOLDEN, "trivy.json")))
        body["spec"]["scans"][0]["findings"][0]["severity"] = "SEVERE"
        assert validate(body, root), "a bad severity validated"
        body = json.load(open(os.path.join(GOLDEN, "trivy.json")))
        body["spec"]["scans"][0]["counts"]["critcal"] = 1
        assert validate(body, root), "an unknown count key validated"

    return [
        ("CRD: the golden ImageScan apply bodies validate against the schema", goldens_validate),
        ("CRD: every key the apply body writes is in the schema, and every schema field is written",
         every_key_is_written_somewhere),
        ("CRD: spec.scans is a map list keyed by scanner, findings atomic", map_list),
        ("CRD: the schema's bounds are lib/scan/imagescan.h's", bounds_match_header),
        ("CRD: printer columns", printer_columns),
        ("CRD: the validator refuses what it should", invalid_bodies_fail),
    ]


def main():
    failed = 0
    for name, fn in checks():
        try:
            fn()
            print(f"ok    {name}")
        except AssertionError as e:
            failed += 1
            print(f"FAIL  {name}: {e}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
