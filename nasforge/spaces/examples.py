"""Spaces written with the Python primitives of :mod:`nasforge.spaces.dsl`.

- ``chain_cnn``: a small convolutional chain for images: stem width, 1-4 blocks each choosing an
  operation, a kernel-free pooling option and one earlier tensor to add as a skip input.
- ``mlp``: multi-layer perceptrons for tabular data: 1-4 layers with width, activation, dropout.
- ``chain_cnn_joint``: ``chain_cnn`` plus its training recipe (learning rate on a log scale,
  weight decay, optimizer, batch size, augmentation on/off): a joint architecture +
  hyperparameter search space.
"""

from __future__ import annotations

from typing import Any

from nasforge.arch import Architecture
from nasforge.spaces.dsl import PythonSpace, inputs, loguniform, op, repeat, value

__all__ = ["chain_cnn_joint_space", "chain_cnn_space", "mlp_space"]

CNN_OPS = ("conv3x3", "conv5x5", "sep_conv3x3", "max_pool3x3", "identity")


def _build_chain_cnn(arch: Architecture, num_classes: int = 10, in_channels: int = 3, **_: Any) -> Any:
    import torch
    from torch import nn

    width = int(arch["stem_width"])

    def make(name: str) -> nn.Module:
        if name == "conv3x3":
            return nn.Sequential(nn.Conv2d(width, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU())
        if name == "conv5x5":
            return nn.Sequential(nn.Conv2d(width, width, 5, padding=2, bias=False), nn.BatchNorm2d(width), nn.ReLU())
        if name == "sep_conv3x3":
            return nn.Sequential(nn.Conv2d(width, width, 3, padding=1, groups=width, bias=False),
                                 nn.Conv2d(width, width, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU())
        if name == "max_pool3x3":
            return nn.MaxPool2d(3, stride=1, padding=1)
        return nn.Identity()

    class ChainCNN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(in_channels, width, 3, padding=1, bias=False),
                                      nn.BatchNorm2d(width), nn.ReLU())
            depth = int(arch["block.depth"])
            self.blocks = nn.ModuleList(make(str(arch[f"block.{i}.op"])) for i in range(depth))
            self.skips = [int(arch[f"block.{i}.skip"][0]) for i in range(depth)]  # type: ignore[index]
            self.head = nn.Linear(width, num_classes)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            states = [self.stem(x)]
            for block, skip in zip(self.blocks, self.skips):
                states.append(block(states[-1]) + states[skip])
            return self.head(states[-1].mean(dim=(2, 3)))

    return ChainCNN()


def chain_cnn_space() -> PythonSpace:
    """The example image space written with ``op``/``value``/``inputs``/``repeat``."""
    return PythonSpace(
        "chain_cnn",
        [
            value("stem_width", [8, 16, 32]),
            repeat("block", 1, 4, lambda i: [op("op", CNN_OPS), inputs("skip", n_candidates=i + 1)]),
        ],
        build=_build_chain_cnn,
        data_kind="image",
    )


def chain_cnn_joint_space() -> PythonSpace:
    """``chain_cnn`` with its training hyperparameters searched alongside (``train.*`` labels)."""
    return PythonSpace(
        "chain_cnn_joint",
        [
            value("stem_width", [8, 16, 32]),
            repeat("block", 1, 4, lambda i: [op("op", CNN_OPS), inputs("skip", n_candidates=i + 1)]),
            loguniform("train.lr", 0.003, 0.3, 5),
            value("train.weight_decay", [0.0, 1e-4, 5e-4, 2e-3]),
            value("train.optimizer", ["sgd", "adamw"]),
            value("train.batch_size", [32, 64, 128]),
            value("train.augment", [False, True]),
        ],
        build=_build_chain_cnn,
        data_kind="image",
    )


def _build_mlp(arch: Architecture, num_classes: int = 2, in_features: int | None = None, **_: Any) -> Any:
    from torch import nn

    acts = {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh}
    layers: list[nn.Module] = [nn.Flatten()]
    width = in_features
    for i in range(int(arch["layer.depth"])):
        out = int(arch[f"layer.{i}.width"])
        layers.append(nn.Linear(width, out) if width else nn.LazyLinear(out))
        layers.append(acts[str(arch[f"layer.{i}.activation"])]())
        rate = float(arch[f"layer.{i}.dropout"])
        if rate > 0:
            layers.append(nn.Dropout(rate))
        width = out
    layers.append(nn.Linear(width, num_classes) if width else nn.LazyLinear(num_classes))
    return nn.Sequential(*layers)


def mlp_space() -> PythonSpace:
    """MLPs for tabular data: 1-4 hidden layers, each with width, activation and dropout."""
    return PythonSpace(
        "mlp",
        [repeat("layer", 1, 4, [value("width", [16, 32, 64, 128, 256]), op("activation", ["relu", "gelu", "tanh"]),
                                value("dropout", [0.0, 0.1, 0.3])])],
        build=_build_mlp,
        data_kind="tabular",
    )
