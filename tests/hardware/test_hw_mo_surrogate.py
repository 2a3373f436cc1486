"""The surrogate-assisted multi-objective strategy and the any-dimension hypervolume it relies on."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli

from nasforge.api import build_experiment, make_spec, search
from nasforge.errors import InvalidConfigError, UnknownNameError
from nasforge.evaluators.base import Observation
from nasforge.pareto import hypervolume, hypervolume_2d, hypervolume_improvement
from nasforge.runner import Runner
from nasforge.spaces import get_space
from nasforge.strategies import STRATEGIES, make_strategy

OBJ = "c10_valid_acc_12:max,pixel3:min"
SPACE = get_space("nb201")


def test_hypervolume_any_dimension_matches_2d_and_monte_carlo() -> None:
    rng = np.random.default_rng(0)
    pts = rng.random((12, 2))
    assert hypervolume(pts, (0.0, 0.0)) == pytest.approx(hypervolume_2d(pts, (0.0, 0.0)))
    assert hypervolume([[1.0, 1.0, 1.0], [2.0, 0.5, 0.5]], (0.0, 0.0, 0.0)) == pytest.approx(1.25)
    front = rng.random((7, 3))
    samples = rng.random((200_000, 3))
    covered = (samples[:, None, :] <= front[None, :, :]).all(axis=2).any(axis=1).mean()
    assert hypervolume(front, (0.0, 0.0, 0.0)) == pytest.approx(covered, abs=0.01)
    assert hypervolume([[0.5, -1.0, 0.5]], (0.0, 0.0, 0.0)) == 0.0  # does not improve on the reference
    with pytest.raises(InvalidConfigError):
        hypervolume([[1.0, 2.0, 3.0]], (0.0, 0.0))


@pytest.mark.parametrize("m", [2, 3])
def test_hypervolume_improvement_equals_recomputed_difference(m: int) -> None:
    rng = np.random.default_rng(m)
    for _ in range(30):
        front = rng.random((int(rng.integers(1, 8)), m))
        cands = rng.random((6, m))
        ref = -0.2 * rng.random(m)
        got = hypervolume_improvement(front, cands, ref)
        want = [hypervolume(np.vstack([front, c]), ref) - hypervolume(front, ref) for c in cands]
        np.testing.assert_allclose(got, want, atol=1e-12)
    assert hypervolume_improvement(np.zeros((0, 2)), [[1.0, 2.0]], (0.0, 0.0)).tolist() == [2.0]


def test_mo_surrogate_registration_and_bad_settings() -> None:
    assert STRATEGIES.get("mo_surrogate").multi_objective
    with pytest.raises(InvalidConfigError, match="n_init"):
        make_strategy("mo_surrogate", SPACE, n_init=1)
    with pytest.raises(InvalidConfigError, match="ref_quantile"):
        make_strategy("mo_surrogate", SPACE, ref_quantile=1.5)
    with pytest.raises(UnknownNameError, match="onehot"):
        make_strategy("mo_surrogate", SPACE, encoding="graph")
    with pytest.raises(UnknownNameError, match="two-point"):
        make_strategy("mo_surrogate", SPACE, reference="nadir")
    with pytest.raises(UnknownNameError, match="ehvi"):
        make_strategy("mo_surrogate", SPACE, acquisition="ucb")
    with pytest.raises(InvalidConfigError, match="samples"):
        make_strategy("mo_surrogate", SPACE, samples=0)
    with pytest.raises(InvalidConfigError, match="std_scale"):
        make_strategy("mo_surrogate", SPACE, std_scale=-1.0)


def _fixed_posterior(behind: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Stands in for the GPs: candidate 0 is predicted just behind the front and surely so, candidate 1
    further behind but uncertain, every other candidate far behind and surely so."""
    mean, std = np.full((n, 2), -5.0), np.zeros((n, 2))
    mean[:2], std[1] = behind, 0.5
    return mean, std


