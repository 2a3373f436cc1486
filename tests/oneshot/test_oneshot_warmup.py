"""Warm-up before architecture updates (GDAS, ENAS), DARTS-PT's fixed-alpha supernet, fixed-weight mixing."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from nasforge.errors import InvalidConfigError
from nasforge.oneshot import ONESHOT, OneShotConfig
from nasforge.oneshot.darts import warmup_epochs
from nasforge.oneshot.supernet import MixedOp
from nasforge.spaces import get_space

CFG = OneShotConfig(channels=2, cells=1, batch_size=16, max_steps_per_epoch=3, eval_samples=32, seed=5,
                    a_lr=0.05)


def _data(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 3, (n,), generator=g)
    return torch.randn(n, 1, 6, 6, generator=g) + y.view(-1, 1, 1, 1).float(), y


def test_warmup_epochs_default_is_half_and_rejects_negative() -> None:
    assert warmup_epochs(None, 20) == 10
    assert warmup_epochs(None, 3) == 1
    assert warmup_epochs(0, 20) == 0
    assert warmup_epochs(4, 20) == 4
    with pytest.raises(InvalidConfigError, match="warmup_epochs"):
        warmup_epochs(-1, 20)


def test_gdas_alphas_frozen_during_warmup_then_searched_with_annealed_tau() -> None:
    space = get_space("nb201")
    method = ONESHOT.get("gdas")(space, CFG)  # default warm-up: half of 4 epochs
    seen: list[list[list[float]]] = []
    method.progress = lambda epoch, total, info: seen.append(info["alphas"]["normal"])
    method.search(_data(48, 0), _data(32, 1), 4)
    assert seen[0] == seen[1]  # epochs 1-2: weights only
    assert seen[1] != seen[3]  # then the alphas move
    # tau stays at tau_max through the warm-up and the first search epoch, reaches tau_min at the end
    assert [method.tau(e, 4) for e in range(4)] == [10.0, 10.0, 10.0, pytest.approx(0.1)]
    assert [round(method.tau(e, 20), 2) for e in (10, 15, 19)] == [10.0, 4.5, 0.1]


def test_enas_controller_untouched_during_warmup(monkeypatch: pytest.MonkeyPatch) -> None:
    method = ONESHOT.get("enas")(get_space("nb201"), CFG, controller_steps=2, candidates=4, warmup_epochs=1)
    states: list[dict[str, torch.Tensor]] = []

    def snap() -> None:
        states.append({k: v.clone() for k, v in method.controller.state_dict().items()})

    original = method._setup

    def setup(net: object, epochs: int) -> None:
        original(net, epochs)
        snap()

    monkeypatch.setattr(method, "_setup", setup)
    rewards: list[float] = []
    method.progress = lambda epoch, total, info: (snap(), rewards.append(info["reward"]))
    method.search(_data(48, 0), _data(32, 1), 2)
    assert rewards[0] != rewards[0] and rewards[1] == rewards[1]  # NaN: no controller step in the warm-up
    assert all(torch.equal(states[1][k], v) for k, v in states[0].items())
    assert not all(torch.equal(states[2][k], v) for k, v in states[1].items())


def test_darts_pt_fix_alpha_trains_weights_on_uniform_mixture(monkeypatch: pytest.MonkeyPatch) -> None:
    space = get_space("nb201")
    method = ONESHOT.get("darts-pt")(space, CFG, tune_steps=2)
    mixes: list[torch.Tensor] = []
    original = MixedOp.forward

    def spy(self: MixedOp, x: torch.Tensor, weights: torch.Tensor | None = None, index: int | None = None) -> torch.Tensor:
        if weights is not None and len(mixes) < 50:
            mixes.append(weights.detach().clone())
        return original(self, x, weights, index)

    monkeypatch.setattr(MixedOp, "forward", spy)
    torch.manual_seed(CFG.seed)
    method.search(_data(48, 0), _data(32, 1), 2)
    first = method.history_[0]["alphas"]["normal"]
    assert method.history_[1]["alphas"]["normal"] == first  # alphas never trained
    assert all(torch.equal(w, torch.full((5,), 0.2)) for w in mixes[:30])  # training mixes exactly uniformly
    assert method.tune_opt.param_groups[0]["lr"] == pytest.approx(CFG.w_lr / 10)
    assert len(method.selection_) == 6
    # fix_alpha=False is first-order DARTS training: the alphas move
    learned = ONESHOT.get("darts-pt")(space, CFG, tune_steps=0, fix_alpha=False)
    learned.search(_data(48, 0), _data(32, 1), 2)
    assert learned.history_[1]["alphas"]["normal"] != learned.history_[0]["alphas"]["normal"]


class Count(nn.Module):
    def __init__(self, k: float) -> None:
        super().__init__()
        self.k, self.calls = k, 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return self.k * x


def test_fixed_weights_skip_zero_weighted_ops_with_the_same_output() -> None:
    ops = [Count(1.0), Count(2.0), Count(-3.0)]
    op = MixedOp(ops)  # type: ignore[arg-type]
    x = torch.randn(4, 3)
    w = torch.tensor([0.5, 0.0, 0.5])
    out = op(x, w)
    assert torch.equal(out, 0.5 * x + 0.5 * (-3.0 * x))
    assert [o.calls for o in ops] == [1, 0, 1]
    # trainable weights (softmax of alpha) always run every op: their gradient needs every output
    alpha = torch.zeros(3, requires_grad=True)
    w2 = alpha.softmax(-1) * torch.tensor([1.0, 0.0, 1.0])
    op(x, w2).sum().backward()
    assert [o.calls for o in ops] == [2, 1, 2]
