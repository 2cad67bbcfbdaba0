#!/usr/bin/env python3
"""The documented values of the chart's values.yaml, for the README's values table.

A value is documented by a comment block starting with `# --` right above its key (the helm-docs
convention). Every leaf of values.yaml must be, or sit under, a documented key.

  values_doc.py VALUES_YAML table    prints the README table rows (paste them under "## Values")
  values_doc.py VALUES_YAML json     prints {"documented": [...], "uncovered": [...], "rows": {...}}
"""

import json
import re
import sys

import yaml

KEY_LINE = re.compile(r"^(\s*)([A-Za-z0-9_]+):")


def documented_keys(text):
    """(dotted key, description) for every key preceded by a `# --` comment block."""
    docs = []
    stack = []  # (indent, key) of the enclosing mappings
    comment = None
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped.startswith("# --"):
            comment = [stripped[4:].strip()]
            continue
        if stripped.startswith("#"):
            if comment is not None:
                comment.append(stripped[1:].strip())
            continue
        m = KEY_LINE.match(line)
        if not m:
            continue
        indent = len(m.group(1))
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, m.group(2)))
        if comment is not None:
            docs.append((".".join(k for _, k in stack), " ".join(comment)))
        comment = None
    return docs


def value_at(values, key):
    for part in key.split("."):
        values = values[part]
    return values


def leaves(value, prefix=""):
    if isinstance(value, dict) and value:
        for k, v in value.items():
            yield from leaves(v, f"{prefix}.{k}" if prefix else k)
    else:
        yield prefix


def analyse(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    values = yaml.safe_load(text)
    docs = documented_keys(text)
    keys = [k for k, _ in docs]
    uncovered = [leaf for leaf in leaves(values)
                 if not any(leaf == k or leaf.startswith(k + ".") for k in keys)]
    rows = {}
    for key, description in docs:
        default = json.dumps(value_at(values, key), separators=(", ", ": ")).replace("|", "\\|")
        rows[key] = f"| `{key}` | `{default}` | {description.replace('|', chr(92) + '|')} |"
    return keys, uncovered, rows


def main():
    path, mode = sys.argv[1], sys.argv[2]
    keys, uncovered, rows = analyse(path)
    if mode == "table":
        print("\n".join(rows[k] for k in keys))
        if uncovered:
            print("undocumented values: " + ", ".join(uncovered), file=sys.stderr)
            sys.exit(1)
    else:
        print(json.dumps({"documented": keys, "uncovered": uncovered, "rows": rows}))


if __name__ == "__main__":
    main()
