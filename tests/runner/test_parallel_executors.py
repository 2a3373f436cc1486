"""The local process pool: parallelism, thread count, sticky objects, and the runner on top of it."""

from __future__ import annotations

import time
from collections import Counter

import pytest
from runner_fault_helpers import (
    FaultyEvaluator,
    PickleCounter,
    exit_now,
    expected_fault,
    identity_with,
    sleep_then,
    worker_threads,
)

from nasforge.api import build_experiment, make_spec
from nasforge.errors import InvalidConfigError, UnknownNameError
from nasforge.evaluators.base import Objective, Status
from nasforge.executors import ProcessExecutor, TrialTimeoutError, WorkerDiedError, make_executor
from nasforge.runner import Budget, Experiment, InlineExecutor, Runner
from nasforge.spaces import get_space
from nasforge.storage import Store
from nasforge.strategies import make_strategy


@pytest.fixture(scope="module")
def pool():
    with ProcessExecutor(2, threads=1, timeout=3.0) as ex:
        yield ex


def test_two_workers_run_at_once_with_one_torch_thread_each(pool):
    info = [f.result() for f in [pool.submit(worker_threads) for _ in range(2)]]
    assert all(threads == 1 and omp == "1" for threads, omp, _ in info), info
    t0 = time.perf_counter()
    futs = [pool.submit(sleep_then, 1.0, i) for i in range(2)]
    assert [f.result() for f in futs] == [0, 1]
    assert time.perf_counter() - t0 < 1.8  # one after the other would take 2 s


def test_an_object_submitted_again_and_again_is_sent_to_each_worker_once(pool):
    obj = PickleCounter()
    before = PickleCounter.pickled
    assert [f.result() for f in [pool.submit(identity_with, obj, i) for i in range(12)]] == list(range(12))
    # the first submit sends it as a plain argument, then once to each worker at most
    assert PickleCounter.pickled - before <= 1 + pool.workers


def test_dead_worker_fails_only_its_task_and_is_replaced(pool):
    restarts = pool.restarts
    slow = pool.submit(sleep_then, 0.5, "survivor")
    dead = pool.submit(exit_now, 7)
    with pytest.raises(WorkerDiedError, match="exited with code 7"):
        dead.result(timeout=10)
    assert slow.result(timeout=10) == "survivor"
    assert pool.submit(sleep_then, 0.0, "after").result(timeout=10) == "after"
    assert pool.restarts == restarts + 1


def test_hanging_task_times_out_and_its_worker_is_replaced(pool):
    t0 = time.perf_counter()
    fut = pool.submit(sleep_then, 60.0, "never")
    with pytest.raises(TrialTimeoutError):
        fut.result(timeout=20)
    assert 2.9 <= time.perf_counter() - t0 < 6.0
    assert pool.submit(sleep_then, 0.0, "next").result(timeout=10) == "next"


def test_unpicklable_argument_fails_that_task_with_a_clear_error(pool):
    fut = pool.submit(identity_with, lambda: None, 1)
    with pytest.raises(InvalidConfigError, match="picklable"):
        fut.result(timeout=10)
    assert pool.submit(identity_with, None, 2).result(timeout=10) == 2


def test_make_executor_checks_its_settings():
    assert isinstance(make_executor(None), InlineExecutor)
    with pytest.raises(InvalidConfigError, match="timeout"):
        make_executor("inline", timeout=5)
    with pytest.raises(InvalidConfigError, match="one trial at a time"):
        make_executor("inline", workers=2)
    with pytest.raises(UnknownNameError, match="did you mean 'process'"):
        make_executor("proces")
    with pytest.raises(InvalidConfigError, match="workers"):
        make_executor("process", workers=0)
    with pytest.raises(InvalidConfigError, match="address"):
        make_executor("process", address="127.0.0.1:6379")
    ex = make_executor(None, workers=2, timeout=10)
    try:
        assert isinstance(ex, ProcessExecutor) and ex.workers == 2 and ex.timeout == 10
    finally:
        ex.shutdown()


def test_runner_with_process_workers_survives_dying_hanging_and_nan_trials(tmp_path):
    """Each fault marks only its own trial; every trial of the budget is stored; the search ends."""
    space = get_space("nb201")
    exp = Experiment("faults", space, make_strategy("random", space, seed=3), FaultyEvaluator(hang_seconds=60),
                     (Objective("val_acc"),), Budget(trials=14), {"space": {"name": "nb201"}})
    store = Store(tmp_path / "f.db")
    store.create_experiment("faults", {"space": {"name": "nb201"}})
    t0 = time.perf_counter()
    with ProcessExecutor(2, timeout=1.5) as ex:
        summary = Runner(exp, store, executor=ex).run()
        restarts = ex.restarts
    wall = time.perf_counter() - t0
    trials = store.trials(store.get_experiment("faults").id)
    assert summary.trials == 14 and len(trials) == 14
    assert sorted(t.number for t in trials) == list(range(14))
    want = Counter(expected_fault(space.parse(t.arch)) for t in trials)
    assert min(want.values()) >= 1 and set(want) == {"ok", "die", "hang", "nan"}, want  # the seed covers all
    for t in trials:
        fault = expected_fault(space.parse(t.arch))
        if fault == "ok":
            assert t.status == Status.OK and t.metrics["val_acc"] >= 0
        elif fault == "die":
            assert t.status == Status.FAILED and "WorkerDiedError" in t.error and "code 3" in t.error
        elif fault == "hang":
            assert t.status == Status.TIMEOUT and "timeout" in t.error and t.cost >= 1.4
        else:
            assert t.status == Status.FAILED and "not finite" in t.error
    assert restarts == want["die"] + want["hang"]
    assert summary.failed == 14 - want["ok"]
    assert summary.best is not None and summary.best.status == Status.OK
    assert wall < 30
    assert store.integrity_check() == "ok"


@pytest.mark.slow
def test_process_workers_train_exactly_like_inline():
    """The same architecture trained in a worker process and in this one gives the same numbers."""
    spec = make_spec(dataset="digits", strategy="random", trials=2, seed=1,
                     train={"epochs": 1, "max_train": 300, "model": {"channels": 4, "cells_per_stage": 1}})
    inline = Runner(build_experiment(spec, "inline"), None)
    inline.run()
    with ProcessExecutor(2) as ex:
        pooled = Runner(build_experiment(spec, "pool"), None, executor=ex)
        pooled.run()
    got = {t.arch: (t.metrics["val_acc"], t.hidden["test_acc"]) for t in pooled.records}
    want = {t.arch: (t.metrics["val_acc"], t.hidden["test_acc"]) for t in inline.records}
    assert len(want) == 2 and got == want
