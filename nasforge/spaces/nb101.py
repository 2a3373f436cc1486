"""The NAS-Bench-101 cell space (Ying et al., ICML 2019, "NAS-Bench-101").

A cell is a DAG of at most 7 vertices: ``input``, up to 5 operations (``conv3x3-bn-relu``,
``conv1x1-bn-relu``, ``maxpool3x3``) and ``output``, with at most 9 edges of an upper-triangular
adjacency matrix. As in the official ``ModelSpec``, a spec is first *pruned* (vertices that are not
on a path from input to output are removed) and is valid when input still reaches output and the
pruned graph is within the limits. The identity of a cell is the paper's graph hash
(:func:`hash_module`: iterated hashing of each vertex's neighbourhood, invariant to relabelling),
so isomorphic cells are one architecture.

Architectures are stored in one canonical form: the pruned graph, its interior vertices in the
order that gives the smallest (ops, edges) key among all topological relabellings, padded back to
7 vertices with unconnected ``conv3x3-bn-relu`` vertices (pruning removes them again). Labels are
``"i>j"`` (0/1 for the edge from vertex ``i`` to ``j``) and ``"op1"`` .. ``"op5"``.

The string form (CLI) is the pruned spec: interior operations, then the adjacency rows::

    conv3x3,maxpool3x3/0110,0001,0001,0000

The network (:meth:`NB101Space.build`) is the paper's: a 3x3 conv-BN-ReLU stem, ``stacks`` stacks of
``cells_per_stack`` cells with a 2x2 max-pool halving the resolution and doubling the channels
between stacks, global average pooling and a dense classifier. Inside a cell the output channels are
split among the vertices feeding the output (concatenated), the input reaches each vertex it feeds
through a 1x1 conv-BN-ReLU projection and is added to the output the same way, and wider tensors
are truncated to the width of the vertex they feed.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from nasforge.arch import Architecture
from nasforge.errors import InvalidArchitectureError, InvalidConfigError, UnknownNameError
from nasforge.registry import unknown_name_message
from nasforge.spaces.base import CellGraph, Choice, SearchSpace

__all__ = ["NB101_OPERATIONS", "NB101Space", "hash_module", "prune"]

NB101_OPERATIONS: tuple[str, ...] = ("conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3")
MAX_VERTICES = 7
MAX_EDGES = 9
_SHORT = {"conv3x3-bn-relu": "conv3x3", "conv1x1-bn-relu": "conv1x1", "maxpool3x3": "maxpool3x3"}
_LONG = {v: k for k, v in _SHORT.items()}
_EDGES: tuple[tuple[int, int], ...] = tuple((i, j) for i in range(MAX_VERTICES) for j in range(i + 1, MAX_VERTICES))
_EDGE_LABELS = tuple(f"{i}>{j}" for i, j in _EDGES)
_OP_LABELS = tuple(f"op{v}" for v in range(1, MAX_VERTICES - 1))
# Path encoding (BANANAS): one slot per sequence of 0..5 operations on an input -> output path.
_PATH_OFFSETS = [sum(3 ** k for k in range(n)) for n in range(MAX_VERTICES)]
PATH_ENCODING_SIZE = _PATH_OFFSETS[-1]  # 364


def prune(matrix: np.ndarray, ops: Sequence[str]) -> tuple[np.ndarray, list[str]] | None:
    """Drop vertices that are not on an input -> output path (the official ``ModelSpec._prune``).

    Returns:
        ``(matrix, ops)`` of the pruned graph, or None when input does not reach output.
    """
    n = matrix.shape[0]
    from_input, frontier = {0}, [0]
    while frontier:
        top = frontier.pop()
        for v in range(top + 1, n):
            if matrix[top, v] and v not in from_input:
                from_input.add(v)
                frontier.append(v)
    to_output, frontier = {n - 1}, [n - 1]
    while frontier:
        top = frontier.pop()
        for v in range(0, top):
            if matrix[v, top] and v not in to_output:
                to_output.add(v)
                frontier.append(v)
    keep = sorted(from_input & to_output)
    if len(keep) < 2 or 0 not in keep or n - 1 not in keep:
        return None
    return matrix[np.ix_(keep, keep)], [ops[k] for k in keep]


def hash_module(matrix: np.ndarray, ops: Sequence[str]) -> str:
    """The paper's graph hash of a pruned spec (equal for isomorphic cells).

    Each vertex starts from the MD5 of (out-degree, in-degree, op label); for as many rounds as
    there are vertices its hash becomes the MD5 of its in-neighbours' and out-neighbours' sorted
    hashes and its own; the fingerprint is the MD5 of the sorted final hashes.

    Example:
        >>> m = np.array([[0, 1, 1], [0, 0, 1], [0, 0, 0]])
        >>> len(hash_module(m, ["input", "conv3x3-bn-relu", "output"]))
        32
    """
    n = matrix.shape[0]
    labels = [-1] + [NB101_OPERATIONS.index(op) for op in ops[1:-1]] + [-2]
    in_deg = [int(x) for x in matrix.sum(axis=0)]
    out_deg = [int(x) for x in matrix.sum(axis=1)]
    hashes = [hashlib.md5(str((out_deg[v], in_deg[v], labels[v])).encode()).hexdigest() for v in range(n)]
    for _ in range(n):
        new = []
        for v in range(n):
            ins = "".join(sorted(hashes[w] for w in range(n) if matrix[w, v]))
            outs = "".join(sorted(hashes[w] for w in range(n) if matrix[v, w]))
            new.append(hashlib.md5((ins + "|" + outs + "|" + hashes[v]).encode()).hexdigest())
        hashes = new
    return hashlib.md5(str(sorted(hashes)).encode()).hexdigest()


def _canonical(matrix: np.ndarray, ops: list[str]) -> tuple[tuple[str, ...], tuple[tuple[int, int], ...]]:
    """Interior ops and edge list of a pruned graph under its smallest topological relabelling."""
    n = matrix.shape[0]
    edges = [(int(i), int(j)) for i, j in zip(*np.nonzero(matrix))]
    interior = list(range(1, n - 1))
    best: tuple[Any, ...] | None = None
    for perm in itertools.permutations(interior):
        new = {0: 0, n - 1: MAX_VERTICES - 1}
        new.update({old: pos for pos, old in enumerate(perm, start=1)})
        if any(new[i] >= new[j] for i, j in edges):
            continue
        key = (tuple(ops[old] for old in perm), tuple(sorted((new[i], new[j]) for i, j in edges)))
        if best is None or key < best:
            best = key
    return best  # type: ignore[return-value]  # the identity order is always topological


class NB101Space(SearchSpace):
    """The NAS-Bench-101 cell space: <= 7 vertices, <= 9 edges, 3 operations (423,624 cells).

    Args:
        stem_channels: width of the stem and the first stack (128 in the paper).
        stacks: stacks of cells, with a max-pool downsampling between them (3).
        cells_per_stack: cells per stack (3).

    Example:
        >>> space = NB101Space()
        >>> arch = space.from_spec([[0, 1, 1], [0, 0, 1], [0, 0, 0]], ["input", "conv3x3-bn-relu", "output"])
        >>> space.to_string(arch)
        'conv3x3/011,001,000'
        >>> space.parse(space.to_string(arch)) == arch
        True
    """

    def __init__(self, stem_channels: int = 128, stacks: int = 3, cells_per_stack: int = 3) -> None:
        if stem_channels < 1 or stacks < 1 or cells_per_stack < 1:
            raise InvalidConfigError(
                f"stem_channels, stacks and cells_per_stack must be >= 1, but got (stem_channels={stem_channels}, "
                f"stacks={stacks}, cells_per_stack={cells_per_stack})")
        dims = [Choice(label, (0, 1), kind="value") for label in _EDGE_LABELS]
        dims += [Choice(label, NB101_OPERATIONS) for label in _OP_LABELS]
        super().__init__("nb101", dims, config={"stem_channels": stem_channels, "stacks": stacks,
                                                "cells_per_stack": cells_per_stack})
        self._canon_cache: dict[Architecture, Architecture | None] = {}

    def size(self) -> int:
        """Distinct cells up to isomorphism (the count of the official release)."""
        return 423_624

    # ----------------------------------------------------------------- specs and identity
    @staticmethod
    def _raw_spec(values: Any) -> tuple[np.ndarray, list[str]]:
        matrix = np.zeros((MAX_VERTICES, MAX_VERTICES), dtype=np.int64)
        for (i, j), label in zip(_EDGES, _EDGE_LABELS):
            matrix[i, j] = int(values[label])
        return matrix, ["input", *(str(values[label]) for label in _OP_LABELS), "output"]

    def spec(self, arch: Architecture) -> tuple[np.ndarray, list[str]]:
        """The pruned ``(matrix, ops)`` of an architecture, as the official ``ModelSpec`` holds it."""
        pruned = prune(*self._raw_spec(arch))
        if pruned is None:
            raise InvalidArchitectureError(f"nb101 cell {arch.key} does not connect input to output")
        return pruned

    def _canonicalize(self, values: Any) -> Architecture | None:
        """The canonical architecture of a (possibly unpruned, relabelled) 7-vertex spec, or None if invalid."""
        return self._from_matrix(*self._raw_spec(values))

    def _from_matrix(self, matrix: np.ndarray, ops: list[str]) -> Architecture | None:
        pruned = prune(matrix, ops)
        if pruned is None:
            return None
        m, o = pruned
        if m.shape[0] > MAX_VERTICES or int(m.sum()) > MAX_EDGES:
            return None
        interior, edges = _canonical(m, o)
        values: dict[str, Any] = dict.fromkeys(_EDGE_LABELS, 0)
        for i, j in edges:
            values[f"{i}>{j}"] = 1
        padded = list(interior) + [NB101_OPERATIONS[0]] * (MAX_VERTICES - 2 - len(interior))
        values.update(zip(_OP_LABELS, padded))
        return Architecture(values)

    def canonical(self, arch: Architecture) -> Architecture | None:
        """``arch`` in canonical form (isomorphic cells give the same object), or None when invalid."""
        if arch not in self._canon_cache:
            if len(self._canon_cache) > 200_000:
                self._canon_cache.clear()
            self._canon_cache[arch] = self._canonicalize(arch)
        return self._canon_cache[arch]

    def from_spec(self, matrix: Sequence[Sequence[int]] | np.ndarray, ops: Sequence[str]) -> Architecture:
        """The architecture of an official spec (any size up to 7x7; pruned first, then checked).

        Raises:
            InvalidArchitectureError: the spec is malformed, disconnected or over the limits.
        """
        m = np.asarray(matrix, dtype=np.int64)
        ops = list(ops)
        n = m.shape[0] if m.ndim == 2 else -1
        if m.ndim != 2 or m.shape[0] != m.shape[1] or not 2 <= n <= MAX_VERTICES:
            raise InvalidArchitectureError(
                f"nb101 matrix must be square with 2..{MAX_VERTICES} rows, got shape {m.shape}")
        if len(ops) != n or ops[0] != "input" or ops[-1] != "output":
            raise InvalidArchitectureError(f"nb101 ops must be 'input', {n - 2} operations, 'output'; got {ops}")
        bad = [op for op in ops[1:-1] if op not in NB101_OPERATIONS]
        if bad:
            raise InvalidArchitectureError(f"unknown nb101 operation(s) {bad}; allowed: {', '.join(NB101_OPERATIONS)}")
        if np.any(np.tril(m)) or not np.isin(m, (0, 1)).all():
            raise InvalidArchitectureError("nb101 matrix must be a 0/1 strictly upper-triangular adjacency matrix")
        pruned = prune(m, ops)
        if pruned is None:
            raise InvalidArchitectureError("nb101 spec does not connect input to output")
        if int(pruned[0].sum()) > MAX_EDGES:
            raise InvalidArchitectureError(
                f"nb101 cells have at most {MAX_EDGES} edges after pruning, got {int(pruned[0].sum())}")
        # pad the pruned graph to 7 vertices: output last, unconnected vertices before it
        k = pruned[0].shape[0]
        full = np.zeros((MAX_VERTICES, MAX_VERTICES), dtype=np.int64)
        pos = list(range(k - 1)) + [MAX_VERTICES - 1]
        full[np.ix_(pos, pos)] = pruned[0]
        full_ops = pruned[1][:-1] + [NB101_OPERATIONS[0]] * (MAX_VERTICES - k) + ["output"]
        arch = self._from_matrix(full, full_ops)
        if arch is None:  # pragma: no cover - ruled out by the checks above
            raise InvalidArchitectureError(f"nb101 spec {m.tolist()} {ops} is not valid")
        return arch

    def module_hash(self, arch: Architecture) -> str:
        """The official ``module_hash`` of the cell (the key of the NAS-Bench-101 tables)."""
        return hash_module(*self.spec(arch))

    def is_valid(self, arch: Architecture) -> bool:
        """Whether ``arch``'s spec connects input to output within the vertex and edge limits."""
        return self.canonical(arch) is not None

    def is_connected(self, arch: Architecture) -> bool:
        """Same as :meth:`is_valid` (strategies skip cells for which this is False)."""
        return self.is_valid(arch)

    def equivalence_key(self, arch: Architecture) -> str:
        """What strategies deduplicate on: the canonical form (isomorphic cells are equal). The path
        encoding is not an identity here: different NB101 cells can share their set of paths."""
        canon = self.canonical(arch)
        return canon.key if canon is not None else arch.key

    # ----------------------------------------------------------------- making architectures
    def sample(self, rng: np.random.Generator) -> Architecture:
        """A random valid cell: random upper-triangular matrix and ops until valid (the paper's sampler)."""
        while True:
            arch = self.canonical(super().sample(rng))
            if arch is not None:
                return arch

    def mutate(self, arch: Architecture, rng: np.random.Generator) -> Architecture:
        """The paper's evolution mutation: flip each edge with probability 1/7, change each op with
        probability 1/5, until the result is a valid cell different from ``arch``."""
        base = self.canonical(arch) or arch
        for _ in range(1000):
            values = dict(base)
            for label in _EDGE_LABELS:
                if rng.random() < 1.0 / MAX_VERTICES:
                    values[label] = 1 - int(values[label])
            for label in _OP_LABELS:
                if rng.random() < 1.0 / len(_OP_LABELS):
                    others = [o for o in NB101_OPERATIONS if o != values[label]]
                    values[label] = others[int(rng.integers(len(others)))]
            child = self.canonical(Architecture(values))
            if child is not None and child != base:
                return child
        return self.sample(rng)

    def neighbors(self, arch: Architecture) -> list[Architecture]:
        """Every distinct valid cell one edge flip or one op change away (for the cell with only an
        input -> output edge, which has none, the cells with one vertex added on a new path)."""
        base = self.canonical(arch) or arch
        out: dict[Architecture, None] = {}
        for d in self.dimensions:
            for v in d.all_values():
                if v != base[d.label]:
                    child = self.canonical(base.replace(**{d.label: v}))
                    if child is not None and child != base:
                        out[child] = None
        if not out:  # input -> output alone: no single flip stays valid; grow one vertex instead
            for op in NB101_OPERATIONS:
                child = self.canonical(base.replace(**{"0>1": 1, "1>6": 1, "op1": op}))
                if child is not None:
                    out[child] = None
        return list(out)

    def validate(self, arch: Any) -> Architecture:
        """Check labels and values, then that the cell is valid; returns its canonical form."""
        checked = super().validate(arch)
        canon = self.canonical(checked)
        if canon is None:
            raise InvalidArchitectureError(
                f"nb101 cell {self.to_string_unchecked(checked)} is not valid: input must reach output and the pruned "
                f"cell must have at most {MAX_VERTICES} vertices and {MAX_EDGES} edges")
        return canon

    def cell_graphs(self, arch: Architecture) -> dict[str, CellGraph] | None:
        """The pruned cell: vertices named by their operation, plain edges (NB101's operations sit on
        the vertices, not on the edges); None for a cell that is not valid."""
        pruned = prune(*self._raw_spec(arch))
        if pruned is None:
            return None
        matrix, ops = pruned
        names = ["in"] + [f"{i}: {op}" for i, op in enumerate(ops[1:-1], start=1)] + ["out"]
        edges = tuple((names[i], names[j], "") for i in range(len(names)) for j in range(len(names))
                      if int(matrix[i][j]))
        return {"cell": CellGraph(tuple(names), edges)}

    # ----------------------------------------------------------------- string form
    def to_string_unchecked(self, arch: Architecture) -> str:
        """``ops/rows`` of the raw 7-vertex spec, without pruning or checks."""
        matrix, ops = self._raw_spec(arch)
        return ",".join(_SHORT[o] for o in ops[1:-1]) + "/" + ",".join("".join(str(int(x)) for x in r) for r in matrix)

    def to_string(self, arch: Architecture) -> str:
        """``ops/rows`` of the pruned cell (of the raw 7-vertex spec when the cell is invalid)."""
        pruned = prune(*self._raw_spec(arch))
        if pruned is None:
            return self.to_string_unchecked(arch)
        matrix, ops = pruned
        return ",".join(_SHORT[o] for o in ops[1:-1]) + "/" + ",".join("".join(str(int(x)) for x in r) for r in matrix)

    def parse(self, text: str) -> Architecture:
        """Parse ``ops/rows`` (see the module docstring) or a JSON object of labels."""
        s = text.strip()
        if s.startswith("{"):
            return super().parse(s)
        m = re.fullmatch(r"([a-z0-9,\-]*)/([01,]+)", s)
        if not m:
            raise InvalidArchitectureError(
                f"nb101 architecture {text!r} must look like 'conv3x3,maxpool3x3/0110,0001,0001,0000' "
                "(interior ops, '/', adjacency rows)")
        names = [x for x in m.group(1).split(",") if x]
        ops = []
        for name in names:
            if name in _LONG:
                ops.append(_LONG[name])
            elif name in NB101_OPERATIONS:
                ops.append(name)
            else:
                raise UnknownNameError(unknown_name_message("nb101 operation", name, list(_LONG)))
        rows = m.group(2).split(",")
        if any(len(r) != len(rows) for r in rows):
            raise InvalidArchitectureError(f"nb101 adjacency in {text!r} must be square, got rows {rows}")
        matrix = [[int(c) for c in r] for r in rows]
        return self.from_spec(matrix, ["input", *ops, "output"])

    # ----------------------------------------------------------------- encodings
    def encoding_names(self) -> list[str]:
        return ["onehot", "adjacency", "path"]

    def encode(self, arch: Architecture, kind: str = "onehot") -> np.ndarray:
        """``onehot``/``adjacency``: 21 edge bits + one-hot ops of the canonical form; ``path``: one
        bit per op sequence on an input -> output path (364 slots)."""
        if kind in ("onehot", "adjacency"):
            canon = self.canonical(arch) or arch
            vec = [float(canon[label]) for label in _EDGE_LABELS]
            for label in _OP_LABELS:
                vec.extend(1.0 if canon[label] == op else 0.0 for op in NB101_OPERATIONS)
            return np.asarray(vec, dtype=np.float32)
        if kind != "path":
            raise UnknownNameError(unknown_name_message("encoding", kind, self.encoding_names()))
        vec = np.zeros(PATH_ENCODING_SIZE, dtype=np.float32)
        pruned = prune(*self._raw_spec(arch))
        if pruned is None:  # no input -> output path: no paths
            return vec
        matrix, ops = pruned
        n = matrix.shape[0]

        def walk(v: int, seq: tuple[int, ...]) -> None:
            if v == n - 1:
                idx = 0
                for op in seq:
                    idx = idx * 3 + op
                vec[_PATH_OFFSETS[len(seq)] + idx] = 1.0
                return
            for w in range(v + 1, n):
                if matrix[v, w]:
                    walk(w, seq + ((NB101_OPERATIONS.index(ops[w]),) if w != n - 1 else ()))

        walk(0, ())
        return vec

    # ----------------------------------------------------------------- networks
    def build(self, arch: Architecture, **cfg: Any) -> Any:
        """The paper's network; ``cfg`` may set ``num_classes`` (10), ``in_channels`` (3),
        ``stem_channels``, ``stacks`` and ``cells_per_stack``. The training options shared with the
        other cell spaces (``--channels``, ``--cells``) arrive as ``channels`` / ``cells_per_stage`` and
        set ``stem_channels`` / ``cells_per_stack``."""
        matrix, ops = self.spec(self.validate(arch))
        cfg = dict(cfg)
        if "channels" in cfg:
            cfg["stem_channels"] = cfg.pop("channels")
        if "cells_per_stage" in cfg:
            cfg["cells_per_stack"] = cfg.pop("cells_per_stage")
        opts = {**self.config, **cfg}
        return build_nb101_network(matrix, ops, **opts)

    def build_spec(self, matrix: Sequence[Sequence[int]] | np.ndarray, ops: Sequence[str], **cfg: Any) -> Any:
        """The network of an official spec in *its own* vertex order (pruned first).

        Isomorphic labellings can differ by one channel per vertex where the output width does not
        split evenly (the paper's rule gives the remainder to the lowest-numbered vertices), so the
        parameter count of the official release is that of its stored labelling: build that one
        here; :meth:`build` uses the canonical labelling.
        """
        self.from_spec(matrix, ops)  # the checks
        pruned = prune(np.asarray(matrix, dtype=np.int64), list(ops))
        if pruned is None:  # pragma: no cover - from_spec raised already
            raise InvalidArchitectureError("nb101 spec does not connect input to output")
        return build_nb101_network(*pruned, **{**self.config, **cfg})


