from __future__ import annotations

import pytest

from nasforge.errors import BenchmarkDataError
from nasforge.evaluators.nb201_import import import_nb201
from nasforge.evaluators.tabular import TabularBenchmark
from nasforge.spaces import get_space
from nasforge.spaces.nb201 import all_nb201_strings


class FakeAPI:
    """The subset of the official NATS-Bench topology API that the importer calls."""

    def __init__(self) -> None:
        self.archs = all_nb201_strings()[:50]

    def __len__(self) -> int:
        return len(self.archs)

    def arch(self, i: int) -> str:
        return self.archs[i]

    def get_more_info(self, i: int, dataset: str, hp: str, is_random: bool) -> dict:
        assert is_random is False
        base = {"cifar10-valid": 80.0, "cifar10": 90.0, "cifar100": 60.0, "ImageNet16-120": 30.0}[dataset]
        base += i / 100 + (5.0 if hp == "200" else 0.0)
        return {"valid-accuracy": base, "test-accuracy": base + 1, "train-all-time": 1000.0 + i}

    def get_cost_info(self, i: int, dataset: str) -> dict:
        return {"params": 0.1 + i / 1000, "flops": 1.0}


def test_import_writes_a_usable_table(tmp_path) -> None:
    path = import_nb201("unused", tmp_path, api=FakeAPI())
    space = get_space("nb201")
    bench = TabularBenchmark(space, path)
    arch = space.parse(all_nb201_strings()[7])
    r = bench.evaluate(arch)
    assert r.metrics["val_acc"] == pytest.approx(80.07) and r.hidden["c10_test_acc_200"] == pytest.approx(96.07)
    assert r.cost == pytest.approx(1007 * 12 / 200)


def test_import_without_api_package_or_file(tmp_path) -> None:
    with pytest.raises(BenchmarkDataError, match="not found"):
        import_nb201(tmp_path / "nope", tmp_path)
    (tmp_path / "src").mkdir()
    with pytest.raises(BenchmarkDataError, match="pip install nats_bench"):
        import_nb201(tmp_path / "src", tmp_path)
