"""Plots (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["plot_compare_curves", "pyplot", "save_figure"]


def pyplot() -> Any:
    """matplotlib's pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, path: str | Path, dpi: int = 120) -> Path:
    """Lay out, write (creating the folder) and close a figure."""
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=dpi)
    pyplot().close(fig)
    return out


def plot_compare_curves(data: Mapping[str, Any], path: str | Path) -> Path:
    """Best-so-far reported accuracy vs. queries: mean with a ±1 std band, one line per strategy."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, runs in data["results"].items():
        n = max(len(r["curve"]) for r in runs)
        mat = np.full((len(runs), n), np.nan)
        for i, r in enumerate(runs):
            c = np.asarray(r["curve"], dtype=float)
            mat[i, :len(c)] = c
            if len(c):
                mat[i, len(c):] = c[-1]  # a run that stopped keeps its answer
        with np.errstate(all="ignore"):
            mean, std = np.nanmean(mat, axis=0), np.nanstd(mat, axis=0)
        x = np.arange(1, n + 1)
        ax.plot(x, mean, label=name)
        ax.fill_between(x, mean - std, mean + std, alpha=0.2)
    if "optimum" in data:
        ax.axhline(data["optimum"]["report"], color="k", ls="--", lw=0.8, label="optimum")
    ax.set_xlabel("queries")
    ax.set_ylabel(f"{data.get('report_metric', 'report')} of best-so-far (by search signal)")
    lo = min(np.nanmin([np.nanmean([r['curve'][min(len(r['curve']) - 1, 9)] for r in runs if r['curve']])
                        for runs in data['results'].values()]), 93.0)
    ax.set_ylim(lo - 0.5, data["optimum"]["report"] + 0.3 if "optimum" in data else None)
    ax.grid(alpha=0.3)
    ax.legend()
    return save_figure(fig, path)
