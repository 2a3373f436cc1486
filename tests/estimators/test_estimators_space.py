"""The ``auto_cnn`` space the image estimator searches by default."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nasforge.errors import InvalidArchitectureError, InvalidConfigError
from nasforge.spaces import get_space
from nasforge.spaces.auto_cnn import auto_cnn_default, auto_cnn_stages


@pytest.mark.parametrize("side, stages", [(4, 2), (8, 2), (16, 3), (28, 3), (32, 4), (64, 4), (224, 4)])
def test_stages_scale_with_input_size(side: int, stages: int) -> None:
    assert auto_cnn_stages(side) == stages
    assert get_space("auto_cnn", input_size=side).n_stages == stages


def test_too_small_inputs_are_rejected() -> None:
    with pytest.raises(InvalidConfigError, match="input_size=3"):
        get_space("auto_cnn", input_size=3)


@pytest.mark.parametrize("hw, channels", [((8, 8), 1), ((28, 28), 1), ((32, 32), 3), ((20, 27), 3)])
def test_sampled_networks_build_and_run(hw: tuple[int, int], channels: int) -> None:
    space = get_space("auto_cnn", input_size=min(hw))
    rng = np.random.default_rng(0)
    archs = [auto_cnn_default(space)] + [space.sample(rng) for _ in range(6)]
    for arch in archs:
        net = space.build(arch, num_classes=5, in_channels=channels, input_hw=list(hw))
        assert net(torch.zeros(2, channels, *hw)).shape == (2, 5), arch


def test_an_empty_stage_has_no_op_label() -> None:
    space = get_space("auto_cnn", input_size=28)
    arch = auto_cnn_default(space)
    assert arch["stage0.depth"] == 0 and "stage0.op" not in arch
    with pytest.raises(InvalidArchitectureError, match="inactive"):
        space.validate({**arch.to_dict(), "stage0.op": "conv3x3"})
    # the default (stem conv32, pool, conv64, pool, flatten) is the classic small-image CNN
    assert arch["head"] == "flatten" and arch["stage1.depth"] == 1
