"""``nf.search`` with a one-shot strategy: an experiment of the store, resumable, same summary."""

from __future__ import annotations

from pathlib import Path

import pytest

import nasforge as nf
from nasforge.api import resume
from nasforge.errors import InvalidConfigError, NasforgeError
from nasforge.oneshot.experiment import make_oneshot_spec
from nasforge.storage import Store

TINY = {"space": "nb201", "dataset": "digits", "epochs": 2, "seed": 1,
        "train": {"max_train": 200, "model": {"channels": 2}},
        "strategy_params": {"max_steps_per_epoch": 2, "eval_samples": 60}}
HP = {"spos": {"evals": 4, "search_params": {"population_size": 2, "sample_size": 2}, "recal_batches": 1, "panel": 2},
      "enas": {"controller_steps": 2, "candidates": 3, "recal_batches": 1}, "darts": {}}


@pytest.mark.parametrize("strategy", ["spos", "enas", "darts"])
def test_search_with_a_one_shot_strategy_stores_one_trial_per_epoch(strategy: str, tmp_path: Path) -> None:
    params = {**TINY["strategy_params"], **HP[strategy]}
    summary = nf.search(**{**TINY, "strategy_params": params}, strategy=strategy, storage=str(tmp_path / "r.db"),
                        name="x")
    data = summary.to_json()
    assert data["trials"] == 2 and data["best"]["number"] == 1 and data["status"] == "finished"
    with Store(tmp_path / "r.db") as store:
        trials = store.trials(store.get_experiment("x").id)
    assert [t.info["epoch"] for t in trials] == [1, 2]
    assert trials[1].info["final"] and trials[1].arch == data["best"]["arch"]
    assert ("arch_weights" in trials[0].info) == (strategy != "spos")
    again = resume("x", storage=str(tmp_path / "r.db"))
    assert again.best is not None and again.best.arch == data["best"]["arch"] and again.trials == 2


def test_killed_run_resumes_and_stores_every_epoch_once(tmp_path: Path) -> None:
    db = str(tmp_path / "r.db")
    spec = make_oneshot_spec(**{**TINY, "epochs": 3}, strategy="darts")

    class Stop(Exception):
        pass

    class Killer:
        def start(self, total: float | None, unit: str) -> None: ...

        def advance(self, done: float, best: float | None, text: str) -> None:
            if done == 1:
                raise Stop

        def stop(self) -> None: ...

    from nasforge.oneshot.experiment import run_oneshot

    with Store(db) as store, pytest.raises(Stop):
        run_oneshot(spec, store=store, name="k", progress=Killer())
    with Store(db) as store:
        assert len(store.trials(store.get_experiment("k").id)) == 1
    summary = resume("k", storage=db)
    with Store(db) as store:
        trials = store.trials(store.get_experiment("k").id)
    assert [t.info["epoch"] for t in trials] == [1, 2, 3] and summary.best is not None
    full = nf.search(**{**TINY, "epochs": 3}, strategy="darts", storage=str(tmp_path / "full.db"), name="k")
    assert full.best is not None and full.best.arch == summary.best.arch


def test_settings_that_do_not_apply_are_errors() -> None:
    with pytest.raises(InvalidConfigError, match="trials"):
        make_oneshot_spec(strategy="darts", dataset="digits", trials=5)
    with pytest.raises(InvalidConfigError, match="optimizer"):
        make_oneshot_spec(strategy="darts", dataset="digits", train={"optimizer": "adam"})
    with pytest.raises(InvalidConfigError, match="population"):
        make_oneshot_spec(strategy="darts", dataset="digits", strategy_params={"population": 3})
    with pytest.raises(NasforgeError, match="supernet"):
        make_oneshot_spec(space="mlp", strategy="darts", dataset="digits")
