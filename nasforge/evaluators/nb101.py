"""NAS-Bench-101 tabular benchmark: import the official TFRecord, then look cells up.

The official release (Ying et al. 2019, google-research/nasbench) is ``nasbench_only108.tfrecord``
(499 MB, 423,624 cells x 3 training runs of 108 epochs). :func:`import_nb101` reads it without
TensorFlow:

- TFRecord framing: per record a little-endian ``uint64`` length, the masked CRC32C of those 8
  bytes, the data, the masked CRC32C of the data (both checked);
- each record's data is a JSON list ``[module_hash, epochs, adjacency digits, "op,op,...",
  base64 ModelMetrics]``;
- ``ModelMetrics`` is a protobuf (``repeated EvaluationData evaluation_data = 1; int32
  trainable_parameters = 2``; ``EvaluationData``: doubles ``current_epoch = 1``, ``training_time =
  2``, ``train_accuracy = 3``, ``validation_accuracy = 4``, ``test_accuracy = 5``), decoded by the
  small reader below. ``evaluation_data[1]`` is the halfway point, ``[2]`` the end of training.

The CRCs are computed in pure Python (about 5 MB/s here: a few minutes for the full file) unless
``google-crc32c`` is installed. It writes ``nb101_108.npz`` (no pickle): per cell its ``module_hash``, parameters and, per run,
halfway and final training time and train/validation/test accuracy (percent).

Protocol of the ``nb101`` benchmark (the paper's): the search sees the final (108-epoch)
validation accuracy, a query costs that run's training time in seconds, and the final test
accuracy is reported. By default each query returns the **mean of the three runs**
(``runs="mean"``, deterministic); ``runs="sample"`` returns one run drawn per query (seeded), as the
official API's ``query`` does.
"""

from __future__ import annotations

import base64
import json
import os
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from nasforge.arch import Architecture
from nasforge.errors import BenchmarkDataError, InvalidConfigError, UnknownNameError
from nasforge.evaluators.base import Result
from nasforge.registry import unknown_name_message
from nasforge.spaces.base import SearchSpace

__all__ = ["NB101Benchmark", "NB101_DATA_HELP", "crc32c", "decode_model_metrics", "find_nb101_table",
           "import_nb101", "read_tfrecord", "register"]

NB101_URL = "https://storage.googleapis.com/nasbench/nasbench_only108.tfrecord"
NB101_DATA_HELP = (
    f"The NAS-Bench-101 table comes from the official release nasbench_only108.tfrecord (499 MB, {NB101_URL}, "
    "google-research/nasbench, Apache-2.0). Convert it once with `nasforge benchmark import-nb101 "
    "nasbench_only108.tfrecord --out DIR` and point at DIR/nb101_108.npz with --benchmark-file (or put it in "
    "$NASFORGE_NB101_DIR or ~/.cache/nasforge/nb101)."
)
TABLE_NAME = "nb101_108.npz"
_FIELDS = ("training_time", "train_acc", "valid_acc", "test_acc")
RUNS = ("mean", "sample")

# ----------------------------------------------------------------------------- CRC32C (Castagnoli)
_POLY = 0x82F63B78
_TABLE = []
for _n in range(256):
    _c = _n
    for _ in range(8):
        _c = (_c >> 1) ^ _POLY if _c & 1 else _c >> 1
    _TABLE.append(_c)


