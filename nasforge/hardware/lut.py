"""A per-op latency look-up table: measure each distinct operation once per device, then predict a
network's latency as the sum over its operations (the approach of FBNet / ProxylessNAS / HELP's
baselines), without running the network.

What counts as one operation: every *leaf* module call (a convolution, batch norm, ReLU, pooling,
linear, identity ...) keyed by its class, its settings (``extra_repr``) and its input shapes, plus
every tensor operation that runs *between* modules (the additions that sum a cell's edges, a
concatenation, a flatten), keyed by the ATen operator, its input shapes and other arguments, plus
the Python overhead of each container module call (one shared entry). One
traced forward pass (no timing) lists a network's operations; entries not yet in the table are
timed in isolation with random inputs of the recorded shapes and stored.

The table lives in the user's cache directory (``$NASFORGE_CACHE_DIR``, else
``$XDG_CACHE_HOME/nasforge``, else ``~/.cache/nasforge``), one JSON file per device fingerprint
(CPU model, core count, torch version) and setting (threads, batch size), never in the repository.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import os
import platform
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nasforge.errors import InvalidConfigError
from nasforge.hardware.metrics import example_input, time_callable, torch_threads

__all__ = ["LatencyLUT", "OpCall", "default_cache_dir", "device_fingerprint", "trace_ops"]

log = logging.getLogger("nasforge.hardware.lut")

_FORMAT = 1
_CONTAINER_KEY = "container:call"


def default_cache_dir() -> Path:
    """Where nasforge keeps per-machine caches (never inside the repository)."""
    if os.environ.get("NASFORGE_CACHE_DIR"):
        return Path(os.environ["NASFORGE_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "nasforge"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_fingerprint(device: str = "cpu") -> dict[str, Any]:
    """What identifies "this device" for latency: the device timed on (``cpu``, ``cuda:N`` with the
    GPU's name and CUDA version, ``mps``), CPU model, cores, architecture, torch build."""
    import torch

    from nasforge.training.device import device_label, resolve_device

    dev = resolve_device(device)
    out: dict[str, Any] = {"device": device_label(dev), "cpu": _cpu_model(), "cores": os.cpu_count(),
                           "machine": platform.machine(), "system": platform.system(), "torch": torch.__version__}
    if dev.type == "cuda":
        out.update(gpu=torch.cuda.get_device_name(dev), cuda=torch.version.cuda)
    return out


@dataclass
class OpCall:
    """One operation of a traced forward pass: its table key and how to time it in isolation."""

    key: str
    kind: str  # "module" or "aten"
    target: Any  # the module, or the ATen operator
    args: Any  # argument template: tensors replaced by ("tensor", shape, stride, dtype)


def _spec(value: Any) -> Any:
    import torch

    if isinstance(value, torch.Tensor):
        return ("tensor", tuple(value.shape), tuple(value.stride()), str(value.dtype).replace("torch.", ""))
    if isinstance(value, (list, tuple)):
        return type(value)(_spec(v) for v in value)
    if isinstance(value, dict):
        return {str(k): _spec(v) for k, v in sorted(value.items())}
    if isinstance(value, (int, float, bool, str)) or value is None:
        return value
    return repr(value)


def _materialize(spec: Any, gen: Any) -> Any:
    import torch

    if isinstance(spec, tuple) and len(spec) == 4 and spec[0] == "tensor":
        _, shape, stride, dtype = spec
        dt = getattr(torch, dtype)
        t = torch.empty_strided(shape, stride, dtype=dt)
        if dt.is_floating_point:
            t.normal_(generator=gen)
        else:
            t.zero_()
        return t
    if isinstance(spec, (list, tuple)):
        return type(spec)(_materialize(v, gen) for v in spec)
    if isinstance(spec, dict):
        return {k: _materialize(v, gen) for k, v in spec.items()}
    return spec


def _to_device(value: Any, device: Any) -> Any:
    """``value`` (tensors inside lists, tuples and dicts) moved to ``device``."""
    import torch

    if isinstance(value, torch.Tensor):
        return value.to(device)
    if isinstance(value, (list, tuple)):
        return type(value)(_to_device(v, device) for v in value)
    if isinstance(value, dict):
        return {k: _to_device(v, device) for k, v in value.items()}
    return value


def trace_ops(model: Any, input_shape: Sequence[int], batch_size: int = 1) -> list[OpCall]:
    """The operations one inference forward pass of ``model`` runs, in call order (see module doc)."""
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode

    calls: list[OpCall] = []
    depth = [0]

    leaves = [m for m in model.modules() if not any(True for _ in m.children())]
    containers = [m for m in model.modules() if any(True for _ in m.children())]

    def container_call(mod: Any, args: tuple[Any, ...]) -> None:
        # a container's own Python overhead (its __call__ and forward's loop) is one table entry
        calls.append(OpCall(_CONTAINER_KEY, "container", None, None))

    def pre(mod: Any, args: tuple[Any, ...]) -> None:
        if depth[0] == 0:
            spec = _spec(tuple(args))
            cls = type(mod)
            key = f"module:{cls.__module__}.{cls.__qualname__}({mod.extra_repr()})|{spec}"
            calls.append(OpCall(key, "module", mod, spec))
        depth[0] += 1

    def post(mod: Any, args: tuple[Any, ...], out: Any) -> None:
        depth[0] -= 1

    class _Glue(TorchDispatchMode):
        def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            if depth[0] == 0 and not kwargs:
                spec = _spec(tuple(args))
                calls.append(OpCall(f"aten:{func}|{spec}", "aten", func, spec))
            elif depth[0] == 0:
                spec = _spec((tuple(args), dict(sorted(kwargs.items()))))
                calls.append(OpCall(f"aten:{func}|{spec}", "aten_kw", func, spec))
            return func(*args, **(kwargs or {}))

    handles = []
    for m in leaves:
        handles.append(m.register_forward_pre_hook(pre))
        handles.append(m.register_forward_hook(post))
    for m in containers:
        handles.append(m.register_forward_pre_hook(container_call))
    x = example_input(input_shape, batch_size)
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode(), _Glue():
            model(x)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return calls


class LatencyLUT:
    """Per-op latency table for this device and setting; predicts network latency by summing ops.

    Args:
        batch_size: batch size of the predicted latency.
        threads: torch intra-op threads while timing.
        cache_dir: folder of the table files (default :func:`default_cache_dir`).
        repeats: timed repeats per operation (median taken).
        min_repeat_s: minimum duration of one repeat.
        persist: write newly measured entries to the cache file.
        device: where operations are timed (``cpu``, ``cuda``, ``cuda:N``, ``mps``); part of the
            table's fingerprint, so each device has its own table.

    Example:
        >>> import torch
        >>> lut = LatencyLUT(cache_dir=tempfile.mkdtemp(), repeats=3, min_repeat_s=0.0005)
        >>> net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU())
        >>> lut.predict(net, (3, 16, 16)) > 0
        True
    """

    def __init__(self, *, batch_size: int = 1, threads: int = 1, cache_dir: str | os.PathLike[str] | None = None,
                 repeats: int = 7, min_repeat_s: float = 0.002, persist: bool = True, device: str = "cpu") -> None:
        if batch_size < 1 or threads < 1:
            raise InvalidConfigError(
                f"batch_size >= 1 and threads >= 1 must hold, but got (batch_size={batch_size}, threads={threads})")
        self.batch_size = int(batch_size)
        self.threads = int(threads)
        self.repeats = int(repeats)
        self.min_repeat_s = float(min_repeat_s)
        self.persist = persist
        from nasforge.training.device import resolve_device

        self.torch_device = resolve_device(device)
        self.device = device_fingerprint(device)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        ident = json.dumps({**self.device, "batch_size": self.batch_size, "threads": self.threads}, sort_keys=True)
        self.path = self.cache_dir / "latency_lut" / f"lut-{hashlib.sha256(ident.encode()).hexdigest()[:16]}.json"
        self.entries: dict[str, float] = {}
        self.n_measured = 0  # entries timed by this object (not loaded from the cache)
        self._load()

    # ------------------------------------------------------------------ persistence
    def _load(self) -> None:
        if not self.path.is_file():
            return
        try:
            data = json.loads(self.path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            log.warning("ignoring unreadable latency table %s: %s", self.path, exc)
            return
        if data.get("format") == _FORMAT:
            self.entries.update({str(k): float(v) for k, v in data.get("entries", {}).items()})

    def save(self) -> Path:
        """Write the table (atomically, merged with entries another process may have added)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        merged: dict[str, float] = {}
        if self.path.is_file():
            try:
                merged.update(json.loads(self.path.read_text()).get("entries", {}))
            except (OSError, json.JSONDecodeError):
                pass
        merged.update(self.entries)
        data = {"format": _FORMAT, "device": self.device, "batch_size": self.batch_size, "threads": self.threads,
                "unit": "ms", "entries": dict(sorted(merged.items()))}
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".lut-", suffix=".json")
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, indent=0)
        os.replace(tmp, self.path)
        return self.path

    def __len__(self) -> int:
        return len(self.entries)

    # ------------------------------------------------------------------ measuring and predicting
    def _time(self, call: OpCall) -> float:
        import torch

        gen = torch.Generator().manual_seed(0)
        if call.kind == "container":
            inner = torch.nn.Identity()

            class _Passthrough(torch.nn.Module):
                def forward(self, x: Any) -> Any:
                    return inner(x)

            mod, x = _Passthrough(), torch.zeros(1)

            def fn() -> Any:
                return mod(x)
            # the identity leaf inside is timed separately; subtract it below
            with torch.inference_mode():
                both = time_callable(fn, warmup=2, repeats=self.repeats, min_repeat_s=self.min_repeat_s).median_ms
                leaf = time_callable(lambda: inner(x), warmup=2, repeats=self.repeats,
                                     min_repeat_s=self.min_repeat_s).median_ms
            return max(both - leaf, 0.0)
        dev = self.torch_device
        on_cpu = dev.type == "cpu"
        if call.kind == "module" or call.kind == "aten":
            args = _materialize(call.args, gen) if on_cpu else _to_device(_materialize(call.args, gen), dev)
            # a module is timed on a copy when it must move: the caller's network stays where it is
            target = call.target if on_cpu or call.kind == "aten" else copy.deepcopy(call.target).to(dev)

            def fn() -> Any:
                return target(*args)
        else:
            a, kw = _materialize(call.args, gen) if on_cpu else _to_device(_materialize(call.args, gen), dev)

            def fn() -> Any:
                return call.target(*a, **kw)
        with torch.inference_mode():
            stats = time_callable(fn, warmup=2, repeats=self.repeats, min_repeat_s=self.min_repeat_s,
                                  batch_size=self.batch_size, threads=self.threads, device=None if on_cpu else dev)
        return stats.median_ms

    def breakdown(self, model: Any, input_shape: Sequence[int], *, measure_missing: bool = True) -> list[tuple[str, float]]:
        """Per-operation (key, ms) of ``model``; unknown operations are timed now and cached."""
        calls = trace_ops(model, input_shape, self.batch_size)
        missing = {c.key: c for c in calls if c.key not in self.entries}
        if missing and not measure_missing:
            raise InvalidConfigError(f"{len(missing)} operation(s) are not in the latency table {self.path}")
        if missing:
            was_training = model.training
            model.eval()
            try:
                with torch_threads(self.threads):
                    for key, call in missing.items():
                        self.entries[key] = self._time(call)
                        self.n_measured += 1
            finally:
                model.train(was_training)
            if self.persist:
                self.save()
        return [(c.key, self.entries[c.key]) for c in calls]

    def predict(self, model: Any, input_shape: Sequence[int], *, measure_missing: bool = True) -> float:
        """Predicted latency (ms per batch) of ``model``: the sum of its operations' table entries."""
        return float(sum(ms for _, ms in self.breakdown(model, input_shape, measure_missing=measure_missing)))
