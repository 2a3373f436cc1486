"""Write a search space in Python with the primitives ``op``, ``value``, ``loguniform``, ``inputs``, ``repeat``.

They produce the same flat list of labelled dimensions as the built-in spaces, so every strategy
works on a user's space unchanged. Labels under ``train.`` (e.g. ``train.lr``) are training
hyperparameters rather than architecture choices: they name fields of
:class:`nasforge.training.Recipe`, and every trainer takes them from the architecture, so
architecture and training recipe are searched together (joint search). Example::

    import nasforge as nf
    from torch import nn

    def build(arch, num_classes=10, in_features=64, **_):
        layers, width = [], in_features
        for i in range(arch["layer.depth"]):
            layers += [nn.Linear(width, arch[f"layer.{i}.width"]), nn.ReLU()]
            width = arch[f"layer.{i}.width"]
        return nn.Sequential(*layers, nn.Linear(width, num_classes))

    space = nf.define_space("my_mlp", [
        nf.repeat("layer", 1, 3, lambda i: [nf.value("width", [32, 64, 128])]),
        nf.loguniform("train.lr", 1e-3, 1e-1, 5),          # searched with the architecture
        nf.value("train.weight_decay", [0.0, 1e-4, 1e-3]),
    ], build=build)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from nasforge.arch import Architecture
from nasforge.errors import InvalidConfigError, UnknownNameError
from nasforge.spaces.base import Choice, Dimension, InputChoice, SearchSpace

__all__ = ["PythonSpace", "define_space", "inputs", "loguniform", "op", "repeat", "value"]


def op(label: str, options: Sequence[str]) -> Choice:
    """Choose one operation by name."""
    return Choice(label, tuple(options), kind="op")


def value(label: str, options: Sequence[Any]) -> Choice:
    """Choose one value (a width, a kernel size, a rate, ...)."""
    return Choice(label, tuple(options), kind="value")


def loguniform(label: str, low: float, high: float, n: int) -> Choice:
    """Choose one of ``n`` values spaced evenly on a log scale from ``low`` to ``high`` (both included).

    The values are rounded to 3 significant digits, so they print and store cleanly. Discrete on
    purpose: every strategy (evolution, local search, BANANAS, TPE, ...) handles a choice.

    Raises:
        InvalidConfigError: unless ``0 < low < high`` and ``n >= 2``.

    Example:
        >>> loguniform("train.lr", 1e-3, 1e-1, 3).options
        (0.001, 0.01, 0.1)
    """
    if not (0 < low < high) or int(n) < 2:
        raise InvalidConfigError(f"loguniform '{label}': 0 < low < high and n >= 2 must hold, but got "
                                 f"(low={low}, high={high}, n={n})")
    values = [float(f"{v:.3g}") for v in np.geomspace(low, high, int(n))]
    return Choice(label, tuple(dict.fromkeys(values)), kind="value")


def inputs(label: str, n_candidates: int, n_chosen: int = 1) -> InputChoice:
    """Choose ``n_chosen`` of ``n_candidates`` earlier tensors as inputs."""
    return InputChoice(label, n_candidates, n_chosen)


def repeat(label: str, min_depth: int, max_depth: int,
           body: Callable[[int], Iterable[Dimension]] | Iterable[Dimension]) -> list[Dimension]:
    """Repeat a block ``min_depth..max_depth`` times; the depth is itself a choice ``<label>.depth``.

    ``body`` is a list of dimensions, or a function of the block index ``i`` returning one (so a
    block can choose among the ``i + 1`` tensors before it). Block ``i``'s labels are prefixed with
    ``<label>.<i>.`` and are active only when the depth exceeds ``i``.
    """
    if not 0 <= min_depth <= max_depth:
        raise InvalidConfigError(
            f"repeat '{label}': 0 <= min_depth <= max_depth must hold, but got ({min_depth}, {max_depth})"
        )
    depth_label = f"{label}.depth"
    dims: list[Dimension] = [Choice(depth_label, tuple(range(min_depth, max_depth + 1)), kind="value")]
    for i in range(max_depth):
        block = body(i) if callable(body) else body
        requires = (depth_label, i + 1) if i >= min_depth else None
        for d in block:
            name = f"{label}.{i}.{d.label}"
            if isinstance(d, Choice):
                dims.append(Choice(name, d.options, kind=d.kind, requires=requires))
            else:
                dims.append(InputChoice(name, d.n_candidates, d.n_chosen, requires=requires))
    return dims


class PythonSpace(SearchSpace):
    """A space defined in Python; ``build`` calls the user's function ``build(arch, **cfg)``."""

    def __init__(self, name: str, dimensions: Sequence[Dimension | Sequence[Dimension]],
                 build: Callable[..., Any] | None = None, config: dict[str, Any] | None = None, *,
                 data_kind: str | None = None) -> None:
        flat: list[Dimension] = []
        for d in dimensions:
            if isinstance(d, (Choice, InputChoice)):
                flat.append(d)
            else:
                flat.extend(d)
        _check_hyperparameters(name, flat)
        super().__init__(name, flat, config)
        self._build = build
        if data_kind not in (None, "image", "tabular"):
            raise InvalidConfigError(f"data_kind must be 'image', 'tabular' or None, but got {data_kind!r}")
        self.data_kind = data_kind

    def build(self, arch: Architecture, **cfg: Any) -> Any:
        if self._build is None:
            return super().build(arch, **cfg)
        kwargs = self.network_kwargs(cfg)
        shape = {**self.config, **cfg}.get("input_shape")
        if shape is not None and _takes(self._build, "input_shape"):  # sequence builders want the shape itself
            kwargs["input_shape"] = tuple(int(v) for v in shape)
        return self._build(self.validate(arch), **kwargs)


