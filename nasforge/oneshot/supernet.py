"""Supernets: every candidate operation of a cell space on every edge, with shared weights.

Each edge of a cell holds a :class:`MixedOp`, the list of that edge's candidate operations built
from the same op definitions as the stand-alone networks (``nasforge.spaces.ops`` and
``nasforge.spaces.darts_ops``). How an edge combines its candidates is set per forward pass by the
search method through the supernet's *mode*:

- ``softmax`` (DARTS): the edge output is ``sum_o softmax(alpha_edge)[o] * op_o(x)`` -- the
  architecture weights of that edge weight the outputs of that edge's operations (never node
  states);
- ``gumbel`` (GDAS): one operation per edge is drawn by hard Gumbel-softmax; only that operation
  runs and the straight-through weights carry the gradient to every entry of the edge's alphas;
- ``path`` (SPOS, ENAS, evaluation): one fixed architecture; only its operations run;
- ``fixed`` (perturbation-based selection): given per-edge weights, e.g. softmax(alpha) with one
  operation masked out or an edge already discretized to one operation.

Example:
    >>> import torch
    >>> from nasforge.spaces import get_space
    >>> net = build_supernet(get_space("nb201"), channels=4, cells=1, in_channels=1, num_classes=10)
    >>> net.use_softmax()
    >>> net(torch.randn(2, 1, 8, 8)).shape
    torch.Size([2, 10])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from nasforge.arch import Architecture
from nasforge.errors import InvalidConfigError
from nasforge.registry import Registry
from nasforge.spaces.base import SearchSpace
from nasforge.spaces.darts import CELL_TYPES, DARTS_NODES, DartsSpace, darts_edges
from nasforge.spaces.darts_ops import DARTS_OPERATIONS, darts_op, darts_skeleton, preprocess
from nasforge.spaces.nb201 import NB201_EDGES, NB201_OPERATIONS
from nasforge.spaces.ops import nb201_op, nb201_skeleton

__all__ = [
    "DartsSuperNet",
    "MixedOp",
    "NB201SuperNet",
    "SUPERNETS",
    "SuperNet",
    "build_supernet",
    "gumbel_hard_weights",
    "recalibrate_bn",
]

# Per cell type: (edge weights [E, O] or None, op index per edge or None; an index of -1 switches
# the edge off, used when a discrete DARTS cell leaves an edge out).
Plan = tuple["torch.Tensor | None", "list[int] | None"]


class MixedOp(nn.Module):
    """The candidate operations of one edge and the ways to combine them.

    Example:
        >>> import torch
        >>> op = MixedOp([nn.Identity(), nn.Identity()])
        >>> op(torch.ones(1), torch.tensor([0.25, 0.75])).item()
        1.0
    """

    def __init__(self, ops: list[nn.Module]) -> None:
        super().__init__()
        self.ops = nn.ModuleList(ops)

    def forward(self, x: torch.Tensor, weights: torch.Tensor | None = None, index: int | None = None) -> torch.Tensor:
        if weights is None:
            return self.ops[int(index)](x)  # type: ignore[arg-type]
        if index is None:
            if not weights.requires_grad:
                # Fixed weights (perturbation selection): an op weighted exactly 0 adds exactly 0, so
                # skipping it gives the same output and saves the forward pass of masked/fixed edges.
                terms = [w * op(x) for w, op in zip(weights, self.ops) if float(w) != 0.0]
                if terms:
                    return sum(terms)  # type: ignore[return-value]
            return sum(w * op(x) for w, op in zip(weights, self.ops))  # type: ignore[return-value]
        # GDAS: only the drawn op runs; the other (zero-valued) weights still pass gradients to alpha.
        return sum(weights[i] * op(x) if i == index else weights[i] for i, op in enumerate(self.ops))  # type: ignore[return-value]


def gumbel_hard_weights(alpha: torch.Tensor, tau: float, generator: torch.Generator | None) -> tuple[torch.Tensor, list[int]]:
    """Hard Gumbel-softmax per row of ``alpha`` with straight-through gradients (GDAS).

    Returns the one-hot weights (gradient of the soft sample) and the chosen index of each row.
    """
    while True:
        # drawn on the CPU (the generator's device) and moved, so a GPU run draws the same numbers
        u = torch.empty(alpha.shape, dtype=alpha.dtype).exponential_(generator=generator).to(alpha.device)
        logits = (alpha.log_softmax(dim=-1) - u.log()) / tau
        probs = logits.softmax(dim=-1)
        if torch.isfinite(probs).all():
            break
    index = probs.argmax(dim=-1)
    one_hot = torch.zeros_like(probs).scatter_(-1, index.unsqueeze(-1), 1.0)
    return one_hot - probs.detach() + probs, [int(i) for i in index]


def recalibrate_bn(net: nn.Module, batches: list[torch.Tensor]) -> None:
    """Recompute the running statistics of every tracking BN layer on ``batches`` (cumulative mean).

    Weight-sharing methods need this before scoring a single path: running statistics collected
    while training many paths do not match any one of them.
    """
    bns = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d) and m.track_running_stats]
    saved = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
    was_training = net.training
    net.train()
    with torch.no_grad():
        for xb in batches:
            net(xb)
    for m, mom in zip(bns, saved):
        m.momentum = mom
    net.train(was_training)


class SuperNet(nn.Module):
    """Base of the supernets: architecture weights, modes, and the arch <-> edge index mapping.

    Subclasses define ``cell_types``, ``edges`` (per cell type, ``(node, input)`` pairs),
    ``op_names``, the modules, ``forward``, ``path_of`` and ``derive``.
    """

    cell_types: tuple[str, ...] = ("normal",)
    op_names: tuple[str, ...] = ()

    def __init__(self, space: SearchSpace, n_edges: int) -> None:
        super().__init__()
        self.space = space
        self.n_edges = n_edges
        # Small random init as in DARTS: near-uniform mixing, symmetric ties broken.
        self.alphas = nn.ParameterDict({
            t: nn.Parameter(1e-3 * torch.randn(n_edges, len(self.op_names))) for t in self.cell_types
        })
        self._mode = "softmax"
        self._tau = 1.0
        self._gen: torch.Generator | None = None
        self._path: dict[str, list[int]] | None = None
        self._fixed: dict[str, torch.Tensor] = {}

    # ----------------------------------------------------------------- parameters
    def arch_parameters(self) -> list[nn.Parameter]:
        """The architecture weights (one ``[edges, ops]`` tensor per cell type)."""
        return [self.alphas[t] for t in self.cell_types]

    def weights(self) -> list[nn.Parameter]:
        """Every parameter that is not an architecture weight."""
        ids = {id(p) for p in self.arch_parameters()}
        return [p for p in self.parameters() if id(p) not in ids]

    def alpha_probs(self) -> dict[str, list[list[float]]]:
        """Softmax of each edge's architecture weights (for the history)."""
        return {t: self.alphas[t].detach().softmax(dim=-1).tolist() for t in self.cell_types}

    def edge_labels(self, cell_type: str) -> list[str]:
        """One readable label per supernet edge of ``cell_type`` (``"node<-input"``)."""
        return [f"{j}<-{i}" for j, i in self.edge_pairs()]

    def edge_pairs(self) -> list[tuple[int, int]]:  # pragma: no cover - abstract
        """The ``(node, input)`` pair of each edge of one cell."""
        raise NotImplementedError

    def arch_weights(self) -> dict[str, dict[str, float]]:
        """``{edge_label: {op_name: probability}}`` over every cell type (contract C3 of the store).

        With one cell type the labels are the edges' (``"1<-0"``); otherwise they are prefixed by
        the cell type (``"normal 2<-0"``).
        """
        out: dict[str, dict[str, float]] = {}
        probs = self.alpha_probs()
        for t in self.cell_types:
            prefix = "" if len(self.cell_types) == 1 else f"{t} "
            for label, row in zip(self.edge_labels(t), probs[t]):
                out[prefix + label] = {op: round(float(p), 5) for op, p in zip(self.op_names, row)}
        return out

    # ----------------------------------------------------------------- modes
    def use_softmax(self) -> None:
        """DARTS: every edge mixes all of its operations by softmax(alpha of that edge)."""
        self._mode, self._path = "softmax", None

    def use_gumbel(self, tau: float, generator: torch.Generator | None = None) -> None:
        """GDAS: each forward draws one operation per edge by hard Gumbel-softmax at temperature tau."""
        if tau <= 0:
            raise InvalidConfigError(f"tau > 0 must hold, but got tau={tau}")
        self._mode, self._tau, self._gen, self._path = "gumbel", float(tau), generator, None

    def use_path(self, arch: Architecture) -> None:
        """Run only the operations of one architecture of the space."""
        self._mode, self._path = "path", self.path_of(self.space.validate(arch))

    def use_weights(self, weights: dict[str, torch.Tensor]) -> None:
        """Mix every edge's operations with the given ``[edges, ops]`` weights per cell type
        (perturbation-based selection masks or one-hot-fixes rows of softmax(alpha) this way)."""
        self._mode, self._path, self._fixed = "fixed", None, {t: weights[t] for t in self.cell_types}

    def _plans(self) -> dict[str, Plan]:
        if self._mode == "fixed":
            return {t: (self._fixed[t], None) for t in self.cell_types}
        if self._mode == "softmax":
            return {t: (self.alphas[t].softmax(dim=-1), None) for t in self.cell_types}
        if self._mode == "gumbel":
            out: dict[str, Plan] = {}
            for t in self.cell_types:
                w, idx = gumbel_hard_weights(self.alphas[t], self._tau, self._gen)
                out[t] = (w, idx)
            return out
        assert self._path is not None  # use_path sets it; internal invariant
        return {t: (None, self._path[t]) for t in self.cell_types}

    def path_of(self, arch: Architecture) -> dict[str, list[int]]:  # pragma: no cover - abstract
        raise NotImplementedError

    def derive(self) -> Architecture:  # pragma: no cover - abstract
        raise NotImplementedError


