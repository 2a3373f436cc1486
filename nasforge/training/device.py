"""Devices and precision, chosen once for every trainer.

``auto`` picks CUDA, then Apple's MPS, then the CPU. A device that is asked for and absent is an
:class:`~nasforge.errors.InvalidConfigError` (the CLI exits 2 with its one line). The helpers here
also give each process-pool worker its own GPU (``CUDA_VISIBLE_DEVICES``, round-robin) and the
number of GPUs a Ray trial asks for.
"""

from __future__ import annotations

import contextlib
import os
import re
from typing import Any

from nasforge.errors import InvalidConfigError

__all__ = ["autocast", "check_device_name", "cuda_count", "device_label", "gpu_env_for_worker", "grad_scaler",
           "resolve_device", "synchronize"]

_DEVICE_RE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


def check_device_name(name: str) -> None:
    """Raise :class:`InvalidConfigError` unless ``name`` is ``auto|cpu|cuda|cuda:N|mps``."""
    if not isinstance(name, str) or not _DEVICE_RE.match(name):
        raise InvalidConfigError(f"device must be one of auto, cpu, cuda, cuda:N or mps, but got {name!r}")


def cuda_count() -> int:
    """GPUs torch can use in this process (0 without CUDA)."""
    import torch

    return int(torch.cuda.device_count()) if torch.cuda.is_available() else 0


def _mps_available() -> bool:
    import torch

    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def resolve_device(name: str = "auto") -> Any:
    """The ``torch.device`` for ``name``; ``auto`` is CUDA, then MPS, then the CPU.

    Raises:
        InvalidConfigError: when the device asked for is not on this machine (or the name is bad).

    Example:
        >>> str(resolve_device("cpu"))
        'cpu'
    """
    import torch

    check_device_name(name)
    if name == "auto":
        if cuda_count() > 0:
            return torch.device("cuda", 0)
        return torch.device("mps") if _mps_available() else torch.device("cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "mps":
        if not _mps_available():
            raise InvalidConfigError("device 'mps' was asked for, but this machine has no MPS (Apple GPU) backend; "
                                     "use --device cpu or auto")
        return torch.device("mps")
    index = int(name.split(":")[1]) if ":" in name else 0
    n = cuda_count()
    if n == 0:
        raise InvalidConfigError(f"device '{name}' was asked for, but torch sees no CUDA GPU here "
                                 f"(torch {torch.__version__}, CUDA build: {torch.version.cuda or 'no'}); "
                                 f"use --device cpu or auto")
    if index >= n:
        raise InvalidConfigError(f"device '{name}' was asked for, but torch sees {n} CUDA GPU(s) (cuda:0..cuda:{n - 1})")
    return torch.device("cuda", index)


def device_label(device: Any) -> str:
    """``cpu``, ``mps`` or ``cuda:N``: how a trial records its device (``info["device"]``)."""
    if device.type == "cuda":
        return f"cuda:{device.index or 0}"
    return str(device.type)


def autocast(device: Any, precision: str) -> contextlib.AbstractContextManager[Any]:
    """The autocast context for ``precision`` on ``device`` (a no-op context for ``32``)."""
    import torch

    if precision == "32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)


def grad_scaler(device: Any, precision: str) -> Any:
    """A ``torch.amp.GradScaler`` for ``16-mixed`` (float16 gradients underflow without one), else None."""
    import torch

    if precision != "16-mixed":
        return None
    return torch.amp.GradScaler(device.type)


def synchronize(device: Any) -> None:
    """Wait for the device's queued work (timings on a GPU are meaningless without it)."""
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def gpu_env_for_worker(worker: int, n_gpus: int | None = None) -> dict[str, str]:
    """The environment that pins process-pool worker ``worker`` to one GPU, round-robin.

    Worker ``i`` sees only GPU ``i mod n_gpus`` (as its ``cuda:0``). Without GPUs the result is
    empty: the worker inherits the environment unchanged. When ``CUDA_VISIBLE_DEVICES`` is already
    set, the round-robin runs over the GPUs it lists.

    Example:
        >>> gpu_env_for_worker(3, n_gpus=2)
        {'CUDA_VISIBLE_DEVICES': '1'}
    """
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    ids = [v.strip() for v in visible.split(",") if v.strip()] if visible else []
    if n_gpus is None:
        n_gpus = len(ids) if ids else cuda_count()
    if n_gpus <= 0:
        return {}
    ids = ids[:n_gpus] if ids else [str(i) for i in range(n_gpus)]
    return {"CUDA_VISIBLE_DEVICES": ids[worker % len(ids)]}
