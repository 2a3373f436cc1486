"""Issue 3 strategies: REINFORCE, local search, BANANAS, Optuna samplers, multi-fidelity, zero-cost warm start."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nasforge.api import build_experiment, make_spec
from nasforge.arch import Architecture
from nasforge.errors import InvalidConfigError, NotFittedError, UnknownNameError
from nasforge.evaluators.base import Objective, Result
from nasforge.predictors import MLPEnsemble
from nasforge.runner import Runner
from nasforge.spaces import get_space
from nasforge.strategies import as_suggestion, make_strategy
from nasforge.strategies.multifidelity import CategoricalKDE

SPACE = get_space("nb201")
OBJ = (Objective("val_acc"),)

# small settings so that the model / walk / promotions are active within a few dozen steps
SMALL = {
    "reinforce": {},
    "local": {"n_init": 3},
    "bananas": {"n_init": 5, "epochs": 30},
    "tpe": {"n_startup_trials": 5},
    "optuna": {"sampler": "random"},
    "sh": {"eta": 3},
    "hyperband": {"eta": 3},
    "bohb": {"eta": 3, "min_points": 4},
}


def _landscape(arch: Architecture, fidelity: float | None) -> Result:
    """Deterministic: 3x3 convolutions are good, ``none`` is bad; low fidelity is a noisy copy."""
    ops = [arch[k] for k in sorted(arch)]
    score = 60.0 + 4 * ops.count("nor_conv_3x3") + 2 * ops.count("nor_conv_1x1") - 3 * ops.count("none")
    score += (sum(ord(c) for c in arch.key) % 17) / 10.0
    cost = 10.0
    if fidelity is not None and fidelity < 200:
        score -= 5.0 + (sum(ord(c) * 7 for c in arch.key) % 13) / 10.0
        cost = 10.0 * fidelity / 200
    return Result.ok({"val_acc": score}, cost=cost, fidelity=fidelity)


def _drive(strategy, steps: int):  # type: ignore[no-untyped-def]
    history = []
    for _ in range(steps):
        sug = as_suggestion(strategy.ask(1)[0])
        obs = _landscape(sug.arch, sug.fidelity).observe(OBJ)
        strategy.tell(sug.arch, obs)
        history.append((sug, obs))
    return history


@pytest.mark.parametrize("name", sorted(SMALL))
def test_restore_mid_search_is_exact(name: str) -> None:
    """With the model / walk / promotions active, a replayed strategy asks exactly the same next."""
    a = make_strategy(name, SPACE, seed=11, **SMALL[name])
    hist = _drive(a, 40)
    b = make_strategy(name, SPACE, seed=11, **SMALL[name])
    b.restore([(s.arch, o) for s, o in hist], n_asked=a.n_asked)
    assert [as_suggestion(x) for x in a.ask(3)] == [as_suggestion(x) for x in b.ask(3)]


@pytest.mark.parametrize("name", ["local", "bananas", "tpe", "bohb"])
def test_no_repeats_no_equivalents_no_disconnected(name: str) -> None:
    s = make_strategy(name, SPACE, seed=2, **SMALL[name])
    hist = _drive(s, 60)
    firsts = [x.arch for x, _ in hist if x.fidelity in (None, 12)]
    assert len(set(firsts)) == len(firsts)
    paths = {SPACE.encode(a, "path").tobytes() for a in firsts}
    assert len(paths) == len(firsts)
    assert all(SPACE.is_connected(a) for a in firsts)


@pytest.mark.parametrize("name", ["local", "bananas", "tpe", "reinforce"])
def test_model_based_beats_random_on_landscape(name: str) -> None:
    """On a landscape with clear structure every learner ends above random search (3 seeds)."""
    def best(strategy_name: str, params: dict) -> float:
        out = []
        for seed in range(3):
            hist = _drive(make_strategy(strategy_name, SPACE, seed=seed, **params), 50)
            out.append(max(o.value for _, o in hist))
        return float(np.mean(out))

    assert best(name, SMALL[name]) > best("random", {}) + 0.5


def test_reinforce_policy_moves_toward_reward() -> None:
    s = make_strategy("reinforce", SPACE, seed=0, lr=0.1)
    rng = np.random.default_rng(0)
    for _ in range(200):
        arch = SPACE.sample(rng)
        s.tell(arch, Result.ok({"val_acc": 90.0 if arch["1<-0"] == "nor_conv_3x3" else 80.0}).observe(OBJ))
    p = s.probabilities()["1<-0"]
    assert p[SPACE.dimension("1<-0").all_values().index("nor_conv_3x3")] > 0.5


def test_local_search_reaches_a_local_optimum_and_restarts() -> None:
    s = make_strategy("local", SPACE, seed=0, n_init=1)
    hist = _drive(s, 200)
    values = {x.arch: o.value for x, o in hist}
    # some visited architecture is a local optimum whose every neighbour was evaluated
    assert any(all(n in values and values[n] <= v for n in SPACE.neighbors(a)
                   if SPACE.is_connected(n)) for a, v in values.items())


def test_bananas_batch_ask_is_distinct_and_validates() -> None:
    s = make_strategy("bananas", SPACE, seed=0, n_init=4, epochs=20)
    _drive(s, 8)
    batch = [as_suggestion(x).arch for x in s.ask(5)]
    assert len(set(batch)) == 5
    with pytest.raises(UnknownNameError):
        make_strategy("bananas", SPACE, acquisition="ei")


def test_mlp_ensemble_learns_and_needs_fit() -> None:
    rng = np.random.default_rng(0)
    X = (rng.random((80, 30)) < 0.2).astype(float)
    w = rng.normal(size=30)
    model = MLPEnsemble(epochs=200)
    with pytest.raises(NotFittedError):
        model.predict(X)
    model.fit(X[:60], X[:60] @ w, rng)
    pred = model.predict(X[60:])
    assert pred.shape == (5, 20)
    assert np.corrcoef(pred.mean(axis=0), X[60:] @ w)[0, 1] > 0.7
    assert pred.std(axis=0).mean() > 0  # members differ: the spread is what Thompson sampling uses


def test_kde_prefers_the_good_region() -> None:
    kde = CategoricalKDE([5] * 6, gamma=0.2, bandwidth=0.2)
    rng = np.random.default_rng(0)
    X = rng.integers(0, 5, size=(60, 6))
    y = (X == 3).sum(axis=1).astype(float)
    ranked = kde.propose(X, y, rng, n_candidates=64)
    assert (ranked[:5] == 3).sum(axis=1).mean() > (X == 3).sum(axis=1).mean() + 1.0


def test_optuna_adapter_conditional_space_and_errors() -> None:
    space = get_space("mlp")
    s = make_strategy("tpe", space, seed=0, n_startup_trials=3)
    for _ in range(12):
        arch = as_suggestion(s.ask(1)[0]).arch
        space.validate(arch)  # inactive dimensions are dropped
        s.tell(arch, Result.ok({"val_acc": float(len(arch))}).observe(OBJ))
    with pytest.raises(UnknownNameError):
        make_strategy("optuna", SPACE, sampler="cmaes-xyz")
    with pytest.raises(InvalidConfigError):
        make_strategy("optuna", SPACE, sampler="tpe", sampler_params={"no_such_option": 1})


def test_successive_halving_promotes_top_fraction() -> None:
    s = make_strategy("sh", SPACE, seed=0, fidelities=[12, 200], eta=4)
    hist = _drive(s, 30)
    low = [(x.arch, o.value) for x, o in hist if x.fidelity == 12]
    high = [x.arch for x, _ in hist if x.fidelity == 200]
    assert len(high) >= 1 and all(a in dict(low) for a in high)
    # the first promotion is the best of the first four low-fidelity results
    assert high[0] == max(low[:4], key=lambda t: t[1])[0]
    assert s.eta == 4
    assert make_strategy("sh", SPACE).eta == pytest.approx(200 / 12)
    with pytest.raises(InvalidConfigError):
        make_strategy("hyperband", SPACE, eta=1.0)
    with pytest.raises(InvalidConfigError):
        make_strategy("bohb", SPACE, fidelities=[0, 12])


def test_multifidelity_cost_and_best_on_nb201(nb201_csv) -> None:  # type: ignore[no-untyped-def]
    """200-epoch queries cost 200/12 of the 12-epoch ones, and the best trial is a 200-epoch one."""
    spec = make_spec(space="nb201", strategy="sh", benchmark="nb201", budget_seconds=12000, seed=0,
                     strategy_params={"eta": 8}, benchmark_file=str(nb201_csv))
    exp = build_experiment(spec, "sh")
    runner = Runner(exp, None)
    summary = runner.run()
    table = exp.evaluator.table
    for t in runner.records:
        row = table.row_of[t.arch]
        assert t.cost == pytest.approx(table.columns["c10valid_train_time_200ep_s"][row] * t.fidelity / 200)
    assert {t.fidelity for t in runner.records} == {12.0, 200.0}
    assert summary.best is not None and summary.best.fidelity == 200.0
    assert summary.cost_seconds <= 12000


def test_bohb_without_high_fidelity_column_falls_back(nb201_csv) -> None:  # type: ignore[no-untyped-def]
    """CIFAR-100 has no 200-epoch signal: those queries fail for free and the best is a 12-epoch one."""
    spec = make_spec(space="nb201", strategy="bohb", benchmark="nb201-cifar100", budget_seconds=12000, seed=0,
                     strategy_params={"eta": 8}, benchmark_file=str(nb201_csv))
    summary = Runner(build_experiment(spec, "bohb"), None).run()
    assert summary.best is not None and summary.best.fidelity == 12.0
    assert summary.failed >= 1 and not math.isnan(summary.best.hidden["c100_test_acc_200"])


@pytest.mark.slow
def test_compare_process_pool_matches_inline_and_checkpoints(nb201_csv) -> None:  # type: ignore[no-untyped-def]
    from nasforge.compare import compare, format_table

    kw = {"trials": 30, "benchmark_file": str(nb201_csv), "at": [10, 30]}
    inline = compare(["local", "bohb"], [0, 1], **kw)
    pooled = compare(["local", "bohb"], [0, 1], jobs=2, **kw)
    for name in ("local", "bohb"):
        assert [r["best_arch"] for r in inline["results"][name]] == [r["best_arch"] for r in pooled["results"][name]]
        for r in inline["results"][name]:
            assert r["at"][30]["columns"] == r["columns"]  # the last checkpoint is the final answer
    assert set(inline["overhead_ms_per_query"]) == {"local", "bohb"}
    rows = format_table(inline, at=10)
    assert rows[1][2] == "10.0"


def _additive(arch: Architecture, fidelity: float | None = None) -> Result:
    """An additive landscape: the option on each edge adds a fixed amount (3x3 conv best)."""
    gain = {"none": 0.0, "skip_connect": 1.0, "avg_pool_3x3": 1.5, "nor_conv_1x1": 2.0, "nor_conv_3x3": 3.0}
    return Result.ok({"val_acc": 70.0 + sum(gain[arch[k]] for k in sorted(arch))}, cost=1.0)


def _queries_to_optimum(seed: int, **params: object) -> int:
    s = make_strategy("local", SPACE, seed=seed, n_init=10, **params)
    for k in range(1, 301):
        arch = as_suggestion(s.ask(1)[0]).arch
        obs = _additive(arch).observe(OBJ)
        if obs.value == 88.0:  # all six edges 3x3 conv
            return k
        s.tell(arch, obs)
    return 301


def test_local_model_order_climbs_faster() -> None:
    """``order="model"`` tries the best-predicted neighbour first: fewer queries to the top of an additive landscape."""
    model = [_queries_to_optimum(seed, order="model") for seed in range(5)]
    random = [_queries_to_optimum(seed, order="random") for seed in range(5)]
    assert np.mean(model) < 0.75 * np.mean(random)  # measured: 25 vs 46 queries


def test_local_kick_restarts_near_the_incumbent() -> None:
    """Iterated local search: after a local optimum the next start is within ``kick`` edges of the best."""
    s = make_strategy("local", SPACE, seed=1, n_init=1, restart="kick", kick=2)
    best: tuple[Architecture, float] | None = None
    starts = 0
    for _ in range(150):
        was_pending = s.restart_pending
        arch = as_suggestion(s.ask(1)[0]).arch
        if was_pending and best is not None:
            starts += 1
            assert sum(arch[k] != best[0][k] for k in arch) <= 2
        obs = _landscape(arch, None).observe(OBJ)
        s.tell(arch, obs)
        if best is None or obs.value > best[1]:
            best = (arch, obs.value)
    assert starts >= 1


def test_local_max_scan_gives_up_on_a_center_early() -> None:
    s = make_strategy("local", SPACE, seed=0, n_init=1, max_scan=3, order="random")
    _drive(s, 60)
    assert s.scanned and all(v <= 3 for v in s.scanned.values())
    assert any(v == 3 for v in s.scanned.values())  # some center was left after 3 failed neighbours


def test_local_rejects_bad_settings() -> None:
    with pytest.raises(UnknownNameError):
        make_strategy("local", SPACE, restart="teleport")
    with pytest.raises(UnknownNameError):
        make_strategy("local", SPACE, order="alphabetical")
    with pytest.raises(InvalidConfigError):
        make_strategy("local", SPACE, kick=0)
