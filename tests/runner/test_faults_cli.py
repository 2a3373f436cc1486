"""Faults seen from the command line: two searches on one SQLite file, per-trial timeouts, NaN losses."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

from conftest import ROOT, run_cli

from nasforge.api import build_experiment, make_spec
from nasforge.runner import Runner
from nasforge.storage import Store


def test_two_searches_writing_one_sqlite_file_at_once_both_complete(tmp_path, nb201_csv):
    db = tmp_path / "shared.db"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = {name: subprocess.Popen(
        [sys.executable, "-m", "nasforge", "search", "--benchmark", "nb201", "--benchmark-file", str(nb201_csv),
         "--strategy", strategy, "--trials", "600", "--storage", str(db), "--name", name, "--json"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for name, strategy in (("a", "random"), ("b", "evolution"))}
    outs = {name: p.communicate(timeout=240) for name, p in procs.items()}
    for name, p in procs.items():
        assert p.returncode == 0, outs[name][1]
        assert json.loads(outs[name][0])["trials"] == 600
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        for name in ("a", "b"):
            numbers = [r[0] for r in con.execute(
                "SELECT t.number FROM trials t JOIN experiments e ON e.id = t.experiment_id "
                "WHERE e.name = ? AND t.status = 'ok' ORDER BY t.number", (name,))]
            assert numbers == list(range(600))
        # the two searches really wrote at the same time: their trials interleave in time
        spans = {name: con.execute("SELECT MIN(t.finished), MAX(t.finished) FROM trials t JOIN experiments e "
                                   "ON e.id = t.experiment_id WHERE e.name = ?", (name,)).fetchone()
                 for name in ("a", "b")}
        assert spans["a"][0] < spans["b"][1] and spans["b"][0] < spans["a"][1], spans
    finally:
        con.close()


def test_trial_timeout_from_the_cli_marks_trials_timeout_and_the_search_ends(tmp_path):
    db = tmp_path / "t.db"
    # 3 epochs of real training cannot finish in 0.3 s: every trial times out, and the search still ends
    res = run_cli("search", "--dataset", "digits", "--strategy", "random", "--trials", "3", "--epochs", "30",
                  "--channels", "8", "--cells", "1", "--trial-timeout", "0.3", "--storage", str(db), "--name", "t",
                  "--json", cwd=tmp_path, timeout=120)
    # no trial succeeded: the summary is still printed, the command exits 1 with the first error
    assert res.returncode == 1, res.stderr
    assert "all 3 trials failed" in res.stderr and "timeout of 0.3 s" in res.stderr
    out = json.loads(res.stdout)
    assert out["trials"] == 3 and out["failed"] == 3 and out["best"] is None
    con = sqlite3.connect(db)
    rows = con.execute("SELECT status, error, cost FROM trials").fetchall()
    con.close()
    assert len(rows) == 3 and all(s == "timeout" and "timeout of 0.3 s" in e and c >= 0.3 for s, e, c in rows), rows


def test_nan_losses_fail_the_trial_and_the_search_goes_on(tmp_path):
    # a learning rate of 1e9 drives every loss to inf/NaN within a few steps
    spec = make_spec(dataset="digits", strategy="random", trials=2, seed=0,
                     train={"epochs": 1, "lr": 1e9, "max_train": 200, "model": {"channels": 4, "cells_per_stage": 1}})
    store = Store(tmp_path / "nan.db")
    store.create_experiment("n", spec)
    summary = Runner(build_experiment(spec, "n"), store).run()
    assert summary.trials == 2 and summary.failed == 2 and summary.best is None
    rows = [(t.status, t.error or "") for t in store.trials(store.get_experiment("n").id)]
    assert all(s == "failed" and ("nan" in e.lower() or "inf" in e.lower()) for s, e in rows), rows


def test_bad_execution_options_are_one_line_errors(tmp_path):
    res = run_cli("search", "--benchmark", "nb201", "--trials", "2", "--executor", "inline", "--trial-timeout", "5",
                  "--storage", str(tmp_path / "x.db"), cwd=tmp_path)
    assert res.returncode == 2 and "needs --executor process or ray" in res.stderr
    res = run_cli("search", "--benchmark", "nb201", "--trials", "2", "--workers", "0",
                  "--storage", str(tmp_path / "x.db"), cwd=tmp_path)
    assert res.returncode == 2 and "--workers must be >= 1" in res.stderr
