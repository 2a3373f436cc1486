"""NAS-Bench-101 space: the official hash and parameter counts on 30 official records, pruning,
isomorphism, the string form, encodings and the small network."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from conftest import nb101_records

from nasforge.errors import InvalidArchitectureError, UnknownNameError
from nasforge.spaces import get_space
from nasforge.spaces.nb101 import NB101Space, hash_module, prune


def load_records() -> list[dict[str, Any]]:
    """The 30 official records (see ``conftest.nb101_records``)."""
    return nb101_records()


@pytest.fixture(scope="module")
def records() -> list[dict[str, Any]]:
    return load_records()


def test_hash_of_every_record_is_the_official_module_hash(records: list[dict[str, Any]]) -> None:
    space = NB101Space()
    assert len(records) == 30
    for r in records:
        arch = space.from_spec(r["module_adjacency"], r["module_operations"])
        assert space.module_hash(arch) == r["module_hash"]
        assert space.parse(space.to_string(arch)) == arch


def test_parameters_match_the_paper_network_on_every_record(records: list[dict[str, Any]]) -> None:
    import torch

    torch.set_num_threads(1)
    space = NB101Space()
    for r in records:
        with torch.device("meta"):  # shapes only: no 20-million-weight initialisation
            net = space.build_spec(r["module_adjacency"], r["module_operations"], num_classes=10, in_channels=3)
        n = sum(p.numel() for p in net.parameters() if p.requires_grad)
        assert n == r["trainable_parameters"], r["module_hash"]


def test_isomorphic_relabelling_is_the_same_architecture(records: list[dict[str, Any]]) -> None:
    space = NB101Space()
    rng = np.random.default_rng(0)
    for r in records[:10]:
        m = np.array(r["module_adjacency"])
        ops = list(r["module_operations"])
        n = len(ops)
        for _ in range(20):  # random topological relabellings of the interior vertices
            perm = [0, *rng.permutation(range(1, n - 1)).tolist(), n - 1]
            pos = {old: new for new, old in enumerate(perm)}
            edges = list(zip(*np.nonzero(m)))
            if all(pos[i] < pos[j] for i, j in edges):
                m2 = np.zeros_like(m)
                for i, j in edges:
                    m2[pos[i], pos[j]] = 1
                ops2 = [ops[old] for old in perm]
                arch2 = space.from_spec(m2, ops2)
                assert arch2 == space.from_spec(m, ops)
                assert hash_module(m2, ops2) == r["module_hash"]


def test_pruning_and_limits() -> None:
    space = NB101Space()
    # vertex 2 is a dead end: pruned, leaving input -> conv3x3 -> output
    m = [[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0], [0, 0, 0, 0]]
    arch = space.from_spec(m, ["input", "conv3x3-bn-relu", "maxpool3x3", "output"])
    assert space.to_string(arch) == "conv3x3/010,001,000"
    pm, pops = prune(np.array(m), ["input", "conv3x3-bn-relu", "maxpool3x3", "output"])
    assert pm.shape == (3, 3) and pops == ["input", "conv3x3-bn-relu", "output"]
    with pytest.raises(InvalidArchitectureError, match="does not connect"):
        space.from_spec([[0, 1, 0], [0, 0, 0], [0, 0, 0]], ["input", "conv1x1-bn-relu", "output"])
    full = np.triu(np.ones((7, 7), dtype=int), 1)  # 21 edges > 9
    with pytest.raises(InvalidArchitectureError, match="at most 9 edges"):
        space.from_spec(full, ["input"] + ["conv3x3-bn-relu"] * 5 + ["output"])
    with pytest.raises(UnknownNameError, match="conv3x3"):
        space.parse("conv9x9/010,001,000")


def test_sample_mutate_neighbors_stay_valid_and_canonical() -> None:
    space = get_space("nb101")
    rng = np.random.default_rng(1)
    for _ in range(30):
        a = space.sample(rng)
        assert space.validate(a) == a
        matrix, _ops = space.spec(a)
        assert matrix.shape[0] <= 7 and matrix.sum() <= 9
        child = space.mutate(a, rng)
        assert child != a and space.validate(child) == child
    nbrs = space.neighbors(a)
    assert nbrs and a not in nbrs and len(set(nbrs)) == len(nbrs)
    assert all(space.validate(n) == n for n in nbrs)
    assert space.sample(np.random.default_rng(5)) == space.sample(np.random.default_rng(5))


def test_encodings() -> None:
    space = NB101Space()
    arch = space.parse("conv3x3,maxpool3x3/0110,0001,0001,0000")
    onehot = space.encode(arch)
    assert onehot.shape == (21 + 5 * 3,)
    path = space.encode(arch, "path")
    assert path.shape == (364,) and path.sum() == 2  # paths: conv3x3 and maxpool3x3


def test_small_network_trains_a_step_on_8x8() -> None:
    import torch

    torch.set_num_threads(1)
    space = NB101Space(stem_channels=8, stacks=2, cells_per_stack=1)
    arch = space.sample(np.random.default_rng(0))
    net = space.build(arch, num_classes=10, in_channels=1)
    out = net(torch.randn(4, 1, 8, 8))
    assert out.shape == (4, 10)
    out.sum().backward()


def test_strategies_run_on_the_space_and_dedupe_by_isomorphism() -> None:
    from nasforge.evaluators.base import Objective, Result
    from nasforge.strategies import make_strategy
    from nasforge.strategies._common import Dedup

    space = NB101Space()
    a = space.parse("conv3x3,maxpool3x3/0110,0001,0001,0000")
    b = space.parse("maxpool3x3,conv3x3/0110,0001,0001,0000")  # the same cell, vertices swapped
    assert Dedup(space).key(a) == Dedup(space).key(b)
    rng = np.random.default_rng(0)
    for name in ("random", "evolution", "local", "reinforce"):
        strategy = make_strategy(name, space, seed=0)
        for _ in range(25):
            for sug in strategy.ask(1):
                arch = getattr(sug, "arch", sug)
                value = float(space.encode(arch, "path").sum()) + rng.random()  # 0 paths for invalid raw cells
                strategy.tell(sug, Result.ok({"val_acc": value}).observe([Objective("val_acc")]))


def test_invalid_raw_cells_from_strategies_are_recorded_as_failed_trials() -> None:
    from nasforge.evaluators.base import Result, parse_objectives
    from nasforge.runner import Budget, Experiment, Runner
    from nasforge.strategies import make_strategy

    space = NB101Space()

    class Paths:  # a stand-in evaluator: the number of paths, failing on invalid cells like a real one
        default_objective, report_metric, simulated_cost = "val_acc", None, True

        def evaluate(self, arch, fidelity=None):  # type: ignore[no-untyped-def]
            space.spec(arch)  # raises for a cell that does not connect input to output
            return Result.ok({"val_acc": float(space.encode(arch, "path").sum())}, cost=1.0)

        def describe(self):  # type: ignore[no-untyped-def]
            return {}

    exp = Experiment("r", space, make_strategy("reinforce", space, seed=0), Paths(), parse_objectives(None, "val_acc"),
                     Budget(30, None, None), {})
    runner = Runner(exp, None)
    summary = runner.run()
    assert summary.trials == 30 and summary.failed > 0  # raw random cells are often disconnected
    assert all("/" in t.arch for t in runner.records)
