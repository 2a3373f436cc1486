"""``nasforge fit`` on text and audio data: picks :class:`~nasforge.estimators.TextClassifier` or
:class:`~nasforge.estimators.AudioClassifier` for a :class:`~nasforge.data.sequences.SequenceDataset`.

The estimator is fitted on the training and validation parts together (it splits its own
validation set), scored once on the test part, saved to ``--out`` and optionally exported.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from nasforge.cli.common import echo_json, print_table
from nasforge.errors import InvalidConfigError

__all__ = ["fit_sequences"]

_EXPORT_FILES = {"torchscript": "model.ts", "pt2": "model.pt2", "onnx": "model.onnx"}


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
    est.fit(list(ds.x_all), names[ds.y_all])
    test_acc = float(est.score(list(ds.x_test), names[ds.y_test])) * 100 if len(ds.y_test) else None
    out_dir = est.save(out)
    files = {"estimator": str(out_dir.resolve())}
    for fmt in exports:
        files[fmt] = str(est.export(Path(out) / _EXPORT_FILES[fmt], format=fmt).resolve())
    result = {"dataset": ds.name, "estimator": type(est).__name__, "time_budget_s": budget,
              "fit_seconds": round(est.fit_seconds_, 2), "trials": len(est.history_),
              "best_arch": est.best_arch_string_, "best_val_acc": round(est.best_val_acc_, 3),
              "test_acc": None if test_acc is None else round(test_acc, 3), "test_samples": len(ds.y_test),
              "files": files}
    if as_json:
        echo_json(result)
        return result
    rows = [["", ""], ["dataset", ds.name], ["estimator", result["estimator"]],
            ["fit seconds", f"{est.fit_seconds_:.1f} (budget {budget:.0f})"], ["trials", str(len(est.history_))],
            ["best architecture", est.best_arch_string_], ["validation acc %", f"{est.best_val_acc_:.2f}"],
            ["test acc %", "n/a (no test split)" if test_acc is None else f"{test_acc:.2f}"]]
    rows += [[k, v] for k, v in files.items()]
    print_table(rows, title="nasforge fit")
    return result
