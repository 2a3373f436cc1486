"""Compare strategies over many seeds on a tabular benchmark, in the shape of the NB201 table.

Each (strategy, seed) run is a full in-memory search through the same :class:`Runner` as
``nasforge search``; only the store is left out, since nothing needs to survive the process.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from nasforge.api import build_experiment, make_spec
from nasforge.evaluators.tabular import TabularBenchmark
from nasforge.runner import Runner

__all__ = ["compare", "format_table", "REPORT_COLUMNS"]

REPORT_COLUMNS = ("c10_valid_acc_200", "c10_test_acc_200", "c100_test_acc_200", "in16_test_acc_200")


def compare(strategies: Sequence[str], seeds: Sequence[int], *, space: str = "nb201", benchmark: str = "nb201",
            trials: int | None = None, budget_seconds: float | None = None,
            strategy_params: Mapping[str, Mapping[str, Any]] | None = None, benchmark_file: str | None = None,
            signal: str | None = None, report: str | None = None,
            on_run: Callable[[str, int], None] | None = None) -> dict[str, Any]:
    """Run every strategy with every seed; returns per-run results, curves and the optimum.

    The curve of a run is the reported (test) accuracy of the best-so-far architecture (chosen
    by the search signal) after each query: what the search would return if stopped there.
    """
    results: dict[str, list[dict[str, Any]]] = {}
    bench: TabularBenchmark | None = None
    t_all = time.perf_counter()
    timings: dict[str, float] = {}
    for name in strategies:
        runs = []
        t0 = time.perf_counter()
        for seed in seeds:
            spec = make_spec(space=space, strategy=name, benchmark=benchmark, trials=trials,
                             budget_seconds=budget_seconds, seed=seed,
                             strategy_params=(strategy_params or {}).get(name), benchmark_file=benchmark_file,
                             signal=signal, report=report)
            exp = build_experiment(spec, f"{name}-{seed}")
            bench = exp.evaluator  # type: ignore[assignment]
            runner = Runner(exp, None)
            summary = runner.run()
            report_col = exp.evaluator.report_metric
            curve, key, best_report = [], (-math.inf, -math.inf), math.nan
            obj = exp.objectives[0]
            for t in runner.records:  # incremental form of best_trial: highest fidelity, then score
                if t.status == "ok" and obj.metric in t.metrics:
                    k = (t.fidelity or 0.0, obj.score(t.metrics[obj.metric]))
                    if k > key:
                        key, best_report = k, t.hidden.get(report_col or "", math.nan)
                curve.append(best_report)
            best = summary.best
            entry: dict[str, Any] = {"seed": seed, "best_arch": best.arch if best else None,
                                     "report": best.hidden.get(report_col) if best and report_col else None,
                                     "signal": best.metrics.get("val_acc") if best else None,
                                     "queries": summary.trials, "cost_seconds": round(summary.cost_seconds, 1),
                                     "curve": curve}
            if best is not None and isinstance(bench, TabularBenchmark):
                row = bench.table.row_of.get(best.arch)
                entry["columns"] = {c: float(bench.table.columns[c][row]) for c in REPORT_COLUMNS
                                    if c in bench.table.columns and row is not None}
            runs.append(entry)
            if on_run:
                on_run(name, seed)
        timings[name] = time.perf_counter() - t0
        results[name] = runs
    out: dict[str, Any] = {"results": results, "seconds": {k: round(v, 3) for k, v in timings.items()},
                           "total_seconds": round(time.perf_counter() - t_all, 3)}
    if isinstance(bench, TabularBenchmark) and bench.report_metric:
        arch, value = bench.optimum(bench.report_metric)
        out["optimum"] = {"arch": arch, "report": value,
                          "columns": {c: float(np.nanmax(bench.table.columns[c])) for c in REPORT_COLUMNS
                                      if c in bench.table.columns}}
        out["report_metric"] = bench.report_metric
    return out


def _ms(values: Sequence[float]) -> str:
    v = np.asarray([x for x in values if x is not None and not math.isnan(x)], dtype=float)
    if len(v) == 0:
        return "-"
    return f"{v.mean():.2f} ± {v.std():.2f}"


def format_table(data: Mapping[str, Any]) -> list[list[str]]:
    """Rows (header first) of the NB201-style table: mean ± std over seeds per column."""
    cols = [c for c in REPORT_COLUMNS if any(c in r.get("columns", {}) for runs in data["results"].values()
                                                for r in runs)]
    short = {"c10_valid_acc_200": "C10 valid", "c10_test_acc_200": "C10 test", "c100_test_acc_200": "C100 test",
             "in16_test_acc_200": "IN16 test"}
    header = ["strategy", "runs", "queries"] + ([short[c] for c in cols] or [data.get("report_metric", "report")])
    rows = [header]
    for name, runs in data["results"].items():
        row = [name, str(len(runs)), f"{np.mean([r['queries'] for r in runs]):.1f}"]
        if cols:
            row += [_ms([r.get("columns", {}).get(c, math.nan) for r in runs]) for c in cols]
        else:
            row.append(_ms([r["report"] for r in runs]))
        rows.append(row)
    if "optimum" in data:
        rows.append(["optimum", "", ""] + [f"{data['optimum']['columns'].get(c, math.nan):.2f}" for c in cols])
    return rows
