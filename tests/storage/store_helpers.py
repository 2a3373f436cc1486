"""Helpers for the store tests: a small complete NB201-style benchmark CSV and store queries."""

from __future__ import annotations

import itertools
import sqlite3
from pathlib import Path

import numpy as np

from nasforge.spaces.nb201 import NB201_OPERATIONS


def write_benchmark_csv(path: Path, seed: int = 0) -> Path:
    """Every NB201 cell with random val/test accuracy and cost: a benchmark no trial fails on."""
    rng = np.random.default_rng(seed)
    lines = ["arch_str,val_acc,test_acc,cost"]
    for a, b, c, d, e, f in itertools.product(NB201_OPERATIONS, repeat=6):
        lines.append(f"|{a}~0|+|{b}~0|{c}~1|+|{d}~0|{e}~1|{f}~2|,{rng.uniform(40, 90):.3f},"
                     f"{rng.uniform(40, 90):.3f},{rng.uniform(1, 5):.3f}")
    path.write_text("\n".join(lines) + "\n")
    return path


def search_args(csv: Path, db: Path, name: str, trials: int = 1_000_000) -> list[str]:
    """A CLI search over ``csv`` that runs for minutes unless stopped (about 0.5 ms per trial)."""
    return ["search", "--benchmark", "nb201", "--benchmark-file", str(csv), "--signal", "val_acc", "--report",
            "test_acc", "--strategy", "random", "--trials", str(trials), "--storage", str(db), "--name", name]


def trial_rows(db: Path) -> list[tuple[int, str]]:
    """(number, status) of every stored trial, read without nasforge."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        return con.execute("SELECT number, status FROM trials ORDER BY number").fetchall()


def count_trials(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
            return int(con.execute("SELECT COUNT(*) FROM trials WHERE finished IS NOT NULL").fetchone()[0])
    except sqlite3.Error:
        return 0
