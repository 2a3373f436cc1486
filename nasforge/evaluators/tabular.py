"""Tabular benchmarks: look an architecture up in a table of precomputed results.

The NAS-Bench-201 protocol of the paper (Dong & Yang 2020, Table 5) is the default: the search
signal is the 12-epoch CIFAR-10 validation accuracy (``c10_valid_acc_12``), each query costs the
simulated time ``c10valid_train_time_200ep_s * 12 / 200``, and the figure reported at the end is
the 200-epoch CIFAR-10 test accuracy (``c10_test_acc_200``), which the search never sees.

Data: the NB201 table ships inside nasforge (:mod:`nasforge.evaluators.nb201_data`, latency
columns included). Other tables are CSV files with an ``arch_str`` column, given with
``--benchmark-file`` or, for a folder holding ``nb201_core.csv`` (+ ``nb201_latency_help.csv``,
joined on ``arch_str`` for latency columns), ``$NASFORGE_NB201_DIR``; ``nasforge benchmark
import-nb201`` writes such a folder from the official NAS-Bench-201/NATS-Bench file.
"""

from __future__ import annotations

import csv
import functools
import io
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
    "The NAS-Bench-201 table ships with nasforge and is used when no file is given. Other tables: "
    "--benchmark-file PATH (a CSV with an arch_str column) or $NASFORGE_NB201_DIR (a folder with nb201_core.csv). "
    "Convert the official NAS-Bench-201/NATS-Bench file with "
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
    """The folder named by ``$NASFORGE_NB201_DIR``, or None when the variable is unset.

    Raises:
        BenchmarkDataError: the variable is set but the folder holds no ``nb201_core.csv``.
    """
    env = os.environ.get("NASFORGE_NB201_DIR")
    if not env:
        return None
    folder = Path(env).expanduser()
    if not (folder / "nb201_core.csv").is_file():
        raise BenchmarkDataError(f"$NASFORGE_NB201_DIR is {env!r}, but {folder / 'nb201_core.csv'} does not exist. "
                                 f"Unset it to use the NAS-Bench-201 table that ships with nasforge. {NB201_DATA_HELP}")
    return folder


class Table:
    """Columns of a benchmark CSV as float arrays, with an ``arch_str`` -> row index.

    ``lines`` gives each row's 1-based line in the file (for error messages), when known.
    """

    def __init__(self, path: Path, arch_strs: list[str], columns: dict[str, np.ndarray],
                 lines: list[int] | None = None) -> None:
        self.path = path
        self.arch_strs = arch_strs
        self.columns = columns
        self.lines = lines
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

    def where(self, row: int) -> str:
        """``"FILE, line N"`` (or ``"FILE, row N"``) for error messages."""
        if self.lines is not None:
            return f"{self.path}, line {self.lines[row]}"
        return f"{self.path}, row {row + 1}"

    def check_cost(self, name: str) -> None:
        """Fail on a negative or NaN cell of cost column ``name`` (a query's simulated seconds).

        Raises:
            BenchmarkDataError: naming the file, the line and the column of the first bad cell.
        """
        col = self.columns[name]
        bad = np.flatnonzero(np.isnan(col) | (col < 0))
        if len(bad):
            i = int(bad[0])
            raise BenchmarkDataError(f"{self.where(i)}, column {name!r}: cost must be a number >= 0, but got "
                                     f"{col[i]!r} ({len(bad)} such cell(s) in that column)")

    def __len__(self) -> int:
        return len(self.arch_strs)


def _decode(p: Path, raw: bytes) -> str:
    """``raw`` as UTF-8 text; on bad bytes, an error naming the line and column that hold them."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        start = raw.rfind(b"\n", 0, exc.start) + 1
        stop = raw.find(b"\n", exc.start)
        header = next(csv.reader([raw.split(b"\n", 1)[0].decode("utf-8-sig", "replace")]), [])
        cells = next(csv.reader([raw[start:len(raw) if stop < 0 else stop].decode("utf-8", "replace")]), [])
        j = next((j for j, c in enumerate(cells) if "\ufffd" in c), None)
        col = "?" if j is None else (repr(header[j]) if j < len(header) else f"#{j + 1}")
        raise BenchmarkDataError(f"{p}, line {line}, column {col}: bytes {raw[exc.start:exc.end]!r} are not UTF-8; "
                                 "save the file as UTF-8") from None


def _floats(p: Path, name: str, cells: list[str], lines: list[int]) -> np.ndarray | None:
    """A column's cells as floats (empty -> NaN); None for a text column (no cell is a number)."""
    try:
        return np.array([float(c) if c != "" else math.nan for c in cells], dtype=np.float64)
    except ValueError:
        pass
    bad = []
    for i, c in enumerate(cells):
        if c == "":
            continue
        try:
            float(c)
        except ValueError:
            bad.append(i)
    filled = sum(1 for c in cells if c != "")
    if len(bad) == filled:
        return None  # a text column (names, notes): not a metric
    i = bad[0]
    raise BenchmarkDataError(f"{p}, line {lines[i]}, column {name!r}: {cells[i]!r} is not a number, but the "
                             f"column's other cells are ({len(bad)} non-numeric cell(s) in it)")


