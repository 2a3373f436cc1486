"""The NAS-Bench-201 cell space (Dong & Yang, ICLR 2020).

A cell is a DAG on 4 nodes; each of the 6 edges ``j <- i`` (i < j) carries one of 5 operations.
Architectures are written in the benchmark's official form, node by node::

    |nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|

The network (``build``) is the benchmark's: a 3x3 stem, three stages of ``N`` cells with ``C``,
``2C`` and ``4C`` channels joined by residual reduction blocks, BN-ReLU, global pooling and a
linear classifier. ``C``, ``N``, input channels and classes are configurable; any input size of
at least 4x4 works (8x8 digits, 28x28 MNIST, 32x32 CIFAR).
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from nasforge.arch import Architecture
from nasforge.errors import InvalidArchitectureError, InvalidConfigError
from nasforge.spaces.base import CellGraph, Choice, SearchSpace

__all__ = ["NB201_EDGES", "NB201_OPERATIONS", "NB201Space", "build_nb201_network"]

NB201_OPERATIONS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
# Edges in the order of the official string: node 1 <- 0; node 2 <- 0, 1; node 3 <- 0, 1, 2.
NB201_EDGES: tuple[tuple[int, int], ...] = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))
_LABELS = tuple(f"{j}<-{i}" for j, i in NB201_EDGES)
_PATH_OPS = tuple(op for op in NB201_OPERATIONS if op != "none")
# Routes from node 0 to node 3, as lists of edge indices into NB201_EDGES.
PARAMETRIC_OPS = ("nor_conv_1x1", "nor_conv_3x3")
_ROUTES: tuple[tuple[int, ...], ...] = ((3,), (0, 4), (1, 5), (0, 2, 5))


class NB201Space(SearchSpace):
    """The NAS-Bench-201 cell search space: 6 edges x 5 operations = 15,625 architectures.

    Args:
        channels: ``C``, the width of the first stage (16 in the benchmark).
        cells_per_stage: ``N``, cells per stage (5 in the benchmark).

    Example:
        >>> space = NB201Space()
        >>> arch = space.parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|"
        ...                    "+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|")
        >>> arch["2<-1"]
        'avg_pool_3x3'
        >>> space.size()
        15625
    """

    data_kind = "image"

    def __init__(self, channels: int = 16, cells_per_stage: int = 5) -> None:
        if channels < 1 or cells_per_stage < 0:
            raise InvalidConfigError(
                f"channels >= 1 and cells_per_stage >= 0 must hold, but got "
                f"(channels={channels}, cells_per_stage={cells_per_stage})"
            )
        super().__init__(
            "nb201",
            [Choice(label, NB201_OPERATIONS) for label in _LABELS],
            config={"channels": channels, "cells_per_stage": cells_per_stage},
        )
        self._parse_cache: dict[str, Architecture] = {}

    # ----------------------------------------------------------------- official string form
    def to_string(self, arch: Architecture) -> str:
        ops = [arch[label] for label in _LABELS]
        return (
            f"|{ops[0]}~0|+|{ops[1]}~0|{ops[2]}~1|+|{ops[3]}~0|{ops[4]}~1|{ops[5]}~2|"
        )

    def parse(self, text: str) -> Architecture:
        """Parse the official string; the error names the bad token and what was expected."""
        cached = self._parse_cache.get(text)
        if cached is not None:
            return cached
        stripped = text.strip()
        if stripped.startswith("{"):
            return super().parse(stripped)
        nodes = stripped.split("+")
        if len(nodes) != 3:
            raise InvalidArchitectureError(
                f"NB201 architecture {text!r} must have 3 nodes separated by '+', found {len(nodes)}"
            )
        values: dict[str, str] = {}
        for j, node in enumerate(nodes, start=1):
            if not (node.startswith("|") and node.endswith("|")):
                raise InvalidArchitectureError(f"node {j} part {node!r} of {text!r} must start and end with '|'")
            tokens = node[1:-1].split("|")
            if len(tokens) != j:
                raise InvalidArchitectureError(
                    f"node {j} part {node!r} must have {j} edge(s) 'op~i', found {len(tokens)}"
                )
            for i, token in enumerate(tokens):
                op, sep, src = token.partition("~")
                if not sep or src != str(i):
                    raise InvalidArchitectureError(
                        f"bad token {token!r} in node {j}: expected 'op~{i}' (edge from node {i})"
                    )
                if op not in NB201_OPERATIONS:
                    raise InvalidArchitectureError(
                        f"bad token {token!r}: unknown operation {op!r}; allowed: {', '.join(NB201_OPERATIONS)}"
                    )
                values[f"{j}<-{i}"] = op
        arch = Architecture(values)
        if len(self._parse_cache) < 100_000:
            self._parse_cache[text] = arch
        return arch

    # ----------------------------------------------------------------- encodings
    def encoding_names(self) -> list[str]:
        return ["onehot", "adjacency", "path"]

    def encode(self, arch: Architecture, kind: str = "onehot") -> np.ndarray:
        """``onehot`` (6x5), ``adjacency`` (4x4 adjacency + per-edge op one-hot) or ``path``.

        The path encoding (BANANAS, White et al. 2021) has one bit per input-to-output route and
        sequence of non-``none`` operations along it: 4 + 16 + 16 + 64 = 100 bits.
        """
        if kind == "path":
            vec = np.zeros(100, dtype=np.float32)
            ops = [arch[label] for label in _LABELS]
            offset = 0
            for route in _ROUTES:
                n = len(_PATH_OPS) ** len(route)
                route_ops = [ops[e] for e in route]
                if "none" not in route_ops:
                    idx = 0
                    for op in route_ops:
                        idx = idx * len(_PATH_OPS) + _PATH_OPS.index(op)
                    vec[offset + idx] = 1.0
                offset += n
            return vec
        if kind == "adjacency":
            adj = np.zeros((4, 4), dtype=np.float32)
            for (j, i), label in zip(NB201_EDGES, _LABELS):
                if arch[label] != "none":
                    adj[i, j] = 1.0
            return np.concatenate([adj.ravel(), super().encode(arch, "onehot")])
        return super().encode(arch, kind)

    def is_connected(self, arch: Architecture) -> bool:
        """Whether any route from input to output avoids ``none`` (otherwise accuracy is chance)."""
        ops = [arch[label] for label in _LABELS]
        return any(all(ops[e] != "none" for e in route) for route in _ROUTES)

    def cell_graphs(self, arch: Architecture) -> dict[str, CellGraph]:
        """The NB201 cell: node 0 is the input, node 3 the output, one edge per label."""
        names = {0: "in", 1: "1", 2: "2", 3: "out"}
        return {"cell": CellGraph(tuple(names.values()),
                                  tuple((names[i], names[j], str(arch[label])) for (j, i), label in zip(NB201_EDGES, _LABELS)))}

    def has_parametric_path(self, arch: Architecture) -> bool:
        """Whether some input-to-output route avoids ``none`` and passes a convolution.

        Example:
            >>> sp = NB201Space()
            >>> sp.has_parametric_path(sp.parse("|skip_connect~0|+|none~0|none~1|+|none~0|none~1|skip_connect~2|"))
            False
        """
        ops = [arch[label] for label in _LABELS]
        return any(all(ops[e] != "none" for e in route) and any(ops[e] in PARAMETRIC_OPS for e in route)
                   for route in _ROUTES)

    def build(self, arch: Architecture, **cfg: Any) -> Any:
        """The stand-alone NB201 network; ``cfg`` may set ``input_shape`` (or ``in_channels``, 3),
        ``num_classes`` (10), ``channels`` and ``cells_per_stage``."""
        arch = self.validate(arch)
        opts = self.network_kwargs(cfg)
        opts.pop("input_size", None)
        return build_nb201_network(self.to_string(arch), **opts)


def _cell_ops(arch_str: str) -> list[list[tuple[str, int]]]:
    return [
        [(tok.split("~")[0], int(tok.split("~")[1])) for tok in node[1:-1].split("|")]
        for node in arch_str.split("+")
    ]


def build_nb201_network(arch_str: str, channels: int = 16, cells_per_stage: int = 5, num_classes: int = 10,
                        in_channels: int = 3) -> Any:
    """Build the NB201 network for an official architecture string (imports torch)."""
    import torch
    from torch import nn

    from nasforge.spaces.ops import nb201_op, nb201_skeleton

    class NB201Cell(nn.Module):
        def __init__(self, genotype: list[list[tuple[str, int]]], c: int) -> None:
            super().__init__()
            self.edges = nn.ModuleList()
            self.wiring: list[list[tuple[int, int]]] = []  # per node: (edge index, source node)
            for node in genotype:
                wires = []
                for op, src in node:
                    if op != "none":  # a zero edge adds nothing to the sum
                        wires.append((len(self.edges), src))
                        self.edges.append(nb201_op(op, c, c, 1))
                self.wiring.append(wires)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            nodes = [x]
            for wires in self.wiring:
                if wires:
                    total = self.edges[wires[0][0]](nodes[wires[0][1]])
                    for e, src in wires[1:]:
                        total = total + self.edges[e](nodes[src])
                else:
                    total = torch.zeros_like(x)
                nodes.append(total)
            return nodes[-1]

    class NB201Network(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            genotype = _cell_ops(arch_str)
            self.stem, layers, self.lastact, c = nb201_skeleton(
                channels, cells_per_stage, in_channels, lambda width: NB201Cell(genotype, width))
            self.cells = nn.Sequential(*layers)
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.classifier = nn.Linear(c, num_classes)
            self.arch_str = arch_str

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.lastact(self.cells(self.stem(x)))
            return self.classifier(torch.flatten(self.pool(x), 1))

    return NB201Network()


def all_nb201_strings() -> list[str]:
    """The 15,625 official strings in product order (not the benchmark's index order)."""
    space = NB201Space()
    return [space.to_string(Architecture(dict(zip(_LABELS, ops))))
            for ops in itertools.product(NB201_OPERATIONS, repeat=6)]
