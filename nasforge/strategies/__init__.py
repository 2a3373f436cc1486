"""Search strategies (ask/tell). Every module that registers one is imported here, in one list."""

from __future__ import annotations

from nasforge.strategies import evolution, random_search  # noqa: F401  (registration)
from nasforge.strategies import bananas, local_search, multifidelity, optuna_sampler, reinforce  # noqa: F401,E402,E501  (registration, issue 3)
from nasforge.proxies import strategy as _zero_cost  # noqa: F401,E402  (registration, issue 3)
from nasforge.strategies import mo_surrogate, multi_objective, nsga2  # noqa: F401,E402  (registration, issue 5)
from nasforge.strategies.base import STRATEGIES, Strategy, Suggestion, as_suggestion, make_strategy
from nasforge.strategies.evolution import RegularizedEvolution
from nasforge.strategies.random_search import RandomSearch

__all__ = ["STRATEGIES", "Strategy", "Suggestion", "as_suggestion", "make_strategy", "RandomSearch",
           "RegularizedEvolution"]
