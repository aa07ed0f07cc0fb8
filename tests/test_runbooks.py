"""Runbooks that run: every PromQL block in docs/runbooks/ is scoped to one cluster and runs without error on a
real Prometheus over a small simulated cluster (rules evaluated); shell commands are fenced as `sh`."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from e2e.lab import cluster, simulated_prometheus

from generator.render.runbooks import SHELL, scope

FENCE = re.compile(r"```(\w*)\n(.*?)```", re.S)


def _blocks(root: Path) -> list[tuple[str, str, str]]:
    """(runbook, language, body) of every fenced block in the committed runbooks."""
    out = []
    for path in sorted((root / "docs" / "runbooks").glob("*.md")):
        for lang, body in FENCE.findall(path.read_text()):
            out.append((path.stem, lang, "\n".join(line.strip() for line in body.strip().splitlines())))
    return out


def test_blocks_are_fenced_by_language_and_scoped(root: Path) -> None:
    blocks = _blocks(root)
    assert len(blocks) > 300
    langs = {lang for _, lang, _ in blocks}
    assert langs == {"promql", "sh"}, langs
    for name, lang, body in blocks:
        if lang == "sh":
            assert SHELL.match(body), f"{name}: {body}"
            continue
        assert not SHELL.match(body), f"{name}: shell command fenced as PromQL: {body}"
        assert 'cluster="$cluster"' in body, f"{name}: {body}"
        assert scope(body, "cluster") == body, f"{name}: a selector lacks the cluster matcher: {body}"
    assert any(lang == "sh" and body.startswith("kubectl") for _, lang, body in blocks)


@pytest.mark.parametrize(("expr", "want"), [
    ("sum by (pod) (rate(x[5m]))", 'sum by (pod) (rate(x{cluster="$cluster"}[5m]))'),
    ('a{job="j"} / on (cluster, node) group_left (pod) b', 'a{cluster="$cluster",job="j"} / on (cluster, node) '
     'group_left (pod) b{cluster="$cluster"}'),
    ('up{cluster="x"} offset 5m > bool 0', 'up{cluster="x"} offset 5m > bool 0'),
    ('label_replace(m, "d", "$1", "s", "(.*)")', 'label_replace(m{cluster="$cluster"}, "d", "$1", "s", "(.*)")'),
    ('{__name__=~"a:b:.+"} * 24 * 3600', '{cluster="$cluster",__name__=~"a:b:.+"} * 24 * 3600'),
    # a group_left without a label list is no selector (the runbooks' own scanner once gave it braces)
    ("a and on () group_left b", 'a{cluster="$cluster"} and on () group_left b{cluster="$cluster"}'),
    ('sum by (le) (rate(a{x="}"}[5m]))', 'sum by (le) (rate(a{cluster="$cluster",x="}"}[5m]))'),
    ('m{ cluster=~"a|b" } + n{clusters="x"}', 'm{ cluster=~"a|b" } + n{cluster="$cluster",clusters="x"}'),
    ("topk(5, x) @ end()", 'topk(5, x{cluster="$cluster"}) @ end()'),
])
def test_scope_adds_the_matcher_to_selectors_only(expr: str, want: str) -> None:
    assert scope(expr, "cluster") == want


def test_every_promql_block_runs_on_prometheus(root: Path, tmp_path: Path) -> None:
    assert shutil.which("prometheus") and shutil.which("promtool"), "apt-get install prometheus"
    blocks = [(name, body) for name, lang, body in _blocks(root) if lang == "promql"]
    spec = cluster(size=(2, 2, 8), name="rb")
    errors, with_data = [], 0
    with simulated_prometheus(tmp_path, [spec], duration=1800, rounds=2) as lab:
        for name, body in blocks:
            expr = body.replace('"$cluster"', f'"{spec.name}"')
            try:
                with_data += bool(lab.prometheus.query(expr))
            except RuntimeError as exc:
                errors.append(f"{name}: {expr}: {exc}")
    assert not errors, "\n".join(errors[:10])
    # the queries read what the simulated cluster has: a good share of them return series
    assert with_data > len(blocks) / 3, (with_data, len(blocks))
