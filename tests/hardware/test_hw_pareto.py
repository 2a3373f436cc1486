"""Pareto utilities: non-dominated sorting, crowding distance, 2-D hypervolume."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from nasforge.errors import InvalidConfigError
from nasforge.pareto import crowding_distance, hypervolume_2d, non_dominated_sort, pareto_mask
from nasforge.runner import pareto_front


def _brute_hv(points: np.ndarray, ref: tuple[float, float], grid: int = 400) -> float:
    """Grid estimate of the dominated area, for cross-checking the sweep."""
    xs = np.linspace(ref[0], points[:, 0].max(), grid + 1)
    ys = np.linspace(ref[1], points[:, 1].max(), grid + 1)
    cx, cy = (xs[:-1] + xs[1:]) / 2, (ys[:-1] + ys[1:]) / 2
    gx, gy = np.meshgrid(cx, cy, indexing="ij")
    covered = np.zeros_like(gx, dtype=bool)
    for x, y in points:
        covered |= (gx <= x) & (gy <= y)
    return float(covered.mean() * (xs[-1] - xs[0]) * (ys[-1] - ys[0]))


def test_hypervolume_hand_computed() -> None:
    pts = [[90.0, -10.0], [85.0, -5.0], [80.0, -12.0]]
    # (90-70)*(-10+20) + (85-70)*(-5+10) = 200 + 75; the third point is dominated
    assert hypervolume_2d(pts, (70.0, -20.0)) == pytest.approx(275.0)
    assert hypervolume_2d([], (0.0, 0.0)) == 0.0
    assert hypervolume_2d([[1.0, 1.0]], (2.0, 0.0)) == 0.0  # not better than the reference


def test_hypervolume_matches_grid_estimate() -> None:
    rng = np.random.default_rng(0)
    pts = rng.random((30, 2))
    exact = hypervolume_2d(pts, (0.0, 0.0))
    assert exact == pytest.approx(_brute_hv(pts, (0.0, 0.0)), rel=0.02)
    # adding a dominated point changes nothing; adding a dominating one increases it
    assert hypervolume_2d(np.vstack([pts, pts.min(axis=0)]), (0.0, 0.0)) == pytest.approx(exact)
    assert hypervolume_2d(np.vstack([pts, [1.1, 1.1]]), (0.0, 0.0)) > exact


def test_hypervolume_rejects_bad_shapes() -> None:
    with pytest.raises(InvalidConfigError):
        hypervolume_2d([[1.0, 2.0, 3.0]], (0.0, 0.0))


def test_non_dominated_sort_layers_and_agrees_with_runner() -> None:
    rng = np.random.default_rng(3)
    pts = rng.integers(0, 6, size=(40, 2)).astype(float)  # many ties and duplicates
    fronts = non_dominated_sort(pts)
    assert sorted(itertools.chain.from_iterable(f.tolist() for f in fronts)) == list(range(40))
    assert fronts[0].tolist() == pareto_front(pts.tolist())
    assert np.flatnonzero(pareto_mask(pts)).tolist() == fronts[0].tolist()
    for k in range(1, len(fronts)):
        # every point of front k is dominated by some point of front k-1, and by none of its own front
        for i in fronts[k]:
            assert any(np.all(pts[j] >= pts[i]) and np.any(pts[j] > pts[i]) for j in fronts[k - 1])
            assert not any(np.all(pts[j] >= pts[i]) and np.any(pts[j] > pts[i]) for j in fronts[k])


def test_crowding_distance_boundaries_infinite_and_gaps_normalized() -> None:
    pts = np.array([[0.0, 4.0], [1.0, 3.0], [3.0, 1.0], [4.0, 0.0]])
    cd = crowding_distance(pts)
    assert np.isinf(cd[0]) and np.isinf(cd[3])
    # interior: (3-0)/4 + (4-1)/4 for both
    assert cd[1] == pytest.approx(1.5) and cd[2] == pytest.approx(1.5)
    assert np.all(np.isinf(crowding_distance(pts[:2])))
