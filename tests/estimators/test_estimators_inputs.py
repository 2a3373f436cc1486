"""Inputs the estimators accept, and the clear errors for those they do not."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import sklearn.exceptions
import torch
from sklearn.datasets import load_digits

from nasforge.errors import InvalidConfigError, NasforgeError, UnknownNameError
from nasforge.errors import NotFittedError as NasforgeNotFitted
from nasforge.estimators import ImageClassifier, TabularClassifier

FAST = {"max_trials": 1, "time_budget_s": None, "epochs": 2, "threads": 1}


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    x, y = load_digits(return_X_y=True)
    return x.astype(np.float32).reshape(-1, 8, 8)[:400] / 16.0, y[:400]


@pytest.mark.parametrize("make, message", [
    (lambda x, y: (np.where(np.arange(x.size).reshape(x.shape) == 5, np.nan, x), y), "NaN"),
    (lambda x, y: (x, np.zeros_like(y)), "at least 2 classes"),
    (lambda x, y: (x, y[:-3]), "same length"),
    (lambda x, y: (x.reshape(len(x), -1), y), "(N, H, W)"),
    (lambda x, y: (x[:, None, None], y), "(N, H, W)"),
    (lambda x, y: (x, y[:, None]), "1-D"),
    (lambda x, y: (x[:, :3, :3], y), "at least 4x4"),
])
def test_image_classifier_rejects_bad_inputs(digits: tuple[np.ndarray, np.ndarray], make, message: str) -> None:
    x, y = make(*digits)
    with pytest.raises(InvalidConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ImageClassifier(**FAST).fit(x, y)


def test_tabular_classifier_rejects_images_and_nan(digits: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = digits
    with pytest.raises(InvalidConfigError, match=r"\(N, F\)"):
        TabularClassifier(**FAST).fit(x, y)
    flat = x.reshape(len(x), -1).copy()
    flat[3, 2] = np.inf
    with pytest.raises(InvalidConfigError, match="NaN or infinite"):
        TabularClassifier(**FAST).fit(flat, y)


@pytest.mark.parametrize("params, message", [
    ({"time_budget_s": -1}, "time_budget_s"),
    ({"time_budget_s": None, "max_trials": None}, "both are None"),
    ({"max_trials": 0}, "max_trials"),
    ({"search_fraction": 1.5}, "search_fraction"),
    ({"workers": 0}, "workers"),
])
def test_bad_settings_are_clear_errors(digits: tuple[np.ndarray, np.ndarray], params: dict, message: str) -> None:
    x, y = digits
    with pytest.raises(InvalidConfigError, match=message):
        ImageClassifier(**{**FAST, **params}).fit(x, y)


def test_unknown_space_and_strategy_list_the_valid_names(digits: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = digits
    with pytest.raises(UnknownNameError, match="Valid:"):
        ImageClassifier(**FAST, strategy="evolutoin").fit(x, y)
    with pytest.raises(UnknownNameError, match="auto_cnn"):
        ImageClassifier(**FAST, space="auto_cn").fit(x, y)


@pytest.mark.parametrize("cls", [ImageClassifier, TabularClassifier])
def test_not_fitted_is_both_nasforge_and_sklearn_error(cls: type) -> None:
    est = cls()
    for call in (lambda: est.predict(np.zeros((2, 8, 8))), lambda: est.save("/nonexistent/x"),
                 lambda: est.export("/nonexistent/x.onnx")):
        with pytest.raises(NasforgeNotFitted, match="not fitted yet") as info:
            call()
        assert isinstance(info.value, sklearn.exceptions.NotFittedError)
        assert isinstance(info.value, NasforgeError)


def test_image_layouts_torch_dataset_and_string_labels(digits: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = digits
    names = np.array([f"class-{v}" for v in y])
    est = ImageClassifier(**FAST, seed=0).fit(x[:, :, :, None], names)  # channels-last (N, H, W, 1)
    assert est.input_shape_ == (1, 8, 8)
    pred = est.predict(x[:, None])  # the same images as (N, C, H, W)
    assert pred.dtype.kind == "U" and set(pred) <= set(names)
    with pytest.raises(InvalidConfigError, match="fitted on shape"):
        est.predict(np.zeros((2, 1, 9, 9), np.float32))
    ds = torch.utils.data.TensorDataset(torch.from_numpy(x[:, None]), torch.from_numpy(y))
    est2 = ImageClassifier(**FAST, seed=0).fit(ds)
    assert est2.classes_.tolist() == sorted(set(y.tolist()))
    assert est2.predict(ds).shape == (len(x),)


def test_image_folder_path(tmp_path: Path, digits: tuple[np.ndarray, np.ndarray]) -> None:
    from PIL import Image

    x, y = digits
    for i in range(60):
        label = ("even", "odd")[int(y[i]) % 2]
        (tmp_path / label).mkdir(exist_ok=True)
        Image.fromarray((x[i] * 255).astype(np.uint8)).save(tmp_path / label / f"{i}.png")
    est = ImageClassifier(**FAST).fit(str(tmp_path))
    assert est.classes_.tolist() == ["even", "odd"]
    with pytest.raises(InvalidConfigError, match="leave y=None"):
        ImageClassifier(**FAST).fit(str(tmp_path), np.zeros(60))
