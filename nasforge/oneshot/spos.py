"""SPOS: Single Path One-Shot NAS with uniform sampling (Guo et al., ECCV 2020).

The supernet is trained one uniformly drawn path per minibatch, so every architecture's weights
are trained about equally often; afterwards an ordinary black-box strategy (regularized evolution
by default) searches the space, told the supernet's validation accuracy of each candidate, scored
after recalibrating the batch-norm statistics on training batches for that single path
(:mod:`nasforge.oneshot.evaluator`).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch

from nasforge.arch import Architecture
from nasforge.errors import InvalidConfigError
from nasforge.oneshot.base import Data, OneShotConfig, OneShotMethod, Progress, _batches
from nasforge.spaces.base import SearchSpace

__all__ = ["SPOS"]


class SPOS(OneShotMethod):
    """Uniform single-path supernet training, then a search over the supernet with an ordinary strategy.

    Args:
        space: a space with a registered supernet.
        config: supernet and optimisation settings.
        checkpoint_dir: see :class:`~nasforge.oneshot.OneShotMethod`.
        progress: see :class:`~nasforge.oneshot.OneShotMethod`.
        search_strategy: the registered black-box strategy that searches the trained supernet
            (default ``"evolution"``: regularized evolution, as the SPOS paper's evolutionary search).
        search_params: that strategy's hyperparameters (default: population 20, tournament 5).
        evals: candidates scored by the supernet (100).
        recal_batches: batches of 128 training images per BN recalibration (4).
        panel: a fixed set of sampled architectures whose best, by the supernet, is recorded after
            each epoch (8).

    Example:
        >>> from nasforge.spaces import get_space
        >>> SPOS(get_space("nb201"), evals=40).hparams["evals"]
        40
    """

    name = "spos"
    track_running_stats = True

    def __init__(self, space: SearchSpace, config: OneShotConfig | None = None, *,
                 checkpoint_dir: str | os.PathLike[str] | None = None, progress: Progress | None = None,
                 search_strategy: str = "evolution", search_params: dict[str, Any] | None = None,
                 evals: int = 100, recal_batches: int = 4, panel: int = 8) -> None:
        super().__init__(space, config, checkpoint_dir=checkpoint_dir, progress=progress)
        self.search_strategy = search_strategy
        self.search_params = dict(search_params) if search_params is not None else \
            ({"population_size": 20, "sample_size": 5} if search_strategy == "evolution" else {})
        self.evals = int(evals)
        self.recal_batches = int(recal_batches)
        self.panel = int(panel)
        if self.evals < 1 or self.recal_batches < 1 or self.panel < 1:
            raise InvalidConfigError(f"evals, recal_batches and panel must be >= 1, but got (evals={evals}, "
                                     f"recal_batches={recal_batches}, panel={panel})")

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
        panel = list(dict.fromkeys(self.space.sample(rng) for _ in range(self.panel)))
        if self.net is None or self.data_ is None:
            return panel[0]
        train, val = self.data_
        scores = self.estimate(panel, train, val, recal_batches=self.recal_batches)
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

    def _result(self, train: Data, val: Data, rng: np.random.Generator) -> Architecture:
        from nasforge.oneshot.evaluator import search_supernet
        from nasforge.strategies import make_strategy

        strategy = make_strategy(self.search_strategy, self.space, seed=int(rng.integers(2**31)),
                                 **self.search_params)
        best, scores = search_supernet(self, strategy, self.evals, recal_batches=self.recal_batches)
        self.scores_ = {self.space.to_string(a): s for a, s in scores.items()}
        return best
