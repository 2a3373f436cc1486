"""Whole durable search, process start included: nasforge vs Optuna (RandomSampler + SQLite).

Both run 1,000 trials of the same objective: look up an NB201 architecture's 12-epoch CIFAR-10
validation accuracy in the table (so the search itself costs ~nothing and what is measured is
the orchestration: process start, sampling, storage). Each runs in a fresh process, side by side
in this one run, and every nasforge trial is committed to SQLite before its strategy is told.

    python benchmarks/overhead.py [--trials 1000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

OPTUNA_SCRIPT = r"""
import sys, optuna
from nasforge.evaluators.nb201_data import load_packaged_nb201
optuna.logging.set_verbosity(optuna.logging.WARNING)
nb201 = load_packaged_nb201()
table = dict(zip(nb201.arch_strs, nb201.column("c10_valid_acc_12").tolist()))
OPS = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]
EDGES = ["1<-0", "2<-0", "2<-1", "3<-0", "3<-1", "3<-2"]
def objective(trial):
    o = [trial.suggest_categorical(e, OPS) for e in EDGES]
    s = f"|{o[0]}~0|+|{o[1]}~0|{o[2]}~1|+|{o[3]}~0|{o[4]}~1|{o[5]}~2|"
    return table[s]
study = optuna.create_study(storage="sqlite:///" + sys.argv[1], sampler=optuna.samplers.RandomSampler(seed=0),
                            direction="maximize", study_name="bench")
study.optimize(objective, n_trials=int(sys.argv[2]))
print(len(study.trials), study.best_value)
"""


def timed(cmd: list[str]) -> tuple[float, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
    return time.perf_counter() - t0, out.stdout.strip()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    import sqlite3

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(args.repeats):
            for durability in ("normal", "full"):
                db = Path(tmp) / f"nf-{rep}-{durability}.db"
                t, out = timed([sys.executable, "-m", "nasforge", "search", "--space", "nb201", "--benchmark", "nb201",
                                "--strategy", "random", "--trials", str(args.trials), "--seed", str(rep),
                                "--storage", str(db), "--name", "bench", "--durability", durability, "--json"])
                n = json.loads(out)["trials"]
                with sqlite3.connect(db) as con:
                    stored = con.execute("SELECT COUNT(*) FROM trials WHERE status = 'ok'").fetchone()[0]
                rows.append(("nasforge" if durability == "normal" else "nasforge (fsync)", rep, t, n, stored))
            db = Path(tmp) / f"optuna-{rep}.db"
            t, out = timed([sys.executable, "-c", OPTUNA_SCRIPT, str(db), str(args.trials)])
            rows.append(("optuna", rep, t, int(out.split()[0]), args.trials))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"{'tool':<18}{'rep':>4}{'wall s':>9}{'trials':>8}{'stored':>8}{'ms/trial':>10}")
    for name, rep, t, n, stored in rows:
        print(f"{name:<18}{rep:>4}{t:>9.2f}{n:>8}{stored:>8}{1000 * t / n:>10.2f}")
    med = {k: statistics.median(t for name, _, t, _, _ in rows if name == k)
           for k in ("nasforge", "nasforge (fsync)", "optuna")}
    print(f"median wall: nasforge {med['nasforge']:.2f} s, nasforge with fsync {med['nasforge (fsync)']:.2f} s, "
          f"optuna {med['optuna']:.2f} s")
    print(f"ratio optuna / nasforge = {med['optuna'] / med['nasforge']:.1f}x "
          f"(fsync: {med['optuna'] / med['nasforge (fsync)']:.1f}x); target >= 20x")


if __name__ == "__main__":
    main()
