"""Multi-objective and constrained searches: strategies, the cost wrapper, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli

from nasforge.api import build_experiment, make_spec, search
from nasforge.errors import InvalidConfigError, UnknownNameError
from nasforge.hardware import CostEvaluator, hardware_constraints, parse_count
from nasforge.pareto import hypervolume_2d
from nasforge.runner import Runner
from nasforge.strategies import STRATEGIES

OBJ = "c10_valid_acc_12:max,pixel3:min"


def _front_hv(summary) -> float:  # type: ignore[no-untyped-def]
    pts = [[t.metrics["c10_valid_acc_12"], -t.metrics["pixel3"]] for t in summary.pareto]
    return hypervolume_2d(pts, (60.0, -40.0))


@pytest.mark.parametrize("name", ["nsga2", "mo_random", "parego"])
def test_multi_objective_strategies_are_registered_as_such(name: str) -> None:
    assert STRATEGIES.get(name).multi_objective


def test_nsga2_front_beats_random_on_nb201(nb201_csv: Path) -> None:
    """Same budget, same seeds: NSGA-II's front dominates more area than random sampling's."""
    hv: dict[str, list[float]] = {"nsga2": [], "mo_random": []}
    for name, values in hv.items():
        for seed in range(3):
            s = search(space="nb201", benchmark="nb201", strategy=name, trials=150, seed=seed, objectives=OBJ,
                       in_memory=True)
            assert s.to_json()["pareto"], "a multi-objective --json must list the front"
            values.append(_front_hv(s))
    assert np.mean(hv["nsga2"]) > np.mean(hv["mo_random"])


def test_latency_constraint_on_table_only_feasible_results(nb201_csv: Path) -> None:
    for strategy in ("nsga2", "evolution", "parego"):
        s = search(space="nb201", benchmark="nb201", strategy=strategy, trials=20 if strategy == "parego" else 40,
                   seed=1, in_memory=True,
                   objectives=OBJ if strategy != "evolution" else None, constraints={"pixel3": 8.0})
        assert s.best is not None and s.best.metrics["pixel3"] <= 8.0
        for t in s.pareto:
            assert t.metrics["pixel3"] <= 8.0


def test_flops_constraint_wraps_table_with_cost_evaluator(nb201_csv: Path) -> None:
    spec = make_spec(space="nb201", benchmark="nb201", strategy="random", trials=12, seed=0,
                     constraints=hardware_constraints(max_flops="100M"))
    assert spec["evaluator"]["hardware"] == {"metrics": ["flops_M"]}
    assert spec["evaluator"]["extra"] == []
    exp = build_experiment(spec, "flops")
    assert isinstance(exp.evaluator, CostEvaluator)
    summary = Runner(exp, None).run()
    assert summary.best is not None and summary.best.metrics["flops_M"] <= 100.0


def test_hardware_constraint_parsing() -> None:
    assert parse_count("200k") == 200_000.0 and parse_count("1.5M") == 1_500_000.0
    assert hardware_constraints(max_params="0.5M", max_latency_ms=5.0) == {"params_M": 0.5, "latency_ms": 5.0}
    assert hardware_constraints(max_latency_ms=5.0, latency_column="lut") == {"latency_lut_ms": 5.0}
    with pytest.raises(InvalidConfigError, match="latency-column"):
        hardware_constraints(max_latency_ms=5.0, benchmark=True)
    with pytest.raises(InvalidConfigError, match="k/M/G"):
        parse_count("lots")
    with pytest.raises(InvalidConfigError):
        hardware_constraints(latency_column="pixel3")
    with pytest.raises(UnknownNameError):
        CostEvaluator(object(), None, metrics=["latency_s"], input_shape=(1,), model_kwargs={})  # type: ignore[arg-type]


def test_cli_latency_column_and_pareto_plot(nb201_csv: Path, tmp_path: Path) -> None:
    db = str(tmp_path / "runs.db")
    out = run_cli("search", "--benchmark", "nb201", "--strategy", "nsga2", "--trials", "60", "--objectives", OBJ,
                  "--max-latency-ms", "12", "--latency-column", "pixel3", "--storage", db, "--name", "mo",
                  "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["pareto"] and all(p["metrics"]["pixel3"] <= 12.0 for p in data["pareto"])
    png = tmp_path / "front.png"
    out = run_cli("pareto", "mo", "--storage", db, "--plot", str(png), "--json")
    assert out.returncode == 0, out.stderr
    front = json.loads(out.stdout)
    assert png.stat().st_size > 1000 and png.read_bytes()[:4] == b"\x89PNG"
    assert sorted(p["arch"] for p in front["pareto"]) == sorted(p["arch"] for p in data["pareto"])
    assert front["feasible"] < front["evaluated"]  # some evaluated archs broke the 12 ms limit
    # a benchmark needs to be told which latency; the error says how
    bad = run_cli("search", "--benchmark", "nb201", "--trials", "5", "--max-latency-ms", "12", "--storage", db)
    assert bad.returncode == 2 and "--latency-column" in bad.stderr
    single = run_cli("search", "--benchmark", "nb201", "--trials", "5", "--storage", db, "--name", "one")
    assert single.returncode == 0
    bad = run_cli("pareto", "one", "--storage", db)
    assert bad.returncode == 2 and "at least 2 objectives" in bad.stderr
    ok = run_cli("pareto", "one", "--storage", db, "--objectives", "val_acc:max,params_M:min")
    assert ok.returncode == 0, ok.stderr


@pytest.mark.slow
def test_constrained_real_training_returns_only_feasible(tmp_path: Path) -> None:
    """Acceptance 3: --max-params on digits; over-limit networks are never trained nor returned."""
    db = str(tmp_path / "train.db")
    limit = 8_000
    out = run_cli("search", "--space", "nb201", "--dataset", "digits", "--strategy", "random", "--trials", "6",
                  "--epochs", "1", "--channels", "4", "--cells", "1", "--max-train", "300", "--max-params", "8k",
                  "--seed", "3", "--storage", db, "--name", "small", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["best"] is not None and data["best"]["metrics"]["params_M"] * 1e6 <= limit
    from nasforge.api import open_store

    with open_store(db) as store:
        trials = store.trials(store.get_experiment("small").id)
    skipped = [t for t in trials if t.status == "failed" and "infeasible" in (t.error or "")]
    trained = [t for t in trials if t.status == "ok"]
    assert skipped and trained, [(t.status, t.metrics.get("params_M")) for t in trials]
    assert all(t.metrics["params_M"] * 1e6 > limit and "val_acc" not in t.metrics for t in skipped)
    assert all(t.metrics["params_M"] * 1e6 <= limit for t in trained)
