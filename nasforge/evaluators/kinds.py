"""The registry of evaluator kinds: how an experiment spec's ``evaluator`` block becomes an evaluator.

Each kind is one factory ``(block, space, seed) -> Evaluator`` registered under the ``kind`` its
block names; the evaluator it builds describes itself back with ``describe()`` (a block of the
same kind). Adding a kind is one function and one registration::

    @EVALUATOR_KINDS.register("mine", "what it measures")
    def build_mine(block, space, seed):
        return MyEvaluator(space, **block.get("options", {}))

Example:
    >>> from nasforge.spaces import get_space
    >>> ev = EVALUATOR_KINDS.get("train")({"kind": "train", "dataset": "digits"}, get_space("nb201"), 0)
    >>> ev.describe()["kind"]
    'train'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from nasforge.evaluators.base import Evaluator
from nasforge.registry import Registry
from nasforge.spaces.base import SearchSpace

__all__ = ["EVALUATOR_KINDS", "EvaluatorFactory", "build_from_block"]

EvaluatorFactory = Callable[[Mapping[str, Any], SearchSpace, int], Evaluator]
EVALUATOR_KINDS: Registry[EvaluatorFactory] = Registry("evaluator kind")


@EVALUATOR_KINDS.register("benchmark", "tabular benchmark look-up (NAS-Bench-201 tables; simulated cost)")
def _benchmark(block: Mapping[str, Any], space: SearchSpace, seed: int) -> Evaluator:
    from nasforge.api import BENCHMARK_FAMILIES
    from nasforge.evaluators.tabular import TabularBenchmark

    if space.name in BENCHMARK_FAMILIES:  # NAS-Bench-101, NAS-Bench-Graph: their own tables
        return BENCHMARK_FAMILIES[space.name](space, {"seed": seed, **block})
    # require_cost: a seconds budget needs a usable cost column (api.build_evaluator sets it)
    return TabularBenchmark(space, block.get("file"), dataset=block.get("dataset", "cifar10"),
                            signal=block.get("signal"), report=block.get("report"), extra=block.get("extra", ()),
                            require_cost=bool(block.get("require_cost")))


@EVALUATOR_KINDS.register("train", "real training on a dataset (validation accuracy; test accuracy hidden)")
def _train(block: Mapping[str, Any], space: SearchSpace, seed: int) -> Evaluator:
    from nasforge.evaluators.training import TrainingEvaluator

    cfg = dict(block.get("config") or {})
    cfg.setdefault("seed", seed)
    return TrainingEvaluator.from_settings(space, block["dataset"], cfg, data_root=block.get("data_root"))


def build_from_block(block: Mapping[str, Any], space: SearchSpace, seed: int = 0) -> Evaluator:
    """The evaluator of ``block`` (``{"kind": NAME, ...}``); an unknown kind lists the registered ones."""
    return EVALUATOR_KINDS.get(str(block.get("kind")))(block, space, seed)
