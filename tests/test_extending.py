"""docs/extending.md works: a toy space, strategy, evaluator kind and one-shot method are registered
from their own code (the page's examples, run as written) and used by name, with no other edit."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import nasforge as nf
from nasforge.api import resume
from nasforge.evaluators.kinds import EVALUATOR_KINDS
from nasforge.oneshot import ONESHOT, OneShotMethod
from nasforge.oneshot.base import _batches
from nasforge.oneshot.evaluator import search_supernet
from nasforge.report import draw_architecture
from nasforge.spaces import SPACES, get_space
from nasforge.storage import Store
from nasforge.strategies import STRATEGIES, make_strategy

DOC = Path(__file__).resolve().parents[1] / "docs" / "extending.md"


class UniformPath(OneShotMethod):
    """A toy one-shot method: uniform single paths, then the greedy strategy over the supernet."""

    name = "toy-uniform"
    track_running_stats = True

    def __init__(self, space: Any, config: Any = None, *, checkpoint_dir: Any = None, progress: Any = None,
                 evals: int = 3) -> None:
        super().__init__(space, config, checkpoint_dir=checkpoint_dir, progress=progress)
        self.evals = evals

    def _setup(self, net: Any, epochs: int) -> None:
        self.w_opt = self._weight_optimizer(net)

    def _train_epoch(self, epoch: int, epochs: int, train: Any, val: Any, gen: torch.Generator,
                     rng: np.random.Generator) -> dict[str, float]:
        assert self.net is not None
        idx = _batches(len(train[0]), self.config.batch_size, gen, self._steps(train))
        loss = 0.0
        for i in idx:
            self.net.use_path(self.space.sample(rng))
            loss += self._weight_step(self.w_opt, train[0][i], train[1][i])
        return {"train_loss": loss / len(idx)}

    def _result(self, train: Any, val: Any, rng: np.random.Generator) -> Any:
        best, _ = search_supernet(self, make_strategy("greedy", self.space, seed=0, warmup=2), self.evals,
                                  recal_batches=1)
        return best


@pytest.fixture()
def registered() -> Iterator[None]:
    """Run the page's code blocks (they register two_edge, greedy, conv_count), add the toy one-shot method."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) == 3
    for code in blocks:
        exec(compile(code, str(DOC), "exec"), {"__name__": "docs_example"})  # noqa: S102 - our own docs
    ONESHOT.register("toy-uniform", "a toy one-shot method")(UniformPath)
    try:
        yield
    finally:
        SPACES.unregister("two_edge")
        STRATEGIES.unregister("greedy")
        EVALUATOR_KINDS.unregister("conv_count")
        ONESHOT.unregister("toy-uniform")


def test_toy_space_strategy_and_evaluator_kind_by_name(registered: None, tmp_path: Path) -> None:
    space = get_space("two_edge")
    arch = space.sample(np.random.default_rng(0))
    net = space.build(arch, input_shape=(1, 8, 8), num_classes=3)
    assert net(torch.randn(2, 1, 8, 8)).shape == (2, 3)
    assert draw_architecture(space, arch, tmp_path / "cell.png").is_file()
    db = str(tmp_path / "toy.db")
    first = nf.search(space="two_edge", strategy="greedy", strategy_params={"warmup": 3},
                      evaluator={"kind": "conv_count", "weight": 10.0}, trials=5, storage=db, name="toy")
    assert first.trials == 5 and first.best is not None
    again = resume("toy", storage=db, budget={"trials": 8})  # the spec rebuilds the toy evaluator by its kind
    with Store(db) as store:
        keys = [t.arch_key for t in store.trials(store.get_experiment("toy").id)]
    assert len(keys) == 8 and again.best is not None and again.best.metrics["val_acc"] >= first.best.metrics["val_acc"]
    assert len(set(keys)) == len(keys)  # 9 architectures in the space: greedy never repeats one


def test_toy_one_shot_method_runs_as_an_experiment(registered: None) -> None:
    summary = nf.search(space="nb201", strategy="toy-uniform", dataset="digits", epochs=1, in_memory=True,
                        train={"max_train": 100, "model": {"channels": 2}},
                        strategy_params={"max_steps_per_epoch": 2, "eval_samples": 40, "evals": 3})
    assert summary.trials == 1 and summary.best is not None
    get_space("nb201").parse(summary.best.arch)
