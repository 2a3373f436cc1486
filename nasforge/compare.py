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

__all__ = ["REPORT_COLUMNS", "compare", "format_table"]

REPORT_COLUMNS = ("c10_valid_acc_200", "c10_test_acc_200", "c100_test_acc_200", "in16_test_acc_200")


def _timed(strategy: Any) -> list[float]:
    """Wrap ``strategy.ask``/``tell`` on the instance to add up their time (per-query overhead)."""
    spent = [0.0]
    ask, tell = strategy.ask, strategy.tell

    def timed_ask(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return ask(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - t0

    def timed_tell(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return tell(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - t0

    strategy.ask, strategy.tell = timed_ask, timed_tell
    return spent


def _run_one(name: str, seed: int, settings: Mapping[str, Any], at: Sequence[int] = ()) -> dict[str, Any]:
    """One (strategy, seed) search in memory; returns its table entry and best-so-far curve.

    ``at`` lists query counts at which the best-so-far architecture's table columns are also
    recorded (``entry["at"][k]``): strategies do not know the budget, so the first ``k`` queries
    of a longer run are exactly a ``k``-query run.
    """
    spec = make_spec(strategy=name, seed=seed, **settings)
    exp = build_experiment(spec, f"{name}-{seed}")
    bench = exp.evaluator
    spent = _timed(exp.strategy)
    runner = Runner(exp, None)
    t0 = time.perf_counter()
    summary = runner.run()
    wall = time.perf_counter() - t0
    report_col = exp.evaluator.report_metric
    curve, key, best_report, best_arch = [], (-math.inf, -math.inf), math.nan, None
    obj = exp.objectives[0]
    at_arch: dict[int, str | None] = {}
    for t in runner.records:  # incremental form of best_trial: highest fidelity, then score
        if t.status == "ok" and obj.metric in t.metrics:
            k = (t.fidelity or 0.0, obj.score(t.metrics[obj.metric]))
            if k > key:
                key, best_report, best_arch = k, t.hidden.get(report_col or "", math.nan), t.arch
        curve.append(best_report)
        if len(curve) in at:
            at_arch[len(curve)] = best_arch
    best = summary.best
    entry: dict[str, Any] = {"seed": seed, "best_arch": best.arch if best else None,
                             "report": best.hidden.get(report_col) if best and report_col else None,
                             "signal": best.metrics.get("val_acc") if best else None,
                             "queries": summary.trials, "cost_seconds": round(summary.cost_seconds, 1),
                             "strategy_seconds": spent[0], "run_seconds": wall, "curve": curve}
    if isinstance(bench, TabularBenchmark):
        def columns(arch: str | None) -> dict[str, float]:
            row = bench.table.row_of.get(arch) if arch is not None else None
            return {c: float(bench.table.columns[c][row]) for c in REPORT_COLUMNS
                    if c in bench.table.columns and row is not None}

        if best is not None:
            entry["columns"] = columns(best.arch)
        if at:
            entry["at"] = {k: {"columns": columns(a)} for k, a in at_arch.items()}
    return entry


def _run_job(job: tuple[str, int, Mapping[str, Any], tuple[int, ...]]) -> dict[str, Any]:
    import os

    try:  # one BLAS/torch thread per worker process: the pool itself is the parallelism
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover
        pass
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    return _run_one(*job)


def compare(strategies: Sequence[str], seeds: Sequence[int], *, space: str = "nb201", benchmark: str = "nb201",
            trials: int | None = None, budget_seconds: float | None = None,
            strategy_params: Mapping[str, Mapping[str, Any]] | None = None, benchmark_file: str | None = None,
            signal: str | None = None, report: str | None = None,
            on_run: Callable[[str, int], None] | None = None, jobs: int = 1,
            at: Sequence[int] = ()) -> dict[str, Any]:
    """Run every strategy with every seed; returns per-run results, curves and the optimum.

    The curve of a run is the reported (test) accuracy of the best-so-far architecture (chosen
    by the search signal) after each query: what the search would return if stopped there.
    ``jobs > 1`` runs the (strategy, seed) searches in a process pool; results do not depend
    on it. ``seconds`` per strategy is the summed run time of its searches (CPU-bound, so
    comparable across ``jobs``), and ``overhead_ms_per_query`` is the time spent inside the
    strategy's ``ask``/``tell`` divided by its queries.
    """
    t_all = time.perf_counter()
    jobs_list = []
    for name in strategies:
        for seed in seeds:
            settings: dict[str, Any] = {"space": space, "benchmark": benchmark, "trials": trials, "budget_seconds": budget_seconds,
                        "strategy_params": (strategy_params or {}).get(name), "benchmark_file": benchmark_file,
                        "signal": signal, "report": report}
            jobs_list.append((name, int(seed), settings, tuple(int(k) for k in at)))
    entries: dict[tuple[str, int], dict[str, Any]] = {}
    if jobs > 1 and len(jobs_list) > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed

        ctx = multiprocessing.get_context("spawn")  # no forked torch/BLAS thread pools
        with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
            futures = {pool.submit(_run_job, job): job for job in jobs_list}
            for fut in as_completed(futures):
                name, seed = futures[fut][:2]
                entries[(name, seed)] = fut.result()
                if on_run:
                    on_run(name, seed)
    else:
        for name, seed, settings, at_k in jobs_list:
            entries[(name, seed)] = _run_one(name, seed, settings, at_k)
            if on_run:
                on_run(name, seed)
    results: dict[str, list[dict[str, Any]]] = {n: [entries[(n, int(s))] for s in seeds] for n in strategies}
    timings = {n: sum(r["run_seconds"] for r in runs) for n, runs in results.items()}
    overhead = {n: 1000.0 * sum(r["strategy_seconds"] for r in runs) / max(1, sum(r["queries"] for r in runs))
                for n, runs in results.items()}
    out: dict[str, Any] = {"results": results, "seconds": {k: round(v, 3) for k, v in timings.items()},
                           "overhead_ms_per_query": {k: round(v, 3) for k, v in overhead.items()},
                           "total_seconds": round(time.perf_counter() - t_all, 3)}
    if jobs_list:
        bench = build_experiment(make_spec(strategy=strategies[0], seed=0, **jobs_list[0][2])).evaluator
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


def format_table(data: Mapping[str, Any], at: int | None = None) -> list[list[str]]:
    """Rows (header first) of the NB201-style table: mean ± std over seeds per column.

    With ``at``, the columns are those of the best architecture after ``at`` queries (runs made
    with ``compare(..., at=[...])``; "queries" then shows ``at``, or fewer where a run ended early).
    """
    if at is not None:
        runs_at = {name: [{"columns": r.get("at", {}).get(at, {}).get("columns", {}),
                           "queries": min(at, r["queries"]), "report": None} for r in runs]
                   for name, runs in data["results"].items()}
        return format_table({**data, "results": runs_at})
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
