"""Random search: the baseline every NAS method must beat (Li & Talwalkar 2019)."""

from __future__ import annotations

import numpy as np

from nasforge.strategies.base import STRATEGIES, Asked, Strategy

__all__ = ["RandomSearch"]


@STRATEGIES.register("random", "uniform random sampling without repeats")
class RandomSearch(Strategy):
    """Uniform random sampling; an architecture is not proposed twice while unseen ones remain.

    Example:
        >>> from nasforge.spaces import get_space
        >>> len(RandomSearch(get_space("nb201"), seed=0).ask(4))
        4
    """

    name = "random"

    def _ask(self, n: int, rng: np.random.Generator) -> list[Asked]:
        return self.random_unseen(n, rng)
