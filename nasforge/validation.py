"""Fail fast: everything about an experiment that can be checked before its first trial.

:func:`check_spec` checks the numbers of a spec (budget, seed, training settings, constraints);
:func:`check_experiment` checks the built components against each other: the dataset can be read,
the space builds networks for that kind of data, and every hardware constraint is reachable by
some architecture of the space. :func:`nasforge.api.build_experiment` calls both, so a bad setting
is refused with one clear :class:`~nasforge.errors.InvalidConfigError` before the store holds the
experiment and before trial 0, instead of turning into a search whose every trial fails.

Example:
    >>> check_spec({"seed": -1, "budget": {"trials": 5}})
    Traceback (most recent call last):
    ...
    nasforge.errors.InvalidConfigError: seed must be an integer >= 0, but got -1
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from nasforge.arch import Architecture
from nasforge.errors import InvalidConfigError, NasforgeError
from nasforge.spaces.base import SearchSpace

__all__ = ["check_experiment", "check_spec", "check_train_settings", "smallest_cost"]

# training setting -> (kind, lower bound, lower bound inclusive?, upper bound or None)
_TRAIN_RULES: dict[str, tuple[str, float, bool, float | None]] = {
    "epochs": ("int", 1, True, None),
    "batch_size": ("int", 1, True, None),
    "threads": ("int", 1, True, None),
    "max_train": ("int", 2, True, None),  # one batch-norm step needs two samples
    "seed": ("int", 0, True, None),
    "lr": ("float", 0.0, False, None),
    "weight_decay": ("float", 0.0, True, None),
    "label_smoothing": ("float", 0.0, True, 1.0),
    "val_fraction": ("float", 0.0, False, 1.0),
}
# model (``space.build``) setting -> smallest allowed value
_MODEL_MINIMUM = {"channels": 1, "layers": 1, "cells_per_stage": 0}
# cost metrics whose smallest value over a space can be found by building networks on the meta device
_SHAPE_METRICS = ("params_M", "flops_M", "macs_M")


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _check_range(what: str, v: Any, kind: str, low: float, inclusive: bool, high: float | None) -> None:
    if kind == "int" and (not isinstance(v, int) or isinstance(v, bool)):
        raise InvalidConfigError(f"{what} must be an integer >= {low:g}, but got {v!r}")
    if not _is_number(v) or not math.isfinite(v):
        raise InvalidConfigError(f"{what} must be a finite number, but got {v!r}")
    ok_low = v >= low if inclusive else v > low
    ok_high = high is None or v < high
    if not (ok_low and ok_high):
        rule = f"{'>=' if inclusive else '>'} {low:g}" if kind == "int" or high is None else \
            f"in {'[' if inclusive else '('}{low:g}, {high:g})"
        if kind == "int":
            raise InvalidConfigError(f"{what} must be an integer {rule}, but got {v!r}")
        raise InvalidConfigError(f"{what} must be {rule}, but got {v!r}")


def check_train_settings(cfg: Mapping[str, Any], prefix: str = "training setting ") -> None:
    """Check the numeric training settings (epochs, batch size, learning rate, ...) and model settings.

    Args:
        cfg: a training config as in ``spec["evaluator"]["config"]`` (keys of
            :class:`~nasforge.training.Recipe` and :class:`~nasforge.training.DataSettings`).
        prefix: how the message names a setting.

    Raises:
        InvalidConfigError: a setting is not finite, not an integer where one is needed, or out of range.
    """
    for key, (kind, low, inclusive, high) in _TRAIN_RULES.items():
        v = cfg.get(key)
        if v is None:
            continue
        _check_range(f"{prefix}{key}", v, kind, low, inclusive, high)
    model = cfg.get("model") or {}
    if not isinstance(model, Mapping):
        raise InvalidConfigError(f"{prefix}model must be a mapping of network settings, but got {model!r}")
    for key, v in model.items():
        if _is_number(v) and not math.isfinite(v):
            raise InvalidConfigError(f"model setting {key} must be finite, but got {v!r}")
        if key in _MODEL_MINIMUM:
            _check_range(f"model setting {key}", v, "int", _MODEL_MINIMUM[key], True, None)


def check_spec(spec: Mapping[str, Any]) -> None:
    """Check the settings of a spec that need no component: seed, budget, training settings, constraints.

    Raises:
        InvalidConfigError: naming the setting, the rule and the value.
    """
    seed = spec.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise InvalidConfigError(f"seed must be an integer >= 0, but got {seed!r}")
    budget = spec.get("budget") or {}
    trials = budget.get("trials")
    if trials is not None:
        _check_range("budget trials", trials, "int", 1, True, None)
    for key in ("seconds", "wall_seconds"):
        v = budget.get(key)
        if v is not None and not (_is_number(v) and math.isfinite(v) and v > 0):
            raise InvalidConfigError(f"budget {key} must be a finite number > 0, but got {v!r}")
    ev = spec.get("evaluator") or {}
    if ev.get("kind") == "train":
        check_train_settings(ev.get("config") or {})
    for c in spec.get("constraints") or ():
        v = c.get("upper")
        if not (_is_number(v) and math.isfinite(v)):
            raise InvalidConfigError(f"constraint {c.get('metric')} <= {v!r}: the bound must be a finite number")


def _unwrap(evaluator: Any) -> Any:
    return getattr(evaluator, "inner", evaluator)


def _shape_text(shape: tuple[int, ...]) -> str:
    return " x ".join(str(d) for d in shape)


def _first_arch(space: SearchSpace) -> Architecture:
    """The architecture that takes the first option of every active dimension, or, where that one is not
    valid (an NB101 cell without edges), the space's first random sample (seed 0)."""
    import numpy as np

    from nasforge.errors import InvalidArchitectureError

    arch = space.complete({})
    try:
        return space.validate(arch)
    except InvalidArchitectureError:
        return space.sample(np.random.default_rng(0))


