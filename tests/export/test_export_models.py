"""`nasforge export`: the final model of a stored search as ONNX, TorchScript, torch.export or a state dict."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli

from nasforge.data import load_dataset

TINY = ["--epochs", "3", "--channels", "8", "--cells", "1"]  # enough to learn digits (about 90%)


@pytest.fixture(scope="module")
def searched(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("export")
    db = tmp / "runs.db"
    res = run_cli("search", "--dataset", "digits", "--strategy", "random", "--trials", "1", *TINY,
                  "--storage", str(db), "--name", "s", "--json", cwd=tmp, timeout=240)
    assert res.returncode == 0, res.stderr
    return db


def _export(db: Path, fmt: str, out: Path, *extra: str) -> dict:
    res = run_cli("export", "s", "--storage", str(db), "--format", fmt, "--out", str(out), "--json", *extra,
                  cwd=db.parent, timeout=240)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def _reference(db: Path, info: dict) -> tuple[np.ndarray, np.ndarray]:
    """A batch of raw test images and the logits of the cached PyTorch model on it."""
    import torch

    from nasforge.export import load_model

    model = load_model(info["cached_model"])
    meta = model.nasforge_meta
    x = np.array(load_dataset("digits").x_test[:50], dtype=np.float32)
    mean = np.array(meta["mean"], dtype=np.float32).reshape(1, -1, 1, 1)
    std = np.array(meta["std"], dtype=np.float32).reshape(1, -1, 1, 1)
    with torch.no_grad():
        logits = model(torch.from_numpy((x - mean) / std)).numpy()
    return x, logits


def test_onnx_export_matches_pytorch_within_1e4_in_onnxruntime(searched, tmp_path):
    import onnxruntime as ort

    info = _export(searched, "onnx", tmp_path / "best.onnx")
    assert info["trained"] is True and info["format"] == "onnx" and info["max_abs_diff"] <= 1e-4
    assert info["epochs"] == 3 and info["dataset"] == "digits" and 0 <= info["test_acc"] <= 100
    x, want = _reference(searched, info)
    sess = ort.InferenceSession(str(tmp_path / "best.onnx"), providers=["CPUExecutionProvider"])
    got = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    assert got.shape == (50, 10)
    assert np.max(np.abs(got - want)) <= 1e-4
    assert np.mean(got.argmax(1) == load_dataset("digits").y_test[:50]) > 0.5  # a trained model, not noise
    side = json.loads((tmp_path / "best.onnx.json").read_text())
    assert side["arch"] == info["arch"] and side["input_shape"] == [1, 8, 8]


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:.*torch.jit.load.*:DeprecationWarning")  # TorchScript itself, in torch 2.13
def test_torchscript_pt2_and_state_dict_exports_reuse_the_trained_model(searched, tmp_path):
    import torch

    from nasforge.export import load_model

    ts = _export(searched, "torchscript", tmp_path / "best.pt")
    assert ts["trained"] is False  # the ONNX export above trained it; the same model is reused
    x, want = _reference(searched, ts)
    scripted = torch.jit.load(str(tmp_path / "best.pt"))
    with torch.no_grad():
        got = scripted(torch.from_numpy(x)).numpy()
    assert np.max(np.abs(got - want)) <= 1e-5
    pt2 = _export(searched, "pt2", tmp_path / "best.pt2")
    assert pt2["trained"] is False and pt2["max_abs_diff"] <= 1e-4
    program = torch.export.load(str(tmp_path / "best.pt2")).module()
    with torch.no_grad():
        for batch in (x, x[:1]):  # a dynamic batch axis
            assert np.max(np.abs(program(torch.from_numpy(batch)).numpy() - want[:len(batch)])) <= 1e-5
    sd = _export(searched, "state_dict", tmp_path / "best.state")
    again = load_model(tmp_path / "best.state")
    ref = load_model(sd["cached_model"])
    for (k, a), (k2, b) in zip(again.state_dict().items(), ref.state_dict().items()):
        assert k == k2 and torch.equal(a, b)


@pytest.mark.slow
def test_retrain_and_epochs_train_again(searched, tmp_path):
    info = _export(searched, "onnx", tmp_path / "e2.onnx", "--epochs", "2")
    assert info["trained"] is True and info["epochs"] == 2


@pytest.mark.slow
def test_benchmark_experiment_needs_a_dataset(tmp_path, nb201_csv):
    db = tmp_path / "b.db"
    res = run_cli("search", "--benchmark", "nb201", "--benchmark-file", str(nb201_csv), "--trials", "20",
                  "--storage", str(db), "--name", "b", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    res = run_cli("export", "b", "--storage", str(db), "--format", "onnx", "--out", str(tmp_path / "b.onnx"),
                  cwd=tmp_path)
    assert res.returncode == 2 and "give --dataset" in res.stderr
    res = run_cli("export", "b", "--storage", str(db), "--format", "onnx", "--out", str(tmp_path / "b.onnx"),
                  "--dataset", "digits", "--epochs", "1", "--channels", "4", "--cells", "1", "--json", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    info = json.loads(res.stdout)
    assert info["trained"] and info["max_abs_diff"] <= 1e-4 and (tmp_path / "b.onnx").stat().st_size > 1000
