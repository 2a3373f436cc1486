"""``nasforge fit``: the AutoML estimators on the command line.

``nasforge fit --data mnist --time-budget 10m --out DIR`` loads a dataset (a registered name, a
``.npz`` file, a ``.csv`` feature table with ``--target COLUMN``, an image folder, a ``.tsv`` (or
``.csv`` with ``text``/``label`` columns) of text and label or a folder of wav files per class), fits an
:class:`~nasforge.estimators.ImageClassifier` (images),
:class:`~nasforge.estimators.TabularClassifier` (feature tables),
:class:`~nasforge.estimators.TextClassifier` (``sst2``, ``trec``, text tables) or
:class:`~nasforge.estimators.AudioClassifier` (``fsdd``, wav folders) within the budget, reports the
accuracy on the dataset's held-out test split, and saves the estimator to ``DIR`` (state dict +
JSON, loadable with ``ImageClassifier.load(DIR)``), optionally also exporting TorchScript/ONNX.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click

from nasforge.cli.common import echo_json, handle_errors, print_table
from nasforge.errors import InvalidConfigError

__all__ = ["parse_duration", "register"]

_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}
_EXPORT_FILES = {"torchscript": "model.ts", "pt2": "model.pt2", "onnx": "model.onnx"}


def parse_duration(text: str) -> float:
    """Seconds in ``"90"``, ``"90s"``, ``"10m"``, ``"1.5h"``.

    Example:
        >>> parse_duration("10m")
        600.0
    """
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(s|m|min|h)?\s*", str(text).lower())
    if not m or float(m.group(1)) <= 0:
        raise InvalidConfigError(f"a duration must be a positive number with an optional unit s, m or h "
                                 f"(e.g. 90s, 10m, 1h), but got {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2) or ""]


def register(cli: click.Group) -> None:
    """Add ``fit`` to the ``nasforge`` command group."""

    @cli.command("fit")
    @click.option("--data", required=True, help="digits, mnist, fashion-mnist, breast-cancer, wine, iris, sst2, "
                  "trec, fsdd, a .npz file, a .csv feature table (with --target), an image folder "
                  "(root/<class>/*.png), a .tsv/.csv of text,label or a wav folder (root/<class>/*.wav).")
    @click.option("--target", help="For a .csv feature table: the column holding the class labels.")
    @click.option("--time-budget", default="10m", show_default=True,
                  help="Wall-clock budget for the whole fit, final retraining included (e.g. 90s, 10m).")
    @click.option("--out", "out", required=True, type=click.Path(file_okay=False), help="Folder to save to.")
    @click.option("--max-trials", type=int, help="Stop the search after this many trials.")
    @click.option("--kind", type=click.Choice(["auto", "image", "tabular", "text", "audio"]), default="auto",
                  show_default=True, help="Estimator; auto picks image for (C, H, W) inputs, tabular for feature "
                  "tables, text for texts and audio for waveforms.")
    @click.option("--space", help="Search space (default: auto_cnn for images, mlp for tables).")
    @click.option("--strategy", help="Search strategy name (default: the estimator's; local for images, "
                                     "evolution for tables).")
    @click.option("--seed", type=int, default=0, show_default=True)
    @click.option("--threads", type=int, help="torch threads (default: all cores).")
    @click.option("--storage", help="SQLite file to record the search's trials in (default: memory only).")
    @click.option("--export", "exports", multiple=True, type=click.Choice(list(_EXPORT_FILES)),
                  help="Also export the model (repeatable): DIR/model.ts, DIR/model.pt2 (torch.export) or "
                       "DIR/model.onnx.")
    @click.option("--data-root", help="Folder with user-supplied files for a registered dataset (CIFAR-10).")
    @click.option("--device", default="auto", show_default=True,
                  help="auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N or mps.")
    @click.option("--precision", type=click.Choice(["32", "bf16", "16-mixed"]), default="32", show_default=True)
    @click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
    @handle_errors
    def fit(data: str, target: str | None, time_budget: str, out: str, max_trials: int | None, kind: str, space: str | None,
            strategy: str | None, seed: int, threads: int | None, storage: str | None, exports: tuple[str, ...],
            data_root: str | None, device: str, precision: str, as_json: bool) -> None:
        """Search and train the best classifier for a dataset within a time budget."""
        import numpy as np

        from nasforge.data import load_dataset
        from nasforge.estimators import ImageClassifier, TabularClassifier

        budget = parse_duration(time_budget)
        ds = load_dataset(data, root=data_root, target=target)
        if hasattr(ds, "x_all"):  # text or audio (nasforge.data.sequences)
            from nasforge.cli.fit_sequences import fit_sequences

            fit_sequences(ds, kind, budget=budget, out=out, max_trials=max_trials, space=space, strategy=strategy,
                          seed=seed, threads=threads, storage=storage, exports=exports, as_json=as_json)
            return
        if kind in ("text", "audio"):
            raise InvalidConfigError(f"--kind {kind} needs text or audio data, but {data} holds "
                                     f"{'images' if len(ds.input_shape) == 3 else 'a feature table'}")
        if kind == "auto":
            kind = "image" if len(ds.input_shape) == 3 else "tabular"
        kw: dict[str, Any] = {"time_budget_s": budget, "max_trials": max_trials, "seed": seed, "threads": threads,
                              "storage": storage, "device": device, "precision": precision}
        if space:
            kw["space"] = space
        if strategy:
            kw["strategy"] = strategy
        est = ImageClassifier(**kw) if kind == "image" else TabularClassifier(**kw)
        names = np.asarray(ds.classes)
        fit_and_report(est, ds.name, ds.x_train, names[ds.y_train], ds.x_test, names[ds.y_test], budget=budget,
                       out=out, exports=exports, as_json=as_json)


def fit_and_report(est: Any, dataset: str, x_fit: Any, y_fit: Any, x_test: Any, y_test: Any, *, budget: float,
                   out: str, exports: tuple[str, ...], as_json: bool) -> dict[str, Any]:
    """Fit ``est``, score it once on the test part, save (and export) it; print a table or JSON, return the result."""
    est.fit(x_fit, y_fit)
    test_acc = float(est.score(x_test, y_test)) * 100 if len(y_test) else None
    out_dir = est.save(out)
    files = {"estimator": str(out_dir.resolve())}
    for fmt in exports:
        files[fmt] = str(est.export(Path(out) / _EXPORT_FILES[fmt], format=fmt).resolve())
    result = {"dataset": dataset, "estimator": type(est).__name__, "time_budget_s": budget,
              "fit_seconds": round(est.fit_seconds_, 2), "trials": len(est.history_),
              "best_arch": est.best_arch_string_, "best_val_acc": round(est.best_val_acc_, 3),
              "test_acc": None if test_acc is None else round(test_acc, 3), "test_samples": len(y_test),
              "files": files}
    if as_json:
        echo_json(result)
        return result
    rows = [["", ""], ["dataset", dataset], ["estimator", result["estimator"]],
            ["fit seconds", f"{est.fit_seconds_:.1f} (budget {budget:.0f})"], ["trials", str(len(est.history_))],
            ["best architecture", est.best_arch_string_], ["validation acc %", f"{est.best_val_acc_:.2f}"],
            ["test acc %", "n/a (no test split)" if test_acc is None else f"{test_acc:.2f}"]]
    rows += [[k, v] for k, v in files.items()]
    print_table(rows, title="nasforge fit")
    return result
