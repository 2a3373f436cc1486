"""A strategy that warm-starts another one with a data-free zero-cost proxy.

The first ``n_warm`` asks are the best-scoring architectures (by ``synflow``, which needs no data,
so the strategy stays free of I/O) among a seeded random pool of ``pool_size`` distinct,
connected architectures; every later ask comes from the ``inner`` strategy, which is told about
everything, the warm start included. Scoring builds each pool network untrained at a small size
(``build``) under a fixed torch seed inside ``fork_rng``: the ranking is a pure function of the
seed, so ``restore`` is exact. Scores are cached per process, keyed by architecture and build.

The scoring time is real CPU time and is *not* charged to a simulated (tabular) budget; on the
default small networks it is about 20 ms per pool architecture on one core.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from nasforge.arch import Architecture
from nasforge.errors import InvalidConfigError
from nasforge.evaluators.base import Observation
from nasforge.spaces.base import SearchSpace
from nasforge.strategies._common import Dedup
from nasforge.strategies.base import STRATEGIES, Asked, Strategy, as_suggestion, make_strategy

__all__ = ["DATA_FREE_PROXIES", "ZeroCostWarmStart"]

DATA_FREE_PROXIES = ("synflow",)
_CACHE: dict[tuple[str, str, str], float] = {}


def proxy_scores(space: SearchSpace, archs: Sequence[Architecture], *, proxy: str = "synflow",
                 build: Mapping[str, Any] | None = None, input_shape: Sequence[int] = (3, 8, 8),
                 seed: int = 0) -> np.ndarray:
    """Data-free proxy scores of ``archs`` (one fresh untrained network each, torch seed ``seed``)."""
    import torch

    from nasforge.proxies.scores import PROXIES

    fn = PROXIES.get(proxy)
    cfg = {"in_channels": int(input_shape[0]), **(build or {})}
    tag = json.dumps({"space": space.to_dict()["config"], "build": cfg, "shape": list(input_shape), "seed": seed},
                     sort_keys=True)
    x = torch.zeros((1, *input_shape))
    out = np.empty(len(archs))
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for i, arch in enumerate(archs):
            key = (space.name, tag, arch.key)
            if key not in _CACHE:
                with torch.random.fork_rng(devices=[]):
                    torch.manual_seed(seed)
                    net = space.build(arch, **cfg)
                _CACHE[key] = float(fn(net, x, None))
            out[i] = _CACHE[key]
    finally:
        torch.set_num_threads(old)
    return out


@STRATEGIES.register("zc", "zero-cost warm start: best synflow scores of a random pool, then an inner strategy")
class ZeroCostWarmStart(Strategy):
    """Warm-start ``inner`` with the top data-free proxy scores of a random pool.

    Args:
        inner: the registered strategy that takes over after the warm start.
        inner_params: its hyperparameters.
        proxy: a data-free proxy (``synflow``).
        pool_size: random distinct (connected) architectures scored.
        n_warm: how many of the best-scoring ones are asked first.
        build: ``space.build`` settings of the scored networks (small by default).
        input_shape: the (C, H, W) of the all-ones synflow input.

    Example:
        >>> from nasforge.spaces import get_space
        >>> s = ZeroCostWarmStart(get_space("nb201"), seed=0, pool_size=8, n_warm=2)  # doctest: +SKIP
        >>> len(s.ask(3))  # doctest: +SKIP
        3
    """

    name = "zc"

    @classmethod
    def supports(cls, space: SearchSpace) -> bool:
        """Image spaces whose networks build at the default ``input_shape`` (3, 8, 8): cell and chain CNN
        spaces (``auto_cnn`` fixes its input size; tables, text, audio and graph spaces are not images)."""
        return getattr(space, "data_kind", None) == "image" and space.name != "auto_cnn"

    def __init__(self, space: SearchSpace, *, seed: int = 0, inner: str = "tpe",
                 inner_params: Mapping[str, Any] | None = None, proxy: str = "synflow", pool_size: int = 100,
                 n_warm: int = 10, build: Mapping[str, Any] | None = None,
                 input_shape: Sequence[int] = (3, 8, 8)) -> None:
        super().__init__(space, seed=seed)
        if proxy not in DATA_FREE_PROXIES:
            raise InvalidConfigError(
                f"a strategy does no I/O, so its proxy must be data-free ({', '.join(DATA_FREE_PROXIES)}), but got "
                f"{proxy!r}; score data-based proxies with nasforge.proxies.ZeroCostEvaluator instead")
        if not 1 <= n_warm <= pool_size:
            raise InvalidConfigError(f"1 <= n_warm <= pool_size must hold, but got (n_warm={n_warm}, "
                                     f"pool_size={pool_size})")
        if inner == "zc":
            raise InvalidConfigError("inner must be another strategy than 'zc'")
        self.inner = inner
        self.inner_params = dict(inner_params or {})
        self.proxy = proxy
        self.pool_size = int(pool_size)
        self.n_warm = int(n_warm)
        self.build = dict(build or {"channels": 8, "cells_per_stage": 1})
        self.input_shape = tuple(int(v) for v in input_shape)
        self._inner = make_strategy(inner, space, seed=seed, **self.inner_params)
        self._warm: list[Architecture] | None = None

    def warm_list(self) -> list[Architecture]:
        """The ``n_warm`` best pool architectures by the proxy, best first (computed once)."""
        if self._warm is None:
            rng = np.random.default_rng([self.seed, 0x2C])
            dedup = Dedup(self.space)
            pool: list[Architecture] = []
            for _ in range(self.pool_size * 50):
                if len(pool) >= self.pool_size:
                    break
                a = self.space.sample(rng)
                if not dedup.useless(a):
                    dedup.add(a)
                    pool.append(a)
            scores = proxy_scores(self.space, pool, proxy=self.proxy, build=self.build,
                                  input_shape=self.input_shape, seed=self.seed)
            order = np.argsort(-scores, kind="stable")[: self.n_warm]
            self._warm = [pool[int(i)] for i in order]
        return self._warm

    def _ask(self, n: int, rng: np.random.Generator) -> list[Asked]:
        out: list[Asked] = []
        for k in range(n):
            i = self.n_asked + k
            if i < self.n_warm:
                arch = self.warm_list()[i]
                self._inner.seen.add(arch)
                out.append(arch)
            else:
                out.append(self._inner.ask(1)[0])
            self.seen.add(as_suggestion(out[-1]).arch)
        return out

    def _tell(self, arch: Architecture, obs: Observation) -> None:
        self._inner.tell(arch, obs)

    def restore(self, history: Iterable[tuple[Architecture, Observation]], n_asked: int) -> None:
        super().restore(history, n_asked)
        self._inner.n_asked = max(0, n_asked - self.n_warm)
