"""Hardware-aware NAS: cost metrics of built networks, a per-op latency look-up table, and an
evaluator wrapper that adds cost metrics (params, FLOPs, latency, memory) to any evaluator."""

from __future__ import annotations

from nasforge.hardware.evaluator import COST_METRICS, CostEvaluator, model_setup, with_costs
from nasforge.hardware.lut import LatencyLUT, default_cache_dir, device_fingerprint, trace_ops
from nasforge.hardware.metrics import (
                                       LatencyStats,
                                       count_flops,
                                       count_params,
                                       example_input,
                                       measure_latency,
                                       peak_forward_memory,
                                       time_callable,
                                       torch_threads,
)
from nasforge.hardware.spec import hardware_constraints, hardware_spec, parse_count

__all__ = ["COST_METRICS", "CostEvaluator", "LatencyLUT", "LatencyStats", "count_flops", "count_params",
           "default_cache_dir", "device_fingerprint", "example_input", "hardware_constraints", "hardware_spec",
           "measure_latency", "model_setup", "parse_count", "peak_forward_memory", "time_callable", "torch_threads",
           "trace_ops", "with_costs"]
