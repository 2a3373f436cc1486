"""BANANAS: Bayesian optimization with neural architectures for NAS (White, Neiswanger & Savani,
AAAI 2021).

Each ask fits an ensemble of small MLPs on the path encoding of every evaluated architecture,
builds candidates by mutating the best ones found so far (all one-edge neighbours of the top
``n_parents`` plus random two-edge mutations and a few random samples), drops candidates that are
already evaluated, equivalent to an evaluated one (same path encoding) or disconnected, and
picks the candidates with the best independent-Thompson-sampling score: one draw per candidate
from a normal with the ensemble's mean and spread. ``ask(n)`` takes the ``n`` best scores.

The model is refitted from scratch, with the ask's own random generator, at every ask: the
strategy's state is just the list of observations, so ``restore`` is exact.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from nasforge.arch import Architecture
from nasforge.errors import InvalidConfigError, UnknownNameError
from nasforge.evaluators.base import Observation
from nasforge.predictors import MLPEnsemble
from nasforge.registry import unknown_name_message
from nasforge.spaces.base import SearchSpace
from nasforge.strategies._common import Dedup, encoding_for, single_thread_blas
from nasforge.strategies.base import STRATEGIES, Asked, Strategy

__all__ = ["Bananas"]

ACQUISITIONS = ("its", "ucb", "mean")


@STRATEGIES.register("bananas", "BANANAS: path-encoding MLP ensemble + Thompson sampling, White et al. 2021")
class Bananas(Strategy):
    """BANANAS-style Bayesian optimization with a neural predictor ensemble.

    Args:
        n_init: random (connected, distinct) architectures before the model is used.
        n_members: MLPs in the ensemble (at least 5 as in the paper's ablation).
        hidden: width of each MLP hidden layer.
        layers: hidden layers per MLP.
        epochs: full-batch Adam steps per fit.
        lr: Adam learning rate.
        n_parents: best architectures whose neighbourhoods are candidates.
        n_mutations: extra random two-step mutations of the parents.
        n_random: extra uniformly random candidates.
        acquisition: ``its`` (independent Thompson sampling), ``ucb`` (mean + ``kappa`` std) or
            ``mean`` (pure exploitation).
        kappa: UCB exploration weight.
        encoding: ``path``/``onehot``/``adjacency``; default: ``path`` where the space has it.
        fidelity: the fidelity (epochs) to ask for; None lets the evaluator use its default.

    Defaults were chosen on NB201 CIFAR-10 *validation* (``c10_valid_acc_200`` of the returned
    architecture, 12-epoch signal, 12,000 simulated seconds); see BENCHMARKS.md.

    Example:
        >>> from nasforge.spaces import get_space
        >>> s = Bananas(get_space("nb201"), seed=0, n_init=4)
        >>> len(s.ask(2))
        2
    """

    name = "bananas"

    def __init__(self, space: SearchSpace, *, seed: int = 0, n_init: int = 20, n_members: int = 5, hidden: int = 32,
                 layers: int = 2, epochs: int = 100, lr: float = 0.01, n_parents: int = 10, n_mutations: int = 50,
                 n_random: int = 20, acquisition: str = "its", kappa: float = 1.0, encoding: str | None = None,
                 fidelity: float | None = None) -> None:
        super().__init__(space, seed=seed)
        if acquisition not in ACQUISITIONS:
            raise UnknownNameError(unknown_name_message("acquisition", acquisition, list(ACQUISITIONS)))
        if n_init < 2 or n_parents < 1 or n_mutations < 0 or n_random < 0:
            raise InvalidConfigError(
                f"n_init >= 2, n_parents >= 1, n_mutations >= 0 and n_random >= 0 must hold, but got "
                f"(n_init={n_init}, n_parents={n_parents}, n_mutations={n_mutations}, n_random={n_random})")
        self.n_init = int(n_init)
        self.n_members, self.hidden, self.layers, self.epochs, self.lr = n_members, hidden, layers, epochs, lr
        MLPEnsemble(n_members, hidden, layers, epochs, lr)  # validates the predictor settings now
        self.n_parents, self.n_mutations, self.n_random = int(n_parents), int(n_mutations), int(n_random)
        self.acquisition, self.kappa = acquisition, float(kappa)
        self.encoding = encoding or encoding_for(space)
        if self.encoding not in space.encoding_names():
            raise UnknownNameError(unknown_name_message("encoding", self.encoding, space.encoding_names()))
        self.fidelity = fidelity
        self.dedup = Dedup(space)
        # observations grouped by fidelity: 12- and 200-epoch accuracies are not on one scale
        self.data: dict[float | None, list[tuple[Architecture, float]]] = defaultdict(list)
        self._enc_cache: dict[Architecture, np.ndarray] = {}

    # ------------------------------------------------------------------ helpers
    def _enc(self, arch: Architecture) -> np.ndarray:
        v = self._enc_cache.get(arch)
        if v is None:
            v = self._enc_cache[arch] = self.space.encode(arch, self.encoding)
        return v

    def _training_set(self) -> list[tuple[Architecture, float]]:
        if not self.data:
            return []
        # the fidelity with most observations (ties: the lowest) is the one the model learns
        fid = max(self.data, key=lambda f: (len(self.data[f]), -(f or 0.0)))
        return self.data[fid]

    def _random_unique(self, rng: np.random.Generator) -> Architecture:
        for _ in range(200):
            arch = self.space.sample(rng)
            if arch not in self.seen and not self.dedup.useless(arch):
                return arch
        return self.sample_unseen(rng)

    def _candidates(self, train: list[tuple[Architecture, float]], rng: np.random.Generator) -> list[Architecture]:
        order = sorted(range(len(train)), key=lambda i: (-train[i][1], i))
        parents = [train[i][0] for i in order[: self.n_parents]]
        cands: list[Architecture] = []
        for p in parents:
            cands.extend(self.space.neighbors(p))
        for _ in range(self.n_mutations):
            p = parents[int(rng.integers(len(parents)))]
            cands.append(self.space.mutate(self.space.mutate(p, rng), rng))
        cands.extend(self.space.sample(rng) for _ in range(self.n_random))
        return [c for c in self.dedup.filter(cands) if c not in self.seen]

    def _scores(self, cands: list[Architecture], train: list[tuple[Architecture, float]],
                rng: np.random.Generator) -> np.ndarray:
        X = np.stack([self._enc(a) for a, _ in train])
        y = np.array([v for _, v in train])
        model = MLPEnsemble(self.n_members, self.hidden, self.layers, self.epochs, self.lr)
        with single_thread_blas():
            model.fit(X, y, rng)
            pred = model.predict(np.stack([self._enc(c) for c in cands]))
        mean, std = pred.mean(axis=0), pred.std(axis=0)
        if self.acquisition == "its":
            return mean + std * rng.standard_normal(len(cands))
        if self.acquisition == "ucb":
            return mean + self.kappa * std
        return mean

    # ------------------------------------------------------------------ protocol
    def _ask(self, n: int, rng: np.random.Generator) -> list[Asked]:
        train = self._training_set()
        picked: list[Architecture] = []
        if len(train) >= max(self.n_init, 2) and self.n_asked >= self.n_init:
            cands = self._candidates(train, rng)
            if cands:
                scores = self._scores(cands, train, rng)
                picked = [cands[int(i)] for i in np.argsort(-scores, kind="stable")[:n]]
        while len(picked) < n:
            arch = self._random_unique(rng)
            self.seen.add(arch)
            self.dedup.add(arch)
            picked.append(arch)
        for arch in picked:
            self.seen.add(arch)
            self.dedup.add(arch)
        from nasforge.strategies.base import Suggestion

        return [Suggestion(a, self.fidelity) if self.fidelity is not None else a for a in picked]

    def _tell(self, arch: Architecture, obs: Observation) -> None:
        self.dedup.add(arch)
        if obs.ok:
            self.data[obs.fidelity].append((arch, obs.value))