@pytest.mark.parametrize("acquisition, pick", [("mean", 0), ("ehvi", 1)])
def test_mo_surrogate_ehvi_prefers_an_uncertain_chance_to_a_sure_miss(acquisition: str, pick: int,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """No mean adds hypervolume: "mean" takes the one closest to the front, "ehvi" the one that may add some."""
    s = make_strategy("mo_surrogate", SPACE, seed=0, n_init=4, acquisition=acquisition, std_scale=1.0)
    for i, a in enumerate(s.ask(4)):  # the random start: a front of four cells on the diagonal, 0..1
        s.tell(a, Observation((i / 3, 1 - i / 3), {}, 1.0, None, True))
    front = [a for a in s.archive]
    cands = s._candidates(front, np.random.default_rng(0))
    # (objective 0, objective 1): candidate 0 at (0.3, 0.6), 0.033 behind the front cell (1/3, 2/3);
    # candidate 1 at (0.2, 0.5), 0.133 behind it
    behind = np.array([[0.3, 0.6], [0.2, 0.5]])
    monkeypatch.setattr(s, "_posterior", lambda x, y, xc: _fixed_posterior(behind, len(xc)))
    assert s.ask(1)[0] == cands[pick]


def test_mo_surrogate_two_point_reference_keeps_the_expensive_end() -> None:
    """The quantile reference cuts off the slowest cells; the second point puts the costs at their worst."""
    acc = np.linspace(0.0, 1.0, 11)
    norm = np.stack([acc, 1.0 - acc], axis=1)  # accuracy up, cost (negated, larger is better) down
    on_front = np.ones(len(norm), dtype=bool)
    quantile = make_strategy("mo_surrogate", SPACE, reference="quantile").references(norm, on_front)
    two = make_strategy("mo_surrogate", SPACE).references(norm, on_front)
    np.testing.assert_allclose(quantile, [[0.25, 0.25]])
    np.testing.assert_allclose(two, [[0.25, 0.25], [0.25, 0.0]])
    # a more accurate cell beyond the quantile's cost cut adds area only over the second point
    best = np.array([[1.0, 0.1]])
    assert hypervolume_improvement(norm[:-1], best, two[0])[0] == 0.0
    assert hypervolume_improvement(norm[:-1], best, two[1])[0] > 0.0


def test_mo_surrogate_batch_and_three_objectives() -> None:
    """A batch is distinct and unseen (each pick believes the previous one), with any number of objectives."""
    s = make_strategy("mo_surrogate", SPACE, seed=2, n_init=6, n_random=100, n_mutations=20)
    rng = np.random.default_rng(0)
    for _ in range(10):
        a = SPACE.sample(rng)
        convs = sum(a[k] == "nor_conv_3x3" for k in a)
        s.tell(a, Observation((float(convs), -float(convs) ** 2, float(rng.random())), {}, 1.0, None, True))
    batch = s.ask(5)
    assert len(set(batch)) == 5 and not set(batch) & set(s.archive)


def _hv(summary) -> float:  # type: ignore[no-untyped-def]
    pts = [[t.metrics["c10_valid_acc_12"], -t.metrics["pixel3"]] for t in summary.pareto]
    return hypervolume_2d(pts, (70.0, -40.0))


def test_mo_surrogate_front_beats_random_on_nb201(nb201_csv: Path) -> None:
    """Same small budget and seeds: the model-based front covers more area than random sampling's."""
    hv: dict[str, list[float]] = {"mo_surrogate": [], "mo_random": []}
    for name, values in hv.items():
        for seed in range(2):
            values.append(_hv(search(space="nb201", benchmark="nb201", strategy=name, trials=100, seed=seed,
                                     objectives=OBJ, in_memory=True)))
    assert np.mean(hv["mo_surrogate"]) > np.mean(hv["mo_random"])


def test_mo_surrogate_learns_to_avoid_infeasible(nb201_csv: Path) -> None:
    """With a latency limit it returns only feasible cells and, after the random start, proposes
    fewer infeasible ones than random sampling (its feasibility model works)."""
    broke: dict[str, int] = {}
    for name in ("mo_surrogate", "mo_random"):
        spec = make_spec(space="nb201", benchmark="nb201", strategy=name, trials=60, seed=3, objectives=OBJ,
                         constraints={"pixel3": 4.0},
                         strategy_params={"n_init": 20} if name == "mo_surrogate" else None)
        runner = Runner(build_experiment(spec, name), None)
        s = runner.run()
        assert s.pareto and all(t.metrics["pixel3"] <= 4.0 for t in s.pareto)
        broke[name] = sum(t.metrics["pixel3"] > 4.0 for t in runner.records[20:])
    assert broke["mo_surrogate"] < broke["mo_random"] / 2


def test_cli_search_with_mo_surrogate_lists_the_front(nb201_csv: Path, tmp_path: Path) -> None:
    out = run_cli("search", "--benchmark", "nb201", "--strategy", "mo_surrogate", "--trials", "30", "--objectives",
                  OBJ, "--storage", str(tmp_path / "r.db"), "--name", "mos", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["pareto"] and all({"arch", "metrics"} <= set(p) for p in data["pareto"])


def test_gp_posterior_is_scikit_learns_model_with_one_shared_fit() -> None:
    """The shared-Cholesky posterior equals fitting scikit-learn's GP per objective (mean and std)."""
    from nasforge.strategies._common import fixed_kernel_gp, gp_posterior

    rng = np.random.default_rng(3)
    x = (rng.random((60, 30)) < 0.2).astype(float)
    y = np.stack([x[:, :5].sum(axis=1) + rng.normal(0, 0.1, 60), rng.random(60), np.zeros(60)], axis=1)
    xc = (rng.random((500, 30)) < 0.2).astype(float)
    mean, std = gp_posterior(x, y, xc, length_scale=2.0, noise=0.05)
    assert mean.shape == std.shape == (500, 3)
    for j in range(3):  # the constant column too (scikit-learn then leaves the targets unscaled)
        m, s = fixed_kernel_gp(x, y[:, j], length_scale=2.0, noise=0.05).predict(xc, return_std=True)
        np.testing.assert_allclose(mean[:, j], m, rtol=0, atol=1e-9)
        np.testing.assert_allclose(std[:, j], s, rtol=0, atol=1e-9)