def _probe(space: SearchSpace, arch: Architecture, shape: tuple[int, ...], kwargs: Mapping[str, Any]) -> None:
    """Build ``arch`` for inputs of ``shape`` and run two zero samples through it (raises what it raises)."""
    import torch

    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(0)
        model = space.build(arch, **dict(kwargs))
        model.eval()
        model(torch.zeros((2, *shape)))


def _check_data(space: SearchSpace, inner: Any) -> None:
    """Dataset readable, at least two classes, and a space that builds networks for that kind of input."""
    from nasforge.data.datasets import load_dataset
    from nasforge.hardware.evaluator import model_setup

    data = load_dataset(inner.dataset, root=inner.data_root, target=inner.settings.target)
    present = len(set(data.y_train.tolist()))
    if present < 2:
        raise InvalidConfigError(
            f"dataset '{data.name}' has {present} class in its training split; classification needs at least 2")
    shape = tuple(data.input_shape)
    kind = "image" if len(shape) == 3 else "tabular" if len(shape) == 1 else f"{len(shape)}-d"
    wants = getattr(space, "data_kind", None)
    if wants is not None and wants != kind:
        found = f"images ({_shape_text(shape)})" if kind == "image" else \
            f"tabular ({shape[0]} features)" if kind == "tabular" else f"samples of shape {shape}"
        hint = "; use a tabular space such as --space mlp" if kind == "tabular" else \
            "; use an image space such as --space nb201" if kind == "image" else ""
        raise InvalidConfigError(
            f"space '{space.name}' builds networks for {wants} data, but dataset '{data.name}' holds {found}{hint}")
    _, kwargs = model_setup(inner, space)
    arch = _first_arch(space)
    try:
        _probe(space, arch, shape, kwargs)
    except NasforgeError:
        raise
    except Exception as exc:  # noqa: BLE001 - any build/forward error here would fail every trial the same way
        raise InvalidConfigError(
            f"space '{space.name}' cannot build a network for dataset '{data.name}' (inputs {_shape_text(shape)}, "
            f"{data.num_classes} classes, settings {dict(inner.settings.model or {})}): {type(exc).__name__}: {exc}") from None


def smallest_cost(evaluator: Any, space: SearchSpace, metric: str, *, passes: int = 3,
                  stop_below: float | None = None) -> tuple[float, Architecture]:
    """The smallest value of a shape-only cost metric (``params_M``, ``flops_M``, ``macs_M``) over ``space``.

    A coordinate search: start from the architecture taking every dimension's first option and change one
    dimension at a time to its cheapest option until nothing improves (at most ``passes`` sweeps). Networks
    are built on the meta device, so no weight is allocated. The result is exact when the metric is a sum of
    per-dimension costs (each cell edge's operation adds its own parameters, as in NB201 and DARTS) and an
    upper bound on the minimum otherwise.

    Args:
        evaluator: a :class:`~nasforge.hardware.CostEvaluator` (its input shape and build settings are used).
        space: the search space.
        metric: one of ``params_M``, ``flops_M``, ``macs_M``.
        passes: at most this many sweeps over the dimensions.
        stop_below: stop as soon as an architecture with a value at most this is found (enough to know a
            constraint is reachable).

    Returns:
        ``(value, architecture reaching it)``.
    """
    best = _first_arch(space)
    best_v = evaluator.costs(best)[metric]
    for _ in range(passes):
        if stop_below is not None and best_v <= stop_below:
            break
        improved = False
        for d in space.dimensions:
            if d.label not in best:
                continue
            for v in d.all_values():
                if v == best[d.label]:
                    continue
                cand = space.complete({**dict(best), d.label: v})
                cv = evaluator.costs(cand)[metric]
                if cv < best_v - 1e-12:
                    best, best_v, improved = cand, cv, True
                    if stop_below is not None and best_v <= stop_below:
                        return best_v, best
        if not improved:
            break
    return best_v, best


