"""nasforge: neural architecture search for PyTorch.

Importing nasforge does not import torch; building or training networks does.
"""

from __future__ import annotations

from nasforge.api import build_experiment, make_spec, resume, search
from nasforge.arch import Architecture
from nasforge.errors import (
    DatasetUnavailableError,
    InvalidArchitectureError,
    InvalidConfigError,
    NasforgeError,
    UnknownNameError,
)
from nasforge.evaluators.base import Objective, Observation, Result
from nasforge.runner import Budget, Runner
from nasforge.spaces import SPACES, define_space, get_space, inputs, loguniform, op, register_space, repeat, value
from nasforge.storage import Store
from nasforge.strategies import STRATEGIES, Strategy, make_strategy

__version__ = "0.1.0"

_LAZY = {"ImageClassifier": "nasforge.estimators", "TabularClassifier": "nasforge.estimators",
         "Recipe": "nasforge.training", "TextClassifier": "nasforge.estimators",
         "AudioClassifier": "nasforge.estimators"}


def __getattr__(name: str) -> object:
    # the estimators import scikit-learn (and torch when fitting): load them on first use only
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'nasforge' has no attribute {name!r}")

__all__ = [
    "Architecture", "Budget", "DatasetUnavailableError", "InvalidArchitectureError", "InvalidConfigError",
    "NasforgeError", "Objective", "Observation", "Result", "Runner", "SPACES", "STRATEGIES", "Store", "Strategy",
    "UnknownNameError", "build_experiment", "define_space", "get_space", "inputs", "make_spec", "make_strategy",
    "loguniform", "op", "register_space", "repeat", "resume", "search", "value", "__version__",
    "ImageClassifier", "Recipe", "TabularClassifier", "TextClassifier", "AudioClassifier",
]
