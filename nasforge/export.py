"""Saving, loading and exporting trained models.

``save_model`` writes ``PATH`` (``torch.save`` of tensors only) and ``PATH.json`` (space, arch,
training settings, input normalisation). ``load_model`` rebuilds the network from the JSON and
loads the weights with ``weights_only=True``, so untrusted files cannot run code.

``export_model`` writes a trained model as TorchScript, a ``torch.export`` program (``pt2``, the
successor of TorchScript, which torch 2.13 deprecates; load it with
``torch.export.load(path).module()``) or ONNX for use without nasforge. The exported graph takes raw
inputs (as ``load_dataset`` returns them): the training normalisation is folded in as its first step.
Every file is read back and checked against PyTorch (ONNX with onnxruntime) before ``export_model``
returns. ``final_model`` trains the best architecture of a stored search
stand-alone (on train+validation), or reuses the model trained by an earlier export.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, is_dataclass
from pathlib import Path
from typing import Any

from nasforge.errors import InvalidConfigError, NasforgeError, UnknownNameError
from nasforge.naming import safe_filename
from nasforge.registry import unknown_name_message

__all__ = [
    "EXPORT_FORMATS",
    "ExportCheckError",
    "FinalModel",
    "check_onnx",
    "export_model",
    "final_model",
    "load_model",
    "save_model",
    "write_graph",
]


def save_model(model: Any, path: str | Path, *, space: str, arch: str, config: Any = None,
               space_config: dict[str, Any] | None = None) -> Path:
    """Write ``model``'s weights to ``path`` and its description to ``path + '.json'``."""
    import torch

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), p)
    meta = {"format": "nasforge-state-dict/1", "space": space, "space_config": space_config or {}, "arch": arch,
            "train_config": asdict(config) if is_dataclass(config) else config,
            "meta": getattr(model, "nasforge_meta", {})}
    Path(str(p) + ".json").write_text(json.dumps(meta, indent=2))
    return p


def load_model(path: str | Path) -> Any:
    """Rebuild and load a model written by :func:`save_model` (weights only, no pickle code)."""
    import torch

    from nasforge.spaces import get_space

    p = Path(path)
    meta = json.loads(Path(str(p) + ".json").read_text())
    space = get_space(meta["space"], **meta.get("space_config", {}))
    info = meta.get("meta", {})
    shape = info.get("input_shape", [3, 32, 32])
    kw: dict[str, Any] = {"num_classes": info.get("num_classes", 10)}
    if len(shape) == 3:
        kw["in_channels"] = shape[0]
    else:
        kw["in_features"] = shape[0]
    kw.update((meta.get("train_config") or {}).get("model") or {})
    model = space.build(space.parse(meta["arch"]), **kw)
    with torch.no_grad():
        model(torch.zeros(1, *shape))
    model.load_state_dict(torch.load(p, weights_only=True))
    model.eval()
    model.nasforge_meta = info
    return model


EXPORT_FORMATS = ("torchscript", "pt2", "onnx", "state_dict")
ONNX_TOLERANCE = 1e-4


class ExportCheckError(NasforgeError):
    """An exported model does not reproduce the PyTorch model's outputs."""


def _normalized(model: Any) -> Any:
    """``model`` with its input normalisation (``nasforge_meta`` mean/std) as the first layer."""
    from torch import nn

    from nasforge.training.data import Normalize

    return nn.Sequential(Normalize.from_meta(getattr(model, "nasforge_meta", {}) or {}), model).eval()


def _example(model: Any, batch: Any, size: int = 8) -> Any:
    import torch

    if batch is not None:
        import numpy as np

        arr = np.asarray(batch)
        # a writable copy of read-only data; integer inputs (token ids) stay int64
        return torch.from_numpy(np.array(arr, dtype=np.int64 if arr.dtype.kind in "iu" else np.float32))
    shape = (getattr(model, "nasforge_meta", {}) or {}).get("input_shape", [3, 32, 32])
    return torch.rand(size, *shape, generator=torch.Generator().manual_seed(0))


def check_onnx(path: str | Path, model: Any, batch: Any) -> float:
    """Run ``batch`` through the ONNX file with onnxruntime and through ``model`` (raw inputs);
    returns the largest absolute difference of the outputs."""
    import numpy as np
    import onnxruntime as ort
    import torch

    x = _example(model, batch)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
    with torch.no_grad():
        want = model(x).numpy()
    return float(np.max(np.abs(got - want)))


