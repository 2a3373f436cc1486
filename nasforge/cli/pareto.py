"""``nasforge pareto``: the Pareto front of a stored multi-objective search, as a table, JSON or plot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import numpy as np

from nasforge.cli.common import echo_json, handle_errors, print_table, storage_option
from nasforge.errors import InvalidConfigError

__all__ = ["register", "stored_front"]


def stored_front(storage: str, name: str, objectives: str | None = None) -> dict[str, Any]:
    """Front and evaluated points of experiment ``name`` (objectives from its spec unless given).

    The front is over feasible, successful trials (one per architecture, as the runner reports
    it); infeasible ones are kept apart so a plot can show them.
    """
    from nasforge.api import open_store
    from nasforge.evaluators.base import Status, parse_objectives
    from nasforge.pareto import pareto_mask
    from nasforge.runner import Constraint

    if not Path(storage).exists():
        raise InvalidConfigError(f"store {storage} does not exist; run `nasforge search --storage {storage}` first")
    with open_store(storage) as store:
        rec = store.get_experiment(name)
        trials = sorted((t for t in store.trials(rec.id) if t.tell_order is not None), key=lambda t: t.tell_order or 0)
    objs = parse_objectives(objectives or rec.spec.get("objectives"), "val_acc")
    if len(objs) < 2:
        raise InvalidConfigError(
            f"a Pareto front needs at least 2 objectives, but experiment '{name}' has {len(objs)} "
            f"({', '.join(map(str, objs))}); pass --objectives, e.g. --objectives val_acc:max,params_M:min")
    cons = [Constraint(c["metric"], c["upper"]) for c in rec.spec.get("constraints", [])]
    seen: dict[str, Any] = {}
    for t in trials:
        if t.status == Status.OK and all(o.metric in t.metrics for o in objs):
            seen.setdefault(t.arch_key, t)
    items = list(seen.values())
    missing = [o.metric for o in objs if items and not any(o.metric in t.metrics for t in items)]
    if not items:
        known = sorted({k for t in trials for k in t.metrics})
        raise InvalidConfigError(
            f"experiment '{name}' has no successful trial with metrics {[o.metric for o in objs]}; "
            f"its trials have: {', '.join(known) or 'none'}")
    if missing:
        raise InvalidConfigError(f"no trial has metric(s) {missing}")
    feasible = np.array([all(c.satisfied(t.metrics) for c in cons) for t in items], dtype=bool)
    scores = np.array([[o.score(t.metrics[o.metric]) for o in objs] for t in items])
    front_mask = np.zeros(len(items), dtype=bool)
    if feasible.any():
        idx = np.flatnonzero(feasible)
        front_mask[idx[pareto_mask(scores[idx])]] = True
    hidden = sorted({k for t in items for k in t.hidden})
    report = (rec.spec.get("evaluator") or {}).get("report") or (hidden[0] if len(hidden) == 1 else None)
    return {"experiment": name, "objectives": objs, "constraints": cons, "items": items, "feasible": feasible,
            "front": np.flatnonzero(front_mask), "report_metric": report, "failed": sum(t.status != Status.OK
                                                                                         for t in trials)}


def register(cli: click.Group) -> None:
    """Add the ``pareto`` command."""

    @cli.command()
    @click.argument("name")
    @storage_option
    @click.option("--objectives", help="Objectives to use instead of the search's, e.g. val_acc:max,params_M:min.")
    @click.option("--plot", type=click.Path(dir_okay=False), help="Write the front against all evaluated points "
                  "(first two objectives) to this PNG.")
    @click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
    @handle_errors
    def pareto(name: str, storage: str, objectives: str | None, plot: str | None, as_json: bool) -> None:
        """Show the Pareto front of a stored multi-objective search."""
        from nasforge.pareto import plot_pareto

        data = stored_front(storage, name, objectives)
        objs, items, front = data["objectives"], data["items"], data["front"]
        # best first objective first
        order = sorted(front, key=lambda i: -objs[0].score(items[i].metrics[objs[0].metric]))
        rows = []
        for i in order:
            t = items[i]
            row: dict[str, Any] = {"arch": t.arch, "number": t.number,
                                   "metrics": {**{o.metric: t.metrics[o.metric] for o in objs}, **t.metrics,
                                               **t.hidden}}
            rows.append(row)
        out: dict[str, Any] = {"experiment": name, "objectives": [str(o) for o in objs],
                               "constraints": [{"metric": c.metric, "upper": c.upper} for c in data["constraints"]],
                               "evaluated": len(items), "feasible": int(data["feasible"].sum()),
                               "failed": data["failed"], "pareto": rows}
        if plot:
            pts = np.array([[t.metrics[objs[0].metric], t.metrics[objs[1].metric]] for t in items])
            labels = [f"{o.metric} ({o.direction})" for o in objs[:2]]
            note = "" if len(objs) == 2 else f" (front over {len(objs)} objectives)"
            plot_pareto(pts, front, plot, labels=labels, directions=[o.direction for o in objs[:2]],
                        infeasible=~data["feasible"], title=f"{name}: {len(front)} Pareto-optimal of "
                        f"{len(items)} evaluated{note}")
            out["plot"] = str(Path(plot).resolve())
        if as_json:
            echo_json(out)
            return
        report = data["report_metric"]
        head = ["#", *[str(o) for o in objs]] + ([report] if report else []) + ["architecture"]
        table = [head]
        for r in rows:
            m = r["metrics"]
            table.append([str(r["number"]), *[f"{m[o.metric]:.4g}" for o in objs]]
                         + ([f"{m[report]:.4g}" if report in m else "-"] if report else []) + [r["arch"]])
        print_table(table, title=f"{name}: Pareto front ({len(rows)} of {len(items)} evaluated, "
                                 f"{out['feasible']} feasible)")
        if plot:
            click.echo(f"plot written to {out['plot']}")
