"""Save/load without pickle, TorchScript, torch.export and ONNX export (checked with onnxruntime), budget, CLI."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from sklearn.datasets import load_digits

from nasforge.errors import InvalidConfigError, UnknownNameError
from nasforge.estimators import ImageClassifier, TabularClassifier


@pytest.fixture(scope="module")
def fitted() -> tuple[ImageClassifier, np.ndarray]:
    x, y = load_digits(return_X_y=True)
    x = x.astype(np.float32).reshape(-1, 8, 8)
    est = ImageClassifier(max_trials=2, time_budget_s=None, trial_seconds=1.0, epochs=2, threads=1, seed=0)
    return est.fit(x[:500], y[:500]), x[500:600]


def test_save_load_roundtrip_without_pickle(tmp_path: Path, fitted: tuple[ImageClassifier, np.ndarray]) -> None:
    est, x = fitted
    est.save(tmp_path / "clf")
    # the weights file is tensors only: the safe loader reads it
    assert isinstance(torch.load(tmp_path / "clf" / "model.pt", weights_only=True), dict)
    meta = json.loads((tmp_path / "clf" / "estimator.json").read_text())
    assert meta["arch"] == est.best_arch_.key
    back = ImageClassifier.load(tmp_path / "clf")
    assert back.best_arch_ == est.best_arch_ and back.get_params() == est.get_params()
    np.testing.assert_allclose(back.predict_proba(x), est.predict_proba(x), atol=1e-6)
    assert (back.predict(x) == est.predict(x)).all()
    with pytest.raises(InvalidConfigError, match="not a TabularClassifier"):
        TabularClassifier.load(tmp_path / "clf")


def test_onnx_export_matches_predict_proba(tmp_path: Path, fitted: tuple[ImageClassifier, np.ndarray]) -> None:
    import onnxruntime as ort

    est, x = fitted
    path = est.export(tmp_path / "m.onnx", format="onnx")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {"input": x[:, None]})[0]  # raw inputs: normalisation is inside
    np.testing.assert_allclose(got, est.predict_proba(x), atol=1e-4)


@pytest.mark.filterwarnings("ignore:.*torch.jit.load.*:DeprecationWarning")
def test_torchscript_export_matches_predict_proba(tmp_path: Path, fitted: tuple[ImageClassifier, np.ndarray]) -> None:
    est, x = fitted
    path = est.export(tmp_path / "m.ts")
    loaded = torch.jit.load(str(path))
    got = loaded(torch.from_numpy(x[:, None])).detach().numpy()
    np.testing.assert_allclose(got, est.predict_proba(x), atol=1e-5)
    with pytest.raises(UnknownNameError, match="torchscript"):
        est.export(tmp_path / "m.x", format="tflite")


def test_pt2_export_matches_predict_proba_at_any_batch_size(tmp_path: Path,
                                                            fitted: tuple[ImageClassifier, np.ndarray]) -> None:
    est, x = fitted
    path = est.export(tmp_path / "m.pt2", format="pt2")
    program = torch.export.load(str(path)).module()  # no nasforge needed to run it
    for batch in (x, x[:1]):  # traced on 2 inputs, the batch axis is dynamic
        got = program(torch.from_numpy(batch[:, None])).detach().numpy()
        np.testing.assert_allclose(got, est.predict_proba(batch), atol=1e-5)


def test_an_export_that_disagrees_with_pytorch_is_refused(tmp_path: Path, fitted: tuple[ImageClassifier, np.ndarray],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import nasforge.export
    from nasforge.export import ExportCheckError

    est, _ = fitted
    monkeypatch.setattr(nasforge.export, "check_onnx", lambda *a: 0.5)  # as if onnxruntime computed otherwise
    with pytest.raises(ExportCheckError, match="0.5"):
        est.export(tmp_path / "m.onnx", format="onnx")


def test_time_budget_bounds_the_whole_fit() -> None:
    x, y = load_digits(return_X_y=True)
    budget = 5.0
    t0 = time.perf_counter()
    est = ImageClassifier(time_budget_s=budget, threads=1, seed=0).fit(x.reshape(-1, 8, 8), y)
    took = time.perf_counter() - t0
    assert took < budget * 1.3 + 1.0, took
    assert len(est.history_) >= 2  # the hand-designed start and at least one searched architecture


def test_cli_fit_digits(tmp_path: Path) -> None:
    from nasforge.cli.main import cli

    out = tmp_path / "model"
    res = CliRunner().invoke(cli, ["fit", "--data", "digits", "--time-budget", "6s", "--out", str(out),
                                   "--threads", "1", "--export", "onnx", "--export", "pt2", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output.strip().splitlines()[-1])
    assert data["estimator"] == "ImageClassifier" and data["test_acc"] > 50
    assert (out / "model.pt").is_file() and (out / "model.onnx").is_file() and (out / "model.pt2").is_file()
    assert data["files"]["pt2"].endswith("model.pt2")
    assert ImageClassifier.load(out).predict(np.zeros((1, 1, 8, 8), np.float32)).shape == (1,)
    bad = CliRunner().invoke(cli, ["fit", "--data", "digits", "--time-budget", "ten minutes", "--out", str(out)])
    assert bad.exit_code == 2 and "duration" in bad.output
