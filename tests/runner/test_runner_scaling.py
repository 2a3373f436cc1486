"""The runner's per-trial work does not grow with the number of finished trials (a linear CLI)."""

from __future__ import annotations

import time

import pytest

import nasforge.runner as runner_mod
from nasforge.arch import Architecture
from nasforge.evaluators.base import Objective, Result
from nasforge.runner import Budget, Experiment, Runner
from nasforge.spaces import get_space
from nasforge.storage import Store
from nasforge.strategies import make_strategy


class _Cheap:
    simulated_cost = True
    default_objective = "val_acc"
    report_metric = None

    def evaluate(self, arch: Architecture, fidelity=None) -> Result:
        return Result.ok({"val_acc": float(sum(op == "nor_conv_3x3" for op in arch.values())),
                          "params_M": float(len(set(arch.values())))}, cost=1.0)


class _Progress:
    """Like the CLI's progress bar: asks for the incumbent after every trial."""

    def __init__(self) -> None:
        self.best: list[float | None] = []

    def start(self, total, unit) -> None:
        pass

    def advance(self, done, best, text) -> None:
        self.best.append(best)

    def stop(self) -> None:
        pass


def _run(n: int, objectives: tuple[Objective, ...], monkeypatch, counts: dict[str, int], db) -> tuple[float, Runner]:
    for name in ("best_trial", "pareto_front"):
        real = getattr(runner_mod, name)

        def counted(*a, _real=real, _name=name, **k):
            counts[_name] = counts.get(_name, 0) + 1
            return _real(*a, **k)

        monkeypatch.setattr(runner_mod, name, counted)
    real_consider = Runner._consider

    def consider(self, t):
        counts["considered"] = counts.get("considered", 0) + 1
        return real_consider(self, t)

    monkeypatch.setattr(Runner, "_consider", consider)
    space = get_space("nb201")
    exp = Experiment(f"s{n}", space, make_strategy("random", space, seed=0), _Cheap(), objectives, Budget(trials=n),
                     {"space": {"name": "nb201"}})
    progress = _Progress()
    with Store(db) as store:
        runner = Runner(exp, store, progress=progress)
        t0 = time.perf_counter()
        runner.run()
        seconds = time.perf_counter() - t0
    assert len(progress.best) == n and progress.best[-1] == runner.best().metrics["val_acc"]
    monkeypatch.undo()
    return seconds, runner


@pytest.mark.parametrize("objectives", [(Objective("val_acc"),),
                                        (Objective("val_acc"), Objective("params_M", "min"))])
def test_per_trial_work_does_not_grow_with_the_number_of_trials(tmp_path, monkeypatch, objectives) -> None:
    per_trial = {}
    for n in (150, 600):
        counts: dict[str, int] = {}
        seconds, runner = _run(n, objectives, monkeypatch, counts, tmp_path / f"{n}.db")
        # each finished trial is looked at once for the incumbent; the front is built once, at the end
        assert counts.get("considered", 0) <= n + 1
        assert counts.get("best_trial", 0) == 0
        assert counts.get("pareto_front", 0) <= 1
        per_trial[n] = seconds / n
    # generous: a quadratic loop would cost ~4x per trial at 4x the trials
    assert per_trial[600] < 3 * per_trial[150], per_trial
