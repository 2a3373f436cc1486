"""The ask/tell strategy protocol.

A strategy proposes architectures (``ask``) and learns from observations (``tell``). It never
trains, never does I/O and never touches global random state. Its randomness for the k-th ask
comes from ``numpy.random.default_rng([seed, k])``, so its whole state is a function of the seed,
the number of asks and the sequence of tells: :meth:`Strategy.restore` rebuilds it from a stored
history, which is how a killed search resumes on the same trajectory.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Union

import numpy as np

from nasforge.arch import Architecture
from nasforge.errors import InvalidConfigError
from nasforge.evaluators.base import Observation
from nasforge.registry import Registry
from nasforge.spaces.base import SearchSpace

__all__ = ["STRATEGIES", "Strategy", "Suggestion", "as_suggestion", "make_strategy"]


@dataclass(frozen=True)
class Suggestion:
    """An architecture to evaluate at a given fidelity (epochs); ``None`` means the default."""

    arch: Architecture
    fidelity: float | None = None


Asked = Union[Architecture, Suggestion]


def as_suggestion(item: Asked) -> Suggestion:
    return item if isinstance(item, Suggestion) else Suggestion(item, None)


class Strategy:
    """Base class of black-box search strategies.

    Subclasses implement :meth:`_ask` (and usually :meth:`_tell`); the constructor takes the
    space, a seed and keyword hyperparameters, which it stores unchanged.

    Example:
        >>> from nasforge.spaces import get_space
        >>> s = make_strategy("random", get_space("nb201"), seed=0)
        >>> [a] = s.ask()
        >>> s.n_asked
        1
    """

    name: ClassVar[str] = "strategy"
    #: strategies that can handle several objectives set this (others use the first one)
    multi_objective: ClassVar[bool] = False

    def __init__(self, space: SearchSpace, *, seed: int = 0) -> None:
        self.space = space
        self.seed = int(seed)
        self.n_asked = 0
        self.n_told = 0
        self.seen: set[Architecture] = set()

    @classmethod
    def supports(cls, space: SearchSpace) -> bool:
        """Whether this strategy works on ``space`` with its default settings (the generated
        contract tests run it on every registered space for which this is True)."""
        return True

    # ------------------------------------------------------------------ public protocol
    def ask(self, n: int = 1) -> list[Asked]:
        """Propose ``n`` architectures (or :class:`Suggestion` s with a fidelity)."""
        if n < 1:
            raise InvalidConfigError(f"ask(n) needs n >= 1, but got n={n}")
        rng = np.random.default_rng([self.seed, self.n_asked])
        out = self._ask(n, rng)
        self.n_asked += n
        for item in out:
            self.seen.add(as_suggestion(item).arch)
        return out

    def tell(self, arch: Architecture, obs: Observation) -> None:
        """Report the observation of one evaluated architecture (also ones this strategy did not ask)."""
        self.seen.add(arch)
        self.n_told += 1
        self._tell(arch, obs)

    def restore(self, history: Iterable[tuple[Architecture, Observation]], n_asked: int) -> None:
        """Rebuild state from stored tells (in tell order) and the number of asks made."""
        for arch, obs in history:
            self.tell(arch, obs)
        self.n_asked = n_asked

    @property
    def params(self) -> dict[str, Any]:
        """The hyperparameters this strategy was built with (for the store and reports)."""
        sig = inspect.signature(type(self).__init__)
        return {k: getattr(self, k) for k in sig.parameters if k not in ("self", "space", "seed")
                and hasattr(self, k)}

    # ------------------------------------------------------------------ for subclasses
    def _ask(self, n: int, rng: np.random.Generator) -> list[Asked]:
        raise NotImplementedError(f"{type(self).__name__} must implement _ask")

    def _tell(self, arch: Architecture, obs: Observation) -> None:
        return None

    def sample_unseen(self, rng: np.random.Generator, tries: int = 100) -> Architecture:
        """A random architecture not proposed or observed before (repeats only if none is found)."""
        arch = self.space.sample(rng)
        for _ in range(tries):
            if arch not in self.seen:
                break
            arch = self.space.sample(rng)
        return arch

    def random_unseen(self, n: int, rng: np.random.Generator) -> list[Asked]:
        """``n`` random architectures not seen before, marked as seen (uniform random proposals)."""
        out: list[Asked] = []
        for _ in range(n):
            arch = self.sample_unseen(rng)
            self.seen.add(arch)
            out.append(arch)
        return out

    def mutate_unseen(self, parent: Architecture, rng: np.random.Generator, tries: int = 20) -> Architecture:
        """A one-step mutation of ``parent`` that was not seen before, if one is found."""
        child = self.space.mutate(parent, rng)
        for _ in range(tries):
            if child not in self.seen:
                break
            child = self.space.mutate(parent, rng)
        return child


STRATEGIES: Registry[type[Strategy]] = Registry("strategy")


def make_strategy(name: str, space: SearchSpace, *, seed: int = 0, **params: Any) -> Strategy:
    """Build a registered strategy; unknown hyperparameters are a clear error.

    Example:
        >>> from nasforge.spaces import get_space
        >>> make_strategy("evolution", get_space("nb201"), seed=1, population_size=20).population_size
        20
    """
    cls = STRATEGIES.get(name)
    sig = inspect.signature(cls.__init__)
    allowed = [p for p in sig.parameters if p not in ("self", "space", "seed")]
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise InvalidConfigError(
            f"strategy '{name}' has no parameter(s) {unknown}; its parameters are: {', '.join(allowed) or 'none'}"
        )
    return cls(space, seed=seed, **params)


def top_k(items: Sequence[tuple[Architecture, float]], k: int) -> list[tuple[Architecture, float]]:
    """The ``k`` best (arch, value) pairs, best first, ties broken by order of arrival."""
    order = sorted(range(len(items)), key=lambda i: (-items[i][1], i))
    return [items[i] for i in order[:k]]
