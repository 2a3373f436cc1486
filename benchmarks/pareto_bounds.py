"""How far can model-based Pareto search go on issue 5's problem? Searches driven by *ideal* models.

A diagnostic, not a method: the "ideal" probes build their models from the whole NB201 table (all
15,625 cells), which no search that sees only its own 300 queries can have. They run
``mo_surrogate``'s search loop unchanged (random start, front-neighbour candidates, Monte Carlo
EHVI) with the learned GPs replaced by fixed predictions, so they show what better predictors or a
wider candidate pool could buy, and how precise an accuracy model must be for that.

Ideal models:

- accuracy: the mean of the search signal (``c10_valid_acc_12``) over the cell's equivalence class
  (cells with the same path encoding compute the same function; the table trained each one
  separately), i.e. the noise-free part of the signal as far as the table can tell it; its
  standard deviation is the within-class spread (0.54 points);
- latency: least squares on the one-hot edge operations and all their pairwise products across
  edges, fitted on every cell (R^2 0.946; the residual spread is the std).

Probes (``--probes``, any of):

- ``learned``: ``mo_surrogate`` as shipped (GPs learned from its own queries);
- ``learned-global``: the same, but every unseen cell of the space is a candidate;
- ``ideal-neighbors``: ideal models, front-neighbour candidates (the shipped pool);
- ``ideal-global``: ideal models; the candidates are the cells on the first 10 non-dominated
  layers of the predictions;
- ``ideal-global-noiseS``: as ``ideal-global``, with the accuracy model off by a fixed
  N(0, S^2) error per cell (in accuracy points; drawn per seed), e.g. ``ideal-global-noise1``.

``--model-error`` also prints how far learned models are from the ideal accuracy model after 300
uniformly random queries (RMSE and Kendall tau over the cells whose ideal accuracy is above 70).

    python benchmarks/pareto_bounds.py --eval-column c10_valid_acc_200 --first-seed 100 --seeds 20
    python benchmarks/pareto_bounds.py --seeds 20 --probes ideal-neighbors,ideal-global,ideal-global-noise1

The search loop is driven by ask/tell exactly as the Runner drives it (one ask at a time), and the
found front is scored as in ``benchmarks/pareto.py``.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from pareto import Problem

from nasforge.arch import Architecture
from nasforge.evaluators.base import Observation
from nasforge.strategies.mo_surrogate import MOSurrogate


class Ideal:
    """The ideal accuracy and latency models (arrays over the table's rows) and their spreads."""

    def __init__(self, problem: Problem) -> None:
        space, strs = problem.space, problem.bench.table.arch_strs
        onehot = np.array([space.encode(space.parse(s), "onehot") for s in strs], dtype=np.float64)
        classes: dict[bytes, list[int]] = defaultdict(list)
        for i, s in enumerate(strs):
            classes[np.asarray(space.encode(space.parse(s), "path")).tobytes()].append(i)
        self.acc = np.empty(len(strs))
        for rows in classes.values():
            self.acc[rows] = np.mean(problem.signal[rows])
        self.sd_acc = float(np.mean([np.std(problem.signal[r]) for r in classes.values() if len(r) > 1]))
        n_ops = len(space.dimension(space.labels[0]).all_values())
        cols = onehot.shape[1]
        pairs = [onehot[:, i] * onehot[:, j] for i in range(cols) for j in range(i + 1, cols) if i // n_ops != j // n_ops]
        feats = np.hstack([onehot, np.array(pairs).T, np.ones((len(strs), 1))])
        w = np.linalg.lstsq(feats, problem.latency, rcond=None)[0]
        self.lat = feats @ w
        resid = problem.latency - self.lat
        self.sd_lat = float(np.std(resid))
        self.lat_r2 = 1.0 - float(np.var(resid) / np.var(problem.latency))
        self.onehot = onehot


def layers(acc: np.ndarray, lat: np.ndarray, k: int) -> list[int]:
    """Rows on the first ``k`` non-dominated layers of (acc max, lat min).

    A sort per layer, for two objectives only: ``nasforge.pareto.non_dominated_sort`` builds the full
    dominance matrix, about 35 s and gigabytes on 15,625 cells, once per noise draw here."""
    left, out = np.arange(len(acc)), []
    for _ in range(k):
        order = left[np.lexsort((-acc[left], lat[left]))]
        best, front = -np.inf, []
        for i in order:
            if acc[i] > best:
                front.append(int(i))
                best = acc[i]
        out += front
        left = np.setdiff1d(left, front)
    return out


class FixedModelSearch(MOSurrogate):
    """``mo_surrogate`` with fixed predictions (or its own GPs when ``acc`` is None) and a chosen pool."""

    def __init__(self, problem: Problem, *, acc: np.ndarray | None, lat: np.ndarray | None, sd: tuple[float, float],
                 pool: list[Architecture] | None, seed: int) -> None:
        super().__init__(problem.space, seed=seed)
        self.problem, self.acc, self.lat, self.sd, self.pool_archs = problem, acc, lat, sd, pool
        self._rows = np.zeros(0, dtype=int)

    def _candidates(self, front: list[Architecture], rng: np.random.Generator) -> list[Architecture]:
        cands = super()._candidates(front, rng) if self.pool_archs is None or self.acc is None else []
        if self.pool_archs is not None:
            known = set(cands)
            cands += [a for a in self.pool_archs if a not in self.seen and a not in known]
        if self.acc is not None:
            self._rows = np.array([self.problem.row(self.problem.space.to_string(a)) for a in cands], dtype=int)
        return cands

    def _posterior(self, X: np.ndarray, Y: np.ndarray, Xc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.acc is None or self.lat is None:
            return super()._posterior(X, Y, Xc)
        vals = np.array(list(self.archive.values()), dtype=np.float64)  # the same scaling as the GPs' targets
        lo, hi = vals.min(axis=0), vals.max(axis=0)
        span = np.where(hi > lo, hi - lo, 1.0)
        mean = (np.stack([self.acc[self._rows], -self.lat[self._rows]], axis=1) - lo) / span
        std = np.broadcast_to(np.array(self.sd) / span, mean.shape).copy()
        return mean, std


def drive(problem: Problem, strategy: MOSurrogate, trials: int) -> list[int]:
    rows: list[int] = []
    while len(rows) < trials:
        item = strategy.ask(1)[0]
        arch = getattr(item, "arch", item)
        r = problem.row(problem.space.to_string(arch))
        rows.append(r)
        strategy.tell(arch, Observation((float(problem.signal[r]), -float(problem.latency[r])), {}, 0.0, None, True))
    return rows


def make_probe(name: str, problem: Problem, ideal: Ideal, everything: list[Architecture],
               seed: int) -> FixedModelSearch:
    if name == "learned":
        return FixedModelSearch(problem, acc=None, lat=None, sd=(0, 0), pool=None, seed=seed)
    if name == "learned-global":
        return FixedModelSearch(problem, acc=None, lat=None, sd=(0, 0), pool=everything, seed=seed)
    if name == "ideal-neighbors":
        return FixedModelSearch(problem, acc=ideal.acc, lat=ideal.lat, sd=(ideal.sd_acc, ideal.sd_lat), pool=None,
                                seed=seed)
    if name.startswith("ideal-global"):
        noise = float(name.removeprefix("ideal-global-noise")) if "noise" in name else 0.0
        acc = ideal.acc + noise * np.random.default_rng(1000 + seed).standard_normal(len(ideal.acc))
        pool = [everything[i] for i in layers(acc, ideal.lat, 10)]
        return FixedModelSearch(problem, acc=acc, lat=ideal.lat, sd=(float(np.hypot(ideal.sd_acc, noise)),
                                                                      ideal.sd_lat), pool=pool, seed=seed)
    raise SystemExit(f"unknown probe {name!r}; valid: learned, learned-global, ideal-neighbors, ideal-global, "
                     f"ideal-global-noiseS")


def model_error(problem: Problem, ideal: Ideal, n: int = 300, reps: int = 3) -> None:
    """Learned accuracy models vs the ideal one after ``n`` uniformly random queries."""
    from scipy.stats import kendalltau
    from sklearn.ensemble import GradientBoostingRegressor, RandomForestRegressor

    from nasforge.strategies._common import gp_posterior

    good = ideal.acc > 70.0
    x = ideal.onehot
    models: dict[str, Any] = {
        "GP (mo_surrogate's)": lambda xs, ys: gp_posterior(xs, ys[:, None], x, length_scale=2.0, noise=0.05)[0][:, 0],
        "random forest": lambda xs, ys: RandomForestRegressor(300, random_state=0).fit(xs, ys).predict(x),
        "gradient boosting": lambda xs, ys: GradientBoostingRegressor(n_estimators=300, max_depth=3, learning_rate=0.05,
                                                                      random_state=0).fit(xs, ys).predict(x),
    }
    print(f"\nlearned accuracy models after {n} random queries vs the ideal model, on the {int(good.sum())} cells "
          f"whose ideal accuracy is above 70 (mean of {reps} draws):")
    for name, fit in models.items():
        rmse, tau = [], []
        for rep in range(reps):
            idx = np.random.default_rng(rep).choice(len(x), n, replace=False)
            pred = fit(x[idx], problem.signal[idx])
            rmse.append(float(np.sqrt(np.mean((pred[good] - ideal.acc[good]) ** 2))))
            tau.append(float(kendalltau(pred[good], ideal.acc[good])[0]))
        print(f"  {name:<20} RMSE {statistics.fmean(rmse):.2f} points, Kendall tau {statistics.fmean(tau):.3f}")


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--trials", type=int, default=300)
    ap.add_argument("--eval-column", default="c10_test_acc_200")
    ap.add_argument("--probes", default="learned,ideal-neighbors,ideal-global,ideal-global-noise1,ideal-global-noise2")
    ap.add_argument("--model-error", action="store_true")
    args = ap.parse_args(argv)
    print(f"command: python benchmarks/pareto_bounds.py {' '.join(argv if argv is not None else sys.argv[1:])}")
    print(f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, python "
          f"{platform.python_version()}")
    problem = Problem(args.eval_column)
    ideal = Ideal(problem)
    everything = [problem.space.parse(s) for s in problem.bench.table.arch_strs]
    print(f"measured in ({args.eval_column}, pixel3), ref ({problem.ref[0]}, {-problem.ref[1]:.3f} ms); signal ceiling "
          f"{problem.ceiling:.4f}; ideal models: accuracy class spread {ideal.sd_acc:.2f} points, latency R^2 "
          f"{ideal.lat_r2:.3f} (residual std {ideal.sd_lat:.2f} ms)")
    if args.model_error:
        model_error(problem, ideal)
    results: dict[str, Any] = {}
    for name in [p.strip() for p in args.probes.split(",") if p.strip()]:
        t0, ratios = time.perf_counter(), []
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            rows = drive(problem, make_probe(name, problem, ideal, everything, seed), args.trials)
            ratios.append(problem.hv_of_rows(problem.returned_front(rows)) / problem.true_hv)
        results[name] = {"mean": statistics.fmean(ratios), "std": statistics.pstdev(ratios), "min": min(ratios),
                         "seconds": time.perf_counter() - t0, "hv_ratio": ratios}
        r = results[name]
        print(f"{name:<22} HV/true {r['mean']:.4f} ± {r['std']:.4f} (min {r['min']:.4f}), {r['seconds']:.0f} s",
              flush=True)
    return results


if __name__ == "__main__":
    main()
