"""Functions for process-pool workers (picklable by reference from a module on the path)."""

from __future__ import annotations

import os
import time


def visible_gpus_after(seconds: float) -> str | None:
    """What this worker's ``CUDA_VISIBLE_DEVICES`` is, after holding the worker for ``seconds``."""
    time.sleep(seconds)
    return os.environ.get("CUDA_VISIBLE_DEVICES")
