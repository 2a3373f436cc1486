"""One-shot searches as experiments of the store, like any black-box search.

A one-shot run is an experiment whose spec has ``"kind": "oneshot"``. It records one trial per
supernet epoch: the architecture the supernet points to after that epoch, its supernet-estimated
validation accuracy as the trial's ``val_acc`` (BN statistics recalibrated for single-path
supernets), and in ``info`` the epoch's losses, the architecture weights (``arch_weights``, when
the method has them: ``{edge_label: {op_name: prob}}``) or the controller's summary, and the path
of the checkpoint relative to the store's folder. The trial of the last epoch carries the method's
final architecture (after SPOS/ENAS's search over the supernet, or darts-pt's selection); trials
have the epoch as their fidelity, so that trial is the experiment's best, and ``status``,
``best``, ``report``, ``export`` and ``resume`` need nothing special.

The spec (what ``resume`` rebuilds the run from)::

    {"kind": "oneshot", "space": {"name", "config"}, "strategy": {"name": METHOD, "params": HPARAMS},
     "oneshot": {"config": {OneShotConfig fields}, "max_train": N | None},
     "evaluator": {"kind": "train", "dataset", "data_root", "config": {retraining settings}},
     "objectives": ["val_acc"], "constraints": [], "budget": {"trials": EPOCHS, "seconds": None,
     "wall_seconds": S | None}, "seed": SEED}

The ``evaluator`` block is how the final architecture is retrained stand-alone (``export``).

Example:
    >>> spec = make_oneshot_spec(space="nb201", strategy="spos", dataset="digits", train={"epochs": 2})
    >>> spec["kind"], spec["budget"]["trials"]
    ('oneshot', 2)
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any


from nasforge.arch import Architecture
from nasforge.errors import InvalidConfigError
from nasforge.evaluators.base import Objective, Result
from nasforge.storage import Store, TrialRecord

__all__ = ["checkpoint_folder", "is_oneshot", "make_oneshot_spec", "build_oneshot_experiment", "run_oneshot"]

log = logging.getLogger("nasforge.oneshot")

DEFAULT_EPOCHS = 10
# training settings that mean the same for the supernet and for the stand-alone retraining
_SHARED_TRAIN = ("batch_size", "threads", "max_train", "device")


def is_oneshot(strategy: str) -> bool:
    """True when ``strategy`` names a one-shot method; an unknown name lists every strategy.

    Example:
        >>> is_oneshot("spos"), is_oneshot("evolution")
        (True, False)
    """
    from nasforge.strategies import STRATEGIES

    if strategy in STRATEGIES:
        return False
    from nasforge.oneshot import ONESHOT

    if strategy in ONESHOT:
        return True
    from nasforge.errors import UnknownNameError
    from nasforge.registry import unknown_name_message

    raise UnknownNameError(unknown_name_message("strategy", strategy, STRATEGIES.names() + ONESHOT.names()))


def checkpoint_folder(storage: str | Path, name: str) -> Path:
    """The folder of one-shot run ``name`` next to the store ``storage``: ``<store>.oneshot/<safe name>/``
    (a name is not a path: :func:`nasforge.naming.safe_filename`)."""
    from nasforge.naming import safe_filename

    store = Path(storage)
    return store.parent / f"{store.stem}.oneshot" / safe_filename(name)


def make_oneshot_spec(*, space: str = "nb201", strategy: str = "darts", dataset: str | None = None,
                      seed: int = 0, strategy_params: Mapping[str, Any] | None = None,
                      space_config: Mapping[str, Any] | None = None, train: Mapping[str, Any] | None = None,
                      wall_seconds: float | None = None, data_root: str | None = None, epochs: int | None = None,
                      **unsupported: Any) -> dict[str, Any]:
    """The spec of a one-shot run (see the module docstring); settings that do not apply are errors.

    Args:
        space: a space with a registered supernet (``nb201``, ``darts``).
        strategy: a one-shot method (``nasforge list one-shot``).
        dataset: image dataset the supernet trains on (train split; decisions on validation).
        seed: seeds the supernet, the data order and every sample.
        strategy_params: method hyperparameters, and :class:`~nasforge.oneshot.OneShotConfig`
            fields (``channels``, ``max_steps_per_epoch``, ...).
        space_config: the space's settings.
        train: the black-box training settings: ``epochs`` (supernet epochs, default 10),
            ``batch_size``, ``lr`` (the weights' peak learning rate), ``threads``, ``max_train``,
            ``model`` (``channels``, ``cells_per_stage``: the supernet's width and depth).
        wall_seconds: stop after the epoch that passes this many seconds.
        data_root: folder holding dataset files.
        epochs: same as ``train["epochs"]``.
    """
    from nasforge.oneshot import ONESHOT, OneShotConfig
    from nasforge.oneshot.supernet import SUPERNETS
    from nasforge.spaces import SPACES

    bad = sorted(k for k, v in unsupported.items() if v not in (None, False, (), {}, [], ""))
    if bad:
        raise InvalidConfigError(f"one-shot strategy '{strategy}' trains a supernet on a dataset for some epochs; "
                                 f"these settings do not apply: {', '.join(bad)}")
    SPACES.get(space)
    method = ONESHOT.get(strategy)
    SUPERNETS.get(space)
    if not dataset:
        raise InvalidConfigError(f"one-shot strategy '{strategy}' needs a dataset (e.g. digits, mnist, fashion-mnist)")
    train = dict(train or {})
    model = dict(train.pop("model", {}) or {})
    not_here = sorted(k for k in train if k not in ("epochs", "lr", *_SHARED_TRAIN))
    not_here += sorted(f"model.{k}" for k in model if k not in ("channels", "cells_per_stage"))
    if not_here:
        raise InvalidConfigError(f"one-shot strategy '{strategy}' does not take the training setting(s) "
                                 f"{', '.join(not_here)}; valid: epochs, lr, batch_size, threads, max_train, "
                                 f"device, model.channels, model.cells_per_stage")
    n_epochs = int(epochs or train.pop("epochs", None) or DEFAULT_EPOCHS)
    train.pop("epochs", None)
    cfg_names = {f.name for f in fields(OneShotConfig)}
    params = dict(strategy_params or {})
    cfg: dict[str, Any] = {k: params.pop(k) for k in list(params) if k in cfg_names}
    for key, val in (("batch_size", train.get("batch_size")), ("w_lr", train.get("lr")),
                     ("threads", train.get("threads")), ("device", train.get("device")),
                     ("channels", model.get("channels")),
                     ("cells", model.get("cells_per_stage"))):
        if val is not None:
            cfg[key] = val
    cfg.pop("seed", None)
    OneShotConfig(seed=int(seed), **cfg)  # settings fail here, not after the data is loaded
    method.check_hparams(params)
    retrain = {k: train[k] for k in _SHARED_TRAIN if train.get(k) is not None}
    return {
        "kind": "oneshot",
        "space": {"name": space, "config": dict(space_config or {})},
        "strategy": {"name": strategy, "params": params},
        "oneshot": {"config": cfg, "max_train": train.get("max_train")},
        "evaluator": {"kind": "train", "dataset": dataset, "data_root": data_root, "config": retrain},
        "objectives": ["val_acc"],
        "constraints": [],
        "budget": {"trials": n_epochs, "seconds": None, "wall_seconds": wall_seconds},
        "seed": int(seed),
    }


def build_oneshot_experiment(spec: Mapping[str, Any], name: str | None = None,
                             checkpoint_dir: str | Path | None = None, progress: Any = None) -> Any:
    """An :class:`~nasforge.runner.Experiment` whose strategy slot holds the one-shot method."""
    from nasforge.api import build_evaluator
    from nasforge.oneshot import OneShotConfig, make_oneshot
    from nasforge.runner import Budget, Experiment
    from nasforge.spaces import get_space

    space = get_space(spec["space"]["name"], **spec["space"].get("config", {}))
    cfg = OneShotConfig(seed=int(spec.get("seed", 0)), **spec["oneshot"]["config"])
    method = make_oneshot(spec["strategy"]["name"], space, cfg, checkpoint_dir=checkpoint_dir, progress=progress,
                          **spec["strategy"].get("params", {}))
    b = spec["budget"]
    return Experiment(name or f"{spec['strategy']['name']}-{time.strftime('%Y%m%d-%H%M%S')}", space, method,
                      build_evaluator(spec, space), (Objective("val_acc"),),
                      Budget(b.get("trials"), None, b.get("wall_seconds")), dict(spec), ())


def _supernet_accuracy(method: Any, arch: Architecture, train: Any, val: Any) -> float:
    """The supernet's validation accuracy of ``arch``, leaving the supernet's state as it was."""
    net = method.net
    saved = {k: v.clone() for k, v in net.state_dict().items() if "running_" in k or "num_batches" in k}
    try:
        return float(method.estimate([arch], train, val, recal_batches=int(getattr(method, "recal_batches", 4)))[0])
    finally:
        net.load_state_dict(saved, strict=False)
        net.train()


def _trial_result(method: Any, entry: Mapping[str, Any], acc: float, checkpoint: str | None,
                  final: bool) -> Result:
    metrics = {"val_acc": acc}
    for key in ("train_loss", "val_loss"):
        v = entry.get(key)
        if isinstance(v, float) and v == v:
            metrics[key] = v
    info: dict[str, Any] = {"epoch": int(entry["epoch"]), "method": method.name,
                            "supernet_val_acc": acc, "final": final,
                            "device": str(next(method.net.parameters()).device), "precision": "32"}
    info.update({k: v for k, v in entry.items() if k not in ("alphas", "epoch", "arch_weights")})
    if entry.get("arch_weights") is not None:
        info["arch_weights"] = entry["arch_weights"]
    if checkpoint:
        info["checkpoint"] = checkpoint
    if final:
        info.update(method.result_info())
    return Result.ok(metrics, cost=float(entry.get("seconds", 0.0)), fidelity=float(entry["epoch"]), info=info)


def _search_and_record(method: Any, train: Any, val: Any, budget: Any, done_epochs: set[int], record: Any) -> None:
    """Run the method; store the epochs not stored yet, the last one with the final architecture."""
    space = method.space
    arch = method.search(train, val, budget)
    history = [dict(h) for h in method.history_]
    for entry in history[:-1]:
        if int(entry["epoch"]) not in done_epochs:
            record(entry, space.parse(entry["derived"]), False)
    if history and int(history[-1]["epoch"]) not in done_epochs:
        record(history[-1], arch, True)


def run_oneshot(spec: Mapping[str, Any], *, store: Store | None, name: str | None = None,
                progress: Any = None, create: bool = True) -> Any:
    """Run (``create``) or resume one-shot experiment ``name``; returns a :class:`~nasforge.runner.SearchSummary`.

    Trials already stored are kept; a checkpoint in the run's folder is resumed after its last
    epoch, and epochs it holds that were not yet stored as trials are stored first.
    """
    from nasforge.errors import SearchInterrupted
    from nasforge.oneshot import OneShotBudget, load_oneshot_data
    from nasforge.runner import Lease, Runner
    from nasforge.storage import new_owner

    t0 = time.perf_counter()
    owner = new_owner()  # one runner per experiment: the same lease as black-box searches
    folder = None
    if store is not None and store.path != ":memory:":
        folder = checkpoint_folder(store.path, name or "")
    exp = build_oneshot_experiment(spec, name, folder)
    method = exp.strategy
    if store is not None:
        if create:
            rec = store.create_experiment(exp.name, dict(spec), owner=owner)
            folder = checkpoint_folder(store.path, exp.name) if folder is not None else None
            if folder is not None and folder.exists():
                shutil.rmtree(folder)  # left by a deleted experiment of the same name: never resume it silently
        else:
            rec = store.acquire_lease(exp.name, owner)  # refused while another live process runs it
        exp_id = rec.id
        stored = store.trials(exp_id)
    else:
        exp_id, stored = None, []
    method.checkpoint_dir = folder
    rel_ckpt = None
    if folder is not None and store is not None:
        rel_ckpt = str((folder / "checkpoint.pt").relative_to(Path(store.path).parent))
    records: list[TrialRecord] = sorted((t for t in stored if t.tell_order is not None),
                                        key=lambda t: t.tell_order or 0)
    done_epochs = {int(t.fidelity or 0) for t in records}
    numbers = iter(range(max((t.number for t in stored), default=-1) + 1, 10**9))
    epochs = int(spec["budget"]["trials"])
    if any(t.info.get("final") for t in records):
        data = None  # finished before: the stored trials are the answer
    else:
        data = load_oneshot_data(spec["evaluator"]["dataset"], max_train=spec["oneshot"].get("max_train"),
                                 data_root=spec["evaluator"].get("data_root"))

    def record(entry: Mapping[str, Any], arch: Architecture, final: bool) -> None:
        assert data is not None
        acc = _supernet_accuracy(method, arch, data[0], data[1])
        result = _trial_result(method, entry, acc, rel_ckpt, final)
        number, started, text = next(numbers), time.time(), exp.space.to_string(arch)
        if store is not None and exp_id is not None:
            tid = store.start_trial(exp_id, number, text, arch.key, result.fidelity, owner=owner)
            store.finish_trial(tid, result, owner=owner)
        records.append(TrialRecord(number, text, arch.key, result.fidelity, result.status, dict(result.metrics), {},
                                   result.cost, None, None, started, time.time(), len(records), dict(result.info)))
        done_epochs.add(int(entry["epoch"]))
        if progress is not None:
            progress.advance(int(entry["epoch"]), acc, text[:60])

    def on_epoch(epoch: int, total: int, entry: dict[str, Any]) -> None:
        # Stored one epoch late: the last epoch's trial waits for the method's final answer.
        for old in method.history_[:-1]:
            if int(old["epoch"]) not in done_epochs:
                record(old, exp.space.parse(old["derived"]), False)

    method.progress = on_epoch
    lease = Lease(store, exp_id, owner) if store is not None and exp_id is not None else None
    final_status = "interrupted"
    if progress is not None:
        progress.start(epochs, "epochs")
    try:
        if lease is not None:
            lease.start()
        if data is not None:
            _search_and_record(method, data[0], data[1],
                               OneShotBudget(epochs, spec["budget"].get("wall_seconds")), done_epochs, record)
        final_status = "finished"
    except KeyboardInterrupt as exc:  # Ctrl-C or SIGTERM: the checkpointed epochs resume with `nasforge resume`
        raise SearchInterrupted(exp.name, store.path if store is not None else None,
                                getattr(exc, "signal_name", "SIGINT")) from None
    finally:
        if progress is not None:
            progress.stop()
        if lease is not None and store is not None and exp_id is not None:
            lease.stop()
            store.release_lease(exp_id, owner, final_status)
    runner = Runner(exp, None)
    runner.records = records
    runner._cost = sum(t.cost for t in records)
    summary = runner.summary(time.perf_counter() - t0)
    if store is not None and exp_id is not None:
        summary.storage = store.path
    return summary
