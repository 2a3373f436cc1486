"""Cost metrics of a built network: parameters, FLOPs/MACs, measured latency, peak forward memory.

- FLOPs come from PyTorch's own :class:`torch.utils.flop_counter.FlopCounterMode`, which counts two
  FLOPs per multiply-add of convolutions, matrix products and attention (element-wise ops, batch
  norm and pooling are not counted, as in most NAS papers). ``macs`` is half of it.
- Latency is wall-clock time of ``model(x)`` under ``torch.inference_mode`` with a fixed number of
  intra-op threads and a fixed batch size, after warm-up calls; each repeat times enough calls to
  last at least ``min_repeat_s`` and the reported figure is the median over repeats, with the
  inter-quartile range as its spread. On a GPU the calls only queue work, so each repeat is timed
  with CUDA events after a synchronisation, and the warm-up ends with one (MPS: synchronised
  wall-clock time).
- Peak forward memory is parameters + buffers + input + the largest total size of tensors alive at
  once among those the forward pass creates (tracked per storage with a ``TorchDispatchMode``).
  Scratch buffers that an operator allocates and frees internally are not seen.
"""

from __future__ import annotations

import contextlib
import math
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from nasforge.errors import InvalidConfigError

__all__ = [
    "LatencyStats",
    "count_flops",
    "count_params",
    "example_input",
    "measure_latency",
    "peak_forward_memory",
    "time_callable",
    "torch_threads",
]


