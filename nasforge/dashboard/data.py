"""The dashboard's read model: what the JSON API serves, computed from a read-only store.

A :class:`DashboardData` holds one read-only :class:`~nasforge.storage.Store` and a cache of the
counted trials of each experiment. Counted trials never change once told, so every refresh asks
SQLite only for the trials told since the last one (:meth:`Store.trials_after`): each request is a
few short read transactions, and a search writing to the same file is never blocked (WAL).

Everything returned is JSON-ready (NaN and infinities become ``None``).

Example:
    >>> data = DashboardData("runs.db")  # doctest: +SKIP
    >>> [e["name"] for e in data.experiments()]  # doctest: +SKIP
    ['rea']
"""

from __future__ import annotations

import bisect
import json
import math
import re
import shlex
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nasforge.errors import InvalidConfigError, NasforgeError
from nasforge.evaluators.base import Objective, Status, parse_objectives
from nasforge.storage import ExperimentRecord, Store, TrialRecord

__all__ = ["DashboardData", "clean_json", "draw_architecture"]

_NB201_EDGE = re.compile(r"^(\d+)<-(\d+)$")
_DARTS_LABEL = re.compile(r"^(normal|reduce)\.n(\d+)\.(inputs|op(\d+))$")
MAX_LOG_CHARS = 20_000


