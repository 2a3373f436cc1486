"""Regularized (aging) evolution, Real et al., "Regularized Evolution for Image Classifier
Architecture Search", AAAI 2019.

The population is a queue: each step samples ``sample_size`` members uniformly, mutates the best
of them, and the child replaces the *oldest* member (not the worst), which keeps the search from
over-trusting one lucky evaluation.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from nasforge.arch import Architecture
from nasforge.errors import InvalidConfigError
from nasforge.evaluators.base import Observation
from nasforge.strategies.base import STRATEGIES, Asked, Strategy

__all__ = ["RegularizedEvolution"]


@STRATEGIES.register("evolution", "regularized (aging) evolution, Real et al. 2019")
class RegularizedEvolution(Strategy):
    """Regularized evolution.

    Args:
        population_size: members kept alive (the oldest dies first). NB201 paper: 10.
        sample_size: tournament size. NB201 paper: 3.

    Example:
        >>> from nasforge.spaces import get_space
        >>> s = RegularizedEvolution(get_space("nb201"), seed=0, population_size=10, sample_size=3)
        >>> len(s.ask(2))
        2
    """

    name = "evolution"

    def __init__(self, space, *, seed: int = 0, population_size: int = 10, sample_size: int = 3) -> None:  # type: ignore[no-untyped-def]
        super().__init__(space, seed=seed)
        if not 1 <= sample_size <= population_size:
            raise InvalidConfigError(
                f"1 <= sample_size <= population_size must hold, but got "
                f"(sample_size={sample_size}, population_size={population_size})"
            )
        self.population_size = int(population_size)
        self.sample_size = int(sample_size)
        self.population: deque[tuple[Architecture, float]] = deque()

    def _ask(self, n: int, rng: np.random.Generator) -> list[Asked]:
        out: list[Asked] = []
        for k in range(n):
            if self.n_asked + k < self.population_size or not self.population:
                child = self.sample_unseen(rng)
            else:
                idx = rng.choice(len(self.population), size=min(self.sample_size, len(self.population)), replace=False)
                parent = max((self.population[int(i)] for i in idx), key=lambda m: m[1])[0]
                child = self.mutate_unseen(parent, rng)
            self.seen.add(child)
            out.append(child)
        return out

    def _tell(self, arch: Architecture, obs: Observation) -> None:
        if not obs.ok:
            return  # a failed child never joins the population
        self.population.append((arch, obs.value))
        if len(self.population) > self.population_size:
            self.population.popleft()