def crc32c(data: bytes) -> int:
    """CRC-32C of ``data`` (uses ``google_crc32c`` when installed, else a table-driven loop).

    Example:
        >>> hex(crc32c(b"123456789"))
        '0xe3069283'
    """
    try:
        import google_crc32c  # type: ignore[import-not-found]

        return int(google_crc32c.value(data))
    except ImportError:
        pass
    crc = 0xFFFFFFFF
    table = _TABLE
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    """TFRecord's masked CRC: rotate right by 15 and add a constant."""
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def read_tfrecord(path: str | os.PathLike[str]) -> Iterator[bytes]:
    """Yield the data of each record of a TFRecord file, checking both CRCs.

    Raises:
        BenchmarkDataError: a truncated record or a CRC mismatch (names the record's offset).
    """
    with open(path, "rb") as fh:
        while True:
            offset = fh.tell()
            header = fh.read(12)
            if not header:
                return
            if len(header) < 12:
                raise BenchmarkDataError(f"{path}: truncated record header at byte {offset}")
            length_bytes, (length_crc,) = header[:8], struct.unpack("<I", header[8:])
            if masked_crc32c(length_bytes) != length_crc:
                raise BenchmarkDataError(f"{path}: length CRC mismatch at byte {offset}; the file is damaged")
            (length,) = struct.unpack("<Q", length_bytes)
            data = fh.read(length)
            footer = fh.read(4)
            if len(data) < length or len(footer) < 4:
                raise BenchmarkDataError(f"{path}: truncated record at byte {offset}")
            if masked_crc32c(data) != struct.unpack("<I", footer)[0]:
                raise BenchmarkDataError(f"{path}: data CRC mismatch in the record at byte {offset}")
            yield data


