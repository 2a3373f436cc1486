"""Checkpoints: a search killed after an epoch resumes to exactly the uninterrupted result."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from nasforge.errors import InvalidConfigError
from nasforge.oneshot import ONESHOT, OneShotConfig, make_oneshot
from nasforge.spaces import get_space


class Killed(Exception):
    pass


def _data(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 3, (n,), generator=g)
    x = torch.randn(n, 1, 6, 6, generator=g) + y.view(-1, 1, 1, 1).float()
    return x, y


CFG = OneShotConfig(channels=2, cells=1, batch_size=16, max_steps_per_epoch=3, eval_samples=32, seed=3)
HP = {"darts": {}, "darts2": {}, "gdas": {}, "enas": {"controller_steps": 2, "candidates": 3},
      "spos": {"evals": 6, "search_params": {"population_size": 3, "sample_size": 2}, "recal_batches": 1}, "darts-pt": {"tune_steps": 2}}


@pytest.mark.parametrize("name", ["darts2", "gdas", "enas", "spos", "darts-pt"])
def test_resume_after_kill_equals_uninterrupted(name: str, tmp_path: Path) -> None:
    space = get_space("nb201")
    train, val = _data(64, 0), _data(32, 1)
    full = ONESHOT.get(name)(space, CFG, checkpoint_dir=tmp_path / "full", **HP[name])
    arch_full = full.search(train, val, 2)

    def kill(epoch: int, total: int, info: dict) -> None:
        if epoch == 1:
            raise Killed

    first = ONESHOT.get(name)(space, CFG, checkpoint_dir=tmp_path / "cut", progress=kill, **HP[name])
    with pytest.raises(Killed):
        first.search(train, val, 2)
    assert json.loads((tmp_path / "cut" / "history.json").read_text())["history"][0]["epoch"] == 1
    again = ONESHOT.get(name)(space, CFG, checkpoint_dir=tmp_path / "cut", **HP[name])
    arch_again = again.search(train, val, 2)
    assert again.resumed_from_ == 1
    assert arch_again == arch_full
    sa, sb = full.net.state_dict(), again.net.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert [h.get("train_loss") for h in again.history_] == [h.get("train_loss") for h in full.history_]


def test_checkpoint_with_other_settings_is_refused(tmp_path: Path) -> None:
    space = get_space("nb201")
    train, val = _data(64, 0), _data(32, 1)
    ONESHOT.get("darts")(space, CFG, checkpoint_dir=tmp_path).search(train, val, 1)
    hist = json.loads((tmp_path / "history.json").read_text())["history"]
    assert len(hist[0]["alphas"]["normal"]) == 6  # architecture-weight history, 6 edges x 5 ops
    other = OneShotConfig(**{**CFG.__dict__, "seed": 4})
    with pytest.raises(InvalidConfigError, match="other settings"):
        ONESHOT.get("darts")(space, other, checkpoint_dir=tmp_path).search(train, val, 1)


def test_unknown_hyperparameter_is_an_error() -> None:
    with pytest.raises(InvalidConfigError, match="tau_max"):
        make_oneshot("gdas", get_space("nb201"), CFG, tua_max=3)