@functools.lru_cache(maxsize=8)
def load_table(path: str) -> Table:
    """Read a CSV with an ``arch_str`` column; every other numeric column becomes a float array.

    A column whose cells are all text is skipped. The file must be UTF-8, every row must have as
    many cells as the header, ``arch_str`` values must be unique, a numeric column may hold only
    numbers or empty cells (NaN), and a ``c10valid_train_time_200ep_s`` cost column only numbers
    >= 0.

    Raises:
        BenchmarkDataError: the file is missing or breaks one of those rules; the message names the
            file, the line (1-based, the header is line 1) and the column.
    """
    p = Path(path)
    if not p.is_file():
        raise BenchmarkDataError(f"benchmark file not found: {p}. {NB201_DATA_HELP}")
    reader = csv.reader(io.StringIO(_decode(p, p.read_bytes()), newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise BenchmarkDataError(f"benchmark file {p} is empty") from None
    if "arch_str" not in header:
        raise BenchmarkDataError(f"benchmark file {p} has no 'arch_str' column; columns: {', '.join(header)}")
    dup = next((h for h in header if header.count(h) > 1), None)
    if dup is not None:
        raise BenchmarkDataError(f"{p}, line 1: column {dup!r} appears {header.count(dup)} times in the header")
    a = header.index("arch_str")
    rows: list[list[str]] = []
    lines: list[int] = []
    seen: dict[str, int] = {}
    for row in reader:
        if not row:
            continue  # a blank line
        line = reader.line_num
        if len(row) != len(header):
            where = (f"column {header[len(row)]!r} onwards is missing" if len(row) < len(header)
                     else f"extra cells after column {header[-1]!r}")
            raise BenchmarkDataError(f"{p}, line {line}: {len(row)} cells, but the header has {len(header)} "
                                     f"columns ({where})")
        arch = row[a]
        if arch in seen:
            raise BenchmarkDataError(f"{p}, line {line}, column 'arch_str': {arch!r} is already on line {seen[arch]}; "
                                     "each architecture may appear once")
        seen[arch] = line
        rows.append(row)
        lines.append(line)
    columns: dict[str, np.ndarray] = {}
    for j, name in enumerate(header):
        if j == a:
            continue
        values = _floats(p, name, [r[j] for r in rows], lines)
        if values is not None:
            columns[name] = values
    table = Table(p, [r[a] for r in rows], columns, lines)
    if COST_COLUMN in columns:
        table.check_cost(COST_COLUMN)
    return table


class TabularBenchmark:
    """Evaluate architectures by table look-up, with simulated training cost.

    Args:
        space: the search space whose ``to_string`` gives the table's ``arch_str``.
        path: a CSV with an ``arch_str`` column; default ``$NASFORGE_NB201_DIR/nb201_core.csv`` when
            that variable is set, else the NB201 table that ships with nasforge.
        dataset: NB201 protocol to use: ``cifar10`` (default), ``cifar100`` or ``imagenet16``.
        signal: the column the search sees (overrides the protocol; never a test column).
        report: the hidden column reported at the end (overrides the protocol).
        extra: more visible columns (e.g. latency ``pixel3``), looked up in the latency file too.
        cost_column: column of 200-epoch training seconds; a query at fidelity ``f`` epochs costs
            ``cost * f / 200``. Missing column -> zero cost.
        require_cost: the search has a budget in simulated seconds, so the cost column must exist
            and hold some cost > 0 (otherwise a seconds budget would never end the search).

    Raises:
        BenchmarkDataError: the file is missing or malformed (see :func:`load_table`), or the
            cost column has a negative or NaN cell.
        InvalidConfigError: a test column as the signal, or ``require_cost`` without usable costs.

    Example:
        >>> from nasforge.spaces import get_space
        >>> bench = TabularBenchmark(get_space("nb201"))  # doctest: +SKIP
        >>> bench.evaluate(get_space("nb201").sample(np.random.default_rng(0))).metrics  # doctest: +SKIP
    """

    simulated_cost = True

    def __init__(self, space: SearchSpace, path: str | os.PathLike[str] | None = None, *, dataset: str = "cifar10",
                 signal: str | None = None, report: str | None = None, extra: Sequence[str] = (),
                 cost_column: str = COST_COLUMN, default_fidelity: int = 12, require_cost: bool = False) -> None:
        if dataset not in NB201_PROTOCOLS:
            raise UnknownNameError(unknown_name_message("benchmark dataset", dataset, list(NB201_PROTOCOLS)))
        if path is None:
            found = find_nb201_dir()
            path = found / "nb201_core.csv" if found is not None else None
        self.space = space
        if path is None:
            from nasforge.evaluators.nb201_data import load_packaged_nb201

            self.table = load_packaged_nb201()
            self.path = self.table.path
        else:
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
        if self.cost_column is not None:
            self.table.check_cost(self.cost_column)
        if require_cost:
            self._check_cost_budget(cost_column)
        self.default_objective = "val_acc"
        self._params = self.table.columns.get("params_M_c10")

    def _check_cost_budget(self, cost_column: str) -> None:
        rule = ("a budget in simulated seconds (--budget-seconds) needs each query's cost, but "
                f"{self.path.name}")
        if self.cost_column is None:
            raise InvalidConfigError(f"{rule} has no cost column {cost_column!r} (training seconds for 200 epochs). "
                                     "Add that column, or use --trials instead")
        col = self.table.columns[self.cost_column]
        if not np.any(col > 0):
            raise InvalidConfigError(f"{rule}'s cost column {cost_column!r} is zero everywhere, so the budget would "
                                     "never be spent. Fill in the costs, or use --trials instead")

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
