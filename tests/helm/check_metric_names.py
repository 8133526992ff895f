#!/usr/bin/env python3
"""Every metric the chart's alert rules (rules/alerts.yaml) and Grafana dashboard
(dashboards/loyalty-stream.json) query is one a running processor serves.

  check_metric_names.py CHART_DIR METRICS_FILE   METRICS_FILE: a /metrics body
  check_metric_names.py --self-test CHART_DIR    the check passes a body that has every
                                                 name and fails one that lacks one

test_processor runs the first form on the /metrics of a processor that has done its work
(tests/it/test_processor.c, check_operator_metrics). Exit 0 ok, 1 a name is missing.
"""
import json
import re
import sys

import yaml

# Recorded by Prometheus itself for every scrape target, never on /metrics.
PROMETHEUS_OWN = {"up"}
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or",
            "unless", "bool", "offset", "inf", "nan"}


def exprs(chart):
    with open(f"{chart}/rules/alerts.yaml") as f:
        for group in yaml.safe_load(f)["groups"]:
            for rule in group["rules"]:
                yield "rule " + rule.get("alert", rule.get("record", "?")), rule["expr"]
    with open(f"{chart}/dashboards/loyalty-stream.json") as f:
        board = json.load(f)
    for panel in board["panels"]:
        for t in panel.get("targets", []):
            yield "panel " + panel["title"], t["expr"]
    for var in board.get("templating", {}).get("list", []):
        q = var.get("query")
        q = q.get("query") if isinstance(q, dict) else None
        m = re.match(r"\s*label_values\(\s*([A-Za-z_:][A-Za-z0-9_:]*)", q or "")
        if m:
            yield "variable " + var["name"], m.group(1)


def names(expr):
    e = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)  # strings
    e = re.sub(r"\{[^}]*\}", "", e)  # label matchers
    e = re.sub(r"\[[^\]]*\]", "", e)  # ranges and subqueries
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", e)
    e = re.sub(r"\$\w+", "", e)  # Grafana variables
    e = re.sub(r"\b\d+(\.\d+)?([eE][-+]?\d+)?\b", "", e)  # numbers
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", e):
        if e[m.end():].lstrip().startswith("(") or m.group(0).lower() in KEYWORDS:
            continue  # a function or an operator
        yield m.group(0)


def wanted(chart):
    out = {}
    for where, expr in exprs(chart):
        for n in names(expr):
            out.setdefault(n, where)
    return out


def served(body):
    return {m.group(0) for line in body.splitlines() if line and not line.startswith("#")
            for m in [re.match(r"[A-Za-z_:][A-Za-z0-9_:]*", line)] if m}


def check(chart, body):
    want, have = wanted(chart), served(body)
    missing = {n: w for n, w in want.items() if n not in have and n not in PROMETHEUS_OWN}
    for n, w in sorted(missing.items()):
        print(f"check_metric_names: {w} queries {n}, which /metrics does not serve")
    return want, missing


def main(argv):
    if len(argv) == 3 and argv[1] == "--self-test":
        want = wanted(argv[2])
        if len(want) < 10:
            print(f"check_metric_names: self-test: only {len(want)} names found: {sorted(want)}")
            return 1
        full = "".join(f"{n} 1\n" for n in want)
        _, missing = check(argv[2], full)
        drop = "loyalty_task_lag_records"
        _, missing2 = check(argv[2], "".join(f"{n} 1\n" for n in want if n != drop))
        if missing or drop not in missing2:
            print("check_metric_names: self-test failed")
            return 1
        print(f"check_metric_names: self-test ok ({len(want)} names)")
        return 0
    if len(argv) != 3:
        print(__doc__)
        return 2
    with open(argv[2]) as f:
        want, missing = check(argv[1], f.read())
    if missing:
        return 1
    print(f"check_metric_names: ok ({len(want)} names: {' '.join(sorted(want))})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