class _NB201SuperCell(nn.Module):
    def __init__(self, c: int, track: bool) -> None:
        super().__init__()
        self.edges = nn.ModuleList(
            MixedOp([nb201_op(op, c, c, 1, affine=False, track_running_stats=track) for op in NB201_OPERATIONS])
            for _ in NB201_EDGES
        )

    def forward(self, x: torch.Tensor, plan: Plan) -> torch.Tensor:
        weights, index = plan
        nodes = [x]
        for j in (1, 2, 3):
            total: Any = 0
            for e, (jj, i) in enumerate(NB201_EDGES):
                if jj == j:
                    total = total + self.edges[e](nodes[i], None if weights is None else weights[e],
                                                  None if index is None else index[e])
            nodes.append(total)
        return nodes[-1]


class NB201SuperNet(SuperNet):
    """The NB201 supernet: the benchmark's skeleton with a mixed op on each of the 6 edges.

    Cells share one set of architecture weights (as in the benchmark's DARTS/GDAS/ENAS/SPOS runs);
    cell operations use non-affine BN, with running statistics only when ``track_running_stats``
    (single-path methods recalibrate them before scoring).
    """

    cell_types = ("normal",)
    op_names = NB201_OPERATIONS

    def __init__(self, space: SearchSpace, channels: int = 16, cells: int = 5, num_classes: int = 10,
                 in_channels: int = 3, track_running_stats: bool = False) -> None:
        super().__init__(space, len(NB201_EDGES))
        self.stem, layers, self.lastact, c = nb201_skeleton(
            channels, cells, in_channels, lambda width: _NB201SuperCell(width, track_running_stats))
        self.cells = nn.ModuleList(layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c, num_classes)
        self._labels = [f"{j}<-{i}" for j, i in NB201_EDGES]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        plan = self._plans()["normal"]
        x = self.stem(x)
        for layer in self.cells:
            x = layer(x, plan) if isinstance(layer, _NB201SuperCell) else layer(x)
        x = self.lastact(x)
        return self.classifier(torch.flatten(self.pool(x), 1))

    def edge_pairs(self) -> list[tuple[int, int]]:
        return list(NB201_EDGES)

    def path_of(self, arch: Architecture) -> dict[str, list[int]]:
        return {"normal": [NB201_OPERATIONS.index(str(arch[label])) for label in self._labels]}

    def derive(self) -> Architecture:
        """Argmax operation on each edge (``none`` included, as in the NB201 benchmark's runs)."""
        best = self.alphas["normal"].detach().argmax(dim=-1).tolist()
        return self.space.validate({label: NB201_OPERATIONS[i] for label, i in zip(self._labels, best)})


