"""Search spaces: plain, serializable descriptions of the choices an architecture makes.

A space is a list of labelled dimensions (the flat view NNI calls ``simplify()``); strategies
only need ``sample``, ``mutate``, ``neighbors``, ``encode`` and ``validate``. Turning an
architecture into a ``torch.nn.Module`` is the separate step :meth:`SearchSpace.build`, so
everything here works without importing torch.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nasforge.arch import Architecture, Value
from nasforge.errors import InvalidArchitectureError, InvalidConfigError

__all__ = ["CellGraph", "Choice", "Dimension", "InputChoice", "SearchSpace"]


@dataclass(frozen=True)
class CellGraph:
    """A cell as a DAG, for drawings: ``nodes`` in topological order (the first ``inputs`` are the
    cell's inputs, the last is its output) and ``edges`` as ``(from, to, operation)``; an edge whose
    operation is ``none`` is drawn dotted, ``concat`` marks a parameter-free merge into the output.

    Example:
        >>> g = CellGraph(("in", "1", "out"), (("in", "1", "conv"), ("1", "out", "skip")))
        >>> g.inputs
        1
    """

    nodes: tuple[str, ...]
    edges: tuple[tuple[str, str, str], ...]
    inputs: int = 1


@dataclass(frozen=True)
class Choice:
    """One categorical decision: an operation or a value.

    Args:
        label: unique name of the decision.
        options: the allowed values (strings or numbers), in a fixed order.
        kind: ``"op"`` or ``"value"``; informative only (reports, encodings).
        requires: ``(label, n)`` makes this dimension active only when the integer chosen for
            ``label`` is at least ``n`` (used by ``repeat``).

    Example:
        >>> Choice("width", (16, 32, 64), kind="value").options
        (16, 32, 64)
    """

    label: str
    options: tuple[Value, ...]
    kind: str = "op"
    requires: tuple[str, int] | None = None

    def __post_init__(self) -> None:
        if len(self.options) < 1:
            raise InvalidConfigError(f"choice '{self.label}' needs at least one option, got none")
        if len(set(self.options)) != len(self.options):
            raise InvalidConfigError(f"choice '{self.label}' has repeated options: {list(self.options)}")

    @property
    def size(self) -> int:
        return len(self.options)

    def all_values(self) -> list[Value]:
        return list(self.options)

    def sample(self, rng: np.random.Generator) -> Value:
        return self.options[int(rng.integers(len(self.options)))]

    def check(self, value: Value) -> None:
        if value not in self.options:
            raise InvalidArchitectureError(
                f"'{self.label}' = {value!r} is not allowed; allowed values: "
                f"{', '.join(repr(o) for o in self.options)}"
            )

    def encode(self, value: Value | None) -> list[float]:
        vec = [0.0] * len(self.options)
        if value is not None:
            vec[self.options.index(value)] = 1.0
        return vec

    def to_dict(self) -> dict[str, Any]:
        return {"type": "choice", "label": self.label, "options": list(self.options), "kind": self.kind,
                "requires": list(self.requires) if self.requires else None}


@dataclass(frozen=True)
class InputChoice:
    """Which earlier tensors feed a node: ``n_chosen`` distinct indices out of ``n_candidates``.

    The value is a sorted tuple of indices, so ``(0, 2)`` and ``(2, 0)`` are the same choice.

    Example:
        >>> InputChoice("node3.inputs", 3, 2).size
        3
    """

    label: str
    n_candidates: int
    n_chosen: int = 1
    requires: tuple[str, int] | None = None
    kind: str = field(default="inputs", init=False)

    def __post_init__(self) -> None:
        if not 1 <= self.n_chosen <= self.n_candidates:
            raise InvalidConfigError(
                f"input choice '{self.label}': 1 <= n_chosen <= n_candidates must hold, "
                f"but got (n_chosen={self.n_chosen}, n_candidates={self.n_candidates})"
            )

    @property
    def size(self) -> int:
        return math.comb(self.n_candidates, self.n_chosen)

    def all_values(self) -> list[Value]:
        return [tuple(c) for c in itertools.combinations(range(self.n_candidates), self.n_chosen)]

    def sample(self, rng: np.random.Generator) -> Value:
        picked = rng.choice(self.n_candidates, size=self.n_chosen, replace=False)
        return tuple(sorted(int(i) for i in picked))

    def check(self, value: Value) -> None:
        ok = (
            isinstance(value, tuple)
            and len(value) == self.n_chosen
            and len(set(value)) == self.n_chosen
            and all(isinstance(i, int) and 0 <= i < self.n_candidates for i in value)
            and list(value) == sorted(value)
        )
        if not ok:
            raise InvalidArchitectureError(
                f"'{self.label}' = {value!r} is not allowed; expected {self.n_chosen} distinct sorted "
                f"input indices in 0..{self.n_candidates - 1}"
            )

    def encode(self, value: Value | None) -> list[float]:
        vec = [0.0] * self.n_candidates
        if isinstance(value, tuple):
            for i in value:
                vec[i] = 1.0
        return vec

    def to_dict(self) -> dict[str, Any]:
        return {"type": "inputs", "label": self.label, "n_candidates": self.n_candidates,
                "n_chosen": self.n_chosen, "requires": list(self.requires) if self.requires else None}


Dimension = Choice | InputChoice


class SearchSpace:
    """A named list of dimensions plus (optionally) a way to build networks.

    Subclasses override :meth:`build`, and may override :meth:`to_string` / :meth:`parse` to
    give architectures a human form, and :meth:`encode` to add encodings.

    Example:
        >>> space = SearchSpace("toy", [Choice("op", ("a", "b")), Choice("w", (1, 2), kind="value")])
        >>> arch = space.sample(np.random.default_rng(0))
        >>> space.validate(arch) is arch
        True
        >>> len(space.neighbors(arch))
        2
    """

    name: str = "space"
    #: the data its networks take: ``"image"`` (C x H x W), ``"tabular"`` (F features) or None (any)
    data_kind: str | None = None

    def __init__(self, name: str, dimensions: Sequence[Dimension], config: Mapping[str, Any] | None = None) -> None:
        self.name = name
        self.dimensions: tuple[Dimension, ...] = tuple(dimensions)
        labels = [d.label for d in self.dimensions]
        dup = {x for x in labels if labels.count(x) > 1}
        if dup:
            raise InvalidConfigError(f"space '{name}' repeats dimension labels: {sorted(dup)}")
        self._by_label = {d.label: d for d in self.dimensions}
        for d in self.dimensions:
            if d.requires and d.requires[0] not in self._by_label:
                raise InvalidConfigError(f"dimension '{d.label}' requires unknown label '{d.requires[0]}'")
        self.config: dict[str, Any] = dict(config or {})
        self._conditional = any(d.requires for d in self.dimensions)
        self._all_choice = all(isinstance(d, Choice) for d in self.dimensions) and not self._conditional
        self._sizes = np.array([d.size for d in self.dimensions])

    # ----------------------------------------------------------------- structure
    @property
    def labels(self) -> list[str]:
        return [d.label for d in self.dimensions]

    def dimension(self, label: str) -> Dimension:
        return self._by_label[label]

    def size(self) -> int:
        """Number of distinct architectures (exact for spaces without ``repeat``; an upper bound otherwise)."""
        return math.prod(int(s) for s in self._sizes)

    # ----------------------------------------------------------------- the public space contract
    def is_active(self, label: str, values: Mapping[str, Value]) -> bool:
        """Whether dimension ``label`` takes part in an architecture whose earlier choices are ``values``.

        A conditional dimension (``requires=(switch, k)``) is active only when the integer choice
        ``switch`` is at least ``k`` (layer 3's width exists only with 3 or more layers).

        Example:
            >>> from nasforge.spaces import get_space
            >>> get_space("mlp").is_active("layer.2.width", {"layer.depth": 2})
            False
        """
        d = self.dimension(label)
        if d.requires is None:
            return True
        ref = values.get(d.requires[0])
        return isinstance(ref, int) and ref >= d.requires[1]

    def complete(self, values: Mapping[str, Value], rng: np.random.Generator | None = None) -> Architecture:
        """An architecture from ``values``: inactive labels dropped, newly active ones filled
        (at random with ``rng``, else with their first value). The identity for unconditional spaces."""
        out: dict[str, Value] = {}
        for d in self.dimensions:
            if self._active(d, out):
                if d.label in values:
                    out[d.label] = values[d.label]
                else:
                    out[d.label] = d.sample(rng) if rng is not None else d.all_values()[0]
        return Architecture(out)

    @property
    def conditional(self) -> bool:
        """Whether some dimension is active only for some values of another (see :meth:`is_active`)."""
        return self._conditional

    def is_connected(self, arch: Architecture) -> bool:
        """Whether the network of ``arch`` carries signal from input to output (cell spaces with a
        ``none`` operation can cut every route; other spaces are always connected)."""
        return True

    def equivalence_key(self, arch: Architecture) -> str | bytes:
        """A key equal for architectures that build the same function (de-duplication uses it).
        Default: the canonical key; cell spaces with a ``path`` encoding use that encoding."""
        if "path" in self.encoding_names():
            return np.packbits(self.encode(arch, "path").astype(np.uint8)).tobytes()
        return arch.key

    def cell_graphs(self, arch: Architecture) -> dict[str, CellGraph] | None:
        """The cell(s) of ``arch`` as DAGs for drawings, by cell type (None: not a cell space;
        reports then list the choices)."""
        return None

    def _active(self, d: Dimension, values: Mapping[str, Value]) -> bool:
        if d.requires is None:
            return True
        ref = values.get(d.requires[0])
        return isinstance(ref, int) and ref >= d.requires[1]

    # ----------------------------------------------------------------- making architectures
    def sample(self, rng: np.random.Generator) -> Architecture:
        """A uniformly random architecture (each active dimension uniform)."""
        if self._all_choice:
            idx = rng.integers(0, self._sizes)
            return Architecture({d.label: d.options[i] for d, i in zip(self.dimensions, idx)})  # type: ignore[union-attr]
        values: dict[str, Value] = {}
        for d in self.dimensions:
            if self._active(d, values):
                values[d.label] = d.sample(rng)
        return Architecture(values)

    def _complete(self, values: dict[str, Value], rng: np.random.Generator | None) -> Architecture:
        return self.complete(values, rng)

    def mutate(self, arch: Architecture, rng: np.random.Generator) -> Architecture:
        """Change one active dimension to a different value (chosen uniformly)."""
        candidates = [d for d in self.dimensions if d.label in arch and d.size > 1]
        if not candidates:
            return arch
        d = candidates[int(rng.integers(len(candidates)))]
        others = [v for v in d.all_values() if v != arch[d.label]]
        new = others[int(rng.integers(len(others)))]
        values = dict(arch)
        values[d.label] = new
        return self._complete(values, rng) if self._conditional else Architecture(values)

    def neighbors(self, arch: Architecture) -> list[Architecture]:
        """Every architecture that differs from ``arch`` in exactly one active dimension."""
        out = []
        for d in self.dimensions:
            if d.label not in arch:
                continue
            for v in d.all_values():
                if v != arch[d.label]:
                    values = dict(arch)
                    values[d.label] = v
                    out.append(self._complete(values, None) if self._conditional else Architecture(values))
        return out

    def enumerate(self) -> Iterator[Architecture]:
        """Every architecture of the space (only sensible for small spaces)."""
        if self._conditional:
            seen: set[Architecture] = set()
            for combo in itertools.product(*(d.all_values() for d in self.dimensions)):
                a = self._complete(dict(zip(self.labels, combo)), None)
                if a not in seen:
                    seen.add(a)
                    yield a
            return
        for combo in itertools.product(*(d.all_values() for d in self.dimensions)):
            yield Architecture(dict(zip(self.labels, combo)))

    # ----------------------------------------------------------------- checking and forms
    def validate(self, arch: Mapping[str, Any] | str) -> Architecture:
        """Return ``arch`` as a checked :class:`Architecture`, or raise naming the bad part.

        Accepts an Architecture, a plain mapping, or a string in the space's human form.
        """
        if isinstance(arch, str):
            return self.parse(arch)
        candidate = arch if isinstance(arch, Architecture) else Architecture(arch)
        unknown = [k for k in candidate if k not in self._by_label]
        if unknown:
            raise InvalidArchitectureError(
                f"unknown label(s) {unknown} for space '{self.name}'; labels are: {', '.join(self.labels)}"
            )
        for d in self.dimensions:
            active = self._active(d, candidate)
            if active and d.label not in candidate:
                raise InvalidArchitectureError(f"architecture for space '{self.name}' is missing label '{d.label}'")
            if not active and d.label in candidate:
                raise InvalidArchitectureError(
                    f"label '{d.label}' is inactive here ({d.requires[0]} < {d.requires[1]}) and must be left out"  # type: ignore[index]
                )
            if active:
                d.check(candidate[d.label])
        return candidate

    def to_string(self, arch: Architecture) -> str:
        """Human form of an architecture; the canonical key unless a space defines better."""
        return arch.key

    def parse(self, text: str) -> Architecture:
        """Inverse of :meth:`to_string`; raises :class:`InvalidArchitectureError` on bad text."""
        import json

        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidArchitectureError(f"cannot parse architecture {text!r} for space '{self.name}': {exc}") from None
        if not isinstance(data, dict):
            raise InvalidArchitectureError(f"architecture {text!r} must be a JSON object of label: value")
        return self.validate(data)

    # ----------------------------------------------------------------- encodings
    def encoding_names(self) -> list[str]:
        return ["onehot"]

    def encode(self, arch: Architecture, kind: str = "onehot") -> np.ndarray:
        """A fixed-length float vector; ``onehot`` for every space (inactive dimensions are zeros)."""
        if kind != "onehot":
            from nasforge.errors import UnknownNameError
            from nasforge.registry import unknown_name_message

            raise UnknownNameError(unknown_name_message("encoding", kind, self.encoding_names()))
        vec: list[float] = []
        for d in self.dimensions:
            vec.extend(d.encode(arch.get(d.label)))
        return np.asarray(vec, dtype=np.float32)

    def has_parametric_path(self, arch: Architecture) -> bool | None:
        """Whether the network of ``arch`` has an operation with weights on an input-to-output path
        (cell spaces answer; None: the space does not say). One-shot methods check their answer with it."""
        return None

    # ----------------------------------------------------------------- networks
    def build(self, arch: Architecture, **cfg: Any) -> Any:
        """Build a ``torch.nn.Module`` for ``arch``: ``build(arch, *, input_shape, num_classes, **config)``.

        ``input_shape`` is one sample's shape (``(C, H, W)`` for images, ``(F,)`` for tables) and
        ``num_classes`` the output width; ``config`` holds the space's size settings (``channels``,
        ``cells_per_stage``, ...). Spaces normalise the arguments with :meth:`network_kwargs`
        (``in_channels`` / ``in_features`` are accepted too). Spaces without networks raise.
        """
        raise InvalidConfigError(f"space '{self.name}' does not build networks")

    def network_kwargs(self, cfg: Mapping[str, Any]) -> dict[str, Any]:
        """The space's config overridden by ``cfg``, with ``input_shape`` turned into ``in_channels``
        (images, ``(C, H, W)``; also ``input_size`` = H) or ``in_features`` (tables, ``(F,)``).

        Example:
            >>> from nasforge.spaces import get_space
            >>> get_space("nb201").network_kwargs({"input_shape": (1, 8, 8), "num_classes": 10})["in_channels"]
            1
        """
        out = {**self.config, **cfg}
        shape = out.pop("input_shape", None)
        if shape is not None:
            shape = tuple(int(v) for v in shape)
            if len(shape) == 3:
                out.setdefault("in_channels", shape[0])
                out.setdefault("input_size", shape[1])
            elif len(shape) == 1:
                out.setdefault("in_features", shape[0])
            else:
                raise InvalidConfigError(f"input_shape must be (C, H, W) or (F,), but got {shape}")
        return out

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description of the space (dimensions and configuration)."""
        return {"name": self.name, "config": self.config, "dimensions": [d.to_dict() for d in self.dimensions]}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, dimensions={len(self.dimensions)})"
