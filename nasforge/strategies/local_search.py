"""Local search over one-step neighbours (White, Zela, Ru, Liu & Hutter, "Local Search is State of
the Art for Neural Architecture Search Benchmarks", 2020), with two optional refinements.

The walk keeps a *center*. It evaluates the center's unevaluated neighbours (``space.neighbors``)
one at a time. ``first`` improvement moves to the first neighbour that beats the center;
``best`` improvement waits until every neighbour is evaluated and moves to the best one. When no
neighbour improves (a local optimum), the walk restarts:

- ``restart="random"``: from a fresh random architecture (plain local search with restarts);
- ``restart="kick"``: iterated local search (Lourenço, Martin & Stützle, "Iterated Local Search",
  2003): from a random ``kick``-step perturbation of the best architecture found so far, so the next
  climb starts near the good region instead of anywhere.

The order in which a center's neighbours are tried is, by default (``order="model"``),
best-predicted first by a ridge regression on the one-hot encoding fitted to every observation so
far (an additive "which option is good on which edge" model; cheap and general), or random
(``order="random"``, the plain algorithm). A good ordering finds the improving neighbour after
fewer queries; its cost is diversity: after a restart the same model steers the next climb, so
for budgets far beyond ~100 queries ``order="random"`` reaches the optimum more reliably
(BENCHMARKS.md, issue 3).

State is a function of the tells: the center changes only when an observation arrives and the
model is refitted from the tells at each ask, so ``restore`` rebuilds the same walk. Neighbours
equivalent to an evaluated architecture (same path encoding) or disconnected are skipped where
the space can tell.
"""

from __future__ import annotations

import numpy as np

from nasforge.arch import Architecture
from nasforge.errors import InvalidConfigError, UnknownNameError
from nasforge.evaluators.base import Observation
from nasforge.registry import unknown_name_message
from nasforge.spaces.base import SearchSpace
from nasforge.strategies._common import Dedup
from nasforge.strategies.base import STRATEGIES, Asked, Strategy

__all__ = ["LocalSearch"]

RESTARTS = ("random", "kick")
ORDERS = ("random", "model")


