from __future__ import annotations

import numpy as np
import pytest

import nasforge as nf
from nasforge.errors import InvalidArchitectureError, InvalidConfigError, UnknownNameError
from nasforge.spaces import SPACES, get_space


def _space():
    return nf.define_space("toy", [
        nf.value("width", [8, 16]),
        nf.repeat("layer", 1, 3, lambda i: [nf.op("op", ["conv", "pool"]), nf.inputs("src", i + 1)]),
    ])


def test_repeat_makes_conditional_dimensions() -> None:
    space = _space()
    assert space.labels[:2] == ["width", "layer.depth"]
    rng = np.random.default_rng(0)
    for _ in range(50):
        arch = space.sample(rng)
        depth = arch["layer.depth"]
        assert all((f"layer.{i}.op" in arch) == (i < depth) for i in range(3))
        space.validate(arch)
        child = space.mutate(arch, rng)
        space.validate(child)
        for n in space.neighbors(arch):
            space.validate(n)


def test_enumerate_counts_distinct_architectures() -> None:
    space = _space()
    archs = list(space.enumerate())
    # width 2 x (depth1: 2*1 + depth2: 2*1*2*2 + depth3: 2*1*2*2*2*3)
    assert len(archs) == 2 * (2 + 8 + 48) == len(set(archs))


def test_validation_errors_name_the_problem() -> None:
    space = _space()
    arch = dict(space.sample(np.random.default_rng(1)))
    arch["layer.depth"] = 1
    with pytest.raises(InvalidArchitectureError, match="inactive"):
        space.validate({**arch, "layer.1.op": "conv", "layer.1.src": (0,)} | {"layer.depth": 1}
                       if "layer.1.op" not in arch else arch)
    with pytest.raises(InvalidArchitectureError, match="expected 1 distinct sorted input indices in 0..0"):
        space.validate({"width": 8, "layer.depth": 1, "layer.0.op": "conv", "layer.0.src": (3,)})
    with pytest.raises(InvalidConfigError, match="min_depth <= max_depth"):
        nf.repeat("x", 3, 1, [])


def test_registered_spaces_build_networks() -> None:
    import torch

    rng = np.random.default_rng(0)
    for name, x, kw in [("chain_cnn", torch.randn(2, 1, 8, 8), {"in_channels": 1}),
                        ("mlp", torch.randn(2, 13), {"in_features": 13, "num_classes": 3})]:
        space = get_space(name)
        for _ in range(3):
            assert space.build(space.sample(rng), **kw)(x).shape[0] == 2


def test_unknown_space_lists_valid_names() -> None:
    with pytest.raises(UnknownNameError, match="did you mean 'nb201'"):
        get_space("nb21")
    assert {"nb201", "chain_cnn", "mlp"} <= set(SPACES.names())


def test_parse_json_form() -> None:
    space = _space()
    arch = space.sample(np.random.default_rng(2))
    assert space.parse(arch.key) == arch
    with pytest.raises(InvalidArchitectureError, match="cannot parse"):
        space.parse("{not json")
