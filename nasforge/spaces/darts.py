"""The DARTS cell search space (Liu, Simonyan & Yang, "DARTS: Differentiable Architecture Search",
ICLR 2019).

A network stacks *normal* cells and two *reduction* cells (at 1/3 and 2/3 of the depth). Each cell
has two inputs (the outputs of the two previous cells, nodes 0 and 1) and four intermediate nodes
2..5; node ``k`` sums two operations applied to two distinct earlier nodes; the cell output
concatenates the four intermediate nodes. The discrete space has, per cell type and node, an input
pair and one operation per chosen input, from seven operations (the supernet's eighth, ``none``,
never survives discretization). Labels: ``normal.n2.inputs`` (a sorted pair), ``normal.n2.op0``
(operation on the smaller input index), ``normal.n2.op1``, ... and the same under ``reduce.``.

String form (one line, parsed back by :meth:`DartsSpace.parse`)::

    normal=sep_conv_3x3~0,sep_conv_3x3~1|...|...|...;reduce=max_pool_3x3~0,max_pool_3x3~1|...

``build`` makes the stand-alone network (stem 3x3 conv with 3C channels, ``layers`` cells, global
pooling, linear classifier); ``channels``, ``layers``, ``in_channels`` and ``num_classes`` are
configurable and any input of at least 8x8 works. ``cells_per_stage=N`` is accepted as a
shorthand for ``layers = 3N + 2`` so that ``nasforge train --cells N`` works for both cell spaces.
"""

from __future__ import annotations

from typing import Any

from nasforge.arch import Architecture
from nasforge.errors import InvalidArchitectureError, InvalidConfigError
from nasforge.spaces.base import CellGraph, Choice, InputChoice, SearchSpace

__all__ = ["DARTS_CELL_OPS", "DARTS_NODES", "DartsSpace", "build_darts_network", "darts_edges"]

PARAMETRIC_OPS = ("sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5")
# Operations a discretized cell may use (the supernet adds "none").
DARTS_CELL_OPS: tuple[str, ...] = (
    "max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3",
    "dil_conv_5x5",
)
DARTS_NODES: tuple[int, ...] = (2, 3, 4, 5)
CELL_TYPES: tuple[str, ...] = ("normal", "reduce")


def darts_edges() -> list[tuple[int, int]]:
    """All 14 supernet edges of one cell as ``(node, input)`` pairs, in node-major order."""
    return [(k, i) for k in DARTS_NODES for i in range(k)]


def _labels(cell: str, k: int) -> tuple[str, str, str]:
    return f"{cell}.n{k}.inputs", f"{cell}.n{k}.op0", f"{cell}.n{k}.op1"