def _takes(fn: Callable[..., Any], name: str) -> bool:
    """Whether ``fn`` accepts the keyword ``name`` (by name or through ``**kwargs``)."""
    import inspect

    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == name or p.kind is inspect.Parameter.VAR_KEYWORD for p in params)


# name -> the space define_space made last under that name, and the one factory registered for it
_DEFINED: dict[str, PythonSpace] = {}
_FACTORIES: dict[str, Callable[..., PythonSpace]] = {}


def _defined_factory(name: str) -> Callable[..., PythonSpace]:
    def factory(**config: Any) -> PythonSpace:
        space = _DEFINED[name]
        if not config or config == space.config:
            return space
        return PythonSpace(name, space.dimensions, space._build, {**space.config, **config},
                           data_kind=space.data_kind)

    factory.__doc__ = f"space '{name}' defined in Python with nasforge.define_space"
    return factory


def _check_hyperparameters(space: str, dims: Sequence[Dimension]) -> None:
    """``train.<x>`` labels must name a recipe field: a typo would otherwise be searched for nothing."""
    from nasforge.registry import unknown_name_message
    from nasforge.training.recipe import HPARAM_PREFIX, recipe_fields

    for d in dims:
        if d.label.startswith(HPARAM_PREFIX) and d.label[len(HPARAM_PREFIX):] not in recipe_fields():
            raise UnknownNameError(f"space '{space}': " + unknown_name_message(
                "training hyperparameter", d.label[len(HPARAM_PREFIX):], recipe_fields()))


def define_space(name: str, dimensions: Sequence[Dimension | Sequence[Dimension]],
                 build: Callable[..., Any] | None = None, *, data_kind: str | None = None,
                 **config: Any) -> PythonSpace:
    """Make a search space from primitives and register it under ``name`` (see the module docstring).

    The space can then be searched by name (``nf.search(space="my_mlp", ...)``, ``--space`` in a
    script that defined it) or as the returned object. Defining the same name again replaces the
    earlier definition; a name taken by a built-in or :func:`~nasforge.spaces.register_space` space
    is refused.

    Args:
        name: the space's name, as stored in experiment specs.
        dimensions: choices made with :func:`op`, :func:`value`, :func:`inputs`, :func:`repeat`.
        build: ``build(arch, *, num_classes, in_features | in_channels, **config) -> nn.Module``.
        data_kind: ``"image"`` or ``"tabular"`` when the networks need that kind of data (checked
            before a search starts); None accepts any.
        config: settings passed to ``build``.

    Raises:
        InvalidConfigError: when ``name`` belongs to a space that was not made by ``define_space``.
    """
    from nasforge.spaces import SPACES

    space = PythonSpace(name, dimensions, build, config, data_kind=data_kind)
    if name in SPACES and name not in _FACTORIES:
        raise InvalidConfigError(f"space name '{name}' is taken by a registered space; choose another name")
    _DEFINED[name] = space
    if name not in _FACTORIES:
        _FACTORIES[name] = _defined_factory(name)
        SPACES.register(name, f"defined in Python: {len(space.dimensions)} dimensions")(_FACTORIES[name])
    return space
