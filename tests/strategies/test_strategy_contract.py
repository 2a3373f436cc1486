"""One shared suite over every registered strategy: seeding, replay, foreign tells, no test metrics."""

from __future__ import annotations

import numpy as np
import pytest

from nasforge.arch import Architecture
from nasforge.evaluators.base import Objective, Result
from nasforge.spaces import get_space
from nasforge.strategies import STRATEGIES, as_suggestion, make_strategy

SPACE = get_space("nb201")
OBJ = (Objective("val_acc"),)


def _fake_eval(arch: Architecture, fidelity: float | None) -> Result:
    """A deterministic landscape: count convolutions, plus a hash-based wiggle."""
    ops = [arch[k] for k in sorted(arch)]
    score = 50.0 + 5 * sum(op == "nor_conv_3x3" for op in ops) + 2 * sum(op == "nor_conv_1x1" for op in ops)
    score += (hash(arch.key) % 100) / 100.0
    if fidelity is not None and fidelity < 200:
        score -= 5.0
    return Result.ok({"val_acc": score}, hidden={"test_acc": score + 1.0}, cost=1.0, fidelity=fidelity)


def _drive(strategy, steps: int, batch: int = 1):
    history = []
    for _ in range(steps):
        for item in strategy.ask(batch):
            sug = as_suggestion(item)
            obs = _fake_eval(sug.arch, sug.fidelity).observe(OBJ)
            strategy.tell(sug.arch, obs)
            history.append((sug.arch, obs, sug.fidelity))
    return history


@pytest.mark.parametrize("name", STRATEGIES.names())
def test_same_seed_same_trajectory(name: str) -> None:
    a = _drive(make_strategy(name, SPACE, seed=3), 25)
    b = _drive(make_strategy(name, SPACE, seed=3), 25)
    assert [x[0] for x in a] == [x[0] for x in b]


@pytest.mark.parametrize("name", STRATEGIES.names())
def test_restore_rebuilds_state(name: str) -> None:
    """Replaying the stored tells into a fresh strategy gives the same next proposals."""
    original = make_strategy(name, SPACE, seed=7)
    history = _drive(original, 30)
    rebuilt = make_strategy(name, SPACE, seed=7)
    rebuilt.restore([(a, o) for a, o, _ in history], n_asked=original.n_asked)
    nxt_a = [as_suggestion(x) for x in original.ask(3)]
    nxt_b = [as_suggestion(x) for x in rebuilt.ask(3)]
    assert nxt_a == nxt_b


@pytest.mark.parametrize("name", STRATEGIES.names())
def test_batch_ask_and_valid_archs(name: str) -> None:
    s = make_strategy(name, SPACE, seed=0)
    items = [as_suggestion(x) for x in s.ask(4)]
    assert len(items) == 4
    for it in items:
        SPACE.validate(it.arch)


@pytest.mark.parametrize("name", STRATEGIES.names())
def test_accepts_foreign_and_failed_tells(name: str) -> None:
    s = make_strategy(name, SPACE, seed=0)
    rng = np.random.default_rng(1)
    for _ in range(5):
        arch = SPACE.sample(rng)
        s.tell(arch, _fake_eval(arch, None).observe(OBJ))
    s.tell(SPACE.sample(rng), Result.failed("boom").observe(OBJ))
    SPACE.validate(as_suggestion(s.ask(1)[0]).arch)


def test_observation_has_no_hidden_metrics() -> None:
    """The only thing a strategy receives is an Observation, and it carries no test metric."""
    r = Result.ok({"val_acc": 80.0}, hidden={"test_acc": 90.0, "c10_test_acc_200": 93.0})
    obs = r.observe(OBJ)
    assert "test_acc" not in obs.metrics and "c10_test_acc_200" not in obs.metrics
    assert 90.0 not in obs.values and 93.0 not in list(obs.metrics.values())
    assert not hasattr(obs, "hidden")
