"""Malformed benchmark CSVs and unusable cost budgets fail at once, naming file, line and column."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from nasforge.cli import cli
from nasforge.errors import BenchmarkDataError
from nasforge.evaluators.tabular import load_table

A = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
B = A.replace("avg_pool_3x3~1", "none~1")
C = A.replace("skip_connect~2", "none~2")
HEAD = "arch_str,c10_valid_acc_12,c10valid_train_time_200ep_s,notes\n"


def _write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "bench.csv"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


# (file contents, fragments the one-line error must contain)
BAD_FILES = {
    "duplicate arch_str": (HEAD + f"{A},80,100,x\n{B},81,100,y\n{A},82,100,z\n",
                           ["line 4", "column 'arch_str'", "already on line 2"]),
    "negative cost": (HEAD + f"{A},80,100,x\n{B},81,-5,y\n", ["line 3", "'c10valid_train_time_200ep_s'", "-5"]),
    "NaN cost": (HEAD + f"{A},80,100,x\n{B},81,,y\n{C},82,nan,z\n", ["line 3", "'c10valid_train_time_200ep_s'",
                                                                     "nan", "2 such cell"]),
    "non-numeric metric": (HEAD + f"{A},80,100,x\n{B},81.5%,100,y\n", ["line 3", "column 'c10_valid_acc_12'",
                                                                      "'81.5%' is not a number"]),
    "non-UTF-8 bytes": ((HEAD + f"{A},80,100,x\n").encode() + f"{B},81,100,caf".encode() + b"\xe9\n",
                        ["line 3", "column 'notes'", "not UTF-8"]),
    "short row": (HEAD + f"{A},80,100,x\n{B},81\n", ["line 3", "2 cells", "4 columns",
                                                     "'c10valid_train_time_200ep_s' onwards is missing"]),
    "long row": (HEAD + f"{A},80,100,x,extra\n", ["line 2", "5 cells", "extra cells after column 'notes'"]),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_malformed_file_names_file_line_and_column(tmp_path, case) -> None:
    text, fragments = BAD_FILES[case]
    path = _write(tmp_path, text)
    with pytest.raises(BenchmarkDataError) as err:
        load_table(str(path))
    msg = str(err.value)
    assert str(path) in msg
    for fragment in fragments:
        assert fragment in msg, (fragment, msg)


@pytest.mark.parametrize("case", ["duplicate arch_str", "non-numeric metric", "non-UTF-8 bytes", "short row",
                                  "negative cost"])
def test_cli_exits_2_with_one_line_before_any_trial(tmp_path, case) -> None:
    text, fragments = BAD_FILES[case]
    path = _write(tmp_path, text)
    db = tmp_path / "x.db"
    res = CliRunner().invoke(cli, ["search", "--benchmark", "nb201", "--benchmark-file", str(path), "--trials", "5",
                                   "--storage", str(db)])
    assert res.exit_code == 2, res.output
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragments[0] in lines[0], res.output
    assert not db.exists()  # nothing was created, let alone run


def test_text_columns_blank_lines_and_empty_metric_cells_are_fine(tmp_path) -> None:
    path = _write(tmp_path, HEAD + f"{A},80,100,first\n\n{B},,0,second\n")
    table = load_table(str(path))
    assert "notes" not in table.columns and table.arch_strs == [A, B]
    assert table.columns["c10_valid_acc_12"][0] == 80 and table.lines == [2, 4]


SIGNAL = ("--signal", "c10_valid_acc_12")  # these small tables have no 200-epoch column
COST_HEAD = "arch_str,c10_valid_acc_12,c10valid_train_time_200ep_s\n"


@pytest.mark.parametrize("text, fragment", [
    ("arch_str,c10_valid_acc_12\n" + f"{A},80\n{B},81\n", "has no cost column 'c10valid_train_time_200ep_s'"),
    (COST_HEAD + f"{A},80,0\n{B},81,0\n", "zero everywhere"),
    (COST_HEAD + f"{A},80,\n{B},81,\n", "cost must be a number >= 0"),
])
def test_seconds_budget_without_usable_costs_fails_before_any_trial(tmp_path, text, fragment) -> None:
    path = _write(tmp_path, text)
    db = tmp_path / "x.db"
    res = CliRunner().invoke(cli, ["search", "--benchmark", "nb201", "--benchmark-file", str(path), *SIGNAL,
                                   "--budget-seconds", "12000", "--storage", str(db)])
    assert res.exit_code == 2 and fragment in res.output, res.output
    assert not db.exists()
    res = CliRunner().invoke(cli, ["compare", "--strategies", "random", "--seeds", "1", "--benchmark-file", str(path),
                                   *SIGNAL, "--budget-seconds", "12000"])
    assert res.exit_code == 2 and fragment in res.output, res.output


def test_a_trial_budget_needs_no_costs(tmp_path) -> None:
    path = _write(tmp_path, "arch_str,c10_valid_acc_12\n" + f"{A},80\n{B},81\n")
    res = CliRunner().invoke(cli, ["search", "--benchmark", "nb201", "--benchmark-file", str(path), "--trials", "3",
                                   *SIGNAL, "--storage", str(tmp_path / "x.db")])
    # not refused for the missing cost column: the search runs (cells outside the 2-row table fail as trials)
    assert res.exit_code in (0, 1) and "cost" not in res.output, res.output
    assert "trials" in res.output


@pytest.mark.parametrize("budget", ["nan", "inf", "0", "-5"])
def test_seconds_budget_must_be_finite_and_positive(tmp_path, budget) -> None:
    db = tmp_path / "x.db"
    res = CliRunner().invoke(cli, ["search", "--benchmark", "nb201", "--budget-seconds", budget,
                                   "--storage", str(db)])
    assert res.exit_code == 2 and "budget seconds must be a finite number > 0" in res.output, res.output
    assert not db.exists()
