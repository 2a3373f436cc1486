"""Text and audio data: tokenizer, vocabulary, WAV reading, resampling, the sst2/trec/fsdd loaders, user files."""

from __future__ import annotations

import os
import wave
from pathlib import Path

import numpy as np
import pytest

from nasforge.data import load_dataset
from nasforge.data.audio import check_rate, fix_length, read_wav, resample
from nasforge.data.sequences import SOURCES, verify_checksums
from nasforge.data.text import Vocabulary, tokenize
from nasforge.errors import DatasetUnavailableError, InvalidConfigError

DATA = os.environ.get("NASFORGE_DATA")


def _need(folder: str) -> Path:
    if not DATA or not (Path(DATA) / folder).is_dir():
        pytest.skip(f"$NASFORGE_DATA/{folder} not present (set NASFORGE_DATA to the shared data folder)")
    return Path(DATA)


def _write_wav(path: Path, samples: np.ndarray, rate: int, width: int = 2) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as fh:
        fh.setnchannels(1)
        fh.setsampwidth(width)
        fh.setframerate(rate)
        if width == 2:
            fh.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
        else:
            fh.writeframes((np.clip(samples, -1, 1) * 127 + 128).astype(np.uint8).tobytes())


def test_tokenize_lowercases_and_splits_punctuation() -> None:
    assert tokenize("Hello, World!  It's GREAT") == ["hello", ",", "world", "!", "it's", "great"]
    assert tokenize("") == []
    with pytest.raises(InvalidConfigError, match="strings"):
        tokenize(3)  # type: ignore[arg-type]


def test_vocabulary_order_limits_padding_and_json() -> None:
    texts = ["b a a c", "a b d", "e"]
    vocab = Vocabulary.build(texts, min_freq=2)
    assert vocab.tokens == ("<pad>", "<unk>", "a", "b")  # by falling frequency; c/d/e dropped
    assert Vocabulary.build(texts, max_size=3).tokens == ("<pad>", "<unk>", "a")
    ids = vocab.encode(["a zzz b a b", ""], max_len=3)
    assert ids.dtype == np.int64 and ids.tolist() == [[2, 1, 3], [0, 0, 0]]  # truncated at the end / all padding
    assert vocab.encode(["b"], max_len=3).tolist() == [[3, 0, 0]]  # padded at the end
    again = Vocabulary.from_json(vocab.to_json())
    assert again == vocab and again.id("a") == 2
    with pytest.raises(InvalidConfigError, match="min_freq"):
        Vocabulary.build(texts, min_freq=0)
    with pytest.raises(InvalidConfigError, match="vocabulary"):
        Vocabulary.from_json({"tokens": ["x"]})


def test_wav_round_trip_and_errors(tmp_path: Path) -> None:
    t = np.arange(800) / 8000
    tone = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    _write_wav(tmp_path / "a.wav", tone, 8000)
    got, rate = read_wav(tmp_path / "a.wav")
    assert rate == 8000 and got.dtype == np.float32 and np.abs(got - tone).max() < 1e-3
    _write_wav(tmp_path / "b.wav", tone, 8000, width=1)
    with pytest.raises(InvalidConfigError, match="16-bit"):
        read_wav(tmp_path / "b.wav")
    (tmp_path / "c.wav").write_bytes(b"not a wav file at all")
    with pytest.raises(InvalidConfigError, match="PCM WAV"):
        read_wav(tmp_path / "c.wav")


def test_resample_keeps_a_tone_and_changes_length() -> None:
    t = np.arange(16000) / 16000
    tone = np.sin(2 * np.pi * 300 * t).astype(np.float32)
    down = resample(tone, 16000, 8000)
    assert len(down) == 8000
    want = np.sin(2 * np.pi * 300 * np.arange(8000) / 8000)
    assert np.abs(down[200:-200] - want[200:-200]).max() < 0.02  # edges carry the filter's transient
    assert len(resample(tone[:441], 44100, 16000)) == 160
    with pytest.raises(InvalidConfigError, match="sample_rate"):
        check_rate(0)
    with pytest.raises(InvalidConfigError, match="whole number"):
        check_rate(8000.5)


