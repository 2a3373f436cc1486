"""The dashboard's read model over a store written here: summaries, incremental trials, insights,
trial detail, architecture drawings, compare, and read-only access."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from pathlib import Path

import pytest

from nasforge.dashboard.data import DashboardData, clean_json, draw_architecture
from nasforge.errors import ExperimentNotFoundError, InvalidConfigError, StorageError
from nasforge.evaluators.base import Result
from nasforge.spaces import get_space
from nasforge.storage import Store

NB201_SPEC = {"space": {"name": "nb201", "config": {}}, "strategy": {"name": "random", "params": {}},
              "evaluator": {"kind": "benchmark", "name": "nb201", "dataset": "cifar10"},
              "objectives": ["val_acc:max", "params_M:min"], "budget": {"trials": 20}, "seed": 0}


def _add(store: Store, exp_id: int, number: int, result: Result, arch: str | None = None) -> None:
    space = get_space("nb201")
    import numpy as np

    a = space.sample(np.random.default_rng(number)) if arch is None else space.parse(arch)
    tid = store.start_trial(exp_id, number, space.to_string(a), a.key, None)
    store.finish_trial(tid, result)


def _curve(n: int, base: float) -> list[dict[str, float | None]]:
    return [{"epoch": e, "train_loss": 1.0 / e, "train_acc": base + e, "val_loss": None if e == 1 else 1.2 / e,
             "val_acc": None if e == 1 else base + e - 1, "seconds": 0.5 * e} for e in range(1, n + 1)]


@pytest.fixture()
def db(tmp_path: Path) -> Path:
    path = tmp_path / "runs.db"
    with Store(path) as store:
        exp = store.create_experiment("<b>mo</b>", NB201_SPEC)
        for i in range(12):
            if i == 4:
                _add(store, exp.id, i, Result.failed("CUDA <oom> & friends", cost=3.0))
                continue
            _add(store, exp.id, i, Result.ok({"val_acc": 50.0 + 3 * i, "params_M": 1.0 - 0.05 * i},
                                             hidden={"test_acc": 49.0 + 3 * i}, cost=10.0,
                                             info={"curve": _curve(3, 40.0 + i), "log": "x" * 30_000,
                                                   "device": "cpu", "precision": "32"}))
        store.set_status(exp.id, "finished")
        for seed in (0, 1):
            spec = {**NB201_SPEC, "objectives": ["val_acc:max"], "seed": seed}
            e = store.create_experiment(f"rs-{seed}", spec)
            for i in range(5 + seed):
                _add(store, e.id, i, Result.ok({"val_acc": 60.0 + seed + i}, cost=1.0 + seed))
            store.set_status(e.id, "finished")
        one = store.create_experiment("darts-run", {"kind": "oneshot", "method": "darts", "space": {"name": "nb201"},
                                                    "evaluator": {"kind": "train", "dataset": "digits"},
                                                    "budget": {"epochs": 3}, "seed": 0})
        for epoch in range(3):
            w = {"1<-0": {"nor_conv_3x3": 0.2 + 0.1 * epoch, "skip_connect": 0.8 - 0.1 * epoch}}
            _add(store, one.id, epoch, Result.ok({"val_acc": 30.0 + epoch}, cost=5.0,
                                                 info={"arch_weights": w, "checkpoint": f"ckpt/epoch{epoch}.pt"}))
    return path


def test_experiment_summaries_show_space_method_evaluator_counts_budget_and_best(db):
    data = DashboardData(db)
    rows = {e["name"]: e for e in data.experiments()}
    assert list(rows) == ["<b>mo</b>", "rs-0", "rs-1", "darts-run"]
    mo = rows["<b>mo</b>"]
    assert (mo["space"], mo["method"], mo["evaluator"], mo["kind"]) == ("nb201", "random", "benchmark nb201 (cifar10)",
                                                                       "blackbox")
    assert (mo["trials"], mo["failed"], mo["budget"], mo["status"]) == (12, 1, {"trials": 20}, "finished")
    assert mo["best"]["number"] == 11 and mo["best"]["value"] == pytest.approx(83.0)
    assert mo["charged_seconds"] == pytest.approx(11 * 10.0 + 3.0)
    assert (mo["device"], mo["precision"]) == ("cpu", "32")
    assert rows["darts-run"]["kind"] == "oneshot" and rows["darts-run"]["method"] == "darts"
    assert rows["darts-run"]["budget"] == {"epochs": 3}


def test_a_running_experiment_without_a_live_heartbeat_is_reported_interrupted(db):
    with Store(db) as store:
        store.create_experiment("left-running", NB201_SPEC)  # stored 'running', no owner heartbeat
    rows = {e["name"]: e["status"] for e in DashboardData(db).experiments()}
    assert rows["left-running"] == "interrupted" and rows["rs-0"] == "finished"


def test_trials_after_returns_only_what_was_told_since(db):
    data = DashboardData(db)
    first = data.trials("<b>mo</b>")
    assert [t["order"] for t in first["trials"]] == list(range(12)) and first["last"] == 11
    assert first["trials"][4]["status"] == "failed" and first["trials"][4]["error"] == "CUDA <oom> & friends"
    assert data.trials("<b>mo</b>", after=11)["trials"] == []
    with Store(db) as store:  # the search goes on while the dashboard reads
        _add(store, store.get_experiment("<b>mo</b>").id, 12, Result.ok({"val_acc": 99.0, "params_M": 0.5}, cost=1.0))
    new = data.trials("<b>mo</b>", after=11)
    assert [t["number"] for t in new["trials"]] == [12] and new["experiment"]["trials"] == 13
    assert new["experiment"]["best"]["number"] == 12


def test_insights_give_op_frequency_learning_curves_and_arch_weight_history(db):
    data = DashboardData(db)
    ins = data.insights("<b>mo</b>", top=3)
    assert ins["top"] == 3
    counts = {o["label"]: sum(n for _, n in o["counts"]) for o in ins["ops"]}
    assert set(counts) == {"1<-0", "2<-0", "2<-1", "3<-0", "3<-1", "3<-2"} and set(counts.values()) == {3}
    assert [c["number"] for c in ins["curves"]] == [11, 10, 9]
    assert ins["curves"][0]["curve"][1]["val_acc"] == pytest.approx(52.0)
    hist = data.insights("darts-run")["arch_weights"]
    assert [h["epoch"] for h in hist] == [1, 2, 3]
    assert hist[2]["weights"]["1<-0"]["nor_conv_3x3"] == pytest.approx(0.4)


def test_trial_detail_has_drawing_recipe_log_tail_and_commands(db):
    data = DashboardData(db)
    t = data.trial("<b>mo</b>", 3)
    assert t["drawing"]["kind"] == "cells" and len(t["drawing"]["cells"][0]["edges"]) == 6
    assert len(t["log"]) == 20_000 and t["recipe"] == {"device": "cpu", "precision": "32"}
    assert len(t["curve"]) == 3 and "log" not in t["info"] and "curve" not in t["info"]
    train, export = (c["command"] for c in t["commands"])
    assert train.startswith("nasforge train --space nb201 --arch '|") and "--dataset cifar10" in train
    assert "nasforge export '<b>mo</b>'" in export  # shell-quoted: the name is not a command
    with pytest.raises(InvalidConfigError, match="no trial 99"):
        data.trial("<b>mo</b>", 99)
    with pytest.raises(ExperimentNotFoundError, match="rs-0"):
        data.trials("nope")


def test_drawings_for_nb201_darts_and_layer_spaces():
    import numpy as np

    rng = np.random.default_rng(0)
    darts = get_space("darts")
    a = darts.sample(rng)
    d = draw_architecture(a.key, darts.to_string(a))
    assert d["kind"] == "cells" and [c["name"] for c in d["cells"]] == ["normal", "reduce"]
    normal = d["cells"][0]
    assert normal["nodes"][:2] == ["c_{k-2}", "c_{k-1}"] and normal["nodes"][-1] == "output"
    op_edges = [e for e in normal["edges"] if e["op"]]
    assert len(op_edges) == 8 and all(e["src"] < e["dst"] for e in op_edges)
    chosen_ops = {v for k, v in json.loads(a.key).items() if k.startswith("normal.") and ".op" in k}
    assert {e["op"] for e in op_edges} == chosen_ops
    mlp = get_space("mlp")
    m = draw_architecture(mlp.sample(rng).key)
    assert m["kind"] == "layers"
    names = [layer["name"] for layer in m["layers"]]
    assert names[0] == "layer" and names[1:] == sorted(names[1:], key=lambda n: int(n.split(".")[1]))
    assert draw_architecture("not json", "arch-string")["layers"][0]["values"] == [["arch", "arch-string"]]


def test_compare_puts_seeds_of_one_setting_into_a_mean_and_spread(db):
    res = DashboardData(db).compare(["rs-0", "rs-1", "<b>mo</b>"])
    trials = res["trials"]
    assert trials["x"][0] == 1 and trials["x"][-1] == 12
    ys = {s["name"]: s["y"] for s in trials["series"]}
    assert ys["rs-0"][:5] == [60.0, 61.0, 62.0, 63.0, 64.0] and ys["rs-0"][5] is None
    (group,) = trials["groups"]
    assert group["members"] == ["rs-0", "rs-1"]
    assert group["mean"][0] == pytest.approx(60.5) and group["hi"][0] - group["lo"][0] == pytest.approx(1.0)
    assert group["mean"][5] is None  # only where every seed has got that far
    sec = res["seconds"]
    assert sec["x"][0] == 0.0 and sec["x"][-1] == pytest.approx(113.0)
    with pytest.raises(InvalidConfigError):
        DashboardData(db).compare([])


def test_clean_json_makes_strict_json():
    assert json.dumps(clean_json({"a": float("nan"), "b": [float("inf"), 1.5]}), allow_nan=False) == \
        '{"a": null, "b": [null, 1.5]}'


def test_the_store_is_opened_read_only_and_never_changed(db, tmp_path):
    digest = hashlib.sha256(db.read_bytes()).hexdigest()
    data = DashboardData(db)
    data.experiments(), data.trials("<b>mo</b>"), data.insights("<b>mo</b>"), data.compare(["rs-0"])
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        data.store._db.execute("DELETE FROM trials")
    data.close()
    assert hashlib.sha256(db.read_bytes()).hexdigest() == digest
    with pytest.raises(StorageError, match="does not exist"):
        DashboardData(tmp_path / "missing.db")
    assert not (tmp_path / "missing.db").exists()
    (tmp_path / "foreign.db").write_bytes(b"not a database at all" * 100)
    with pytest.raises(StorageError, match="nasforge store"):
        DashboardData(tmp_path / "foreign.db")
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(StorageError, match="not a nasforge store"):
        DashboardData(other)


def test_reading_does_not_wait_for_a_writer_holding_the_lock(db):
    writer = sqlite3.connect(db, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE experiments SET updated = updated + 1")
    try:
        t0 = time.perf_counter()
        rows = DashboardData(db).experiments()
        assert len(rows) == 4 and time.perf_counter() - t0 < 1.0
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_cell_spaces_draw_their_cells_through_the_space_contract() -> None:
    """NB101 (operations on vertices) draws its pruned cell; NB201 draws the same with or without its space."""
    from nasforge.spaces import get_space

    nb101 = get_space("nb101")
    arch = nb101.from_spec([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]],
                           ["input", "conv3x3-bn-relu", "maxpool3x3", "output"])
    drawing = draw_architecture(arch.key, nb101.to_string(arch), nb101)
    (cell,) = drawing["cells"]
    assert drawing["kind"] == "cells" and cell["nodes"][0] == "in" and cell["nodes"][-1] == "out"
    assert sorted(n.split(": ")[1] for n in cell["nodes"][1:-1]) == ["conv3x3-bn-relu", "maxpool3x3"]
    assert len(cell["edges"]) == 4 and all(0 <= e["src"] < e["dst"] < 4 for e in cell["edges"])
    nb201 = get_space("nb201")
    a = nb201.parse("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|skip_connect~2|")
    with_space = draw_architecture(a.key, nb201.to_string(a), nb201)
    assert with_space["kind"] == "cells" and len(with_space["cells"][0]["edges"]) == 6
