"""The NB201 table shipped in the package: equal to the source CSVs, checksummed, usable without them."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, data_dir

from nasforge.errors import BenchmarkDataError
from nasforge.evaluators import nb201_data
from nasforge.evaluators.nb201_data import load_packaged_nb201, packaged_nb201_info
from nasforge.evaluators.tabular import NB201_PROTOCOLS, COST_COLUMN, TabularBenchmark, load_table
from nasforge.spaces import get_space


def test_packaged_table_equals_the_source_csvs() -> None:
    src = data_dir("nb201")
    table = load_packaged_nb201()
    info = packaged_nb201_info()
    for filename in sorted(set(info["columns"].values())):
        csv_table = load_table(str(src / filename))
        assert csv_table.arch_strs == table.arch_strs, filename
        for name, source in info["columns"].items():
            if source != filename:
                continue
            a, b = table.columns[name], csv_table.columns[name]
            assert np.array_equal(np.isnan(a), np.isnan(b)), name
            ok = ~np.isnan(a)
            assert np.array_equal(a[ok], b[ok]), name  # exact, not approximately
    for filename, digest in info["source_files"].items():
        assert hashlib.sha256((src / filename).read_bytes()).hexdigest() == digest, filename


def test_packaged_table_has_every_column_the_benchmarks_read() -> None:
    table = load_packaged_nb201()
    needed = {COST_COLUMN, "params_M_c10", "naswot_score", "pixel3", "titan_rtx_256", "raspi4", "eyeriss"}
    for signals, report in NB201_PROTOCOLS.values():
        needed |= {*signals.values(), report}
    assert needed <= set(table.columns)
    assert len(table) == 15625 == len(set(table.arch_strs))
    assert float(np.nanmax(table.column("c10_test_acc_200"))) == 94.373333
    size = nb201_data.packaged_nb201_path().stat().st_size
    assert size < 5_000_000, size


def test_damaged_package_data_is_refused(tmp_path, monkeypatch) -> None:
    for name in ("nb201.npz", "nb201.json"):
        shutil.copy(nb201_data.DATA_DIR / name, tmp_path / name)
    raw = bytearray((tmp_path / "nb201.npz").read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    (tmp_path / "nb201.npz").write_bytes(bytes(raw))
    monkeypatch.setattr(nb201_data, "DATA_DIR", tmp_path)
    with pytest.raises(BenchmarkDataError, match="damaged"):
        load_packaged_nb201.__wrapped__()
    json.loads((tmp_path / "nb201.json").read_text())  # the metadata itself is plain JSON


def test_default_benchmark_is_the_packaged_table(monkeypatch) -> None:
    monkeypatch.delenv("NASFORGE_NB201_DIR", raising=False)
    bench = TabularBenchmark(get_space("nb201"), extra=["pixel3"])
    assert bench.table is load_packaged_nb201()
    arch = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
    r = bench.evaluate(get_space("nb201").parse(arch))
    assert r.metrics["c10_valid_acc_12"] == 82.834 and r.hidden == {"c10_test_acc_200": 93.66}
    assert r.cost == 2169.641376 * 12 / 200 and r.metrics["pixel3"] > 0


def test_bad_nb201_dir_variable_is_an_error(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("NASFORGE_NB201_DIR", str(tmp_path))
    with pytest.raises(BenchmarkDataError, match="NASFORGE_NB201_DIR"):
        TabularBenchmark(get_space("nb201"))


def test_runs_with_no_data_folder_anywhere(tmp_path) -> None:
    """A copy of the package alone (no repository, no ../shared, bare environment) gives NB201 numbers."""
    pkg = tmp_path / "site"
    shutil.copytree(ROOT / "nasforge", pkg / "nasforge", ignore=shutil.ignore_patterns("__pycache__"))
    work = tmp_path / "deep" / "work"
    work.mkdir(parents=True)
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "PYTHONPATH": str(pkg)}
    where = subprocess.run([sys.executable, "-c", "import nasforge; print(nasforge.__file__)"], cwd=work, env=env,
                           capture_output=True, text=True, check=True).stdout.strip()
    assert Path(where).is_relative_to(pkg), where  # the copy runs, not the repository
    out = subprocess.run([sys.executable, "-m", "nasforge", "compare", "--strategies", "random,evolution",
                          "--seeds", "2", "--budget-seconds", "12000", "--json"],
                         cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["optimum"]["report"] == 94.373333
    for runs in data["results"].values():
        assert len(runs) == 2 and all(85 < r["report"] < 95 for r in runs)
