"""NSGA-II for architectures (Deb, Pratap, Agarwal & Meyarivan, "A Fast and Elitist Multiobjective
Genetic Algorithm: NSGA-II", IEEE TEC 2002), in a steady-state ask/tell form.

The population is not stored: it is recomputed from everything told so far by NSGA-II's elitist
(mu + lambda) survival, non-dominated sorting then crowding distance to cut the last front that fits,
so replaying the tells rebuilds it exactly. Each proposal picks two parents by binary tournament
(lower front rank first, then larger crowding distance), mixes them by uniform crossover and
mutates each dimension with probability ``1 / dimensions`` (at least one change), and avoids
architectures already proposed or observed. Failed and infeasible trials never become parents.
With one objective it reduces to an elitist genetic algorithm on that objective.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nasforge.arch import Architecture
from nasforge.errors import InvalidArchitectureError, InvalidConfigError
from nasforge.evaluators.base import Observation
from nasforge.pareto import crowding_distance, non_dominated_sort
from nasforge.strategies.base import STRATEGIES, Asked, Strategy

__all__ = ["NSGA2", "survivors"]


def survivors(values: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """NSGA-II survival: the ``size`` best rows of ``values`` (larger is better per column).

    Returns:
        (indices, front rank, crowding distance) of the survivors, best first.
    """
    chosen: list[np.ndarray] = []
    ranks: list[np.ndarray] = []
    crowd: list[np.ndarray] = []
    left = size
    for rank, front in enumerate(non_dominated_sort(values)):
        if left <= 0:
            break
        cd = crowding_distance(values[front])
        if len(front) > left:
            keep = np.argsort(-cd, kind="stable")[:left]
            front, cd = front[keep], cd[keep]
        chosen.append(front)
        ranks.append(np.full(len(front), rank))
        crowd.append(cd)
        left -= len(front)
    if not chosen:
        return np.zeros(0, dtype=int), np.zeros(0, dtype=int), np.zeros(0)
    return np.concatenate(chosen), np.concatenate(ranks), np.concatenate(crowd)


@STRATEGIES.register("nsga2", "NSGA-II: non-dominated sorting + crowding distance (multi-objective)")
class NSGA2(Strategy):
    """Steady-state NSGA-II over a search space.

    Args:
        population_size: survivors kept (and the number of random architectures to start with).
        crossover_prob: chance that a child mixes two parents (otherwise it copies one).
        mutation_rate: chance that each dimension changes; default ``1 / number of dimensions``.
            A child always differs from its parents in at least one dimension.
        local_prob: chance that a child is instead a one-step mutation of a single parent.

    Example:
        >>> from nasforge.spaces import get_space
        >>> s = NSGA2(get_space("nb201"), seed=0, population_size=8)
        >>> len(s.ask(3))
        3
    """

    name = "nsga2"
    multi_objective = True

    def __init__(self, space, *, seed: int = 0, population_size: int = 20, crossover_prob: float = 0.9,  # type: ignore[no-untyped-def]
                 mutation_rate: float | None = None, local_prob: float = 0.0) -> None:
        super().__init__(space, seed=seed)
        if population_size < 2:
            raise InvalidConfigError(f"population_size >= 2 must hold, but got population_size={population_size}")
        if not 0.0 <= crossover_prob <= 1.0:
            raise InvalidConfigError(f"0 <= crossover_prob <= 1 must hold, but got crossover_prob={crossover_prob}")
        if mutation_rate is not None and not 0.0 < mutation_rate <= 1.0:
            raise InvalidConfigError(f"0 < mutation_rate <= 1 must hold, but got mutation_rate={mutation_rate}")
        self.population_size = int(population_size)
        self.crossover_prob = float(crossover_prob)
        self.mutation_rate = mutation_rate
        if not 0.0 <= local_prob <= 1.0:
            raise InvalidConfigError(f"0 <= local_prob <= 1 must hold, but got local_prob={local_prob}")
        self.local_prob = float(local_prob)
        self.archive: dict[Architecture, tuple[float, ...]] = {}  # ok observations, latest per architecture
        self._population: tuple[list[Architecture], np.ndarray, np.ndarray] | None = None

    # ------------------------------------------------------------------ state
    def _tell(self, arch: Architecture, obs: Observation) -> None:
        if not obs.ok or not obs.values:
            return  # failed or infeasible: never a parent
        self.archive[arch] = tuple(obs.values)
        self._population = None

    def population(self) -> tuple[list[Architecture], np.ndarray, np.ndarray]:
        """Current survivors with their front rank and crowding distance (best first)."""
        if self._population is None:
            archs = list(self.archive)
            if archs:
                width = min(len(v) for v in self.archive.values())
                values = np.array([self.archive[a][:width] for a in archs], dtype=np.float64)
                idx, rank, crowd = survivors(values, self.population_size)
                self._population = ([archs[i] for i in idx], rank, crowd)
            else:
                self._population = ([], np.zeros(0, dtype=int), np.zeros(0))
        return self._population

    # ------------------------------------------------------------------ proposals
    def _tournament(self, rng: np.random.Generator, rank: np.ndarray, crowd: np.ndarray) -> int:
        i, j = (int(v) for v in rng.integers(0, len(rank), size=2))
        if rank[i] != rank[j]:
            return i if rank[i] < rank[j] else j
        return i if crowd[i] >= crowd[j] else j

    def _vary(self, a: Architecture, b: Architecture, rng: np.random.Generator) -> Architecture:
        labels = list(a)
        values: dict[str, Any] = dict(a)
        if rng.random() < self.crossover_prob:
            for label in labels:
                if label in b and rng.random() < 0.5:
                    values[label] = b[label]
        rate = self.mutation_rate if self.mutation_rate is not None else 1.0 / max(1, len(labels))
        mutate = [lab for lab in labels if rng.random() < rate]
        for label in mutate:
            options = [v for v in self.space.dimension(label).all_values() if v != values[label]]
            if options:
                values[label] = options[int(rng.integers(len(options)))]
        try:
            child = self.space.validate(values)
        except InvalidArchitectureError:
            child = a  # crossover broke a conditional space's structure: fall back to mutating a parent
        if child == a or child == b or child in self.seen:
            child = self.mutate_unseen(child, rng)
        return child

    def _ask(self, n: int, rng: np.random.Generator) -> list[Asked]:
        members, rank, crowd = self.population()
        out: list[Asked] = []
        for k in range(n):
            if self.n_asked + k < self.population_size or len(members) < 2:
                child = self.sample_unseen(rng)
            else:
                p1 = members[self._tournament(rng, rank, crowd)]
                if rng.random() < self.local_prob:
                    child = self.mutate_unseen(p1, rng)  # a one-step neighbour: local search on the front
                else:
                    child = self._vary(p1, members[self._tournament(rng, rank, crowd)], rng)
            self.seen.add(child)
            out.append(child)
        return out
