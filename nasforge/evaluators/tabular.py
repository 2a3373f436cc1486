"""Tabular benchmarks: look an architecture up in a table of precomputed results.

The NAS-Bench-201 protocol of the paper (Dong & Yang 2020, Table 5) is the default: the search
signal is the 12-epoch CIFAR-10 validation accuracy (``c10_valid_acc_12``), each query costs the
simulated time ``c10valid_train_time_200ep_s * 12 / 200``, and the figure reported at the end is
the 200-epoch CIFAR-10 test accuracy (``c10_test_acc_200``), which the search never sees.

Data: ``nb201_core.csv`` (+ ``nb201_latency_help.csv`` joined on ``arch_str`` for latency
columns). The files are looked for in ``--benchmark-file``/``--benchmark-dir``, ``$NASFORGE_NB201_DIR``,
``~/.cache/nasforge/nb201`` and ``../shared/data/nb201`` next to the repository.
"""

from __future__ import annotations

import csv
import functools
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nasforge.arch import Architecture
from nasforge.errors import BenchmarkDataError, InvalidConfigError, UnknownNameError
from nasforge.evaluators.base import Result
from nasforge.registry import unknown_name_message
from nasforge.spaces.base import SearchSpace

__all__ = ["NB201_DATA_HELP", "NB201_PROTOCOLS", "Table", "TabularBenchmark", "find_nb201_dir", "load_table"]

NB201_DATA_HELP = (
    "NAS-Bench-201 results are read from nb201_core.csv (and nb201_latency_help.csv). Point at them with "
    "--benchmark-file PATH (or $NASFORGE_NB201_DIR); inside the nasforge repo they are in ../shared/data/nb201/. "
    "Elsewhere, convert the official NAS-Bench-201/NATS-Bench files with "
    "`nasforge benchmark import-nb201 NATS-tss-v1_0-3ffb9-simple --out DIR`."
)

# dataset -> (signal column per fidelity in epochs, report column)
NB201_PROTOCOLS: dict[str, tuple[dict[int, str], str]] = {
    "cifar10": ({12: "c10_valid_acc_12", 200: "c10_valid_acc_200"}, "c10_test_acc_200"),
    "cifar100": ({12: "c100_valid_acc_12"}, "c100_test_acc_200"),
    "imagenet16": ({12: "in16_valid_acc_12"}, "in16_test_acc_200"),
}
COST_COLUMN = "c10valid_train_time_200ep_s"


def find_nb201_dir() -> Path | None:
    """The first directory that holds ``nb201_core.csv``, or None."""
    candidates = []
    if os.environ.get("NASFORGE_NB201_DIR"):
        candidates.append(Path(os.environ["NASFORGE_NB201_DIR"]))
    candidates.append(Path.home() / ".cache" / "nasforge" / "nb201")
    repo = Path(__file__).resolve().parents[2]
    candidates += [repo.parent / "shared" / "data" / "nb201", Path.cwd().parent / "shared" / "data" / "nb201"]
    for c in candidates:
        if (c / "nb201_core.csv").is_file():
            return c
    return None


class Table:
    """Columns of a benchmark CSV as float arrays, with an ``arch_str`` -> row index."""

    def __init__(self, path: Path, arch_strs: list[str], columns: dict[str, np.ndarray]) -> None:
        self.path = path
        self.arch_strs = arch_strs
        self.columns = columns
        self.row_of = {s: i for i, s in enumerate(arch_strs)}

    def column(self, name: str) -> np.ndarray:
        try:
            return self.columns[name]
        except KeyError:
            raise UnknownNameError(
                unknown_name_message(f"column of {self.path.name}", name, list(self.columns))
            ) from None

    def join(self, other: Table) -> None:
        """Add ``other``'s columns, aligned on ``arch_str`` (NaN where it has no row)."""
        order = np.array([other.row_of.get(s, -1) for s in self.arch_strs])
        for name, values in other.columns.items():
            if name not in self.columns:
                col = np.where(order >= 0, values[np.maximum(order, 0)], np.nan)
                self.columns[name] = col

    def __len__(self) -> int:
        return len(self.arch_strs)


@functools.lru_cache(maxsize=8)
def load_table(path: str) -> Table:
    """Read a CSV with an ``arch_str`` column; every other numeric column becomes a float array."""
    p = Path(path)
    if not p.is_file():
        raise BenchmarkDataError(f"benchmark file not found: {p}. {NB201_DATA_HELP}")
    with p.open(newline="") as fh:
        reader = csv.reader(fh)
        try:
            header = next(reader)
        except StopIteration:
            raise BenchmarkDataError(f"benchmark file {p} is empty") from None
        if "arch_str" not in header:
            raise BenchmarkDataError(f"benchmark file {p} has no 'arch_str' column; columns: {', '.join(header)}")
        rows = list(reader)
    a = header.index("arch_str")
    arch_strs = [r[a] for r in rows]
    columns: dict[str, np.ndarray] = {}
    for j, name in enumerate(header):
        if j == a:
            continue
        try:
            columns[name] = np.array([float(r[j]) if r[j] != "" else math.nan for r in rows], dtype=np.float64)
        except ValueError:
            continue  # a text column: not a metric
    return Table(p, arch_strs, columns)


