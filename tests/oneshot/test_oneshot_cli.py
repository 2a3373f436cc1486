"""One-shot searches are experiments: ``search --json`` shape, status/best/trials/report/export/resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_cli

from nasforge.spaces import get_space
from nasforge.storage import Store

ARGS = ["search", "--space", "nb201", "--strategy", "gdas", "--dataset", "digits", "--epochs", "2", "--channels", "2",
        "--max-train", "300", "--param", "max_steps_per_epoch=4", "--param", "eval_samples=100",
        "--storage", "runs.db", "--name", "g"]


@pytest.mark.slow
def test_oneshot_run_is_an_experiment(tmp_path: Path) -> None:
    first = run_cli(*ARGS, "--json", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    data = json.loads(first.stdout)
    # the same shape as a black-box search
    assert {"experiment", "status", "trials", "best", "objectives"} <= set(data)
    assert data["experiment"] == "g" and data["status"] == "finished" and data["trials"] == 2
    arch = get_space("nb201").parse(data["best"]["arch"])
    assert get_space("nb201").to_string(arch) == data["best"]["arch"] and "val_acc" in data["best"]["metrics"]
    with Store(tmp_path / "runs.db") as store:
        rec = store.get_experiment("g")
        trials = store.trials(rec.id)
    assert rec.spec["kind"] == "oneshot" and rec.status == "finished"
    assert [t.fidelity for t in trials] == [1.0, 2.0] and trials[-1].info["final"]
    weights = trials[0].info["arch_weights"]
    assert len(weights) == 6 and abs(sum(weights["1<-0"].values()) - 1.0) < 1e-3
    assert (tmp_path / trials[0].info["checkpoint"]).is_file()
    assert all(not t.hidden for t in trials)  # a one-shot search never sees test metrics
    folder = tmp_path / "runs.oneshot" / "g"
    assert [h["epoch"] for h in json.loads((folder / "history.json").read_text())["history"]] == [1, 2]

    best = run_cli("best", "g", "--storage", "runs.db", "--json", cwd=tmp_path)
    assert best.returncode == 0 and json.loads(best.stdout)["best"]["arch"] == data["best"]["arch"]
    status = run_cli("status", "--storage", "runs.db", "--json", cwd=tmp_path)
    assert json.loads(status.stdout)["experiments"][0]["strategy"] == "gdas"
    rep = run_cli("report", "g", "--storage", "runs.db", "--out", "rep", "--json", cwd=tmp_path)
    assert rep.returncode == 0, rep.stderr
    assert "arch_weights.png" in json.loads(rep.stdout)["files"]
    again = run_cli("resume", "g", "--storage", "runs.db", "--json", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["best"]["arch"] == data["best"]["arch"]
    twice = run_cli(*ARGS, cwd=tmp_path)
    assert twice.returncode == 2 and "already exists" in twice.stderr


@pytest.mark.slow
def test_unknown_strategy_lists_black_box_and_one_shot(tmp_path: Path) -> None:
    out = run_cli("search", "--strategy", "dartz", "--dataset", "digits", cwd=tmp_path)
    assert out.returncode == 2
    assert "darts2" in out.stderr and "spos" in out.stderr and "evolution" in out.stderr
    bad = run_cli("search", "--strategy", "darts", "--benchmark", "nb201", cwd=tmp_path)
    assert bad.returncode == 2 and "benchmark" in bad.stderr
