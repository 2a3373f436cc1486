"""Cost metrics of built networks: params, FLOPs, peak memory, measured latency (reproducible order)."""

from __future__ import annotations

import pytest
import torch

from nasforge.hardware import count_flops, count_params, measure_latency, peak_forward_memory, torch_threads
from nasforge.spaces import get_space

SPACE = get_space("nb201")
ALL_CONV = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
ALL_SKIP = "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|"


def test_flops_of_one_convolution_by_hand() -> None:
    conv = torch.nn.Conv2d(3, 8, 3, padding=1, bias=False)
    # 8 output channels x 16x16 positions x (3*3*3) multiply-adds, 2 FLOPs each
    assert count_flops(conv, (3, 16, 16)) == 2 * 8 * 16 * 16 * 27
    assert count_flops(conv, (3, 16, 16), batch_size=4) == 4 * 2 * 8 * 16 * 16 * 27
    assert count_params(conv) == 8 * 27


def test_nb201_params_and_flops_match_the_benchmark_scale() -> None:
    conv = SPACE.build(SPACE.parse(ALL_CONV))
    skip = SPACE.build(SPACE.parse(ALL_SKIP))
    # NB201 params_M_c10 for these two cells: 1.531546 and 0.073306 (from nb201_core.csv)
    assert count_params(conv) / 1e6 == pytest.approx(1.531546, abs=1e-6)
    assert count_params(skip) / 1e6 == pytest.approx(0.073306, abs=1e-6)
    f_conv, f_skip = count_flops(conv, (3, 32, 32)), count_flops(skip, (3, 32, 32))
    # NB201 reports ~220 MFLOPs (multiply-adds) for the all-3x3 cell; FlopCounterMode counts 2 per MAC
    assert 200e6 < f_conv / 2 < 240e6
    assert f_skip < f_conv / 10


def test_peak_memory_grows_with_batch_and_counts_params() -> None:
    small = get_space("nb201", channels=8, cells_per_stage=1)
    net = small.build(small.parse(ALL_CONV))
    one = peak_forward_memory(net, (3, 16, 16), batch_size=1)
    four = peak_forward_memory(net, (3, 16, 16), batch_size=4)
    assert one["params"] >= count_params(net) * 4
    # at least two first-stage activations (8 channels x 16x16 floats) are alive at once (an edge's input and output)
    assert one["activations"] >= 2 * 8 * 16 * 16 * 4
    assert four["activations"] > 3 * one["activations"]
    assert one["total"] == one["params"] + one["input"] + one["activations"]


def test_latency_orders_two_architectures_and_restores_threads() -> None:
    """Acceptance 2: the all-conv3x3 cell network is measured slower than the all-skip one."""
    conv = SPACE.build(SPACE.parse(ALL_CONV))
    skip = SPACE.build(SPACE.parse(ALL_SKIP))
    before = torch.get_num_threads()
    # interleave the two so a burst of load from another process hits both
    fast, slow = [], []
    for _ in range(2):
        fast.append(measure_latency(skip, (3, 32, 32), threads=1, repeats=5, warmup=2, min_repeat_s=0.01))
        slow.append(measure_latency(conv, (3, 32, 32), threads=1, repeats=5, warmup=2, min_repeat_s=0.01))
    assert torch.get_num_threads() == before
    for f, s in zip(fast, slow):
        assert s.median_ms > 1.5 * f.median_ms, (s.median_ms, f.median_ms)
        assert s.min_ms <= s.median_ms <= s.max_ms and s.iqr_ms >= 0 and s.threads == 1
        assert len(s.samples_ms) == 5


def test_torch_threads_context_restores() -> None:
    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
