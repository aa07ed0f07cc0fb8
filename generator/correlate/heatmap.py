"""ρ-matrix heatmap like the paper's figures: diverging colours for significant cells, grey for the rest.

Imported lazily (matplotlib is slow to import and only needed for pictures); always the Agg backend, so it works
without a display. SVG output is made reproducible (fixed hash salt, no date).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # after use("Agg"): the backend must be chosen first
import numpy as np
from matplotlib.colors import ListedColormap

from generator.correlate.stats import CorrelationResult

_GREY = "#d0d0d0"
_UNDEFINED = "#ffffff"
_ANNOTATE_MAX = 20  # beyond this many series the numbers no longer fit in the cells
_LABEL_MAX = 48


def _label(name: str) -> str:
    return name if len(name) <= _LABEL_MAX else name[: _LABEL_MAX - 1] + "…"


def write(result: CorrelationResult, path: str, title: str = "") -> None:
    """Draw ``result`` to ``path`` (.svg or .png)."""
    k = len(result.series)
    side = min(4 + 0.45 * k, 40)
    plt.rcParams["svg.hashsalt"] = "stereo"
    fig, ax = plt.subplots(figsize=(side + 2, side), dpi=100)
    try:
        rho = np.asarray(result.rho, dtype=float)
        shown = np.where(result.significant | np.eye(k, dtype=bool), rho, np.nan)
        ax.imshow(np.where(np.isnan(rho), 1.0, 0.0), cmap=ListedColormap([_GREY, _UNDEFINED]), vmin=0, vmax=1)
        img = ax.imshow(np.ma.masked_invalid(shown), cmap="RdBu_r", vmin=-1, vmax=1)
        fig.colorbar(img, ax=ax, fraction=0.046, pad=0.04, label="Spearman ρ")
        labels = [_label(s) for s in result.series]
        ax.set_xticks(range(k), labels, rotation=90, fontsize=8)
        ax.set_yticks(range(k), labels, fontsize=8)
        if k <= _ANNOTATE_MAX:
            for i in range(k):
                for j in range(k):
                    if np.isfinite(rho[i, j]):
                        strong = abs(shown[i, j]) > 0.6
                        ax.text(j, i, f"{rho[i, j]:.2f}", ha="center", va="center", fontsize=7,
                                color="white" if strong else "black")
        crit = result.critical
        crit_s = f"{crit:.4f}" if isinstance(crit, float) else "per pair (n_eff)"
        n_s = str(result.n) if isinstance(result.n, int) else "per pair"
        head = f"{title} — " if title else ""
        key = "grey: not significant after Benjamini–Hochberg" + (", white: undefined" if result.undefined else "")
        ax.set_title(f"{head}method {result.method}, n = {n_s}, α = {result.alpha:g}, critical |ρ| = {crit_s}\n{key}",
                     fontsize=9)
        fig.tight_layout()
        fmt = Path(path).suffix.lower().lstrip(".")
        fig.savefig(path, format=fmt, metadata={"Date": None} if fmt == "svg" else None)
    finally:
        plt.close(fig)
