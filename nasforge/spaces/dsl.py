"""Write a search space in Python with four primitives: ``op``, ``value``, ``inputs``, ``repeat``.

They produce the same flat list of labelled dimensions as the built-in spaces, so every strategy
works on a user's space unchanged. Example::

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
    ], build=build)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from nasforge.arch import Architecture
from nasforge.errors import InvalidConfigError
from nasforge.spaces.base import Choice, Dimension, InputChoice, SearchSpace

__all__ = ["PythonSpace", "define_space", "inputs", "op", "repeat", "value"]


def op(label: str, options: Sequence[str]) -> Choice:
    """Choose one operation by name."""
    return Choice(label, tuple(options), kind="op")


def value(label: str, options: Sequence[Any]) -> Choice:
    """Choose one value (a width, a kernel size, a rate, ...)."""
    return Choice(label, tuple(options), kind="value")


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
                 build: Callable[..., Any] | None = None, config: dict[str, Any] | None = None) -> None:
        flat: list[Dimension] = []
        for d in dimensions:
            if isinstance(d, (Choice, InputChoice)):
                flat.append(d)
            else:
                flat.extend(d)
        super().__init__(name, flat, config)
        self._build = build

    def build(self, arch: Architecture, **cfg: Any) -> Any:
        if self._build is None:
            return super().build(arch, **cfg)
        return self._build(self.validate(arch), **self.network_kwargs(cfg))


def define_space(name: str, dimensions: Sequence[Dimension | Sequence[Dimension]],
                 build: Callable[..., Any] | None = None, **config: Any) -> PythonSpace:
    """Make a search space from primitives (see the module docstring for an example)."""
    return PythonSpace(name, dimensions, build, config)
