from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import run_cli

from nasforge.errors import InvalidConfigError, UnknownNameError
from nasforge.evaluators.training import TrainingEvaluator
from nasforge.training import DataSettings, Recipe, train_architecture
from nasforge.spaces import get_space

ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
TINY = {"channels": 4, "cells_per_stage": 1}


def test_training_learns_digits_and_hides_test() -> None:
    space = get_space("nb201")
    ev = TrainingEvaluator(space, "digits", Recipe(epochs=3), DataSettings(model=TINY))
    r = ev.evaluate(space.parse(ARCH))
    assert r.is_ok and r.metrics["val_acc"] > 50.0  # chance is 10%
    assert set(r.hidden) == {"test_acc"} and "test_acc" not in r.metrics
    assert r.params and r.cost > 0 and r.fidelity == 3.0
    assert ev.evaluate(space.parse(ARCH), fidelity=1).fidelity == 1.0


def test_same_seed_same_numbers() -> None:
    space = get_space("nb201")
    data = DataSettings(model=TINY, seed=5)
    a = train_architecture(space, space.parse(ARCH), "digits", Recipe(epochs=1), data)
    b = train_architecture(space, space.parse(ARCH), "digits", Recipe(epochs=1), data)
    assert a.val_acc == b.val_acc and a.test_acc == b.test_acc


def test_channels_last_trains_the_same_network_in_the_default_layout() -> None:
    import torch

    space = get_space("nb201")
    runs = {cl: train_architecture(space, space.parse(ARCH), "digits", Recipe(epochs=1, channels_last=cl),
                                   DataSettings(model=TINY, seed=3))
            for cl in (False, True)}
    # the same batches and updates in another memory layout: equal up to floating-point rounding
    assert abs(runs[True].val_loss - runs[False].val_loss) < 1e-3 * max(1.0, runs[False].val_loss)
    assert abs(runs[True].val_acc - runs[False].val_acc) <= 1.0
    convs = [m.weight for m in runs[True].model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(w.is_contiguous() for w in convs)  # handed back in the default layout


def test_nan_loss_fails_the_trial() -> None:
    space = get_space("nb201")
    ev = TrainingEvaluator(space, "digits", Recipe(epochs=2, lr=1e12, optimizer="sgd"), DataSettings(model=TINY))
    r = ev.evaluate(space.parse(ARCH))
    assert r.status == "failed" and ("loss became" in r.error or "not finite" in r.error or "loss is" in r.error)


def test_bad_settings_are_clear() -> None:
    with pytest.raises(InvalidConfigError, match="val_fraction"):
        DataSettings(val_fraction=1.5)
    with pytest.raises(UnknownNameError, match="did you mean 'adam'"):
        Recipe(optimizer="adma")
    with pytest.raises(UnknownNameError, match="unknown dataset"):
        TrainingEvaluator(get_space("nb201"), "mnsit")


def test_mlp_space_trains_on_tabular_data() -> None:
    space = get_space("mlp")
    arch = space.sample(np.random.default_rng(0))
    out = train_architecture(space, arch, "wine", Recipe(epochs=5, lr=0.01, optimizer="adam"))
    assert out.val_acc > 50.0


def test_train_cli_json_and_saved_model(tmp_path) -> None:
    import torch

    from nasforge.export import load_model

    path = tmp_path / "m.pt"
    out = run_cli("train", "--arch", ARCH, "--dataset", "digits", "--epochs", "2", "--channels", "4", "--cells", "1",
                  "--save", str(path), "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["arch"] == ARCH and {"val_acc", "test_acc", "params"} <= set(data)
    model = load_model(path)
    assert model(torch.zeros(3, 1, 8, 8)).shape == (3, 10)


def test_each_trial_stores_its_learning_curve_and_log(tmp_path) -> None:
    from nasforge.evaluators.base import Objective
    from nasforge.runner import Budget, Experiment, Runner
    from nasforge.storage import Store
    from nasforge.strategies import make_strategy

    space = get_space("nb201")
    ev = TrainingEvaluator(space, "digits", Recipe(epochs=3), DataSettings(model=TINY, max_train=400))
    exp = Experiment("c", space, make_strategy("random", space, seed=0), ev, (Objective("val_acc"),),
                     Budget(trials=1), {"space": {"name": "nb201"}})
    with Store(tmp_path / "c.db") as store:
        Runner(exp, store).run()
        (t,) = store.trials(store.get_experiment("c").id)
    curve = t.info["curve"]
    assert [c["epoch"] for c in curve] == [1, 2, 3]
    assert set(curve[0]) == {"epoch", "train_loss", "train_acc", "val_loss", "val_acc", "seconds"}
    assert all(c["train_loss"] > 0 and 0 <= c["train_acc"] <= 100 and c["seconds"] > 0 for c in curve)
    assert curve[-1]["train_loss"] < curve[0]["train_loss"]  # it learns
    assert curve[-1]["val_acc"] == pytest.approx(t.metrics["val_acc"])
    assert all(0 <= c["val_acc"] <= 100 for c in curve)  # validation is scored every epoch
    assert "epoch 3:" in t.info["log"] and "test" not in t.info["log"] and len(t.info["log"]) < 20_000
