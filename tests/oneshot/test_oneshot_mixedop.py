"""Mixed ops weight the *operations of an edge* by the softmax of that edge's alphas."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from nasforge.oneshot.supernet import MixedOp, build_supernet, gumbel_hard_weights
from nasforge.spaces import get_space


class Scale(nn.Module):
    def __init__(self, k: float) -> None:
        super().__init__()
        self.k = k

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.k * x


def test_mixed_op_is_weighted_sum_of_op_outputs() -> None:
    op = MixedOp([Scale(0.0), Scale(1.0), Scale(3.0)])
    x = torch.randn(2, 3)
    alpha = torch.tensor([0.3, -1.0, 2.0])
    w = alpha.softmax(-1)
    expected = w[0] * 0.0 * x + w[1] * x + w[2] * 3.0 * x
    assert torch.allclose(op(x, w), expected)
    assert torch.allclose(op(x, None, 2), 3.0 * x)  # single path runs one op


@pytest.mark.parametrize("space_name", ["nb201", "darts"])
def test_each_edge_receives_softmax_of_its_own_alphas(space_name: str) -> None:
    torch.manual_seed(0)
    net = build_supernet(get_space(space_name), channels=2, cells=1, num_classes=3, in_channels=1)
    with torch.no_grad():
        for a in net.arch_parameters():
            a.copy_(torch.randn_like(a) * 2)  # distinct rows, so a mix-up between edges would show
    seen: list[tuple[str, int, torch.Tensor]] = []
    cells = [m for m in net.modules() if hasattr(m, "edges")]
    for cell in cells:
        kind = "reduce" if getattr(cell, "reduction", False) else "normal"
        for e, edge in enumerate(cell.edges):
            edge.register_forward_pre_hook(
                lambda mod, args, kind=kind, e=e: seen.append((kind, e, args[1].detach().clone())))
    net.use_softmax()
    net(torch.randn(2, 1, 8, 8))
    assert len(seen) == sum(len(c.edges) for c in cells)
    for kind, e, w in seen:
        expected = net.alphas[kind][e].softmax(-1)
        assert w.shape == (len(net.op_names),)  # one weight per op of this edge, not per node state
        assert torch.allclose(w, expected)


def test_gdas_runs_one_op_per_edge_and_reaches_every_alpha() -> None:
    alpha = torch.zeros(4, 5, requires_grad=True)
    w, idx = gumbel_hard_weights(alpha, 1.0, torch.Generator().manual_seed(0))
    assert torch.equal(w.detach().sum(-1), torch.ones(4))
    assert all(float(w.detach()[r, i]) == 1.0 for r, i in enumerate(idx))
    calls = []

    class Count(nn.Module):
        def __init__(self, k: int) -> None:
            super().__init__()
            self.k = k

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            calls.append(self.k)
            return x * (self.k + 1)

    op = MixedOp([Count(k) for k in range(5)])
    out = op(torch.ones(3), w[0], idx[0])
    assert calls == [idx[0]]
    out.sum().backward()
    assert alpha.grad is not None and bool((alpha.grad[0] != 0).all())


def test_path_mode_matches_stand_alone_choice() -> None:
    space = get_space("nb201")
    net = build_supernet(space, channels=2, cells=1, num_classes=3, in_channels=1)
    arch = space.sample(np.random.default_rng(3))
    net.use_path(arch)
    assert net.path_of(arch)["normal"] == [space.dimension(lab).options.index(arch[lab]) for lab in space.labels]
    assert net(torch.randn(2, 1, 8, 8)).shape == (2, 3)
