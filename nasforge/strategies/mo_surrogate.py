"""Surrogate-assisted multi-objective search: one predictor per objective, expected hypervolume improvement.

``mo_surrogate`` is model-based Pareto search in the spirit of SMS-EGO (Ponweiser et al., PPSN 2008)
and of BANANAS-style candidate generation (White et al., AAAI 2021): after a random start, every
ask fits one Gaussian process per objective (fixed Matern kernel on the space's one-hot encoding,
the model of scikit-learn's ``GaussianProcessRegressor``; the objectives share one Cholesky
factor) on the *observed* results only, scores a pool of
candidates - by default every unseen one-step neighbour of the current front, which makes it a
model-ordered Pareto local search (optionally also two-step mutations of front members and
uniform random samples) - and proposes the candidate with the largest expected hypervolume
improvement (EHVI, Emmerich et al. 2006) over the observed front. The expectation is a Monte
Carlo average over ``samples`` draws of each candidate's objective vector from the GPs' predictive
distributions, their standard deviations scaled by ``std_scale``; ``acquisition="mean"`` scores the
predicted mean alone (the improvement SMS-EGO ranks by). When no candidate is expected to add
any, it proposes the one whose mean needs the smallest additive shift to become non-dominated.

Why it suits accuracy-vs-cost searches: a cost objective such as latency is nearly additive in
the per-edge operations, so its model ranks cells well after a few dozen observations (Kendall
tau about 0.8 on NB201's Pixel 3 latency), and the acquisition can aim at the parts of the front
(the cheap corner) where a random or evolutionary search wastes queries. The accuracy model is the
weak part (tau about 0.56 after 300 cells). Everything the strategy knows comes from its own tells
(never a table).

The objectives are min-max normalized over the observations before modelling. The hypervolume's
reference point is, per objective, the ``ref_quantile`` quantile of the observed values minus
``ref_margin`` (normalized units): a low quantile rather than the worst value keeps degenerate
architectures (a cell with no path from input to output has zero latency and chance accuracy)
from stretching the reference and pulling the search towards useless corners. That quantile
also cuts off the slow, most accurate end of the front, so the default ``reference="two-point"``
adds the improvement over a second reference point, equal to the first except that every
objective after the first (the costs, by convention: ``accuracy:max,latency:min``) sits at its
worst observed value.

Constraints: an infeasible or failed trial is told with ``ok=False``; the strategy then also
fits a model of the success indicator and multiplies each candidate's improvement by its
predicted chance of being feasible (as in constrained expected improvement).

The state is only the list of tells (and asked architectures), and each ask refits from scratch
with the ask's own random generator, so :meth:`restore` reproduces the next asks exactly.
"""

from __future__ import annotations

import numpy as np

from nasforge.arch import Architecture
from nasforge.errors import InvalidConfigError, UnknownNameError
from nasforge.evaluators.base import Observation
from nasforge.pareto import hypervolume_improvement, pareto_mask
from nasforge.registry import unknown_name_message
from nasforge.spaces.base import SearchSpace
from nasforge.strategies._common import gp_posterior, normalized_archive, single_thread_blas
from nasforge.strategies.base import STRATEGIES, Asked, Strategy

__all__ = ["ACQUISITIONS", "REFERENCES", "MOSurrogate"]

REFERENCES = ("two-point", "quantile")
ACQUISITIONS = ("ehvi", "mean")
_TINY = 1e-12  # improvements below this (normalized units squared) are rounding error, not gains


@STRATEGIES.register("mo_surrogate",
                     "multi-objective BO: a GP per objective, proposes the max expected hypervolume improvement")
