"""Experiment names are not paths: the cached final model of ``nasforge export`` stays in ``DB.models/``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from nasforge.cli.main import cli

SEARCH = ["search", "--space", "mlp", "--dataset", "iris", "--strategy", "random", "--trials", "1", "--epochs", "2"]


@pytest.mark.parametrize("name", ["../../pwned", "n" * 300])
def test_export_writes_inside_models_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    runner = CliRunner()
    res = runner.invoke(cli, [*SEARCH, "--storage", "runs.db", "--name", name, "--json"])
    assert res.exit_code == 0, res.output
    before = {p for p in tmp_path.rglob("*")}
    out = runner.invoke(cli, ["export", name, "--storage", "runs.db", "--format", "state_dict", "--out", "m.pt",
                              "--json"])
    assert out.exit_code == 0, out.output
    cached = Path(json.loads(out.stdout)["cached_model"]).resolve()
    models = (work / "runs.db.models").resolve()
    assert cached.parent == models and cached.is_file() and len(cached.name) < 120
    new = {p.resolve() for p in tmp_path.rglob("*")} - {p.resolve() for p in before}
    outside = [p for p in new if models not in p.parents and p != models and p != (work / "m.pt").resolve()
               and p.name != "m.pt.json"]
    assert outside == [], outside
    again = runner.invoke(cli, ["export", name, "--storage", "runs.db", "--format", "state_dict", "--out", "m2.pt",
                                "--json"])
    assert again.exit_code == 0 and json.loads(again.stdout)["trained"] is False  # found the cached model again
