"""``nasforge search --strategy <one-shot>``: JSON result, checkpoint folder, resume, error messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_cli

from nasforge.spaces import get_space

ARGS = ["search", "--space", "nb201", "--strategy", "gdas", "--dataset", "digits", "--epochs", "2", "--channels", "2",
        "--max-train", "300", "--param", "max_steps_per_epoch=4", "--storage", "runs.db", "--name", "g"]


@pytest.mark.slow
def test_oneshot_search_json_checkpoint_and_resume(tmp_path: Path) -> None:
    first = run_cli(*ARGS, "--json", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    data = json.loads(first.stdout)
    arch = get_space("nb201").parse(data["arch"])  # the official NB201 string, ready for `nasforge train`
    assert get_space("nb201").to_string(arch) == data["arch"]
    assert data["resumed_from_epoch"] == 0 and data["epochs"] == 2
    folder = tmp_path / "runs.oneshot" / "g"
    assert (folder / "checkpoint.pt").is_file()
    history = json.loads((folder / "history.json").read_text())["history"]
    assert [h["epoch"] for h in history] == [1, 2] and len(history[0]["alphas"]["normal"]) == 6
    again = run_cli("resume", "g", "--storage", "runs.db", "--json", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    redo = json.loads(again.stdout)
    assert redo["resumed_from_epoch"] == 2 and redo["arch"] == data["arch"]
    changed = run_cli(*[a if a != "2" else "3" for a in ARGS], cwd=tmp_path)
    assert changed.returncode == 2 and "other settings" in changed.stderr


@pytest.mark.slow
def test_unknown_strategy_lists_black_box_and_one_shot(tmp_path: Path) -> None:
    out = run_cli("search", "--strategy", "dartz", "--dataset", "digits", cwd=tmp_path)
    assert out.returncode == 2
    assert "darts2" in out.stderr and "spos" in out.stderr and "evolution" in out.stderr
    bad = run_cli("search", "--strategy", "darts", "--benchmark", "nb201", cwd=tmp_path)
    assert bad.returncode == 2 and "--benchmark" in bad.stderr
