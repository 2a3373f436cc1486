"""Test-only evaluators that misbehave on purpose, for the parallel and fault tests.

They live in an importable module (not in a test file) so that worker processes can unpickle them.
Which fault an architecture triggers depends only on its first edge, so a test can predict every
trial's outcome from the architectures the strategy asked for.
"""

from __future__ import annotations

import os
import time
from typing import Any

from nasforge.arch import Architecture
from nasforge.evaluators.base import Result

FAULT_BY_FIRST_EDGE = {"none": "die", "avg_pool_3x3": "hang", "skip_connect": "nan"}


def expected_fault(arch: Architecture) -> str:
    """'die', 'hang', 'nan' or 'ok'."""
    return FAULT_BY_FIRST_EDGE.get(arch["1<-0"], "ok")


class FaultyEvaluator:
    """Dies (``os._exit``), hangs, returns NaN or succeeds, by the architecture's first edge."""

    simulated_cost = False
    default_objective = "val_acc"
    report_metric = "test_acc"

    def __init__(self, hang_seconds: float = 120.0, work_seconds: float = 0.05) -> None:
        self.hang_seconds = hang_seconds
        self.work_seconds = work_seconds

    def evaluate(self, arch: Architecture, fidelity: float | None = None) -> Result:
        fault = expected_fault(arch)
        if fault == "die":
            os._exit(3)
        if fault == "hang":
            time.sleep(self.hang_seconds)
        time.sleep(self.work_seconds)
        if fault == "nan":
            return Result.ok({"val_acc": float("nan")}, cost=self.work_seconds)
        v = float(sum(op == "nor_conv_3x3" for op in arch.values()))
        return Result.ok({"val_acc": v}, hidden={"test_acc": 100.0 + v}, cost=self.work_seconds)

    def describe(self) -> dict[str, Any]:
        return {"kind": "faulty"}


class PickleCounter:
    """Counts how often it is pickled in this process (to see which objects are sent once)."""

    pickled = 0

    def __getstate__(self) -> dict[str, Any]:
        PickleCounter.pickled += 1
        return {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        return None


def identity_with(obj: Any, x: Any) -> Any:
    return x


def sleep_then(seconds: float, value: Any) -> Any:
    time.sleep(seconds)
    return value


def worker_threads() -> tuple[int, str | None, int]:
    import torch

    return torch.get_num_threads(), os.environ.get("OMP_NUM_THREADS"), os.getpid()


def exit_now(code: int) -> None:
    os._exit(code)
