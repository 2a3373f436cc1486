"""The Ray executor on a local Ray (loopback only, no dashboard): results, timeouts, dead workers, a search.

The CLI path (`--executor ray`) is exercised by benchmarks/parallel.py and by hand (see BENCHMARKS.md).
"""

from __future__ import annotations

import os
import time

import pytest

pytest.importorskip("ray", reason="Ray is optional: pip install 'nasforge[ray]'")

from nasforge.api import build_experiment, make_spec
from nasforge.executors import RayExecutor, TrialTimeoutError, WorkerDiedError
from nasforge.runner import Runner


@pytest.mark.slow
def test_ray_executor_runs_tasks_stops_hanging_ones_survives_a_dead_worker_and_searches(nb201_csv):
    with RayExecutor(2, timeout=3.0) as ex:
        assert ex.workers == 2
        table = list(range(100_000))  # sent again and again: put in the object store once, then referenced
        assert [f.result(timeout=60) for f in [ex.submit(len, table) for _ in range(4)]] == [100_000] * 4
        assert len(ex._refs) == 1
        assert [f.result(timeout=60) for f in [ex.submit(pow, 2, i) for i in range(6)]] == [2 ** i for i in range(6)]
        t0 = time.perf_counter()
        hang = ex.submit(time.sleep, 60)
        with pytest.raises(TrialTimeoutError):
            hang.result(timeout=30)
        assert time.perf_counter() - t0 < 10
        dead = ex.submit(os._exit, 3)
        with pytest.raises(WorkerDiedError):
            dead.result(timeout=60)
        assert ex.submit(pow, 3, 3).result(timeout=60) == 27
        # a whole search on the same Ray: every trial done, results as inline
        spec = make_spec(benchmark="nb201", benchmark_file=str(nb201_csv), strategy="random", trials=30, seed=2)
        on_ray = Runner(build_experiment(spec, "ray"), None, executor=ex).run()
        inline = Runner(build_experiment(spec, "inline"), None).run()
        assert on_ray.trials == 30 and on_ray.failed == 0
        assert on_ray.best.arch == inline.best.arch and on_ray.best.metrics == inline.best.metrics


