"""Joint search spaces: training hyperparameters (``train.*``) next to architecture choices."""

from __future__ import annotations

import numpy as np
import pytest

import nasforge as nf
from nasforge.errors import InvalidConfigError, UnknownNameError
from nasforge.evaluators.base import Objective, Result
from nasforge.spaces import get_space
from nasforge.strategies import STRATEGIES, as_suggestion, make_strategy
from nasforge.training import Recipe, recipe_for

JOINT = get_space("chain_cnn_joint")


def test_loguniform_is_a_log_spaced_choice() -> None:
    assert nf.loguniform("train.lr", 1e-3, 1e-1, 5).options == (0.001, 0.00316, 0.01, 0.0316, 0.1)
    with pytest.raises(InvalidConfigError, match="0 < low < high"):
        nf.loguniform("train.lr", 0.1, 0.01, 3)
    with pytest.raises(UnknownNameError, match="did you mean 'lr'"):
        nf.define_space("typo", [nf.value("w", [1, 2]), nf.loguniform("train.lrr", 1e-3, 1e-1, 3)])


def test_the_example_space_feeds_the_recipe() -> None:
    arch = JOINT.sample(np.random.default_rng(0))
    recipe = recipe_for(Recipe(), arch)
    assert recipe.lr == arch["train.lr"] and recipe.weight_decay == arch["train.weight_decay"]
    assert recipe.optimizer == arch["train.optimizer"] and recipe.batch_size == arch["train.batch_size"]
    assert JOINT.build(arch, in_channels=1, num_classes=10) is not None  # the builder ignores train.* labels


def _score(arch: nf.Architecture) -> Result:
    """A landscape over both kinds of choice: best near lr 0.03 with a wide stem."""
    score = 80.0 - 10 * abs(np.log10(arch["train.lr"]) + 1.5) + arch["stem_width"] / 8
    return Result.ok({"val_acc": float(score)}, cost=1.0)


@pytest.mark.parametrize("name", STRATEGIES.names())
def test_every_strategy_searches_a_joint_space(name: str) -> None:
    strategy = make_strategy(name, JOINT, seed=0)
    obj = (Objective("val_acc"),)
    lrs = set()
    for _ in range(12):
        for item in strategy.ask(1):
            sug = as_suggestion(item)
            arch = JOINT.validate(sug.arch)
            lrs.add(arch["train.lr"])
            strategy.tell(arch, _score(arch).observe(obj))
    assert len(lrs) >= 2  # the learning rate really is searched
