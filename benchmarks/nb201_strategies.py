"""NAS-Bench-201 strategy comparison (issue 3): the paper's protocol and fixed query budgets.

Prints Markdown tables (mean ± std over seeds of the returned architecture's table columns) for
- the NB201 paper protocol: 12-epoch CIFAR-10 validation signal, ``--budget-seconds`` simulated
  seconds per run (12,000 in the paper), on ``--benchmarks`` (CIFAR-10, and the CIFAR-100 /
  ImageNet16-120 signal columns with the same default hyperparameters);
- fixed query budgets (``--queries``, e.g. 50,100,150,300): one run of ``max(queries)`` trials
  per seed, read at each budget (strategies do not know the budget, so the first k queries of a
  longer run are exactly a k-query run);
- the per-query overhead of each strategy (time inside ask + tell).

Run (under the shared CPU lock; a few minutes with 2 processes):
    flock /tmp/nasforge-cpu.lock .venv/bin/python benchmarks/nb201_strategies.py --seeds 100 --jobs 2
Equivalent CLI for the protocol table: ``nasforge compare --space nb201 --benchmark nb201
--strategies random,evolution,local,reinforce,bananas,tpe,bohb --seeds 100 --budget-seconds 12000``.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from typing import Any

import numpy as np

DEFAULT = "random,evolution,local,reinforce,bananas,tpe,bohb"
SHORT = {"c10_valid_acc_200": "C10 valid", "c10_test_acc_200": "C10 test", "c100_test_acc_200": "C100 test",
         "in16_test_acc_200": "IN16 test"}
PAPER = {"random": "RS 93.70", "reinforce": "REINFORCE 93.85", "evolution": "REA 93.92", "bohb": "BOHB 93.61"}


def markdown(data: dict[str, Any], at: int | None = None) -> str:
    from nasforge.compare import format_table

    rows = format_table(data, at=at)
    rows[0] = [SHORT.get(h, h) for h in rows[0]]
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--strategies", default=DEFAULT)
    ap.add_argument("--seeds", type=int, default=100)
    ap.add_argument("--budget-seconds", type=float, default=12000)
    ap.add_argument("--benchmarks", default="nb201,nb201-cifar100,nb201-imagenet16")
    ap.add_argument("--queries", default="50,100,150,300", help="fixed query budgets ('' to skip)")
    ap.add_argument("--query-seeds", type=int, help="seeds for the fixed-query runs (default: --seeds)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--plot", help="PNG of best-so-far curves of the fixed-query run (outside the repo)")
    ap.add_argument("--json", help="write all results here (outside the repo)")
    args = ap.parse_args(argv)

    from nasforge.compare import compare

    names = [s for s in args.strategies.split(",") if s]
    print(f"command: benchmarks/nb201_strategies.py {' '.join(argv if argv is not None else sys.argv[1:])}")
    print(f"machine: {platform.machine()}, {platform.python_version()}, jobs={args.jobs}")
    out: dict[str, Any] = {}
    for bench in [b for b in args.benchmarks.split(",") if b]:
        t0 = time.perf_counter()
        data = compare(names, list(range(args.seeds)), benchmark=bench, budget_seconds=args.budget_seconds,
                       jobs=args.jobs)
        print(f"\n### {bench}: {args.seeds} seeds, {args.budget_seconds:g} simulated s per run "
              f"({time.perf_counter() - t0:.0f} s wall)\n")
        print(markdown(data))
        print("\nper-query strategy overhead (ms): " +
              ", ".join(f"{k} {v:.2f}" for k, v in data["overhead_ms_per_query"].items()))
        print("summed run seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in data["seconds"].items()))
        if bench == "nb201":
            print("paper (NB201 v1.0, CIFAR-10 test): " + ", ".join(PAPER[n] for n in names if n in PAPER) +
                  ", optimum 94.37")
        out[bench] = data
    queries = [int(q) for q in args.queries.split(",") if q]
    if queries:
        seeds = args.query_seeds or args.seeds
        t0 = time.perf_counter()
        data = compare(names, list(range(seeds)), benchmark="nb201", trials=max(queries), jobs=args.jobs, at=queries)
        print(f"\n### nb201: fixed query budgets, {seeds} seeds ({time.perf_counter() - t0:.0f} s wall)")
        for q in queries:
            print(f"\n#### {q} queries\n")
            print(markdown(data, at=q))
        print("\nper-query strategy overhead (ms) over runs of "
              f"{max(queries)} queries: " + ", ".join(f"{k} {v:.2f}" for k, v in data["overhead_ms_per_query"].items()))
        if args.plot:
            from nasforge.plots import plot_compare_curves

            plot_compare_curves(data, args.plot)
            print(f"plot written to {args.plot}")
        out["queries"] = data
    if args.json:
        for d in out.values():
            for runs in d["results"].values():
                for r in runs:
                    r["curve"] = [None if (isinstance(v, float) and math.isnan(v)) else v for v in r["curve"]]
        with open(args.json, "w") as fh:
            json.dump(out, fh, default=lambda o: float(o) if isinstance(o, np.floating) else str(o))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
