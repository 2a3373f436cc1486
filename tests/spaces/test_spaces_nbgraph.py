"""NAS-Bench-Graph space: the package's hash as identity, canonical descriptions, string form."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("nas_bench_graph", reason="nas-bench-graph==1.4.0 not installed (extra 'graph')")

from nasforge.arch import Architecture  # noqa: E402
from nasforge.errors import InvalidArchitectureError  # noqa: E402
from nasforge.spaces import get_space  # noqa: E402


def test_equivalent_descriptions_are_one_architecture_with_the_package_hash() -> None:
    from nas_bench_graph import Arch

    space = get_space("nbgraph")
    a = space.parse("0,0,0,1|gcn,gin,fc,cheb")
    b = space.parse("0,0,1,0|gcn,gin,cheb,fc")  # one GNN written two ways: one package hash
    assert a == b
    assert space.package_hash(a) == int(Arch([0, 0, 1, 0], ["gcn", "gin", "cheb", "fc"]).valid_hash())
    assert space.parse(space.to_string(a)) == a
    raw = Architecture({"l1": 0, "l2": 1, "l3": 0, "op0": "gcn", "op1": "gin", "op2": "cheb", "op3": "fc"})
    assert space.validate(raw) == a and space.to_string(raw) == space.to_string(a)
    # the package's hash keeps some isomorphic descriptions apart (two table rows): so does the space
    assert space.parse("0,1,2,1|gcn,gin,fc,cheb") != space.parse("0,1,1,2|gcn,cheb,gin,fc")


def test_sample_mutate_neighbors_are_canonical_and_distinct() -> None:
    space = get_space("nbgraph")
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(50):
        a = space.sample(rng)
        assert space.canonical(a) == a
        child = space.mutate(a, rng)
        assert child != a and space.package_hash(child) != space.package_hash(a)
        seen.add(space.package_hash(a))
    assert len(seen) > 40
    nbrs = space.neighbors(a)
    assert nbrs and a not in nbrs and len({space.package_hash(n) for n in nbrs}) == len(nbrs)
    assert space.encode(a).shape == (2 + 3 + 4 + 4 * 9,)


def test_proteins_space_and_bad_input() -> None:
    space = get_space("nbgraph-proteins")
    a = space.sample(np.random.default_rng(1))
    assert all(a[f"op{k}"] in ("gcn", "sage", "arma", "fc", "skip") for k in range(4))
    with pytest.raises(InvalidArchitectureError, match="skip"):
        space.parse("0,1,2,3|skip,skip,skip,skip")
    with pytest.raises(InvalidArchitectureError, match="4 inputs"):
        space.parse("0,1,2|gcn,gcn,gcn")
    with pytest.raises(KeyError, match="gat"):
        space.parse("0,1,2,3|gat,gcn,gcn,gcn")  # not a proteins op
