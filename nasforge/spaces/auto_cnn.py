"""``auto_cnn``: a macro CNN space whose depth scales with the input size (the image estimator's default).

The network is a stem, then ``n_stages`` stages separated by 2x2 max pooling, then global average
pooling (or a flatten) and a linear head. ``n_stages`` follows the input side ``H``: enough reductions to
bring the feature map to about 4-7 pixels (8x8 digits: 2 stages, 28x28 MNIST: 3, 32x32 CIFAR: 4,
capped at 4), so the same space serves tiny and larger images. Each stage chooses its block type
and depth (0-2 blocks; 0 only pools); the whole network chooses its base width, the width growth
per stage, a stride-2 stem (4x cheaper, which matters on a CPU under a time budget), the head
(global average pooling or flatten) and its dropout.

Example:
    >>> space = auto_cnn_space(input_size=28)
    >>> space.n_stages, space.size()
    (3, 138240)
"""

from __future__ import annotations

import math
from typing import Any

from nasforge.arch import Architecture
from nasforge.errors import InvalidConfigError
from nasforge.spaces.base import Choice
from nasforge.spaces.dsl import PythonSpace, op, value

__all__ = ["AUTO_CNN_DEFAULT", "AUTO_CNN_OPS", "auto_cnn_space", "auto_cnn_stages"]

AUTO_CNN_OPS = ("conv3x3", "conv5x5", "res3x3", "sep3x3")


def auto_cnn_stages(input_size: int) -> int:
    """Number of stages for square-ish inputs of side ``input_size`` (1 + reductions to ~4-7 px)."""
    if input_size < 4:
        raise InvalidConfigError(f"auto_cnn needs inputs of side >= 4 pixels, but got input_size={input_size}")
    return 1 + max(1, min(3, math.floor(math.log2(input_size / 4))))


def _build_auto_cnn(arch: Architecture, num_classes: int = 10, in_channels: int = 1, input_size: int = 28,
                    input_hw: tuple[int, int] | list[int] | None = None, **_: Any) -> Any:
    import torch
    from torch import nn

    def conv_bn(ci: int, co: int, k: int, stride: int = 1) -> nn.Sequential:
        return nn.Sequential(nn.Conv2d(ci, co, k, stride=stride, padding=k // 2, bias=False),
                             nn.BatchNorm2d(co), nn.ReLU(inplace=True))

    class Residual(nn.Module):
        """ResNet basic block (two 3x3 convs), 1x1 projection when the width changes."""

        def __init__(self, ci: int, co: int) -> None:
            super().__init__()
            self.body = nn.Sequential(nn.Conv2d(ci, co, 3, padding=1, bias=False), nn.BatchNorm2d(co),
                                      nn.ReLU(inplace=True), nn.Conv2d(co, co, 3, padding=1, bias=False),
                                      nn.BatchNorm2d(co))
            self.proj: nn.Module = nn.Identity() if ci == co else nn.Sequential(
                nn.Conv2d(ci, co, 1, bias=False), nn.BatchNorm2d(co))
            self.act = nn.ReLU(inplace=True)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.act(self.body(x) + self.proj(x))

    def block(name: str, ci: int, co: int) -> nn.Module:
        if name == "conv3x3":
            return conv_bn(ci, co, 3)
        if name == "conv5x5":
            return conv_bn(ci, co, 5)
        if name == "res3x3":
            return Residual(ci, co)
        # depthwise-separable: cheap in FLOPs, not always in CPU time (the search measures that)
        return nn.Sequential(nn.Conv2d(ci, ci, 3, padding=1, groups=ci, bias=False), nn.BatchNorm2d(ci),
                             nn.ReLU(inplace=True), nn.Conv2d(ci, co, 1, bias=False), nn.BatchNorm2d(co),
                             nn.ReLU(inplace=True))

    n_stages = auto_cnn_stages(int(input_size))
    width = int(arch["width"])
    growth = float(arch["growth"])
    stem_stride = 2 if arch["stem"] == "conv3x3_s2" else 1
    h, w = (int(v) for v in (input_hw or (input_size, input_size)))
    layers: list[nn.Module] = [conv_bn(in_channels, width, 3, stem_stride)]
    h, w = -(-h // stem_stride), -(-w // stem_stride)
    c = width
    for s in range(n_stages):
        co = round(width * growth ** s)
        if s > 0:
            layers.append(nn.MaxPool2d(2, ceil_mode=True))
            h, w = -(-h // 2), -(-w // 2)
        for _ in range(int(arch[f"stage{s}.depth"])):
            layers.append(block(str(arch[f"stage{s}.op"]), c, co))
            c = co
    if arch["head"] == "gap":
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        features = c
    else:  # flatten the last (small) feature map: learns faster early, costs c*h*w weights
        layers.append(nn.Flatten())
        features = c * h * w
    if float(arch["dropout"]) > 0:
        layers.append(nn.Dropout(float(arch["dropout"])))
    layers.append(nn.Linear(features, num_classes))
    return nn.Sequential(*layers)


class AutoCNNSpace(PythonSpace):
    """The ``auto_cnn`` space; :attr:`n_stages` depends on ``input_size``."""

    def __init__(self, input_size: int = 28) -> None:
        n = auto_cnn_stages(int(input_size))
        dims: list[Choice] = [value("width", [8, 16, 24, 32, 48]), value("growth", [1.5, 2.0]),
                              op("stem", ["conv3x3", "conv3x3_s2"])]
        for s in range(n):
            # depth 0 lets a stage only pool (the classic conv-pool-conv-pool pattern); its op is then inactive
            dims += [value(f"stage{s}.depth", [0, 1, 2]),
                     Choice(f"stage{s}.op", AUTO_CNN_OPS, kind="op", requires=(f"stage{s}.depth", 1))]
        dims += [op("head", ["gap", "flatten"]), value("dropout", [0.0, 0.2])]
        super().__init__("auto_cnn", dims, _build_auto_cnn, {"input_size": int(input_size)}, data_kind="image")
        self.n_stages = n


#: The hand-designed starting point, the classic conv32-pool-conv64-pool-flatten pattern (with batch
#: norm): a 3x3 stem of width 32, then one 3x3 conv in the second stage only, and a flatten head.
AUTO_CNN_DEFAULT = {"width": 32, "growth": 2.0, "stem": "conv3x3", "head": "flatten", "dropout": 0.0}


def auto_cnn_space(input_size: int = 28) -> AutoCNNSpace:
    """The ``auto_cnn`` macro space for images of side ``input_size`` (see the module docstring)."""
    return AutoCNNSpace(input_size)


def auto_cnn_default(space: AutoCNNSpace) -> Architecture:
    """The hand-designed starting architecture of ``space`` (evaluated first by the estimator)."""
    values: dict[str, Any] = dict(AUTO_CNN_DEFAULT)
    for s in range(space.n_stages):
        values[f"stage{s}.depth"] = 1 if s == 1 else 0
        if s == 1:
            values[f"stage{s}.op"] = "conv3x3"
    return space.validate(values)