def vertex_channels(in_channels: int, out_channels: int, matrix: np.ndarray) -> list[int]:
    """Channels of each vertex (the paper's rule): the output width is split among the vertices
    that feed the output, and every other vertex takes the widest of its successors."""
    n = matrix.shape[0]
    ch = [0] * n
    ch[0], ch[n - 1] = in_channels, out_channels
    if n == 2:
        return ch
    in_degree = matrix[1:].sum(axis=0)
    share, extra = divmod(out_channels, int(in_degree[n - 1]))
    for v in range(1, n - 1):
        if matrix[v, n - 1]:
            ch[v] = share + (1 if extra > 0 else 0)
            extra -= 1 if extra > 0 else 0
    for v in range(n - 3, 0, -1):
        if not matrix[v, n - 1]:
            for dst in range(v + 1, n - 1):
                if matrix[v, dst]:
                    ch[v] = max(ch[v], ch[dst])
    return ch


def build_nb101_network(matrix: np.ndarray, ops: Sequence[str], *, stem_channels: int = 128, stacks: int = 3,
                        cells_per_stack: int = 3, num_classes: int = 10, in_channels: int = 3) -> Any:
    """Build the NAS-Bench-101 network for a pruned spec (imports torch)."""
    import torch
    from torch import nn

    def conv_bn_relu(c_in: int, c_out: int, k: int) -> nn.Module:
        # TF defaults of the official code: BN momentum 0.997 (torch: 1 - 0.997), epsilon 1e-5
        return nn.Sequential(nn.Conv2d(c_in, c_out, k, padding=k // 2, bias=False),
                             nn.BatchNorm2d(c_out, momentum=0.003, eps=1e-5), nn.ReLU())

    class Cell(nn.Module):
        def __init__(self, c_in: int, c_out: int) -> None:
            super().__init__()
            n = matrix.shape[0]
            self.n = n
            self.ch = vertex_channels(c_in, c_out, matrix)
            self.preds = [[s for s in range(1, t) if matrix[s, t]] for t in range(n)]
            self.proj = nn.ModuleDict()
            self.ops = nn.ModuleDict()
            for t in range(1, n - 1):
                if matrix[0, t]:
                    self.proj[str(t)] = conv_bn_relu(c_in, self.ch[t], 1)
                op = ops[t]
                if op == "maxpool3x3":
                    self.ops[str(t)] = nn.MaxPool2d(3, stride=1, padding=1)
                else:
                    self.ops[str(t)] = conv_bn_relu(self.ch[t], self.ch[t], 3 if op == "conv3x3-bn-relu" else 1)
            if matrix[0, n - 1]:
                self.proj[str(n - 1)] = conv_bn_relu(c_in, c_out, 1)
            self.to_out = [t for t in range(1, n - 1) if matrix[t, n - 1]]

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            tensors = [x]
            for t in range(1, self.n - 1):
                parts = [tensors[s][:, :self.ch[t]] for s in self.preds[t]]
                if str(t) in self.proj:
                    parts.append(self.proj[str(t)](x))
                total = parts[0]
                for p in parts[1:]:
                    total = total + p
                tensors.append(self.ops[str(t)](total))
            if not self.to_out:
                return self.proj[str(self.n - 1)](x)
            outs = [tensors[t] for t in self.to_out]
            out = torch.cat(outs, dim=1) if len(outs) > 1 else outs[0]
            if str(self.n - 1) in self.proj:
                out = out + self.proj[str(self.n - 1)](x)
            return out

    class NB101Network(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            layers: list[nn.Module] = [conv_bn_relu(in_channels, stem_channels, 3)]
            c = stem_channels
            for stack in range(stacks):
                if stack > 0:
                    layers.append(nn.MaxPool2d(2, stride=2, ceil_mode=True))  # TF 'same' padding
                    c_out = 2 * c
                else:
                    c_out = c
                for _ in range(cells_per_stack):
                    layers.append(Cell(c, c_out))
                    c = c_out
            self.features = nn.Sequential(*layers)
            self.classifier = nn.Linear(c, num_classes)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.classifier(self.features(x).mean(dim=(2, 3)))

    return NB101Network()
