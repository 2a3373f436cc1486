"""Genotype derivation: NB201 argmax per edge; DARTS top-2 incoming edges, never ``none``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nasforge.errors import InvalidArchitectureError
from nasforge.oneshot.supernet import build_supernet, derive_darts_genotype
from nasforge.spaces import get_space
from nasforge.spaces.darts import darts_edges
from nasforge.spaces.darts_ops import DARTS_OPERATIONS
from nasforge.spaces.nb201 import NB201_OPERATIONS


def test_nb201_argmax_per_edge() -> None:
    space = get_space("nb201")
    net = build_supernet(space, channels=2, cells=1, num_classes=3, in_channels=1)
    want = ["nor_conv_3x3", "none", "skip_connect", "avg_pool_3x3", "nor_conv_1x1", "nor_conv_3x3"]
    with torch.no_grad():
        a = torch.zeros(6, 5)
        for e, op in enumerate(want):
            a[e, NB201_OPERATIONS.index(op)] = 1.0 + e
        net.alphas["normal"].copy_(a)
    arch = net.derive()
    assert space.to_string(arch) == (
        "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|nor_conv_3x3~2|")


def test_darts_top2_edges_excluding_none() -> None:
    space = get_space("darts")
    edges = darts_edges()
    none = DARTS_OPERATIONS.index("none")
    alphas = {}
    for t in ("normal", "reduce"):
        a = torch.zeros(len(edges), len(DARTS_OPERATIONS))
        for e, (k, i) in enumerate(edges):
            a[e, none] = 10.0  # none dominates everywhere: must still be ignored
            a[e, DARTS_OPERATIONS.index("sep_conv_3x3")] = 0.1 * i + 0.05  # strength grows with the input index...
            a[e, DARTS_OPERATIONS.index("skip_connect")] = 0.05 * i + (0.2 if (t == "reduce" and i == 0) else 0.0)
        alphas[t] = a
    geno = space.genotype(derive_darts_genotype(space, alphas))
    # ... so each normal node keeps its two highest inputs, each with sep_conv_3x3
    assert geno["normal"] == [[("sep_conv_3x3", 0), ("sep_conv_3x3", 1)], [("sep_conv_3x3", 1), ("sep_conv_3x3", 2)],
                              [("sep_conv_3x3", 2), ("sep_conv_3x3", 3)], [("sep_conv_3x3", 3), ("sep_conv_3x3", 4)]]
    # reduce: input 0 carries skip 0.2, above sep at inputs 0 and 1 (0.05, 0.15) but below inputs >= 2
    assert geno["reduce"] == [[("skip_connect", 0), ("sep_conv_3x3", 1)], [("skip_connect", 0), ("sep_conv_3x3", 2)],
                              [("sep_conv_3x3", 2), ("sep_conv_3x3", 3)], [("sep_conv_3x3", 3), ("sep_conv_3x3", 4)]]
    for nodes in geno.values():
        for node in nodes:
            assert all(op != "none" for op, _ in node) and node[0][1] != node[1][1]


def test_darts_space_string_round_trip_and_build() -> None:
    space = get_space("darts")
    rng = np.random.default_rng(0)
    for _ in range(5):
        arch = space.sample(rng)
        assert space.parse(space.to_string(arch)) == arch
    net = space.build(arch, channels=4, layers=5, in_channels=1, num_classes=7)
    assert net(torch.randn(2, 1, 16, 16)).shape == (2, 7)
    with pytest.raises(InvalidArchitectureError):
        space.parse("normal=sep_conv_3x3~0,sep_conv_3x3~0|x~1,y~2;reduce=")


def test_darts_supernet_path_equals_chosen_edges() -> None:
    space = get_space("darts")
    net = build_supernet(space, channels=2, cells=1, num_classes=3, in_channels=1)
    arch = space.sample(np.random.default_rng(1))
    path = net.path_of(arch)
    for t in ("normal", "reduce"):
        assert sum(i >= 0 for i in path[t]) == 8  # 4 nodes x 2 inputs
    net.use_path(arch)
    assert net(torch.randn(2, 1, 8, 8)).shape == (2, 3)
