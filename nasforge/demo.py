"""`make demo`: a real architecture search with real training, offline, in a few minutes.

Searches the NAS-Bench-201 cell space with regularized evolution, training every candidate
network on scikit-learn's digits (8x8 images, installed with scikit-learn), then retrains the
best cell on train+validation, reports its test accuracy next to a hand-designed ResNet-style
cell trained with the same recipe, and saves the store and the model.

    python -m nasforge.demo [--dataset digits|mnist|fashion-mnist] [--trials 24] [--epochs 8]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from nasforge import api
from nasforge.cli.common import RichProgress
from nasforge.export import save_model
from nasforge.spaces import get_space
from nasforge.storage import Store
from nasforge.training import DataSettings, Recipe, train_architecture

RESNET_CELL = "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m nasforge.demo", description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="digits")
    ap.add_argument("--trials", type=int, default=30)
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--final-epochs", type=int, default=30)
    ap.add_argument("--out", default="demo_out")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    console = Console()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    db = out / "demo.db"
    name = f"demo-{time.strftime('%Y%m%d-%H%M%S')}"
    model_cfg = {"channels": 8, "cells_per_stage": 1}
    max_train = 6000 if args.dataset != "digits" else None
    console.rule("[bold]nasforge demo")
    console.print(f"space nb201 (15,625 cells; C=8, N=1), strategy: regularized evolution, dataset: {args.dataset}, "
                  f"{args.trials} trials x {args.epochs} epochs of real training, 1 torch thread")
    t0 = time.perf_counter()
    summary = api.search(space="nb201", strategy="evolution", dataset=args.dataset, trials=args.trials,
                         seed=args.seed, strategy_params={"population_size": 8, "sample_size": 3},
                         train={"epochs": args.epochs, "model": model_cfg, "max_train": max_train, "lr": 0.05},
                         storage=str(db), name=name, progress=RichProgress("search", enabled=True))
    search_s = time.perf_counter() - t0

    with Store(db) as store:
        trials = store.trials(store.get_experiment(name).id)
    ok = sorted((t for t in trials if t.status == "ok"), key=lambda t: -t.metrics["val_acc"])
    table = Table(title=f"top trials of {len(trials)} ({sum(t.status != 'ok' for t in trials)} failed)")
    for col in ("#", "architecture", "val acc %", "params", "train s"):
        table.add_column(col, overflow="fold")
    for t in ok[:8]:
        table.add_row(str(t.number), t.arch, f"{t.metrics['val_acc']:.2f}", f"{t.params:,}", f"{t.cost:.1f}")
    console.print(table)

    best = summary.best
    if best is None:
        console.print("[red]no trial succeeded")
        return
    space = get_space("nb201")
    recipe = Recipe(epochs=args.final_epochs)
    data = DataSettings(model=model_cfg, max_train=max_train, seed=args.seed)
    console.print(f"retraining the best cell and a hand-designed ResNet cell for {args.final_epochs} epochs "
                  f"on train+validation ...")
    final = train_architecture(space, space.parse(best.arch), args.dataset, recipe, data, final=True)
    resnet = train_architecture(space, space.parse(RESNET_CELL), args.dataset, recipe, data, final=True)
    model_path = save_model(final.model, out / "best_model.pt", space="nb201", arch=best.arch,
                            config={**recipe.to_dict(), **vars(data)})

    res = Table(title="stand-alone test accuracy (same recipe)")
    for col in ("model", "architecture", "test acc %", "params"):
        res.add_column(col, overflow="fold")
    res.add_row("nasforge best", best.arch, f"{final.test_acc:.2f}", f"{final.params:,}")
    res.add_row("ResNet cell (hand-made)", RESNET_CELL, f"{resnet.test_acc:.2f}", f"{resnet.params:,}")
    console.print(res)
    console.print(f"search: {search_s:.0f} s; total: {time.perf_counter() - t0:.0f} s")
    console.print(f"store:  {db.resolve()}  (experiment '{name}')")
    console.print(f"model:  {model_path.resolve()}  (+ .json; load with nasforge.export.load_model)")
    nxt = Table(title="what to run next", show_header=False)
    nxt.add_column("command", overflow="fold")
    nxt.add_column("what it does", overflow="fold")
    for cmd, what in (
            (f"nasforge status --storage {db}", "every experiment in the store, with its status"),
            (f"nasforge trials {name} --storage {db}", "every trial (--trial N: its learning curve and log)"),
            (f"nasforge report {name} --storage {db} --out {out / 'report'}", "plots and tables as HTML"),
            (f"nasforge export {name} --storage {db} --format onnx --out {out / 'best.onnx'}",
             "retrain the best cell and export it"),
            (f"nasforge dashboard --storage {db}", "watch and compare searches in the browser")):
        nxt.add_row(cmd, what)
    console.print(nxt)


if __name__ == "__main__":
    main()
