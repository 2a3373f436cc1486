"""Perturbation-based selection keeps the op whose removal hurts most, whatever alpha says."""

from __future__ import annotations

import pytest
import torch

from nasforge.oneshot import ONESHOT, OneShotConfig
from nasforge.spaces import get_space
from nasforge.spaces.darts_ops import DARTS_OPERATIONS
from nasforge.spaces.nb201 import NB201_OPERATIONS


def _data(n: int, seed: int, size: int = 6) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 3, (n,), generator=g)
    return torch.randn(n, 1, size, size, generator=g) + y.view(-1, 1, 1, 1).float(), y


@pytest.mark.parametrize("space_name", ["nb201", "darts"])
def test_selection_follows_removal_cost_not_alpha(space_name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    space = get_space(space_name)
    ops = NB201_OPERATIONS if space_name == "nb201" else DARTS_OPERATIONS
    conv = ops.index("nor_conv_3x3" if space_name == "nb201" else "sep_conv_3x3")
    skip = ops.index("skip_connect")
    cls = ONESHOT.get("darts-pt")
    # warmup_epochs keeps the alphas set below: no alpha steps in this 1-epoch search
    method = cls(space, OneShotConfig(channels=2, max_steps_per_epoch=1, eval_samples=8), tune_steps=0,
                 warmup_epochs=99)

    # Validation accuracy that only the conv op earns (edges from node 0 earn more, to order the topology).
    def fake_accuracy(self: object, weights: dict, xv: torch.Tensor, yv: torch.Tensor) -> tuple[float, float]:
        acc = 0.0
        for w in weights.values():
            for e in range(w.shape[0]):
                acc += float(w[e, conv]) * (2.0 if e in (0, 2, 5, 9) else 1.0)
        return acc, -acc

    monkeypatch.setattr(cls, "_accuracy", fake_accuracy)
    original = method._setup

    def setup_with_skip_alphas(net: object, epochs: int) -> None:
        original(net, epochs)
        with torch.no_grad():
            for a in net.arch_parameters():  # type: ignore[attr-defined]
                a[:, skip] = 5.0  # alpha magnitude says skip everywhere

    monkeypatch.setattr(method, "_setup", setup_with_skip_alphas)
    size = 6 if space_name == "nb201" else 8
    arch = method.search(_data(16, 0, size), _data(8, 1, size), 1)
    assert space.to_string(method.net.derive()).count("skip_connect") > 0  # plain DARTS would pick skip
    if space_name == "nb201":
        assert all(arch[label] == "nor_conv_3x3" for label in space.labels)
    else:
        geno = space.genotype(arch)
        for nodes in geno.values():
            assert all(op == "sep_conv_3x3" for node in nodes for op, _ in node)
        # node 2 (edges 0, 1) keeps both; node 3 keeps edge 2 (input 0) first
        assert geno["normal"][1][0][1] == 0