class TabularBenchmark:
    """Evaluate architectures by table look-up, with simulated training cost.

    Args:
        space: the search space whose ``to_string`` gives the table's ``arch_str``.
        path: the CSV; default ``nb201_core.csv`` found by :func:`find_nb201_dir`.
        dataset: NB201 protocol to use: ``cifar10`` (default), ``cifar100`` or ``imagenet16``.
        signal: the column the search sees (overrides the protocol; never a test column).
        report: the hidden column reported at the end (overrides the protocol).
        extra: more visible columns (e.g. latency ``pixel3``), looked up in the latency file too.
        cost_column: column of 200-epoch training seconds; a query at fidelity ``f`` epochs costs
            ``cost * f / 200``. Missing column -> zero cost.

    Example:
        >>> from nasforge.spaces import get_space
        >>> bench = TabularBenchmark(get_space("nb201"))  # doctest: +SKIP
        >>> bench.evaluate(get_space("nb201").sample(np.random.default_rng(0))).metrics  # doctest: +SKIP
    """

    simulated_cost = True

    def __init__(self, space: SearchSpace, path: str | os.PathLike[str] | None = None, *, dataset: str = "cifar10",
                 signal: str | None = None, report: str | None = None, extra: Sequence[str] = (),
                 cost_column: str = COST_COLUMN, default_fidelity: int = 12) -> None:
        if dataset not in NB201_PROTOCOLS:
            raise UnknownNameError(unknown_name_message("benchmark dataset", dataset, list(NB201_PROTOCOLS)))
        if path is None:
            found = find_nb201_dir()
            if found is None:
                raise BenchmarkDataError(f"NAS-Bench-201 data not found. {NB201_DATA_HELP}")
            path = found / "nb201_core.csv"
        self.space = space
        self.path = Path(path)
        self.table = load_table(str(self.path.resolve()))
        signals, default_report = NB201_PROTOCOLS[dataset]
        self.dataset = dataset
        if signal is not None:
            signals = {default_fidelity: signal}
        self.signals = {int(k): v for k, v in signals.items()}
        self.default_fidelity = default_fidelity if default_fidelity in self.signals else min(self.signals)
        self.report_metric: str | None = report if report is not None else default_report
        self.extra = tuple(extra)
        self._maybe_join_latency()
        for col in (*self.signals.values(), *self.extra):
            self.table.column(col)  # unknown columns fail now, with the list of valid ones
            if "test" in col.lower():
                raise InvalidConfigError(
                    f"column {col!r} is a test column: test metrics are never shown to a search. "
                    f"Use a validation column as --signal and test columns only as --report"
                )
        if report is not None:
            self.table.column(report)  # an explicit report column must exist
        elif self.report_metric not in self.table.columns:
            self.report_metric = None  # a custom table without the protocol's test column
        self.cost_column = cost_column if cost_column in self.table.columns else None
        self.default_objective = "val_acc"
        self._params = self.table.columns.get("params_M_c10")

    def _maybe_join_latency(self) -> None:
        missing = [c for c in self.extra if c not in self.table.columns]
        if not missing:
            return
        lat = self.path.parent / "nb201_latency_help.csv"
        if lat.is_file():
            self.table.join(load_table(str(lat.resolve())))

    @property
    def fidelities(self) -> list[int]:
        """The epochs at which a signal column exists (12 and 200 for CIFAR-10)."""
        return sorted(self.signals)

    def row(self, arch: Architecture) -> int | None:
        return self.table.row_of.get(self.space.to_string(arch))

    def evaluate(self, arch: Architecture, fidelity: float | None = None) -> Result:
        """Look ``arch`` up; the query costs the simulated training time at that fidelity."""
        f = self.default_fidelity if fidelity is None else int(fidelity)
        if f not in self.signals:
            raise InvalidConfigError(f"fidelity {fidelity} not in this benchmark; available epochs: {self.fidelities}")
        i = self.row(arch)
        if i is None:
            return Result.failed(f"architecture {self.space.to_string(arch)} is not in {self.path.name}")
        cols = self.table.columns
        signal_col = self.signals[f]
        value = cols[signal_col][i]
        metrics = {"val_acc": value, signal_col: value}
        for c in self.extra:
            metrics[c] = cols[c][i]
        if self._params is not None:
            metrics["params_M"] = self._params[i]
        hidden = {self.report_metric: cols[self.report_metric][i]} if self.report_metric else {}
        cost = float(cols[self.cost_column][i]) * f / 200.0 if self.cost_column else 0.0
        return Result.ok(metrics, hidden=hidden, cost=cost, fidelity=float(f))

    def optimum(self, column: str | None = None, *, where: np.ndarray | None = None) -> tuple[str, float]:
        """Best architecture string and value of a column over the whole table."""
        col = self.table.column(column or self.report_metric or self.signals[self.default_fidelity])
        values = np.where(np.isnan(col), -np.inf, col) if where is None else np.where(where, col, -np.inf)
        i = int(np.argmax(values))
        return self.table.arch_strs[i], float(col[i])

    def describe(self) -> dict[str, Any]:
        return {"kind": "benchmark", "file": str(self.path), "dataset": self.dataset,
                "signals": {str(k): v for k, v in self.signals.items()}, "report": self.report_metric,
                "extra": list(self.extra), "fidelity": self.default_fidelity}