def test_fix_length_centres() -> None:
    x = np.arange(1, 6, dtype=np.float32)
    assert fix_length(x, 3).tolist() == [2, 3, 4]
    assert fix_length(x, 8).tolist() == [0, 1, 2, 3, 4, 5, 0, 0]


def test_missing_dataset_says_where_to_get_and_put_it(tmp_path: Path) -> None:
    with pytest.raises(DatasetUnavailableError) as info:
        load_dataset("trec", root=str(tmp_path))
    msg = str(info.value)
    assert SOURCES["trec"]["url"] in msg and str(tmp_path / "text") in msg and "\n" not in msg


def test_text_table_csv_and_tsv(tmp_path: Path) -> None:
    rows = [f"good movie {i},pos" if i % 2 else f"bad film {i},neg" for i in range(40)]
    (tmp_path / "t.csv").write_text("text,label\n" + "\n".join(rows) + "\n")
    ds = load_dataset(str(tmp_path / "t.csv"))
    assert ds.kind == "text" and ds.classes == ("neg", "pos")
    assert len(ds.x_train) + len(ds.x_val) + len(ds.x_test) == 40 and len(ds.x_test) == 8
    (tmp_path / "t.tsv").write_text("\n".join(r.replace(",", "\t") for r in rows))
    assert load_dataset(str(tmp_path / "t.tsv")).num_classes == 2
    (tmp_path / "bad.csv").write_text("a,b,c\n1,2,3\n")
    with pytest.raises(InvalidConfigError, match="'text' and 'label'"):
        load_dataset(str(tmp_path / "bad.csv"))
    (tmp_path / "one.csv").write_text("\n".join(f"x {i},same" for i in range(10)))
    with pytest.raises(InvalidConfigError, match="single class"):
        load_dataset(str(tmp_path / "one.csv"))


def test_wav_folder(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    for label in ("yes", "no"):
        for i in range(10):
            _write_wav(tmp_path / "w" / label / f"{i}.wav", rng.uniform(-0.5, 0.5, 400 + i), 8000)
    _write_wav(tmp_path / "w" / "no" / "odd.wav", rng.uniform(-0.5, 0.5, 800), 16000)
    ds = load_dataset(str(tmp_path / "w"))
    assert ds.kind == "audio" and ds.sample_rate == 8000 and ds.classes == ("no", "yes")
    lengths = sorted(len(w) for w in ds.x_all + ds.x_test)
    assert 400 in lengths and 800 not in lengths  # the 16 kHz file was resampled to 8 kHz


def test_sst2_and_trec_from_the_data_root() -> None:
    root = _need("text")
    sst2 = load_dataset("sst2")
    assert (len(sst2.x_train), len(sst2.x_val), len(sst2.x_test)) == (6920, 872, 1821)
    assert sst2.num_classes == 2
    trec = load_dataset("trec")
    assert len(trec.x_train) + len(trec.x_val) == 5452 and len(trec.x_test) == 500 and trec.num_classes == 6
    assert abs(len(trec.x_val) - 545) <= 1
    assert load_dataset("trec").x_val == trec.x_val  # fixed split
    assert all(verify_checksums("trec", str(root)).values())
    assert all(verify_checksums("sst2", str(root)).values())


def test_fsdd_split_from_the_data_root() -> None:
    _need("fsdd")
    ds = load_dataset("fsdd")
    assert ds.kind == "audio" and ds.sample_rate == 8000 and ds.num_classes == 10
    assert len(ds.x_test) == 300 and len(ds.x_train) + len(ds.x_val) == 2700
    assert all(w.ndim == 1 and w.dtype == np.float32 for w in ds.x_test[:5])


def test_checksums_catch_a_changed_file(tmp_path: Path) -> None:
    root = _need("text")
    (tmp_path / "text").mkdir()
    for name in SOURCES["trec"]["sha256"]:
        (tmp_path / "text" / name).write_bytes((root / "text" / name).read_bytes())
    assert all(verify_checksums("trec", str(tmp_path)).values())
    with open(tmp_path / "text" / "TREC.test.all", "a") as fh:
        fh.write("0 one more question ?\n")
    assert verify_checksums("trec", str(tmp_path)) == {"TREC.train.all": True, "TREC.test.all": False}
