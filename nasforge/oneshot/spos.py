"""SPOS: Single Path One-Shot NAS with uniform sampling (Guo et al., ECCV 2020).

The supernet is trained one uniformly drawn path per minibatch, so every architecture's weights
are trained about equally often; afterwards an evolutionary search (top-k parents, mutation and
uniform crossover) ranks architectures by the supernet's validation accuracy, each scored after
recalibrating the batch-norm statistics on training batches for that single path.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch

from nasforge.arch import Architecture
from nasforge.oneshot.base import Data, OneShotMethod, _batches

__all__ = ["SPOS"]


class SPOS(OneShotMethod):
    """Uniform single-path supernet training, then evolution scored by the supernet.

    Hyperparameters: ``population`` (20), ``parents`` (10), ``evals`` (candidates scored, 100),
    ``mutation_prob`` (share of children made by mutation rather than crossover, 0.5),
    ``recal_batches`` (4 batches of 128 training images per BN recalibration), ``panel`` (8: a
    fixed set of sampled architectures whose best, by the supernet, is recorded after each epoch).

    Example:
        >>> from nasforge.spaces import get_space
        >>> SPOS(get_space("nb201"), evals=40).hparams["evals"]
        40
    """

    name = "spos"
    track_running_stats = True
    defaults: ClassVar[dict[str, Any]] = {"population": 20, "parents": 10, "evals": 100, "mutation_prob": 0.5,
                                          "recal_batches": 4, "panel": 8}

    def _setup(self, net: Any, epochs: int) -> None:
        self.w_opt = self._weight_optimizer(net)

    def _state(self) -> dict[str, Any]:
        return {"w_opt": self.w_opt.state_dict()}

    def _load(self, state: dict[str, Any]) -> None:
        self.w_opt.load_state_dict(state["w_opt"])

    def _snapshot(self) -> dict[str, Any]:
        # uniform sampling: no architecture weights; the best of a fixed panel tracks the supernet
        return {"derived": self.space.to_string(self.current_arch())}

    def arch_weights(self) -> None:
        return None

    def current_arch(self) -> Architecture:
        """The best of a fixed, seeded panel of ``panel`` architectures by the supernet (after an epoch)."""
        rng = np.random.default_rng([self.config.seed, 424242])
        panel = list(dict.fromkeys(self.space.sample(rng) for _ in range(int(self.hparams["panel"]))))
        if self.net is None or self.data_ is None:
            return panel[0]
        train, val = self.data_
        scores = self.estimate(panel, train, val, recal_batches=int(self.hparams["recal_batches"]))
        return max(zip(scores, panel), key=lambda t: (t[0], t[1].key))[1]

    def _train_epoch(self, epoch: int, epochs: int, train: Data, val: Data, gen: torch.Generator,
                     rng: np.random.Generator) -> dict[str, float]:
        assert self.net is not None
        self.net.train()
        self._set_lr(self.w_opt, epoch, epochs)
        idx = _batches(len(train[0]), self.config.batch_size, gen, self._steps(train))
        total = 0.0
        for i in idx:
            self.net.use_path(self.space.sample(rng))
            total += self._weight_step(self.w_opt, train[0][i], train[1][i])
        return {"train_loss": total / len(idx)}

    def _crossover(self, a: Architecture, b: Architecture, rng: np.random.Generator) -> Architecture:
        take = rng.random(len(self.space.labels)) < 0.5
        return self.space.validate({lab: (a[lab] if t else b[lab]) for lab, t in zip(self.space.labels, take)})

    def _result(self, train: Data, val: Data, rng: np.random.Generator) -> Architecture:
        h = self.hparams
        scores: dict[Architecture, float] = {}

        def score(archs: list[Architecture]) -> None:
            new = [a for a in dict.fromkeys(archs) if a not in scores]
            for a, s in zip(new, self.estimate(new, train, val, recal_batches=int(h["recal_batches"]))):
                scores[a] = s

        budget = int(h["evals"])
        score([self.space.sample(rng) for _ in range(min(int(h["population"]), budget))])
        stale = 0
        while len(scores) < budget and stale < 20:
            ranked = sorted(scores, key=lambda a: (-scores[a], a.key))[: int(h["parents"])]
            children = []
            for _ in range(min(int(h["population"]), budget - len(scores))):
                if rng.random() < float(h["mutation_prob"]) or len(ranked) < 2:
                    children.append(self.space.mutate(ranked[int(rng.integers(len(ranked)))], rng))
                else:
                    i, j = rng.choice(len(ranked), 2, replace=False)
                    children.append(self._crossover(ranked[int(i)], ranked[int(j)], rng))
            before = len(scores)
            score(children)
            stale = stale + 1 if len(scores) == before else 0
        self.scores_ = {self.space.to_string(a): s for a, s in scores.items()}
        return max(scores, key=lambda a: (scores[a], a.key))
