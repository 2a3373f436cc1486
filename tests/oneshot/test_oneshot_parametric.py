"""No useless networks: the parametric-path check of one-shot answers, and the spaces' side of it."""

from __future__ import annotations

import torch

from nasforge.oneshot import OneShotConfig
from nasforge.oneshot.darts import DARTS
from nasforge.spaces import get_space

SKIP = "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|none~0|skip_connect~1|skip_connect~2|"


def _data(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 3, (n,), generator=g)
    return torch.randn(n, 1, 6, 6, generator=g) + y.view(-1, 1, 1, 1).float(), y


def test_spaces_say_whether_a_cell_has_a_parametric_path() -> None:
    nb = get_space("nb201")
    assert not nb.has_parametric_path(nb.parse(SKIP))
    # a conv on an edge whose route is cut by 'none' does not count
    assert not nb.has_parametric_path(nb.parse("|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"))
    assert nb.has_parametric_path(nb.parse("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|skip_connect~1|none~2|"))
    assert get_space("mlp").has_parametric_path(get_space("mlp").sample(__import__("numpy").random.default_rng(0))) \
        is None


class SkipDARTS(DARTS):
    """A method whose answer is always the parameter-free cell (stands in for a collapsed search)."""

    name = "skip-darts"

    def _result(self, train, val, rng):  # type: ignore[no-untyped-def]
        return self.space.parse(SKIP)


def test_parameter_free_answer_falls_back_when_the_supernet_cannot_tell() -> None:
    cfg = OneShotConfig(channels=2, batch_size=16, max_steps_per_epoch=1, eval_samples=24, seed=0)
    method = SkipDARTS(get_space("nb201"), cfg)
    arch = method.search(_data(48, 0), _data(24, 1), 1)
    info = method.result_info()["selection_check"]
    assert info["parameter_free_answer"] == SKIP
    # 24 validation images: the noise margin is wide, so the supernet cannot tell the cells apart
    assert info["noise_margin"] > 10 and "fallback" in info
    assert get_space("nb201").has_parametric_path(arch) and method.space.to_string(arch) == \
        info["best_parametric_neighbour"]


def test_spos_final_phase_is_any_registered_strategy_told_by_the_supernet() -> None:
    from nasforge.oneshot import make_oneshot

    cfg = OneShotConfig(channels=2, batch_size=16, max_steps_per_epoch=1, eval_samples=24, seed=0)
    for strategy, params in (("random", {}), ("evolution", {"population_size": 2, "sample_size": 2})):
        m = make_oneshot("spos", get_space("nb201"), cfg, search_strategy=strategy, search_params=params, evals=4,
                         recal_batches=1, panel=1)
        arch = m.search(_data(48, 0), _data(24, 1), 1)
        assert len(m.scores_) <= 4  # the strategy's 4 trials, scored once each by the supernet
        assert m.space.to_string(arch) in m.scores_ or "fallback" in m.result_info().get("selection_check", {})
