"""The NAS-Bench-Graph macro space (Qin et al., NeurIPS 2022 Datasets and Benchmarks).

A GNN is a DAG of 4 computing nodes. Node ``k`` (0-based) takes exactly one earlier tensor as
input: ``link[k]`` is 0 for the raw input or ``j`` for computing node ``j - 1``, so
``link = [0, l1, l2, l3]`` with ``l1 <= 1``, ``l2 <= 2``, ``l3 <= 3`` (24 link patterns). Each node
applies one operation (``gat``, ``gcn``, ``gin``, ``cheb``, ``sage``, ``arma``, ``graph``, ``fc``,
``skip``; the proteins table has ``gcn``, ``sage``, ``arma``, ``fc``, ``skip``); leaves feed the output.
These are the labels ``l1``, ``l2``, ``l3`` and ``op0`` .. ``op3``, the package's own
parametrisation (its NNI example uses the same choices).

Identity is the package's hash (``nas_bench_graph.Arch(link, ops).valid_hash()``), which maps the
many equivalent (isomorphic, or differing only in how ``skip`` nodes are placed) descriptions to one
integer, the key of the benchmark table. (It merges most such descriptions, not all: the package
README's example pair ``[0,1,2,1] gcn,gin,fc,cheb`` and ``[0,1,1,2] gcn,cheb,gin,fc`` has two hashes
and two table rows; the space follows the package.) Architectures are kept in the package's canonical form
(``regularize``, ``move_skip_op``, ``equalpart_sort``: one description per hash), so equivalent
descriptions are one architecture here too. The string form is ``"0,1,2,1|gcn,gin,fc,cheb"``
(link, then ops); :meth:`NBGraphSpace.package_hash` turns it into the table's integer key.
The all-``skip`` GNN is not in the benchmark and is never sampled.

Needs the PyPI package ``nas-bench-graph==1.4.0`` (extra ``graph``) for the hash.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from nasforge.arch import Architecture
from nasforge.errors import InvalidArchitectureError, InvalidConfigError, UnknownNameError
from nasforge.registry import unknown_name_message
from nasforge.spaces.base import Choice, SearchSpace

__all__ = ["NBGRAPH_OPERATIONS", "NBGRAPH_PROTEINS_OPERATIONS", "NBGraphSpace", "package_arch_class"]

NBGRAPH_OPERATIONS: tuple[str, ...] = ("gat", "gcn", "gin", "cheb", "sage", "arma", "graph", "fc", "skip")
NBGRAPH_PROTEINS_OPERATIONS: tuple[str, ...] = ("gcn", "sage", "arma", "fc", "skip")
_LINK_LABELS = ("l1", "l2", "l3")
_CANON: dict[Architecture, Architecture] = {}
_HASH: dict[Architecture, int] = {}
_NEIGHBORS: dict[tuple[bool, Architecture], tuple[Architecture, ...]] = {}
_OP_LABELS = ("op0", "op1", "op2", "op3")
PACKAGE_HELP = ("NAS-Bench-Graph needs the PyPI package nas-bench-graph==1.4.0: "
                "`pip install 'nasforge[graph]'` or `pip install nas-bench-graph==1.4.0`")


@functools.lru_cache(maxsize=1)
def package_arch_class() -> Any:
    """The package's ``Arch`` class (its hash and canonical form), imported on first use."""
    try:
        from nas_bench_graph.architecture import Arch
    except ImportError:
        raise InvalidConfigError(PACKAGE_HELP) from None
    return Arch


