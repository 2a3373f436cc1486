"""NAS-Bench-Graph benchmarks: the cached table, look-ups, protocol columns, searches and compare."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("nas_bench_graph", reason="nas-bench-graph==1.4.0 not installed (extra 'graph')")

import nasforge as nf  # noqa: E402
from nasforge.api import BENCHMARKS  # noqa: E402
from nasforge.compare import compare  # noqa: E402
from nasforge.errors import InvalidConfigError  # noqa: E402
from nasforge.evaluators.nbgraph import NBGRAPH_DATASETS, NBGraphBenchmark, load_nbgraph_table  # noqa: E402
from nasforge.spaces import get_space  # noqa: E402


@pytest.fixture(autouse=True)
def cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NASFORGE_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "nbgraph-cache"))


def test_table_matches_the_package_and_is_cached_without_pickle() -> None:
    from nas_bench_graph import Arch, light_read

    table = load_nbgraph_table("citeseer")
    raw = light_read("citeseer")
    assert len(table["hash"]) == len(raw) == 26206
    h = int(Arch([0, 1, 2, 1], ["gcn", "gin", "fc", "cheb"]).valid_hash())
    i = int(np.searchsorted(table["hash"], h))
    assert table["test_acc"][i] == pytest.approx(100 * raw[h]["perf"])
    assert table["valid_acc"][i] == pytest.approx(100 * raw[h]["valid_perf"])
    again = load_nbgraph_table("citeseer")  # from the npz cache now
    np.testing.assert_array_equal(again["valid_acc"], table["valid_acc"])


def test_every_dataset_is_a_benchmark() -> None:
    assert {f"nbgraph-{d}" for d in NBGRAPH_DATASETS} <= set(BENCHMARKS.names())


def test_lookup_protocol_and_optimum() -> None:
    space = get_space("nbgraph")
    bench = NBGraphBenchmark(space, "cora")
    res = bench.evaluate(space.parse("0,1,2,1|gcn,gin,fc,cheb"))
    assert res.ok and res.cost == 1.0
    assert set(res.metrics) == {"val_acc", "valid_acc", "latency_s", "params_M"}
    assert set(res.hidden) == {"test_acc"}  # test accuracy only as the hidden report
    arch, value = bench.optimum("valid_acc")
    assert value == pytest.approx(bench.table["valid_acc"].max())
    assert bench.evaluate(space.parse(arch)).metrics["valid_acc"] == pytest.approx(value)
    with pytest.raises(InvalidConfigError, match="test column"):
        NBGraphBenchmark(space, "cora", signal="test_acc")
    with pytest.raises(InvalidConfigError, match="nbgraph-proteins"):
        NBGraphBenchmark(space, "proteins")


def test_search_and_compare_on_a_table() -> None:
    s = nf.search(space="nbgraph", benchmark="nbgraph-pubmed", strategy="evolution", trials=30, seed=0,
                  in_memory=True)
    assert s.trials == 30 and s.cost_seconds == pytest.approx(30.0)
    data = compare(["random", "local"], [0, 1], space="nbgraph", benchmark="nbgraph-cora", trials=20,
                   report="valid_acc")
    for runs in data["results"].values():
        for r in runs:
            assert r["queries"] == 20 and r["report"] == pytest.approx(r["signal"])
            assert get_space("nbgraph").package_hash(r["best_arch"]) > 0


def test_latency_and_params_are_objectives_for_multi_objective_search() -> None:
    s = nf.search(space="nbgraph", benchmark="nbgraph-photo", strategy="nsga2", trials=30, seed=0, in_memory=True,
                  objectives="val_acc:max,latency_s:min")
    assert s.trials == 30 and s.pareto
    assert all("latency_s" in t.metrics and "test_acc" not in t.metrics for t in s.pareto)
