"""`stereo correlate FILE`: Spearman analysis of a CSV or a saved Prometheus range-query response.

FILE is either
* a CSV: a header row (time column, then one column per series), one row per time point; an empty cell or
  "NaN" is a gap;
* a Prometheus `/api/v1/query_range` JSON response (resultType "matrix"): series are named from their labels
  like `name{k="v",...}` and aligned on the union of their timestamps, missing points become gaps.
JSON is recognised by a `.json` suffix or a leading `{`.

Any problem with the input is reported as one line, `stereo correlate: FILE: what is wrong`, exit code 2.

More than `wide.WIDE` (2,000) series: the significant pairs are computed a block of rows at a time (bounded
memory, a progress line per block on stderr) and no matrix is printed (`wide`). Small samples are honest: p is
exact for n ≤ 10 and nothing with fewer than 10 (effective) points is significant — 3 points never are.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from generator import safeload
from generator.correlate import stats, wide

PROG = "stereo correlate"
HEATMAP_SUFFIXES = (".svg", ".png")
_METHOD_HELP = {
    "diff": "Spearman of first differences, p from the autocorrelation-corrected n_eff",
    "levels": "Spearman of the levels, plain t test with n points (the paper)",
    "neff": "Spearman of the levels, p from the autocorrelation-corrected n_eff",
}


class InputError(Exception):
    """Something wrong with the command line or the input file, to be reported in one line."""


@dataclass
class Table:
    series: list[str]
    times: list[str]
    values: np.ndarray  # (n_series, n_points), NaN for gaps


# ---------------------------------------------------------------- loading


def load(path: str) -> Table:
    """Read FILE through the safe loader: a regular file of at most 32 MiB, UTF-8; JSON parsed by it too
    (load_prometheus_json)."""
    try:
        text = safeload.read_text(path, safeload.DATA_LIMIT)
    except safeload.LoadError as e:
        raise InputError(f"line {e.line}: {e.message}" if e.line else e.message) from None
    is_json = path.endswith(".json") or text.lstrip()[:1] == "{"
    if not text.strip():
        raise InputError("empty file")
    try:
        table = load_prometheus_json(text) if is_json else load_csv(text)
    except csv.Error as e:
        raise InputError(f"not valid CSV: {e}") from None
    if len(table.times) < 3:
        raise InputError(f"only {len(table.times)} time points; need at least 3")
    if len(table.series) < 2:
        raise InputError(f"only {len(table.series)} series; need at least 2")
    return table


def _number(cell: str, where: str) -> float:
    s = cell.strip()
    if s == "":
        return math.nan
    try:
        return float(s)
    except ValueError:
        raise InputError(f'{where}: expected a number, got "{cell}"') from None


def load_csv(text: str) -> Table:
    # rows are read one at a time and kept as float arrays: a wide file never holds all its cells as strings
    # (lines, not io.StringIO: its buffer holds four bytes a character)
    rows = ((n, r) for n, r in enumerate(csv.reader(text.splitlines()), start=1) if any(c.strip() for c in r))
    line, header = next(rows)
    if len(header) < 2:
        raise InputError(f"line {line}: expected a header row: a time column, then one column per series")
    names = [h.strip() for h in header[1:]]
    if all(_is_number(h) for h in names):
        raise InputError(f"line {line}: no header row (the first row holds numbers, expected series names)")
    for k, name in enumerate(names, start=2):
        if not name:
            raise InputError(f"line {line}: column {k} has no name")
    if len(set(names)) < len(names):
        seen: set[str] = set()
        dup = sorted({n for n in names if n in seen or seen.add(n)})  # type: ignore[func-returns-value]
        raise InputError(f'line {line}: duplicate column "{dup[0]}"')
    times: list[str] = []
    values: list[np.ndarray] = []
    previous = -math.inf
    for line, row in rows:
        if len(row) != len(header):
            raise InputError(f"line {line}: expected {len(header)} fields, got {len(row)}")
        stamp = row[0].strip()
        if _is_number(stamp):  # changes ("diff") need time order; only numeric times can be checked cheaply
            if float(stamp) <= previous:
                raise InputError(f'line {line}: time "{stamp}" is not after the previous row (need time order)')
            previous = float(stamp)
        times.append(stamp)
        values.append(np.array([_number(c, f'line {line} column "{n}"') for n, c in zip(names, row[1:], strict=True)],
                               dtype=np.float64))
    data = np.vstack(values).T if values else np.empty((len(names), 0))
    return Table(names, times, data)


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def series_name(metric: dict[str, str]) -> str:
    """`name{k="v",...}` as Prometheus prints a series: labels sorted, values escaped."""
    labels = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(metric.items()) if k != "__name__")
    name = metric.get("__name__", "")
    return f"{name}{{{labels}}}" if labels or not name else name


def _escape(v: str) -> str:
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def load_prometheus_json(text: str) -> Table:
    """A saved query_range response, parsed by the project's safe loader: nesting bounded (checked before the
    parser recurses), duplicate keys an error (json.loads would keep the last silently), NaN/Infinity literals
    and out-of-range numbers refused."""
    try:
        doc = safeload.parse_json(text, "")
    except safeload.LoadError as e:
        raise InputError(f"line {e.line}: {e.message}" if e.line else e.message) from None
    if not isinstance(doc, dict) or "status" not in doc:
        raise InputError('not a Prometheus query response (expected {"status": ..., "data": ...})')
    if doc["status"] != "success":
        raise InputError(f'query status is "{doc["status"]}": {doc.get("error", "no error message")}')
    data = doc.get("data")
    kind = data.get("resultType") if isinstance(data, dict) else None
    if kind != "matrix":
        raise InputError(f'resultType is {json.dumps(kind)}, expected "matrix" (a range query)')
    result = data.get("result")
    if not isinstance(result, list):
        raise InputError('data.result is not a list')
    columns: dict[str, dict[float, float]] = {}
    for k, item in enumerate(result):
        where = f"data.result[{k}]"
        if not isinstance(item, dict) or not isinstance(item.get("metric"), dict) or not isinstance(
            item.get("values"), list
        ):
            raise InputError(f'{where}: expected {{"metric": {{...}}, "values": [[time, "value"], ...]}}')
        name = series_name({str(a): str(b) for a, b in item["metric"].items()})
        if name in columns:
            raise InputError(f"{where}: duplicate series {name}")
        points: dict[float, float] = {}
        for v, pair in enumerate(item["values"]):
            if not isinstance(pair, list) or len(pair) != 2 or not isinstance(pair[0], int | float):
                raise InputError(f'{where}.values[{v}]: expected [time, "value"]')
            points[float(pair[0])] = _number(str(pair[1]), f"{where}.values[{v}]")
        columns[name] = points
    stamps = sorted({t for pts in columns.values() for t in pts})
    names = list(columns)
    values = np.array([[columns[n].get(t, math.nan) for t in stamps] for n in names], dtype=np.float64)
    return Table(names, [_fmt_time(t) for t in stamps], values.reshape(len(names), len(stamps)))


def _fmt_time(t: float) -> str:
    return str(int(t)) if t == int(t) else repr(t)


# ---------------------------------------------------------------- output


def _clean(v: float) -> float | None:
    """JSON value: NaN → null, 12 significant digits so output does not depend on the last bits of BLAS."""
    return None if not math.isfinite(v) else float(f"{v:.12g}")


def _matrix(a: np.ndarray) -> list[list[float | None]]:
    return [[_clean(float(v)) for v in row] for row in a]


def to_json(result: stats.CorrelationResult) -> str:
    pairs = []
    for p in result.pairs():
        entry: dict[str, Any] = {"a": p.a, "b": p.b, "rho": _clean(p.rho), "pvalue": _clean(p.pvalue),
                                 "qvalue": _clean(p.qvalue), "n": p.n}
        if p.n_eff is not None:
            entry["n_eff"] = p.n_eff
        pairs.append(entry)
    doc = {
        "n": result.n if isinstance(result.n, int) else result.n.tolist(),
        "alpha": result.alpha,
        "critical": _clean(result.critical) if isinstance(result.critical, float) else _matrix(result.critical),
        "series": result.series,
        "rho": _matrix(result.rho),
        "pvalue": _matrix(result.pvalue),
        "significant_pairs": pairs,
    }
    return json.dumps(doc, sort_keys=True, allow_nan=False)


def _cell(v: float) -> str:
    return f"{v:7.3f}" if math.isfinite(v) else "    nan"


def _range(a: np.ndarray, fmt: str) -> str:
    vals = a[np.triu_indices(a.shape[0], 1)]
    vals = vals[np.isfinite(vals) & (vals > 0)]
    if not vals.size:
        return "undefined"
    lo, hi = format(vals.min(), fmt), format(vals.max(), fmt)
    return lo if lo == hi else f"{lo} to {hi}"


def to_text(result: stats.CorrelationResult, source: str) -> str:
    k = len(result.series)
    width = len(str(k - 1)) + 2
    out = [f"{source}: {k} series, method {result.method} ({_METHOD_HELP[result.method]}), alpha {result.alpha:g}"]
    out += [f"  {f'[{i}]':>{width}} {name}" for i, name in enumerate(result.series)]
    out.append("")
    out.append("rho:")
    out.append(" " * (width + 2) + "".join(f"{f'[{j}]':>8}" for j in range(k)))
    for i in range(k):
        out.append(f"  {f'[{i}]':>{width}}" + "".join(" " + _cell(v) for v in result.rho[i]))
    out.append("")
    n = result.n if isinstance(result.n, int) else f"per pair, {_range(np.asarray(result.n, float), '.0f')}"
    out.append(f"n: {n}" + (" (changes)" if result.method == "diff" else ""))
    if result.n_eff is not None:
        out.append(f"effective n (autocorrelation): {_range(result.n_eff.astype(float), '.0f')}")
    crit = result.critical
    crit_s = f"{crit:.6f}" if isinstance(crit, float) else f"per pair, {_range(np.asarray(crit), '.6f')}"
    out.append(f"critical |rho| at alpha {result.alpha:g}: {crit_s}")
    pairs = result.pairs()
    out.append(f"significant pairs after Benjamini-Hochberg (q <= {result.alpha:g}): {len(pairs)}")
    for p in pairs:
        eff = "" if p.n_eff is None else f", n_eff={p.n_eff}"
        out.append(f"  {p.rho:+.3f}  {p.a}  ~  {p.b}  (p={p.pvalue:.2g}, q={p.qvalue:.2g}{eff})")
    if result.undefined:
        out.append("undefined (too few values or no variation): " + ", ".join(result.undefined))
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- command


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise InputError(message)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, description="Spearman correlation of the series in a CSV or a Prometheus range-query JSON.")
    p.add_argument("file", help="CSV (time column + one column per series) or query_range JSON response")
    p.add_argument("--alpha", default=str(stats.DEFAULT_ALPHA), help="significance level, in (0, 1); default 0.01")
    p.add_argument("--method", choices=stats.METHODS, default=stats.DEFAULT_METHOD,
                   help="; ".join(f"{k}: {v}" for k, v in _METHOD_HELP.items()) + f" (default {stats.DEFAULT_METHOD})")
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format (default text)")
    p.add_argument("--heatmap", metavar="FILE.svg|FILE.png", help="also draw the ρ matrix, non-significant cells grey")
    return p


def main(argv: list[str]) -> int:
    try:
        args = _parser().parse_args(argv)
    except InputError as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return 2
    except SystemExit as e:  # --help
        return int(e.code or 0)
    try:
        result = run(args)
    except InputError as e:
        print(f"{PROG}: {args.file}: {e}", file=sys.stderr)
        return 2
    if isinstance(result, wide.WideResult):
        sys.stdout.write(wide_json(result) + "\n" if args.format == "json" else wide_text(result, args.file))
        return 0
    sys.stdout.write(to_json(result) + "\n" if args.format == "json" else to_text(result, args.file))
    return 0


def _pair_json(p: stats.Pair) -> dict[str, Any]:
    entry: dict[str, Any] = {"a": p.a, "b": p.b, "rho": _clean(p.rho), "pvalue": _clean(p.pvalue),
                             "qvalue": _clean(p.qvalue), "n": p.n}
    if p.n_eff is not None:
        entry["n_eff"] = p.n_eff
    return entry


def wide_json(result: wide.WideResult) -> str:
    """Wide input: the pairs and counts; the matrices (n_series²) are left out (null)."""
    doc = {"n": result.n_points, "alpha": result.alpha, "critical": None, "series": result.series, "rho": None,
           "pvalue": None, "tests": result.tests, "significant_pairs": [_pair_json(p) for p in result.pairs]}
    return json.dumps(doc, sort_keys=True, allow_nan=False)


def wide_text(result: wide.WideResult, source: str) -> str:
    out = [f"{source}: {len(result.series)} series, method {result.method} ({_METHOD_HELP[result.method]}), "
           f"alpha {result.alpha:g}; more than {wide.WIDE} series: pairs only, no matrix",
           f"n: {result.n_points}" + (" (changes)" if result.method == "diff" else ""),
           f"significant pairs after Benjamini-Hochberg (q <= {result.alpha:g}) of {result.tests} tested: "
           f"{len(result.pairs)}"]
    for p in result.pairs:
        eff = "" if p.n_eff is None else f", n_eff={p.n_eff}"
        out.append(f"  {p.rho:+.3f}  {p.a}  ~  {p.b}  (p={p.pvalue:.2g}, q={p.qvalue:.2g}{eff})")
    if result.undefined:
        out.append(f"undefined (too few values or no variation): {len(result.undefined)} series")
    return "\n".join(out) + "\n"


def run(args: argparse.Namespace) -> stats.CorrelationResult | wide.WideResult:
    try:
        alpha = float(args.alpha)
    except ValueError:
        raise InputError(f'--alpha: expected a number, got "{args.alpha}"') from None
    if not 0 < alpha < 1:
        raise InputError(f"--alpha must be between 0 and 1 (exclusive), got {args.alpha}")
    if args.heatmap and Path(args.heatmap).suffix.lower() not in HEATMAP_SUFFIXES:
        raise InputError(f'--heatmap: unknown image type "{Path(args.heatmap).suffix}", use .svg or .png')
    table = load(args.file)
    if len(table.series) > wide.WIDE:
        if args.heatmap:
            raise InputError(f"--heatmap: at most {wide.WIDE} series, the file has {len(table.series)}")
        return wide.correlate_wide(table.values, table.series, alpha=alpha, method=args.method,
                                   progress=lambda m: print(f"{PROG}: {m}", file=sys.stderr, flush=True))
    result = stats.correlate(table.values, table.series, alpha=alpha, method=args.method)
    if args.heatmap:
        from generator.correlate import heatmap  # matplotlib only when a picture is wanted

        try:
            heatmap.write(result, args.heatmap, title=Path(args.file).name)
        except OSError as e:
            raise InputError(f"--heatmap: cannot write {args.heatmap}: {e.strerror or e}") from None
    return result


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
