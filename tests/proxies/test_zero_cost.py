"""Zero-cost proxies on real (tiny) NB201 networks and a real digits minibatch; the warm start."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nasforge.errors import InvalidConfigError, UnknownNameError
from nasforge.evaluators.base import Objective, Result
from nasforge.proxies import PROXIES, ZeroCostEvaluator
from nasforge.proxies.strategy import proxy_scores
from nasforge.spaces import get_space
from nasforge.strategies import as_suggestion, make_strategy

SPACE = get_space("nb201")
TINY = {"channels": 4, "cells_per_stage": 1}
CONVS = SPACE.parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|")
SKIPS = SPACE.parse("|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|")
EMPTY = SPACE.parse("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")


@pytest.fixture(scope="module")
def evaluator() -> ZeroCostEvaluator:
    return ZeroCostEvaluator(SPACE, "digits", batch_size=32, build=TINY)


def test_every_proxy_is_finite_and_reproducible(evaluator: ZeroCostEvaluator) -> None:
    a = evaluator.scores(CONVS)
    assert sorted(a) == sorted(PROXIES.names())
    assert all(math.isfinite(v) for v in a.values())
    assert evaluator.scores(CONVS) == a  # same seed, same weights, same minibatch


def test_proxies_rank_convolutions_above_skips(evaluator: ZeroCostEvaluator) -> None:
    conv, skip = evaluator.scores(CONVS), evaluator.scores(SKIPS)
    assert conv["synflow"] > skip["synflow"]
    assert conv["snip"] > skip["snip"]
    assert conv["naswot"] > skip["naswot"]


def test_disconnected_cell_scores_lowest_jacob_cov(evaluator: ZeroCostEvaluator) -> None:
    empty = evaluator.scores(EMPTY)
    assert empty["jacob_cov"] < evaluator.scores(SKIPS)["jacob_cov"]


def test_evaluator_result_and_objective(evaluator: ZeroCostEvaluator) -> None:
    r = evaluator.evaluate(CONVS)
    assert r.is_ok and r.cost > 0 and evaluator.default_objective == "synflow"
    assert r.observe((Objective("synflow"),)).value == pytest.approx(r.metrics["synflow"])


def test_evaluator_rejects_bad_settings() -> None:
    with pytest.raises(UnknownNameError):
        ZeroCostEvaluator(SPACE, "digits", proxies=("grasp_typo",))
    with pytest.raises(InvalidConfigError):
        ZeroCostEvaluator(SPACE, "digits", batch_size=1)


def test_proxy_scores_leave_global_torch_state_alone() -> None:
    import torch

    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    proxy_scores(SPACE, [CONVS, SKIPS], build=TINY, seed=5)
    assert torch.equal(torch.rand(3), expected)


def test_zero_cost_warm_start_asks_best_proxy_first_then_inner() -> None:
    s = make_strategy("zc", SPACE, seed=0, pool_size=12, n_warm=3, build=TINY, inner="evolution")
    warm = s.warm_list()
    scores = proxy_scores(SPACE, warm, build=TINY, seed=0)
    assert list(scores) == sorted(scores, reverse=True)
    asked = [as_suggestion(x).arch for x in s.ask(3)]
    assert asked == warm
    for a in asked:
        s.tell(a, Result.ok({"val_acc": 80.0}).observe((Objective("val_acc"),)))
    nxt = as_suggestion(s.ask(1)[0]).arch
    assert nxt not in asked
    # restore rebuilds the same next ask
    r = make_strategy("zc", SPACE, seed=0, pool_size=12, n_warm=3, build=TINY, inner="evolution")
    r.restore([(a, Result.ok({"val_acc": 80.0}).observe((Objective("val_acc"),))) for a in asked], n_asked=3)
    assert as_suggestion(r.ask(1)[0]).arch == nxt
    with pytest.raises(InvalidConfigError):
        make_strategy("zc", SPACE, proxy="naswot")


def test_synflow_correlates_with_nb201_accuracy(nb201_csv) -> None:  # type: ignore[no-untyped-def]
    """On 40 random connected NB201 cells, synflow ranks like the 200-epoch CIFAR-10 validation accuracy."""
    from scipy.stats import spearmanr

    from nasforge.evaluators.tabular import load_table

    table = load_table(str(nb201_csv))
    rng = np.random.default_rng(0)
    archs = [a for a in (SPACE.sample(rng) for _ in range(60)) if SPACE.is_connected(a)][:40]
    acc = [table.columns["c10_valid_acc_200"][table.row_of[SPACE.to_string(a)]] for a in archs]
    rho = spearmanr(proxy_scores(SPACE, archs, build=TINY), acc).statistic
    assert rho > 0.4
