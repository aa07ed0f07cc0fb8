"""The suggestion pipeline and `stereo suggest`, against a real Prometheus holding a planted pair and decoys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from promlab import DECOYS, NAMESPACE, PLANTED, POD, Prometheus, free_port

from generator import cli, correlations, promql
from generator.config import load
from generator.correlate import suggest
from generator.correlate.candidates import TIERS, Catalog, candidates, tiers
from generator.correlate.source import Source
from generator.correlate.upstream import UsageError, check_matchers, site_catalog
from generator.correlations import Pair


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return site_catalog(load(None))


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # keep ./stereo.yaml and ./correlations.yaml of the checkout out of these tests


# ---------------------------------------------------------------- candidates


def test_candidates_come_topology_first_and_bounded(catalog: Catalog) -> None:
    by_tier = tiers(catalog, "container_cpu_usage", ["pod_network_receive_bytes"])
    assert [c.signal.name for c in by_tier["prior"]] == ["pod_network_receive_bytes"]
    scope = {c.signal.name for c in by_tier["scope"]}
    assert {"container_memory_working_set", "service_latency_p99", "pod_restarts"} <= scope
    assert "node_cpu_utilisation" in {c.signal.name for c in by_tier["node"]}
    assert "namespace_cpu_usage" in {c.signal.name for c in by_tier["component"]}
    every = [c.signal.name for t in TIERS for c in by_tier[t]]
    assert "container_cpu_usage" not in every and len(every) == len(set(every))

    api = candidates(catalog, "apiserver_cpu", limit=12)
    assert len(api) == 12
    kept = {c.tier for c in api}
    assert {"node", "component", "service"} <= kept  # every tier keeps a share: services are not crowded out
    assert [TIERS.index(c.tier) for c in api] == sorted(TIERS.index(c.tier) for c in api)


def test_unknown_names_get_close_matches(catalog: Catalog) -> None:
    assert catalog.close("container_cpu_usag")[0] == "container_cpu_usage"


# ---------------------------------------------------------------- selectors and labels


def test_selector_values_are_bound_escaped_never_pasted(catalog: Catalog, prometheus: Prometheus) -> None:
    evil = 'x"} or vector(1) {a="'
    sig = catalog.signals["container_cpu_usage"]
    q = suggest.query_for(sig, [("namespace", "=", NAMESPACE), ("pod", "=", evil), ("node", "=", "n1")], "cluster")
    assert 'namespace="shop"' in q and f'pod=~"{promql.escape_regex(evil)}"' in q
    assert "node" not in q and "$" not in q  # non-variable matchers filter the result; unbound variables drop
    source = Source(prometheus.url)
    try:
        assert source.instant(q) == []  # valid PromQL, matching nothing: the value stayed a value
    finally:
        source.close()


def test_keep_and_compatible() -> None:
    series = {"namespace": "shop", "pod": "web-1"}
    assert suggest.keep(series, [("pod", "=~", "web-.*"), ("node", "=", "n1")])  # no node label: coarser, kept
    assert not suggest.keep(series, [("pod", "!=", "web-1")])
    assert suggest.compatible({"pod": "a", "quantile": "0.99"}, {"pod": "a", "quantile": "0.5"})
    assert not suggest.compatible({"pod": "a"}, {"pod": "b"})
    assert suggest.compatible({"instance": "10.0.0.1:6443"}, {"instance": "10.0.0.1:9100"})
    assert suggest.compatible({"pod": "a"}, {"instance": "10.0.0.1:9100"})


def test_regex_matchers_that_can_backtrack_exponentially_are_refused() -> None:
    assert check_matchers([("pod", "=~", "(web|api)-.*"), ("node", "!~", "n[0-9]{1,3}")])
    for bad in ("(a+)+b", "(a*)*", "(x|xx)+y", "(a)\\1", "a(?=b)"):
        with pytest.raises(UsageError, match="not supported in selectors"):
            check_matchers([("pod", "=~", bad)])


def test_options_are_checked() -> None:
    with pytest.raises(ValueError, match="need at least"):
        suggest.Options(window=300, step=60).check()
    with pytest.raises(ValueError, match="alpha"):
        suggest.Options(alpha=1.5).check()


# ---------------------------------------------------------------- the pipeline


def _measure(catalog: Catalog, url: str, end: float, targets: list[str],
             options: suggest.Options | None = None) -> suggest.Measurement:
    prior = correlations.prior(set(catalog.signals))
    source = Source(url)
    try:
        return suggest.measure(source, catalog, suggest.plan(catalog, targets, suggest.related(prior)),
                               [("namespace", "=", NAMESPACE)], "cluster", options or suggest.Options(), end)
    finally:
        source.close()


def test_planted_pair_ranks_first_and_decoys_are_not_significant(catalog: Catalog, prometheus: Prometheus,
                                                                   planted_blocks: tuple[Path, int]) -> None:
    m = _measure(catalog, prometheus.url, planted_blocks[1], ["container_cpu_usage"])
    found = m.findings["container_cpu_usage"]
    first = found[0]
    assert (first.partner, first.significant) == (PLANTED[1], True)
    assert first.rho > 0.7 and first.qvalue < 1e-6 and first.n == 360 and 3 <= first.n_eff <= 360
    assert first.critical == pytest.approx(float(suggest.stats.critical_value(first.n_eff, 0.01)), abs=1e-6)
    assert first.stability is not None and first.stability > 0.9 and len(first.short_rho) == len(first.short_times)
    assert first.target_labels["pod"] == POD and first.partner_labels["pod"] == POD
    decoys = {f.partner: f for f in found if f.partner in DECOYS}
    assert set(decoys) == set(DECOYS)
    assert not any(f.significant for f in decoys.values())
    assert [f.partner for f in found if f.significant] == [PLANTED[1]]
    assert dict(m.missing["container_cpu_usage"])["pod_restarts"] == "constant over the window"


def test_the_papers_plain_method_counts_every_point(catalog: Catalog, prometheus: Prometheus,
                                                     planted_blocks: tuple[Path, int]) -> None:
    m = _measure(catalog, prometheus.url, planted_blocks[1], ["container_cpu_usage"],
                 suggest.Options(method="levels"))
    # (on levels, random walks look related too: that is why the default method correlates changes)
    planted = next(f for f in m.findings["container_cpu_usage"] if f.partner == PLANTED[1])
    assert planted.significant and planted.n == 361 and planted.n_eff is None
    assert planted.critical == pytest.approx(float(suggest.stats.critical_value(361, 0.01)), abs=1e-6)


def test_same_end_same_document(catalog: Catalog, prometheus: Prometheus, planted_blocks: tuple[Path, int]) -> None:
    texts = set()
    for _ in range(2):
        m = _measure(catalog, prometheus.url, planted_blocks[1], [*PLANTED, "container_memory_working_set"])
        texts.add(correlations.dump(suggest.pairs(m, catalog), suggest.header(m.options)))
    (text,) = texts
    pairs = correlations.parse(text, "correlations.yaml", set(catalog.signals))
    assert [(p.a, p.b) for p in pairs] == [PLANTED]  # found from both targets, written once


# ---------------------------------------------------------------- `stereo suggest`


def test_stereo_suggest_writes_a_document_generate_consumes(tmp_path: Path, prometheus: Prometheus,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "measured" / "correlations.yaml"
    code = cli.main(["suggest", "--prometheus", prometheus.url, "--window", "6h", "--step", "60s",
                     "--alpha", "0.01", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "stereo suggest: [1/" in err and "correlating" in err and f"wrote {out}: 1 significant pairs" in err
    assert sorted(p.name for p in out.parent.iterdir()) == ["correlations.yaml"]  # no temporary file left behind
    text = out.read_text(encoding="utf-8")
    known = {s.name for s in site_catalog(load(None)).signals.values()}
    pairs = correlations.parse(text, str(out), known)
    assert len(pairs) == 1
    p = pairs[0]
    assert (p.a, p.b, p.source, p.window, p.alpha, p.relation) == (*PLANTED, "measured", "6h", 0.01,
                                                                      "CPU ↔ network traffic")
    assert isinstance(p, Pair) and p.rho is not None and p.rho > 0.7 and p.stability == 1.0
    assert all(len(str(v).split(".")[-1]) <= 6 for v in (p.rho, p.critical) if isinstance(v, float))

    code = cli.main(["generate", "--out", str(tmp_path / "gen"), "--correlations", str(out)])
    assert code == 0, capsys.readouterr().err
    board = json.loads((tmp_path / "gen" / "dashboards" / "workloads.json").read_text(encoding="utf-8"))
    assert f"ρ = {p.rho:+.2f}, n = {p.n}" in json.dumps(board, ensure_ascii=False)


def test_stereo_suggest_reports_problems_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    assert cli.main(["suggest", "--prometheus", closed, "--targets", "container_cpu_usage"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"stereo suggest: cannot connect to {closed}")
    assert not (tmp_path / "correlations.yaml").exists()

    for args, text in ((["--window", "6x"], "--window: bad duration"), (["--targets", "cpu_usage_container"],
                                                                         "unknown signal cpu_usage_container"),
                       (["--selector", 'pod="a" or'], "--selector"), (["--alpha", "2"], "alpha must be"),
                       (["--bearer-token-file", "missing"], "--bearer-token-file missing: cannot read"),
                       (["--selector", 'pod=~"(a+)+"'], "not supported in selectors")):
        assert cli.main(["suggest", "--prometheus", closed, *args]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and text in err, err


def test_stereo_suggest_cannot_write(tmp_path: Path, prometheus: Prometheus,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "file").write_text("", encoding="utf-8")
    code = cli.main(["suggest", "--prometheus", prometheus.url, "--targets", "container_cpu_usage",
                     "--out", str(tmp_path / "file" / "correlations.yaml")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err[-1].startswith(f"stereo suggest: --out {tmp_path}/file/correlations.yaml: cannot write")


def test_stereo_suggest_json_findings_name_their_object(tmp_path: Path, prometheus: Prometheus,
                                                        planted_blocks: tuple[Path, int],
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    out, found = tmp_path / "correlations.yaml", tmp_path / "findings.json"
    end = planted_blocks[1]
    code = cli.main(["suggest", "--prometheus", prometheus.url, "--start", str(end - 3 * 3600), "--end", str(end),
                     "--step", "60s", "--targets", ",".join(PLANTED), "--out", str(out), "--json", str(found),
                     "--no-regimes"])
    err = capsys.readouterr().err
    assert code == 0, err
    doc = json.loads(found.read_text(encoding="utf-8"))
    measured = [f for f in doc if f["significant"] and not f["derived"]]
    assert len(measured) == 1
    (f,) = measured
    assert {f["a"], f["b"]} == set(PLANTED) and f["scope"] == {"cluster": "test", "namespace": NAMESPACE, "pod": POD}
    assert set(f) == {"a", "b", "scope", "rho", "n", "n_eff", "p", "q", "critical", "significant", "derived",
                      "expected", "phase", "change", "points", "present", "partial", "window"}
    assert f["expected"] is False and f["partial"] is False and f["n"] >= 0.8 * f["points"]
    assert f["phase"] is None and f["window"] == {"start": (end - 3 * 3600) // 60 * 60 + 60 * ((end % 60) > 0),
                                                  "end": end // 60 * 60}
    assert f["n"] >= 100 and 0 < f["p"] <= f["q"] <= 0.01 and f["rho"] > f["critical"]
    assert "objects: 1" in out.read_text(encoding="utf-8")
    assert "no data: " in err  # signals without series are named with their query

    bad = cli.main(["suggest", "--prometheus", prometheus.url, "--start", str(end), "--end", str(end - 60)])
    assert bad == 2 and "is not before end" in capsys.readouterr().err
