"""The store's lease, truthful status, read-only opening, migration, foreign and corrupted files."""

from __future__ import annotations

import math
import socket
import sqlite3
import time

import numpy as np
import pytest

from nasforge import api
from nasforge.arch import Architecture
from nasforge.errors import ExperimentLockedError, SearchInterrupted, StorageError
from nasforge.evaluators.base import Objective, Result
from nasforge.runner import Budget, Experiment, Runner, best_trial
from nasforge.spaces import get_space
from nasforge.storage import Store, TrialRecord, lease_status, new_owner
from nasforge.strategies import make_strategy
from nasforge.strategies.base import Strategy

from store_helpers import write_benchmark_csv

V1_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE experiments (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, spec TEXT NOT NULL,
    status TEXT NOT NULL, created REAL NOT NULL, updated REAL NOT NULL);
CREATE TABLE trials (id INTEGER PRIMARY KEY, experiment_id INTEGER NOT NULL REFERENCES experiments(id),
    number INTEGER NOT NULL, arch TEXT NOT NULL, arch_key TEXT NOT NULL, fidelity REAL, status TEXT NOT NULL,
    metrics TEXT, hidden TEXT, cost REAL, params INTEGER, error TEXT, info TEXT, started REAL NOT NULL,
    finished REAL, tell_order INTEGER, UNIQUE (experiment_id, number));
INSERT INTO meta VALUES ('schema_version', '1');
INSERT INTO experiments VALUES (1, 'old', '{"strategy": {"name": "random"}}', 'running', 1.0, 2.0);
INSERT INTO experiments VALUES (2, 'done', '{"strategy": {"name": "random"}}', 'finished', 1.0, 2.0);
INSERT INTO trials VALUES (1, 2, 0, '|a|', 'k', NULL, 'ok', '{"val_acc": 50.0}', '{}', 1.0, NULL, NULL, '{}',
    1.0, 2.0, 0);
