"""Evaluators turn an architecture into a frozen :class:`Result`.

A result keeps two kinds of metrics apart: ``metrics`` (what a search may look at: validation
accuracy, latency, ...) and ``hidden`` (test or report metrics). Strategies receive an
:class:`Observation`, built by :meth:`Result.observe`, that has no field through which a hidden
metric could pass; a test proves it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

from nasforge.arch import Architecture
from nasforge.errors import InvalidConfigError

__all__ = ["Evaluator", "Objective", "Observation", "Result", "Status", "parse_objectives"]


class Status:
    """Trial states as stored: ``ok``, ``failed``, ``timeout``; ``running`` while in flight."""

    OK = "ok"
    FAILED = "failed"
    TIMEOUT = "timeout"
    RUNNING = "running"
    OVER_BUDGET = "over_budget"


def _frozen(m: Mapping[str, float] | None) -> Mapping[str, float]:
    return MappingProxyType({str(k): float(v) for k, v in (m or {}).items()})


@dataclass(frozen=True)
class Objective:
    """A metric to optimize and its direction.

    Example:
        >>> Objective("val_acc").score(91.0), Objective("pixel3", "min").score(9.0)
        (91.0, -9.0)
    """

    metric: str
    direction: str = "max"

    def __post_init__(self) -> None:
        if self.direction not in ("max", "min"):
            raise InvalidConfigError(f"objective direction must be 'max' or 'min', but got {self.direction!r}")

    def score(self, value: float) -> float:
        """The value turned so that larger is better."""
        return value if self.direction == "max" else -value

    def __str__(self) -> str:
        return f"{self.metric}:{self.direction}"


def parse_objectives(text: str | Sequence[str] | None, default: str) -> tuple[Objective, ...]:
    """Parse ``"acc:max,pixel3:min"`` (direction defaults to ``max``)."""
    items = [default] if not text else (text.split(",") if isinstance(text, str) else list(text))
    out = []
    for item in items:
        metric, _, direction = item.strip().partition(":")
        if not metric:
            raise InvalidConfigError(f"empty objective in {text!r}; expected 'metric[:max|min],...'")
        out.append(Objective(metric, direction or "max"))
    return tuple(out)


@dataclass(frozen=True)
class Observation:
    """What a strategy learns about one evaluated architecture. No test metrics by construction.

    Attributes:
        values: the objective values turned so that larger is better, in objective order;
            empty when the trial failed.
        metrics: the search-visible metrics (validation accuracy, latency, params, ...).
        cost: seconds charged for the evaluation (simulated or real).
        fidelity: the budget it was evaluated at (epochs), or None for the default.
        ok: whether the trial succeeded.
    """

    values: tuple[float, ...]
    metrics: Mapping[str, float]
    cost: float
    fidelity: float | None
    ok: bool

    @property
    def value(self) -> float:
        """The first objective (larger is better); ``-inf`` for a failed trial."""
        return self.values[0] if self.values else -math.inf


@dataclass(frozen=True)
class Result:
    """The frozen outcome of one evaluation.

    Example:
        >>> r = Result.ok({"val_acc": 90.0}, hidden={"test_acc": 89.0}, cost=12.0)
        >>> r.observe((Objective("val_acc"),)).value
        90.0
    """

    status: str
    metrics: Mapping[str, float] = field(default_factory=dict)
    hidden: Mapping[str, float] = field(default_factory=dict)
    cost: float = 0.0
    params: int | None = None
    error: str | None = None
    fidelity: float | None = None
    info: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "metrics", _frozen(self.metrics))
        object.__setattr__(self, "hidden", _frozen(self.hidden))
        object.__setattr__(self, "info", MappingProxyType(dict(self.info)))

    def __reduce__(self) -> tuple[Any, ...]:
        # read-only mapping proxies cannot be pickled; results travel back from worker processes
        return (type(self), (self.status, dict(self.metrics), dict(self.hidden), self.cost, self.params, self.error,
                             self.fidelity, dict(self.info)))

    @classmethod
    def ok(cls, metrics: Mapping[str, float], *, hidden: Mapping[str, float] | None = None, cost: float = 0.0,
           params: int | None = None, fidelity: float | None = None, info: Mapping[str, Any] | None = None) -> Result:
        """A successful result. A NaN or infinite metric turns it into a failed one."""
        bad = [k for k, v in metrics.items() if not math.isfinite(float(v))]
        if bad:
            return cls.failed(f"metric(s) {bad} are not finite: {dict(metrics)}", cost=cost, fidelity=fidelity)
        return cls(Status.OK, metrics, hidden or {}, float(cost), params, None, fidelity, info or {})

    @classmethod
    def failed(cls, error: str, *, cost: float = 0.0, fidelity: float | None = None,
               status: str = Status.FAILED) -> Result:
        """A failed (or timed-out) result carrying its error text."""
        return cls(status, {}, {}, float(cost), None, error, fidelity, {})

    @property
    def is_ok(self) -> bool:
        return self.status == Status.OK

    def observe(self, objectives: Sequence[Objective]) -> Observation:
        """The strategy's view: objective values and visible metrics only, never ``hidden``."""
        values: tuple[float, ...] = ()
        if self.is_ok:
            try:
                values = tuple(o.score(self.metrics[o.metric]) for o in objectives)
            except KeyError as exc:
                raise InvalidConfigError(
                    f"objective metric {exc.args[0]!r} is not produced by the evaluator; "
                    f"it produces: {', '.join(self.metrics)}"
                ) from None
        return Observation(values, self.metrics, self.cost, self.fidelity, self.is_ok)


@runtime_checkable
class Evaluator(Protocol):
    """Anything with ``evaluate(arch, fidelity) -> Result``.

    Attributes:
        default_objective: the metric searched when the user names none (e.g. ``val_acc``).
        report_metric: the hidden metric reported at the end (e.g. ``test_acc``), or None.
        simulated_cost: True when ``Result.cost`` is simulated (tabular benchmarks): a trial whose
            cost overruns the budget is then discarded rather than counted.
    """

    default_objective: str
    report_metric: str | None
    simulated_cost: bool

    def evaluate(self, arch: Architecture, fidelity: float | None = None) -> Result: ...

    def describe(self) -> dict[str, Any]: ...
