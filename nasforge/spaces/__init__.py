"""Search spaces: the registry and the built-in spaces."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nasforge.errors import InvalidConfigError
from nasforge.registry import Registry
from nasforge.spaces.base import Choice, Dimension, InputChoice, SearchSpace
from nasforge.spaces.dsl import PythonSpace, define_space, inputs, op, repeat, value
from nasforge.spaces.examples import chain_cnn_space, mlp_space
from nasforge.spaces.nb201 import NB201Space

__all__ = ["SPACES", "get_space", "register_space", "SearchSpace", "Choice", "InputChoice", "Dimension",
           "NB201Space", "PythonSpace", "define_space", "op", "value", "inputs", "repeat"]

SPACES: Registry[Callable[..., SearchSpace]] = Registry("space")
SPACES.register("nb201", "NAS-Bench-201 cell: 6 edges x 5 ops, 15,625 architectures")(NB201Space)
SPACES.register("chain_cnn", "small CNN chain written with the Python primitives (example)")(chain_cnn_space)
SPACES.register("mlp", "MLPs for tabular data: 1-4 layers of width/activation/dropout")(mlp_space)
from nasforge.spaces.darts import DartsSpace; SPACES.register("darts", "DARTS cell: normal + reduction, 4 nodes x 2 inputs, 7 ops")(DartsSpace)  # noqa: E402,E702,E501
from nasforge.spaces.auto_cnn import auto_cnn_space; SPACES.register("auto_cnn", "macro CNN whose stages scale with input_size (image estimator default)")(auto_cnn_space)  # noqa: E402,E702
from nasforge.spaces.nb101 import NB101Space; SPACES.register("nb101", "NAS-Bench-101 cell: <= 7 vertices, <= 9 edges, 3 ops, 423,624 cells")(NB101Space)  # noqa: E402,E702
from nasforge.spaces.nbgraph import NBGraphSpace; SPACES.register("nbgraph", "NAS-Bench-Graph GNNs: 4 nodes x 1 input, 9 ops, 26,206 GNNs")(NBGraphSpace); SPACES.register("nbgraph-proteins", "NAS-Bench-Graph space with the 5 proteins ops (2,021 GNNs)")(lambda: NBGraphSpace(proteins=True))  # noqa: E402,E702,E501


def register_space(name: str, factory: Callable[..., SearchSpace], help: str = "") -> None:
    """Make a user space available by name to the runner, the CLI (``--space``) and ``resume``."""
    SPACES.register(name, help)(factory)


def get_space(name: str, **config: Any) -> SearchSpace:
    """Build a registered space by name; unknown names list the valid ones.

    Example:
        >>> get_space("nb201").size()
        15625
    """
    factory = SPACES.get(name)
    try:
        return factory(**config)
    except TypeError as exc:
        raise InvalidConfigError(f"bad settings {config} for space '{name}': {exc}") from None