class _DartsSuperCell(nn.Module):
    def __init__(self, c_pp: int, c_p: int, c: int, reduction: bool, reduction_prev: bool, track: bool) -> None:
        super().__init__()
        self.reduction = reduction
        self.pre0 = preprocess(c_pp, c, reduction_prev, affine=False, track_running_stats=track)
        self.pre1 = preprocess(c_p, c, False, affine=False, track_running_stats=track)
        self.edges = nn.ModuleList(
            MixedOp([darts_op(op, c, c, 2 if reduction and i < 2 else 1, affine=False, track_running_stats=track)
                     for op in DARTS_OPERATIONS])
            for _, i in darts_edges()
        )

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, plan: Plan) -> torch.Tensor:
        weights, index = plan
        states = [self.pre0(s0), self.pre1(s1)]
        e = 0
        for k in DARTS_NODES:
            total: Any = 0
            for i in range(k):
                if index is None or index[e] >= 0:
                    total = total + self.edges[e](states[i], None if weights is None else weights[e],
                                                  None if index is None else index[e])
                e += 1
            states.append(total)
        return torch.cat(states[2:], dim=1)


class DartsSuperNet(SuperNet):
    """The DARTS supernet: 14 mixed edges per cell, separate weights for normal and reduction cells."""

    cell_types = CELL_TYPES
    op_names = DARTS_OPERATIONS

    def __init__(self, space: SearchSpace, channels: int = 16, layers: int = 8, num_classes: int = 10,
                 in_channels: int = 3, track_running_stats: bool = False) -> None:
        super().__init__(space, len(darts_edges()))
        self.stem, self.cells, c_p = darts_skeleton(
            channels, layers, in_channels,
            lambda cpp, cp, c, red, red_prev: _DartsSuperCell(cpp, cp, c, red, red_prev, track_running_stats))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_p, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        plans = self._plans()
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1, plans["reduce" if cell.reduction else "normal"])
        return self.classifier(torch.flatten(self.pool(s1), 1))

    def edge_pairs(self) -> list[tuple[int, int]]:
        return darts_edges()

    def path_of(self, arch: Architecture) -> dict[str, list[int]]:
        assert isinstance(self.space, DartsSpace)
        geno = self.space.genotype(arch)
        out: dict[str, list[int]] = {}
        for t in self.cell_types:
            index = [-1] * self.n_edges
            for k, node in zip(DARTS_NODES, geno[t]):
                for op, i in node:
                    index[darts_edges().index((k, i))] = DARTS_OPERATIONS.index(op)
            out[t] = index
        return out

    def derive(self) -> Architecture:
        """Per node, the two incoming edges whose strongest non-``none`` op is largest; that op each."""
        assert isinstance(self.space, DartsSpace)
        return derive_darts_genotype(self.space, {t: self.alphas[t].detach() for t in self.cell_types})


