"""One-shot runs from the command line.

``nasforge search --strategy darts|darts2|darts-pt|gdas|enas|spos --space nb201|darts --dataset D
--epochs E`` runs a one-shot search as an experiment of the store (through :func:`nasforge.api.search`;
see :mod:`nasforge.oneshot.experiment`), so ``status``, ``best``, ``report``, ``export`` and
``resume`` work on it as on any search. The supernet's checkpoint and its per-epoch history live in
a folder next to the store, ``<store>.oneshot/<name>/``. This module adds ``oneshot-history``, which
prints that history.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from nasforge.cli.common import echo_json, handle_errors, print_table
from nasforge.errors import InvalidConfigError

__all__ = ["register", "run_dir"]


def run_dir(storage: str, name: str) -> Path:
    """The folder of one-shot run ``name`` next to the store ``storage``."""
    from nasforge.oneshot.experiment import checkpoint_folder

    return checkpoint_folder(storage, name)


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
