"""NAS-Bench-Graph tabular benchmarks: ``nbgraph-<dataset>`` for its 9 datasets.

The PyPI wheel ``nas-bench-graph==1.4.0`` holds, per dataset, validation and test accuracy, latency
and parameters of every GNN of the space (26,206; 2,021 for proteins) as a pickle of a dict keyed by
the package's architecture hash. Those pickles are the installed package's own files: they are
read once (never a file a user names) and written as a compact NumPy table (``.npz``, no pickle)
under the user cache directory (``$NASFORGE_CACHE_DIR``, else ``$XDG_CACHE_HOME/nasforge``, else
``~/.cache/nasforge``), in ``nbgraph/``.

Protocol: the search sees the validation accuracy (``valid_acc``, also as ``val_acc``), plus
``latency_s`` and ``params_M`` for multi-objective search; each query costs 1 (budgets are query
counts); the reported column is ``test_acc`` unless ``report`` names another. Accuracies in percent.
The table key of an architecture is the package's integer hash, which the canonical string form
``"link|ops"`` maps to (:meth:`nasforge.spaces.nbgraph.NBGraphSpace.package_hash`).
"""

from __future__ import annotations

import importlib.util
import os
import pickle  # noqa: S403 - only the installed package's own data files, see load_nbgraph_table
from pathlib import Path
from typing import Any

import numpy as np

from nasforge.arch import Architecture
from nasforge.errors import BenchmarkDataError, InvalidConfigError, UnknownNameError
from nasforge.evaluators.base import Result
from nasforge.registry import unknown_name_message
from nasforge.spaces.base import SearchSpace

__all__ = ["NBGRAPH_COLUMNS", "NBGRAPH_DATASETS", "NBGraphBenchmark", "decode_hash", "load_nbgraph_table",
           "register"]

NBGRAPH_DATASETS: tuple[str, ...] = ("cora", "citeseer", "pubmed", "cs", "physics", "photo", "computers", "arxiv",
                                     "proteins")
NBGRAPH_COLUMNS: tuple[str, ...] = ("valid_acc", "test_acc", "latency_s", "params_M")
_VERSION = "1.4.0"
_LINKS = ([0, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 1], [0, 0, 1, 2], [0, 0, 1, 3], [0, 1, 1, 1], [0, 1, 1, 2],
          [0, 1, 2, 2], [0, 1, 2, 3])  # the package's link_list: lk_hash is the index
_HASH_OPS = ("gat", "gcn", "gin", "cheb", "sage", "arma", "graph", "fc", "skip")  # the package's gnn_list


def _cache_dir() -> Path:
    if os.environ.get("NASFORGE_CACHE_DIR"):
        return Path(os.environ["NASFORGE_CACHE_DIR"]).expanduser() / "nbgraph"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "nasforge" / "nbgraph"


def decode_hash(h: int) -> tuple[list[int], list[str]]:
    """The canonical ``(link, ops)`` behind a package hash (``lk * 10**4 + ops in base 10``)."""
    digits = []
    rest = int(h)
    for _ in range(4):
        rest, d = divmod(rest, len(_HASH_OPS) + 1)
        digits.append(d)
    return list(_LINKS[rest]), [_HASH_OPS[d] for d in reversed(digits)]


def load_nbgraph_table(dataset: str) -> dict[str, np.ndarray]:
    """The table of one dataset: ``hash`` (int64) and :data:`NBGRAPH_COLUMNS` (float64), cached.

    Raises:
        UnknownNameError: ``dataset`` is not one of :data:`NBGRAPH_DATASETS`.
        InvalidConfigError: the package ``nas-bench-graph`` is not installed (first use only).
    """
    if dataset not in NBGRAPH_DATASETS:
        raise UnknownNameError(unknown_name_message("NAS-Bench-Graph dataset", dataset, list(NBGRAPH_DATASETS)))
    path = _cache_dir() / f"nbgraph-{_VERSION}-{dataset}.npz"
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as z:
                return {k: z[k] for k in ("hash", *NBGRAPH_COLUMNS)}
        except (OSError, ValueError, KeyError):
            pass  # a damaged cache file: rebuild it
    spec = importlib.util.find_spec("nas_bench_graph")
    if spec is None or spec.origin is None:
        from nasforge.spaces.nbgraph import PACKAGE_HELP

        raise InvalidConfigError(PACKAGE_HELP)
    source = Path(spec.origin).parent / "light" / f"{dataset}.bench"
    if not source.is_file():
        raise BenchmarkDataError(f"NAS-Bench-Graph data {source} is missing; reinstall nas-bench-graph==1.4.0")
    with source.open("rb") as fh:
        # the installed package's own data file (its documented reader is pickle.load); nothing a user passes
        raw = pickle.load(fh)  # noqa: S301
    keys = sorted(int(k) for k in raw)
    table = {"hash": np.asarray(keys, dtype=np.int64),
             "valid_acc": np.array([100.0 * float(raw[k]["valid_perf"]) for k in keys]),
             "test_acc": np.array([100.0 * float(raw[k]["perf"]) for k in keys]),
             "latency_s": np.array([float(raw[k]["latency"]) for k in keys]),
             "params_M": np.array([float(raw[k]["para"]) for k in keys])}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")
    np.savez_compressed(tmp, **table)
    os.replace(tmp, path)
    return table


