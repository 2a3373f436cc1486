"""Contract tests generated from the registries: every registered combination, tiny and fast.

- every strategy x every space it supports (``Strategy.supports``), incl. the conditional ``mlp``
  and the ``darts`` space: valid proposals, no repeated (architecture, fidelity), a restored
  strategy continues on the same trajectory, and what it is told carries no test metric;
- every one-shot method x every space with a registered supernet: one tiny search that is killed
  after its first epoch and resumed ends exactly where an uninterrupted one does;
- every evaluator kind builds itself from its block and describes itself back;
- every executor runs the ask/tell loop and a resumed run repeats no finished trial.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from nasforge.arch import Architecture
from nasforge.evaluators.base import Objective, Result
from nasforge.evaluators.kinds import EVALUATOR_KINDS
from nasforge.executors import EXECUTORS, make_executor
from nasforge.oneshot import ONESHOT, OneShotConfig, make_oneshot
from nasforge.oneshot.supernet import SUPERNETS
from nasforge.runner import Budget, Experiment, Runner
from nasforge.spaces import SPACES, get_space
from nasforge.storage import Store
from nasforge.strategies import STRATEGIES, as_suggestion, make_strategy

OBJ = (Objective("val_acc"),)
SPACE_SETTINGS: dict[str, dict[str, Any]] = {"auto_cnn": {"input_size": 8}}


def _space(name: str) -> Any:
    return get_space(name, **SPACE_SETTINGS.get(name, {}))


def fake_evaluate(arch: Architecture, fidelity: float | None = None) -> Result:
    """A deterministic landscape with a hidden test metric that must never reach a strategy."""
    score = 50.0 + (int(arch.key.encode().hex()[-6:], 16) % 1000) / 100.0 + min(fidelity or 0.0, 200.0) / 100.0
    return Result.ok({"val_acc": score}, hidden={"test_acc": -score}, cost=1.0, fidelity=fidelity)


class FakeEvaluator:
    default_objective = "val_acc"
    report_metric = "test_acc"
    simulated_cost = True

    def evaluate(self, arch: Architecture, fidelity: float | None = None) -> Result:
        return fake_evaluate(arch, fidelity)

    def describe(self) -> dict[str, Any]:
        return {"kind": "fake"}


# zc scores a pool of built DARTS networks with synflow (~12 s here): slow-marked, like the other >10 s cases
SLOW = {("zc", "darts"), ("darts-pt", "darts"), ("darts2", "darts")}
STRATEGY_SPACES = [pytest.param(st, sp, marks=pytest.mark.slow) if (st, sp) in SLOW else (st, sp)
                   for sp in SPACES.names() for st in STRATEGIES.names() if STRATEGIES.get(st).supports(_space(sp))]


@pytest.mark.parametrize(("strategy", "space"), STRATEGY_SPACES)
def test_strategy_on_every_space_it_supports(strategy: str, space: str) -> None:
    sp = _space(space)
    s = make_strategy(strategy, sp, seed=1)
    history, asked = [], set()
    for _ in range(10):
        sug = as_suggestion(s.ask(1)[0])
        sp.validate(sug.arch)
        assert (sug.arch.key, sug.fidelity) not in asked, f"{strategy} repeated {sug.arch.key} on {space}"
        asked.add((sug.arch.key, sug.fidelity))
        obs = fake_evaluate(sug.arch, sug.fidelity).observe(OBJ)
        assert "test_acc" not in obs.metrics  # what a strategy is told has no test metric
        s.tell(sug.arch, obs)
        history.append((sug.arch, obs))
    rebuilt = make_strategy(strategy, sp, seed=1)
    rebuilt.restore(history, n_asked=s.n_asked)
    assert [as_suggestion(x) for x in s.ask(2)] == [as_suggestion(x) for x in rebuilt.ask(2)]


def _images(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 3, (n,), generator=g)
    return torch.randn(n, 1, 6, 6, generator=g) + y.view(-1, 1, 1, 1).float(), y


# Small settings for the built-in methods' final phases; a newly registered method runs with its defaults.
TINY_HPARAMS: dict[str, dict[str, Any]] = {
    "spos": {"evals": 3, "search_params": {"population_size": 2, "sample_size": 2}, "recal_batches": 1, "panel": 2},
    "enas": {"controller_steps": 2, "candidates": 3, "recal_batches": 1}, "darts-pt": {"tune_steps": 1},
}
# darts-pt's edge-by-edge selection over the 28 DARTS edges takes ~100 s even at this size, darts2 ~12 s
ONESHOT_SPACES = [pytest.param(m, sp, marks=pytest.mark.slow) if (m, sp) in SLOW else (m, sp)
                  for m in ONESHOT.names() for sp in SUPERNETS.names()]


@pytest.mark.parametrize(("method", "space"), ONESHOT_SPACES)
def test_oneshot_method_on_every_supernet_space_resumes_exactly(method: str, space: str, tmp_path: Path) -> None:
    sp = get_space(space)
    cfg = OneShotConfig(channels=2, cells=1, batch_size=8, max_steps_per_epoch=1, eval_samples=8, seed=2)
    train, val = _images(24, 0), _images(12, 1)
    hp = TINY_HPARAMS.get(method, {})
    full = make_oneshot(method, sp, cfg, checkpoint_dir=tmp_path / "full", **hp).search(train, val, 2)

    class Killed(Exception):
        pass

    def kill(epoch: int, total: int, info: dict[str, Any]) -> None:
        if epoch == 1:
            raise Killed

    with pytest.raises(Killed):
        make_oneshot(method, sp, cfg, checkpoint_dir=tmp_path / "cut", progress=kill, **hp).search(train, val, 2)
    again = make_oneshot(method, sp, cfg, checkpoint_dir=tmp_path / "cut", **hp)
    assert again.search(train, val, 2) == full and again.resumed_from_ == 1
    sp.validate(full)


def _example_block(kind: str) -> dict[str, Any] | None:
    if kind == "train":
        return {"kind": "train", "dataset": "digits", "config": {"epochs": 1, "max_train": 64, "model": {"channels": 2,
                                                                                                       "cells_per_stage": 1}}}
    if kind == "benchmark":
        return {"kind": "benchmark", "file": None, "dataset": "cifar10"}  # the NB201 table that ships with nasforge
    return None


@pytest.mark.parametrize("kind", EVALUATOR_KINDS.names())
def test_evaluator_kind_builds_from_its_block_and_describes_itself(kind: str) -> None:
    block = _example_block(kind)
    if block is None:
        pytest.skip(f"no example block (or data) for evaluator kind '{kind}'")
    space = get_space("nb201")
    ev = EVALUATOR_KINDS.get(kind)(block, space, 0)
    assert ev.describe()["kind"] == kind
    result = ev.evaluate(space.sample(np.random.default_rng(0)), None)
    assert result.status == "ok" and ev.default_objective in result.metrics
    assert not set(result.metrics) & {"test_acc"}  # test metrics stay hidden


def _executor(kind: str) -> Any:
    if kind == "ray" and importlib.util.find_spec("ray") is None:
        pytest.skip("ray is not installed")
    return make_executor(kind, workers=None if kind == "inline" else 2, threads=1)


@pytest.mark.parametrize("kind", [pytest.param(k, marks=pytest.mark.slow) if k == "ray" else k
                                  for k in EXECUTORS.names()])
def test_executor_runs_the_loop_and_resume_repeats_nothing(kind: str, tmp_path: Path) -> None:
    space = get_space("nb201")

    def run(trials: int) -> list[str]:
        ex = _executor(kind)
        try:
            with Store(tmp_path / "x.db") as store:
                exp = Experiment("e", space, make_strategy("evolution", space, seed=0, population_size=3,
                                                           sample_size=2),
                                 FakeEvaluator(), OBJ, Budget(trials=trials), {"seed": 0})
                Runner(exp, store, executor=ex).run()
                return [t.arch_key for t in store.trials(store.get_experiment("e").id)]
        finally:
            ex.shutdown()

    first = run(4)
    both = run(8)
    assert both[:4] == first and len(both) == 8 and len(set(both)) == 8