class MOSurrogate(Strategy):
    """Surrogate-assisted Pareto search (per-objective GPs + expected hypervolume improvement).

    Args:
        n_init: uniformly random architectures before the models are used (their diversity is
            what keeps the front's local search out of a single basin).
        acquisition: ``"ehvi"`` (the hypervolume improvement averaged over draws from the predictive
            distributions) or ``"mean"`` (the improvement of the predicted mean alone).
        samples: Monte Carlo draws per candidate for ``"ehvi"``.
        std_scale: the predictive standard deviations are multiplied by this for the draws (1: the GP's
            own; 0 makes ``"ehvi"`` the same as ``"mean"``).
        beta: optimism: the centre of each prediction is mean + ``beta`` x std (0 was best on NB201
            validation).
        n_random: uniformly random candidates per ask (default 0: front neighbours only).
        n_mutations: two-step mutations of front members per ask (on top of every unseen
            one-step neighbour of the front; default 0).
        reference: ``"two-point"`` (sum of the improvements over the quantile reference and over
            one with the cost objectives at their worst observed values) or ``"quantile"`` (the
            quantile reference alone, the behaviour before).
        ref_quantile: per objective, the quantile of the observed (normalized) values used as the
            hypervolume reference point; 0 means the worst value on the observed front.
        ref_margin: subtracted from the reference point, in normalized units (0-1 per objective).
        length_scale: the GP's Matern length scale on the encoding.
        noise: the GP's white-noise level (targets are standardized).
        encoding: the space encoding the GPs work on (``onehot`` exists for every space).

    Defaults were chosen on NB201 CIFAR-10 *validation* (``c10_valid_acc_200`` with its reference
    at the same share of cells as the test column's, seeds 100-139; the acquisition on seeds
    100-179, where ``"ehvi"`` with ``std_scale`` 0.25 beat ``"mean"`` on 57 of 80 seeds, 0.5 and
    0.75 scoring alike); see BENCHMARKS.md, issue 5.

    Example:
        >>> from nasforge.spaces import get_space
        >>> s = MOSurrogate(get_space("nb201"), seed=0, n_init=4)
        >>> len(s.ask(2))
        2
    """

    name = "mo_surrogate"
    multi_objective = True

    def __init__(self, space: SearchSpace, *, seed: int = 0, n_init: int = 40, acquisition: str = "ehvi",
                 samples: int = 32, std_scale: float = 0.25, beta: float = 0.0, n_random: int = 0,
                 n_mutations: int = 0, reference: str = "two-point", ref_quantile: float = 0.25,
                 ref_margin: float = 0.0, length_scale: float = 2.0, noise: float = 0.05,
                 encoding: str = "onehot") -> None:
        super().__init__(space, seed=seed)
        if n_init < 2 or n_random < 0 or n_mutations < 0:
            raise InvalidConfigError(f"n_init >= 2, n_random >= 0 and n_mutations >= 0 must hold, but got "
                                     f"(n_init={n_init}, n_random={n_random}, n_mutations={n_mutations})")
        if beta < 0 or std_scale < 0 or samples < 1:
            raise InvalidConfigError(f"beta >= 0, std_scale >= 0 and samples >= 1 must hold, but got "
                                     f"(beta={beta}, std_scale={std_scale}, samples={samples})")
        if acquisition not in ACQUISITIONS:
            raise UnknownNameError(unknown_name_message("acquisition", acquisition, ACQUISITIONS))
        if not 0.0 <= ref_quantile <= 1.0:
            raise InvalidConfigError(f"0 <= ref_quantile <= 1 must hold, but got ref_quantile={ref_quantile}")
        if length_scale <= 0 or noise <= 0:
            raise InvalidConfigError(f"length_scale > 0 and noise > 0 must hold, but got "
                                     f"(length_scale={length_scale}, noise={noise})")
        if reference not in REFERENCES:
            raise UnknownNameError(unknown_name_message("reference", reference, REFERENCES))
        if encoding not in space.encoding_names():
            raise UnknownNameError(unknown_name_message("encoding", encoding, space.encoding_names()))
        self.n_init, self.beta = int(n_init), float(beta)
        self.acquisition, self.samples, self.std_scale = acquisition, int(samples), float(std_scale)
        self.n_random, self.n_mutations = int(n_random), int(n_mutations)
        self.reference, self.ref_quantile, self.ref_margin = reference, float(ref_quantile), float(ref_margin)
        self.length_scale, self.noise, self.encoding = float(length_scale), float(noise), encoding
        self.archive: dict[Architecture, tuple[float, ...]] = {}  # ok observations, latest per architecture
        self.feasible: dict[Architecture, bool] = {}  # every told architecture: ok or not
        self._enc_cache: dict[Architecture, np.ndarray] = {}

    # ------------------------------------------------------------------ state
    def _tell(self, arch: Architecture, obs: Observation) -> None:
        ok = bool(obs.ok and obs.values)
        self.feasible[arch] = ok
        if ok:
            self.archive[arch] = tuple(obs.values)
        else:
            self.archive.pop(arch, None)

    # ------------------------------------------------------------------ model
    def _enc(self, arch: Architecture) -> np.ndarray:
        v = self._enc_cache.get(arch)
        if v is None:
            v = self._enc_cache[arch] = np.asarray(self.space.encode(arch, self.encoding), dtype=np.float64)
        return v

    def _posterior(self, X: np.ndarray, Y: np.ndarray, Xc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The objectives' GP posterior means and stds at ``Xc`` (one fit shared by the columns of ``Y``)."""
        return gp_posterior(X, Y, Xc, length_scale=self.length_scale, noise=self.noise)

    def _candidates(self, front: list[Architecture], rng: np.random.Generator) -> list[Architecture]:
        cands: dict[Architecture, None] = {}  # ordered and unique
        for parent in front:
            for a in self.space.neighbors(parent):
                if a not in self.seen:
                    cands[a] = None
        for _ in range(self.n_mutations):
            parent = front[int(rng.integers(len(front)))]
            a = self.space.mutate(self.space.mutate(parent, rng), rng)
            if a not in self.seen:
                cands[a] = None
        for _ in range(self.n_random):
            a = self.space.sample(rng)
            if a not in self.seen:
                cands[a] = None
        return list(cands)

    # ------------------------------------------------------------------ proposals
    def _ask(self, n: int, rng: np.random.Generator) -> list[Asked]:
        if self.n_asked < self.n_init or len(self.archive) < 2:
            return self.random_unseen(n, rng)
        archs, norm = normalized_archive(self.archive)
        on_front = pareto_mask(norm)
        front_archs = [archs[i] for i in np.flatnonzero(on_front)]
        cands = self._candidates(front_archs, rng)
        if not cands:
            return self.random_unseen(n, rng)
        X = np.stack([self._enc(a) for a in archs])
        Xc = np.stack([self._enc(a) for a in cands])
        with single_thread_blas():
            mean, std = self._posterior(X, norm, Xc)
            p_ok = self._feasibility(Xc)
        mean += self.beta * std
        if self.acquisition == "ehvi":  # Monte Carlo draws of every candidate's objective vector
            draws = mean + self.std_scale * std * rng.standard_normal((self.samples, *mean.shape))
        else:
            draws = mean[None]
        refs = self.references(norm, on_front)
        front = norm[on_front]
        # the improvement is monotone in the point, so a candidate whose best draw (per objective) adds
        # nothing has no gain in any draw: only the others are scored (the result is the same)
        top = draws.max(axis=0)
        live = np.flatnonzero(sum(hypervolume_improvement(front, top, r) for r in refs) > _TINY)
        out: list[Asked] = []
        alive = np.ones(len(cands), dtype=bool)
        for _ in range(min(n, len(cands))):
            gain = np.zeros(len(cands))
            if len(live):
                gain[live] = np.mean([sum(hypervolume_improvement(front, d[live], r) for r in refs) for d in draws],
                                     axis=0) * p_ok[live]
            # no expected gain anywhere: the smallest additive shift that makes a candidate non-dominated
            shift = (front[None, :, :] - mean[:, None, :]).min(axis=2).max(axis=1)
            key = np.where(gain > _TINY, gain, -np.maximum(shift, 0.0) - (1.0 - p_ok) - 1e-12)
            key[~alive] = -np.inf
            best = int(np.argmax(key))
            alive[best] = False
            out.append(cands[best])
            self.seen.add(cands[best])
            # a batch: believe the prediction of the pick, so the next pick aims elsewhere
            front = np.vstack([front, mean[best]])
            front = front[pareto_mask(front)]
        if len(out) < n:
            out += self.random_unseen(n - len(out), rng)
        return out

    def references(self, norm: np.ndarray, on_front: np.ndarray) -> list[np.ndarray]:
        """The hypervolume reference points for normalized observations ``norm`` (larger is better)."""
        if self.ref_quantile > 0:
            ref = np.quantile(norm, self.ref_quantile, axis=0) - self.ref_margin
        else:
            ref = norm[on_front].min(axis=0) - self.ref_margin
        if self.reference == "quantile":
            return [ref]
        # every cost objective (after the first) at its worst observed value, so that the expensive, most
        # accurate end of the front still gains when the quantile cuts it off
        far = ref.copy()
        far[1:] = norm[:, 1:].min(axis=0) - self.ref_margin
        return [ref, far]

    def _feasibility(self, Xc: np.ndarray) -> np.ndarray:
        """Predicted chance that each candidate succeeds (1 everywhere until something failed)."""
        told = list(self.feasible)
        labels = np.array([self.feasible[a] for a in told], dtype=np.float64)
        if labels.all() or not labels.any():
            return np.ones(len(Xc))
        mean, _ = gp_posterior(np.stack([self._enc(a) for a in told]), labels, Xc, length_scale=self.length_scale,
                               noise=self.noise)
        return np.clip(mean[:, 0], 0.0, 1.0)
