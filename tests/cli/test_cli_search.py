"""The CLI as a user runs it: JSON shapes, status/best/resume, and clear errors with exit code 2."""

from __future__ import annotations

import json

import pytest
from conftest import run_cli


def test_search_json_and_store_commands(tmp_path, nb201_csv) -> None:
    db = str(tmp_path / "r.db")
    out = run_cli("search", "--space", "nb201", "--benchmark", "nb201", "--strategy", "evolution", "--trials", "50",
                  "--seed", "0", "--storage", db, "--name", "e1", "--json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["trials"] == 50
    assert data["best"]["arch"].startswith("|") and "c10_valid_acc_12" in data["best"]["metrics"]
    assert "c10_test_acc_200" in data["best"]["metrics"]  # the user sees the report; strategies never do
    again = run_cli("search", "--benchmark", "nb201", "--trials", "50", "--storage", db, "--name", "e1", "--json",
                    cwd=tmp_path)
    assert again.returncode == 2 and "already exists" in again.stderr and "nasforge resume e1" in again.stderr
    best = json.loads(run_cli("best", "e1", "--storage", db, "--json", cwd=tmp_path).stdout)
    assert best["best"]["arch"] == data["best"]["arch"]
    st = json.loads(run_cli("status", "--storage", db, "--json", cwd=tmp_path).stdout)
    assert st["experiments"][0]["name"] == "e1" and st["experiments"][0]["trials"] == {"ok": 50}
    res = run_cli("resume", "e1", "--storage", db, "--trials", "60", "--json", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["trials"] == 60


def test_same_seed_gives_same_result(tmp_path, nb201_csv) -> None:
    outs = [json.loads(run_cli("search", "--benchmark", "nb201", "--strategy", "evolution", "--trials", "40",
                               "--seed", "9", "--storage", str(tmp_path / f"{i}.db"), "--json").stdout)
            for i in range(2)]
    assert outs[0]["best"] == outs[1]["best"]


@pytest.mark.parametrize("args, fragment", [
    (["search", "--space", "nb202", "--benchmark", "nb201"], "unknown space 'nb202'; did you mean 'nb201'?"),
    (["search", "--strategy", "evolutoin", "--benchmark", "nb201"], "did you mean 'evolution'?"),
    (["search", "--dataset", "digts"], "unknown dataset 'digts'; did you mean 'digits'?"),
    (["search", "--benchmark", "nb2"], "unknown benchmark 'nb2'"),
    (["train", "--arch", "|nor_conv_3x3~0|+|conv_9x9~0|none~1|+|none~0|none~1|none~2|"], "conv_9x9"),
    (["train", "--arch", "|nor_conv_3x3~0|+|none~0|"], "3 nodes"),
    (["search", "--benchmark", "nb201", "--benchmark-file", "/nonexistent/nb.csv"], "import-nb201"),
    (["search", "--benchmark", "nb201", "--signal", "c10_test_acc_200"], "test column"),
    (["search", "--benchmark", "nb201", "--param", "population_size=0"], "sample_size <= population_size"),
    (["search", "--benchmark", "nb201", "--param", "pop=3"], "has no parameter(s) ['pop']"),
    (["resume", "nothere"], "no experiment 'nothere'"),
    (["search", "--benchmark", "nb201", "--dataset", "digits"], "exactly one of"),
])
def test_bad_input_one_line_exit_2(tmp_path, args, fragment) -> None:
    out = run_cli(*args, "--storage", str(tmp_path / "x.db"), cwd=tmp_path) if args[0] in ("search", "resume") \
        else run_cli(*args, cwd=tmp_path)
    assert out.returncode == 2, (out.stdout, out.stderr)
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), out.stderr
    assert fragment in lines[0]


def test_missing_benchmark_data_says_where_it_comes_from(tmp_path) -> None:
    out = run_cli("search", "--benchmark", "nb201", "--storage", str(tmp_path / "x.db"), cwd=tmp_path,
                  env={"NASFORGE_NB201_DIR": str(tmp_path / "none"), "HOME": str(tmp_path)})
    # a data folder named by the variable must exist: no silent fallback to the packaged table
    assert out.returncode == 2 and "NASFORGE_NB201_DIR" in out.stderr and "ships with nasforge" in out.stderr
    out = run_cli("search", "--benchmark", "nb201", "--benchmark-file", str(tmp_path / "nb.csv"),
                  "--storage", str(tmp_path / "y.db"), cwd=tmp_path)
    assert out.returncode == 2 and "--benchmark-file" in out.stderr and "import-nb201" in out.stderr


def test_compare_json_shape(nb201_csv) -> None:
    out = run_cli("compare", "--strategies", "random,evolution", "--seeds", "5", "--trials", "30", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert set(data["results"]) == {"random", "evolution"}
    run = data["results"]["evolution"][0]
    assert run["seed"] == 0 and run["best_arch"].startswith("|") and 80 < run["report"] < 95
    assert data["optimum"]["report"] == pytest.approx(94.3733, abs=1e-3)
