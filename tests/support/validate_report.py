#!/usr/bin/env python3
"""Validates a `podgate check` report against its schema; exit 0 when valid, 1 with the reason.

  validate_report.py json  REPORT   against docs/check-report.schema.json (draft-07)
  validate_report.py sarif REPORT   against the OASIS SARIF 2.1.0 schema (draft-04)
  validate_report.py junit REPORT   against the junit-10 XSD, with xmllint

The schemas' sources are in tests/fixtures/schemas/README.md. Run by
tests/integration/check_cli_test.cpp; needs python3-jsonschema and libxml2-utils
(scripts/install-deps.sh).
"""
import json
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "tests" / "fixtures" / "schemas"


def validate_json(report, schema_path, validator_name):
    import jsonschema  # imported here so the junit check needs only xmllint

    schema = json.loads(schema_path.read_text())
    validator_class = getattr(jsonschema, validator_name)
    validator_class.check_schema(schema)
    errors = sorted(validator_class(schema).iter_errors(json.loads(report.read_text())), key=lambda e: list(e.path))
    for e in errors:
        print(f"{report}: {'/'.join(map(str, e.path)) or '(root)'}: {e.message}", file=sys.stderr)
    return 1 if errors else 0


def validate_junit(report):
    done = subprocess.run(["xmllint", "--noout", "--schema", str(SCHEMAS / "junit-10.xsd"), str(report)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        print(done.stderr, file=sys.stderr, end="")
    return done.returncode


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("json", "sarif", "junit"):
        print(__doc__, file=sys.stderr)
        return 2
    kind, report = sys.argv[1], pathlib.Path(sys.argv[2])
    if kind == "json":
        return validate_json(report, ROOT / "docs" / "check-report.schema.json", "Draft7Validator")
    if kind == "sarif":
        return validate_json(report, SCHEMAS / "sarif-schema-2.1.0.json", "Draft4Validator")
    return validate_junit(report)


if __name__ == "__main__":
    sys.exit(main())
