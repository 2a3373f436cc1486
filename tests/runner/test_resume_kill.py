"""SIGKILL a running search, resume it: no finished trial lost or repeated, store intact."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from conftest import ROOT, run_cli

TRAIN = ["--dataset", "digits", "--epochs", "1", "--channels", "4", "--cells", "1", "--max-train", "400"]


@pytest.mark.slow
def test_sigkill_then_resume(tmp_path) -> None:
    db = tmp_path / "runs.db"
    args = [sys.executable, "-m", "nasforge", "search", "--space", "nb201", "--strategy", "evolution",
            "--trials", "14", "--seed", "3", "--storage", str(db), "--name", "killme", *TRAIN]
    proc = subprocess.Popen(args, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    finished_before: dict[int, tuple] = {}
    deadline = time.time() + 120
    try:
        while time.time() < deadline:
            time.sleep(0.2)
            if not db.exists():
                continue
            try:
                with sqlite3.connect(db) as con:
                    rows = con.execute("SELECT number, arch, status, metrics FROM trials WHERE finished IS NOT NULL"
                                       ).fetchall()
            except sqlite3.OperationalError:
                continue
            if len(rows) >= 4:
                proc.send_signal(signal.SIGKILL)
                break
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL, "the search finished before it could be killed"
    with sqlite3.connect(db) as con:
        finished_before = {r[0]: r[1:] for r in con.execute(
            "SELECT number, arch, status, metrics FROM trials WHERE finished IS NOT NULL")}
    assert len(finished_before) >= 4

    out = run_cli("resume", "killme", "--storage", str(db), "--json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["trials"] == 14 and data["best"]["arch"]

    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = con.execute("SELECT number, arch, status, metrics FROM trials ORDER BY number").fetchall()
    numbers = [r[0] for r in rows]
    assert numbers == list(range(14)), "a trial was lost or repeated"
    for number, before in finished_before.items():
        assert rows[number][1:] == before, f"finished trial {number} changed on resume"
    assert all(r[2] in ("ok", "failed") for r in rows)