"""


def test_a_version_1_store_is_migrated_in_place_and_stays_readable(tmp_path) -> None:
    db = tmp_path / "v1.db"
    with sqlite3.connect(db) as con:
        con.executescript(V1_SCHEMA)
    with Store(db, read_only=True) as ro:  # read-only reads it as it is, changing nothing
        assert [(e.name, e.status, e.owner) for e in ro.list_experiments()] == [
            ("old", "interrupted", None), ("done", "finished", None)]
    with sqlite3.connect(db) as con:
        assert "owner" not in {r[1] for r in con.execute("PRAGMA table_info(experiments)")}
    with Store(db) as store:
        assert store.get_experiment("old").status == "interrupted"  # stored 'running' without a live owner
        assert store.trials(store.get_experiment("done").id)[0].metrics == {"val_acc": 50.0}
    with sqlite3.connect(db) as con:
        assert {"owner", "heartbeat"} <= {r[1] for r in con.execute("PRAGMA table_info(experiments)")}
        assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == "2"


def test_a_foreign_sqlite_file_is_refused_and_never_modified(tmp_path) -> None:
    db = tmp_path / "other.db"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE customers (id INTEGER, name TEXT)")
        con.execute("CREATE TABLE meta (key TEXT, value TEXT)")  # a 'meta' table, but not ours
    before = db.read_bytes()
    for read_only in (False, True):
        with pytest.raises(StorageError, match="not a nasforge store"):
            Store(db, read_only=read_only)
    assert db.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.db"]


def test_read_only_creates_and_changes_nothing(tmp_path) -> None:
    missing = tmp_path / "missing.db"
    with pytest.raises(StorageError, match="does not exist"):
        Store(missing, read_only=True)
    assert not missing.exists()
    db = tmp_path / "s.db"
    with Store(db) as store:
        store.create_experiment("e", {"x": 1})
    files = sorted(p.name for p in tmp_path.iterdir())
    before = db.read_bytes()
    with Store(db, read_only=True) as ro:
        assert [e.name for e in ro.list_experiments()] == ["e"]
        with pytest.raises(StorageError, match="read-only"):
            ro.create_experiment("f", {})
    assert db.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == files


def test_corrupted_pages_give_a_storage_error_naming_the_file(tmp_path) -> None:
    db = tmp_path / "c.db"
    with Store(db) as store:
        exp = store.create_experiment("e", {})
        for i in range(300):
            tid = store.start_trial(exp.id, i, "|x" * 40, f"k{i}", None)
            store.finish_trial(tid, Result.ok({"val_acc": float(i)}, cost=1.0))
    size = db.stat().st_size
    with open(db, "r+b") as f:  # the last pages hold trials; the schema on page 1 stays readable
        for off in range(size - 8 * 4096, size, 4096):
            f.seek(off)
            f.write(b"\xff" * 300)
    with pytest.raises(StorageError, match=str(db)):
        with Store(db, read_only=True) as ro:
            ro.trials(ro.get_experiment("e").id)


def test_lease_is_exclusive_while_alive_and_taken_over_when_stale(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("NASFORGE_LEASE_STALE_S", "0.5")
    db = tmp_path / "l.db"
    a, b = Store(db), Store(db)
    other_host = "elsewhere.invalid:4242:abcd"  # not this host: only the heartbeat age can free it
    a.create_experiment("e", {}, owner=other_host)
    assert b.get_experiment("e").status == "running"
    with pytest.raises(ExperimentLockedError, match="being run by another process"):
        b.acquire_lease("e", new_owner())
    with pytest.raises(ExperimentLockedError):
        b.delete_experiment("e")
    time.sleep(0.7)
    assert b.get_experiment("e").status == "interrupted"  # stale heartbeat: reported as interrupted
    mine = new_owner()
    assert b.acquire_lease("e", mine).owner == mine
    b.release_lease(b.get_experiment("e").id, mine, "finished")
    assert a.get_experiment("e").status == "finished" and a.get_experiment("e").owner is None
    a.close()
    b.close()


def test_a_dead_process_on_this_host_frees_its_lease_at_once(tmp_path) -> None:
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    dead = f"{socket.gethostname()}:{proc.pid}:beef"
    assert lease_status("running", dead, time.time()) == "interrupted"
    assert lease_status("running", new_owner(), time.time()) == "running"  # this (live) process
    assert lease_status("finished", None, None) == "finished"


class _StopAt:
    """Evaluator that raises KeyboardInterrupt (a Ctrl-C) on its ``stop_at``-th call."""

    simulated_cost = True
    default_objective = "val_acc"
    report_metric = "test_acc"

    def __init__(self, stop_at: int | None) -> None:
        self.stop_at, self.calls = stop_at, 0

    def evaluate(self, arch: Architecture, fidelity=None) -> Result:
        self.calls += 1
        if self.calls == self.stop_at:
            raise KeyboardInterrupt
        v = float(sum(op == "nor_conv_3x3" for op in arch.values()))
        return Result.ok({"val_acc": v}, hidden={"test_acc": v}, cost=1.0)


def _exp(evaluator, trials: int, seed: int = 1) -> Experiment:
    space = get_space("nb201")
    return Experiment("e", space, make_strategy("random", space, seed=seed), evaluator, (Objective("val_acc"),),
                      Budget(trials=trials), {"space": {"name": "nb201"}})


def test_interrupt_records_the_trial_in_flight_and_resume_reruns_it(tmp_path) -> None:
    db = tmp_path / "i.db"
    with Store(db) as store:
        with pytest.raises(SearchInterrupted) as info:
            Runner(_exp(_StopAt(4), 10), store).run()
        assert "nasforge resume e" in info.value.message()
        rec = store.get_experiment("e")
        assert rec.status == "interrupted" and rec.owner is None
        assert [t.status for t in store.trials(rec.id)] == ["ok", "ok", "ok", "interrupted"]
        summary = Runner(_exp(_StopAt(None), 10), store).run()
        assert summary.trials == 10 and store.get_experiment("e").status == "finished"
        assert [t.number for t in store.trials(rec.id)] == list(range(10))
    with Store(tmp_path / "ref.db") as ref:  # the same search never interrupted
        assert Runner(_exp(_StopAt(None), 10), ref).run().best.arch == summary.best.arch


def test_a_search_that_fails_before_its_first_trial_leaves_no_experiment(tmp_path, monkeypatch) -> None:
    db = tmp_path / "s.db"
    csv = write_benchmark_csv(tmp_path / "b.csv")

    def broken_ask(self, n):
        raise RuntimeError("the strategy cannot start")

    monkeypatch.setattr(Strategy, "ask", broken_ask)
    with pytest.raises(RuntimeError, match="cannot start"):
        api.search(space="nb201", benchmark="nb201", benchmark_file=str(csv), signal="val_acc", strategy="random",
                   trials=3, storage=str(db), name="bad")
    with Store(db, read_only=True) as store:
        assert store.experiment_names() == []
    monkeypatch.undo()
    assert api.search(space="nb201", benchmark="nb201", benchmark_file=str(csv), signal="val_acc",
                      strategy="random", trials=3, storage=str(db), name="bad").trials == 3  # the name is free


def _records(n: int, rng: np.random.Generator) -> list[TrialRecord]:
    out = []
    for i in range(n):
        status = "ok" if rng.random() > 0.2 else "failed"
        v = float(rng.integers(0, 30)) if rng.random() > 0.1 else math.nan
        out.append(TrialRecord(i, f"a{i}", f"k{i}", float(rng.choice([1.0, 2.0, 4.0])), status, {"val_acc": v}, {},
                               1.0, None, None, 0.0, 1.0, i, {}))
    return out


@pytest.mark.parametrize("seed", range(5))
def test_incremental_best_equals_best_trial(seed) -> None:
    rng = np.random.default_rng(seed)
    records = _records(200, rng)
    runner = Runner(_exp(_StopAt(None), 10), None)
    for k in range(0, 201, 13):
        runner.records = records[:k]  # grows: updated incrementally
        assert runner.best() is best_trial(records[:k], Objective("val_acc"), runner._feasible)
    runner.records = records[:50]  # replaced by a shorter list: recomputed
    assert runner.best() is best_trial(records[:50], Objective("val_acc"), runner._feasible)


def test_a_runner_whose_lease_was_taken_over_stops_writing(tmp_path) -> None:
    class TakeOver(_StopAt):
        """On its 3rd call, another process takes the lease (as after this runner stalled)."""

        def evaluate(self, arch, fidelity=None):
            self.calls += 1
            if self.calls == 3:
                with Store(db) as other:
                    other.db.execute("UPDATE experiments SET owner = 'elsewhere.invalid:1:ff', heartbeat = ?",
                                     (time.time(),))
            return Result.ok({"val_acc": 1.0}, cost=1.0)

    db = tmp_path / "t.db"
    with Store(db) as store:
        with pytest.raises(ExperimentLockedError, match="taken over"):
            Runner(_exp(TakeOver(None), 10), store).run()
        rec = store.get_experiment("e")
        assert rec.owner == "elsewhere.invalid:1:ff"  # the new owner's lease is left alone
        assert [t.status for t in store.trials(rec.id)] == ["ok", "ok", "running"]
