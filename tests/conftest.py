"""Shared fixtures: the NB201 table as CSV files, the datasets root and a small CLI runner."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]


def data_dir(name: str) -> Path:
    """``$NASFORGE_DATA/name``, or skip the test (with a one-line reason) when it is not there."""
    root = os.environ.get("NASFORGE_DATA")
    if not root:
        pytest.skip(f"$NASFORGE_DATA is not set (needed for the {name} dataset)")
    path = Path(root) / name
    if not path.is_dir():
        pytest.skip(f"dataset folder {path} not found")
    return path


def nb101_records() -> list[dict[str, Any]]:
    """The 30 official NAS-Bench-101 records from ``$NASFORGE_DATA/nb101`` (skips the test when absent)."""
    import json

    path = data_dir("nb101") / "nb101_records_30.json"
    if not path.is_file():
        pytest.skip(f"NAS-Bench-101 records not found: {path} is missing")
    return json.loads(path.read_text())


@pytest.fixture(scope="session")
def nb201_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``nb201_core.csv`` (+ ``nb201_latency_help.csv`` beside it) written from the packaged NB201 table.

    For tests of the CSV path (``--benchmark-file``); the values are the packaged ones, written
    with ``repr`` so they read back bit for bit.
    """
    from nasforge.evaluators.nb201_data import load_packaged_nb201, packaged_nb201_info

    table = load_packaged_nb201()
    sources = packaged_nb201_info()["columns"]
    folder = tmp_path_factory.mktemp("nb201")
    for filename in ("nb201_core.csv", "nb201_latency_help.csv"):
        names = [n for n, src in sources.items() if src == filename]
        cols = [table.columns[n] for n in names]
        with (folder / filename).open("w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["arch_str", *names])
            for i, arch in enumerate(table.arch_strs):
                writer.writerow([arch, *(repr(float(c[i])) for c in cols)])
    return folder / "nb201_core.csv"


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 300, env: dict[str, str] | None = None
            ) -> subprocess.CompletedProcess[str]:
    """Run `python -m nasforge ARGS` in a subprocess (as a user would) and capture its output."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "nasforge", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=full_env)
