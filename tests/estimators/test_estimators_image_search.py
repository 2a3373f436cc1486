"""The image estimator's default search: a climb from the hand-designed start."""

from __future__ import annotations

import numpy as np

from nasforge.evaluators.base import Observation
from nasforge.spaces import get_space
from nasforge.spaces.auto_cnn import auto_cnn_default
from nasforge.strategies import make_strategy


def test_local_search_climbs_from_a_told_start_at_once() -> None:
    space = get_space("auto_cnn", input_size=28)
    start = auto_cnn_default(space)
    strategy = make_strategy("local", space, seed=0, n_init=1)
    strategy.tell(start, Observation(values=(90.0,), metrics={"val_acc": 90.0}, cost=1.0, fidelity=None, ok=True))
    neighbours = set(space.neighbors(start))
    asked = strategy.ask(3)
    # no random first trial: every ask is a one-step change of the hand-designed start
    assert all(a in neighbours for a in asked), [space.to_string(a) for a in asked]


def test_image_classifier_defaults_to_the_climb() -> None:
    from nasforge.estimators import ImageClassifier

    est = ImageClassifier()
    assert est.strategy == "local" and est._strategy_params() == {"n_init": 1}
    assert 0 < est.search_fraction < 0.5
    np.testing.assert_equal(ImageClassifier(strategy="evolution")._strategy_params()["population_size"], 5)


def test_a_time_budget_decides_the_epochs_unless_capped() -> None:
    from nasforge.estimators import ImageClassifier

    # under a budget the schedule is planned to end with the time, not cut at an epoch count
    assert ImageClassifier(time_budget_s=600)._recipe(1000).epochs is None
    assert ImageClassifier(time_budget_s=None, max_trials=2)._recipe(1000).epochs == 30
    assert ImageClassifier(time_budget_s=600, epochs=7)._recipe(1000).epochs == 7


def test_an_uncapped_recipe_trains_until_the_time_is_up() -> None:
    import pytest
    import torch

    from nasforge.errors import InvalidConfigError
    from nasforge.training import Recipe, train

    x, y = torch.randn(64, 8), torch.randint(0, 2, (64,))
    model = torch.nn.Linear(8, 2)
    with pytest.raises(InvalidConfigError, match="seconds"):
        train(model, (x, y), Recipe(epochs=None))
    with pytest.raises(InvalidConfigError, match="epochs"):
        Recipe(epochs=0)
    train(model, (x, y), Recipe(epochs=1, batch_size=32))  # torch's first, slow step in this process
    stats = train(model, (x, y), Recipe(epochs=None, batch_size=32), seconds=0.5)
    # two steps an epoch: far more epochs than the default cap of 30 fit in half a second, and the time is used
    assert stats.epochs > 30 and 0.3 < stats.seconds < 1.5
    assert train(model, (x, y), Recipe(epochs=None, batch_size=32), epochs=3).epochs == 3
