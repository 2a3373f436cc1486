from __future__ import annotations

import pytest

from nasforge.errors import BenchmarkDataError, InvalidConfigError, UnknownNameError
from nasforge.evaluators.tabular import TabularBenchmark
from nasforge.spaces import get_space

KNOWN = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"


def test_paper_protocol_values(nb201_csv) -> None:
    space = get_space("nb201")
    bench = TabularBenchmark(space, nb201_csv)
    r = bench.evaluate(space.parse(KNOWN))
    assert r.is_ok
    assert r.metrics["val_acc"] == pytest.approx(82.834) == r.metrics["c10_valid_acc_12"]
    assert r.hidden == {"c10_test_acc_200": pytest.approx(93.66)}
    assert "c10_test_acc_200" not in r.metrics
    assert r.cost == pytest.approx(2169.641376 * 12 / 200)
    r200 = bench.evaluate(space.parse(KNOWN), fidelity=200)
    assert r200.metrics["val_acc"] == pytest.approx(90.769333) and r200.cost == pytest.approx(2169.641376)
    with pytest.raises(InvalidConfigError, match="available epochs"):
        bench.evaluate(space.parse(KNOWN), fidelity=50)


def test_other_datasets_and_latency_columns(nb201_csv) -> None:
    space = get_space("nb201")
    bench = TabularBenchmark(space, nb201_csv, dataset="cifar100", extra=["pixel3"])
    r = bench.evaluate(space.parse(KNOWN))
    assert r.metrics["val_acc"] == pytest.approx(57.8) and "pixel3" in r.metrics
    assert set(r.hidden) == {"c100_test_acc_200"}


def test_test_columns_cannot_be_the_signal(nb201_csv) -> None:
    with pytest.raises(InvalidConfigError, match="test column"):
        TabularBenchmark(get_space("nb201"), nb201_csv, signal="c10_test_acc_200")


def test_unknown_column_lists_valid_ones(nb201_csv) -> None:
    with pytest.raises(UnknownNameError, match="did you mean 'c10_valid_acc_12'"):
        TabularBenchmark(get_space("nb201"), nb201_csv, signal="c10_valid_acc_1")


def test_custom_file_and_missing_file(tmp_path) -> None:
    space = get_space("nb201")
    f = tmp_path / "mine.csv"
    f.write_text(f"arch_str,my_valid,my_test\n{KNOWN},70.5,71.0\n")
    bench = TabularBenchmark(space, f, signal="my_valid", report="my_test")
    r = bench.evaluate(space.parse(KNOWN))
    assert r.metrics["val_acc"] == 70.5 and r.hidden == {"my_test": 71.0} and r.cost == 0.0
    other = space.parse(KNOWN.replace("avg_pool_3x3~1", "none~1"))
    assert not bench.evaluate(other).is_ok
    with pytest.raises(BenchmarkDataError, match="--benchmark-file"):
        TabularBenchmark(space, tmp_path / "missing.csv")
