"""Test helper: write NAS-Bench-101 records in the official TFRecord format (no TensorFlow)."""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from conftest import nb101_records

from nasforge.evaluators.nb101 import masked_crc32c


def load_records() -> list[dict[str, Any]]:
    """The 30 official records (see ``conftest.nb101_records``)."""
    return nb101_records()


def _varint(n: int) -> bytes:
    out = bytearray()
    n &= (1 << 64) - 1
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _double(field: int, value: float) -> bytes:
    return _varint(field << 3 | 1) + struct.pack("<d", value)


def _bytes(field: int, value: bytes) -> bytes:
    return _varint(field << 3 | 2) + _varint(len(value)) + value


def encode_model_metrics(evaluations: Iterable[Mapping[str, float]], params: int, total_time: float) -> bytes:
    """A serialized ``nasbench.ModelMetrics`` (field numbers of model_metrics.proto)."""
    names = ("current_epoch", "training_time", "train_accuracy", "validation_accuracy", "test_accuracy")
    msg = b""
    for ev in evaluations:
        inner = b"".join(_double(k, ev[name]) for k, name in enumerate(names, start=1) if name in ev)
        inner += _bytes(6, b"gs://nasbench/model.ckpt-0")
        msg += _bytes(1, inner)
    return msg + _varint(2 << 3 | 0) + _varint(params) + _double(3, total_time)


def write_official_tfrecord(records: list[dict[str, Any]], path: Path) -> None:
    """One TFRecord record per (cell, run), as in nasbench_only108.tfrecord."""
    with path.open("wb") as fh:
        for r in records:
            adj = "".join(str(v) for row in r["module_adjacency"] for v in row)
            ops = ",".join(r["module_operations"])
            for run in r["computed"]["108"]:
                evals = [{"current_epoch": 0.0, "training_time": 0.0, "train_accuracy": 0.1,
                          "validation_accuracy": 0.1, "test_accuracy": 0.1}]
                for stage, epoch in (("halfway", 54.0), ("final", 108.0)):
                    evals.append({"current_epoch": epoch, "training_time": run[f"{stage}_training_time"],
                                  "train_accuracy": run[f"{stage}_train_accuracy"],
                                  "validation_accuracy": run[f"{stage}_validation_accuracy"],
                                  "test_accuracy": run[f"{stage}_test_accuracy"]})
                metrics = encode_model_metrics(evals, r["trainable_parameters"], 1.5 * run["final_training_time"])
                data = json.dumps([r["module_hash"], 108, adj, ops, base64.b64encode(metrics).decode()]).encode()
                length = struct.pack("<Q", len(data))
                fh.write(length + struct.pack("<I", masked_crc32c(length)) + data
                         + struct.pack("<I", masked_crc32c(data)))
