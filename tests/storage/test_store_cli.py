"""Real processes: one runner per experiment, truthful status after kill -9 and Ctrl-C, stores that are not ours."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, run_cli
from store_helpers import count_trials, search_args, trial_rows, write_benchmark_csv

ENV = {"NASFORGE_LEASE_STALE_S": "5"}


@pytest.fixture(scope="module")
def csv(tmp_path_factory) -> Path:
    return write_benchmark_csv(tmp_path_factory.mktemp("bench") / "bench.csv")


def _start(*args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "nasforge", *args], cwd=cwd, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(ROOT), **ENV})


def _wait_for_trials(db: Path, n: int, proc: subprocess.Popen[str], timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the search ended early: {proc.communicate()}")
        if count_trials(db) >= n:
            return
        time.sleep(0.1)
    raise AssertionError(f"no {n} trials within {timeout} s")


def _status(db: Path, name: str) -> str:
    out = run_cli("status", name, "--storage", str(db), "--json", env=ENV)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["experiments"][0]["status"]


def _assert_numbers_unique_and_contiguous(db: Path) -> list[tuple[int, str]]:
    rows = trial_rows(db)
    assert [r[0] for r in rows] == list(range(len(rows))), "a trial number was lost or repeated"
    return rows


@pytest.mark.slow
def test_kill_9_then_status_is_interrupted_and_resume_finishes(tmp_path, csv) -> None:
    db = tmp_path / "k.db"
    proc = _start(*search_args(csv, db, "e1"), cwd=tmp_path)
    try:
        _wait_for_trials(db, 30, proc)
        assert _status(db, "e1") == "running"
        st = json.loads(run_cli("status", "--storage", str(db), "--json", env=ENV).stdout)["experiments"][0]
        assert st["owner"].split(":")[-2] == str(proc.pid)  # host:pid:token of the live runner
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert _status(db, "e1") == "interrupted"  # the owner's pid is gone: no minute-long wait on one host
    best = json.loads(run_cli("best", "e1", "--storage", str(db), "--json", env=ENV).stdout)
    assert best["status"] == "interrupted"
    total = count_trials(db) + 25
    out = run_cli("resume", "e1", "--storage", str(db), "--trials", str(total), "--json", env=ENV)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["status"] == "finished" and _status(db, "e1") == "finished"
    rows = _assert_numbers_unique_and_contiguous(db)
    assert len(rows) == total and {r[1] for r in rows} == {"ok"}


@pytest.mark.slow
def test_a_live_experiment_is_refused_ctrl_c_stops_cleanly_and_two_resumes_do_not_collide(tmp_path, csv) -> None:
    db = tmp_path / "l.db"
    proc = _start(*search_args(csv, db, "e1"), cwd=tmp_path)
    try:
        _wait_for_trials(db, 20, proc)
        for again in (["resume", "e1", "--storage", str(db)], search_args(csv, db, "e1", trials=5)):
            second = run_cli(*again, env=ENV)
            assert second.returncode == 2
            assert second.stderr.count("\n") == 1 and "being run by another process" in second.stderr
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "nasforge resume e1 --storage" in err and "Traceback" not in err and "Aborted" not in err
    assert _status(db, "e1") == "interrupted"
    rows = _assert_numbers_unique_and_contiguous(db)
    assert {s for _, s in rows} <= {"ok", "interrupted"} and sum(s == "interrupted" for _, s in rows) <= 1

    # two resumes at once: one runs, the other is refused before doing anything
    procs = [_start("resume", "e1", "--storage", str(db), cwd=tmp_path) for _ in range(2)]
    try:
        deadline = time.time() + 60
        while all(p.poll() is None for p in procs) and time.time() < deadline:
            time.sleep(0.1)
        loser = next(p for p in procs if p.poll() is not None)
        winner = next(p for p in procs if p is not loser)
        _, lerr = loser.communicate()
        assert loser.returncode == 2 and "being run by another process" in lerr, lerr
        _wait_for_trials(db, len(rows) + 20, winner)
        winner.send_signal(signal.SIGINT)
        _, werr = winner.communicate(timeout=30)
        assert winner.returncode == 130 and "UNIQUE" not in werr, werr
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    _assert_numbers_unique_and_contiguous(db)


def test_sigterm_stops_like_ctrl_c(tmp_path, csv) -> None:
    db = tmp_path / "t.db"
    proc = _start(*search_args(csv, db, "e1"), cwd=tmp_path)
    try:
        _wait_for_trials(db, 10, proc)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143 and "nasforge resume e1" in err, err
    assert _status(db, "e1") == "interrupted"


@pytest.mark.slow
def test_corrupted_or_foreign_stores_are_one_line_errors(tmp_path, csv) -> None:
    import sqlite3

    db = tmp_path / "c.db"
    out = run_cli(*search_args(csv, db, "e1", trials=400))
    assert out.returncode == 0, out.stderr
    size = db.stat().st_size
    with open(db, "r+b") as f:  # the last pages hold trials; the schema on page 1 stays readable
        for off in range(size - 8 * 4096, size, 4096):
            f.seek(off)
            f.write(b"\xff" * 300)
    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as con:
        con.execute("CREATE TABLE t (x)")
    before = foreign.read_bytes()
    for command in (["status"], ["best", "e1"], ["resume", "e1"]):
        out = run_cli(*command, "--storage", str(db))
        assert out.returncode == 2 and out.stderr.count("\n") == 1 and str(db) in out.stderr, out.stderr
        out = run_cli(*command, "--storage", str(foreign))
        assert out.returncode == 2 and "not a nasforge store" in out.stderr, out.stderr
    assert foreign.read_bytes() == before
