"""An evaluator wrapper that adds hardware cost metrics to any evaluator's visible metrics.

:class:`CostEvaluator` builds the architecture's network (``space.build``), measures the cost
metrics it was asked for and merges them into the inner result's ``metrics``, where objectives and
constraints can name them (``--objectives val_acc:max,latency_ms:min``, ``--max-params``). When a
constraint on a cost metric is already broken, the (expensive) inner evaluation is skipped and the
trial is recorded as failed with the reason: it would be infeasible whatever its accuracy.

Cost metric names:

- ``params_M``: parameters in millions.
- ``flops_M`` / ``macs_M``: forward FLOPs (``FlopCounterMode``) / multiply-adds, in millions, at batch 1.
- ``latency_ms``: measured median latency on this machine (batch ``batch_size``, ``threads`` threads);
  ``latency_iqr_ms`` is its inter-quartile range.
- ``latency_lut_ms``: latency predicted by the per-op look-up table (:class:`LatencyLUT`).
- ``peak_mem_MB``: parameters + input + peak live activations of one forward pass, in MB.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

from nasforge.arch import Architecture
from nasforge.errors import InvalidConfigError, UnknownNameError
from nasforge.evaluators.base import Evaluator, Result, Status
from nasforge.hardware.lut import LatencyLUT
from nasforge.hardware.metrics import count_flops, count_params, measure_latency, peak_forward_memory
from nasforge.registry import unknown_name_message
from nasforge.spaces.base import SearchSpace

__all__ = ["COST_METRICS", "CostEvaluator", "model_setup", "with_costs"]

log = logging.getLogger("nasforge.hardware")

#: metric name -> what it is (the names objectives and constraints may use)
COST_METRICS: dict[str, str] = {
    "params_M": "parameters (millions)",
    "flops_M": "forward FLOPs at batch 1 (millions; FlopCounterMode, 2 per multiply-add)",
    "macs_M": "forward multiply-adds at batch 1 (millions)",
    "latency_ms": "measured median inference latency on this machine (ms)",
    "latency_iqr_ms": "inter-quartile range of the latency repeats (ms)",
    "latency_lut_ms": "inference latency predicted by the per-op look-up table (ms)",
    "peak_mem_MB": "parameters + input + peak live activations of one forward pass (MB)",
}

# NB201 benchmark protocols: image shape and classes of the networks the table was made with
_NB201_DATA = {"cifar10": ((3, 32, 32), 10), "cifar100": ((3, 32, 32), 100), "imagenet16": ((3, 16, 16), 120)}


def model_setup(evaluator: Any, space: SearchSpace) -> tuple[tuple[int, ...], dict[str, Any]]:
    """Input shape and ``space.build`` settings of the networks ``evaluator`` evaluates.

    Real training: the dataset's sample shape and classes plus the training config's ``model``
    settings. NB201 table: the benchmark's own networks (32x32 CIFAR, or 16x16 ImageNet16-120).
    """
    from nasforge.evaluators.tabular import TabularBenchmark
    from nasforge.evaluators.training import TrainingEvaluator

    if isinstance(evaluator, TrainingEvaluator):
        from nasforge.data import load_dataset

        data = load_dataset(evaluator.dataset, root=evaluator.data_root, target=evaluator.settings.target)
        shape = tuple(data.input_shape)
        kw: dict[str, Any] = {"num_classes": data.num_classes}
        if len(shape) == 3:
            kw["in_channels"] = shape[0]
        else:
            kw["in_features"] = shape[0]
        kw.update(evaluator.settings.model or {})
        return shape, kw
    if isinstance(evaluator, TabularBenchmark):
        shape, classes = _NB201_DATA.get(evaluator.dataset, _NB201_DATA["cifar10"])
        return shape, {"num_classes": classes, "in_channels": shape[0]}
    raise InvalidConfigError(
        f"cannot tell the input shape of {type(evaluator).__name__}'s networks; pass input_shape= to CostEvaluator")


class CostEvaluator:
    """Wrap an evaluator and add hardware cost metrics to its results.

    Args:
        inner: the evaluator that measures quality (a table, real training, ...).
        space: the space whose ``build`` makes the network to measure.
        metrics: which of :data:`COST_METRICS` to add.
        input_shape: shape of one input sample (default: from :func:`model_setup`).
        model_kwargs: ``space.build`` settings (default: from :func:`model_setup`).
        batch_size, threads: the latency setting (defaults: batch 1, one thread).
        repeats, warmup: latency repeats (median taken) and untimed warm-up calls.
        skip_if: upper bounds on cost metrics (e.g. ``{"params_M": 0.1}``); an architecture over a
            bound is not passed to ``inner`` and is recorded as failed with the reason.
        lut: the look-up table for ``latency_lut_ms`` (default: this device's cached table).

    Example:
        >>> from nasforge.spaces import get_space
        >>> from nasforge.evaluators.tabular import TabularBenchmark
        >>> space = get_space("nb201")
        >>> ev = CostEvaluator(TabularBenchmark(space), space, metrics=["flops_M"])  # doctest: +SKIP
        >>> ev.evaluate(space.sample(np.random.default_rng(0))).metrics["flops_M"]  # doctest: +SKIP
    """

    def __init__(self, inner: Evaluator, space: SearchSpace, *, metrics: Sequence[str] = ("params_M", "flops_M",
                 "latency_ms"), input_shape: Sequence[int] | None = None, model_kwargs: Mapping[str, Any] | None = None,
                 batch_size: int = 1, threads: int = 1, repeats: int = 7, warmup: int = 3,
                 skip_if: Mapping[str, float] | None = None, lut: LatencyLUT | None = None) -> None:
        for m in list(metrics) + list(skip_if or {}):
            if m not in COST_METRICS:
                raise UnknownNameError(unknown_name_message("cost metric", m, list(COST_METRICS)))
        if batch_size < 1 or threads < 1 or repeats < 1:
            raise InvalidConfigError(f"batch_size, threads and repeats must be >= 1, but got "
                                     f"(batch_size={batch_size}, threads={threads}, repeats={repeats})")
        self.inner = inner
        self.space = space
        self.metrics = tuple(dict.fromkeys(list(metrics) + list(skip_if or {})))
        self.batch_size = int(batch_size)
        self.threads = int(threads)
        self.repeats = int(repeats)
        self.warmup = int(warmup)
        self.skip_if = dict(skip_if or {})
        if input_shape is None or model_kwargs is None:
            shape, kw = model_setup(inner, space)
            input_shape = input_shape if input_shape is not None else shape
            model_kwargs = model_kwargs if model_kwargs is not None else kw
        self.input_shape = tuple(int(d) for d in input_shape)
        self.model_kwargs = dict(model_kwargs)
        self._lut = lut
        self._cache: OrderedDict[str, dict[str, float]] = OrderedDict()
        # the Evaluator protocol, delegated
        self.default_objective: str = inner.default_objective
        self.report_metric: str | None = inner.report_metric
        self.simulated_cost: bool = inner.simulated_cost

    @property
    def lut(self) -> LatencyLUT:
        if self._lut is None:
            self._lut = LatencyLUT(batch_size=self.batch_size, threads=self.threads)
        return self._lut

    def costs(self, arch: Architecture) -> dict[str, float]:
        """The cost metrics of ``arch`` (memoized: the network does not change with training)."""
        hit = self._cache.get(arch.key)
        if hit is not None:
            return dict(hit)
        import torch

        out: dict[str, float] = {}
        want = set(self.metrics)
        if want & {"params_M", "flops_M", "macs_M"}:
            # shapes are all these need: build on the meta device, nothing is allocated or computed
            try:
                with torch.device("meta"):
                    shape_model = self.space.build(arch, **self.model_kwargs)
            except Exception:  # noqa: BLE001 - a space whose build needs real tensors: count on the CPU
                shape_model = self.space.build(arch, **self.model_kwargs)
            shape_model.eval()
            lazy = any(isinstance(m, torch.nn.modules.lazy.LazyModuleMixin) for m in shape_model.modules())
            if want & {"flops_M", "macs_M"} or lazy:
                try:  # the forward also gives lazy layers their shapes before parameters are counted
                    flops = count_flops(shape_model, self.input_shape, 1)
                except Exception:  # noqa: BLE001 - an op without a meta kernel: count on the CPU
                    shape_model = self.space.build(arch, **self.model_kwargs)
                    flops = count_flops(shape_model, self.input_shape, 1)
                if "flops_M" in want:
                    out["flops_M"] = flops / 1e6
                if "macs_M" in want:
                    out["macs_M"] = flops / 2e6
            if "params_M" in want:
                out["params_M"] = count_params(shape_model) / 1e6
        if not want & {"peak_mem_MB", "latency_lut_ms", "latency_ms", "latency_iqr_ms"}:
            self._remember(arch, out)
            return out
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)  # weights do not change cost, but keep building side-effect free
            model = self.space.build(arch, **self.model_kwargs)
        model.eval()
        if "peak_mem_MB" in want:
            out["peak_mem_MB"] = peak_forward_memory(model, self.input_shape, self.batch_size)["total"] / 1e6
        if "latency_lut_ms" in want:
            out["latency_lut_ms"] = self.lut.predict(model, self.input_shape)
        if want & {"latency_ms", "latency_iqr_ms"}:
            stats = measure_latency(model, self.input_shape, batch_size=self.batch_size, threads=self.threads,
                                    warmup=self.warmup, repeats=self.repeats)
            out["latency_ms"] = stats.median_ms
            out["latency_iqr_ms"] = stats.iqr_ms
        self._remember(arch, out)
        return out

    def _remember(self, arch: Architecture, costs: dict[str, float]) -> None:
        self._cache[arch.key] = dict(costs)
        if len(self._cache) > 4096:
            self._cache.popitem(last=False)

    def evaluate(self, arch: Architecture, fidelity: float | None = None) -> Result:
        """Measure costs; if none breaks ``skip_if``, evaluate with ``inner`` and merge the metrics."""
        costs = self.costs(arch)
        broken = [f"{k} {costs[k]:.4g} > {v:g}" for k, v in self.skip_if.items() if costs.get(k, 0.0) > v]
        if broken:
            # infeasible whatever its accuracy: do not spend a training run on it
            return Result(Status.FAILED, costs, {}, 0.0, None, f"infeasible, not evaluated: {'; '.join(broken)}",
                          fidelity, {"infeasible": True})
        res = self.inner.evaluate(arch, fidelity)
        if not res.is_ok:
            return res
        merged = {**costs, **res.metrics}  # the inner evaluator's own figures win (e.g. table params)
        params = res.params if res.params is not None else (round(costs["params_M"] * 1e6)
                                                            if "params_M" in costs else None)
        return Result(res.status, merged, res.hidden, res.cost, params, res.error, res.fidelity, res.info)

    def describe(self) -> dict[str, Any]:
        d = dict(self.inner.describe())
        d["hardware"] = {"metrics": list(self.metrics), "batch_size": self.batch_size, "threads": self.threads,
                         "input_shape": list(self.input_shape), "skip_if": self.skip_if}
        return d


def with_costs(evaluator: Evaluator, space: SearchSpace, settings: Mapping[str, Any]) -> CostEvaluator:
    """Build a :class:`CostEvaluator` from a spec's ``evaluator.hardware`` block."""
    allowed = {"metrics", "batch_size", "threads", "repeats", "warmup", "skip_if", "input_shape"}
    unknown = sorted(set(settings) - allowed)
    if unknown:
        raise InvalidConfigError(f"unknown hardware setting(s) {unknown}; allowed: {', '.join(sorted(allowed))}")
    return CostEvaluator(evaluator, space, **dict(settings))
