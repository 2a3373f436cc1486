"""CLI pieces for running at scale and for using the results.

- ``execution_options``: ``--workers``, ``--executor``, ``--address`` and ``--trial-timeout`` for
  ``search`` and ``resume``; ``cli_executor`` turns them into an executor that is shut down when
  the command ends.
- ``nasforge export NAME --format torchscript|pt2|onnx|state_dict --out PATH``: the final model of a
  stored search's best architecture.
- ``nasforge report NAME --out DIR``: an offline HTML report with plots.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from nasforge.cli.common import echo_json, handle_errors, print_table, storage_option

__all__ = ["cli_executor", "execution_options", "register"]


def execution_options(fn: Any) -> Any:
    """Add the options that choose where trials run (they arrive as keyword arguments)."""
    for opt in reversed([
        click.option("--workers", type=int, help="Trials evaluated at once (default 1; process: one per core)."),
        click.option("--executor", type=click.Choice(["inline", "thread", "process", "ray"]),
                     help="inline (this process), process (local worker pool) or ray. Default: process when "
                          "--workers > 1 or --trial-timeout is set, else inline."),
        click.option("--address", help="Ray cluster address (default: start a local Ray)."),
        click.option("--trial-timeout", type=float, metavar="SECONDS",
                     help="Stop a trial after this many seconds and record it as 'timeout'."),
    ]):
        fn = opt(fn)
    return fn


def cli_executor(threads: int | None = None, *, workers: int | None = None, executor: str | None = None,
                 address: str | None = None, trial_timeout: float | None = None, gpus_per_trial: float = 0.0) -> Any:
    """The executor chosen by :func:`execution_options`; it is shut down when the command ends
    (normally, by an error or by Ctrl-C), through the click context. ``gpus_per_trial``: what a
    Ray trial requests (process workers each get one GPU of the machine)."""
    from nasforge.executors import make_executor

    ex = make_executor(executor, workers=workers, threads=threads or 1, timeout=trial_timeout, address=address,
                       gpus_per_trial=gpus_per_trial)
    click.get_current_context().call_on_close(ex.shutdown)
    return ex


def _model_cache(storage: str) -> Path:
    return Path(str(storage) + ".models")


def register(cli: click.Group) -> None:
    """Add ``export`` and ``report`` to the ``nasforge`` command group."""

    @cli.command()
    @click.argument("name")
    @storage_option
    @click.option("--format", "fmt", type=click.Choice(["torchscript", "pt2", "onnx", "state_dict"]), required=True,
                  help="pt2: a torch.export program (load with torch.export.load(PATH).module()).")
    @click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False), help="File to write.")
    @click.option("--dataset", help="Dataset to train on (required for a tabular-benchmark experiment; "
                                    "default: the experiment's own).")
    @click.option("--epochs", type=int, help="Training epochs (default: those of the best trial).")
    @click.option("--channels", type=int, help="Network width (NB201: C) for the final model.")
    @click.option("--cells", type=int, help="Cells per stage (NB201: N) for the final model.")
    @click.option("--data-root", type=str, help="Folder holding dataset files (CIFAR-10 etc.).")
    @click.option("--retrain", is_flag=True, help="Train again even if this model was trained by an earlier export.")
    @click.option("--json", "as_json", is_flag=True)
    @handle_errors
    def export(name: str, storage: str, fmt: str, out_path: str, dataset: str | None, epochs: int | None,
               channels: int | None, cells: int | None, data_root: str | None, retrain: bool, as_json: bool) -> None:
        """Train the best architecture of a search stand-alone (train+validation) and write it.

        The model is trained with the experiment's training settings, or loaded when an earlier
        export already trained it (kept in DB.models/). TorchScript and ONNX models take raw
        inputs (normalisation inside); ONNX output is checked against PyTorch with onnxruntime.
        """
        from nasforge.api import open_store
        from nasforge.data import load_dataset
        from nasforge.errors import InvalidConfigError
        from nasforge.export import export_model, final_model

        if not Path(storage).exists():
            raise InvalidConfigError(f"store {storage} does not exist")
        model_cfg = {k: v for k, v in (("channels", channels), ("cells_per_stage", cells)) if v is not None}
        with open_store(storage) as store:
            if not as_json:
                click.echo(f"preparing the final model of {name} ...", err=True)
            fm = final_model(store, name, dataset=dataset, epochs=epochs, data_root=data_root,
                             model_config=model_cfg or None, cache_dir=_model_cache(storage), retrain=retrain)
        data = load_dataset(fm.dataset, root=data_root, target=getattr(fm.config, "target", None))
        batch = data.x_test[:64]
        info = export_model(fm.model, out_path, fmt, space=fm.space, arch=fm.arch, config=fm.config,
                            space_config=fm.space_config, batch=batch,
                            extra={"experiment": name, "trial": fm.trial, "dataset": fm.dataset,
                                   "test_acc": fm.test_acc})
        out = {"experiment": name, "trial": fm.trial, "arch": fm.arch, "dataset": fm.dataset, **info,
               "trained": not fm.reused, "train_seconds": round(fm.seconds, 2), "epochs": fm.config["epochs"],
               "test_acc": fm.test_acc, "cached_model": str(fm.cache) if fm.cache else None}
        if as_json:
            echo_json(out)
        else:
            print_table([["", ""]] + [[k, f"{v:.4g}" if isinstance(v, float) else str(v)] for k, v in out.items()],
                        title="export")

    @cli.command()
    @click.argument("name")
    @storage_option
    @click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder to write.")
    @click.option("--json", "as_json", is_flag=True)
    @handle_errors
    def report(name: str, storage: str, out_dir: str, as_json: bool) -> None:
        """Write an offline HTML report (DIR/index.html and PNG plots) of a stored search."""
        from nasforge.api import open_store
        from nasforge.errors import InvalidConfigError
        from nasforge.report import write_report

        if not Path(storage).exists():
            raise InvalidConfigError(f"store {storage} does not exist")
        with open_store(storage) as store:
            index = write_report(store, name, out_dir)
        files = sorted(p.name for p in index.parent.iterdir() if p.suffix in (".html", ".png"))
        if as_json:
            echo_json({"experiment": name, "index": str(index.resolve()), "files": files})
        else:
            click.echo(f"report written to {index.resolve()} ({len(files)} files)")