def _table_column(inner: Any, metric: str) -> Any:
    """The benchmark table's column for ``metric`` (``params_M`` is ``params_M_c10``), or None."""
    columns = getattr(getattr(inner, "table", None), "columns", None)
    if not isinstance(columns, Mapping):
        return None
    return columns.get("params_M_c10" if metric == "params_M" else metric, columns.get(metric))


def _check_table_constraints(inner: Any, spec: Mapping[str, Any]) -> set[str]:
    """Refuse constraints that no row of a benchmark table meets; returns the metrics checked this way."""
    import numpy as np

    checked: set[str] = set()
    for c in spec.get("constraints") or ():
        metric, upper = str(c["metric"]), float(c["upper"])
        col = _table_column(inner, metric)
        if col is None:
            continue
        checked.add(metric)
        values = np.asarray(col, dtype=float)
        finite = np.isfinite(values)
        if not finite.any():
            continue
        i = int(np.argmin(np.where(finite, values, np.inf)))
        if values[i] > upper:
            name = getattr(getattr(inner, "path", None), "name", "the benchmark table")
            raise InvalidConfigError(
                f"no architecture of {name} meets {metric} <= {upper:g}: the smallest value in the table is "
                f"{values[i]:.6g} ({inner.table.arch_strs[i]})")
    return checked


def _check_constraints(space: SearchSpace, evaluator: Any, spec: Mapping[str, Any], skip: set[str]) -> None:
    """Refuse shape-metric bounds (params, FLOPs) that no architecture of the space meets."""
    bounds = {str(c["metric"]): float(c["upper"]) for c in spec.get("constraints") or ()}
    bounds.update(getattr(evaluator, "skip_if", None) or {})
    measured = set(getattr(evaluator, "metrics", ()) or ())
    for metric, upper in bounds.items():
        if metric not in _SHAPE_METRICS or metric in skip or metric not in measured:
            continue
        value, arch = smallest_cost(evaluator, space, metric, stop_below=upper)
        if value > upper:
            unit = {"params_M": ("parameters", 1e6), "flops_M": ("FLOPs", 1e6), "macs_M": ("multiply-adds", 1e6)}
            what, scale = unit[metric]
            flag = {"params_M": "--max-params", "flops_M": "--max-flops"}.get(metric, metric)
            trains = (spec.get("evaluator") or {}).get("kind") == "train"
            smaller = " or make the network narrower (--channels)" if trains and "channels" in space.config else ""
            raise InvalidConfigError(
                f"no architecture of space '{space.name}' meets {metric} <= {upper:g}: the smallest network of "
                f"the space at these settings has {value * scale:,.0f} {what} ({metric} {value:.6g}, "
                f"{space.to_string(arch)}); raise {flag}{smaller}")


def check_experiment(space: SearchSpace, evaluator: Any, spec: Mapping[str, Any]) -> None:
    """Check built components against each other before any trial runs.

    - real training: the data file exists and reads, the training split has at least two classes, the
      space builds networks for that kind of data (images or tabular features), and the network of the
      space's first architecture builds and runs on two samples of the data's shape;
    - hardware constraints on parameters or FLOPs that no architecture of the space can meet are refused,
      with the smallest value the space reaches; on a benchmark table, a constraint on one of its
      columns (``params_M``, a latency column such as ``pixel3``) that no row meets is refused too.

    Raises:
        InvalidConfigError, DatasetUnavailableError, UnknownNameError: with one clear line.
    """
    from nasforge.evaluators.training import TrainingEvaluator

    inner = _unwrap(evaluator)
    if isinstance(inner, TrainingEvaluator):
        _check_data(space, inner)
    from_table = _check_table_constraints(inner, spec)
    if inner is not evaluator:
        _check_constraints(space, evaluator, spec, from_table)
