"""scikit-learn compatibility of the AutoML estimators (acceptance 2): clone, get/set_params, cross_val_score."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.model_selection import cross_val_score

from nasforge.estimators import ImageClassifier, TabularClassifier


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    x, y = load_digits(return_X_y=True)
    return x.astype(np.float32), y


@pytest.mark.parametrize("cls", [ImageClassifier, TabularClassifier])
def test_get_params_lists_every_constructor_argument(cls: type) -> None:
    est = cls()
    names = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    assert sorted(est.get_params()) == sorted(names)
    # the constructor only stores: nothing fitted exists yet
    assert not [k for k in vars(est) if k.endswith("_")]


@pytest.mark.parametrize("cls", [ImageClassifier, TabularClassifier])
def test_clone_and_set_params(cls: type) -> None:
    est = cls(max_trials=3, seed=7)
    est.set_params(seed=11, time_budget_s=12.5)
    twin = clone(est)
    assert twin is not est
    assert twin.get_params() == est.get_params()
    assert twin.get_params()["seed"] == 11 and twin.get_params()["time_budget_s"] == 12.5


def test_cross_val_score_tabular_on_digits(digits: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = digits
    est = TabularClassifier(max_trials=2, time_budget_s=None, epochs=20, patience=5, lr=3e-3, threads=1, seed=0)
    scores = cross_val_score(est, x[:600], y[:600], cv=3)
    assert scores.shape == (3,)
    assert scores.min() > 0.7, scores  # chance is 0.1 (sklearn MLPClassifier: 0.85-0.9 on these folds)
    assert not hasattr(est, "model_")  # cross_val_score fits clones, never the original


def test_cross_val_score_image_on_digits(digits: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = digits
    images = x.reshape(-1, 8, 8)[:900]
    est = ImageClassifier(max_trials=2, time_budget_s=None, trial_seconds=1.0, epochs=10, batch_size=32, threads=1,
                          seed=0)
    scores = cross_val_score(est, images, y[:900], cv=2)
    assert scores.shape == (2,)
    assert scores.min() > 0.5, scores


def test_fitted_attributes_and_score(digits: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = digits
    tiny = TabularClassifier(max_trials=1, time_budget_s=None, epochs=1, threads=1)
    assert tiny.fit(x[:100], y[:100]) is tiny  # fit returns self
    labels = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])[y]
    est = TabularClassifier(max_trials=2, time_budget_s=None, epochs=20, lr=3e-3, threads=1, seed=0)
    est.fit(x[:600], labels[:600])
    for attr in ("best_arch_", "model_", "history_", "classes_", "best_val_acc_", "n_features_in_"):
        assert hasattr(est, attr), attr
    assert len(est.history_) == 2
    assert set(est.predict(x[600:700])) <= set(labels)
    proba = est.predict_proba(x[600:700])
    assert proba.shape == (100, 10) and np.allclose(proba.sum(1), 1.0, atol=1e-5)
    assert est.score(x[600:], labels[600:]) > 0.8
