"""Parallel workers and Ray: trials per minute of a real-training search with 1 and 2 workers (issue 6).

One run, side by side, on the same search: NB201 cells trained for real on scikit-learn's digits,
random search with a fixed seed (so every configuration evaluates the same architectures; the
script checks it), a fixed number of trials. Configurations:

- ``process`` executor, 1 worker x 1 torch thread, and 2 workers x 1 thread (run in the order
  1-2-2-1 and pooled, so that load drifting during the run falls on both alike);
- ``process`` executor, 1 worker x 2 threads (why workers use 1 thread each);
- ``ray`` executor (local Ray, loopback only), 1 and 2 workers x 1 thread.

Throughput is trials per minute of the runner's loop after the workers are up and warm (process
start, imports, data loading and torch's first kernels are timed separately as start-up). Ray's per-trial overhead is measured twice: with a zero-cost evaluator (the
NB201 table look-up: the whole runner + executor round trip per trial) and on the training runs
(Ray's wall time minus the process pool's, per trial).

Run under the shared CPU lock (it needs both cores for itself)::

    flock /tmp/nasforge-cpu.lock .venv/bin/python benchmarks/parallel.py
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nasforge.api import build_experiment, make_spec
from nasforge.executors import ProcessExecutor, RayExecutor
from nasforge.runner import InlineExecutor, Runner


def _warm_worker(seconds: float) -> None:
    """Per-process one-time costs: imports, loading digits, torch's first kernels; then sleep so
    that each worker gets one of these calls."""
    import numpy as np

    from nasforge.spaces import get_space
    from nasforge.training import DataSettings, Recipe, train_architecture

    space = get_space("nb201")
    train_architecture(space, space.sample(np.random.default_rng(0)), "digits", Recipe(epochs=1),
                       DataSettings(max_train=64, model={"channels": 4, "cells_per_stage": 1}))
    time.sleep(seconds)


def _warm(executor: Any) -> float:
    """Start the executor's workers and pay their one-time costs; returns the seconds it took.

    A real search amortises these over hundreds of trials; here they would dominate a dozen, so
    they are timed apart (``start-up``) rather than counted in the throughput.
    """
    t0 = time.perf_counter()
    futs = [executor.submit(_warm_worker, 1.0) for _ in range(executor.workers)]  # the sleep spreads them
    for f in futs:
        f.result()
    return time.perf_counter() - t0 - 1.0


def run_search(spec: dict[str, Any], executor: Any) -> dict[str, Any]:
    """Run the search on ``executor`` (already warm); returns wall time, trials and results."""
    runner = Runner(build_experiment(spec, "bench"), None, executor=executor)
    t0 = time.perf_counter()
    summary = runner.run()
    wall = time.perf_counter() - t0
    results = {t.arch: round(t.metrics.get("val_acc", float("nan")), 6) for t in runner.records}
    return {"wall_s": wall, "trials": summary.trials, "failed": summary.failed,
            "trials_per_min": 60.0 * summary.trials / wall, "cost_s": summary.cost_seconds, "results": results}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=12)
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--channels", type=int, default=16)
    ap.add_argument("--cells", type=int, default=1)
    ap.add_argument("--overhead-trials", type=int, default=300, help="zero-cost trials for the overhead runs")
    ap.add_argument("--no-ray", action="store_true")
    ap.add_argument("--json", type=str, help="also write the results here")
    args = ap.parse_args()

    import torch

    spec = make_spec(dataset="digits", strategy="random", trials=args.trials, seed=0,
                     train={"epochs": args.epochs, "threads": 1,
                            "model": {"channels": args.channels, "cells_per_stage": args.cells}})
    print(f"command: {' '.join(sys.argv)}")
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
          f"python {platform.python_version()}")
    print(f"search: random on nb201 (C={args.channels}, N={args.cells}), digits, {args.epochs} epochs/trial, "
          f"{args.trials} trials, seed 0")
    rows: dict[str, dict[str, Any]] = {}

    def process(workers: int, threads: int) -> None:
        s = dict(spec)
        s["evaluator"] = {**spec["evaluator"], "config": {**spec["evaluator"]["config"], "threads": threads}}
        with ProcessExecutor(workers, threads=threads) as ex:
            startup = _warm(ex)
            r = run_search(s, ex)
        r["startup_s"] = startup
        key = f"process {workers}w x {threads}t"
        if key in rows:  # a repeat: pool the two runs (same trials twice)
            old = rows[key]
            wall, n = old["wall_s"] + r["wall_s"], old["trials"] + r["trials"]
            r = {**r, "wall_s": wall, "trials": n, "trials_per_min": 60.0 * n / wall, "cost_s": old["cost_s"] + r["cost_s"],
                 "startup_s": max(old["startup_s"], startup), "results_repeat_equal": old["results"] == r["results"]}
        rows[key] = r
        print(f"  process {workers} worker(s) x {threads} thread(s): {r['trials_per_min']:.2f} trials/min "
              f"({r['wall_s']:.1f} s, start-up {startup:.1f} s)", flush=True)

    # A-B-B-A: background load that drifts during the run falls on both sides alike
    process(1, 1)
    process(2, 1)
    process(2, 1)
    process(1, 1)
    process(1, 2)
    if not args.no_ray:
        for workers in (1, 2):
            t0 = time.perf_counter()
            with RayExecutor(workers) as ex:
                startup = time.perf_counter() - t0 + _warm(ex)
                r = run_search(spec, ex)
            r["startup_s"] = startup
            rows[f"ray {workers}w x 1t"] = r
            print(f"  ray {workers} worker(s): {r['trials_per_min']:.2f} trials/min ({r['wall_s']:.1f} s, "
                  f"start-up incl. ray.init {startup:.1f} s)", flush=True)

    # per-trial overhead with a zero-cost evaluator: the NB201 look-up (about 50 us)
    bench = make_spec(benchmark="nb201", strategy="random", trials=args.overhead_trials, seed=0)
    overhead: dict[str, float] = {}
    for name, make in [("inline", InlineExecutor), ("process 2w", lambda: ProcessExecutor(2))] + (
            [] if args.no_ray else [("ray 2w", lambda: RayExecutor(2))]):
        ex = make()
        try:
            _warm(ex) if not isinstance(ex, InlineExecutor) else None
            r = run_search(bench, ex)
        finally:
            ex.shutdown()
        overhead[name] = 1000.0 * r["wall_s"] / r["trials"]
        print(f"  zero-cost trials, {name}: {overhead[name]:.2f} ms per trial", flush=True)

    same = len({json.dumps(sorted(r["results"])) for r in rows.values()}) == 1
    identical = rows["process 1w x 1t"]["results"] == rows["process 2w x 1t"]["results"]
    ratio = rows["process 2w x 1t"]["trials_per_min"] / rows["process 1w x 1t"]["trials_per_min"]
    out: dict[str, Any] = {"rows": {k: {kk: vv for kk, vv in v.items() if kk != "results"} for k, v in rows.items()},
                           "same_architectures": same, "identical_val_acc_1w_vs_2w": identical,
                           "speedup_process_2w": ratio, "zero_cost_ms_per_trial": overhead}
    print()
    print(f"same architectures in every run: {same}; val_acc identical with 1 and 2 workers: {identical}")
    print(f"{'configuration':<24}{'trials/min':>12}{'wall s':>9}{'start-up s':>12}{'s/trial (mean cost)':>21}")
    for k, v in rows.items():
        print(f"{k:<24}{v['trials_per_min']:>12.2f}{v['wall_s']:>9.1f}{v['startup_s']:>12.1f}"
              f"{v['cost_s'] / max(1, v['trials']):>21.2f}")
    print(f"speed-up, process 2 workers vs 1: {ratio:.2f}x")
    print(f"speed-up, 2 workers x 1 thread vs 1 worker x 2 threads: "
          f"{rows['process 2w x 1t']['trials_per_min'] / rows['process 1w x 2t']['trials_per_min']:.2f}x")
    if not args.no_ray:
        rr = rows["ray 2w x 1t"]["trials_per_min"] / rows["ray 1w x 1t"]["trials_per_min"]
        ray2, proc2 = rows["ray 2w x 1t"], rows["process 2w x 1t"]
        extra = ray2["wall_s"] / ray2["trials"] - proc2["wall_s"] / proc2["trials"]  # the process rows are pooled
        out["speedup_ray_2w"] = rr
        out["ray_extra_s_per_trial_vs_process"] = extra
        print(f"speed-up, ray 2 workers vs 1: {rr:.2f}x")
        print(f"ray vs process pool, 2 workers, real training: {1000 * extra:+.0f} ms per trial")
        print("zero-cost per-trial round trip: " + ", ".join(f"{k} {v:.2f} ms" for k, v in overhead.items()))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
