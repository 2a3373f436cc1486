"""A supernet-backed evaluator, and the search over a trained supernet with an ordinary strategy.

SPOS and ENAS end by searching the trained supernet: candidates are scored by the supernet's
validation accuracy (single path, BN statistics recalibrated on training batches). That search is
the ordinary ask/tell loop (:class:`~nasforge.runner.Runner`) with any registered strategy, told
by :class:`SupernetEvaluator` instead of by training.

Example:
    >>> from nasforge.strategies import make_strategy  # doctest: +SKIP
    >>> arch, scores = search_supernet(method, make_strategy("evolution", method.space), 100)  # doctest: +SKIP
"""

from __future__ import annotations

import time
from typing import Any

from nasforge.arch import Architecture
from nasforge.evaluators.base import Objective, Result

__all__ = ["SupernetEvaluator", "search_supernet"]


class SupernetEvaluator:
    """``evaluate(arch) -> Result`` with the supernet-estimated validation accuracy as ``val_acc``.

    Args:
        method: a one-shot method whose :meth:`~nasforge.oneshot.OneShotMethod.search` has trained
            its supernet (scores come from :meth:`~nasforge.oneshot.OneShotMethod.estimate`).
        recal_batches: training batches used to recalibrate BN statistics per candidate.

    Scores are cached per architecture (the supernet does not change during the search), and no
    test data is ever touched.
    """

    default_objective = "val_acc"
    report_metric: str | None = None
    simulated_cost = False

    def __init__(self, method: Any, *, recal_batches: int = 4) -> None:
        self.method = method
        self.recal_batches = int(recal_batches)
        self.scores: dict[Architecture, float] = {}

    def evaluate(self, arch: Architecture, fidelity: float | None = None) -> Result:
        t0 = time.perf_counter()
        if arch not in self.scores:
            assert self.method.data_ is not None  # search() stores its data before training
            train, val = self.method.data_
            self.scores[arch] = float(self.method.estimate([arch], train, val, recal_batches=self.recal_batches)[0])
        return Result.ok({"val_acc": self.scores[arch]}, cost=time.perf_counter() - t0)

    def describe(self) -> dict[str, Any]:
        return {"kind": "supernet", "method": self.method.name, "recal_batches": self.recal_batches}


def search_supernet(method: Any, strategy: Any, evals: int, *, recal_batches: int = 4,
                    ) -> tuple[Architecture, dict[Architecture, float]]:
    """Run ``strategy`` for ``evals`` trials against the trained supernet of ``method``.

    Returns the best architecture (ties broken by the architecture key, so the answer is
    deterministic) and every scored architecture's supernet accuracy.
    """
    from nasforge.runner import Budget, Experiment, Runner

    evaluator = SupernetEvaluator(method, recal_batches=recal_batches)
    exp = Experiment(f"{method.name}-supernet-search", method.space, strategy, evaluator, (Objective("val_acc"),),
                     Budget(trials=int(evals)))
    Runner(exp, None).run()
    scores = evaluator.scores
    best = max(scores, key=lambda a: (scores[a], a.key))
    return best, dict(scores)
