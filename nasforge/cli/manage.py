"""Experiment management: ``nasforge delete`` and ``nasforge trials``."""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Any

import click

from nasforge.cli.common import echo_json, handle_errors, print_table, storage_option
from nasforge.errors import InvalidConfigError

__all__ = ["register", "trial_rows"]


def _when(t: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) if t else ""


def _num(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return "nan" if v != v else f"{v:.6g}"
    return str(v)


def trial_rows(trials: list[Any]) -> tuple[list[str], list[str], list[dict[str, Any]]]:
    """Visible metric names, hidden metric names and one flat dict per trial (for tables and CSV).

    Hidden metrics (test accuracy and other report metrics, never shown to a strategy) get the
    prefix ``hidden:`` so no one mistakes them for what the search saw.
    """
    visible = list(dict.fromkeys(k for t in trials for k in t.metrics))
    hidden = list(dict.fromkeys(k for t in trials for k in t.hidden))
    rows = []
    for t in trials:
        row: dict[str, Any] = {"number": t.number, "arch": t.arch, "status": t.status}
        row.update({m: t.metrics.get(m) for m in visible})
        row.update({f"hidden:{m}": t.hidden.get(m) for m in hidden})
        row.update({"cost": t.cost, "fidelity": t.fidelity, "params": t.params, "error": t.error or "",
                    "started": _when(t.started), "finished": _when(t.finished)})
        rows.append(row)
    return visible, hidden, rows


def _show_trial(name: str, t: Any, as_json: bool) -> None:
    if as_json:
        echo_json({"experiment": name, "number": t.number, "arch": t.arch, "status": t.status, "metrics": t.metrics,
                   "hidden": t.hidden, "cost": t.cost, "fidelity": t.fidelity, "params": t.params, "error": t.error,
                   "started": t.started, "finished": t.finished, "info": t.info})
        return
    rows = [["", ""], ["trial", str(t.number)], ["architecture", t.arch], ["status", t.status]]
    rows += [[k, _num(v)] for k, v in t.metrics.items()]
    rows += [[f"{k} (hidden from the search)", _num(v)] for k, v in t.hidden.items()]
    rows += [["cost s", _num(t.cost)], ["fidelity", _num(t.fidelity)], ["params", _num(t.params)],
             ["started", _when(t.started)], ["finished", _when(t.finished)]]
    if t.error:
        rows.append(["error", t.error])
    print_table(rows, title=f"{name}: trial {t.number}")
    curve = t.info.get("curve") or []
    if curve:
        keys = ["epoch", "train_loss", "train_acc", "val_loss", "val_acc", "seconds"]
        print_table([keys] + [[_num(c.get(k)) for k in keys] for c in curve], title="learning curve")
    else:
        click.echo("no learning curve stored for this trial (tabular benchmarks and proxies have none)")
    if t.info.get("log"):
        click.echo("log:")
        click.echo(str(t.info["log"]))
    elif t.info.get("traceback"):
        click.echo("traceback:")
        click.echo(str(t.info["traceback"]))


def register(cli: click.Group) -> None:
    """Add ``delete`` and ``trials`` to the ``nasforge`` command group."""

    @cli.command()
    @click.argument("name")
    @storage_option
    @click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
    @handle_errors
    def delete(name: str, storage: str, yes: bool) -> None:
        """Delete an experiment and all its trials from the store (refused while it runs)."""
        from nasforge.storage import Store

        if not Path(storage).exists():
            raise InvalidConfigError(f"store {storage} does not exist")
        with Store(storage) as store:
            rec = store.get_experiment(name)
            n = len(store.trials(rec.id))
            if not yes and not click.confirm(f"delete experiment '{name}' ({rec.status}, {n} trials) from {storage}?",
                                             default=False):
                click.echo("nothing deleted")
                raise SystemExit(1)
            deleted = store.delete_experiment(name)
        click.echo(f"deleted experiment '{name}' and its {deleted} trial(s) from {storage}")

    @cli.command()
    @click.argument("name")
    @storage_option
    @click.option("--trial", "number", type=int, help="Show one trial: its metrics, learning curve and log.")
    @click.option("--csv", "csv_path", type=click.Path(dir_okay=False), help="Also write every trial to this CSV.")
    @click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
    @handle_errors
    def trials(name: str, storage: str, number: int | None, csv_path: str | None, as_json: bool) -> None:
        """List every trial of an experiment (or show one with --trial N)."""
        from nasforge.storage import Store

        with Store(storage, read_only=True) as store:
            rec = store.get_experiment(name)
            records = store.trials(rec.id)
        if number is not None:
            found = [t for t in records if t.number == number]
            if not found:
                raise InvalidConfigError(f"experiment '{name}' has no trial {number}; its trials are numbered "
                                         f"0 to {len(records) - 1}" if records else f"experiment '{name}' has no trials")
            _show_trial(name, found[0], as_json)
            return
        visible, hidden, rows = trial_rows(records)
        if csv_path:
            with open(csv_path, "w", newline="", encoding="utf-8") as f:
                writer = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["number", "arch", "status"])
                writer.writeheader()
                writer.writerows(rows)
        if as_json:
            echo_json({"experiment": name, "status": rec.status, "visible_metrics": visible,
                       "hidden_metrics": hidden, "trials": rows, **({"csv": csv_path} if csv_path else {})})
            return
        head = ["#", "status", *visible, *[f"{m} (hidden)" for m in hidden], "cost s", "fidelity", "error",
                "architecture"]
        table = [head]
        for r in rows:
            table.append([str(r["number"]), r["status"], *(_num(r[m]) for m in visible),
                          *(_num(r[f"hidden:{m}"]) for m in hidden), _num(r["cost"]), _num(r["fidelity"]),
                          r["error"], r["arch"]])
        print_table(table, title=f"{name} ({rec.status}): {len(rows)} trials; hidden metrics were never shown "
                                 "to the search")
        if csv_path:
            click.echo(f"wrote {len(rows)} trials to {csv_path}")
