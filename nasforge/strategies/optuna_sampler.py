"""Optuna samplers as nasforge strategies, through Optuna's ask/tell interface.

Every dimension of the space becomes a ``CategoricalDistribution`` over the *indices* of its
options (so tuple-valued input choices work too). Each nasforge ask creates one Optuna trial with
``study.ask(fixed_distributions)``, reads its parameters and closes it as FAIL at once: Optuna's
samplers ignore failed trials, so the study's *completed* trials are exactly the nasforge tells,
added with ``study.add_trial``. The sampler is rebuilt at every ask with a seed drawn from the
ask's random generator, so a sampler whose decisions depend only on the completed trials (TPE,
random, GP) gives the same next asks after ``restore``.

Conditional spaces (dimensions with ``requires``) work: every dimension is sampled, the inactive
ones are dropped from the architecture, and a tell records only the active ones (TPE treats a
missing parameter as unobserved).
"""

from __future__ import annotations

import functools
import logging
import math
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from nasforge.arch import Architecture, Value
from nasforge.errors import InvalidConfigError, UnknownNameError
from nasforge.evaluators.base import Observation
from nasforge.registry import unknown_name_message
from nasforge.spaces.base import SearchSpace
from nasforge.strategies._common import Dedup
from nasforge.strategies.base import STRATEGIES, Asked, Strategy, Suggestion

__all__ = ["OPTUNA_SAMPLERS", "TPE", "OptunaStrategy"]

#: sampler name -> (factory name in optuna.samplers, default keyword arguments)
OPTUNA_SAMPLERS: dict[str, tuple[str, dict[str, Any]]] = {
    "tpe": ("TPESampler", {"n_startup_trials": 10, "multivariate": True, "constant_liar": False}),
    "random": ("RandomSampler", {}),
    "gp": ("GPSampler", {"n_startup_trials": 10}),
}


def _top_fraction(fraction: float, n: int) -> int:
    """Optuna's default TPE split rule with a configurable fraction: ``min(ceil(fraction * n), 25)``."""
    return min(math.ceil(fraction * n), 25)


