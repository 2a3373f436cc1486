"""TextClassifier and AudioClassifier: scikit-learn contract, save/load and export round trips, bad input."""

from __future__ import annotations

import inspect
import wave
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import cross_val_score

from nasforge.errors import InvalidConfigError
from nasforge.estimators import AudioClassifier, NotFittedError, TextClassifier

torch.set_num_threads(1)

POS, NEG = ["good", "great", "fine", "lovely", "superb"], ["bad", "awful", "dull", "poor", "boring"]
FILLER = ["the", "film", "was", "a", "movie", "plot", "and", "it", "so", "very"]


def _texts(n: int, seed: int) -> tuple[list[str], list[str]]:
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for i in range(n):
        words = [str(w) for w in rng.choice(FILLER, 5)] + [str(rng.choice(POS if i % 2 else NEG))]
        rng.shuffle(words)
        texts.append(" ".join(words))
        labels.append("pos" if i % 2 else "neg")
    return texts, labels


def _waves(n: int, seed: int, rate: int = 8000) -> tuple[list[np.ndarray], np.ndarray]:
    rng = np.random.default_rng(seed)
    waves, labels = [], np.arange(n) % 2
    for label in labels:
        length = int(rng.integers(rate // 4, rate // 2))
        t = np.arange(length) / rate
        f = 400.0 if label else 1500.0
        waves.append((0.3 * np.sin(2 * np.pi * f * t) + 0.02 * rng.standard_normal(length)).astype(np.float32))
    return waves, labels


def _text_clf(**kw: object) -> TextClassifier:
    args = {"max_trials": 1, "time_budget_s": None, "epochs": 6, "patience": 2, "batch_size": 16, "threads": 1,
            "ensemble": 1, "seed": 0}
    return TextClassifier(**{**args, **kw})


def _audio_clf(**kw: object) -> AudioClassifier:
    args = {"max_trials": 1, "time_budget_s": None, "epochs": 6, "batch_size": 16, "threads": 1, "seed": 0}
    return AudioClassifier(**{**args, **kw})


@pytest.fixture(scope="module")
def text_fit() -> tuple[TextClassifier, list[str], list[str]]:
    x, y = _texts(160, 0)
    xt, yt = _texts(60, 1)
    return _text_clf(max_trials=2, ensemble=2).fit(x, y), xt, yt


@pytest.fixture(scope="module")
def audio_fit() -> tuple[AudioClassifier, list[np.ndarray], np.ndarray]:
    x, y = _waves(64, 0)
    xt, yt = _waves(20, 1)
    return _audio_clf().fit(x, y), xt, yt


@pytest.mark.parametrize("cls", [TextClassifier, AudioClassifier])
def test_get_params_clone_set_params(cls: type) -> None:
    est = cls()
    names = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    assert sorted(est.get_params()) == sorted(names)
    assert "device" in names and not [k for k in vars(est) if k.endswith("_")]
    est.set_params(seed=5, time_budget_s=12.5)
    twin = clone(est)
    assert twin is not est and twin.get_params() == est.get_params()


def test_text_fit_predict_unknown_words_and_save_load(text_fit: tuple, tmp_path: Path) -> None:
    clf, xt, yt = text_fit
    assert clf.score(xt, yt) > 0.8  # one sentiment word decides; chance is 0.5
    assert clf.vocab_.tokens[:2] == ("<pad>", "<unk>") and clf.max_len_ == 6
    unseen = clf.predict(["zebra quantum", "totally unseen words here great"])
    assert set(unseen) <= {"neg", "pos"}
    assert clf.predict_proba(xt).shape == (60, 2)
    clf.save(tmp_path / "m")
    back = TextClassifier.load(tmp_path / "m")
    assert back.vocab_ == clf.vocab_ and back.max_len_ == clf.max_len_
    assert np.allclose(back.predict_proba(xt), clf.predict_proba(xt), atol=1e-6)
    assert "pickle" not in (tmp_path / "m" / "estimator.json").read_text()


def test_text_export_takes_token_ids(text_fit: tuple, tmp_path: Path) -> None:
    import onnxruntime as ort

    clf, xt, _ = text_fit
    ids = clf.encode(xt)
    assert ids.dtype == np.int64 and ids.shape == (60, clf.max_len_)
    want = clf.predict_proba(xt)
    session = ort.InferenceSession(str(clf.export(tmp_path / "m.onnx", "onnx")), providers=["CPUExecutionProvider"])
    got = session.run(None, {"input": ids})[0]
    assert np.abs(got - want).max() < 1e-4
    program = torch.export.load(str(clf.export(tmp_path / "m.pt2", "pt2"))).module()
    assert np.abs(program(torch.from_numpy(ids)).detach().numpy() - want).max() < 1e-4


def test_audio_fit_save_load_export(audio_fit: tuple, tmp_path: Path) -> None:
    import onnxruntime as ort

    clf, xt, yt = audio_fit
    assert clf.score(xt, yt) >= 0.9  # two tones; chance is 0.5
    assert clf.n_samples_ % 80 == 0 and clf.model_rate_ == 8000
    clf.save(tmp_path / "a")
    back = AudioClassifier.load(tmp_path / "a")
    assert np.allclose(back.predict_proba(xt), clf.predict_proba(xt), atol=1e-5)
    from nasforge.data.audio import fix_length

    raw = np.stack([fix_length(w, clf.n_samples_) for w in xt])
    session = ort.InferenceSession(str(clf.export(tmp_path / "a.onnx", "onnx")), providers=["CPUExecutionProvider"])
    got = session.run(None, {"input": raw})[0]
    assert np.abs(got - clf.predict_proba(xt)).max() < 1e-3


def test_audio_resamples_other_rates(audio_fit: tuple) -> None:
    clf, _, _ = audio_fit
    x16, y16 = _waves(20, 3, rate=16000)
    at16 = clone(clf).set_params(sample_rate=16000)
    at16.__dict__.update({k: v for k, v in vars(clf).items() if k.endswith("_")})  # the fitted 8 kHz model
    assert at16.score(x16, y16) >= 0.9


def test_cross_val_score_text_and_audio() -> None:
    x, y = _texts(120, 2)
    scores = cross_val_score(_text_clf(), x, y, cv=2)
    assert scores.shape == (2,) and scores.min() > 0.7
    w, yw = _waves(48, 4)
    scores = cross_val_score(_audio_clf(epochs=20), w, yw, cv=2)
    assert scores.shape == (2,) and scores.min() > 0.7


def test_text_bad_input() -> None:
    x, y = _texts(20, 0)
    with pytest.raises(InvalidConfigError, match="empty"):
        _text_clf().fit(x[:-1] + ["  "], y)
    with pytest.raises(InvalidConfigError, match="X is empty"):
        _text_clf().fit([], [])
    with pytest.raises(InvalidConfigError, match="same length"):
        _text_clf().fit(x, y[:-1])
    with pytest.raises(InvalidConfigError, match="at least 2 classes"):
        _text_clf().fit(x, ["pos"] * len(x))
    with pytest.raises(InvalidConfigError, match="single string"):
        _text_clf().fit("one text", ["pos"])
    with pytest.raises(InvalidConfigError, match="strings"):
        _text_clf().fit([1, 2, 3, 4], [0, 1, 0, 1])
    with pytest.raises(InvalidConfigError, match="device"):
        _text_clf(device="toaster").fit(x, y)
    with pytest.raises(NotFittedError):
        _text_clf().predict(x)


def test_audio_bad_input(tmp_path: Path) -> None:
    w, y = _waves(12, 0)
    bad = [*w[:-1], np.array([0.1, np.nan, 0.2], np.float32)]
    with pytest.raises(InvalidConfigError, match="NaN or infinite"):
        _audio_clf().fit(bad, y)
    with pytest.raises(InvalidConfigError, match="same length"):
        _audio_clf().fit(w, y[:-1])
    with pytest.raises(InvalidConfigError, match="at least 2 classes"):
        _audio_clf().fit(w, np.zeros(len(w)))
    with pytest.raises(InvalidConfigError, match="sample_rate"):
        _audio_clf(sample_rate=0).fit(w, y)
    with pytest.raises(InvalidConfigError, match="1-D"):
        _audio_clf().fit([np.zeros((2, 100))] * 4, [0, 1, 0, 1])
    for label in ("a", "b"):
        (tmp_path / "w" / label).mkdir(parents=True)
        for i in range(3):
            with wave.open(str(tmp_path / "w" / label / f"{i}.wav"), "wb") as fh:
                fh.setnchannels(1)
                fh.setsampwidth(2)
                fh.setframerate(16000)
                fh.writeframes(np.zeros(1600, "<i2").tobytes())
    with pytest.raises(InvalidConfigError, match="16000 Hz but sample_rate=8000"):
        _audio_clf().fit(str(tmp_path / "w"))