def derive_darts_genotype(space: DartsSpace, alphas: dict[str, torch.Tensor]) -> Architecture:
    """DARTS discretization: top-2 incoming edges per node by strongest non-``none`` weight."""
    none = DARTS_OPERATIONS.index("none")
    geno: dict[str, list[list[tuple[str, int]]]] = {}
    edges = darts_edges()
    for t in CELL_TYPES:
        probs = alphas[t].softmax(dim=-1).clone()
        probs[:, none] = -1.0  # never pick none
        nodes = []
        for k in DARTS_NODES:
            rows = [e for e, (kk, _) in enumerate(edges) if kk == k]
            strength = sorted(rows, key=lambda e: (-float(probs[e].max()), edges[e][1]))[:2]
            nodes.append([(DARTS_OPERATIONS[int(probs[e].argmax())], edges[e][1]) for e in strength])
        geno[t] = nodes
    return space.from_genotype(geno)


SupernetFactory = Callable[..., SuperNet]

SUPERNETS: Registry[SupernetFactory] = Registry("supernet space")


@SUPERNETS.register("nb201", "NAS-Bench-201 cell supernet: C channels, N cells per stage")
def nb201_supernet(space: SearchSpace, *, channels: int, cells: int, num_classes: int, in_channels: int,
                   track_running_stats: bool = False) -> SuperNet:
    """The NB201 supernet of ``space`` (``cells`` cells per stage)."""
    return NB201SuperNet(space, channels, cells, num_classes, in_channels, track_running_stats)


@SUPERNETS.register("darts", "DARTS cell supernet: normal + reduction cells, 3*cells+2 layers")
def darts_supernet(space: SearchSpace, *, channels: int, cells: int, num_classes: int, in_channels: int,
                   track_running_stats: bool = False) -> SuperNet:
    """The DARTS supernet of ``space`` (``3 * cells + 2`` layers)."""
    return DartsSuperNet(space, channels, 3 * cells + 2, num_classes, in_channels, track_running_stats)


def build_supernet(space: SearchSpace, *, channels: int, cells: int, num_classes: int, in_channels: int,
                   track_running_stats: bool = False) -> SuperNet:
    """The supernet registered for ``space.name`` in :data:`SUPERNETS` (an unknown space lists the valid ones).

    A space registers its supernet with ``@SUPERNETS.register(space_name)`` on a factory taking
    ``(space, *, channels, cells, num_classes, in_channels, track_running_stats)``.
    """
    if space.name not in SUPERNETS:
        raise InvalidConfigError(
            f"one-shot methods need a supernet for the space; '{space.name}' has none. "
            f"Spaces with a supernet: {', '.join(SUPERNETS.names())}"
        )
    return SUPERNETS.get(space.name)(space, channels=channels, cells=cells, num_classes=num_classes,
                                     in_channels=in_channels, track_running_stats=track_running_stats)
