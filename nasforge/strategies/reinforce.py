"""REINFORCE over the space's categorical decisions (Williams 1992), as the NAS-Bench-201 paper's
REINFORCE baseline (Dong & Yang 2020, following Zoph & Le 2017 without the RNN controller).

The policy is one independent softmax per active dimension. After each observation the logits
move along ``(reward - baseline) * grad log pi(arch)``, with an exponential moving-average
baseline. The update uses the told architecture, so tells of architectures the policy did not
propose (warm starts) are learned from too, off-policy. The policy is a function of the tells
alone, so ``restore`` is exact.
"""

from __future__ import annotations

import numpy as np

from nasforge.arch import Architecture
from nasforge.errors import InvalidConfigError
from nasforge.evaluators.base import Observation
from nasforge.spaces.base import SearchSpace
from nasforge.strategies.base import STRATEGIES, Asked, Strategy

__all__ = ["Reinforce"]


@STRATEGIES.register("reinforce", "REINFORCE policy gradient with a moving-average baseline (NB201 baseline)")
class Reinforce(Strategy):
    """REINFORCE with a factorized categorical policy.

    Args:
        lr: learning rate of the logits (plain gradient ascent; the reward is the objective in
            its own units, e.g. accuracy in percent).
        baseline_decay: EMA momentum of the reward baseline (NB201 paper: 0.9).
        entropy_weight: weight of an entropy bonus that slows premature collapse.
        avoid_repeats: resample (up to 20 times) when the policy proposes an architecture
            already evaluated; the NB201 paper's controller does not, set False to match it.

    Example:
        >>> from nasforge.spaces import get_space
        >>> s = Reinforce(get_space("nb201"), seed=0)
        >>> len(s.ask(3))
        3
    """

    name = "reinforce"

    def __init__(self, space: SearchSpace, *, seed: int = 0, lr: float = 0.02, baseline_decay: float = 0.9,
                 entropy_weight: float = 0.0, avoid_repeats: bool = True) -> None:
        super().__init__(space, seed=seed)
        if lr <= 0 or not 0.0 <= baseline_decay < 1.0 or entropy_weight < 0:
            raise InvalidConfigError(
                f"lr > 0, 0 <= baseline_decay < 1 and entropy_weight >= 0 must hold, but got "
                f"(lr={lr}, baseline_decay={baseline_decay}, entropy_weight={entropy_weight})")
        self.lr = float(lr)
        self.baseline_decay = float(baseline_decay)
        self.entropy_weight = float(entropy_weight)
        self.avoid_repeats = bool(avoid_repeats)
        self.options = {d.label: d.all_values() for d in space.dimensions}
        self.logits = {label: np.zeros(len(vals)) for label, vals in self.options.items()}
        self.baseline: float | None = None

    def probabilities(self) -> dict[str, np.ndarray]:
        """The current policy: a probability vector per dimension."""
        out = {}
        for label, z in self.logits.items():
            e = np.exp(z - z.max())
            out[label] = e / e.sum()
        return out

    def _sample(self, rng: np.random.Generator, probs: dict[str, np.ndarray]) -> Architecture:
        values: dict = {}
        for d in self.space.dimensions:
            if not self.space.is_active(d.label, values):  # conditional dimension, switched off
                continue
            p = probs[d.label]
            values[d.label] = self.options[d.label][int(rng.choice(len(p), p=p))]
        return Architecture(values)

    def _ask(self, n: int, rng: np.random.Generator) -> list[Asked]:
        probs = self.probabilities()
        out: list[Asked] = []
        for _ in range(n):
            arch = self._sample(rng, probs)
            for _ in range(20 if self.avoid_repeats else 0):
                if arch not in self.seen:
                    break
                arch = self._sample(rng, probs)
            self.seen.add(arch)
            out.append(arch)
        return out

    def _tell(self, arch: Architecture, obs: Observation) -> None:
        if not obs.ok:
            return
        reward = obs.value
        if self.baseline is None:
            self.baseline = reward
        advantage = reward - self.baseline
        probs = self.probabilities()
        for label, value in arch.items():
            if label not in self.logits:
                continue
            p = probs[label]
            grad = -p * advantage
            grad[self.options[label].index(value)] += advantage
            if self.entropy_weight:
                logp = np.log(p + 1e-12)
                grad += self.entropy_weight * (-p * (logp - (p * logp).sum()))
            self.logits[label] += self.lr * grad
        self.baseline = self.baseline_decay * self.baseline + (1 - self.baseline_decay) * reward
