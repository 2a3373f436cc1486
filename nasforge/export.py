"""Saving and loading trained models without pickle: a state dict plus a JSON sidecar.

``save_model`` writes ``PATH`` (``torch.save`` of tensors only) and ``PATH.json`` (space, arch,
training settings, input normalisation). ``load_model`` rebuilds the network from the JSON and
loads the weights with ``weights_only=True``, so untrusted files cannot run code.
"""

from __future__ import annotations

import json
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

__all__ = ["save_model", "load_model"]


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
    kw.update((meta.get("train_config") or {}).get("model", {}))
    model = space.build(space.parse(meta["arch"]), **kw)
    with torch.no_grad():
        model(torch.zeros(1, *shape))
    model.load_state_dict(torch.load(p, weights_only=True))
    model.eval()
    model.nasforge_meta = info
    return model
