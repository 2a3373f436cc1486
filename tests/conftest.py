"""Shared fixtures: paths to the NB201 data in ../shared and a small CLI runner."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NB201_DIR = ROOT.parent / "shared" / "data" / "nb201"


@pytest.fixture(scope="session")
def nb201_csv() -> Path:
    path = NB201_DIR / "nb201_core.csv"
    if not path.is_file():
        pytest.skip(f"NAS-Bench-201 data not found at {path}")
    return path


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 300, env: dict[str, str] | None = None
            ) -> subprocess.CompletedProcess[str]:
    """Run `python -m nasforge ARGS` in a subprocess (as a user would) and capture its output."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "nasforge", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=full_env)