@STRATEGIES.register("local", "local search over one-step neighbours with restarts, White et al. 2020")
class LocalSearch(Strategy):
    """Hill climbing over ``space.neighbors`` with random restarts or iterated-local-search kicks.

    Args:
        mode: ``first`` (move on the first improvement) or ``best`` (scan all neighbours first).
        n_init: random architectures before the first walk; the walk starts at the best of them.
        skip_equivalent: skip neighbours equivalent to evaluated ones and disconnected cells.
        restart: what to do at a local optimum: ``random`` (a fresh random start) or ``kick``
            (a ``kick``-step random perturbation of the best architecture so far).
        kick: the number of one-step mutations in a kick.
        order: ``model`` (best predicted neighbour first, see the module docstring) or ``random``.
        ridge: L2 penalty of the ordering model (with ``order="model"``).
        kick_pool: draw this many restart candidates (kicks or random samples) and start from the
            one the model predicts best (with ``order="model"``; 1 = no choice).
        max_scan: treat a center as a local optimum after this many of its neighbours failed to
            improve on it (None: after all of them).

    Defaults were chosen on NB201 CIFAR-10 *validation* (seeds 1000+, 12,000 simulated seconds);
    see BENCHMARKS.md.

    Example:
        >>> from nasforge.spaces import get_space
        >>> s = LocalSearch(get_space("nb201"), seed=0, n_init=2)
        >>> len(s.ask(2))
        2
    """

    name = "local"

    def __init__(self, space: SearchSpace, *, seed: int = 0, mode: str = "first", n_init: int = 30,
                 skip_equivalent: bool = True, restart: str = "random", kick: int = 3, order: str = "model",
                 ridge: float = 1.0, kick_pool: int = 1, max_scan: int | None = None) -> None:
        super().__init__(space, seed=seed)
        if mode not in ("first", "best"):
            raise InvalidConfigError(f"mode must be 'first' or 'best', but got {mode!r}")
        if restart not in RESTARTS:
            raise UnknownNameError(unknown_name_message("restart", restart, list(RESTARTS)))
        if order not in ORDERS:
            raise UnknownNameError(unknown_name_message("neighbour order", order, list(ORDERS)))
        if n_init < 1 or kick < 1 or ridge <= 0 or kick_pool < 1 or (max_scan is not None and max_scan < 1):
            raise InvalidConfigError(f"n_init >= 1, kick >= 1, ridge > 0, kick_pool >= 1 and max_scan >= 1 (or None) "
                                     f"must hold, but got (n_init={n_init}, kick={kick}, ridge={ridge}, "
                                     f"kick_pool={kick_pool}, max_scan={max_scan})")
        self.mode = mode
        self.n_init = int(n_init)
        self.skip_equivalent = bool(skip_equivalent)
        self.restart, self.kick, self.order, self.ridge = restart, int(kick), order, float(ridge)
        self.kick_pool = int(kick_pool)
        self.max_scan = None if max_scan is None else int(max_scan)
        self._enc_cache: dict[Architecture, np.ndarray] = {}
        self.scanned: dict[Architecture, int] = {}  # center -> neighbours evaluated while it was the center
        self.dedup = Dedup(space, skip_disconnected=skip_equivalent)
        self.values: dict[Architecture, float] = {}
        self.center: tuple[Architecture, float] | None = None
        self.n_ok = 0
        self.restart_pending = False  # the next told architecture becomes the center, whatever its value

    # ------------------------------------------------------------------ walk
    def _useless(self, arch: Architecture) -> bool:
        return arch in self.seen or (self.skip_equivalent and self.dedup.useless(arch))

    def _open_neighbors(self, center: Architecture) -> list[Architecture]:
        if self.max_scan is not None and self.scanned.get(center, 0) >= self.max_scan:
            return []
        return [a for a in self.space.neighbors(center) if not self._useless(a)]

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
            self.restart_pending = True  # local optimum: the next start becomes the center

    def _random_start(self, rng: np.random.Generator, pool: int = 1) -> Architecture:
        found: list[Architecture] = []
        for _ in range(200 * pool):
            a = self.space.sample(rng)
            if not self._useless(a) and a not in found:
                found.append(a)
                if len(found) >= pool:
                    break
        if not found:
            return self.sample_unseen(rng)
        return found[0] if pool == 1 else self._pick_neighbor(found, rng)

    def _kick_start(self, rng: np.random.Generator) -> Architecture:
        """A ``kick``-step random perturbation of the incumbent (iterated local search)."""
        if not self.values:
            return self._random_start(rng)
        incumbent = max(self.values.items(), key=lambda t: t[1])[0]
        found: list[Architecture] = []
        for _ in range(200):
            a = incumbent
            for _ in range(self.kick):
                a = self.space.mutate(a, rng)
            if not self._useless(a) and a not in found:
                found.append(a)
                if len(found) >= self.kick_pool:
                    break
        if not found:
            return self._random_start(rng)
        return self._pick_neighbor(found, rng)

    def _onehot(self, arch: Architecture) -> np.ndarray:
        v = self._enc_cache.get(arch)
        if v is None:
            v = self._enc_cache[arch] = self.space.encode(arch, "onehot").astype(float)
        return v

    def _pick_neighbor(self, open_: list[Architecture], rng: np.random.Generator) -> Architecture:
        if self.order == "random" or len(self.values) < 2:
            return open_[int(rng.integers(len(open_)))]
        archs = list(self.values)
        X = np.stack([self._onehot(a) for a in archs])
        y = np.array([self.values[a] for a in archs])
        mu = X.mean(axis=0)
        Xc = X - mu
        w = np.linalg.solve(Xc.T @ Xc + self.ridge * np.eye(X.shape[1]), Xc.T @ (y - y.mean()))
        pred = (np.stack([self._onehot(a) for a in open_]) - mu) @ w
        # random tie-break so equal predictions (unseen options) are not tried in a fixed order
        order = np.lexsort((rng.random(len(open_)), -np.round(pred, 9)))
        return open_[int(order[0])]

    def _ask(self, n: int, rng: np.random.Generator) -> list[Asked]:
        out: list[Asked] = []
        for k in range(n):
            arch: Architecture | None = None
            if self.center is not None and not self.restart_pending and self.n_ok >= self.n_init:
                open_ = self._open_neighbors(self.center[0])
                if open_:
                    arch = self._pick_neighbor(open_, rng)
            if arch is None:
                kick = self.restart == "kick" and self.restart_pending
                if kick:
                    arch = self._kick_start(rng)
                else:
                    arch = self._random_start(rng, self.kick_pool if self.restart_pending else 1)
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
        else:
            if arch in self.space.neighbors(self.center[0]):
                self.scanned[self.center[0]] = self.scanned.get(self.center[0], 0) + 1
            if self.mode == "first" and value > self.center[1]:
                self.center = (arch, value)
        self._after_tell()
