"""`stereo correlate FILE`: broken inputs (one stderr line, exit 2), values against scipy, JSON shape, heatmaps."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as sp

from generator.correlate import offline

ROOT = Path(__file__).resolve().parents[2]
JSON_KEYS = {"n", "alpha", "critical", "series", "rho", "pvalue", "significant_pairs"}


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = offline.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _write_csv(path: Path, names: list[str], data: np.ndarray, gaps: set[tuple[int, int]] = frozenset()) -> Path:
    lines = ["time," + ",".join(names)]
    for t in range(data.shape[1]):
        cells = ["" if (i, t) in gaps else repr(float(data[i, t])) for i in range(data.shape[0])]
        lines.append(f"{1700000000 + 60 * t}," + ",".join(cells))
    path.write_text("\n".join(lines) + "\n")
    return path


def _data(seed: int = 1, n: int = 120) -> np.ndarray:
    rng = np.random.default_rng(seed)
    dy = rng.standard_normal(n)
    return np.vstack([np.cumsum(dy), np.cumsum(dy + rng.standard_normal(n)), np.cumsum(rng.standard_normal(n))])


def _prom(result: list[dict], status: str = "success", kind: str = "matrix") -> str:
    return json.dumps({"status": status, "data": {"resultType": kind, "result": result}})


# ---------------------------------------------------------------- broken input

GOOD = "time,cpu,net\n1,1,2\n2,2,1\n3,3,3\n4,5,4\n"
BROKEN = [
    ("missing", None, [], "cannot read: No such file or directory"),
    ("empty.csv", "", [], "empty file"),
    ("blank.csv", "\n \n", [], "empty file"),
    ("noheader.csv", "1,2,3\n2,3,4\n3,4,5\n4,5,6\n", [], "line 1: no header row"),
    ("onecol.csv", "time\n1\n2\n3\n", [], "line 1: expected a header row"),
    ("word.csv", "time,cpu,net\n1,1,2\n2,2,1\n3,3,3\n4,4,4\n5,5,5\n6,6,6\n7,abc,7\n", [],
     'line 8 column "cpu": expected a number, got "abc"'),
    ("fields.csv", "time,cpu,net\n1,1,2\n2,2\n3,3,3\n", [], "line 3: expected 3 fields, got 2"),
    ("order.csv", "time,cpu,net\n1,1,2\n3,2,1\n2,3,3\n", [], 'line 4: time "2" is not after the previous row'),
    ("dup.csv", "time,cpu,cpu\n1,1,2\n2,2,1\n3,3,3\n", [], 'line 1: duplicate column "cpu"'),
    ("unnamed.csv", "time,cpu,\n1,1,2\n2,2,1\n3,3,3\n", [], "line 1: column 3 has no name"),
    ("short.csv", "time,cpu,net\n1,1,2\n2,2,1\n", [], "only 2 time points; need at least 3"),
    ("single.csv", "time,cpu\n1,1\n2,2\n3,3\n", [], "only 1 series; need at least 2"),
    ("bad.json", '{"status": "success", "data": ', [], "not valid JSON"),
    ("list.json", "[1, 2]", [], "not a Prometheus query response"),
    ("error.json", '{"status": "error", "error": "bad_data"}', [], 'query status is "error": bad_data'),
    ("vector.json", _prom([], kind="vector"), [], 'resultType is "vector", expected "matrix"'),
    ("values.json", _prom([{"metric": {"__name__": "up"}, "values": [[1, "1"], [2, "x"]]}]), [],
     'data.result[0].values[1]: expected a number, got "x"'),
    ("shape.json", _prom([{"metric": {}, "values": [1, 2]}]), [], 'data.result[0].values[0]: expected [time, "value"]'),
    ("nometric.json", _prom([{"values": []}]), [], "data.result[0]: expected"),
    ("onejson.json", _prom([{"metric": {"__name__": "up"}, "values": [[1, "1"], [2, "2"], [3, "3"]]}]), [],
     "only 1 series; need at least 2"),
    ("alpha.csv", GOOD, ["--alpha", "1.5"], "--alpha must be between 0 and 1 (exclusive), got 1.5"),
    ("alpha0.csv", GOOD, ["--alpha", "0"], "--alpha must be between 0 and 1"),
    ("alphaword.csv", GOOD, ["--alpha", "lots"], '--alpha: expected a number, got "lots"'),
    ("ext.csv", GOOD, ["--heatmap", "out.jpg"], '--heatmap: unknown image type ".jpg", use .svg or .png'),
]


@pytest.mark.parametrize(("name", "content", "extra", "message"), BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_input_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, content: str | None, extra: list[str], message: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    code, out, err = _run(capsys, str(path), *extra)
    assert code == 2
    assert out == ""
    assert err.endswith("\n") and err.count("\n") == 1
    assert err.startswith(f"stereo correlate: {path}: ")
    assert message in err


def test_usage_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "x.csv", "--method", "pearson")
    assert code == 2 and out == "" and err.count("\n") == 1 and err.startswith("stereo correlate: ")
    assert _run(capsys, "--help")[0] == 0


# ---------------------------------------------------------------- values


def test_levels_json_matches_scipy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = _data()
    path = _write_csv(tmp_path / "m.csv", ["cpu", "net", "mem"], data)
    code, out, _ = _run(capsys, str(path), "--method", "levels", "--format", "json", "--alpha", "0.05")
    assert code == 0
    doc = json.loads(out)
    assert set(doc) == JSON_KEYS
    ref = sp.spearmanr(data, axis=1)
    np.testing.assert_allclose(np.array(doc["rho"], dtype=float), ref.statistic, atol=1e-9)
    off = ~np.eye(3, dtype=bool)
    np.testing.assert_allclose(np.array(doc["pvalue"], dtype=float)[off], ref.pvalue[off], rtol=1e-9)
    assert doc["n"] == 120 and doc["alpha"] == 0.05 and doc["series"] == ["cpu", "net", "mem"]
    assert doc["critical"] == pytest.approx(float(sp.t.ppf(0.975, 118) / np.sqrt(118 + sp.t.ppf(0.975, 118) ** 2)))
    strengths = [abs(p["rho"]) for p in doc["significant_pairs"]]
    assert strengths == sorted(strengths, reverse=True)


def test_default_is_changes_with_gaps_and_undefined(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = np.vstack([_data(), np.full(120, 4.0)])
    path = _write_csv(tmp_path / "d.csv", ["cpu", "net", "mem", "flat"], data, gaps={(2, 60)})
    code, out, _ = _run(capsys, str(path), "--format", "json")
    assert code == 0
    doc = json.loads(out)
    keep = np.ones(119, bool)
    keep[[59, 60]] = False  # the gap at point 60 removes two changes (below max_drop: for everyone)
    ref = sp.spearmanr(np.diff(data[:3], axis=1)[:, keep], axis=1).statistic
    np.testing.assert_allclose(np.array(doc["rho"], dtype=float)[:3, :3], ref, atol=1e-9)
    assert doc["n"] == 117
    assert doc["rho"][3] == [None] * 4 and doc["pvalue"][0][3] is None  # undefined, as null
    assert [(p["a"], p["b"]) for p in doc["significant_pairs"]] == [("cpu", "net")]
    assert "n_eff" in doc["significant_pairs"][0]
    assert len(doc["critical"]) == 4  # per pair from n_eff
    assert _run(capsys, str(path), "--format", "json")[1] == out  # deterministic


def test_text_output_reproduces_a_paper_critical_value(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write_csv(tmp_path / "p.csv", ["cpu", "net", "mem"], _data(n=30))
    code, out, _ = _run(capsys, str(path), "--method", "levels")
    assert code == 0
    assert "critical |rho| at alpha 0.01: 0.462892" in out
    assert "n: 30" in out and "rho:" in out and "significant pairs after Benjamini-Hochberg" in out
    rows = [line for line in out.splitlines() if line.lstrip().startswith("[") and "." in line]
    assert len(rows) == 3 and len({len(r) for r in rows}) == 1  # aligned table


def test_prometheus_matrix_is_aligned_and_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = _data(seed=3, n=60)
    stamps = [1700000000 + 15 * t for t in range(60)]
    result = [
        {"metric": {"__name__": "rate_cpu", "pod": "web-1", "namespace": 'a"b'},
         "values": [[t, str(v)] for t, v in zip(stamps, data[0], strict=True)]},
        {"metric": {"pod": "web-1"},
         "values": [[t, str(v)] for t, v in zip(stamps, data[1], strict=True) if t != stamps[9]]},
        {"metric": {"__name__": "mem"}, "values": [[t, str(v)] for t, v in zip(stamps, data[2], strict=True)]},
    ]
    path = tmp_path / "q.json"
    path.write_text(_prom(result))
    code, out, _ = _run(capsys, str(path), "--format", "json", "--method", "levels")
    assert code == 0
    doc = json.loads(out)
    assert doc["series"] == ['rate_cpu{namespace="a\\"b",pod="web-1"}', '{pod="web-1"}', "mem"]
    keep = np.arange(60) != 9  # the missing point is a gap, dropped for everyone
    assert doc["n"] == 59
    np.testing.assert_allclose(np.array(doc["rho"], dtype=float),
                               sp.spearmanr(data[:, keep], axis=1).statistic, atol=1e-9)


# ---------------------------------------------------------------- heatmaps


@pytest.mark.parametrize("suffix", [".svg", ".png"])
def test_heatmap_is_written(tmp_path: Path, capsys: pytest.CaptureFixture[str], suffix: str) -> None:
    path = _write_csv(tmp_path / "h.csv", ["cpu_usage", "net_bytes", "mem"], _data())
    image = tmp_path / f"h{suffix}"
    assert _run(capsys, str(path), "--heatmap", str(image))[0] == 0
    blob = image.read_bytes()
    if suffix == ".png":
        assert blob.startswith(b"\x89PNG")
    else:
        assert b"<svg" in blob and b"net_bytes" in blob


def test_matplotlib_is_only_imported_for_a_heatmap(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "l.csv", ["a", "b"], _data()[:2])
    code = (
        "import sys; from generator.correlate import offline; "
        f"rc = offline.main([{str(path)!r}, '--format', 'json']); "
        "print(rc, 'matplotlib' in sys.modules, file=sys.stderr)"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert proc.stderr.strip() == "0 False"
