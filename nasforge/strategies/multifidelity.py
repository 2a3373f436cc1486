"""Multi-fidelity search: successive halving, Hyperband and BOHB, in the asynchronous form.

Rungs are the fidelities (epochs) the strategy is told about, lowest first. A configuration
evaluated at rung ``r`` is *promoted* to rung ``r + 1`` once it ranks in the top
``floor(n_r / eta)`` of the ``n_r`` results of its bracket at rung ``r`` (ASHA, Li et al. 2020:
promotion does not wait for a full rung, so batch asks and parallel workers never stall).

- ``sh``: successive halving; every new configuration starts at the lowest rung.
- ``hyperband``: new configurations are dealt to brackets that start at rung ``s`` in
  Hyperband's proportions (Li et al. 2018), so some skip the cheap fidelities entirely.
- ``bohb``: Hyperband whose new configurations come from a TPE-style kernel density model of the
  highest rung with enough observations (Falkner, Klein & Hutter 2018); a fraction stay random.

Every query is charged by the evaluator at its own fidelity (for the NB201 benchmark a
200-epoch query costs 200/12 of a 12-epoch one). ``eta`` defaults to the ratio that spends the
same budget per rung: ``(f_max / f_min) ** (1 / (rungs - 1))``, 16.7 for NB201's 12 and 200 epochs.

Fidelities are a constructor hyperparameter because a strategy never sees the evaluator. The
default ``(12, 200)`` matches the NB201 CIFAR-10 benchmark; for real training pass epochs, e.g.
``fidelities=[1, 3, 9]``. Benchmarks without a 200-epoch column (NB201 CIFAR-100/ImageNet16)
answer 200-epoch queries with a failed, free trial, and the search then returns the best
12-epoch architecture.

State is a function of the tells (which rung a configuration was first seen at gives its
bracket), so ``restore`` is exact for sequential runs.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from nasforge.arch import Architecture
from nasforge.errors import InvalidConfigError
from nasforge.evaluators.base import Observation
from nasforge.spaces.base import SearchSpace
from nasforge.strategies._common import Dedup, parse_fidelities
from nasforge.strategies.base import STRATEGIES, Asked, Strategy, Suggestion

__all__ = ["BOHB", "CategoricalKDE", "Hyperband", "SuccessiveHalving"]


class CategoricalKDE:
    """TPE-style density ratio over categorical dimensions (Aitchison-Aitken kernel).

    ``good`` and ``bad`` are the top ``gamma`` fraction and the rest of the observations; a
    candidate's score is ``l(x) / g(x)``, each a mean over points of a product kernel that keeps
    a value with probability ``1 - bw`` and moves to each other option with ``bw / (k - 1)``.
    Candidates are drawn from ``l``: copy a random good point and resample each dimension with
    probability ``bw``.

    Example:
        >>> kde = CategoricalKDE([3, 3], bandwidth=0.2)
        >>> X = np.array([[0, 0], [0, 1], [2, 2], [1, 2]]); y = np.array([4.0, 3.0, 1.0, 0.0])
        >>> kde.propose(X, y, np.random.default_rng(0), n_candidates=16).shape[1]
        2
    """

    def __init__(self, sizes: Sequence[int], *, gamma: float = 0.15, bandwidth: float = 0.2,
                 min_bandwidth: float = 0.05) -> None:
        self.sizes = np.asarray(sizes)
        self.gamma = gamma
        self.bandwidth = bandwidth
        self.min_bandwidth = min_bandwidth

    def _density(self, cands: np.ndarray, points: np.ndarray, bw: float) -> np.ndarray:
        same = cands[:, None, :] == points[None, :, :]  # (c, p, d)
        other = bw / np.maximum(self.sizes - 1, 1)
        k = np.where(same, 1.0 - bw, other[None, None, :])
        return np.exp(np.log(k).sum(axis=2)).mean(axis=1)

    def propose(self, X: np.ndarray, y: np.ndarray, rng: np.random.Generator, n_candidates: int = 64) -> np.ndarray:
        """Rows of option indices drawn from ``l``, best ``l/g`` first (duplicates removed)."""
        n_good = max(1, math.ceil(self.gamma * len(y)))
        order = np.argsort(-y, kind="stable")
        good, bad = X[order[:n_good]], X[order[n_good:]]
        bw = max(self.min_bandwidth, self.bandwidth)
        base = good[rng.integers(len(good), size=n_candidates)]
        flip = rng.random(base.shape) < bw
        randoms = rng.integers(0, self.sizes, size=base.shape)
        cands = np.where(flip, randoms, base)
        lg = self._density(cands, good, bw)
        gg = self._density(cands, bad, bw) if len(bad) else np.ones(len(cands))
        ratio = lg / np.maximum(gg, 1e-300)
        cands, first = np.unique(cands, axis=0, return_index=True)
        return cands[np.argsort(-ratio[first], kind="stable")]


class _AsyncHyperband(Strategy):
    """Asynchronous successive halving over brackets (shared by sh, hyperband and bohb)."""

    use_brackets = True

    def __init__(self, space: SearchSpace, *, seed: int = 0, fidelities: Sequence[float] = (12, 200),
                 eta: float | None = None) -> None:
        super().__init__(space, seed=seed)
        fids = parse_fidelities(fidelities)
        if len(fids) < 1:
            raise InvalidConfigError(f"fidelities needs at least one value, but got {fidelities!r}")
        self.fidelities = list(fids)
        if eta is None:
            eta = (fids[-1] / fids[0]) ** (1.0 / (len(fids) - 1)) if len(fids) > 1 else 3.0
        if eta <= 1.0:
            raise InvalidConfigError(f"eta > 1 must hold, but got eta={eta}")
        self.eta = float(eta)
        self.dedup = Dedup(space)
        k = len(fids)
        # Hyperband's deal of new configurations: bracket s starts at rung s (s=0: all rungs)
        self.schedule: list[int] = []
        brackets = range(k) if self.use_brackets else range(1)
        for s in brackets:
            n_promotions = k - 1 - s
            n = math.ceil(k / (n_promotions + 1) * self.eta ** n_promotions)
            self.schedule += [s] * n
        self.first_rung: dict[Architecture, int] = {}
        self.results: dict[tuple[int, int], list[tuple[Architecture, float]]] = defaultdict(list)
        self.asked_at: set[tuple[Architecture, int]] = set()

    def _rung(self, fidelity: float | None) -> int | None:
        if fidelity is None:
            return 0
        for i, f in enumerate(self.fidelities):
            if abs(f - fidelity) < 1e-9:
                return i
        return None

    def _suggest(self, arch: Architecture, rung: int) -> Suggestion:
        self.asked_at.add((arch, rung))
        self.seen.add(arch)
        self.dedup.add(arch)
        if rung == 0 and arch not in self.first_rung:
            self.first_rung[arch] = 0
        self.first_rung.setdefault(arch, rung)
        return Suggestion(arch, self.fidelities[rung])

    def _promotion(self) -> tuple[Architecture, int] | None:
        for rung in range(len(self.fidelities) - 2, -1, -1):  # highest rung first: finish good ones
            for bracket in range(rung + 1):
                res = self.results.get((bracket, rung), [])
                k = int(len(res) // self.eta)
                if k < 1:
                    continue
                top = sorted(range(len(res)), key=lambda i: (-res[i][1], i))[:k]
                for i in top:
                    arch = res[i][0]
                    if (arch, rung + 1) not in self.asked_at:
                        return arch, rung + 1
        return None

    def _new_config(self, rng: np.random.Generator, bracket: int) -> Architecture:
        for _ in range(200):
            a = self.space.sample(rng)
            if a not in self.seen and not self.dedup.useless(a):
                return a
        return self.sample_unseen(rng)

    def _ask(self, n: int, rng: np.random.Generator) -> list[Asked]:
        out: list[Asked] = []
        for _ in range(n):
            promo = self._promotion()
            if promo is not None:
                out.append(self._suggest(*promo))
                continue
            bracket = self.schedule[len(self.first_rung) % len(self.schedule)]
            arch = self._new_config(rng, bracket)
            self.first_rung[arch] = bracket
            out.append(self._suggest(arch, bracket))
        return out

    def _tell(self, arch: Architecture, obs: Observation) -> None:
        self.dedup.add(arch)
        rung = self._rung(obs.fidelity)
        if rung is None:
            return  # a foreign tell at a fidelity that is not one of the rungs
        self.asked_at.add((arch, rung))
        bracket = self.first_rung.setdefault(arch, rung)
        if obs.ok:
            self.results[(min(bracket, rung), rung)].append((arch, obs.value))


@STRATEGIES.register("sh", "asynchronous successive halving over fidelities (default 12 -> 200 epochs)")
class SuccessiveHalving(_AsyncHyperband):
    """Asynchronous successive halving (ASHA without brackets).

    Args:
        fidelities: rungs in epochs, lowest first (default ``(12, 200)``: the NB201 benchmark).
        eta: keep the top ``1/eta`` of a rung; default spends equal budget per rung.

    Example:
        >>> from nasforge.spaces import get_space
        >>> s = SuccessiveHalving(get_space("nb201"), seed=0)
        >>> s.ask(1)[0].fidelity
        12
    """

    name = "sh"
    use_brackets = False


@STRATEGIES.register("hyperband", "asynchronous Hyperband over fidelities (default 12 -> 200 epochs)")
class Hyperband(_AsyncHyperband):
    """Asynchronous Hyperband: brackets that start at every rung, in Hyperband's proportions.

    Args:
        fidelities: rungs in epochs, lowest first (default ``(12, 200)``).
        eta: keep the top ``1/eta`` of a rung; default spends equal budget per rung.

    Example:
        >>> from nasforge.spaces import get_space
        >>> len(Hyperband(get_space("nb201"), seed=0).schedule)
        19
    """

    name = "hyperband"


@STRATEGIES.register("bohb", "BOHB: Hyperband + TPE-style KDE model for new configurations, Falkner et al. 2018")
class BOHB(_AsyncHyperband):
    """BOHB: Hyperband whose new configurations come from a kernel density model.

    Args:
        fidelities: rungs in epochs, lowest first (default ``(12, 200)``).
        eta: keep the top ``1/eta`` of a rung. Default 60, chosen on NB201 CIFAR-10 validation
            (see BENCHMARKS.md): at 12,000 simulated seconds the textbook equal-budget value (16.7)
            spends most of the budget on 200-epoch queries of mediocre configurations. None gives
            the equal-budget value.
        min_points: observations a rung needs before its model is used (BOHB: dimensions + 1;
            None means that).
        random_fraction: share of new configurations drawn at random (BOHB paper: 1/3; default
            0.15, chosen on NB201 CIFAR-10 validation).
        gamma: share of a rung's observations in the "good" density.
        bandwidth: kernel bandwidth (probability to move away from a good point's value).
        n_candidates: samples from the good density scored per new configuration.

    Example:
        >>> from nasforge.spaces import get_space
        >>> len(BOHB(get_space("nb201"), seed=0).ask(2))
        2
    """

    name = "bohb"

    def __init__(self, space: SearchSpace, *, seed: int = 0, fidelities: Sequence[float] = (12, 200),
                 eta: float | None = 60.0, min_points: int | None = None, random_fraction: float = 0.15,
                 gamma: float = 0.15, bandwidth: float = 0.2, n_candidates: int = 64) -> None:
        super().__init__(space, seed=seed, fidelities=fidelities, eta=eta)
        if not 0.0 <= random_fraction <= 1.0 or not 0.0 < gamma < 1.0 or not 0.0 < bandwidth < 1.0:
            raise InvalidConfigError(
                f"0 <= random_fraction <= 1, 0 < gamma < 1 and 0 < bandwidth < 1 must hold, but got "
                f"(random_fraction={random_fraction}, gamma={gamma}, bandwidth={bandwidth})")
        self.min_points = int(min_points) if min_points is not None else len(space.dimensions) + 1
        self.random_fraction = float(random_fraction)
        self.gamma, self.bandwidth, self.n_candidates = float(gamma), float(bandwidth), int(n_candidates)
        self._values = [d.all_values() for d in space.dimensions]
        self._kde = CategoricalKDE([len(v) for v in self._values], gamma=self.gamma, bandwidth=self.bandwidth)

    def _model_data(self) -> tuple[np.ndarray, np.ndarray] | None:
        for rung in range(len(self.fidelities) - 1, -1, -1):  # the highest rung with enough points
            pts = [p for b in range(rung + 1) for p in self.results.get((b, rung), [])]
            if len(pts) >= self.min_points:
                X = np.array([[vals.index(a.get(d.label, vals[0])) for d, vals in zip(self.space.dimensions,
                                                                                       self._values)]
                              for a, _ in pts])
                return X, np.array([v for _, v in pts])
        return None

    def _new_config(self, rng: np.random.Generator, bracket: int) -> Architecture:
        data = self._model_data()
        if data is None or rng.random() < self.random_fraction:
            return super()._new_config(rng, bracket)
        X, y = data
        for row in self._kde.propose(X, y, rng, self.n_candidates):
            values = {d.label: vals[int(i)] for d, vals, i in zip(self.space.dimensions, self._values, row)}
            arch = Architecture(values)
            if self.space.conditional:  # drop inactive / fill newly active dimensions
                arch = self.space.complete(dict(arch), rng)
            if arch not in self.seen and not self.dedup.useless(arch):
                return arch
        return super()._new_config(rng, bracket)
