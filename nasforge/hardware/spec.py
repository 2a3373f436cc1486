"""How hardware limits and cost objectives enter an experiment spec (used by the API and the CLI).

``--max-params 200k`` -> constraint ``params_M <= 0.2``; ``--max-flops 50M`` -> ``flops_M <= 50``;
``--max-latency-ms 12`` -> a constraint on a latency metric chosen by ``--latency-column``:

- ``measured`` (default with ``--dataset``): ``latency_ms``, timed on this machine;
- ``lut``: ``latency_lut_ms``, predicted by this machine's per-op look-up table;
- a device column of the NB201 latency table (``pixel3``, ``raspi4``, ``titan_rtx_256``, ...), with
  ``--benchmark``; a benchmark search must name one (or ``measured``/``lut``) explicitly, because
  "latency" of a table benchmark is otherwise ambiguous.

``measured`` latency is timed while the search runs, so it is as noisy as the machine is busy (with
parallel workers it is timed while other trials train): prefer ``lut`` there, or a table column.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from nasforge.errors import InvalidConfigError
from nasforge.hardware.evaluator import COST_METRICS

__all__ = ["LATENCY_SOURCES", "hardware_constraints", "hardware_spec", "parse_count"]

LATENCY_SOURCES = {"measured": "latency_ms", "lut": "latency_lut_ms"}
_UNITS = {"": 1.0, "k": 1e3, "m": 1e6, "g": 1e9}


def parse_count(text: str | float, what: str = "value") -> float:
    """``"200k"`` -> 200000.0, ``"1.5M"`` -> 1500000.0, ``"3e5"`` -> 300000.0 (k/M/G suffixes).

    Example:
        >>> parse_count("0.2M"), parse_count("50k"), parse_count(1200)
        (200000.0, 50000.0, 1200.0)
    """
    if isinstance(text, (int, float)):
        value = float(text)
    else:
        m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([kKmMgG]?)\s*", str(text))
        if not m:
            raise InvalidConfigError(f"{what} must be a number with an optional k/M/G suffix, but got {text!r}")
        value = float(m.group(1)) * _UNITS[m.group(2).lower()]
    if value <= 0:
        raise InvalidConfigError(f"{what} must be > 0, but got {text!r}")
    return value


def hardware_constraints(*, max_latency_ms: float | None = None, latency_column: str | None = None,
                         max_params: str | float | None = None, max_flops: str | float | None = None,
                         benchmark: bool = False) -> dict[str, float]:
    """Turn the CLI's hardware limits into ``{metric: upper bound}`` constraints.

    Example:
        >>> hardware_constraints(max_params="200k", max_flops="40M")
        {'params_M': 0.2, 'flops_M': 40.0}
        >>> hardware_constraints(max_latency_ms=10, latency_column="pixel3", benchmark=True)
        {'pixel3': 10.0}
    """
    out: dict[str, float] = {}
    if max_params is not None:
        out["params_M"] = parse_count(max_params, "--max-params") / 1e6
    if max_flops is not None:
        out["flops_M"] = parse_count(max_flops, "--max-flops") / 1e6
    if latency_column is not None and max_latency_ms is None:
        raise InvalidConfigError(
            f"--latency-column {latency_column} only applies with --max-latency-ms; to optimise a latency, "
            f"name it in --objectives (e.g. --objectives c10_valid_acc_12:max,{latency_column}:min)")
    if max_latency_ms is not None:
        if max_latency_ms <= 0:
            raise InvalidConfigError(f"--max-latency-ms must be > 0, but got {max_latency_ms}")
        if latency_column is None:
            if benchmark:
                raise InvalidConfigError(
                    "with --benchmark, --max-latency-ms needs --latency-column: a device column of the NB201 "
                    "latency table (e.g. pixel3, raspi4, titan_rtx_256), 'measured' (time the networks on this "
                    "machine) or 'lut' (this machine's look-up table)")
            latency_column = "measured"
        if not benchmark and latency_column not in LATENCY_SOURCES:
            raise InvalidConfigError(
                f"--latency-column {latency_column!r} is a table column; with --dataset use 'measured' or 'lut'")
        out[LATENCY_SOURCES.get(latency_column, latency_column)] = float(max_latency_ms)
    return out


def hardware_spec(metrics: Iterable[str], constraints: Mapping[str, float] | None, kind: str,
                  settings: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
    """The ``evaluator.hardware`` block of a spec, or None when no cost metric is needed.

    Args:
        metrics: every metric the objectives, constraints and extra metrics name.
        constraints: ``{metric: upper}``.
        kind: ``benchmark`` or ``train``.
        settings: explicit hardware settings (``batch_size``, ``threads``, ``repeats``, ``metrics``).

    With real training, constraints on cost metrics are checked *before* training (``skip_if``),
    so an infeasible architecture costs no training run; ``params_M`` is then measured up front too.
    On a table, ``params_M`` comes from the table and nothing is skipped (queries are free).
    """
    settings = dict(settings or {})
    names = set(metrics) | set(settings.pop("metrics", ()) or ())
    need = {m for m in names if m in COST_METRICS}
    cons = {k: float(v) for k, v in (constraints or {}).items() if k in COST_METRICS}
    if kind != "train":
        need.discard("params_M")  # the table has it
        cons = {}
    elif "params_M" not in cons:
        need.discard("params_M")  # training reports it anyway
    if "latency_iqr_ms" in need:
        need.add("latency_ms")
    if not need and not cons and not settings:
        return None
    block: dict[str, Any] = {"metrics": sorted(need | set(cons))}
    if cons:
        block["skip_if"] = cons
    block.update(settings)
    return block