@dataclass(frozen=True)
class LatencyStats:
    """Repeated latency measurements of one callable, in milliseconds per call.

    Attributes:
        median_ms: median over repeats (the figure to use).
        q25_ms, q75_ms: quartiles over repeats; ``iqr_ms`` is their difference.
        min_ms, max_ms: extremes over repeats.
        samples_ms: per-call time of every repeat.
        number: calls timed together in each repeat.
        batch_size, threads: the setting measured.

    Example:
        >>> s = time_callable(lambda: sum(range(100)), repeats=5, min_repeat_s=0.001)
        >>> s.min_ms <= s.median_ms <= s.max_ms
        True
    """

    median_ms: float
    q25_ms: float
    q75_ms: float
    min_ms: float
    max_ms: float
    samples_ms: tuple[float, ...]
    number: int
    batch_size: int = 1
    threads: int = 1

    @property
    def iqr_ms(self) -> float:
        """Inter-quartile range of the repeats (ms)."""
        return self.q75_ms - self.q25_ms

    @property
    def rel_spread(self) -> float:
        """IQR divided by the median: 0.02 means the middle half of repeats lie within 2 %."""
        return self.iqr_ms / self.median_ms if self.median_ms > 0 else math.nan

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["samples_ms"] = list(self.samples_ms)
        d["iqr_ms"] = self.iqr_ms
        d["rel_spread"] = self.rel_spread
        return d


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run a block with ``n`` torch intra-op threads, restoring the previous setting after."""
    import torch

    if n < 1:
        raise InvalidConfigError(f"threads >= 1 must hold, but got threads={n}")
    old = torch.get_num_threads()
    if old != n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if torch.get_num_threads() != old:
            torch.set_num_threads(old)


def example_input(input_shape: Sequence[int], batch_size: int = 1, seed: int = 0) -> Any:
    """A seeded standard-normal float32 batch of shape ``(batch_size, *input_shape)``."""
    import torch

    if batch_size < 1:
        raise InvalidConfigError(f"batch_size >= 1 must hold, but got batch_size={batch_size}")
    gen = torch.Generator().manual_seed(seed)
    return torch.randn((batch_size, *(int(d) for d in input_shape)), generator=gen)


def count_params(model: Any) -> int:
    """Number of parameters (trainable or not) of ``model``."""
    return int(sum(p.numel() for p in model.parameters()))


def _device(model: Any) -> Any:
    for t in model.parameters():
        return t.device
    for t in model.buffers():
        return t.device
    return None


def count_flops(model: Any, input_shape: Sequence[int], batch_size: int = 1) -> int:
    """FLOPs of one forward pass at ``batch_size``, counted by ``FlopCounterMode`` (2 per multiply-add).

    A model built on the ``meta`` device is counted from shapes alone, without computing anything
    (about 20x faster; :class:`~nasforge.hardware.CostEvaluator` does that).
    """
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    dev = _device(model)
    if dev is not None and dev.type == "meta":
        x = torch.empty((batch_size, *(int(d) for d in input_shape)), device="meta")
    else:
        x = example_input(input_shape, batch_size)
    was_training = model.training
    model.eval()
    counter = FlopCounterMode(display=False)
    try:
        with counter, torch.no_grad():
            model(x)
    finally:
        model.train(was_training)
    return int(counter.get_total_flops())


def _tensor_bytes(tensors: Any) -> int:
    return int(sum(t.numel() * t.element_size() for t in tensors))


def peak_forward_memory(model: Any, input_shape: Sequence[int], batch_size: int = 1) -> dict[str, int]:
    """Bytes needed by one inference forward pass.

    Returns:
        ``{"params": ..., "input": ..., "activations": ..., "total": ...}`` where ``activations`` is
        the largest sum of sizes of tensors created by the forward and alive at the same time.
    """
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_flatten

    class _LiveTensors(TorchDispatchMode):
        # Counts each storage once, frees it when the last tensor object viewing it dies.
        def __init__(self) -> None:
            super().__init__()
            self.size: dict[int, int] = {}
            self.refs: dict[int, int] = {}
            self.current = 0
            self.peak = 0

        def _release(self, ptr: int) -> None:
            self.refs[ptr] -= 1
            if self.refs[ptr] == 0:
                self.current -= self.size.pop(ptr)
                del self.refs[ptr]

        def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            out = func(*args, **(kwargs or {}))
            for t in tree_flatten(out)[0]:
                if isinstance(t, torch.Tensor) and t.device.type != "meta":
                    storage = t.untyped_storage()
                    ptr = storage.data_ptr()
                    if ptr not in self.size:
                        self.size[ptr] = storage.nbytes()
                        self.refs[ptr] = 0
                        self.current += self.size[ptr]
                        self.peak = max(self.peak, self.current)
                    self.refs[ptr] += 1
                    weakref.finalize(t, self._release, ptr)
            return out

    x = example_input(input_shape, batch_size)
    params = _tensor_bytes(model.parameters()) + _tensor_bytes(model.buffers())
    was_training = model.training
    model.eval()
    tracker = _LiveTensors()
    try:
        with torch.no_grad(), tracker:
            y = model(x)
        del y
    finally:
        model.train(was_training)
    inp = _tensor_bytes([x])
    return {"params": params, "input": inp, "activations": int(tracker.peak), "total": params + inp + tracker.peak}


def _timer(device: Any) -> Callable[[Callable[[], None]], float]:
    """``timed(run) -> seconds`` for ``device``: wall clock on the CPU; CUDA events (after a
    synchronisation) on a CUDA GPU, whose calls return before the work is done; synchronised wall
    clock on MPS."""
    from nasforge.training.device import synchronize

    if device is not None and device.type == "cuda":
        import torch

        def timed_cuda(run: Callable[[], None]) -> float:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            torch.cuda.synchronize(device)
            start.record()
            run()
            end.record()
            end.synchronize()
            return float(start.elapsed_time(end)) / 1e3

        return timed_cuda

    def timed(run: Callable[[], None]) -> float:
        if device is not None:
            synchronize(device)
        t0 = time.perf_counter()
        run()
        if device is not None:
            synchronize(device)
        return time.perf_counter() - t0

    return timed


def time_callable(fn: Callable[[], Any], *, warmup: int = 3, repeats: int = 7, min_repeat_s: float = 0.005,
                  number: int | None = None, batch_size: int = 1, threads: int = 1,
                  device: Any = None) -> LatencyStats:
    """Time ``fn()``: ``warmup`` untimed calls, then ``repeats`` timings of ``number`` calls each.

    ``number`` defaults to enough calls for one repeat to last ``min_repeat_s`` (timer resolution
    and call overhead then matter little). Call inside :func:`torch_threads` to fix threads;
    ``batch_size``/``threads`` are only recorded. ``device`` (a ``torch.device`` the work runs on;
    None: the CPU) decides how the calls are timed: see :func:`_timer`.
    """
    if repeats < 1 or warmup < 0:
        raise InvalidConfigError(f"repeats >= 1 and warmup >= 0 must hold, but got (repeats={repeats}, warmup={warmup})")
    timed = _timer(device)
    for _ in range(warmup):
        fn()
    if number is None:
        one = max(timed(fn), 1e-7)
        number = max(1, math.ceil(min_repeat_s / one))

    def run() -> None:
        for _ in range(number):
            fn()

    samples = []
    for _ in range(repeats):
        samples.append(timed(run) * 1e3 / number)
    arr = np.asarray(samples)
    q25, med, q75 = np.percentile(arr, [25, 50, 75])
    return LatencyStats(float(med), float(q25), float(q75), float(arr.min()), float(arr.max()),
                        tuple(float(s) for s in samples), int(number), int(batch_size), int(threads))


def measure_latency(model: Any, input_shape: Sequence[int], *, batch_size: int = 1, threads: int = 1,
                    warmup: int = 5, repeats: int = 11, min_repeat_s: float = 0.02,
                    device: str = "cpu") -> LatencyStats:
    """Measured inference latency of ``model`` on this machine (ms per batch).

    ``device`` (``cpu``, ``cuda``, ``cuda:N``, ``mps``, ``auto``) is where it runs; the model is
    moved there for the measurement and back afterwards.

    Example:
        >>> import torch
        >>> stats = measure_latency(torch.nn.Linear(8, 2), (8,), repeats=3, min_repeat_s=0.001)
        >>> stats.median_ms > 0
        True
    """
    import torch

    from nasforge.training.device import resolve_device

    dev = resolve_device(device)
    home = _device(model)
    x = example_input(input_shape, batch_size).to(dev)
    was_training = model.training
    model.eval()
    model.to(dev)
    try:
        with torch_threads(threads), torch.inference_mode():
            return time_callable(lambda: model(x), warmup=warmup, repeats=repeats, min_repeat_s=min_repeat_s,
                                 batch_size=batch_size, threads=threads, device=None if dev.type == "cpu" else dev)
    finally:
        model.train(was_training)
        if home is not None:
            model.to(home)