class NBGraphSpace(SearchSpace):
    """NAS-Bench-Graph: 4 computing nodes, one input each, 9 GNN operations (26,206 GNNs).

    Args:
        proteins: use the 5 operations of the proteins table (2,021 GNNs).

    Example:
        >>> space = NBGraphSpace()  # doctest: +SKIP
        >>> arch = space.parse("0,0,0,1|gcn,gin,fc,cheb")  # doctest: +SKIP
        >>> arch == space.parse("0,0,1,0|gcn,gin,cheb,fc")  # doctest: +SKIP
        True
        >>> space.package_hash(arch)  # doctest: +SKIP
        11273
    """

    def __init__(self, proteins: bool = False) -> None:
        self.operations = NBGRAPH_PROTEINS_OPERATIONS if proteins else NBGRAPH_OPERATIONS
        dims = [Choice(label, tuple(range(k + 2)), kind="inputs") for k, label in enumerate(_LINK_LABELS)]
        dims += [Choice(label, self.operations) for label in _OP_LABELS]
        super().__init__("nbgraph-proteins" if proteins else "nbgraph", dims, config={})
        self.proteins = proteins
        # canonical forms and hashes are pure functions of the description: shared by every instance
        self._canon = _CANON
        self._hash = _HASH

    # ----------------------------------------------------------------- package form
    @staticmethod
    def link_ops(arch: Architecture) -> tuple[list[int], list[str]]:
        """The package's ``(link, ops)`` lists of an architecture."""
        return [0, *(int(arch[label]) for label in _LINK_LABELS)], [str(arch[label]) for label in _OP_LABELS]

    def from_link_ops(self, link: list[int], ops: list[str]) -> Architecture:
        """The (canonical) architecture of a package description ``Arch(link, ops)``."""
        if len(link) != 4 or len(ops) != 4 or link[0] != 0 or any(not 0 <= int(v) <= k for k, v in enumerate(link)):
            raise InvalidArchitectureError(
                f"nbgraph link must be 4 inputs [0, l1 <= 1, l2 <= 2, l3 <= 3] and 4 ops, got {link} {ops}")
        bad = [o for o in ops if o not in self.operations]
        if bad:
            raise UnknownNameError(unknown_name_message("nbgraph operation", bad[0], list(self.operations)))
        values: dict[str, Any] = dict(zip(_LINK_LABELS, (int(v) for v in link[1:])))
        values.update(zip(_OP_LABELS, ops))
        return self.canonical(Architecture(values))

    def canonical(self, arch: Architecture) -> Architecture:
        """The package's canonical description of ``arch`` (equal for equal hashes)."""
        hit = self._canon.get(arch)
        if hit is None:
            arch_cls = package_arch_class()
            b = arch_cls(*self.link_ops(arch)).regularize()
            b.move_skip_op()
            b.equalpart_sort()
            values: dict[str, Any] = dict(zip(_LINK_LABELS, (int(v) for v in b.link[1:])))
            values.update(zip(_OP_LABELS, b.ops))
            hit = self._canon[arch] = Architecture(values)
        return hit

    def package_hash(self, arch: Architecture | str) -> int:
        """The package's integer hash (``Arch(link, ops).valid_hash()``): the table key."""
        a = self.parse(arch) if isinstance(arch, str) else arch
        h = self._hash.get(a)
        if h is None:
            h = self._hash[a] = int(package_arch_class()(*self.link_ops(a)).valid_hash())
        return h

    @staticmethod
    def _all_skip(arch: Architecture) -> bool:
        return all(arch[label] == "skip" for label in _OP_LABELS)

    # ----------------------------------------------------------------- making architectures
    def sample(self, rng: np.random.Generator) -> Architecture:
        """Uniform over the package's descriptions (link choices and ops), then canonical."""
        while True:
            arch = super().sample(rng)
            if not self._all_skip(arch):
                return self.canonical(arch)

    def mutate(self, arch: Architecture, rng: np.random.Generator) -> Architecture:
        """Change one link or one op, until the GNN is a different one (by hash)."""
        base = self.canonical(arch)
        for _ in range(100):
            child = super().mutate(base, rng)
            if not self._all_skip(child):
                child = self.canonical(child)
                if child != base:
                    return child
        return self.sample(rng)

    def neighbors(self, arch: Architecture) -> list[Architecture]:
        """Every distinct GNN one link or op change away (in the canonical description)."""
        base = self.canonical(arch)
        hit = _NEIGHBORS.get((self.proteins, base))
        if hit is None:
            out: dict[Architecture, None] = {}
            for child in super().neighbors(base):
                if not self._all_skip(child):
                    c = self.canonical(child)
                    if c != base:
                        out[c] = None
            hit = _NEIGHBORS[(self.proteins, base)] = tuple(out)
        return list(hit)

    def validate(self, arch: Any) -> Architecture:
        """Check labels and values; returns the canonical description."""
        checked = super().validate(arch)
        if self._all_skip(checked):
            raise InvalidArchitectureError("an nbgraph GNN needs at least one operation other than 'skip'")
        return self.canonical(checked)

    # ----------------------------------------------------------------- string form
    def to_string(self, arch: Architecture) -> str:
        """``"link|ops"`` of the canonical description (equivalent GNNs give one string)."""
        link, ops = self.link_ops(self.canonical(arch))
        return ",".join(str(v) for v in link) + "|" + ",".join(ops)

    def parse(self, text: str) -> Architecture:
        """Parse ``"0,1,2,1|gcn,gin,fc,cheb"`` (link, ops) or a JSON object of labels."""
        s = text.strip()
        if s.startswith("{"):
            return self.validate(super().parse(s))
        link_s, sep, ops_s = s.partition("|")
        try:
            link = [int(v) for v in link_s.split(",")]
        except ValueError:
            link = []
        ops = [o.strip() for o in ops_s.split(",")]
        if not sep or len(link) != 4 or len(ops) != 4:
            raise InvalidArchitectureError(
                f"nbgraph architecture {text!r} must look like '0,1,2,1|gcn,gin,fc,cheb' (4 inputs | 4 ops)")
        arch = self.from_link_ops(link, ops)
        if self._all_skip(arch):
            raise InvalidArchitectureError("an nbgraph GNN needs at least one operation other than 'skip'")
        return arch

    def encode(self, arch: Architecture, kind: str = "onehot") -> np.ndarray:
        """One-hot of the canonical description's links and ops."""
        return super().encode(self.canonical(arch), kind)
