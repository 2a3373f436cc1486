"""Search spaces: the registry and the built-in spaces."""

from __future__ import annotations

from collections.abc import Callable
import itertools
from collections.abc import Mapping
from typing import Any

from nasforge.errors import InvalidConfigError
from nasforge.registry import Registry
from nasforge.spaces.base import Choice, Dimension, InputChoice, SearchSpace
from nasforge.spaces.dsl import PythonSpace, define_space, inputs, loguniform, op, repeat, value
from nasforge.spaces.examples import chain_cnn_joint_space, chain_cnn_space, mlp_space
from nasforge.spaces.nb201 import NB201Space

__all__ = ["SPACES", "get_space", "register_space", "space_from_spec", "space_reference", "SearchSpace", "Choice",
           "InputChoice", "Dimension", "NB201Space", "PythonSpace", "define_space", "op", "value", "loguniform", "inputs",
           "repeat"]

SPACES: Registry[Callable[..., SearchSpace]] = Registry("space")
SPACES.register("nb201", "NAS-Bench-201 cell: 6 edges x 5 ops, 15,625 architectures")(NB201Space)
SPACES.register("chain_cnn", "small CNN chain written with the Python primitives (example)")(chain_cnn_space)
SPACES.register("chain_cnn_joint", "chain_cnn + its training recipe (lr, weight decay, optimizer, batch, "
                "augmentation): joint search (example)")(chain_cnn_joint_space)
SPACES.register("mlp", "MLPs for tabular data: 1-4 layers of width/activation/dropout")(mlp_space)
from nasforge.spaces.darts import DartsSpace; SPACES.register("darts", "DARTS cell: normal + reduction, 4 nodes x 2 inputs, 7 ops")(DartsSpace)  # noqa: E402,E702,E501
from nasforge.spaces.sequence import audio_space, text_cnn_space; SPACES.register("text_cnn", "token sequences: embedding, 1-3 conv/transformer/GRU/LSTM blocks, pooling")(text_cnn_space); SPACES.register("audio", "waveforms: log-mel/MFCC front end, 1-D or 2-D conv stack")(audio_space)  # noqa: E402,E702,E501
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


# spaces given to a search as objects that no registered name rebuilds: usable in this process only
_UNREGISTERED: dict[str, SearchSpace] = {}
_UNREGISTERED_IDS = itertools.count(1)


def space_reference(space: str | SearchSpace, config: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The ``spec["space"]`` block for a space given by name or as an object.

    A name must be registered. An object is stored by its name and configuration when the registered
    factory of that name rebuilds the same space (built-in spaces, :func:`define_space`,
    :func:`register_space`); any other object is kept for this process only and marked
    ``unregistered``, so a later ``resume`` elsewhere is refused with a clear message.

    Example:
        >>> space_reference("nb201")
        {'name': 'nb201', 'config': {}}
        >>> space_reference(NB201Space(channels=8))
        {'name': 'nb201', 'config': {'channels': 8, 'cells_per_stage': 5}}
    """
    if isinstance(space, str):
        SPACES.get(space)  # unknown names fail first, with the list of valid ones
        return {"name": space, "config": dict(config or {})}
    if not isinstance(space, SearchSpace):
        raise InvalidConfigError(f"space must be a registered name or a SearchSpace, but got {type(space).__name__}")
    if config:
        raise InvalidConfigError("space_config applies to a space given by name, not to a SearchSpace object")
    cfg = dict(space.config)
    if space.name in SPACES:
        try:
            again = SPACES.get(space.name)(**cfg)
        except (TypeError, InvalidConfigError):
            again = None
        if again is space or (again is not None and type(again) is type(space) and again.to_dict() == space.to_dict()):
            return {"name": space.name, "config": cfg}
    key = f"{space.name}#{next(_UNREGISTERED_IDS)}"
    _UNREGISTERED[key] = space
    return {"name": space.name, "config": cfg, "unregistered": key}


def space_from_spec(block: Mapping[str, Any]) -> SearchSpace:
    """The space a stored ``spec["space"]`` block describes (the inverse of :func:`space_reference`).

    Raises:
        InvalidConfigError: the space was a Python object or definition that this process does not have.
    """
    name = str(block["name"])
    key = block.get("unregistered")
    if key is not None:
        if key in _UNREGISTERED:
            return _UNREGISTERED[key]
        raise InvalidConfigError(
            f"space '{name}' was passed to the search as a Python object that is not registered, so this process "
            f"cannot rebuild it; use nf.define_space('{name}', ...) or nf.register_space('{name}', factory) for "
            "spaces you want to resume, report or export later")
    if name not in SPACES:
        raise InvalidConfigError(
            f"space '{name}' is not registered in this process; a space made with nf.define_space or "
            "nf.register_space must be defined again (run that code first) before resuming, reporting or "
            "exporting its experiments")
    return get_space(name, **dict(block.get("config") or {}))
