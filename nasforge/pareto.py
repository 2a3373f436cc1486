"""Pareto fronts: non-dominated sorting, crowding distance, 2-D hypervolume and a front plot.

Convention: every coordinate is *larger is better*, as in :attr:`nasforge.evaluators.Observation.values`
(an objective to minimize is negated by :meth:`nasforge.evaluators.Objective.score`). Points are
rows of a ``(n, m)`` array.

Example:
    >>> pts = [[90.0, -10.0], [85.0, -5.0], [80.0, -12.0]]
    >>> [f.tolist() for f in non_dominated_sort(pts)]
    [[0, 1], [2]]
    >>> hypervolume_2d(pts, ref=(70.0, -20.0))
    275.0
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from nasforge.errors import InvalidConfigError

__all__ = [
    "crowding_distance",
    "dominance_matrix",
    "hypervolume",
    "hypervolume_2d",
    "hypervolume_improvement",
    "non_dominated_sort",
    "pareto_mask",
    "plot_pareto",
]


def _as_points(points: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
    arr = np.asarray(points, dtype=np.float64)
    if arr.size == 0:
        return arr.reshape(0, arr.shape[1] if arr.ndim == 2 else 0)
    if arr.ndim != 2:
        raise InvalidConfigError(f"points must be a 2-D array (n points x m objectives), but got shape {arr.shape}")
    return arr


def dominance_matrix(points: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
    """``D[i, j]`` is True when point ``i`` dominates point ``j`` (>= everywhere, > somewhere)."""
    p = _as_points(points)
    ge = (p[:, None, :] >= p[None, :, :]).all(axis=2)
    gt = (p[:, None, :] > p[None, :, :]).any(axis=2)
    return np.asarray(ge & gt)


def pareto_mask(points: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
    """Boolean mask of the non-dominated points (duplicates of a front point are all kept)."""
    p = _as_points(points)
    if len(p) == 0:
        return np.zeros(0, dtype=bool)
    return np.asarray(~dominance_matrix(p).any(axis=0))


def non_dominated_sort(points: Sequence[Sequence[float]] | np.ndarray) -> list[np.ndarray]:
    """Split points into fronts (Deb et al. 2002): front 0 is non-dominated, front 1 is
    non-dominated once front 0 is removed, and so on. Each front lists indices in ascending order."""
    p = _as_points(points)
    n = len(p)
    if n == 0:
        return []
    dom = dominance_matrix(p)
    count = dom.sum(axis=0)  # how many points dominate each point
    fronts: list[np.ndarray] = []
    current = np.flatnonzero(count == 0)
    while current.size:
        fronts.append(current)
        count = count - dom[current].sum(axis=0)
        count[current] = -1  # never picked again
        current = np.flatnonzero(count == 0)
    return fronts


def crowding_distance(points: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
    """NSGA-II crowding distance of points that share a front: boundary points get ``inf``.

    Each objective's gap is divided by that objective's range on the front, so objectives on
    different scales (accuracy in %, latency in ms) weigh the same.
    """
    p = _as_points(points)
    n, m = p.shape if p.ndim == 2 else (0, 0)
    dist = np.zeros(n)
    if n <= 2:
        return np.full(n, np.inf)
    for k in range(m):
        order = np.argsort(p[:, k], kind="stable")
        col = p[order, k]
        span = col[-1] - col[0]
        dist[order[0]] = dist[order[-1]] = np.inf
        if span > 0:
            dist[order[1:-1]] += (col[2:] - col[:-2]) / span
    return dist


def hypervolume_2d(points: Sequence[Sequence[float]] | np.ndarray, ref: Sequence[float]) -> float:
    """Area dominated by ``points`` and bounded by the reference point ``ref`` (both maximized).

    Points that do not strictly improve on ``ref`` in both coordinates add nothing.
    """
    p = _as_points(points)
    if p.size and p.shape[1] != 2:
        raise InvalidConfigError(f"hypervolume_2d needs 2 objectives, but the points have {p.shape[1]}")
    if len(ref) != 2:
        raise InvalidConfigError(f"the reference point needs 2 coordinates, but got {list(ref)}")
    r0, r1 = float(ref[0]), float(ref[1])
    if len(p) == 0:
        return 0.0
    p = p[(p[:, 0] > r0) & (p[:, 1] > r1)]
    if len(p) == 0:
        return 0.0
    # sweep from the best first coordinate down; each point adds the strip above the best second so far
    order = np.lexsort((-p[:, 1], -p[:, 0]))
    area, best1 = 0.0, r1
    for x, y in p[order]:
        if y > best1:
            area += (x - r0) * (y - best1)
            best1 = y
    return float(area)


def hypervolume(points: Sequence[Sequence[float]] | np.ndarray, ref: Sequence[float]) -> float:
    """Hypervolume of ``points`` (maximized) bounded by ``ref``, for any number of objectives.

    Two objectives use :func:`hypervolume_2d`; more are sliced along the last objective
    (Zitzler's HSO), exact and fast enough for the fronts of a search (tens of points, 3-4 objectives).

    Example:
        >>> hypervolume([[1.0, 1.0, 1.0], [2.0, 0.5, 0.5]], ref=(0.0, 0.0, 0.0))
        1.25
    """
    p = _as_points(points)
    r = np.asarray(ref, dtype=np.float64).ravel()
    if p.size and p.shape[1] != len(r):
        raise InvalidConfigError(f"the reference point has {len(r)} coordinates, but the points have {p.shape[1]}")
    if len(p) == 0:
        return 0.0
    p = p[(p > r[None, :]).all(axis=1)]
    if len(p) == 0:
        return 0.0
    if len(r) == 1:
        return float(p[:, 0].max() - r[0])
    if len(r) == 2:
        return hypervolume_2d(p, r)
    p = p[pareto_mask(p)]
    p = p[np.argsort(-p[:, -1], kind="stable")]
    vol = 0.0
    for i in range(len(p)):
        low = p[i + 1, -1] if i + 1 < len(p) else r[-1]
        if p[i, -1] > low:  # the slice between this point's last coordinate and the next one down
            vol += (p[i, -1] - low) * hypervolume(p[: i + 1, :-1], r[:-1])
    return float(vol)


def hypervolume_improvement(front: Sequence[Sequence[float]] | np.ndarray,
                            candidates: Sequence[Sequence[float]] | np.ndarray, ref: Sequence[float]) -> np.ndarray:
    """How much each candidate point alone would add to the hypervolume of ``front`` (all maximized).

    Two objectives are computed for all candidates at once (the front is a staircase: each
    candidate's box minus the part of it the front already covers); more objectives add each
    candidate to the front and recompute :func:`hypervolume`.

    Example:
        >>> hypervolume_improvement([[2.0, 1.0], [1.0, 2.0]], [[1.5, 1.5], [0.5, 0.5]], ref=(0.0, 0.0)).tolist()
        [0.25, 0.0]
    """
    f = _as_points(front)
    c = _as_points(candidates)
    r = np.asarray(ref, dtype=np.float64).ravel()
    if len(c) == 0:
        return np.zeros(0)
    if c.shape[1] != len(r) or (f.size and f.shape[1] != len(r)):
        raise InvalidConfigError(f"the reference point has {len(r)} coordinates, but the points have "
                                 f"{c.shape[1]} (candidates) and {f.shape[1] if f.size else len(r)} (front)")
    if len(f):
        f = f[(f > r[None, :]).all(axis=1)]
    if len(r) != 2:
        base = hypervolume(f, r) if len(f) else 0.0
        return np.array([(hypervolume(np.vstack([f, row[None, :]]), r) if len(f) else hypervolume(row[None, :], r))
                         - base for row in c])
    cc = np.maximum(c, r[None, :])
    box = (cc[:, 0] - r[0]) * (cc[:, 1] - r[1])
    if len(f) == 0:
        return box
    f = f[pareto_mask(f)]
    f = f[np.lexsort((f[:, 1], -f[:, 0]))]  # first coordinate descending, so the second ascends
    # the front clipped to each candidate's box is still a staircase; its area inside the box is covered
    x = np.minimum(f[None, :, 0], cc[:, :1])
    y = np.maximum.accumulate(np.minimum(f[None, :, 1], cc[:, 1:2]), axis=1)
    prev = np.concatenate([np.full((len(cc), 1), r[1]), y[:, :-1]], axis=1)
    return np.asarray(box - ((x - r[0]) * (y - prev)).sum(axis=1))


def plot_pareto(points: np.ndarray, front: np.ndarray, path: str | Path, *, labels: Sequence[str],
                directions: Sequence[str] = ("max", "max"), infeasible: np.ndarray | None = None,
                title: str | None = None, annotate: Mapping[int, str] | None = None) -> Path:
    """Draw all evaluated points and the found front (a staircase) in two objectives.

    Args:
        points: ``(n, 2)`` raw metric values (not negated) of every evaluated, ok trial.
        front: indices into ``points`` of the front.
        path: PNG to write (matplotlib, Agg backend).
        labels: axis labels, e.g. ``("c10_valid_acc_12 (max)", "pixel3 (min)")``.
        directions: ``max``/``min`` per objective; used to draw the staircase the right way.
        infeasible: optional mask of points that broke a constraint (drawn as crosses).
    """
    from nasforge.plots import pyplot, save_figure

    plt = pyplot()
    pts = np.asarray(points, dtype=float).reshape(-1, 2)
    fig, ax = plt.subplots(figsize=(7, 4.8))
    mask_inf = np.zeros(len(pts), dtype=bool) if infeasible is None else np.asarray(infeasible, dtype=bool)
    ok = ~mask_inf
    ax.scatter(pts[ok, 1], pts[ok, 0], s=12, c="0.6", alpha=0.6, label=f"evaluated ({int(ok.sum())})")
    if mask_inf.any():
        ax.scatter(pts[mask_inf, 1], pts[mask_inf, 0], s=14, marker="x", c="tab:red", alpha=0.6,
                   label=f"infeasible ({int(mask_inf.sum())})")
    f = pts[np.asarray(front, dtype=int)] if len(front) else np.zeros((0, 2))
    if len(f):
        # sort along the x axis (second objective) so the staircase is drawn left to right
        order = np.argsort(f[:, 1], kind="stable")
        fx, fy = f[order, 1], f[order, 0]
        ax.step(fx, fy, where="post" if directions[1] == "min" else "pre", c="tab:blue", lw=1.2)
        ax.scatter(fx, fy, s=30, c="tab:blue", zorder=3, label=f"found front ({len(f)})")
        for i, text in (annotate or {}).items():
            ax.annotate(text, (pts[i, 1], pts[i, 0]), fontsize=6, alpha=0.8)
    ax.set_xlabel(labels[1])
    ax.set_ylabel(labels[0])
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="best")
    return save_figure(fig, path)
