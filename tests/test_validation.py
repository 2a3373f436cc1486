"""Fail-fast checks of :mod:`nasforge.validation`, through the Python API (the CLI has its own tests)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import nasforge as nf
from nasforge.errors import DatasetUnavailableError, InvalidConfigError
from nasforge.hardware.evaluator import CostEvaluator
from nasforge.spaces import get_space
from nasforge.validation import check_spec, check_train_settings, smallest_cost


class _Inner:
    default_objective = "val_acc"
    report_metric = None
    simulated_cost = False


@pytest.mark.parametrize("spec, fragment", [
    ({"seed": -1, "budget": {"trials": 3}}, "seed must be an integer >= 0, but got -1"),
    ({"seed": 1.5, "budget": {"trials": 3}}, "seed must be an integer >= 0"),
    ({"budget": {"trials": 0}}, "budget trials must be an integer >= 1"),
    ({"budget": {"seconds": math.nan}}, "budget seconds must be a finite number > 0, but got nan"),
    ({"budget": {"wall_seconds": math.inf}}, "budget wall_seconds must be a finite number > 0, but got inf"),
    ({"budget": {"trials": 2}, "evaluator": {"kind": "train", "config": {"batch_size": 0}}}, "batch_size"),
    ({"budget": {"trials": 2}, "evaluator": {"kind": "train", "config": {"weight_decay": -1.0}}}, "weight_decay"),
    ({"budget": {"trials": 2}, "evaluator": {"kind": "train", "config": {"val_fraction": 1.0}}},
     "val_fraction must be in (0, 1), but got 1.0"),
    ({"budget": {"trials": 2}, "evaluator": {"kind": "train", "config": {"model": {"cells_per_stage": -1}}}},
     "cells_per_stage must be an integer >= 0"),
    ({"budget": {"trials": 2}, "constraints": [{"metric": "params_M", "upper": math.nan}]}, "finite number"),
])
def test_check_spec_refuses(spec: dict, fragment: str) -> None:
    with pytest.raises(InvalidConfigError, match=None) as info:
        check_spec(spec)
    assert fragment in str(info.value)


def test_good_settings_pass() -> None:
    check_spec({"seed": 0, "budget": {"trials": 1, "seconds": 10.0}})
    check_train_settings({"epochs": 1, "batch_size": 8, "lr": 1e-3, "max_train": 2, "label_smoothing": 0.0,
                          "model": {"channels": 4, "cells_per_stage": 0}})


def test_refused_search_creates_no_store(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    with pytest.raises(InvalidConfigError, match="seed must be"):
        nf.search(space="mlp", dataset="iris", trials=1, seed=-2, storage=str(db), train={"epochs": 1})
    with pytest.raises(InvalidConfigError, match="builds networks for image data"):
        nf.search(space="nb201", dataset="wine", trials=1, storage=str(db), train={"epochs": 1})
    with pytest.raises(DatasetUnavailableError, match="nowhere.npz does not exist"):
        nf.search(space="mlp", dataset=str(tmp_path / "nowhere.npz"), trials=1, storage=str(db))
    assert not db.exists()


def test_single_class_dataset_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "one.npz"
    np.savez(f, x_train=np.random.default_rng(0).normal(size=(20, 3)), y_train=np.zeros(20, dtype=np.int64))
    with pytest.raises(InvalidConfigError, match="1 class in its training split"):
        nf.search(space="mlp", dataset=str(f), trials=1, in_memory=True, train={"epochs": 1})


def test_smallest_cost_finds_the_true_minimum_of_nb201() -> None:
    """Compared with the exact minimum over the whole space (all 15,625 cells) for a tiny network."""
    space = get_space("nb201", channels=2, cells_per_stage=1)
    ev = CostEvaluator(_Inner(), space, metrics=["params_M"], input_shape=(1, 8, 8),
                       model_kwargs={"num_classes": 3, "in_channels": 1})
    value, arch = smallest_cost(ev, space, "params_M")
    # per-edge parameters are additive, so the exact minimum is the base network plus each edge's cheapest op
    none = space._complete({}, None)
    base = ev.costs(none)["params_M"]
    per_edge = min(ev.costs(space._complete({**dict(none), "1<-0": op}, None))["params_M"] - base
                   for op in space.dimension("1<-0").all_values())
    assert value == pytest.approx(base + 6 * min(per_edge, 0.0))
    assert space.to_string(arch) == "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"


def test_reachable_constraint_is_accepted_and_unreachable_names_the_minimum() -> None:
    exp = nf.build_experiment(nf.make_spec(space="mlp", dataset="iris", trials=1, train={"epochs": 1},
                                           constraints={"params_M": 0.001}))
    assert exp.constraints[0].upper == 0.001
    with pytest.raises(InvalidConfigError, match=r"smallest network of the space at these settings has 131 "):
        nf.build_experiment(nf.make_spec(space="mlp", dataset="iris", trials=1, train={"epochs": 1},
                                         constraints={"params_M": 0.0001}))


def test_benchmark_constraints_no_row_meets_are_refused(nb201_csv: Path) -> None:
    with pytest.raises(InvalidConfigError, match=r"meets params_M <= 0.05: the smallest value in the table is 0.07"):
        nf.build_experiment(nf.make_spec(benchmark="nb201", benchmark_file=str(nb201_csv), trials=5,
                                         constraints={"params_M": 0.05}))
    with pytest.raises(InvalidConfigError, match=r"no architecture of space 'nb201' meets flops_M <= 0.001"):
        nf.build_experiment(nf.make_spec(benchmark="nb201", benchmark_file=str(nb201_csv), trials=5,
                                         constraints={"flops_M": 0.001}))
    exp = nf.build_experiment(nf.make_spec(benchmark="nb201", benchmark_file=str(nb201_csv), trials=5,
                                           constraints={"params_M": 0.1}))
    assert exp.constraints[0].upper == 0.1