class OptunaStrategy(Strategy):
    """Drive a nasforge search with any registered Optuna sampler (in-memory storage).

    Args:
        sampler: ``tpe``, ``random`` or ``gp`` (see :data:`OPTUNA_SAMPLERS`).
        sampler_params: keyword arguments for the sampler (override the defaults above).
        max_retries: re-sample this many times when the sampler proposes an architecture that is
            already evaluated (or equivalent/disconnected on NB201), before falling back to a
            random unseen one.
        fidelity: the fidelity (epochs) to ask for; None lets the evaluator use its default.
        local_fraction: share of asks (after the sampler's random start-up) spent on an unseen
            one-step neighbour of the best architecture so far, in random order (first-improvement
            local search). The sampler finds the good region; the neighbour scan climbs to the
            local optimum inside it, which density models reach slowly. 0 is the plain sampler.

    Example:
        >>> from nasforge.spaces import get_space
        >>> s = OptunaStrategy(get_space("nb201"), seed=0, sampler="random")
        >>> len(s.ask(2))
        2
    """

    name = "optuna"

    def __init__(self, space: SearchSpace, *, seed: int = 0, sampler: str = "tpe",
                 sampler_params: Mapping[str, Any] | None = None, max_retries: int = 10,
                 fidelity: float | None = None, local_fraction: float = 0.0) -> None:
        super().__init__(space, seed=seed)
        if not 0.0 <= local_fraction <= 1.0:
            raise InvalidConfigError(f"0 <= local_fraction <= 1 must hold, but got local_fraction={local_fraction}")
        self.local_fraction = float(local_fraction)
        self.best: tuple[Architecture, float] | None = None
        if sampler not in OPTUNA_SAMPLERS:
            raise UnknownNameError(unknown_name_message("optuna sampler", sampler, list(OPTUNA_SAMPLERS)))
        if max_retries < 0:
            raise InvalidConfigError(f"max_retries >= 0 must hold, but got max_retries={max_retries}")
        import optuna

        self.sampler = sampler
        self.sampler_params = dict(sampler_params or {})
        self.max_retries = int(max_retries)
        self.fidelity = fidelity
        factory_name, defaults = OPTUNA_SAMPLERS[sampler]
        self._factory = getattr(optuna.samplers, factory_name)
        self._kwargs = {**defaults, **self.sampler_params}
        try:
            self._make_sampler(0)
        except TypeError as exc:
            raise InvalidConfigError(f"bad sampler_params for optuna sampler '{sampler}': {exc}") from None
        self._values = {d.label: d.all_values() for d in space.dimensions}
        self._dists: dict[str, optuna.distributions.BaseDistribution] = {
            label: optuna.distributions.CategoricalDistribution(tuple(range(len(v))))
            for label, v in self._values.items()}
        optuna_log = logging.getLogger("optuna")
        level = optuna_log.level
        optuna_log.setLevel(logging.WARNING)  # no "study created" line per strategy
        try:
            self.study = optuna.create_study(direction="maximize", sampler=self._make_sampler(0))
        finally:
            optuna_log.setLevel(level)
        self.dedup = Dedup(space)

    def _make_sampler(self, seed: int) -> Any:
        with warnings.catch_warnings():  # multivariate TPE and GP are marked experimental
            warnings.simplefilter("ignore")
            return self._factory(seed=seed, **self._kwargs)

    def _arch_from_params(self, params: Mapping[str, int]) -> Architecture:
        values: dict[str, Value] = {}
        for d in self.space.dimensions:
            if not self.space.is_active(d.label, values):
                continue  # inactive here: sampled, but not part of this architecture
            values[d.label] = self._values[d.label][int(params[d.label])]
        return Architecture(values)

    def _sample_once(self, rng: np.random.Generator) -> Architecture:
        import optuna

        self.study.sampler = self._make_sampler(int(rng.integers(2**31 - 1)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            trial = self.study.ask(fixed_distributions=self._dists)
        arch = self._arch_from_params(trial.params)
        # closed at once: samplers ignore failed trials, so only tells shape the model
        self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
        return arch

    def _local_move(self, rng: np.random.Generator) -> Architecture | None:
        if self.best is None:
            return None
        open_ = [a for a in self.space.neighbors(self.best[0]) if a not in self.seen and not self.dedup.useless(a)]
        return open_[int(rng.integers(len(open_)))] if open_ else None

    def _ask(self, n: int, rng: np.random.Generator) -> list[Asked]:
        out: list[Asked] = []
        startup = int(self._kwargs.get("n_startup_trials", 0))
        for k in range(n):
            local = self.local_fraction > 0 and self.n_asked + k >= startup and rng.random() < self.local_fraction
            arch = self._local_move(rng) if local else None
            if arch is not None:
                self.seen.add(arch)
                self.dedup.add(arch)
                out.append(Suggestion(arch, self.fidelity) if self.fidelity is not None else arch)
                continue
            arch = self._sample_once(rng)
            for _ in range(self.max_retries):
                if arch not in self.seen and not self.dedup.useless(arch):
                    break
                arch = self._sample_once(rng)
            else:
                if arch in self.seen:
                    arch = self.sample_unseen(rng)
            self.seen.add(arch)
            self.dedup.add(arch)
            out.append(Suggestion(arch, self.fidelity) if self.fidelity is not None else arch)
        return out

    def _tell(self, arch: Architecture, obs: Observation) -> None:
        import optuna

        self.dedup.add(arch)
        if not obs.ok:
            return
        if self.best is None or obs.value > self.best[1]:
            self.best = (arch, obs.value)
        params = {label: self._values[label].index(v) for label, v in arch.items() if label in self._values}
        self.study.add_trial(optuna.trial.create_trial(
            params=params, distributions={k: self._dists[k] for k in params}, value=obs.value))


@STRATEGIES.register("tpe", "Optuna's TPE sampler (multivariate) through ask/tell, in-memory storage")
class TPE(OptunaStrategy):
    """Optuna's Tree-structured Parzen Estimator (Bergstra et al. 2011; multivariate, Falkner et al. 2018).

    Args:
        n_startup_trials: random trials before the density model is used.
        multivariate: model the dimensions jointly (better for interacting edges of a cell).
        gamma: share of the observations (at most 25) that form the "good" density; Optuna's
            default is 0.1.
        prior_weight: weight of the uniform prior in each density (Optuna's default 1.0).
        max_retries: see :class:`OptunaStrategy`.
        fidelity: see :class:`OptunaStrategy`.
        local_fraction: see :class:`OptunaStrategy`.

    Example:
        >>> from nasforge.spaces import get_space
        >>> len(TPE(get_space("nb201"), seed=0).ask(1))
        1
    """

    name = "tpe"

    def __init__(self, space: SearchSpace, *, seed: int = 0, n_startup_trials: int = 10, multivariate: bool = True,
                 gamma: float = 0.1, prior_weight: float = 1.0, max_retries: int = 10, fidelity: float | None = None,
                 local_fraction: float = 0.0) -> None:
        if not 0.0 < gamma < 1.0 or prior_weight <= 0:
            raise InvalidConfigError(f"0 < gamma < 1 and prior_weight > 0 must hold, but got "
                                     f"(gamma={gamma}, prior_weight={prior_weight})")
        self.n_startup_trials = int(n_startup_trials)
        self.multivariate = bool(multivariate)
        self.gamma = float(gamma)
        self.prior_weight = float(prior_weight)
        super().__init__(space, seed=seed, sampler="tpe", max_retries=max_retries, fidelity=fidelity,
                         local_fraction=local_fraction,
                         sampler_params={"n_startup_trials": self.n_startup_trials, "multivariate": self.multivariate,
                                         "constant_liar": False, "prior_weight": self.prior_weight,
                                         "gamma": functools.partial(_top_fraction, self.gamma)})


STRATEGIES.register("optuna", "any Optuna sampler (tpe, random, gp) through ask/tell")(OptunaStrategy)
