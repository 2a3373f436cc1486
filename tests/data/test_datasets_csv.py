"""Tabular ``.csv`` files as datasets: numeric features, a target column of labels, clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import nasforge as nf
from nasforge.cli.main import cli
from nasforge.data import load_dataset
from nasforge.errors import InvalidConfigError, UnknownNameError


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_text(text, encoding=encoding)
    return path


def _table(path: Path, n: int = 60, labels: tuple[str, ...] = ("cat", "dog", "eel"), sep: str = ",") -> Path:
    rng = np.random.default_rng(0)
    lines = [sep.join(["f1", "kind", "f2", "f3"])]
    for i in range(n):
        k = i % len(labels)
        f = rng.normal(size=3) + 3 * k
        lines.append(sep.join([f"{f[0]:.5f}", labels[k], f"{f[1]:.5f}", f"{f[2]:.5f}"]))
    return _write(path, "\n".join(lines) + "\n")


def test_csv_with_string_labels(tmp_path: Path) -> None:
    ds = load_dataset(str(_table(tmp_path / "t.csv")), target="kind")
    assert ds.classes == ("cat", "dog", "eel") and ds.input_shape == (3,)
    assert len(ds.y_train) == 48 and len(ds.y_test) == 12  # fixed stratified 20% test split
    assert np.bincount(ds.y_test).tolist() == [4, 4, 4]
    assert abs(float(ds.x_train.mean())) < 1e-5  # standardized with training statistics
    # the label follows its row: class "eel" rows have the largest features
    assert ds.x_train[ds.y_train == 2, 0].mean() > ds.x_train[ds.y_train == 0, 0].mean()


def test_integer_labels_sorted_numerically_and_other_delimiters(tmp_path: Path) -> None:
    ds = load_dataset(str(_table(tmp_path / "t.csv", labels=("10", "9", "2"), sep=";")), target="kind")
    assert ds.classes == ("2", "9", "10")
    tab = load_dataset(str(_table(tmp_path / "tab.csv", sep="\t")), target="kind")
    assert tab.input_shape == (3,)


@pytest.mark.parametrize("text, target, error, fragment", [
    ("a,b,y\n1,2,x\n3,4,z\n", None, InvalidConfigError, "needs the name of its label column (--target COLUMN"),
    ("a,b,y\n1,2,x\n3,4,z\n", "label", UnknownNameError, "unknown target column 'label'"),
    ("a,b,y\n1,2,x\n3,oops,z\n", "y", InvalidConfigError,
     "column 'b', row 2 (line 3) holds 'oops', which is not a number"),
    ("a,b,y\n1,,x\n3,4,z\n", "y", InvalidConfigError, "column 'b', row 1 (line 2) is empty"),
    ("a,b,y\n1,2,x\n3,4,x\n", "y", InvalidConfigError, "column 'y' holds a single class ('x')"),
    ("", "y", InvalidConfigError, "is empty"),
    ("a,b,y\n", "y", InvalidConfigError, "has a header but no data rows"),
    ("a,b,y\n1,2,x\n3,4\n", "y", InvalidConfigError, "row 2 (line 3) has 2 fields but the header has 3"),
    ("y\nx\nz\n", "y", InvalidConfigError, "no feature columns"),
    ("a,b,y\n1,2,x\n3,inf,z\n", "y", InvalidConfigError, "values must be finite"),
])
def test_csv_errors_name_the_problem(tmp_path: Path, text: str, target: str | None, error: type, fragment: str) -> None:
    path = _write(tmp_path / "bad.csv", text)
    with pytest.raises(error) as info:
        load_dataset(str(path), target=target)
    assert fragment in str(info.value) and str(path) in str(info.value)


def test_non_utf8_and_target_on_a_named_dataset(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("a,y\n1,caf\xe9\n2,b\n".encode("latin-1"))
    with pytest.raises(InvalidConfigError, match="is not UTF-8 text"):
        load_dataset(str(path), target="y")
    with pytest.raises(InvalidConfigError, match="applies to .csv datasets only"):
        load_dataset("iris", target="y")


def test_search_and_train_on_a_csv_through_api_and_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    csv = _table(tmp_path / "data.csv", n=90)
    summary = nf.search(space="mlp", dataset=str(csv), strategy="random", trials=2, in_memory=True,
                        train={"epochs": 3, "target": "kind"})
    assert summary.trials == 2 and summary.failed == 0 and summary.best.metrics["val_acc"] > 50
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    res = runner.invoke(cli, ["search", "--space", "mlp", "--dataset", "data.csv", "--target", "kind", "--trials", "1",
                              "--epochs", "1", "--storage", "r.db", "--json"])
    assert res.exit_code == 0, res.output
    arch = '{"layer.0.activation":"relu","layer.0.dropout":0,"layer.0.width":16,"layer.depth":1}'
    res = runner.invoke(cli, ["train", "--space", "mlp", "--arch", arch, "--dataset", "data.csv", "--target", "kind",
                              "--epochs", "2", "--json"])
    assert res.exit_code == 0, res.output
    missing = runner.invoke(cli, ["search", "--space", "mlp", "--dataset", "data.csv", "--trials", "1",
                                  "--storage", "r.db"])
    assert missing.exit_code == 2 and "--target COLUMN" in missing.stderr


def test_fit_command_reads_a_csv_with_target(tmp_path: Path) -> None:
    csv = _table(tmp_path / "data.csv", n=60)
    res = CliRunner().invoke(cli, ["fit", "--data", str(csv), "--target", "kind", "--max-trials", "1",
                                   "--time-budget", "5s", "--threads", "1", "--out", str(tmp_path / "fitted"),
                                   "--json"])
    assert res.exit_code == 0, res.output
    assert '"estimator": "TabularClassifier"' in res.stdout and '"test_samples": 12' in res.stdout
