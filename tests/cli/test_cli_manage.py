"""``nasforge trials`` and ``delete``, and full architecture strings in every table."""

from __future__ import annotations

import csv
import json
import re
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, run_cli

sys.path.insert(0, str(ROOT / "tests" / "storage"))
from store_helpers import write_benchmark_csv  # noqa: E402

from nasforge.storage import Store  # noqa: E402

NARROW = {"COLUMNS": "60"}


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("manage")
    bench = write_benchmark_csv(folder / "bench.csv")
    db = folder / "m.db"
    out = run_cli("search", "--benchmark", "nb201", "--benchmark-file", str(bench), "--signal", "val_acc",
                  "--report", "test_acc", "--objectives", "val_acc:max,cost:min", "--strategy", "random",
                  "--trials", "12", "--storage", str(db), "--name", "m", "--json")
    assert out.returncode == 0, out.stderr
    return db, bench



def _cells_joined(text: str) -> str:
    return "".join(re.sub(r"[│┃]", "", line).replace(" ", "") for line in text.splitlines())


def test_trials_lists_every_trial_as_table_json_and_csv(store, tmp_path) -> None:
    db, _ = store
    out = run_cli("trials", "m", "--storage", str(db), "--json", "--csv", str(tmp_path / "t.csv"))
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["status"] == "finished" and data["hidden_metrics"] == ["test_acc"]
    rows = data["trials"]
    assert [r["number"] for r in rows] == list(range(12))
    for r in rows:
        assert r["status"] == "ok" and r["arch"].count("~") == 6 and r["fidelity"] is not None
        assert {"val_acc", "cost", "hidden:test_acc", "error", "started", "finished"} <= set(r)
        assert "test_acc" not in r  # a hidden metric is never unlabelled
    with open(tmp_path / "t.csv", newline="") as f:
        from_csv = list(csv.DictReader(f))
    assert [int(r["number"]) for r in from_csv] == list(range(12))
    assert [r["arch"] for r in from_csv] == [r["arch"] for r in rows]
    assert float(from_csv[3]["hidden:test_acc"]) == pytest.approx(rows[3]["hidden:test_acc"])

    table = run_cli("trials", "m", "--storage", str(db), env={"COLUMNS": "100"})
    assert table.returncode == 0 and "…" not in table.stdout
    joined = _cells_joined(table.stdout)
    assert all(r["arch"] in joined for r in rows)  # wrapped, never cut
    assert "test_acc(hidden)" in joined


def test_trial_detail_and_a_missing_trial(store) -> None:
    db, _ = store
    one = run_cli("trials", "m", "--storage", str(db), "--trial", "2", "--json")
    assert one.returncode == 0 and json.loads(one.stdout)["number"] == 2
    text = run_cli("trials", "m", "--storage", str(db), "--trial", "2")
    assert "no learning curve stored" in text.stdout
    missing = run_cli("trials", "m", "--storage", str(db), "--trial", "99")
    assert missing.returncode == 2 and "no trial 99" in missing.stderr


@pytest.mark.parametrize("command", [["best", "m"], ["pareto", "m"]])
def test_tables_wrap_architecture_strings_instead_of_cutting_them(store, command) -> None:
    db, _ = store
    out = run_cli(*command, "--storage", str(db), env=NARROW)
    assert out.returncode == 0, out.stderr
    assert "…" not in out.stdout
    data = json.loads(run_cli(*command, "--storage", str(db), "--json").stdout)
    archs = [r["arch"] for r in data["pareto"]] if command[0] == "pareto" else [data["best"]["arch"]]
    joined = _cells_joined(out.stdout)
    for arch in archs:
        assert arch in joined


def test_delete_asks_refuses_a_live_run_and_removes_everything(tmp_path, store) -> None:
    _, bench = store
    db = tmp_path / "d.db"
    for name in ("a", "b"):
        out = run_cli("search", "--benchmark", "nb201", "--benchmark-file", str(bench), "--signal", "val_acc",
                      "--strategy", "random", "--trials", "5", "--storage", str(db), "--name", name)
        assert out.returncode == 0, out.stderr
    no = run_cli_input(["delete", "a", "--storage", str(db)], "n\n")
    assert no.returncode == 1 and "nothing deleted" in no.stdout
    yes = run_cli_input(["delete", "a", "--storage", str(db)], "y\n")
    assert yes.returncode == 0 and "5 trial(s)" in yes.stdout
    with Store(db) as s:
        assert s.experiment_names() == ["b"]
        s.acquire_lease("b", "elsewhere.invalid:1:ab")  # a live runner on another host
        s.db.execute("UPDATE experiments SET heartbeat = ?", (time.time(),))
    busy = run_cli("delete", "b", "--storage", str(db), "--yes")
    assert busy.returncode == 2 and "being run by another process" in busy.stderr
    with Store(db) as s:
        s.release_lease(s.get_experiment("b").id, "elsewhere.invalid:1:ab", "finished")
    gone = run_cli("delete", "b", "--storage", str(db), "--yes")
    assert gone.returncode == 0, gone.stderr
    with Store(db) as s:
        assert s.experiment_names() == [] and s.db.execute("SELECT COUNT(*) FROM trials").fetchone()[0] == 0
    missing = run_cli("delete", "zz", "--storage", str(db), "--yes")
    assert missing.returncode == 2 and "no experiment 'zz'" in missing.stderr


def run_cli_input(args: list[str], text: str):
    import os
    import subprocess

    return subprocess.run([sys.executable, "-m", "nasforge", *args], input=text, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
