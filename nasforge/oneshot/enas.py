"""ENAS: Efficient NAS via parameter sharing (Pham et al., ICML 2018).

An LSTM controller emits one decision per dimension of the space (operation of an edge, input
pair of a DARTS node, ...). Each epoch alternates (1) training the shared supernet weights on the
training split, one controller-sampled path per minibatch, and (2) REINFORCE updates of the
controller with the sampled path's validation-batch accuracy as reward, a moving-average baseline
and an entropy bonus. The result is the best of ``candidates`` controller samples, scored by the
supernet on the validation split with recalibrated batch norm: the ordinary ask/tell loop with a
strategy that proposes controller samples (:class:`ControllerSampler`), told by the supernet.

Warm-up: for the first ``warmup_epochs`` (default: half of the epochs) the shared weights are
trained on uniformly drawn paths and the controller is not updated, as ENAS-style implementations
do; otherwise the first rewards compare untrained convolutions with parameter-free ops and the
controller learns to prefer cells without parameters (measured in BENCHMARKS.md).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch
from torch import nn

from nasforge.arch import Architecture
from nasforge.oneshot.base import Data, OneShotConfig, OneShotMethod, Progress, _batches
from nasforge.oneshot.darts import warmup_epochs
from nasforge.spaces.base import SearchSpace
from nasforge.strategies.base import Strategy

__all__ = ["ENAS", "Controller", "ControllerSampler"]


class Controller(nn.Module):
    """An LSTM policy over the dimensions of a search space (one categorical decision each).

    Example:
        >>> from nasforge.spaces import get_space
        >>> ctrl = Controller(get_space("nb201"))
        >>> arch, logp, ent = ctrl.sample(torch.Generator().manual_seed(0))
        >>> sorted(arch)[:2]
        ['1<-0', '2<-0']
    """

    def __init__(self, space: SearchSpace, hidden: int = 32, tanh_constant: float = 2.5) -> None:
        super().__init__()
        self.space = space
        self.values = [d.all_values() for d in space.dimensions]
        self.hidden = hidden
        self.tanh_constant = tanh_constant
        self.start = nn.Parameter(torch.zeros(1, hidden))
        self.lstm = nn.LSTMCell(hidden, hidden)
        self.embed = nn.ModuleList(nn.Embedding(len(v), hidden) for v in self.values)
        self.heads = nn.ModuleList(nn.Linear(hidden, len(v)) for v in self.values)

    def sample(self, gen: torch.Generator | None) -> tuple[Architecture, torch.Tensor, torch.Tensor]:
        """One architecture, the sum of its log-probabilities and of the policy entropies."""
        x = self.start
        h = c = torch.zeros(1, self.hidden)
        choices: dict[str, Any] = {}
        logp = torch.zeros(())
        ent = torch.zeros(())
        for d, vals, emb, head in zip(self.space.dimensions, self.values, self.embed, self.heads):
            h, c = self.lstm(x, (h, c))
            logits = self.tanh_constant * torch.tanh(head(h))[0]
            probs = logits.softmax(-1)
            k = int(torch.multinomial(probs.detach(), 1, generator=gen))
            log_probs = logits.log_softmax(-1)
            logp = logp + log_probs[k]
            ent = ent - (probs * log_probs).sum()
            choices[d.label] = vals[k]
            x = emb(torch.tensor([k]))
        return self.space.validate(choices), logp, ent

    @torch.no_grad()
    def greedy(self) -> tuple[Architecture, dict[str, dict[str, float]]]:
        """The most likely choice at each step, and the choice probabilities along that path."""
        x = self.start
        h = c = torch.zeros(1, self.hidden)
        choices: dict[str, Any] = {}
        probs_out: dict[str, dict[str, float]] = {}
        for d, vals, emb, head in zip(self.space.dimensions, self.values, self.embed, self.heads):
            h, c = self.lstm(x, (h, c))
            probs = (self.tanh_constant * torch.tanh(head(h))[0]).softmax(-1)
            k = int(probs.argmax())
            choices[d.label] = vals[k]
            probs_out[d.label] = {str(v): round(float(p), 5) for v, p in zip(vals, probs)}
            x = emb(torch.tensor([k]))
        return self.space.validate(choices), probs_out


class ENAS(OneShotMethod):
    """Shared weights trained on controller-sampled paths; the controller learns by REINFORCE.

    Hyperparameters: ``controller_lr`` (Adam, 0.005), ``controller_steps`` per epoch (20),
    ``entropy_weight`` (1e-3), ``baseline_decay`` (0.9), ``candidates`` sampled at the end (100),
    ``recal_batches`` (4), ``warmup_epochs`` (None: half of the epochs; uniform paths, no
    controller updates).

    Example:
        >>> from nasforge.spaces import get_space
        >>> ENAS(get_space("nb201")).name
        'enas'
    """

    name = "enas"
    track_running_stats = True
    def __init__(self, space: SearchSpace, config: OneShotConfig | None = None, *,
                 checkpoint_dir: str | os.PathLike[str] | None = None, progress: Progress | None = None,
                 controller_lr: float = 0.005, controller_steps: int = 20, entropy_weight: float = 1e-3,
                 baseline_decay: float = 0.9, candidates: int = 100, recal_batches: int = 4,
                 warmup_epochs: int | float | None = None) -> None:
        super().__init__(space, config, checkpoint_dir=checkpoint_dir, progress=progress)
        self.controller_lr = controller_lr
        self.controller_steps = controller_steps
        self.entropy_weight = entropy_weight
        self.baseline_decay = baseline_decay
        self.candidates = candidates
        self.recal_batches = recal_batches
        self.warmup_epochs = warmup_epochs

    def _setup(self, net: Any, epochs: int) -> None:
        self.w_opt = self._weight_optimizer(net)
        self.controller = Controller(self.space)
        self.c_opt = torch.optim.Adam(self.controller.parameters(), lr=float(self.hparams["controller_lr"]))
        self.baseline: float | None = None

    def _state(self) -> dict[str, Any]:
        return {"w_opt": self.w_opt.state_dict(), "controller": self.controller.state_dict(),
                "c_opt": self.c_opt.state_dict(), "baseline": self.baseline}

    def _load(self, state: dict[str, Any]) -> None:
        self.w_opt.load_state_dict(state["w_opt"])
        self.controller.load_state_dict(state["controller"])
        self.c_opt.load_state_dict(state["c_opt"])
        self.baseline = state["baseline"]

    def _snapshot(self) -> dict[str, Any]:
        # A controller sample with a fixed seed (and the policy entropy) stands in for architecture weights.
        with torch.no_grad():
            arch, _, ent = self.controller.sample(torch.Generator().manual_seed(0))
        return {"sample": self.space.to_string(arch), "policy_entropy": float(ent),
                "derived": self.space.to_string(self.current_arch()), "arch_weights": self.arch_weights()}

    def current_arch(self) -> Architecture:
        """The controller's most likely architecture (argmax at each decision)."""
        return self.controller.greedy()[0]

    def arch_weights(self) -> dict[str, dict[str, float]]:
        """The controller's choice probabilities along its most likely path (a policy summary)."""
        return self.controller.greedy()[1]

    def _train_epoch(self, epoch: int, epochs: int, train: Data, val: Data, gen: torch.Generator,
                     rng: np.random.Generator) -> dict[str, float]:
        net = self.net
        assert net is not None
        net.train()
        self._set_lr(self.w_opt, epoch, epochs)
        idx = _batches(len(train[0]), self.config.batch_size, gen, self._steps(train))
        warm = epoch < warmup_epochs(self.hparams["warmup_epochs"], epochs)
        w_loss = 0.0
        for i in idx:
            if warm:
                arch = self.space.sample(rng)
            else:
                with torch.no_grad():
                    arch, _, _ = self.controller.sample(gen)
            net.use_path(arch)
            w_loss += self._weight_step(self.w_opt, train[0][i], train[1][i])
        steps = 0 if warm else int(self.hparams["controller_steps"])
        v_idx = _batches(len(val[0]), self.config.batch_size, gen, steps)
        rewards = []
        decay = float(self.hparams["baseline_decay"])
        for vi in v_idx:
            arch, logp, ent = self.controller.sample(gen)
            net.use_path(arch)
            with torch.no_grad():  # batch statistics of this path, as in ENAS
                reward = float((net(val[0][vi]).argmax(1) == val[1][vi]).float().mean())
            self.baseline = reward if self.baseline is None else decay * self.baseline + (1 - decay) * reward
            loss = -(reward - self.baseline) * logp - float(self.hparams["entropy_weight"]) * ent
            self.c_opt.zero_grad(set_to_none=True)
            loss.backward()
            self.c_opt.step()
            rewards.append(reward)
        return {"train_loss": w_loss / len(idx), "reward": float(np.mean(rewards)) if rewards else float("nan")}

    def _result(self, train: Data, val: Data, rng: np.random.Generator) -> Architecture:
        from nasforge.oneshot.evaluator import search_supernet

        sampler = ControllerSampler(self.space, self.controller, seed=int(rng.integers(2**31)))
        best, scores = search_supernet(self, sampler, int(self.candidates), recal_batches=int(self.recal_batches))
        self.scores_ = {self.space.to_string(a): s for a, s in scores.items()}
        return best


class ControllerSampler(Strategy):
    """An ask/tell strategy that proposes samples of a trained ENAS controller (it learns nothing).

    ENAS's final phase: ``candidates`` controller samples, each told its supernet score by
    :class:`~nasforge.oneshot.evaluator.SupernetEvaluator`. The k-th ask draws from a generator
    seeded by ``(seed, k)``, so replaying a history reproduces it, as for every strategy.
    """

    name = "enas-controller"

    def __init__(self, space: SearchSpace, controller: Controller, *, seed: int = 0) -> None:
        super().__init__(space, seed=seed)
        self.controller = controller

    def _ask(self, n: int, rng: np.random.Generator) -> list[Any]:
        gen = torch.Generator().manual_seed(int(rng.integers(2**31)))
        with torch.no_grad():
            return [self.controller.sample(gen)[0] for _ in range(n)]
