"""``nasforge fit`` on text and audio data: picks :class:`~nasforge.estimators.TextClassifier` or
:class:`~nasforge.estimators.AudioClassifier` for a :class:`~nasforge.data.sequences.SequenceDataset`.

The estimator is fitted on the training and validation parts together (it splits its own
validation set), scored once on the test part, saved to ``--out`` and optionally exported.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nasforge.cli.fit import fit_and_report
from nasforge.errors import InvalidConfigError

__all__ = ["fit_sequences"]


def fit_sequences(ds: Any, kind: str, *, budget: float, out: str, max_trials: int | None, space: str | None,
                  strategy: str | None, seed: int, threads: int | None, storage: str | None,
                  exports: tuple[str, ...], as_json: bool) -> dict[str, Any]:
    """Fit, score, save (and export) the estimator for ``ds``; prints a table or JSON and returns the result."""
    from nasforge.estimators import AudioClassifier, TextClassifier

    if kind not in ("auto", ds.kind):
        raise InvalidConfigError(f"--kind {kind} does not fit {ds.name}, which holds {ds.kind}; use --kind {ds.kind} "
                                 "or auto")
    kw: dict[str, Any] = {"time_budget_s": budget, "max_trials": max_trials, "seed": seed, "threads": threads,
                          "storage": storage}
    if space:
        kw["space"] = space
    if strategy:
        kw["strategy"] = strategy
    est: Any = TextClassifier(**kw) if ds.kind == "text" else AudioClassifier(sample_rate=ds.sample_rate, **kw)
    names = np.asarray(ds.classes)
    return fit_and_report(est, ds.name, list(ds.x_all), names[ds.y_all], list(ds.x_test), names[ds.y_test],
                          budget=budget, out=out, exports=exports, as_json=as_json)