def write_graph(net: Any, x: Any, path: str | Path, fmt: str, *, output_name: str = "logits") -> float:
    """Write the eval-mode network ``net`` to ``path`` as ``torchscript`` (traced), ``pt2`` (a
    ``torch.export`` program) or ``onnx`` (input ``input``, output ``output_name``), with a dynamic
    batch axis in ``pt2`` and ``onnx``; ``x`` is the example batch. Returns the largest absolute
    difference between the written file's outputs on ``x`` and ``net``'s."""
    import warnings

    import torch

    with torch.no_grad():
        want = net(x)
    with warnings.catch_warnings(), torch.no_grad():
        # tracing warns about shape checks in the network (the input shape is fixed by the data) and
        # about TorchScript's deprecation
        warnings.simplefilter("ignore")
        if fmt == "torchscript":
            torch.jit.trace(net, x, check_trace=False).save(str(path))  # checked below, once
            got = torch.jit.load(str(path))(x)
        elif fmt == "pt2":
            batch = torch.export.Dim("batch", min=1)
            torch.export.save(torch.export.export(net, (x,), dynamic_shapes=({0: batch},)), str(path))
            got = torch.export.load(str(path)).module()(x)
        else:
            # the TorchScript-based exporter: the dynamo one needs onnxscript, which is not a dependency
            torch.onnx.export(net, (x,), str(path), dynamo=False, input_names=["input"], output_names=[output_name],
                              dynamic_axes={"input": {0: "batch"}, output_name: {0: "batch"}}, opset_version=17)
            return check_onnx(path, net, x)
    return float((got - want).abs().max())


