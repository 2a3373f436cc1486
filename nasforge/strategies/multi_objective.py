"""Multi-objective baselines: random sampling, and ParEGO-style scalarized Bayesian optimization.

- ``mo_random``: uniform random sampling; the runner keeps the Pareto front of what it saw. Every
  multi-objective method must beat it at the same number of queries.
- ``parego``: Knowles, "ParEGO: A Hybrid Algorithm With On-Line Landscape Approximation for
  Expensive Multiobjective Optimization Problems", IEEE TEC 2006. Each proposal draws a random
  weight vector, turns the (min-max normalized) objectives into one augmented Chebyshev value,
  fits a Gaussian process (scikit-learn) on the architectures' encodings and proposes the candidate
  with the highest expected improvement, among random samples and mutations of the best
  architectures under that weighting.
"""

from __future__ import annotations

import numpy as np

from nasforge.arch import Architecture
from nasforge.errors import InvalidConfigError
from nasforge.evaluators.base import Observation
from nasforge.strategies._common import fixed_kernel_gp, normalized_archive
from nasforge.strategies.base import STRATEGIES, Asked, Strategy
from nasforge.strategies.random_search import RandomSearch

__all__ = ["MultiObjectiveRandom", "ParEGO", "chebyshev"]


@STRATEGIES.register("mo_random", "multi-objective random baseline (uniform sampling; the runner keeps the front)")
class MultiObjectiveRandom(RandomSearch):
    """Uniform random sampling, declared multi-objective: the baseline for Pareto searches.

    Example:
        >>> from nasforge.spaces import get_space
        >>> MultiObjectiveRandom(get_space("nb201"), seed=0).multi_objective
        True
    """

    name = "mo_random"
    multi_objective = True


def chebyshev(values: np.ndarray, weights: np.ndarray, rho: float = 0.05) -> np.ndarray:
    """ParEGO's augmented Chebyshev value of normalized objectives (larger-is-better in [0, 1]).

    Returns a *cost* (smaller is better): ``max_i w_i (1 - f_i) + rho * sum_i w_i (1 - f_i)``.

    Example:
        >>> chebyshev(np.array([[1.0, 0.0], [0.5, 0.5]]), np.array([0.5, 0.5])).round(3).tolist()
        [0.525, 0.275]
    """
    gap = weights[None, :] * (1.0 - values)
    return gap.max(axis=1) + rho * gap.sum(axis=1)


@STRATEGIES.register("parego", "ParEGO: random-weight Chebyshev scalarization + GP expected improvement")
class ParEGO(Strategy):
    """Scalarized multi-objective Bayesian optimization (ParEGO).

    Args:
        n_initial: random architectures before the model is used.
        n_candidates: random candidates scored per proposal (plus mutations of the best).
        n_mutations: mutated candidates per proposal, from the top architectures under the draw's weights.
        max_train: the model is fit on at most this many architectures, the best under the draw's
            weights (ParEGO's cap; keeps each fit fast).
        encoding: the space encoding the GP works on.
        rho: weight of the linear term in the augmented Chebyshev function.
        length_scale: the GP's Matern length scale on the encoding (fixed; targets are standardized).

    Example:
        >>> from nasforge.spaces import get_space
        >>> s = ParEGO(get_space("nb201"), seed=0, n_initial=4)
        >>> len(s.ask(2))
        2
    """

    name = "parego"
    multi_objective = True

    def __init__(self, space, *, seed: int = 0, n_initial: int = 10, n_candidates: int = 200,  # type: ignore[no-untyped-def]
                 n_mutations: int = 100, max_train: int = 80, encoding: str = "onehot", rho: float = 0.05,
                 length_scale: float = 2.0) -> None:
        super().__init__(space, seed=seed)
        if n_initial < 2 or n_candidates < 1 or n_mutations < 0 or max_train < 2:
            raise InvalidConfigError(
                f"n_initial >= 2, n_candidates >= 1, n_mutations >= 0 and max_train >= 2 must hold, but got "
                f"(n_initial={n_initial}, n_candidates={n_candidates}, n_mutations={n_mutations}, "
                f"max_train={max_train})")
        if encoding not in space.encoding_names():
            raise InvalidConfigError(f"encoding must be one of {space.encoding_names()}, but got {encoding!r}")
        self.n_initial = int(n_initial)
        self.n_candidates = int(n_candidates)
        self.n_mutations = int(n_mutations)
        self.max_train = int(max_train)
        self.encoding = encoding
        self.rho = float(rho)
        self.length_scale = float(length_scale)
        self.archive: dict[Architecture, tuple[float, ...]] = {}

    def _tell(self, arch: Architecture, obs: Observation) -> None:
        if obs.ok and obs.values:
            self.archive[arch] = tuple(obs.values)

    def _propose(self, rng: np.random.Generator, taken: set[Architecture]) -> Architecture:
        from scipy.stats import norm
        archs, norm_vals = normalized_archive(self.archive)
        width = norm_vals.shape[1]
        weights = rng.dirichlet(np.ones(width))
        cost = chebyshev(norm_vals, weights, self.rho)
        order = np.argsort(cost, kind="stable")
        train = order[: self.max_train]
        x = np.stack([self.space.encode(archs[i], self.encoding) for i in train]).astype(np.float64)
        y = -cost[train]  # the GP maximizes
        # the noise term absorbs the scalarization's kinks
        gp = fixed_kernel_gp(x, y, length_scale=self.length_scale, noise=0.05)
        # candidates: fresh samples, and mutations of the best architectures under these weights
        cands: dict[Architecture, None] = {}
        for _ in range(self.n_candidates):
            a = self.space.sample(rng)
            if a not in self.seen and a not in taken:
                cands[a] = None
        top = [archs[i] for i in order[: max(1, min(10, len(order)))]]
        for k in range(self.n_mutations):
            a = self.space.mutate(top[k % len(top)], rng)
            if a not in self.seen and a not in taken:
                cands[a] = None
        if not cands:
            return self.sample_unseen(rng)
        pool = list(cands)
        xc = np.stack([self.space.encode(a, self.encoding) for a in pool]).astype(np.float64)
        mu, sd = gp.predict(xc, return_std=True)
        best = float(y.max())
        sd = np.maximum(sd, 1e-9)
        z = (mu - best) / sd
        ei = (mu - best) * norm.cdf(z) + sd * norm.pdf(z)
        return pool[int(np.argmax(ei))]

    def _ask(self, n: int, rng: np.random.Generator) -> list[Asked]:
        out: list[Asked] = []
        taken: set[Architecture] = set()
        for k in range(n):
            if self.n_asked + k < self.n_initial or len(self.archive) < 2:
                child = self.sample_unseen(rng)
            else:
                child = self._propose(rng, taken)
            taken.add(child)
            self.seen.add(child)
            out.append(child)
        return out

