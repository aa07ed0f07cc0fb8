"""Small samples are honest (issues 11.5 and 12.5): exact p-values for n <= 10, a minimum number of (effective)
points before anything is significant, and `stereo correlate` on 3 points reports nothing significant."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as sps

from generator.correlate import exact, stats


@pytest.mark.parametrize("n", [3, 4, 6, 8])
def test_exact_pvalue_is_the_permutation_share(n: int) -> None:
    x = np.arange(n)
    # every ordering of n untied points: Spearman's rho is Pearson's r of the ranks, which are the orderings
    # themselves, so one centred matrix product gives all n! of them (n=8: 40320 rows, no Python loop)
    orders = np.array(list(itertools.permutations(range(n))), dtype=float)
    xc, oc = x - x.mean(), orders - orders.mean(axis=1, keepdims=True)
    every = oc @ xc / (np.linalg.norm(oc, axis=1) * np.linalg.norm(xc))
    some = np.random.default_rng(n).choice(len(orders), size=min(len(orders), 24), replace=False)
    assert every[some] == pytest.approx([sps.spearmanr(x, orders[i])[0] for i in some], abs=1e-12)  # scipy's rho
    for rho in np.unique(np.round(every, 9)):
        share = float((np.abs(every) >= abs(rho) - 1e-9).mean())
        assert exact.exact_pvalue(rho, n) == pytest.approx(share, rel=1e-12)


def test_three_points_can_never_be_significant() -> None:
    p = stats.pvalue(np.array([1.0, -1.0]), 3)
    assert p.tolist() == pytest.approx([1 / 3, 1 / 3])
    res = stats.correlate([[1, 2, 3], [2, 4, 6], [3, 1, 2]], method="levels")
    assert not res.significant.any() and res.pairs() == []


def test_below_min_points_nothing_is_significant() -> None:
    rng = np.random.default_rng(3)
    base = np.cumsum(rng.normal(size=9))
    data = np.stack([base, base * 2 + 1, base + rng.normal(scale=1e-3, size=9)])
    res = stats.correlate(data, method="levels")
    assert (np.abs(res.rho[np.triu_indices(3, 1)]) > 0.99).all()  # a perfect relation ...
    assert not res.significant.any()  # ... on 9 points is still not a finding
    assert stats.MIN_POINTS == 10


def test_correlate_cli_on_three_points_reports_nothing(tmp_path: Path) -> None:
    f = tmp_path / "three.csv"
    f.write_text("time,a,b,c\n1,1,2,9\n2,2,4,7\n3,3,6,8\n")
    run = subprocess.run([sys.executable, "-m", "generator", "correlate", "--method", "levels", str(f)],
                         capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    assert "significant pairs after Benjamini-Hochberg (q <= 0.01): 0" in run.stdout
    assert "p=1.3e-08" not in run.stdout


def test_wide_input_takes_the_blockwise_path_and_agrees(tmp_path: Path) -> None:
    """More than 2,000 series: pairs only, a progress line per block, the same pairs as the full matrix."""
    from generator.correlate import wide

    rng = np.random.default_rng(5)
    x = np.cumsum(rng.normal(size=(2100, 60)), axis=1)
    x[7] = x[3] + rng.normal(scale=0.05, size=60)
    x[11, 20:40] = np.nan  # a series with gaps goes through the pairwise rules
    names = [f"s{i}" for i in range(2100)]
    full = stats.correlate(x[:400], names[:400])
    blockwise = wide.correlate_wide(x[:400], names[:400], block=64)
    assert [(p.a, p.b) for p in blockwise.pairs] == [(p.a, p.b) for p in full.pairs()] == [("s3", "s7")]
    assert blockwise.pairs[0].rho == pytest.approx(full.pairs()[0].rho, abs=1e-12)
    f = tmp_path / "wide.csv"
    rows = ["time," + ",".join(names)] + [f"{t}," + ",".join(f"{v:.5f}" for v in x[:, t]) for t in range(60)]
    f.write_text("\n".join(rows).replace("nan", "") + "\n")
    run = subprocess.run([sys.executable, "-m", "generator", "correlate", str(f)], capture_output=True, text=True,
                         timeout=300, check=False)
    assert run.returncode == 0, run.stderr
    assert "more than 2000 series: pairs only, no matrix" in run.stdout
    assert "s3  ~  s7" in run.stdout and "rho:" not in run.stdout
    assert "[33/33] rows 2048-2099 of 2100" in run.stderr
