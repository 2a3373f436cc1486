"""Candidate operations of the DARTS cell (Liu et al., 2019), shared by stand-alone networks and
the DARTS supernet.

The eight candidates are ``none``, ``max_pool_3x3``, ``avg_pool_3x3``, ``skip_connect``,
``sep_conv_3x3``, ``sep_conv_5x5``, ``dil_conv_3x3`` and ``dil_conv_5x5``. Separable convolutions
are the paper's: two stacked ReLU -> depthwise -> pointwise -> BN units. Imports torch.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from nasforge.spaces.ops import FactorizedReduce, Pooling, ReLUConvBN, Zero

__all__ = ["DARTS_OPERATIONS", "DARTS_OPS", "DilConv", "SepConv", "darts_op", "darts_skeleton"]

DARTS_OPERATIONS: tuple[str, ...] = (
    "none", "max_pool_3x3", "avg_pool_3x3", "skip_connect",
    "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5",
)


class DilConv(nn.Sequential):
    """ReLU, dilated depthwise convolution, pointwise convolution, BN."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int, dilation: int,
                 affine: bool = True, track_running_stats: bool = True) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_in, kernel, stride=stride, padding=padding, dilation=dilation, groups=c_in,
                      bias=False),
            nn.Conv2d(c_in, c_out, 1, bias=False),
            nn.BatchNorm2d(c_out, affine=affine, track_running_stats=track_running_stats),
        )


class SepConv(nn.Sequential):
    """Two stacked separable units (the first carries the stride), as in the DARTS paper."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int, affine: bool = True,
                 track_running_stats: bool = True) -> None:
        super().__init__(
            DilConv(c_in, c_in, kernel, stride, padding, 1, affine, track_running_stats),
            DilConv(c_in, c_out, kernel, 1, padding, 1, affine, track_running_stats),
        )


def _pool(mode: str) -> Callable[[int, int, int, bool, bool], nn.Module]:
    def make(ci: int, co: int, s: int, a: bool, t: bool) -> nn.Module:
        return Pooling(ci, co, s, mode, a, t)
    return make


OpFactory = Callable[[int, int, int, bool, bool], nn.Module]

DARTS_OPS: dict[str, OpFactory] = {
    "none": lambda ci, co, s, a, t: Zero(ci, co, s),
    "max_pool_3x3": _pool("max"),
    "avg_pool_3x3": _pool("avg"),
    "skip_connect": lambda ci, co, s, a, t: nn.Identity() if s == 1 and ci == co else FactorizedReduce(ci, co, a, t),
    "sep_conv_3x3": lambda ci, co, s, a, t: SepConv(ci, co, 3, s, 1, a, t),
    "sep_conv_5x5": lambda ci, co, s, a, t: SepConv(ci, co, 5, s, 2, a, t),
    "dil_conv_3x3": lambda ci, co, s, a, t: DilConv(ci, co, 3, s, 2, 2, a, t),
    "dil_conv_5x5": lambda ci, co, s, a, t: DilConv(ci, co, 5, s, 4, 2, a, t),
}


def darts_op(name: str, c_in: int, c_out: int, stride: int = 1, affine: bool = True,
             track_running_stats: bool = True) -> nn.Module:
    """Instantiate one DARTS candidate operation by name."""
    return DARTS_OPS[name](c_in, c_out, stride, affine, track_running_stats)


def preprocess(c_in: int, c_out: int, reduce: bool, affine: bool = True,
               track_running_stats: bool = True) -> nn.Module:
    """Bring a cell input to ``c_out`` channels (and halve it when the previous cell reduced)."""
    if reduce:
        return FactorizedReduce(c_in, c_out, affine, track_running_stats)
    return ReLUConvBN(c_in, c_out, 1, 1, 0, 1, affine, track_running_stats)




def darts_skeleton(channels: int, layers: int, in_channels: int,
                   make_cell: Callable[[int, int, int, bool, bool], nn.Module]) -> tuple[nn.Module, nn.ModuleList, int]:
    """The DARTS macro skeleton shared by stand-alone networks and supernets.

    A 3x3 stem of ``3 * channels``, then ``layers`` cells with reductions (channels doubled) at 1/3
    and 2/3 of the depth; ``make_cell(c_prev_prev, c_prev, c, reduction, reduction_prev)`` builds a
    cell whose output has ``4 * c`` channels. Returns the stem, the cells and the output channels.
    """
    c_curr = 3 * channels
    stem = nn.Sequential(nn.Conv2d(in_channels, c_curr, 3, padding=1, bias=False), nn.BatchNorm2d(c_curr))
    c_pp, c_p, c = c_curr, c_curr, channels
    cells = nn.ModuleList()
    reduction_prev = False
    for i in range(layers):
        reduction = i in (layers // 3, 2 * layers // 3)
        if reduction:
            c *= 2
        cells.append(make_cell(c_pp, c_p, c, reduction, reduction_prev))
        reduction_prev = reduction
        c_pp, c_p = c_p, 4 * c
    return stem, cells, c_p
