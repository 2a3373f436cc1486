"""``nasforge fit`` picks TextClassifier for a text table and AudioClassifier for a wav folder."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import run_cli


@pytest.mark.slow
def test_fit_text_table(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    rows = ["text,label"]
    for i in range(120):
        word = ["awful", "great"][i % 2]
        rows.append(f"the {rng.choice(['film', 'movie'])} was {word},{['neg', 'pos'][i % 2]}")
    (tmp_path / "t.csv").write_text("\n".join(rows) + "\n")
    res = run_cli("fit", "--data", str(tmp_path / "t.csv"), "--time-budget", "12s", "--max-trials", "2",
                  "--threads", "1", "--out", str(tmp_path / "out"), "--export", "onnx", "--json")
    assert res.returncode == 0, res.stderr[-2000:]
    out = json.loads(res.stdout)
    assert out["estimator"] == "TextClassifier" and out["test_samples"] == 24 and out["test_acc"] > 80
    assert (tmp_path / "out" / "estimator.json").is_file() and (tmp_path / "out" / "model.onnx").is_file()


@pytest.mark.slow
def test_fit_wav_folder_and_kind_mismatch(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    for label, f in (("low", 400.0), ("high", 1500.0)):
        (tmp_path / "w" / label).mkdir(parents=True)
        for i in range(20):
            t = np.arange(2000 + 40 * i) / 8000
            x = 0.3 * np.sin(2 * np.pi * f * t) + 0.02 * rng.standard_normal(len(t))
            with wave.open(str(tmp_path / "w" / label / f"{i}.wav"), "wb") as fh:
                fh.setnchannels(1)
                fh.setsampwidth(2)
                fh.setframerate(8000)
                fh.writeframes((x * 32767).astype("<i2").tobytes())
    res = run_cli("fit", "--data", str(tmp_path / "w"), "--time-budget", "8s", "--max-trials", "1",
                  "--threads", "1", "--out", str(tmp_path / "out"), "--json")
    assert res.returncode == 0, res.stderr[-2000:]
    assert json.loads(res.stdout)["estimator"] == "AudioClassifier"
    bad = run_cli("fit", "--data", str(tmp_path / "w"), "--kind", "text", "--out", str(tmp_path / "o2"))
    assert bad.returncode == 2 and "holds audio" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
