"""NAS-Bench-101 importer and benchmark, on a TFRecord written in the official format from 30
official records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nasforge as nf
from nasforge.errors import BenchmarkDataError
from nasforge.evaluators.nb101 import NB101Benchmark, decode_model_metrics, import_nb101, read_tfrecord
from nasforge.spaces.nb101 import NB101Space
from conftest import run_cli
from nb101_tfrecord import encode_model_metrics, load_records, write_official_tfrecord


@pytest.fixture(scope="module")
def records() -> list[dict[str, Any]]:
    return load_records()


@pytest.fixture(scope="module")
def table(records: list[dict[str, Any]], tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("nb101")
    write_official_tfrecord(records, d / "mini.tfrecord")
    return import_nb101(d / "mini.tfrecord", d / "out")


def test_protobuf_reader_round_trips() -> None:
    evals = [{"current_epoch": 108.0, "training_time": 1234.5, "train_accuracy": 1.0,
              "validation_accuracy": 0.93, "test_accuracy": 0.92}]
    got = decode_model_metrics(encode_model_metrics(evals, 2_345_678, 99.0))
    assert got["trainable_parameters"] == 2_345_678 and got["total_time"] == 99.0
    assert {k: v for k, v in got["evaluation_data"][0].items() if k != "checkpoint_path"} == evals[0]


def test_import_round_trips_the_official_records(records: list[dict[str, Any]], table: Path) -> None:
    space = NB101Space()
    bench = NB101Benchmark(space, table)
    assert len(bench.row_of) == 30
    for r in records:
        arch = space.from_spec(r["module_adjacency"], r["module_operations"])
        res = bench.evaluate(arch)
        runs = r["computed"]["108"]
        assert res.metrics["val_acc"] == pytest.approx(100 * np.mean([x["final_validation_accuracy"] for x in runs]))
        assert res.hidden["test_acc"] == pytest.approx(100 * np.mean([x["final_test_accuracy"] for x in runs]))
        assert res.cost == pytest.approx(np.mean([x["final_training_time"] for x in runs]))
        assert res.params == r["trainable_parameters"]
    sampled = NB101Benchmark(space, table, runs="sample", seed=3)
    r = records[0]
    vals = {sampled.evaluate(space.from_spec(r["module_adjacency"], r["module_operations"])).metrics["val_acc"]
            for _ in range(30)}
    official = [100 * x["final_validation_accuracy"] for x in r["computed"]["108"]]
    assert all(min(abs(v - o) for o in official) < 1e-9 for v in vals)
    assert len(vals) > 1  # one of the three runs per query


def test_damaged_file_and_missing_file_are_clear_errors(records: list[dict[str, Any]], tmp_path: Path) -> None:
    path = tmp_path / "bad.tfrecord"
    write_official_tfrecord(records[:2], path)
    raw = bytearray(path.read_bytes())
    raw[40] ^= 0xFF  # flip a byte inside the first record's data
    path.write_bytes(bytes(raw))
    with pytest.raises(BenchmarkDataError, match="CRC mismatch"):
        list(read_tfrecord(path))
    with pytest.raises(BenchmarkDataError, match="499 MB"):
        import_nb101(tmp_path / "nasbench_only108.tfrecord", tmp_path)
    r = run_cli("benchmark", "import-nb101", str(tmp_path / "nasbench_only108.tfrecord"), "--out", str(tmp_path))
    assert r.returncode == 2 and "storage.googleapis.com/nasbench" in r.stderr


def test_search_on_the_imported_table(table: Path) -> None:
    s = nf.search(space="nb101", benchmark="nb101", benchmark_file=str(table), strategy="random", trials=5,
                  in_memory=True)
    assert s.trials == 5  # random cells are (almost all) outside a 30-cell table: recorded as failed
    with pytest.raises(BenchmarkDataError, match="import-nb101"):
        NB101Benchmark(NB101Space(), table.parent / "missing.npz")
