"""An evaluator that scores architectures with zero-cost proxies on one real minibatch."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from nasforge.arch import Architecture
from nasforge.errors import InvalidConfigError
from nasforge.evaluators.base import Result
from nasforge.proxies.scores import PROXIES
from nasforge.spaces.base import SearchSpace

__all__ = ["ZeroCostEvaluator"]


class ZeroCostEvaluator:
    """Build each architecture's network, untrained, and score it with zero-cost proxies.

    The minibatch is the first ``batch_size`` training images of a shuffled (seeded) draw from
    ``dataset`` (any :func:`nasforge.data.load_dataset` name: ``digits``, ``mnist``, ...). Weights
    are initialized under ``seed`` inside ``torch.random.fork_rng``, so scores are reproducible
    and the caller's random state is untouched. ``cost`` is the measured wall time.

    Args:
        space: a space that builds networks (``space.build``).
        dataset: where the minibatch comes from.
        proxies: names from :data:`nasforge.proxies.PROXIES`.
        batch_size: minibatch size.
        seed: weight initialization and minibatch draw.
        threads: torch intra-op threads while scoring (None leaves the setting alone).
        build: keyword arguments for ``space.build`` (e.g. ``channels``, ``cells_per_stage``);
            ``in_channels`` and ``num_classes`` are filled from the dataset.

    Example:
        >>> from nasforge.spaces import get_space
        >>> ev = ZeroCostEvaluator(get_space("nb201"), "digits", build={"channels": 8, "cells_per_stage": 1})
        >>> r = ev.evaluate(get_space("nb201").sample(np.random.default_rng(0)))  # doctest: +SKIP
        >>> sorted(r.metrics)  # doctest: +SKIP
        ['jacob_cov', 'naswot', 'snip', 'synflow']
    """

    simulated_cost = False
    report_metric: str | None = None

    def __init__(self, space: SearchSpace, dataset: str = "digits", *,
                 proxies: Sequence[str] = ("synflow", "jacob_cov", "snip", "naswot"), batch_size: int = 64,
                 seed: int = 0, threads: int | None = 1, build: dict[str, Any] | None = None) -> None:
        for p in proxies:
            PROXIES.get(p)  # unknown names fail now, with the list
        if not proxies:
            raise InvalidConfigError("proxies must name at least one proxy")
        if batch_size < 2:
            raise InvalidConfigError(f"batch_size >= 2 must hold, but got batch_size={batch_size}")
        import torch

        from nasforge.data import load_dataset

        self.space = space
        self.dataset = dataset
        self.proxies = tuple(proxies)
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.threads = threads
        ds = load_dataset(dataset)
        if np.asarray(ds.x_train).ndim != 4:
            raise InvalidConfigError(f"dataset '{dataset}' is not an image dataset (need N x C x H x W inputs)")
        idx = np.random.default_rng(self.seed).permutation(len(ds.x_train))[: self.batch_size]
        self.x = torch.from_numpy(np.array(ds.x_train[idx], dtype=np.float32))
        self.y = torch.from_numpy(np.array(ds.y_train[idx], dtype=np.int64))
        self.build = {"in_channels": int(self.x.shape[1]), "num_classes": len(ds.classes), **(build or {})}
        self.default_objective = self.proxies[0]

    def scores(self, arch: Architecture) -> dict[str, float]:
        """Every proxy of ``arch`` (a fresh network per proxy, same initial weights)."""
        import torch

        old_threads = torch.get_num_threads()
        if self.threads:
            torch.set_num_threads(self.threads)
        try:
            out = {}
            for name in self.proxies:
                with torch.random.fork_rng(devices=[]):
                    torch.manual_seed(self.seed)
                    net = self.space.build(arch, **self.build)
                out[name] = float(PROXIES.get(name)(net, self.x, self.y))
            return out
        finally:
            torch.set_num_threads(old_threads)

    def evaluate(self, arch: Architecture, fidelity: float | None = None) -> Result:
        """Proxy scores as visible metrics; cost is the measured scoring time."""
        t0 = time.perf_counter()
        metrics = self.scores(arch)
        return Result.ok(metrics, cost=time.perf_counter() - t0, fidelity=fidelity)

    def describe(self) -> dict[str, Any]:
        return {"kind": "zero-cost", "dataset": self.dataset, "proxies": list(self.proxies),
                "batch_size": self.batch_size, "seed": self.seed, "build": self.build}
