"""One-shot searches from the command line.

``nasforge search --strategy darts|darts2|gdas|enas|spos --space nb201|darts --dataset D --epochs E``
dispatches here (see :func:`run_search`). Each run lives in a folder next to the store,
``<store>.oneshot/<name>/``, holding ``request.json`` (the command's settings), ``checkpoint.pt``
(after every epoch), ``history.json`` (architecture weights per epoch) and ``result.json``.
Rerunning the same command (same ``--name``), or ``nasforge resume NAME``, continues after the last
finished epoch. The result is printed in the space's string form, ready for ``nasforge train``.
"""

from __future__ import annotations

import json
import shlex
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any

import click

from nasforge.cli.common import RichProgress, echo_json, handle_errors, print_table
from nasforge.errors import InvalidConfigError, UnknownNameError
from nasforge.naming import safe_filename
from nasforge.registry import unknown_name_message

__all__ = ["check_strategy", "register", "resume_run", "run_dir", "run_search"]


def check_strategy(strategy: str) -> bool:
    """True when ``strategy`` names a one-shot method; unknown names raise listing every strategy."""
    from nasforge.strategies import STRATEGIES

    if strategy in STRATEGIES:
        return False
    from nasforge.oneshot import ONESHOT

    if strategy in ONESHOT:
        return True
    raise UnknownNameError(unknown_name_message("strategy", strategy, STRATEGIES.names() + ONESHOT.names()))


def run_dir(storage: str, name: str) -> Path:
    """The folder of one-shot run ``name`` next to the store ``storage``."""
    store = Path(storage)
    return store.parent / f"{store.stem}.oneshot" / safe_filename(name)  # a name is not a path


def run_search(*, space: str, strategy: str, dataset: str | None, epochs: int | None, seed: int, storage: str,
               name: str | None, params: dict[str, Any], batch_size: int | None = None, lr: float | None = None,
               threads: int | None = None, max_train: int | None = None, channels: int | None = None,
               cells: int | None = None, wall_seconds: float | None = None, data_root: str | None = None,
               as_json: bool = False, unsupported: dict[str, Any] | None = None, device: str | None = None) -> None:
    """Run (or resume) a one-shot search and print its result; ``unsupported`` options are errors."""
    bad = sorted(k for k, v in (unsupported or {}).items() if v not in (None, False, (), {}))
    if bad:
        raise InvalidConfigError(
            f"one-shot strategy '{strategy}' trains a supernet on --dataset for --epochs; "
            f"these options do not apply: {', '.join('--' + b.replace('_', '-') for b in bad)}"
        )
    if not dataset:
        raise InvalidConfigError(f"one-shot strategy '{strategy}' needs --dataset (e.g. fashion-mnist, mnist, digits)")
    request = {"space": space, "strategy": strategy, "dataset": dataset, "epochs": epochs or 10, "seed": seed,
               "params": params, "batch_size": batch_size, "lr": lr, "threads": threads, "max_train": max_train,
               "channels": channels, "cells": cells, "wall_seconds": wall_seconds, "data_root": data_root}
    if device is not None:  # recorded only when given, so runs started before the option resume unchanged
        request["device"] = device
    name = name or f"{strategy}-{space}-{Path(dataset).stem}-seed{seed}"
    folder = run_dir(storage, name)
    saved = folder / "request.json"
    if saved.exists():
        previous = json.loads(saved.read_text())
        if previous != request:
            diff = sorted(k for k in request if previous.get(k) != request.get(k))
            raise InvalidConfigError(
                f"one-shot run '{name}' in {folder} was started with other settings ({', '.join(diff)}); "
                f"rerun it unchanged (or `nasforge resume {name}`) or pick another --name"
            )
    folder.mkdir(parents=True, exist_ok=True)
    saved.write_text(json.dumps(request, indent=1))
    _execute(name, folder, request, as_json)


def resume_run(storage: str, name: str, as_json: bool) -> bool:
    """Continue one-shot run ``name`` if it exists next to ``storage``; False when there is none."""
    saved = run_dir(storage, name) / "request.json"
    if not saved.exists():
        return False
    _execute(name, saved.parent, json.loads(saved.read_text()), as_json)
    return True