# ----------------------------------------------------------------------------- protobuf
def _varint(buf: bytes, i: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        if i >= len(buf):
            raise BenchmarkDataError("truncated protobuf varint")
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7


def _fields(buf: bytes) -> Iterator[tuple[int, int, Any]]:
    """(field number, wire type, value) of a protobuf message; bytes for length-delimited fields."""
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 1:
            value, i = buf[i:i + 8], i + 8
        elif wire == 2:
            n, i = _varint(buf, i)
            value, i = buf[i:i + n], i + n
        elif wire == 5:
            value, i = buf[i:i + 4], i + 4
        else:
            raise BenchmarkDataError(f"unsupported protobuf wire type {wire} (field {number})")
        yield number, wire, value


_EVAL_FIELDS = {1: "current_epoch", 2: "training_time", 3: "train_accuracy", 4: "validation_accuracy",
                5: "test_accuracy"}


def decode_model_metrics(buf: bytes) -> dict[str, Any]:
    """Decode a serialized ``nasbench.ModelMetrics``.

    Returns:
        ``{"evaluation_data": [{"current_epoch": .., "training_time": .., ...}, ...],
        "trainable_parameters": int, "total_time": float}``.
    """
    out: dict[str, Any] = {"evaluation_data": [], "trainable_parameters": 0, "total_time": 0.0}
    for number, wire, value in _fields(buf):
        if number == 1 and wire == 2:
            ev: dict[str, Any] = {}
            for n2, w2, v2 in _fields(value):
                if n2 in _EVAL_FIELDS and w2 == 1:
                    ev[_EVAL_FIELDS[n2]] = struct.unpack("<d", v2)[0]
                elif n2 == 6 and w2 == 2:
                    ev["checkpoint_path"] = v2.decode("utf-8", "replace")
            out["evaluation_data"].append(ev)
        elif number == 2 and wire == 0:
            out["trainable_parameters"] = value - (1 << 64) if value >= 1 << 63 else value
        elif number == 3 and wire == 1:
            out["total_time"] = struct.unpack("<d", value)[0]
    return out


# ----------------------------------------------------------------------------- import
def import_nb101(source: str | os.PathLike[str], out: str | os.PathLike[str], *, epochs: int = 108) -> Path:
    """Convert the official TFRecord into ``OUT/nb101_108.npz``; returns its path.

    Raises:
        BenchmarkDataError: ``source`` is missing or malformed (the message says where it comes from).
    """
    src = Path(source).expanduser()
    if not src.is_file():
        raise BenchmarkDataError(f"NAS-Bench-101 file not found: {src}. {NB101_DATA_HELP}")
    rows: dict[str, dict[str, Any]] = {}
    for data in read_tfrecord(src):
        try:
            module_hash, rec_epochs, raw_adj, raw_ops, raw_metrics = json.loads(data.decode("utf-8"))
            metrics = decode_model_metrics(base64.b64decode(raw_metrics))
        except (ValueError, TypeError) as exc:
            raise BenchmarkDataError(f"{src}: a record is not a NAS-Bench-101 record ({exc})") from None
        if int(rec_epochs) != epochs:
            continue
        evals = metrics["evaluation_data"]
        if len(evals) < 3:
            raise BenchmarkDataError(f"{src}: cell {module_hash} has {len(evals)} evaluations, expected 3")
        row = rows.setdefault(module_hash, {"adjacency": raw_adj, "ops": raw_ops,
                                            "params": metrics["trainable_parameters"], "runs": []})
        half, final = evals[1], evals[2]
        row["runs"].append([half.get("training_time", np.nan), 100 * half.get("train_accuracy", np.nan),
                            100 * half.get("validation_accuracy", np.nan), 100 * half.get("test_accuracy", np.nan),
                            final.get("training_time", np.nan), 100 * final.get("train_accuracy", np.nan),
                            100 * final.get("validation_accuracy", np.nan), 100 * final.get("test_accuracy", np.nan)])
    if not rows:
        raise BenchmarkDataError(f"{src} holds no {epochs}-epoch NAS-Bench-101 records. {NB101_DATA_HELP}")
    hashes = sorted(rows)
    n_runs = max(len(r["runs"]) for r in rows.values())
    runs = np.full((len(hashes), n_runs, 8), np.nan)
    for i, h in enumerate(hashes):
        runs[i, :len(rows[h]["runs"])] = rows[h]["runs"]
    table = {"module_hash": np.array(hashes, dtype="U32"),
             "adjacency": np.array([rows[h]["adjacency"] for h in hashes], dtype="U49"),
             "operations": np.array([rows[h]["ops"] for h in hashes]),
             "trainable_parameters": np.array([rows[h]["params"] for h in hashes], dtype=np.int64)}
    for j, stage in enumerate(("halfway", "final")):
        for k, name in enumerate(_FIELDS):
            table[f"{stage}_{name}"] = runs[:, :, 4 * j + k]
    dest = Path(out).expanduser()
    dest.mkdir(parents=True, exist_ok=True)
    path = dest / TABLE_NAME
    tmp = dest / f".{TABLE_NAME}.{os.getpid()}.tmp.npz"
    np.savez_compressed(tmp, **table)
    os.replace(tmp, path)
    return path


def find_nb101_table() -> Path | None:
    """``nb101_108.npz`` in ``$NASFORGE_NB101_DIR`` or ``~/.cache/nasforge/nb101``, or None."""
    dirs = [Path(os.environ["NASFORGE_NB101_DIR"])] if os.environ.get("NASFORGE_NB101_DIR") else []
    dirs.append(Path.home() / ".cache" / "nasforge" / "nb101")
    for d in dirs:
        if (d / TABLE_NAME).is_file():
            return d / TABLE_NAME
    return None


# ----------------------------------------------------------------------------- benchmark
class NB101Benchmark:
    """Evaluate ``nb101`` cells by look-up in an imported NAS-Bench-101 table (see module docstring).

    Args:
        space: an ``nb101`` space (its ``module_hash`` is the table key).
        path: ``nb101_108.npz`` written by :func:`import_nb101` (default: :func:`find_nb101_table`).
        runs: ``mean`` (mean of the 3 runs) or ``sample`` (one run per query, seeded).
        seed: seed of the run sampling.
        report: the hidden column reported (default ``test_acc``: the final test accuracy).

    Example:
        >>> bench = NB101Benchmark(get_space("nb101"), "nb101_108.npz")  # doctest: +SKIP
    """

    simulated_cost = True
    default_objective = "val_acc"

    def __init__(self, space: SearchSpace, path: str | os.PathLike[str] | None = None, *, runs: str = "mean",
                 seed: int = 0, report: str | None = None) -> None:
        if not hasattr(space, "module_hash"):
            raise InvalidConfigError(f"the NAS-Bench-101 benchmark needs the nb101 space, not '{space.name}'")
        if runs not in RUNS:
            raise UnknownNameError(unknown_name_message("runs mode", runs, list(RUNS)))
        found = Path(path).expanduser() if path else find_nb101_table()
        if found is None or not found.is_file():
            raise BenchmarkDataError(f"NAS-Bench-101 table not found{f' at {found}' if found else ''}. "
                                     f"{NB101_DATA_HELP}")
        try:
            with np.load(found, allow_pickle=False) as z:
                self.table = {k: z[k] for k in z.files}
        except (OSError, ValueError) as exc:
            raise BenchmarkDataError(f"{found} is not a NAS-Bench-101 table ({exc}). {NB101_DATA_HELP}") from None
        self.space = space
        self.path = found
        self.runs = runs
        self._rng = np.random.default_rng(seed)
        self.row_of = {str(h): i for i, h in enumerate(self.table["module_hash"])}
        report = report or "test_acc"
        if report not in _FIELDS or report == "training_time":
            raise UnknownNameError(unknown_name_message("NAS-Bench-101 report column", report,
                                                        ["test_acc", "valid_acc", "train_acc"]))
        self.report_metric: str | None = report

    def _value(self, name: str, i: int, run: int | None) -> float:
        col = self.table[f"final_{name}"][i]
        return float(np.nanmean(col)) if run is None else float(col[run])

    def evaluate(self, arch: Architecture, fidelity: float | None = None) -> Result:
        """Look ``arch`` up by its module hash; the query costs the (mean or sampled) training time."""
        h = self.space.module_hash(arch)  # type: ignore[attr-defined]
        i = self.row_of.get(h)
        if i is None:
            return Result.failed(f"cell {self.space.to_string(arch)} (hash {h}) is not in {self.path.name}")
        run = None
        if self.runs == "sample":
            valid = np.flatnonzero(~np.isnan(self.table["final_valid_acc"][i]))
            run = int(valid[int(self._rng.integers(len(valid)))])
        metrics = {"val_acc": self._value("valid_acc", i, run), "train_acc": self._value("train_acc", i, run),
                   "params_M": float(self.table["trainable_parameters"][i]) / 1e6}
        hidden = {self.report_metric: self._value(self.report_metric, i, run)} if self.report_metric else {}
        return Result.ok(metrics, hidden=hidden, cost=self._value("training_time", i, run), fidelity=108.0,
                         params=int(self.table["trainable_parameters"][i]), info={"module_hash": h})

    def optimum(self, column: str | None = None) -> tuple[str, float]:
        """Best ``module_hash`` and value of a column (mean over runs) over the table."""
        col = np.nanmean(self.table[f"final_{column or self.report_metric or 'valid_acc'}"], axis=1)
        i = int(np.nanargmax(col))
        return str(self.table["module_hash"][i]), float(col[i])

    def describe(self) -> dict[str, Any]:
        return {"kind": "benchmark", "benchmark": "nb101", "file": str(self.path), "runs": self.runs,
                "signal": "final_valid_acc (108 epochs)", "report": self.report_metric, "cells": len(self.row_of)}


def build(space: SearchSpace, settings: dict[str, Any]) -> NB101Benchmark:
    """The benchmark described by an experiment spec's ``evaluator`` block."""
    if settings.get("signal") not in (None, "val_acc", "valid_acc"):
        raise InvalidConfigError("the nb101 benchmark's signal is the final validation accuracy (valid_acc) only")
    return NB101Benchmark(space, settings.get("file"), runs=settings.get("runs") or "mean",
                          seed=int(settings.get("seed") or 0), report=settings.get("report"))


def register(benchmarks: Any, families: dict[str, Any]) -> None:
    """Add the ``nb101`` benchmark and its evaluator builder to the API registries."""
    benchmarks.register("nb101", "NAS-Bench-101, CIFAR-10, 108 epochs (needs `nasforge benchmark import-nb101`)")(
        ("nb101", "cifar10"))
    families["nb101"] = build
