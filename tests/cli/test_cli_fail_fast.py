"""Bad settings are refused before the store row and before trial 0: exit 2 and one clear line.

Most cases run the CLI in-process (click's test runner) to keep the suite fast; one case runs the real
``python -m nasforge`` process, and one checks that a search whose every trial fails exits 1.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import run_cli

from nasforge.cli.main import cli

TINY = ["--trials", "1", "--epochs", "1", "--max-train", "64"]


def _invoke(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    db = str(tmp_path / "x.db")
    res = CliRunner().invoke(cli, ["search", "--storage", db, *args])
    stored = _experiments(db)
    assert stored == [], f"a refused search left experiments {stored}"
    return res.exit_code, res.stdout, res.stderr


def _experiments(db: str) -> list[str]:
    if not Path(db).exists():
        return []
    with sqlite3.connect(db) as con:
        try:
            return [r[0] for r in con.execute("SELECT name FROM experiments")]
        except sqlite3.OperationalError:
            return []


@pytest.mark.parametrize("args, fragment", [
    # space / data compatibility (nb201 on tabular data used to give "2 (2 failed)" and exit 0)
    (["--dataset", "breast-cancer", "--trials", "2", "--epochs", "1"],
     "space 'nb201' builds networks for image data, but dataset 'breast-cancer' holds tabular (30 features)"),
    (["--space", "mlp", "--dataset", "digits", *TINY], "space 'mlp' builds networks for tabular data"),
    # constraints no architecture can meet: say the smallest value
    (["--dataset", "digits", "--trials", "10", "--epochs", "3", "--max-params", "50k"],
     "the smallest network of the space at these settings has 73,018 parameters"),
    (["--space", "mlp", "--dataset", "iris", "--max-params", "50", *TINY], "has 131 parameters"),
    # non-positive or non-finite settings
    (["--dataset", "digits", "--channels", "0", *TINY], "model setting channels must be an integer >= 1, but got 0"),
    (["--dataset", "digits", "--trials", "1", "--max-train", "0"], "max_train must be an integer >= 2, but got 0"),
    (["--dataset", "digits", "--trials", "1", "--epochs", "0"], "epochs must be an integer >= 1, but got 0"),
    (["--dataset", "digits", "--trials", "1", "--batch-size", "-3"], "batch_size must be an integer >= 1"),
    (["--dataset", "digits", "--trials", "1", "--lr", "nan"], "lr must be a finite number, but got nan"),
    (["--dataset", "digits", "--trials", "1", "--lr", "0"], "lr must be > 0, but got 0"),
    (["--dataset", "digits", "--trials", "1", "--threads", "0"], "threads must be an integer >= 1"),
    (["--benchmark", "nb201", "--budget-seconds", "nan"], "budget seconds must be a finite number > 0, but got nan"),
    (["--benchmark", "nb201", "--budget-seconds", "inf"], "must be a finite number > 0, but got inf"),
    (["--benchmark", "nb201", "--budget-seconds", "0"], "seconds must be a finite number > 0, but got 0"),
    (["--benchmark", "nb201", "--budget-seconds", "-1"], "seconds must be a finite number > 0, but got -1"),
    (["--benchmark", "nb201", "--wall-seconds", "nan"], "budget wall_seconds must be a finite number > 0, but got nan"),
    (["--benchmark", "nb201", "--trials", "0"], "budget trials must be a finite number > 0, but got 0"),
    (["--benchmark", "nb201", "--trials", "5", "--seed", "-1"], "seed must be an integer >= 0, but got -1"),
    # data files that do not exist or cannot be read, named with their path
    (["--dataset", "./d.csv", *TINY], "dataset file ./d.csv does not exist"),
    (["--dataset", "missing.npz", *TINY], "dataset file missing.npz does not exist"),
])
def test_refused_before_any_trial(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str],
                                  fragment: str) -> None:
    monkeypatch.chdir(tmp_path)  # relative data paths resolve there
    code, out, err = _invoke(tmp_path, *args)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, (out, err)
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert fragment in lines[0]
    assert "search result" not in out


def test_unreadable_npz_is_refused_with_its_path(tmp_path: Path) -> None:
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"this is not a zip archive")
    code, _, err = _invoke(tmp_path, "--dataset", str(bad), *TINY)
    assert code == 2 and f"cannot read {bad} as a .npz file" in err


def test_unreadable_file_permissions(tmp_path: Path) -> None:
    f = tmp_path / "locked.npz"
    np.savez(f, x_train=np.zeros((4, 3)), y_train=np.array([0, 1, 0, 1]))
    f.chmod(0)
    try:
        if f.open("rb").readable():  # root reads anything: nothing to test
            pytest.skip("running as root: file permissions do not stop reads")
    except PermissionError:
        pass
    try:
        code, _, err = _invoke(tmp_path, "--space", "mlp", "--dataset", str(f), *TINY)
    finally:
        f.chmod(0o644)
    assert code == 2 and "cannot be read" in err and str(f) in err


def test_cli_process_negative_seed_exit_2_and_no_experiment(tmp_path: Path) -> None:
    """As a user runs it: a negative seed used to give a traceback and leave an undeletable experiment."""
    db = tmp_path / "x.db"
    out = run_cli("search", "--dataset", "digits", "--seed", "-1", *TINY, "--storage", str(db), cwd=tmp_path)
    assert out.returncode == 2, out.stderr
    assert out.stderr.strip() == "error: seed must be an integer >= 0, but got -1"
    assert _experiments(str(db)) == []


def test_all_trials_failing_exits_1_with_the_first_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A learning rate of 1e30 passes every check but makes the loss NaN in every trial at run time."""
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    if True:
        args = ["--storage", "x.db", "--space", "mlp", "--dataset", "iris", "--trials", "2", "--epochs", "1",
                "--lr", "1e30", "--name", "boom"]
        res = runner.invoke(cli, ["search", *args])
        assert res.exit_code == 1, (res.stdout, res.stderr)
        assert "all 2 trials failed; the first (trial 0) failed with: loss became nan" in res.stderr
        assert "nasforge trials boom --storage x.db" in res.stderr
        again = runner.invoke(cli, ["resume", "boom", "--storage", "x.db", "--trials", "3"])
        assert again.exit_code == 1 and "all 3 trials failed" in again.stderr
        ok = runner.invoke(cli, ["search", *args[:-4], "--lr", "0.05", "--name", "fine"])
        assert ok.exit_code == 0, ok.stderr


def test_resume_with_a_bad_budget_is_refused(tmp_path: Path) -> None:
    db = str(tmp_path / "r.db")
    runner = CliRunner()
    first = runner.invoke(cli, ["search", "--space", "mlp", "--dataset", "iris", "--trials", "1", "--epochs", "1",
                                "--storage", db, "--name", "e"])
    assert first.exit_code == 0, first.output
    for args, fragment in ((["--budget-seconds", "nan"], "budget seconds must be a finite number > 0, but got nan"),
                           (["--trials", "0"], "budget trials must be an integer >= 1, but got 0")):
        res = runner.invoke(cli, ["resume", "e", "--storage", db, *args])
        assert res.exit_code == 2 and fragment in res.stderr, res.output


@pytest.mark.parametrize("args, fragment", [(["--lr", "nan"], "lr must be a finite number, but got nan"),
                                            (["--seed", "-1"], "seed must be an integer >= 0, but got -1"),
                                            (["--max-train", "1"], "max_train must be an integer >= 2, but got 1")])
def test_train_command_refuses_bad_settings(args: list[str], fragment: str) -> None:
    res = CliRunner().invoke(cli, ["train", "--arch", "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", *args])
    assert res.exit_code == 2 and fragment in res.stderr, res.output
