"""The CLI on the issue-19 spaces: real training of nb101 cells, compare on NAS-Bench-Graph."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_cli


@pytest.mark.slow
def test_search_trains_nb101_cells_on_digits(tmp_path: Path) -> None:
    r = run_cli("search", "--space", "nb101", "--dataset", "digits", "--strategy", "random", "--trials", "2",
                "--epochs", "1", "--channels", "8", "--cells", "1", "--threads", "1", "--storage",
                str(tmp_path / "s.db"), "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["trials"] == 2 and out["failed"] == 0
    assert "/" in out["best"]["arch"] and out["best"]["params"] > 0  # the nb101 string form


def test_compare_on_nbgraph_names_best_archs(tmp_path: Path) -> None:
    pytest.importorskip("nas_bench_graph", reason="nas-bench-graph==1.4.0 not installed (extra 'graph')")
    # no --space: it follows the benchmark
    r = run_cli("compare", "--benchmark", "nbgraph-cora", "--strategies", "random,evolution",
                "--seeds", "2", "--trials", "10", "--json", env={"NASFORGE_CACHE_DIR": str(tmp_path)})
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    for runs in data["results"].values():
        assert all("|" in run["best_arch"] for run in runs)  # "link|ops", see NBGraphSpace.package_hash
