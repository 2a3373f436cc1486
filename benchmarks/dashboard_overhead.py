"""Does watching a search slow it down? An NB201-table search with and without the dashboard polling.

One run, side by side: the same search (NB201 table, random search, ``--trials`` trials, torch on one
thread) runs alternately alone and with ``nasforge dashboard`` serving the store while a poller
process asks for exactly what the Experiment page asks for, every ``--poll`` seconds: the experiment
list, the trials told since the last poll, and (every 5 s) the insights. The order alternates
(alone/watched, then watched/alone) so drift in the machine's load falls on both. It prints each
run's trials per second and the loss of the median watched run against the median run alone
(the target is under 5 %).

Run under the shared CPU lock::

    flock /tmp/nasforge-cpu.lock .venv/bin/python benchmarks/dashboard_overhead.py --trials 5000 --repeats 5

NB201 data: the packaged table, else ``--benchmark-file`` or ``$NASFORGE_NB201_DIR``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nasforge.storage import Store  # noqa: E402


def _get(base: str, path: str) -> Any:
    with urllib.request.urlopen(base + path, timeout=30) as res:
        return json.loads(res.read())


def poll(base: str, name: str, every: float, stop: Any, counts: Any) -> None:
    """What an open Experiment page (plus an Experiments tab) fetches, every ``every`` seconds."""
    last, insights_at = -1, 0.0
    quoted = urllib.parse.quote(name, safe="")
    while not stop.is_set():
        t0 = time.perf_counter()
        try:
            _get(base, "/api/experiments")
            res = _get(base, f"/api/experiments/{quoted}/trials?after={last}")
            if res["trials"]:
                last = res["trials"][-1]["order"]
            if time.time() - insights_at >= 5.0:
                insights_at = time.time()
                _get(base, f"/api/experiments/{quoted}/insights")
            counts[0] += 1
        except OSError:  # the experiment may not exist for the first poll
            counts[1] += 1
        stop.wait(max(0.0, every - (time.perf_counter() - t0)))


def run_search(db: Path, name: str, trials: int, benchmark_file: str | None) -> float:
    import nasforge as nf

    t0 = time.perf_counter()
    summary = nf.search(space="nb201", benchmark="nb201", strategy="random", trials=trials, seed=0, storage=str(db),
                        name=name, benchmark_file=benchmark_file)
    wall = time.perf_counter() - t0
    if summary.trials != trials:
        raise SystemExit(f"search {name} ran {summary.trials} trials, not {trials}")
    return wall


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def start_dashboard(db: Path, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-m", "nasforge", "dashboard", "--storage", str(db), "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    for _ in range(300):
        try:
            _get(f"http://127.0.0.1:{port}", "/api/status")
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the dashboard did not start")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trials", type=int, default=5000)
    ap.add_argument("--repeats", type=int, default=5, help="pairs of runs (alone, watched)")
    ap.add_argument("--poll", type=float, default=1.0, help="seconds between the poller's refreshes")
    ap.add_argument("--benchmark-file", help="NB201 CSV (default: the packaged table or $NASFORGE_NB201_DIR)")
    ap.add_argument("--port", type=int, default=8765)
    args = ap.parse_args()

    import torch

    torch.set_num_threads(1)
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
          f"python {platform.python_version()}")
    print(f"search: NB201 table, random, {args.trials} trials, seed 0; poller every {args.poll} s")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        import nasforge as nf

        nf.search(space="nb201", benchmark="nb201", strategy="random", trials=20, seed=0,
                  storage=str(Path(tmp) / "warm-up.db"), name="warm-up", benchmark_file=args.benchmark_file)
        port = args.port
        for rep in range(args.repeats):
            for watched in ((False, True) if rep % 2 == 0 else (True, False)):
                name = f"{'watched' if watched else 'alone'}-{rep}"
                db = Path(tmp) / f"{name}.db"  # one store per run, as when a user watches one search
                Store(db).close()
                dash = stop = proc = None
                counts = mp.Array("i", [0, 0])
                cpu0 = 0.0
                if watched:
                    dash = start_dashboard(db, port)
                    stop = mp.Event()
                    proc = mp.Process(target=poll, args=(f"http://127.0.0.1:{port}", name, args.poll, stop, counts))
                    proc.start()
                    cpu0 = cpu_seconds(dash.pid)
                try:
                    wall = run_search(db, name, args.trials, args.benchmark_file)
                finally:
                    if watched:
                        server_cpu = cpu_seconds(dash.pid) - cpu0
                        poller_cpu = cpu_seconds(proc.pid)
                        stop.set()
                        proc.join(10)
                        dash.terminate()
                        dash.wait(10)
                rows.append({"run": name, "watched": watched, "wall_s": wall, "trials_per_s": args.trials / wall,
                             "polls": counts[0] if watched else 0,
                             "server_cpu_s": server_cpu if watched else 0.0,
                             "poller_cpu_s": poller_cpu if watched else 0.0})
                print(f"{name:>10}: {wall:6.2f} s  {args.trials / wall:7.1f} trials/s"
                      + (f"  ({counts[0]} polls answered, {counts[1]} failed; CPU during the run: server "
                         f"{server_cpu:.2f} s, poller {poller_cpu:.2f} s)" if watched else ""), flush=True)
    alone = statistics.median(r["trials_per_s"] for r in rows if not r["watched"])
    watched = statistics.median(r["trials_per_s"] for r in rows if r["watched"])
    loss = 100.0 * (alone - watched) / alone
    print()
    print("| runs | median trials/s alone | median trials/s watched (poll every "
          f"{args.poll:g} s) | loss |")
    print("|---|---|---|---|")
    print(f"| {args.repeats} + {args.repeats} | {alone:.1f} | {watched:.1f} | {loss:+.1f} % |")
    print(json.dumps({"alone_trials_per_s": alone, "watched_trials_per_s": watched, "loss_percent": loss,
                      "runs": rows}))


if __name__ == "__main__":
    main()