class DartsSpace(SearchSpace):
    """The DARTS cell space: a normal and a reduction cell of 4 nodes with 2 inputs each.

    Args:
        channels: ``C``, initial cell width (16 in the paper's search, 36 in its evaluation).
        layers: number of cells (8 in the paper's search, 20 in its evaluation).

    Example:
        >>> space = DartsSpace()
        >>> arch = space.parse(space.to_string(space.sample(__import__("numpy").random.default_rng(0))))
        >>> space.validate(arch) is arch
        True
    """

    data_kind = "image"

    def __init__(self, channels: int = 16, layers: int = 8) -> None:
        if channels < 1 or layers < 3:
            raise InvalidConfigError(
                f"channels >= 1 and layers >= 3 must hold, but got (channels={channels}, layers={layers})"
            )
        dims: list[Choice | InputChoice] = []
        for cell in CELL_TYPES:
            for k in DARTS_NODES:
                inputs, op0, op1 = _labels(cell, k)
                dims += [InputChoice(inputs, k, 2), Choice(op0, DARTS_CELL_OPS), Choice(op1, DARTS_CELL_OPS)]
        super().__init__("darts", dims, config={"channels": channels, "layers": layers})

    # ----------------------------------------------------------------- genotype view
    def genotype(self, arch: Architecture) -> dict[str, list[list[tuple[str, int]]]]:
        """``{"normal": [[(op, input), (op, input)] per node], "reduce": ...}``."""
        out: dict[str, list[list[tuple[str, int]]]] = {}
        for cell in CELL_TYPES:
            nodes = []
            for k in DARTS_NODES:
                inputs, op0, op1 = _labels(cell, k)
                i, j = arch[inputs]  # type: ignore[misc]
                nodes.append([(str(arch[op0]), int(i)), (str(arch[op1]), int(j))])
            out[cell] = nodes
        return out

    def from_genotype(self, genotype: dict[str, list[list[tuple[str, int]]]]) -> Architecture:
        """Inverse of :meth:`genotype` (pairs may come in any order)."""
        values: dict[str, Any] = {}
        for cell in CELL_TYPES:
            for k, node in zip(DARTS_NODES, genotype[cell]):
                inputs, op0, op1 = _labels(cell, k)
                pair = sorted(node, key=lambda t: t[1])
                values[inputs] = (pair[0][1], pair[1][1])
                values[op0], values[op1] = pair[0][0], pair[1][0]
        return self.validate(values)

    def cell_graphs(self, arch: Architecture) -> dict[str, CellGraph]:
        """Normal and reduction cells: inputs c_{k-2}, c_{k-1}, four nodes, all concatenated into the output."""
        out: dict[str, CellGraph] = {}
        for cell, nodes in self.genotype(arch).items():
            names = ["c_{k-2}", "c_{k-1}"] + [str(k) for k in DARTS_NODES] + ["out"]
            edges = [(names[i], str(k), op) for k, node in zip(DARTS_NODES, nodes) for op, i in node]
            edges += [(str(k), "out", "concat") for k in DARTS_NODES]
            out[cell] = CellGraph(tuple(names), tuple(edges), inputs=2)
        return out

    def has_parametric_path(self, arch: Architecture) -> bool:
        """Whether the normal cell (the one repeated most) has a convolution. Every chosen edge of a
        DARTS cell lies on an input-to-output path: each node takes two earlier nodes and every
        intermediate node is concatenated into the output."""
        return any(op in PARAMETRIC_OPS for node in self.genotype(arch)["normal"] for op, _ in node)

    def to_string(self, arch: Architecture) -> str:
        g = self.genotype(arch)
        return ";".join(
            f"{cell}=" + "|".join(",".join(f"{op}~{i}" for op, i in node) for node in g[cell]) for cell in CELL_TYPES
        )

    def parse(self, text: str) -> Architecture:
        """Parse the string form; the error names the bad part and what was expected."""
        stripped = text.strip()
        if stripped.startswith("{"):
            return super().parse(stripped)
        parts = dict(p.split("=", 1) for p in stripped.split(";") if "=" in p)
        if sorted(parts) != sorted(CELL_TYPES):
            raise InvalidArchitectureError(
                f"DARTS architecture {text!r} must read 'normal=...;reduce=...', found parts {sorted(parts)}"
            )
        genotype: dict[str, list[list[tuple[str, int]]]] = {}
        for cell in CELL_TYPES:
            nodes = parts[cell].split("|")
            if len(nodes) != len(DARTS_NODES):
                raise InvalidArchitectureError(f"{cell} cell of {text!r} must have 4 nodes separated by '|'")
            genotype[cell] = []
            for k, node in zip(DARTS_NODES, nodes):
                pair = []
                for token in node.split(","):
                    op, sep, src = token.partition("~")
                    if not sep or not src.isdigit():
                        raise InvalidArchitectureError(f"bad token {token!r} in {cell} node {k}: expected 'op~input'")
                    pair.append((op, int(src)))
                if len(pair) != 2 or pair[0][1] == pair[1][1]:
                    raise InvalidArchitectureError(
                        f"{cell} node {k} part {node!r} must name two different inputs 'op~i,op~j'"
                    )
                genotype[cell].append(pair)
        return self.from_genotype(genotype)

    def build(self, arch: Architecture, **cfg: Any) -> Any:
        """The stand-alone DARTS network; ``cfg`` may set ``channels``, ``layers`` (or
        ``cells_per_stage``), ``num_classes`` (10) and ``in_channels`` (3)."""
        arch = self.validate(arch)
        opts = self.network_kwargs(cfg)
        opts.pop("input_size", None)
        if "cells_per_stage" in opts:
            opts["layers"] = 3 * int(opts.pop("cells_per_stage")) + 2
        return build_darts_network(self.genotype(arch), **opts)


def build_darts_network(genotype: dict[str, list[list[tuple[str, int]]]], channels: int = 16, layers: int = 8,
                        num_classes: int = 10, in_channels: int = 3) -> Any:
    """Build a DARTS network for a genotype (imports torch)."""
    import torch
    from torch import nn

    from nasforge.spaces.darts_ops import darts_op, darts_skeleton, preprocess

    class Cell(nn.Module):
        def __init__(self, nodes: list[list[tuple[str, int]]], c_pp: int, c_p: int, c: int, reduction: bool,
                     reduction_prev: bool) -> None:
            super().__init__()
            self.pre0 = preprocess(c_pp, c, reduction_prev)
            self.pre1 = preprocess(c_p, c, False)
            self.ops = nn.ModuleList()
            self.inputs: list[int] = []
            for node in nodes:
                for op, src in node:
                    stride = 2 if reduction and src < 2 else 1
                    self.ops.append(darts_op(op, c, c, stride))
                    self.inputs.append(src)

        def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
            states = [self.pre0(s0), self.pre1(s1)]
            for n in range(len(self.ops) // 2):
                a, b = 2 * n, 2 * n + 1
                states.append(self.ops[a](states[self.inputs[a]]) + self.ops[b](states[self.inputs[b]]))
            return torch.cat(states[2:], dim=1)

    class DartsNetwork(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem, self.cells, c_p = darts_skeleton(
                channels, layers, in_channels,
                lambda cpp, cp, c, red, red_prev: Cell(genotype["reduce" if red else "normal"], cpp, cp, c, red,
                                                       red_prev))
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.classifier = nn.Linear(c_p, num_classes)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            s0 = s1 = self.stem(x)
            for cell in self.cells:
                s0, s1 = s1, cell(s0, s1)
            return self.classifier(torch.flatten(self.pool(s1), 1))

    return DartsNetwork()
