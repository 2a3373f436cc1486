"""TabularClassifier's cross-validated trials and seed ensemble: folds, persistence, export."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.datasets import load_wine

from nasforge.errors import InvalidConfigError
from nasforge.estimators import TabularClassifier
from nasforge.evaluators.arrays import CrossValEvaluator
from nasforge.training import Recipe
from nasforge.spaces import get_space


def test_folds_are_stratified_and_score_every_sample_once() -> None:
    y = np.array([0] * 10 + [1] * 7 + [2] * 5)
    x = torch.randn(len(y), 4)
    ev = CrossValEvaluator(get_space("mlp"), {"x_train": x, "y_train": torch.from_numpy(y)}, Recipe(epochs=2),
                           folds=5, model_kwargs={"num_classes": 3, "in_features": 4})
    assert sorted(set(ev.fold_of.tolist())) == [0, 1, 2, 3, 4]
    for c, n in ((0, 10), (1, 7), (2, 5)):  # each class spread over the folds to within one sample
        counts = np.bincount(ev.fold_of[y == c], minlength=5)
        assert counts.sum() == n and counts.max() - counts.min() <= 1
    res = ev.evaluate(get_space("mlp").sample(np.random.default_rng(0)))
    assert res.ok and res.metrics["folds"] == 5.0
    # pooled accuracy over all 22 samples: a multiple of 1/22
    assert abs(res.metrics["val_acc"] * 22 / 100 - round(res.metrics["val_acc"] * 22 / 100)) < 1e-6
    with pytest.raises(InvalidConfigError, match="at least 2 samples of every class"):
        CrossValEvaluator(get_space("mlp"), {"x_train": x[:11], "y_train": torch.from_numpy(y[:11])}, Recipe(),
                          folds=5)


def test_cv_ensemble_fit_save_load_export(tmp_path: Path) -> None:
    import onnxruntime as ort

    x, y = load_wine(return_X_y=True)
    x = x.astype(np.float32)
    est = TabularClassifier(max_trials=2, time_budget_s=None, epochs=15, patience=5, lr=3e-3, threads=1, seed=0,
                            cv=3, ensemble=2).fit(x[::2], y[::2])
    assert all(h["folds"] == 3.0 for h in est.history_ if h["status"] == "ok")
    assert est.final_stats_["members"] == 2 and len(est.model_[1].members) == 2
    proba = est.predict_proba(x[1::2])
    assert np.allclose(proba.sum(1), 1.0, atol=1e-5)
    assert est.score(x[1::2], y[1::2]) > 0.8
    back = TabularClassifier.load(est.save(tmp_path / "clf"))
    np.testing.assert_allclose(back.predict_proba(x[1::2]), proba, atol=1e-6)
    session = ort.InferenceSession(str(est.export(tmp_path / "m.onnx", format="onnx")),
                                   providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {"input": x[1::2]})[0], proba, atol=1e-4)


@pytest.mark.parametrize(("params", "message"), [({"cv": 0}, "cv must be"), ({"cv": "five"}, "cv must be"),
                                                  ({"ensemble": 0}, "ensemble must be")])
def test_bad_cv_and_ensemble_settings(params: dict, message: str) -> None:
    x, y = load_wine(return_X_y=True)
    with pytest.raises(InvalidConfigError, match=message):
        TabularClassifier(max_trials=1, time_budget_s=None, epochs=1, **params).fit(x, y)


def test_same_seed_same_model_whatever_ran_before() -> None:
    # dropout draws from torch's global generator; trials seed it, so a refit repeats exactly
    x, y = load_wine(return_X_y=True)
    params = {"max_trials": 2, "time_budget_s": None, "epochs": 10, "threads": 1, "seed": 3, "cv": 1}
    first = TabularClassifier(**params).fit(x, y)
    torch.rand(7)  # move the global generator on
    second = TabularClassifier(**params).fit(x, y)
    assert [h["val_acc"] for h in first.history_] == [h["val_acc"] for h in second.history_]
    np.testing.assert_array_equal(first.predict_proba(x[:10]), second.predict_proba(x[:10]))