def clean_json(obj: Any) -> Any:
    """``obj`` with non-finite floats replaced by ``None`` (strict JSON)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {str(k): clean_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clean_json(v) for v in obj]
    return obj


def _finite(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and math.isfinite(v) else None


@dataclass
class _Cache:
    """The counted trials of one experiment read so far, and running totals over them."""

    created: float
    trials: list[TrialRecord] = field(default_factory=list)
    last: int = -1
    best: TrialRecord | None = None
    best_score: float = -math.inf
    failed: int = 0
    cost: float = 0.0


def _objectives(spec: Mapping[str, Any]) -> tuple[Objective, ...]:
    try:
        return parse_objectives(spec.get("objectives") or None, "val_acc")
    except NasforgeError:
        return (Objective("val_acc"),)


def _method(spec: Mapping[str, Any]) -> str:
    if spec.get("kind") == "oneshot":
        m = spec.get("method") or spec.get("strategy") or "?"
        return str(m.get("name", "?") if isinstance(m, Mapping) else m)
    s = spec.get("strategy") or {}
    return str(s.get("name", "?") if isinstance(s, Mapping) else s)


def _evaluator(spec: Mapping[str, Any]) -> str:
    ev = spec.get("evaluator") or {}
    if not isinstance(ev, Mapping):
        return str(ev)
    if ev.get("kind") == "benchmark":
        return f"benchmark {ev.get('name')} ({ev.get('dataset')})"
    if ev.get("dataset") or spec.get("dataset"):
        return f"{ev.get('kind', 'train')} {ev.get('dataset') or spec.get('dataset')}"
    return str(ev.get("kind", "?"))


def _value(t: TrialRecord, obj: Objective) -> float | None:
    return _finite(t.metrics.get(obj.metric)) if t.status == Status.OK else None


def _space_drawing(space: Any, arch_key: str) -> dict[str, Any] | None:
    """The drawing from the space's own :meth:`~nasforge.spaces.base.SearchSpace.cell_graphs` (None when the
    space draws no cells or the architecture does not read back)."""
    from nasforge.arch import Architecture

    try:
        graphs = space.cell_graphs(Architecture.from_key(arch_key))
    except Exception:  # noqa: BLE001 - a drawing is optional: fall back to the labels
        return None
    if not graphs:
        return None
    cells = []
    for name, g in graphs.items():
        index = {n: i for i, n in enumerate(g.nodes)}
        cells.append({"name": name, "nodes": list(g.nodes),
                      "edges": [{"src": index[a], "dst": index[b], "op": op} for a, b, op in g.edges]})
    return {"kind": "cells", "cells": cells}


def draw_architecture(arch_key: str, arch: str = "", space: Any = None) -> dict[str, Any]:
    """A drawing of an architecture for the browser.

    Cell spaces (NB201 labels ``"j<-i"``, DARTS labels ``"normal.n2.op0"``) become ``{"kind": "cells",
    "cells": [{"name", "nodes": [label...], "edges": [{"src", "dst", "op"}]}]}``; any other space becomes
    ``{"kind": "layers", "layers": [{"name", "values": [[label, value], ...]}]}``.

    Args:
        arch_key: the architecture's canonical JSON form (``TrialRecord.arch_key``).
        arch: its string form, used when the key is not a JSON object.
        space: the experiment's space; a space that draws its cells (``cell_graphs``: NB201, DARTS,
            NB101, ...) is drawn that way.
    """
    if space is not None:
        drawn = _space_drawing(space, arch_key)
        if drawn is not None:
            return drawn
    try:
        choices = json.loads(arch_key)
    except (TypeError, ValueError):
        choices = None
    if not isinstance(choices, dict):
        return {"kind": "layers", "layers": [{"name": "architecture", "values": [["arch", arch or str(arch_key)]]}]}
    if choices and all(_NB201_EDGE.match(k) for k in choices):
        n = 1 + max(int(_NB201_EDGE.match(k).group(1)) for k in choices)  # type: ignore[union-attr]
        edges = [{"src": int(m.group(2)), "dst": int(m.group(1)), "op": str(v)}
                 for k, v in sorted(choices.items()) if (m := _NB201_EDGE.match(k))]
        return {"kind": "cells", "cells": [{"name": "cell", "nodes": [f"node {i}" for i in range(n)], "edges": edges}]}
    if choices and all(_DARTS_LABEL.match(k) for k in choices):
        cells = []
        for cell in ("normal", "reduce"):
            nodes = sorted({int(m.group(2)) for k in choices if (m := _DARTS_LABEL.match(k)) and m.group(1) == cell})
            if not nodes:
                continue
            edges = []
            for node in nodes:
                inputs = choices.get(f"{cell}.n{node}.inputs") or []
                for j, src in enumerate(inputs):
                    edges.append({"src": int(src), "dst": node, "op": str(choices.get(f"{cell}.n{node}.op{j}"))})
            out = max(nodes) + 1
            edges += [{"src": node, "dst": out, "op": ""} for node in nodes]
            labels = ["c_{k-2}", "c_{k-1}"] + [f"node {i}" for i in range(2, out)] + ["output"]
            cells.append({"name": cell, "nodes": labels, "edges": edges})
        return {"kind": "cells", "cells": cells}
    groups: dict[str, list[list[Any]]] = {}
    for label, value in choices.items():
        head, _, tail = label.rpartition(".")
        groups.setdefault(head or label, []).append([tail if head else label, value])

    def order(name: str) -> list[Any]:
        return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name)]

    return {"kind": "layers", "layers": [{"name": k, "values": groups[k]} for k in sorted(groups, key=order)]}


class DashboardData:
    """Read-only views of one store for the dashboard (see the module docstring).

    Args:
        path: the SQLite store; it must exist and be a nasforge store.

    Raises:
        StorageError: the file is missing or not a nasforge store.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self.store = Store(self.path, read_only=True, follow=True)  # sees searches started after it
        self._cache: dict[int, _Cache] = {}

    def close(self) -> None:
        self.store.close()

    # ------------------------------------------------------------------ reading
    def _records(self) -> dict[str, ExperimentRecord]:
        return {r.name: r for r in self.store.list_experiments()}

    def _record(self, name: str) -> ExperimentRecord:
        rec = self._records().get(name)
        if rec is None:
            self.store.get_experiment(name)  # raises ExperimentNotFoundError listing the names
            raise InvalidConfigError(f"no experiment '{name}'")  # pragma: no cover - get_experiment raised
        return rec

    def _trials(self, rec: ExperimentRecord) -> list[TrialRecord]:
        return self._read(rec).trials

    def _read(self, rec: ExperimentRecord) -> _Cache:
        cache = self._cache.get(rec.id)
        if cache is None or cache.created != rec.created:
            cache = self._cache[rec.id] = _Cache(rec.created)
        new = self.store.trials_after(rec.id, cache.last)
        if new:
            obj = _objectives(rec.spec)[0]
            for t in new:
                v = _value(t, obj)
                if v is not None and obj.score(v) > cache.best_score:
                    cache.best, cache.best_score = t, obj.score(v)
                cache.failed += t.status != Status.OK
                cache.cost += t.cost
            cache.trials.extend(new)
            cache.last = new[-1].tell_order if new[-1].tell_order is not None else cache.last
        return cache

    # ------------------------------------------------------------------ experiments
    def _summary(self, rec: ExperimentRecord) -> dict[str, Any]:
        cache = self._read(rec)
        trials, best = cache.trials, cache.best
        objs = _objectives(rec.spec)
        last = trials[-1] if trials else None
        budget = rec.spec.get("budget") or {}
        return {
            "name": rec.name,
            "kind": "oneshot" if rec.spec.get("kind") == "oneshot" else "blackbox",
            "space": (rec.spec.get("space") or {}).get("name", "?") if isinstance(rec.spec.get("space"), Mapping)
            else str(rec.spec.get("space", "?")),
            "method": _method(rec.spec),
            "evaluator": _evaluator(rec.spec),
            "status": rec.status,
            "objectives": [str(o) for o in objs],
            "trials": len(trials),
            "failed": cache.failed,
            "budget": {k: budget.get(k) for k in ("trials", "seconds", "wall_seconds", "epochs") if budget.get(k)},
            "charged_seconds": cache.cost,
            "best": None if best is None else {"number": best.number, "arch": best.arch,
                                               "value": _value(best, objs[0]), "metric": objs[0].metric},
            "created": rec.created,
            "updated": max(rec.updated, (last.finished or 0.0) if last else 0.0),
            "device": last.info.get("device") if last else None,
            "precision": last.info.get("precision") if last else None,
        }

    def experiments(self) -> list[dict[str, Any]]:
        """One summary per experiment, oldest first."""
        return [self._summary(r) for r in self._records().values()]

    def experiment(self, name: str) -> dict[str, Any]:
        """One experiment's summary plus its spec."""
        rec = self._record(name)
        return {**self._summary(rec), "spec": rec.spec, "storage": self.path}

    @staticmethod
    def _row(t: TrialRecord) -> dict[str, Any]:
        # built JSON-ready here (no clean_json pass): a poll may carry thousands of rows
        return {"number": t.number, "order": t.tell_order, "arch": t.arch, "status": t.status,
                "metrics": {k: _finite(v) for k, v in t.metrics.items()},
                "hidden": {k: _finite(v) for k, v in t.hidden.items()}, "cost": _finite(t.cost),
                "fidelity": _finite(t.fidelity), "params": t.params, "error": t.error, "finished": t.finished}

    def trials(self, name: str, after: int = -1) -> dict[str, Any]:
        """The counted trials told after ``after`` (a tell order; -1 for all), in tell order, and the
        experiment's summary, so a page can follow a running search by asking for what is new."""
        rec = self._record(name)
        trials = self._trials(rec)
        start = bisect.bisect_right(trials, after, key=lambda t: t.tell_order if t.tell_order is not None else -1)
        new = [self._row(t) for t in trials[start:]]
        return {"experiment": self._summary(rec), "trials": new,
                "last": trials[-1].tell_order if trials else -1}

    def _top(self, rec: ExperimentRecord, k: int) -> list[TrialRecord]:
        obj = _objectives(rec.spec)[0]
        scored = [(obj.score(v), t) for t in self._trials(rec) if (v := _value(t, obj)) is not None]
        scored.sort(key=lambda p: (-p[0], p[1].number))
        return [t for _, t in scored[:k]]

    def insights(self, name: str, top: int = 10) -> dict[str, Any]:
        """Slower-changing views of an experiment: op frequency among the best ``top`` trials (or the best
        10 %, whichever is more), the stored learning curves of the best ``top`` trials, and the
        architecture-weight history of one-shot runs."""
        rec = self._record(name)
        trials = self._trials(rec)
        n_top = max(top, len(trials) // 10)
        best = self._top(rec, n_top)
        freq: dict[str, Counter[str]] = {}
        for t in best:
            try:
                choices = json.loads(t.arch_key)
            except ValueError:
                continue
            for label, value in (choices.items() if isinstance(choices, dict) else ()):
                freq.setdefault(label, Counter())[json.dumps(value) if not isinstance(value, str) else value] += 1
        ops = [{"label": label, "counts": c.most_common()} for label, c in sorted(freq.items())]
        curves = [{"number": t.number, "arch": t.arch, "curve": t.info["curve"]}
                  for t in self._top(rec, top) if isinstance(t.info.get("curve"), list) and t.info["curve"]]
        weights = [{"number": t.number, "epoch": i + 1, "weights": t.info["arch_weights"]}
                   for i, t in enumerate(trials) if isinstance(t.info.get("arch_weights"), Mapping)]
        return {"top": len(best), "ops": ops, "curves": curves, "arch_weights": weights}

    def trial(self, name: str, number: int) -> dict[str, Any]:
        """One trial in full: metrics, info (recipe, device, curve, log), drawing and commands."""
        rec = self._record(name)
        found = [t for t in self.store.trials(rec.id) if t.number == number]
        if not found:
            raise InvalidConfigError(f"experiment '{name}' has no trial {number}")
        t = found[0]
        info = dict(t.info)
        log = str(info.pop("log", "") or "")
        return {"experiment": self._summary(rec), "number": t.number, "order": t.tell_order, "arch": t.arch,
                "status": t.status, "metrics": t.metrics, "hidden": t.hidden, "cost": t.cost,
                "fidelity": t.fidelity, "params": t.params, "error": t.error, "started": t.started,
                "finished": t.finished, "curve": info.pop("curve", None) or [], "log": log[-MAX_LOG_CHARS:],
                "info": info, "recipe": self._recipe(rec.spec, info), "drawing": draw_architecture(t.arch_key, t.arch, self._space(rec)),
                "commands": self._commands(rec, t)}

    @staticmethod
    def _space(rec: ExperimentRecord) -> Any:
        """The experiment's search space, or None when it cannot be rebuilt here (a space defined in
        another process's Python code)."""
        from nasforge.spaces import space_from_spec

        block = rec.spec.get("space")
        try:
            return space_from_spec(block if isinstance(block, Mapping) else {"name": str(block), "config": {}})
        except Exception:  # noqa: BLE001 - the drawing falls back to the architecture's labels
            return None

    @staticmethod
    def _recipe(spec: Mapping[str, Any], info: Mapping[str, Any]) -> dict[str, Any]:
        ev = spec.get("evaluator") if isinstance(spec.get("evaluator"), Mapping) else {}
        recipe: dict[str, Any] = dict(ev.get("config") or {}) if ev else {}
        if isinstance(info.get("recipe"), Mapping):
            recipe.update(info["recipe"])
        for key in ("device", "precision"):
            if info.get(key) is not None:
                recipe[key] = info[key]
        return recipe

    def _commands(self, rec: ExperimentRecord, t: TrialRecord) -> list[dict[str, str]]:
        space = (rec.spec.get("space") or {}).get("name", "nb201") if isinstance(rec.spec.get("space"), Mapping) \
            else str(rec.spec.get("space", "nb201"))
        ev = rec.spec.get("evaluator") if isinstance(rec.spec.get("evaluator"), Mapping) else {}
        dataset = (ev or {}).get("dataset") or rec.spec.get("dataset") or "digits"
        q = shlex.quote
        train = f"nasforge train --space {q(space)} --arch {q(t.arch)} --dataset {q(str(dataset))}"
        epochs = ((ev or {}).get("config") or {}).get("epochs") if ev else None
        if epochs:
            train += f" --epochs {int(epochs)}"
        export = f"nasforge export {q(rec.name)} --storage {q(self.path)} --format onnx --out best.onnx"
        return [{"what": "retrain this architecture", "command": train},
                {"what": "export the experiment's best architecture", "command": export}]

    # ------------------------------------------------------------------ compare
    def compare(self, names: Sequence[str], points: int = 300) -> dict[str, Any]:
        """Best-so-far curves of several experiments on common grids (against trials and against charged
        seconds), and for experiments that differ only in their seed, the mean and one standard
        deviation across those seeds."""
        if not names:
            raise InvalidConfigError("compare needs at least one experiment name")
        recs = [self._record(n) for n in names]
        runs = []
        for rec in recs:
            obj = _objectives(rec.spec)[0]
            best, costs, vals = -math.inf, [], []
            cum = 0.0
            for t in self._trials(rec):
                cum += t.cost
                v = _value(t, obj)
                if v is not None:
                    best = max(best, obj.score(v))
                costs.append(cum)
                vals.append(obj.score(best) if math.isfinite(best) else math.nan)
            runs.append({"name": rec.name, "metric": str(obj), "costs": np.array(costs), "vals": np.array(vals)})
        n_max = max((len(r["vals"]) for r in runs), default=0)
        grid_t = np.unique(np.linspace(1, max(n_max, 1), min(points, max(n_max, 1))).round().astype(int))
        c_max = max((r["costs"][-1] for r in runs if len(r["costs"])), default=1.0) or 1.0
        grid_s = np.linspace(0.0, c_max, points)

        def on_trials(r: dict[str, Any]) -> np.ndarray:
            v = np.full(len(grid_t), np.nan)
            ok = grid_t <= len(r["vals"])
            v[ok] = r["vals"][grid_t[ok] - 1]
            return v

        def on_seconds(r: dict[str, Any]) -> np.ndarray:
            v = np.full(len(grid_s), np.nan)
            if len(r["costs"]):
                idx = np.searchsorted(r["costs"], grid_s, side="right") - 1
                ok = (idx >= 0) & (grid_s <= r["costs"][-1])
                v[ok] = r["vals"][idx[ok]]
            return v

        groups: dict[str, list[int]] = {}
        for i, rec in enumerate(recs):
            key = json.dumps({k: v for k, v in rec.spec.items() if k != "seed"}, sort_keys=True, default=str)
            groups.setdefault(key, []).append(i)
        out: dict[str, Any] = {"experiments": [r["name"] for r in runs], "metric": runs[0]["metric"]}
        for axis, grid, fn in (("trials", grid_t, on_trials), ("seconds", grid_s, on_seconds)):
            series = [fn(r) for r in runs]
            agg = []
            for members in groups.values():
                if len(members) < 2:
                    continue
                stack = np.vstack([series[i] for i in members])
                have = np.all(np.isfinite(stack), axis=0)
                mean = np.where(have, np.nanmean(np.where(have, stack, 0.0), axis=0), np.nan)
                std = np.where(have, np.nanstd(np.where(have, stack, 0.0), axis=0), np.nan)
                label = f"{_method(recs[members[0]].spec)} mean of {len(members)} seeds"
                agg.append({"label": label, "members": [runs[i]["name"] for i in members],
                            "mean": mean.tolist(), "lo": (mean - std).tolist(), "hi": (mean + std).tolist()})
            out[axis] = {"x": grid.tolist(), "series": [{"name": r["name"], "y": s.tolist()}
                                                        for r, s in zip(runs, series)], "groups": agg}
        return clean_json(out)

    def status(self) -> dict[str, Any]:
        """The store being served and the server time (lets a page tell whether it is live)."""
        return {"storage": self.path, "now": time.time(), "read_only": True}