def _execute(name: str, folder: Path, req: dict[str, Any], as_json: bool) -> None:
    from nasforge.oneshot import ONESHOT, OneShotBudget, OneShotConfig, load_oneshot_data
    from nasforge.spaces import get_space

    sp = get_space(req["space"])
    method_cls = ONESHOT.get(req["strategy"])
    cfg_fields = {f.name for f in fields(OneShotConfig)}
    cfg_kw: dict[str, Any] = {k: v for k, v in req["params"].items() if k in cfg_fields}
    hparams = {k: v for k, v in req["params"].items() if k not in cfg_fields}
    for key, opt in (("batch_size", "batch_size"), ("w_lr", "lr"), ("threads", "threads"), ("channels", "channels"),
                     ("cells", "cells"), ("device", "device")):
        if req.get(opt) is not None:
            cfg_kw[key] = req[opt]
    cfg = OneShotConfig(seed=req["seed"], **cfg_kw)
    train, val, _meta = load_oneshot_data(req["dataset"], max_train=req["max_train"], data_root=req["data_root"])
    progress = RichProgress(f"{req['strategy']} on {req['space']}")
    epochs = int(req["epochs"])
    progress.start(epochs, "epochs")
    quiet = as_json or progress.enabled

    def on_epoch(epoch: int, total: int, entry: dict[str, Any]) -> None:
        loss = entry.get("train_loss")
        text = entry.get("derived") or entry.get("sample") or ""
        progress.advance(epoch, None, text)
        if not quiet:
            click.echo(f"epoch {epoch}/{total}: train loss {loss:.3f}  {text}", err=True)

    method = method_cls(sp, cfg, checkpoint_dir=folder, progress=on_epoch, **hparams)
    try:
        arch = method.search(train, val, OneShotBudget(epochs, req["wall_seconds"]))
    finally:
        progress.stop()
    arch_str = sp.to_string(arch)
    train_cmd = (f"nasforge train --space {req['space']} --arch {shlex.quote(arch_str)} --dataset "
                 f"{shlex.quote(req['dataset'])} --final")
    data = {"arch": arch_str, "name": name, "space": req["space"], "strategy": req["strategy"],
            "dataset": req["dataset"], "epochs": len(method.history_), "resumed_from_epoch": method.resumed_from_,
            "seconds": round(method.seconds_, 2), "device": method.device_, "peak_rss_mb": round(method.peak_rss_mb_, 1),
            "train_samples": len(train[0]), "val_samples": len(val[0]), "checkpoint_dir": str(folder.resolve()),
            "history": str((folder / "history.json").resolve()), "train_command": train_cmd}
    if as_json:
        echo_json(data)
        return
    rows = [[k, f"{v:.4g}" if isinstance(v, float) else str(v)] for k, v in data.items()
            if k not in ("arch", "train_command")]
    print_table([["", ""]] + rows, title=f"one-shot search ({req['strategy']})")
    # Full lines outside the table, so they can be copied whole.
    click.echo(f"architecture: {arch_str}")
    click.echo(f"retrain with: {train_cmd}")


def register(cli: click.Group) -> None:
    """Add ``oneshot-history``: print the architecture-weight history of a one-shot run."""

    @cli.command(name="oneshot-history")
    @click.argument("name")
    @click.option("--storage", default="nasforge.db", show_default=True, metavar="DB")
    @click.option("--json", "as_json", is_flag=True)
    @handle_errors
    def oneshot_history(name: str, storage: str, as_json: bool) -> None:
        """Show per-epoch losses and derived cells of a one-shot run (from its history.json)."""
        path = run_dir(storage, name) / "history.json"
        if not path.exists():
            raise InvalidConfigError(f"no one-shot run '{name}' next to {storage} (looked for {path})")
        data = json.loads(path.read_text())
        if as_json:
            echo_json(data)
            return
        rows = [["epoch", "train loss", "seconds", "derived / sampled cell"]]
        for h in data["history"]:
            rows.append([str(h["epoch"]), f"{h.get('train_loss', float('nan')):.3f}", f"{h['seconds']:.1f}",
                         h.get("derived") or h.get("sample") or "-"])
        print_table(rows, title=f"{data['method']} on {data['space']}: {name}")
        sys.stdout.flush()
