"""How the CLI's time grows with the number of trials: ``nasforge search`` at two sizes, side by side.

Each size runs ``nasforge search --benchmark nb201 --strategy random --trials N`` in a fresh
subprocess with a fresh store (as a user runs it), ``--repeats`` times, alternating sizes so that
other load on the machine hits both alike; the median wall time is reported. A linear CLI takes
about ``N2/N1`` times as long for the larger size (a little more: random search rejects already
seen cells more often as the 15,625-cell space fills); per-trial work that grows with the number of
finished trials shows as a much larger ratio. The start-up cost (``--trials 1``) is printed too.

Needs the NB201 table (package data, or ``$NASFORGE_NB201_DIR``). Run under the shared CPU lock::

    flock /tmp/nasforge-cpu.lock .venv/bin/python benchmarks/cli_scaling.py --sizes 2000,8000 --repeats 3

``--compare-src DIR`` times another checkout (e.g. the code before this change) in the same runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run_once(trials: int, folder: Path, tag: str, src: str | None = None) -> float:
    """Wall seconds of one CLI search with ``trials`` random NB201 queries (``src``: another checkout's code)."""
    db = folder / f"{tag}.db"
    cmd = [sys.executable, "-m", "nasforge", "search", "--benchmark", "nb201", "--strategy", "random",
           "--trials", str(trials), "--storage", str(db), "--json"]
    t0 = time.perf_counter()
    env = {**os.environ, "PYTHONPATH": src} if src else None
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=folder, env=env)
    seconds = time.perf_counter() - t0
    if out.returncode != 0:
        raise SystemExit(f"search failed ({out.returncode}): {out.stderr.strip().splitlines()[-1:]}")
    return seconds


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="2000,8000", help="Comma list of trial counts (first is the reference).")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--compare-src", metavar="DIR",
                    help="Also time another checkout's code (its root is put on PYTHONPATH), e.g. the main branch.")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    versions = {"this checkout": None, **({f"{args.compare_src}": args.compare_src} if args.compare_src else {})}
    times = {v: {n: [] for n in [1, *sizes]} for v in versions}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for r in range(args.repeats):
            for v, src in versions.items():
                for n in times[v]:
                    times[v][n].append(run_once(n, folder, f"r{r}-n{n}-{len(times[v][n])}-{abs(hash(v))}", src))
    print(f"python {sys.version.split()[0]}; {args.repeats} repeats, median wall seconds per CLI run")
    for v in versions:
        med = {n: statistics.median(t) for n, t in times[v].items()}
        print(f"[{v}]")
        print(f"{'trials':>8} {'seconds':>9} {'ms/trial':>9} {'ratio':>7}  runs")
        for n in sizes:
            per = 1000 * (med[n] - med[1]) / n
            print(f"{n:>8} {med[n]:>9.2f} {per:>9.3f} {med[n] / med[sizes[0]]:>7.2f}  "
                  + ", ".join(f"{t:.2f}" for t in times[v][n]))
        print(f"start-up (--trials 1): {med[1]:.2f} s; size ratio {sizes[-1] / sizes[0]:.1f}x, "
              f"time ratio {med[sizes[-1]] / med[sizes[0]]:.2f}x")


if __name__ == "__main__":
    main()
