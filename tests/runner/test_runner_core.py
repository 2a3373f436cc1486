from __future__ import annotations

import math

import pytest

from nasforge.api import build_experiment, make_spec
from nasforge.arch import Architecture
from nasforge.errors import InvalidConfigError
from nasforge.evaluators.base import Objective, Observation, Result
from nasforge.runner import Budget, Experiment, Runner
from nasforge.spaces import get_space
from nasforge.storage import Store
from nasforge.strategies.base import Strategy


class FlakyEvaluator:
    """Raises on some architectures, returns NaN on others, else a value with a hidden test metric."""

    simulated_cost = True
    default_objective = "val_acc"
    report_metric = "test_acc"

    def __init__(self) -> None:
        self.calls = 0

    def evaluate(self, arch: Architecture, fidelity=None) -> Result:
        self.calls += 1
        if self.calls % 5 == 0:
            raise RuntimeError("simulated crash")
        if self.calls % 7 == 0:
            return Result.ok({"val_acc": math.nan}, cost=1.0)
        v = float(sum(op == "nor_conv_3x3" for op in arch.values()))
        return Result.ok({"val_acc": v}, hidden={"test_acc": 1000.0 + v}, cost=1.0)

    def describe(self) -> dict:
        return {"kind": "flaky"}


class SpyStrategy(Strategy):
    """Records everything it is told."""

    name = "spy"

    def __init__(self, space, *, seed: int = 0) -> None:
        super().__init__(space, seed=seed)
        self.told: list[tuple[Architecture, Observation]] = []

    def _ask(self, n, rng):
        return [self.space.sample(rng) for _ in range(n)]

    def _tell(self, arch, obs):
        self.told.append((arch, obs))


def _exp(strategy, evaluator, budget: Budget, name: str = "t") -> Experiment:
    space = strategy.space
    return Experiment(name, space, strategy, evaluator, (Objective("val_acc"),), budget, {"space": {"name": "nb201"}})


def test_failures_are_recorded_and_search_goes_on() -> None:
    space = get_space("nb201")
    strat = SpyStrategy(space)
    runner = Runner(_exp(strat, FlakyEvaluator(), Budget(trials=20)), Store(":memory:"))
    summary = runner.run()
    assert summary.trials == 20
    failed = [t for t in runner.records if t.status == "failed"]
    assert len(failed) == summary.failed >= 5
    assert any("simulated crash" in (t.error or "") for t in failed)
    assert any("not finite" in (t.error or "") for t in failed)
    assert len(strat.told) == 20 and sum(not o.ok for _, o in strat.told) == len(failed)


def test_strategies_never_receive_test_metrics(nb201_csv) -> None:
    """Everything a strategy is told, live or on resume, is free of hidden/test values."""
    space = get_space("nb201")
    store = Store(":memory:")
    strat = SpyStrategy(space)
    exp = _exp(strat, FlakyEvaluator(), Budget(trials=15))
    Runner(exp, store).run()
    fresh = SpyStrategy(space)
    Runner(_exp(fresh, FlakyEvaluator(), Budget(trials=15)), store).run()  # replays from the store
    for told in (strat.told, fresh.told):
        assert told
        for _, obs in told:
            assert all(v < 1000.0 for v in obs.values)
            assert all(v < 1000.0 for v in obs.metrics.values()) and "test_acc" not in obs.metrics
    # and with the real benchmark: the report column never reaches the strategy
    spec = make_spec(space="nb201", strategy="random", benchmark="nb201", trials=30, benchmark_file=str(nb201_csv))
    exp = build_experiment(spec, "real")
    spy = SpyStrategy(exp.space)
    exp.strategy = spy
    Runner(exp, None).run()
    assert all(not any("test" in k for k in o.metrics) for _, o in spy.told)


def test_trial_budget_and_cost_budget(nb201_csv) -> None:
    spec = make_spec(space="nb201", strategy="random", benchmark="nb201", budget_seconds=5000, seed=1,
                     benchmark_file=str(nb201_csv))
    store = Store(":memory:")
    store.create_experiment("b", spec)
    runner = Runner(build_experiment(spec, "b"), store)
    s = runner.run()
    assert s.cost_seconds <= 5000 and s.trials > 10
    # the query that would have overrun is stored as over budget, not counted
    trials = store.trials(store.get_experiment("b").id)
    over = [t for t in trials if t.status == "over_budget"]
    assert len(over) == 1 and s.cost_seconds + over[0].cost > 5000
    assert len(trials) == s.trials + 1
    with pytest.raises(InvalidConfigError, match="at least one of"):
        Budget()
    with pytest.raises(InvalidConfigError, match="must be a finite number > 0"):
        Budget(trials=0)


def test_same_seed_same_search_and_resume_continues_trajectory(nb201_csv, tmp_path) -> None:
    spec = make_spec(space="nb201", strategy="evolution", benchmark="nb201", trials=60, seed=4,
                     benchmark_file=str(nb201_csv))
    full = Runner(build_experiment(spec, "a"), Store(tmp_path / "a.db"))
    full.run()
    # the same search in two halves, with a fresh process-like rebuild in between
    store = Store(tmp_path / "b.db")
    half = dict(spec, budget={"trials": 25, "seconds": None, "wall_seconds": None})
    store.create_experiment("b", half)
    Runner(build_experiment(half, "b"), store).run()
    second = Runner(build_experiment(spec, "b"), store)
    second.run()
    assert [t.arch for t in second.records] == [t.arch for t in full.records]
    assert len({t.number for t in second.records}) == 60


def test_best_ignores_test_metrics_and_prefers_highest_fidelity() -> None:
    from nasforge.runner import best_trial
    from nasforge.storage import TrialRecord

    def rec(n, val, test, fid):
        return TrialRecord(n, f"a{n}", f"k{n}", fid, "ok", {"val_acc": val}, {"test_acc": test}, 1.0, None, None,
                           0.0, 1.0, n, {})

    records = [rec(0, 90.0, 10.0, 12.0), rec(1, 80.0, 99.0, 12.0), rec(2, 85.0, 50.0, 200.0)]
    assert best_trial(records, Objective("val_acc")).number == 2
    assert best_trial(records[:2], Objective("val_acc")).number == 0
