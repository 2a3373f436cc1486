"""The one training loop: the per-epoch curve (C2), precision, early stopping, seeds."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from nasforge.errors import InvalidConfigError, TrialFailedError, UnknownNameError
from nasforge.training import Normalize, Recipe, prepare_arrays, recipe_for, split_settings, train

C2_KEYS = {"epoch", "train_loss", "train_acc", "val_loss", "val_acc", "seconds"}


def _data(n: int = 120) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    y = torch.randint(0, 3, (n,), generator=gen)
    x = torch.randn(n, 1, 6, 6, generator=gen) + y[:, None, None, None].float()  # learnable
    return x, y


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(64, 3))


def test_curve_has_the_c2_keys_and_the_log_is_short() -> None:
    x, y = _data()
    result = train(_net(), (x[:90], y[:90]), Recipe(epochs=3, batch_size=16, device="cpu"), val=(x[90:], y[90:]))
    assert [e["epoch"] for e in result.curve] == [1, 2, 3]
    assert all(set(e) == C2_KEYS for e in result.curve)
    assert all(e["val_acc"] is not None and 0 <= e["train_acc"] <= 100 for e in result.curve)
    assert result.curve[-1]["val_acc"] == result.val_acc and result.curve[-1]["train_loss"] < result.curve[0]["train_loss"]
    assert [e["seconds"] for e in result.curve] == sorted(e["seconds"] for e in result.curve)
    info = result.info()
    assert info["device"] == "cpu" and info["precision"] == "32"
    assert info["log"].count("\n") == 3 and len(info["log"]) < 20_000
    quiet = train(_net(), (x[:90], y[:90]), Recipe(epochs=2, batch_size=16, device="cpu", val_every_epoch=False),
                  val=(x[90:], y[90:]))
    assert quiet.curve[0]["val_acc"] is None and quiet.curve[1]["val_acc"] is not None


def test_same_seed_same_numbers_other_seed_other_numbers() -> None:
    x, y = _data()
    recipe = Recipe(epochs=2, batch_size=16, augment="shift", device="cpu")
    runs = [train(_net(), (x, y), recipe, seed=s).curve[-1]["train_loss"] for s in (1, 1, 2)]
    assert runs[0] == runs[1] and runs[0] != runs[2]


@pytest.mark.parametrize("precision", ["bf16", "16-mixed"])
def test_autocast_trains_on_the_cpu_and_is_recorded(precision: str) -> None:
    x, y = _data()
    result = train(_net(), (x[:90], y[:90]), Recipe(epochs=3, batch_size=16, device="cpu", precision=precision),
                   val=(x[90:], y[90:]))
    assert result.precision == precision and math.isfinite(result.val_loss) and result.val_acc > 50.0
    with pytest.raises(UnknownNameError, match="precision"):
        Recipe(precision="8")


def test_patience_stops_early_and_keeps_the_best_weights() -> None:
    x, y = _data()
    recipe = Recipe(epochs=40, batch_size=16, lr=0.5, patience=2, device="cpu")
    result = train(_net(), (x[:90], y[:90]), recipe, val=(x[90:], y[90:]))
    assert len(result.curve) < 40 and result.best_epoch <= len(result.curve) - 2
    best = min(e["val_loss"] for e in result.curve)
    assert result.val_loss == best


def test_nan_loss_and_unbounded_runs_are_clear_errors() -> None:
    x, y = _data()
    with pytest.raises(TrialFailedError, match="loss became"):
        train(_net(), (x, y), Recipe(epochs=3, lr=1e12, device="cpu"))
    with pytest.raises(InvalidConfigError, match="seconds"):
        train(_net(), (x, y), Recipe(epochs=None, device="cpu"))


def test_settings_split_and_architecture_hyperparameters() -> None:
    recipe, data = split_settings({"lr": 0.2, "max_train": 50, "model": {"channels": 4}, "augment": True})
    assert recipe.lr == 0.2 and recipe.augment == "shift" and data == {"max_train": 50, "model": {"channels": 4}}
    with pytest.raises(InvalidConfigError, match="unknown training setting"):
        split_settings({"learning_rate": 0.1})
    joint = recipe_for(recipe, {"stem": 8, "train.lr": 0.01, "train.optimizer": "adamw"})
    assert (joint.lr, joint.optimizer, joint.augment) == (0.01, "adamw", "shift")
    with pytest.raises(UnknownNameError, match="lr"):
        recipe_for(recipe, {"train.lrr": 0.1})


def test_prepare_fits_normalize_on_training_data_and_exports_it() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 2.0, (50, 2, 4, 4)).astype(np.float32)
    x[:, 1] = 5.0  # a constant channel stays unscaled instead of blowing up
    data = prepare_arrays(x[:40], np.arange(40) % 2, x[40:], np.arange(10) % 2)
    assert data.normalize.mean.shape == (2, 1, 1)
    assert abs(float(data.x_train[:, 0].mean())) < 1e-5 and float(data.normalize.std[1]) == 1.0
    again = Normalize.from_meta(data.meta())
    torch.testing.assert_close(again(torch.from_numpy(x[40:])), data.x_val)