class NBGraphBenchmark:
    """Evaluate GNNs of the ``nbgraph`` space by look-up in the NAS-Bench-Graph table of a dataset.

    Args:
        space: an ``nbgraph`` (or ``nbgraph-proteins``) space.
        dataset: one of :data:`NBGRAPH_DATASETS`.
        signal: the column the search optimises; only ``valid_acc`` (the default) is a signal.
        report: the hidden column reported at the end (default ``test_acc``).
        extra: accepted for symmetry with the other benchmarks; ``latency_s`` and ``params_M`` are
            always among the visible metrics.

    Example:
        >>> from nasforge.spaces import get_space
        >>> space = get_space("nbgraph")  # doctest: +SKIP
        >>> NBGraphBenchmark(space, "cora").evaluate(space.parse("0,1,2,3|gcn,gcn,fc,skip")).metrics  # doctest: +SKIP
    """

    simulated_cost = True
    default_objective = "val_acc"

    def __init__(self, space: SearchSpace, dataset: str = "cora", *, signal: str | None = None,
                 report: str | None = None, extra: Any = ()) -> None:
        if not hasattr(space, "package_hash"):
            raise InvalidConfigError(f"NAS-Bench-Graph benchmarks need the nbgraph space, not '{space.name}'")
        if (dataset == "proteins") != bool(getattr(space, "proteins", False)):
            want = "nbgraph-proteins" if dataset == "proteins" else "nbgraph"
            raise InvalidConfigError(f"the NAS-Bench-Graph {dataset} table needs space '{want}', not '{space.name}'")
        self.space = space
        self.dataset = dataset
        self.table = load_nbgraph_table(dataset)
        self.row_of = {int(h): i for i, h in enumerate(self.table["hash"])}
        signal = signal or "valid_acc"
        if signal in ("val_acc", "valid_acc"):
            signal = "valid_acc"
        elif "test" in signal:
            raise InvalidConfigError(
                f"column {signal!r} is a test column: test metrics are never shown to a search. "
                "Use valid_acc as --signal and test columns only as --report")
        else:
            raise UnknownNameError(unknown_name_message("NAS-Bench-Graph signal column", signal, ["valid_acc"]))
        self.signal = signal
        report = report or "test_acc"
        if report not in NBGRAPH_COLUMNS:
            raise UnknownNameError(unknown_name_message("NAS-Bench-Graph column", report, list(NBGRAPH_COLUMNS)))
        self.report_metric: str | None = report
        self.extra = tuple(extra)
        unknown = [c for c in self.extra if c not in NBGRAPH_COLUMNS or "test" in c]
        if unknown:
            raise UnknownNameError(unknown_name_message("NAS-Bench-Graph metric", unknown[0],
                                                        ["valid_acc", "latency_s", "params_M"]))

    def row(self, arch: Architecture) -> int | None:
        return self.row_of.get(self.space.package_hash(arch))  # type: ignore[attr-defined]

    def evaluate(self, arch: Architecture, fidelity: float | None = None) -> Result:
        """Look ``arch`` up; each query costs 1."""
        h = self.space.package_hash(arch)  # type: ignore[attr-defined]
        i = self.row_of.get(h)
        if i is None:
            return Result.failed(f"GNN {self.space.to_string(arch)} (hash {h}) is not in the {self.dataset} table",
                                 cost=1.0)
        t = self.table
        metrics = {"val_acc": float(t["valid_acc"][i]), "valid_acc": float(t["valid_acc"][i]),
                   "latency_s": float(t["latency_s"][i]), "params_M": float(t["params_M"][i])}
        hidden = {self.report_metric: float(t[self.report_metric][i])} if self.report_metric else {}
        return Result.ok(metrics, hidden=hidden, cost=1.0, info={"nbgraph_hash": h})

    def arch_of_hash(self, h: int) -> str:
        """The string form of the table's architecture with package hash ``h``."""
        link, ops = decode_hash(h)
        return self.space.to_string(self.space.from_link_ops(link, ops))  # type: ignore[attr-defined]

    def optimum(self, column: str | None = None) -> tuple[str, float]:
        """Best architecture string and value of a column over the whole table."""
        col = self.table[column or self.report_metric or "valid_acc"]
        i = int(np.argmax(col))
        return self.arch_of_hash(int(self.table["hash"][i])), float(col[i])

    def describe(self) -> dict[str, Any]:
        return {"kind": "benchmark", "benchmark": f"nbgraph-{self.dataset}", "dataset": self.dataset,
                "signal": self.signal, "report": self.report_metric, "rows": len(self.row_of)}


def build(space: SearchSpace, settings: dict[str, Any]) -> NBGraphBenchmark:
    """The benchmark described by an experiment spec's ``evaluator`` block."""
    return NBGraphBenchmark(space, settings.get("dataset", "cora"), signal=settings.get("signal"),
                            report=settings.get("report"), extra=settings.get("extra", ()))


def register(benchmarks: Any, families: dict[str, Any]) -> None:
    """Add the ``nbgraph-<dataset>`` benchmarks and their evaluator builder to the API registries."""
    for ds in NBGRAPH_DATASETS:
        space = "nbgraph-proteins" if ds == "proteins" else "nbgraph"
        benchmarks.register(f"nbgraph-{ds}", f"NAS-Bench-Graph, {ds} (valid_acc signal, test_acc report, "
                                             f"1 per query; space {space})")((space, ds))
    families["nbgraph"] = families["nbgraph-proteins"] = build