def export_model(model: Any, path: str | Path, fmt: str, *, space: str, arch: str, config: Any = None,
                 space_config: dict[str, Any] | None = None, batch: Any = None,
                 extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write a trained model as ``torchscript``, ``pt2``, ``onnx`` or ``state_dict`` (+ ``PATH.json``).

    Args:
        model: a trained network with ``nasforge_meta`` (as :func:`nasforge.training.train_architecture`
            returns it).
        batch: raw inputs for tracing and for the ONNX check (default: 8 random inputs).
        extra: more fields for the JSON sidecar (experiment, accuracies, ...).

    Returns:
        What was written: path, format, and for ONNX the largest difference to PyTorch.

    Raises:
        ExportCheckError: when the written model disagrees with PyTorch by more than 1e-4.

    Example:
        >>> export_model(out.model, "best.onnx", "onnx", space="nb201", arch=arch_str)  # doctest: +SKIP
    """
    if fmt not in EXPORT_FORMATS:
        raise UnknownNameError(unknown_name_message("export format", fmt, list(EXPORT_FORMATS)))
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    info: dict[str, Any] = {"path": str(p.resolve()), "format": fmt}
    if fmt == "state_dict":
        save_model(model, p, space=space, arch=arch, config=config, space_config=space_config)
        return info
    x = _example(model, batch)
    diff = write_graph(_normalized(model), x, p, fmt)
    info["max_abs_diff"] = diff
    if not diff <= ONNX_TOLERANCE:
        raise ExportCheckError(f"the {fmt} model differs from PyTorch by {diff:.3g} (> {ONNX_TOLERANCE:g}) on a "
                               f"batch of {len(x)}; not trusting {p}")
    meta = {"format": f"nasforge-{fmt}/1", "space": space, "space_config": space_config or {}, "arch": arch,
            "input": "raw (normalisation is inside the model)", "input_shape": list(x.shape[1:]),
            "train_config": asdict(config) if is_dataclass(config) else config,
            "meta": getattr(model, "nasforge_meta", {}), "check": {"batch": len(x), "max_abs_diff": diff},
            **(extra or {})}
    Path(str(p) + ".json").write_text(json.dumps(meta, indent=2, default=str))
    return info


@dataclass
class FinalModel:
    """The stand-alone model of a search's best architecture (see :func:`final_model`)."""

    model: Any
    space: str
    space_config: dict[str, Any]
    arch: str
    dataset: str
    config: Any
    cache: Path | None
    reused: bool
    seconds: float
    test_acc: float | None
    trial: int


def final_model(store: Any, name: str, *, dataset: str | None = None, epochs: int | None = None,
                data_root: str | None = None, model_config: dict[str, Any] | None = None,
                cache_dir: str | Path | None = None, retrain: bool = False) -> FinalModel:
    """Train the best architecture of experiment ``name`` on train+validation, or reuse it.

    The training settings are the experiment's own (``--epochs`` etc. of its search), with the
    training hyperparameters the best architecture chose in a joint space; ``epochs`` overrides the
    epochs. A tabular-benchmark experiment never trained anything, so it needs a
    ``dataset`` and uses the default training settings. A model trained before with the same
    architecture, data and settings is loaded from ``cache_dir`` instead of trained again
    (unless ``retrain``).

    Raises:
        InvalidConfigError: when the experiment has no successful trial, or a benchmark
            experiment is exported without a dataset.
    """
    import hashlib
    import time

    from nasforge.api import build_experiment
    from nasforge.runner import Runner
    from nasforge.training.recipe import recipe_for, split_settings
    from nasforge.training.standalone import DataSettings, train_architecture
    from nasforge.spaces import get_space

    rec = store.get_experiment(name)
    spec = rec.spec
    ev = spec["evaluator"]
    exp = build_experiment(spec, name)
    runner = Runner(exp, None)
    runner.records = sorted((t for t in store.trials(rec.id) if t.tell_order is not None),
                            key=lambda t: t.tell_order or 0)
    best = runner.best()
    if best is None:
        raise InvalidConfigError(f"experiment '{name}' has no successful trial to export")
    settings: dict[str, Any] = {}
    if ev["kind"] == "train":
        settings = dict(ev.get("config") or {})
        dataset = dataset or ev["dataset"]
        data_root = data_root or ev.get("data_root")
        if epochs is None and best.fidelity:
            epochs = int(best.fidelity)  # the epochs the winning trial was trained for
    elif dataset is None:
        raise InvalidConfigError(f"experiment '{name}' searched the tabular benchmark '{ev.get('name')}' and "
                                 f"trained nothing; give --dataset to train its best architecture on")
    settings.setdefault("seed", spec.get("seed", 0))
    if epochs is not None:
        settings["epochs"] = int(epochs)
    if model_config:
        settings["model"] = {**settings.get("model", {}), **model_config}
    recipe, data_settings = split_settings(settings)
    data_cfg = DataSettings(**data_settings)
    space_name, space_config = spec["space"]["name"], dict(spec["space"].get("config", {}))
    space = get_space(space_name, **space_config)
    arch = space.parse(best.arch)
    recipe = recipe_for(recipe, arch)  # a joint space's best trial brings its own training hyperparameters
    cfg = {**recipe.to_dict(), **asdict(data_cfg)}
    key = hashlib.sha256(json.dumps([space_name, space_config, best.arch_key, dataset, data_root, cfg],
                                    sort_keys=True, default=str).encode()).hexdigest()[:12]
    # the experiment name is free text: never let it leave cache_dir or overflow a file name
    cache = Path(cache_dir) / f"{safe_filename(name)}-{key}.pt" if cache_dir is not None else None
    if cache is not None and cache.is_file() and Path(str(cache) + ".json").is_file() and not retrain:
        model = load_model(cache)
        info = json.loads(Path(str(cache) + ".json").read_text()).get("final", {})
        return FinalModel(model, space_name, space_config, best.arch, dataset, cfg, cache, True, 0.0,
                          info.get("test_acc"), best.number)
    t0 = time.perf_counter()
    out = train_architecture(space, arch, dataset, recipe, data_cfg, data_root=data_root, final=True)
    if cache is not None:
        save_model(out.model, cache, space=space_name, arch=best.arch, config=cfg, space_config=space_config)
        meta = json.loads(Path(str(cache) + ".json").read_text())
        meta["final"] = {"experiment": name, "trial": best.number, "dataset": dataset, "test_acc": out.test_acc}
        Path(str(cache) + ".json").write_text(json.dumps(meta, indent=2))
    return FinalModel(out.model, space_name, space_config, best.arch, dataset, cfg, cache, False,
                      time.perf_counter() - t0, out.test_acc, best.number)
