"""Turn a dashboard query on recorded series back into the raw expression it stands for.

`expand(expr, rules)` replaces every recorded series (`level:metric:operations{matchers}`) with the expression
of the recording rule(s) that produce it, recursively, until only raw metrics are read:

* matchers on a rule's own static labels (`quantile="0.99"`) choose among the rules of that name; several
  left over are joined with `or`;
* the other matchers (`cluster="sim"`, `namespace="shop"`) are pushed down into every raw selector of the
  rule's expression — valid for the panel queries the bench uses, whose rules keep those labels through
  their aggregations (the bench checks the two forms return the same series with the same values).

This is a text rewrite for the generated rules over `generator.promql_tokens`' selectors, not a PromQL parser: a
raw selector is rewritten only when written with braces (every raw selector of the generated rules is), a
`{...}` selector without a metric name is left as it is.
`stereo suggest` uses it where a signal's recorded series has no samples in the window (history older than the
recording rules): the signal's raw expression is evaluated instead.
"""

from __future__ import annotations

from generator import promql
from generator.model import RecordingRule
from generator.promql_tokens import Found, find_selectors

Matcher = tuple[str, str, str]
Rules = dict[str, list[RecordingRule]]  # every rule of each record name


def rules_from(groups: list[dict]) -> Rules:
    """Recording rules by record name, from rule-file groups (`yaml.safe_load(text)["groups"]`)."""
    out: Rules = {}
    for g in groups:
        for r in g.get("rules", []):
            if "record" in r:
                rule = RecordingRule(r["record"], r["expr"], dict(r.get("labels") or {}))
                out.setdefault(rule.record, []).append(rule)
    return out


def _selector(text: str | None) -> list[Matcher]:
    return promql.parse_selector(text) if text and text.strip(" {}") else []


def expand(expr: str, rules: Rules, push: list[Matcher] | None = None, depth: int = 0) -> str:
    """`expr` with every recorded series replaced by its rules' raw expressions; `push` matchers are added to
    every raw selector. Raises ValueError for a recorded series no rule produces or a matcher it cannot honour."""
    if depth > 10:
        raise ValueError(f"recording rules nest too deep at {expr[:80]}")
    pushed = list(push or [])

    def one(f: Found) -> str:
        name, window = f.metric, expr[f.end:f.range_end]
        sel = None if f.matchers is None else "{" + f.matchers + "}"
        if ":" not in name:
            if sel is None or not name:  # a bare name or `{...}`: left as written
                return expr[f.start:f.range_end]
            return name + promql.selector(*(promql.matcher(*x) for x in _selector(sel) + pushed)) + window
        if name not in rules:
            raise ValueError(f"no recording rule produces {name}")
        own, rest = [], []
        static = set().union(*(r.labels for r in rules[name]))
        for x in _selector(sel) + pushed:
            (own if x[0] in static else rest).append(x)
        chosen = [r for r in rules[name]
                  if all(lab in r.labels and promql.matches(op, r.labels[lab], v) for lab, op, v in own)]
        if not chosen:
            raise ValueError(f"no rule for {name} matches {own}")
        parts = [f"({expand(r.expr, rules, rest, depth + 1)})" for r in chosen]
        expanded = parts[0] if len(parts) == 1 else "(" + " or ".join(parts) + ")"
        if window and ":" not in window:  # `record[1h]` → `(raw expression)[1h:]`: a range needs a subquery
            window = window.rstrip()[:-1] + ":]"
        return expanded + window

    out, at = [], 0
    for f in find_selectors(expr):
        out += [expr[at:f.start], one(f)]
        at = f.range_end
    return "".join(out) + expr[at:]


def recorded_in(expr: str, rules: Rules) -> set[str]:
    """Every recorded series `expr` reads, directly or through other rules."""
    out: set[str] = set()
    todo = [expr]
    while todo:
        for f in find_selectors(todo.pop()):
            name = f.metric
            if ":" in name and name in rules and name not in out:
                out.add(name)
                todo += [r.expr for r in rules[name]]
    return out


def static_labels(expr: str, rules: Rules) -> set[str]:
    """Labels the recorded form carries from rule `labels:` and the raw form does not."""
    return {k for name in recorded_in(expr, rules) for r in rules[name] for k in r.labels}
