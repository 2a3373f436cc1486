"""Candidate operations shared by stand-alone networks and supernets.

Definitions follow the NAS-Bench-201 reference implementation (ReLU -> Conv -> BN blocks,
count_include_pad=False average pooling, a ResNet basic block between stages), so a built
network's parameter count matches the benchmark's ``params_M_c10`` column exactly (a test checks).
Imports torch: only modules that build networks import this one.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

__all__ = ["NB201_OPS", "FactorizedReduce", "Pooling", "ReLUConvBN", "ResNetBasicBlock", "Zero", "nb201_op"]


class ReLUConvBN(nn.Sequential):
    """ReLU, convolution, batch norm: the NB201 / DARTS convolution unit."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int, dilation: int = 1,
                 affine: bool = True, track_running_stats: bool = True) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, dilation=dilation, bias=not affine),
            nn.BatchNorm2d(c_out, affine=affine, track_running_stats=track_running_stats),
        )


class Pooling(nn.Module):
    """3x3 pooling, with a 1x1 ReLUConvBN in front when the channel count changes."""

    def __init__(self, c_in: int, c_out: int, stride: int, mode: str = "avg", affine: bool = True,
                 track_running_stats: bool = True) -> None:
        super().__init__()
        self.pre = None if c_in == c_out else ReLUConvBN(c_in, c_out, 1, 1, 0, 1, affine, track_running_stats)
        if mode == "avg":
            self.pool: nn.Module = nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False)
        else:
            self.pool = nn.MaxPool2d(3, stride=stride, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(x if self.pre is None else self.pre(x))


class Zero(nn.Module):
    """The ``none`` operation: outputs zeros of the right shape."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.c_out, self.stride = c_out, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1 and x.shape[1] == self.c_out:
            return x.mul(0.0)
        n, _, h, w = x.shape
        return x.new_zeros(n, self.c_out, (h + self.stride - 1) // self.stride, (w + self.stride - 1) // self.stride)


class FactorizedReduce(nn.Module):
    """Halve the resolution with two offset stride-2 1x1 convolutions (skip across a reduction)."""

    def __init__(self, c_in: int, c_out: int, affine: bool = True, track_running_stats: bool = True) -> None:
        super().__init__()
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out - c_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(c_out, affine=affine, track_running_stats=track_running_stats)
        self.pad = nn.ConstantPad2d((0, 1, 0, 1), 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        y = self.pad(x)
        out = torch.cat([self.conv_1(x), self.conv_2(y[:, :, 1:, 1:])], dim=1)
        return self.bn(out)


class ResNetBasicBlock(nn.Module):
    """The residual reduction block NB201 puts between stages (stride 2, channels doubled)."""

    def __init__(self, c_in: int, c_out: int, stride: int, affine: bool = True) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, stride, 1, 1, affine)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1, 1, affine)
        if stride == 2:
            self.downsample: nn.Module | None = nn.Sequential(
                nn.AvgPool2d(kernel_size=2, stride=2, padding=0), nn.Conv2d(c_in, c_out, 1, 1, 0, bias=False)
            )
        elif c_in != c_out:
            self.downsample = ReLUConvBN(c_in, c_out, 1, 1, 0, 1, affine)
        else:
            self.downsample = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv_b(self.conv_a(x))
        if self.downsample is None:
            return x + y
        h, w = x.shape[-2:]
        if h % 2 or w % 2:
            # AvgPool2d(2) floors odd sizes while the stride-2 conv rounds up (7x7 on MNIST): pad to agree.
            x = nn.functional.pad(x, (0, w % 2, 0, h % 2))
        return self.downsample(x) + y


OpFactory = Callable[[int, int, int, bool, bool], nn.Module]

NB201_OPS: dict[str, OpFactory] = {
    "none": lambda ci, co, s, a, t: Zero(ci, co, s),
    "skip_connect": lambda ci, co, s, a, t: nn.Identity() if s == 1 and ci == co else FactorizedReduce(ci, co, a, t),
    "nor_conv_1x1": lambda ci, co, s, a, t: ReLUConvBN(ci, co, 1, s, 0, 1, a, t),
    "nor_conv_3x3": lambda ci, co, s, a, t: ReLUConvBN(ci, co, 3, s, 1, 1, a, t),
    "avg_pool_3x3": lambda ci, co, s, a, t: Pooling(ci, co, s, "avg", a, t),
}


def nb201_op(name: str, c_in: int, c_out: int, stride: int = 1, affine: bool = True,
             track_running_stats: bool = True) -> nn.Module:
    """Instantiate one NB201 candidate operation by name."""
    return NB201_OPS[name](c_in, c_out, stride, affine, track_running_stats)


def nb201_skeleton(channels: int, cells_per_stage: int, in_channels: int,
                   make_cell: Callable[[int], nn.Module]) -> tuple[nn.Module, list[nn.Module], nn.Module, int]:
    """The NB201 macro skeleton shared by stand-alone networks and supernets.

    Returns the stem, the layer list (3 stages of ``make_cell(c)`` joined by residual reduction
    blocks that double ``c``), the final BN-ReLU, and the last stage's channel count.
    """
    c = channels
    stem = nn.Sequential(nn.Conv2d(in_channels, c, 3, padding=1, bias=False), nn.BatchNorm2d(c))
    layers: list[nn.Module] = []
    for stage in range(3):
        if stage > 0:
            layers.append(ResNetBasicBlock(c, 2 * c, 2))
            c *= 2
        layers.extend(make_cell(c) for _ in range(cells_per_stage))
    return stem, layers, nn.Sequential(nn.BatchNorm2d(c), nn.ReLU(inplace=True)), c
