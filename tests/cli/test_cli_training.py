"""Training from the command line: device and precision per trial, absent devices, joint search reuse."""

from __future__ import annotations

import json

import pytest
import torch
from conftest import run_cli

import nasforge as nf
from nasforge.storage import Store

SMALL = ["--dataset", "digits", "--epochs", "1", "--max-train", "200", "--seed", "0"]


@pytest.mark.slow
def test_bf16_joint_search_records_device_precision_curve_and_its_recipe_is_reused(tmp_path) -> None:
    db = str(tmp_path / "runs.db")
    out = run_cli("search", "--space", "chain_cnn_joint", "--strategy", "random", "--trials", "2", *SMALL,
                  "--device", "cpu", "--precision", "bf16", "--storage", db, "--name", "joint", "--json")
    assert out.returncode == 0, out.stderr
    with Store(db) as store:
        trials = store.trials(store.get_experiment("joint").id)
    assert len(trials) == 2
    for t in trials:
        assert t.status == "ok" and t.info["device"] == "cpu" and t.info["precision"] == "bf16"
        assert set(t.info["curve"][0]) == {"epoch", "train_loss", "train_acc", "val_loss", "val_acc", "seconds"}
        arch = json.loads(t.arch)
        assert t.info["recipe"]["lr"] == arch["train.lr"]  # the trial trained with the lr it chose
        assert t.info["recipe"]["weight_decay"] == arch["train.weight_decay"]
    best = json.loads(out.stdout)["best"]["arch"]
    lr = json.loads(best)["train.lr"]
    trained = run_cli("train", "--space", "chain_cnn_joint", "--arch", best, *SMALL, "--device", "cpu", "--json")
    assert trained.returncode == 0, trained.stderr
    assert json.loads(trained.stdout)["recipe"]["lr"] == lr
    exported = run_cli("export", "joint", "--storage", db, "--format", "state_dict", "--out", str(tmp_path / "m.pt"))
    assert exported.returncode == 0, exported.stderr
    sidecar = json.loads((tmp_path / "m.pt.json").read_text())
    assert sidecar["train_config"]["lr"] == lr and sidecar["train_config"]["precision"] == "bf16"


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without CUDA")
def test_absent_cuda_exits_2_with_one_line(tmp_path) -> None:
    for cmd in (["search", "--strategy", "random", "--trials", "1", *SMALL, "--storage", str(tmp_path / "r.db")],
                ["train", "--arch", "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", *SMALL]):
        out = run_cli(*cmd, "--device", "cuda")
        assert out.returncode == 2, out.stderr
        lines = [line for line in out.stderr.strip().splitlines() if line]
        assert len(lines) == 1 and "cuda" in lines[0] and "no CUDA GPU" in lines[0]


def test_python_api_joint_search_with_device() -> None:
    summary = nf.search(space="chain_cnn_joint", strategy="random", dataset="digits", trials=2, seed=1,
                        train={"epochs": 1, "max_train": 200}, device="cpu", in_memory=True)
    best = summary.best
    assert best is not None and best.info["device"] == "cpu" and best.info["precision"] == "32"
    assert best.info["recipe"]["lr"] == json.loads(best.arch)["train.lr"]
