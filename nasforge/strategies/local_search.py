"""Local search over one-step neighbours (White, Zela, Ru, Liu & Hutter, "Local Search is State of
the Art for Neural Architecture Search Benchmarks", 2020).

The walk keeps a *center*. It evaluates the center's unevaluated neighbours (``space.neighbors``)
in random order. ``first`` improvement moves to the first neighbour that beats the center;
``best`` improvement waits until every neighbour is evaluated and moves to the best one. When no
neighbour improves (a local optimum), the walk restarts from a fresh random architecture.

State is a function of the tells: the center changes only when an observation arrives, so
``restore`` rebuilds the same walk. Neighbours equivalent to an evaluated architecture (same
path encoding) or disconnected are skipped where the space can tell.
"""

from __future__ import annotations

import numpy as np

from nasforge.arch import Architecture
from nasforge.errors import InvalidConfigError
from nasforge.evaluators.base import Observation
from nasforge.spaces.base import SearchSpace
from nasforge.strategies._common import Dedup
from nasforge.strategies.base import STRATEGIES, Asked, Strategy

__all__ = ["LocalSearch"]


@STRATEGIES.register("local", "local search over one-step neighbours with restarts, White et al. 2020")
class LocalSearch(Strategy):
    """Hill climbing over ``space.neighbors`` with random restarts.

    Args:
        mode: ``first`` (move on the first improvement) or ``best`` (scan all neighbours first).
        n_init: random architectures before the first walk; the walk starts at the best of them.
        skip_equivalent: skip neighbours equivalent to evaluated ones and disconnected cells.

    Example:
        >>> from nasforge.spaces import get_space
        >>> s = LocalSearch(get_space("nb201"), seed=0, n_init=2)
        >>> len(s.ask(2))
        2
    """

    name = "local"

    def __init__(self, space: SearchSpace, *, seed: int = 0, mode: str = "first", n_init: int = 30,
                 skip_equivalent: bool = True) -> None:
        super().__init__(space, seed=seed)
        if mode not in ("first", "best"):
            raise InvalidConfigError(f"mode must be 'first' or 'best', but got {mode!r}")
        if n_init < 1:
            raise InvalidConfigError(f"n_init >= 1 must hold, but got n_init={n_init}")
        self.mode = mode
        self.n_init = int(n_init)
        self.skip_equivalent = bool(skip_equivalent)
        self.dedup = Dedup(space, skip_disconnected=skip_equivalent)
        self.values: dict[Architecture, float] = {}
        self.center: tuple[Architecture, float] | None = None
        self.n_ok = 0
        self.restart_pending = False  # the next told architecture becomes the center, whatever its value

    # ------------------------------------------------------------------ walk
    def _open_neighbors(self, center: Architecture) -> list[Architecture]:
        out = []
        for a in self.space.neighbors(center):
            if a in self.seen or (self.skip_equivalent and self.dedup.useless(a)):
                continue
            out.append(a)
        return out

    def _after_tell(self) -> None:
        if self.center is None:
            return
        center, value = self.center
        if self.mode == "best" and not self._open_neighbors(center):
            # every neighbour is known: move to the best one if it improves
            best = max(((a, self.values[a]) for a in self.space.neighbors(center) if a in self.values),
                       key=lambda t: t[1], default=None)
            if best is not None and best[1] > value:
                self.center = best
                return
        if not self._open_neighbors(self.center[0]):
            self.restart_pending = True  # local optimum: the next random start becomes the center

    def _random_start(self, rng: np.random.Generator) -> Architecture:
        for _ in range(200):
            a = self.space.sample(rng)
            if a not in self.seen and not (self.skip_equivalent and self.dedup.useless(a)):
                return a
        return self.sample_unseen(rng)

    def _ask(self, n: int, rng: np.random.Generator) -> list[Asked]:
        out: list[Asked] = []
        for k in range(n):
            arch: Architecture | None = None
            if self.center is not None and not self.restart_pending and self.n_asked + k >= self.n_init:
                open_ = self._open_neighbors(self.center[0])
                if open_:
                    arch = open_[int(rng.integers(len(open_)))]
            if arch is None:
                arch = self._random_start(rng)
            self.seen.add(arch)
            self.dedup.add(arch)
            out.append(arch)
        return out

    def _tell(self, arch: Architecture, obs: Observation) -> None:
        self.dedup.add(arch)
        if not obs.ok:
            self._after_tell()
            return
        value = obs.value
        self.values[arch] = value
        self.n_ok += 1
        if self.restart_pending:
            self.center, self.restart_pending = (arch, value), False
        elif self.center is None:
            if self.n_ok >= self.n_init:  # start the walk at the best initial architecture
                self.center = max(self.values.items(), key=lambda t: t[1])
        elif self.mode == "first" and value > self.center[1]:
            self.center = (arch, value)
        self._after_tell()
