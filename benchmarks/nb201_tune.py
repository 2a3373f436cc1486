"""Choose a strategy's defaults on NAS-Bench-201 CIFAR-10 *validation* only (issue 3).

Runs the 12,000-simulated-second NB201 protocol for one strategy with given parameters on tuning
seeds 1000+ (disjoint from the reported seeds 0-99) and prints only validation numbers: the mean
``c10_valid_acc_200`` of the returned architectures (± standard error), the mean 12-epoch signal the
search maximised, and how often the signal's own argmax was returned. Test columns are never printed.

Example (the runs behind the issue-3 defaults table in BENCHMARKS.md)::

    flock /tmp/nasforge-cpu.lock .venv/bin/python benchmarks/nb201_tune.py local '{"order": "model"}' --seeds 200 --jobs 2
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    from nasforge.compare import compare
    from nasforge.evaluators.tabular import TabularBenchmark
    from nasforge.spaces import get_space

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("strategy")
    p.add_argument("params", nargs="?", default="{}", help="strategy parameters as JSON")
    p.add_argument("--seeds", type=int, default=60, help="tuning seeds 1000 .. 1000+N-1")
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--budget-seconds", type=float, default=12000.0)
    args = p.parse_args()
    params = json.loads(args.params)
    top_signal = TabularBenchmark(get_space("nb201")).optimum("c10_valid_acc_12")[1]
    t0 = time.time()
    d = compare([args.strategy], list(range(1000, 1000 + args.seeds)), benchmark="nb201",
                budget_seconds=args.budget_seconds, strategy_params={args.strategy: params}, jobs=args.jobs)
    runs = d["results"][args.strategy]
    val = np.array([r["columns"]["c10_valid_acc_200"] for r in runs])
    sig = np.array([r["signal"] for r in runs])
    n = len(runs)
    print(f"{args.strategy} {json.dumps(params)} seeds 1000-{999 + n}: c10_valid_acc_200 {val.mean():.3f} ± "
          f"{val.std(ddof=1) / np.sqrt(n):.3f} | 12-epoch signal {sig.mean():.3f} ± {sig.std(ddof=1) / np.sqrt(n):.3f}, "
          f"signal argmax returned in {np.mean(sig >= top_signal - 1e-9):.0%} | queries "
          f"{np.mean([r['queries'] for r in runs]):.1f} | {time.time() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
