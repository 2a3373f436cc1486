"""SIGKILL of a runner with two worker processes mid-search, then `nasforge resume --json`."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, run_cli


def _rows(db: Path) -> dict[int, tuple]:
    con = sqlite3.connect(db)
    try:
        return {r[0]: r[1:] for r in con.execute(
            "SELECT number, arch, status, metrics, hidden, finished, tell_order FROM trials ORDER BY number")}
    finally:
        con.close()


@pytest.mark.slow
def test_sigkill_with_two_workers_then_resume_loses_and_repeats_nothing(tmp_path):
    db = tmp_path / "kill.db"
    args = ["search", "--dataset", "digits", "--strategy", "evolution", "--param", "population_size=4",
            "--param", "sample_size=2", "--trials", "6", "--epochs", "2", "--channels", "8", "--cells", "1",
            "--storage", str(db), "--name", "k", "--workers", "2", "--seed", "5", "--json"]
    proc = subprocess.Popen([sys.executable, "-m", "nasforge", *args], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(ROOT)})
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            time.sleep(0.2)
            assert proc.poll() is None, f"the search ended before it was killed: {proc.communicate()}"
            if db.exists():
                try:
                    rows = _rows(db)
                except sqlite3.OperationalError:
                    continue
                done = sum(1 for r in rows.values() if r[1] == "ok")
                running = sum(1 for r in rows.values() if r[1] == "running")
                if done >= 2 and running >= 1:
                    break
        else:
            pytest.fail("the search did not reach 2 finished trials in time")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    killed_at = time.time()
    before = _rows(db)
    finished = {n: r for n, r in before.items() if r[1] == "ok"}
    in_flight = {n: r for n, r in before.items() if r[1] == "running"}
    assert len(finished) >= 2 and in_flight and len(before) < 6

    res = run_cli("resume", "k", "--storage", str(db), "--workers", "2", "--json", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["experiment"] == "k" and out["status"] == "finished" and out["trials"] == 6 and out["failed"] == 0
    assert out["best"]["arch"].startswith("|")

    after = _rows(db)
    assert sorted(after) == list(range(6))  # every trial number once: nothing lost, nothing added twice
    assert all(r[1] == "ok" for r in after.values())
    for n, r in finished.items():  # finished trials are kept as they were, not run again
        assert after[n] == r
    for n, r in in_flight.items():  # trials in flight at the kill were run again, same architecture
        assert after[n][0] == r[0] and after[n][4] >= killed_at
    assert sorted(r[5] for r in after.values()) == list(range(6))  # the tell order has no gap or repeat
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        con.close()
