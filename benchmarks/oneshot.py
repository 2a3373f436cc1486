"""One-shot NAS on real data: DARTS (1st/2nd order), GDAS, ENAS and SPOS on the NB201 space.

Recipe (fixed, stated in BENCHMARKS.md; run under the shared CPU lock):

    flock /tmp/nasforge-cpu.lock .venv/bin/python benchmarks/oneshot.py

- Data: a class-stratified Fashion-MNIST subset (5,000 train / 2,000 test images, 28x28, seed 0),
  written to a temporary .npz; the library's fixed split gives 4,000 train / 1,000 validation.
- Search: NB201 supernet C=8, N=1 on the first ``--search-train`` (2,000) training images for
  weights and the 1,000 validation images for architecture decisions; batch 64; SGD 0.025 cosine;
  alpha Adam lr 3e-3 (10x the paper's 3e-4 because a run here has ~100x fewer steps). Epochs per
  method (equalising CPU time roughly): darts 6, darts2 2, spos 10; since session 2: gdas / enas 20
  (the first half a uniform single-path warm-up), darts-pt 12 weights-only epochs (alpha fixed at
  uniform, about half the cost of a DARTS epoch) and perturbation scores on all 1,000 validation images.
- ``--reuse JSON`` takes the random population's (and already trained cells') stand-alone results
  from an earlier run with the same recipe and only runs ``--methods``.
- Stand-alone training (found cells and the random reference population alike): NB201 network C=8,
  N=1, 4,000 training images, 4 epochs, SGD lr 0.05 cosine, batch 64, seed 0; test accuracy on the
  2,000 test images (never seen by any search).
- Reference population: ``--random`` (30) uniform random NB201 cells (seed 2024).
- Kendall tau (SPOS, ENAS): supernet-estimated validation accuracy (single path, BN recalibrated)
  against stand-alone test accuracy over the random population.
Each search runs in a fresh process, so ``peak RSS`` is that search's own peak (includes torch).

``--small-budgets`` (issue 17) instead runs every method at its default settings on digits (3 and 10
epochs) and a Fashion-MNIST subset (2 and 4 epochs), and compares the found cells' stand-alone test
accuracy with random cells':

    flock /tmp/nasforge-cpu.lock .venv/bin/python benchmarks/oneshot.py --small-budgets --json /tmp/small.json
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

# Session 2 rebalanced gdas / enas / darts-pt (warm-up; fixed-alpha supernet for darts-pt): see BENCHMARKS.md.
EPOCHS = {"darts": 6, "darts2": 2, "darts-pt": 12, "gdas": 40, "enas": 20, "spos": 10}
# Validation images a method's own scoring uses (darts-pt: the perturbation scores; enas / spos: supernet estimates).
EVAL_SAMPLES = {"darts-pt": 1000}
PARAM_FREE = {"none", "skip_connect", "avg_pool_3x3"}


def _search_job(job: dict[str, Any]) -> dict[str, Any]:
    import torch

    from nasforge.oneshot import ONESHOT, OneShotConfig, load_oneshot_data, peak_rss_mb
    from nasforge.spaces import get_space

    torch.set_num_threads(1)
    space = get_space("nb201")
    train, val, _ = load_oneshot_data(job["data"], max_train=job["search_train"])
    rss0 = peak_rss_mb()
    cfg = OneShotConfig(channels=8, cells=1, batch_size=64, a_lr=3e-3, seed=job["seed"],
                        eval_samples=EVAL_SAMPLES.get(job["method"], 500))
    hp: dict[str, Any] = {"recal_batches": 2} if job["method"] in ("spos", "enas") else {}
    method = ONESHOT.get(job["method"])(space, cfg, **hp)
    t0 = time.perf_counter()
    arch = method.search(train, val, job["epochs"])
    seconds = time.perf_counter() - t0
    out = {"method": job["method"], "seed": job["seed"], "arch": space.to_string(arch), "seconds": seconds,
           "peak_rss_mb": method.peak_rss_mb_, "rss_before_search_mb": rss0, "epochs": job["epochs"],
           "last": {k: v for k, v in method.history_[-1].items() if k in ("train_loss", "val_loss", "reward")}}
    if job["method"] in ("darts", "darts2", "gdas"):
        out["alphas"] = method.history_[-1]["alphas"]["normal"]
    if job["method"] in ("spos", "enas"):
        archs = [space.parse(s) for s in job["random"]]
        t1 = time.perf_counter()
        out["estimates"] = method.estimate(archs, train, val, recal_batches=2)
        out["estimate_seconds"] = time.perf_counter() - t1
    return out


def _train_job(job: dict[str, Any]) -> dict[str, Any]:
    from nasforge.spaces import get_space
    from nasforge.training import DataSettings, Recipe, train_architecture

    space = get_space("nb201")
    recipe = Recipe(epochs=job["epochs"], batch_size=64, lr=0.05, device="cpu")
    data = DataSettings(seed=0, threads=1, model={"channels": 8, "cells_per_stage": 1})
    out = train_architecture(space, space.parse(job["arch"]), job["data"], recipe, data)
    return {"arch": job["arch"], "test_acc": out.test_acc, "val_acc": out.val_acc, "seconds": out.seconds,
            "params": out.params}


def _memory_job(job: dict[str, Any]) -> dict[str, Any]:
    """A few supernet steps at the NB201 paper's supernet size (C=16, N=5), for peak memory."""
    import torch

    from nasforge.oneshot import ONESHOT, OneShotConfig, load_oneshot_data, peak_rss_mb
    from nasforge.spaces import get_space

    torch.set_num_threads(1)
    train, val, _ = load_oneshot_data(job["data"], max_train=1000)
    rss0 = peak_rss_mb()
    cfg = OneShotConfig(channels=16, cells=5, batch_size=job["batch_size"], max_steps_per_epoch=job["steps"])
    method = ONESHOT.get(job["method"])(get_space("nb201"), cfg)
    t0 = time.perf_counter()
    method.search(train, val, 1)
    return {"method": job["method"], "peak_rss_mb": method.peak_rss_mb_, "rss_before_search_mb": rss0,
            "seconds_per_step": (time.perf_counter() - t0) / job["steps"], "batch_size": job["batch_size"]}


def _run(fn: Any, job: dict[str, Any]) -> dict[str, Any]:
    return {"kind": fn.__name__, **fn(job)}


def _percentile(value: float, population: list[float]) -> float:
    below = sum(p < value for p in population) + 0.5 * sum(p == value for p in population)
    return 100.0 * below / len(population)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--random", type=int, default=30, help="size of the random reference population")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--search-train", type=int, default=2000)
    ap.add_argument("--train-epochs", type=int, default=4)
    ap.add_argument("--methods", default="darts,darts2,gdas,enas,spos")
    ap.add_argument("--epochs-scale", type=float, default=1.0, help="multiply search epochs (smoke runs: <1)")
    ap.add_argument("--n-train", type=int, default=5000)
    ap.add_argument("--n-test", type=int, default=2000)
    ap.add_argument("--json", dest="json_out", help="write all numbers to this file")
    ap.add_argument("--reuse", help="JSON of an earlier run with the same recipe: reuse its stand-alone results "
                    "(random population and found cells) and only run --methods")
    ap.add_argument("--runs", help="only these searches, as method:seed,... (instead of --methods x --seeds); "
                    "lets a long benchmark run in pieces under the CPU lock")
    ap.add_argument("--merge", help="comma-separated JSONs of earlier pieces (same recipe): print their joint "
                    "table, run nothing")
    ap.add_argument("--memory-probe", action="store_true",
                    help="only measure peak RSS of darts/darts2/gdas steps with the NB201-paper supernet (C=16, N=5)")
    args = ap.parse_args()

    import torch

    from nasforge.data.datasets import load_dataset
    from nasforge.evaluators.nb201_data import load_packaged_nb201
    from nasforge.spaces import get_space

    t_start = time.perf_counter()
    print(f"command: {' '.join([sys.executable] + sys.argv)}")
    print(f"machine: {platform.machine()} {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"torch {torch.__version__}")
    tmp = tempfile.mkdtemp(prefix="nasforge-oneshot-")
    ds = load_dataset("fashion-mnist").subset(args.n_train, args.n_test, seed=0)
    data = os.path.join(tmp, "fmnist-subset.npz")
    np.savez(data, x_train=np.asarray(ds.x_train), y_train=np.asarray(ds.y_train), x_test=np.asarray(ds.x_test),
             y_test=np.asarray(ds.y_test), classes=np.array(ds.classes))
    if args.memory_probe:
        ctx = mp.get_context("spawn")
        with ctx.Pool(1, maxtasksperchild=1) as pool:
            for m in ("darts", "darts2", "gdas"):
                r = pool.apply(_memory_job, ({"method": m, "data": data, "steps": 3, "batch_size": 64},))
                print(f"  memory probe {m:<6} C=16 N=5 batch 64, 28x28: peak RSS {r['peak_rss_mb']:.0f} MiB "
                      f"(before search {r['rss_before_search_mb']:.0f} MiB), {r['seconds_per_step']:.1f} s/step")
        return
    space = get_space("nb201")
    rng = np.random.default_rng(2024)
    randoms = list(dict.fromkeys(space.to_string(space.sample(rng)) for _ in range(args.random)))
    methods = [m for m in args.methods.split(",") if m]
    runs = [(m, s) for s in range(args.seeds) for m in methods]
    if args.runs:
        runs = [(r.split(":")[0], int(r.split(":")[1])) for r in args.runs.split(",") if r]
        methods = list(dict.fromkeys(m for m, _ in runs))
    if args.merge:
        pieces = [json.loads(Path(f).read_text()) for f in args.merge.split(",")]
        for piece in pieces:
            if piece["args"]["train_epochs"] != args.train_epochs or any(a not in piece["random"] for a in randoms):
                raise SystemExit("the pieces were made with another recipe (population or epochs differ)")
        runs = []
    searches = [{"method": m, "seed": s, "data": data, "search_train": args.search_train, "random": randoms,
                 "epochs": max(1, round(EPOCHS[m] * args.epochs_scale))} for m, s in runs]
    # Longest searches first so the two workers finish together.
    searches.sort(key=lambda j: -EPOCHS[j["method"]] * {"darts2": 9, "darts": 3, "darts-pt": 2}.get(j["method"], 1))
    trains = [] if args.reuse or args.merge else [{"arch": a, "data": data, "epochs": args.train_epochs}
                                                  for a in randoms]
    ctx = mp.get_context("spawn")
    results: list[dict[str, Any]] = []
    with ctx.Pool(args.workers, maxtasksperchild=1) as pool:
        pending = [pool.apply_async(_run, (_search_job, j)) for j in searches]
        pending += [pool.apply_async(_run, (_train_job, j)) for j in trains]
        for p in pending:
            r = p.get()
            results.append(r)
            if r["kind"] == "_search_job":
                print(f"  search {r['method']:<6} seed {r['seed']}: {r['arch']}  {r['seconds']:.0f} s, "
                      f"peak RSS {r['peak_rss_mb']:.0f} MiB", flush=True)
        found = sorted({r["arch"] for r in results if r["kind"] == "_search_job"} - set(randoms))
        previous: dict[str, Any] = {}
        if args.reuse:
            # Read only now, so a run can be chained after the one that writes this file.
            for _ in range(360):
                if os.path.exists(args.reuse):
                    break
                time.sleep(10)
            with open(args.reuse) as fh:
                old = json.load(fh)
            previous = {**old["random"], **old["found"]}
            if any(a not in old["random"] for a in randoms) or old["args"]["train_epochs"] != args.train_epochs:
                raise SystemExit(f"{args.reuse} was made with another recipe (population or epochs differ)")
        results += [{"kind": "_train_job", **previous[a]} for a in list(randoms) + found if a in previous]
        found_new = [a for a in found if a not in previous]
        extra = [pool.apply_async(_run, (_train_job, {"arch": a, "data": data, "epochs": args.train_epochs}))
                 for a in found_new]
        results += [p.get() for p in extra]
    if args.merge:
        results = [r for piece in pieces for r in piece["results"] if r["kind"] == "_search_job"]
        results += [{"kind": "_train_job", **r} for piece in pieces for r in {**piece["random"], **piece["found"]}.values()]
        methods = list(dict.fromkeys(r["method"] for r in results if r["kind"] == "_search_job"))
        results.sort(key=lambda r: (r["kind"], r.get("method", ""), r.get("seed", 0)))
    standalone = {r["arch"]: r for r in results if r["kind"] == "_train_job"}
    pop = [standalone[a]["test_acc"] for a in randoms]
    table = load_packaged_nb201()
    c10 = table.column("c10_test_acc_200")

    def nb201_c10(a: str) -> float:
        return float(c10[table.row_of[a]])

    from scipy.stats import kendalltau

    summary: dict[str, Any] = {}
    for m in methods:
        runs = [r for r in results if r["kind"] == "_search_job" and r["method"] == m]
        accs = [standalone[r["arch"]]["test_acc"] for r in runs]
        pct = [_percentile(a, pop) for a in accs]
        taus = []
        for r in runs:
            if "estimates" in r:
                taus.append(float(kendalltau(r["estimates"], pop).statistic))
        param_free = [all(tok.split("~")[0] in PARAM_FREE for node in r["arch"].split("+")
                          for tok in node.strip("|").split("|")) for r in runs]
        skips = [sum(tok.startswith("skip_connect") for tok in r["arch"].replace("+", "|").split("|")) for r in runs]
        summary[m] = {"archs": [r["arch"] for r in runs], "test_acc": accs, "percentile": pct,
                      "nb201_c10_test": [nb201_c10(r["arch"]) for r in runs],
                      "search_seconds": [r["seconds"] for r in runs], "peak_rss_mb": [r["peak_rss_mb"] for r in runs],
                      "rss_before_search_mb": [r["rss_before_search_mb"] for r in runs],
                      "kendall_tau": taus, "only_param_free": param_free, "skip_edges": skips,
                      "epochs": runs[0]["epochs"] if runs else None, "last": [r["last"] for r in runs]}
    rand_sorted = sorted(pop)
    print(f"\nrandom population: {len(pop)} cells, stand-alone test acc mean {np.mean(pop):.2f}, median "
          f"{np.median(pop):.2f}, 80th pct {np.percentile(pop, 80):.2f}, best {rand_sorted[-1]:.2f}, "
          f"worst {rand_sorted[0]:.2f}; disconnected cells: "
          f"{sum(not space.is_connected(space.parse(a)) for a in randoms)}")
    print("\n| method | epochs | found cells (per seed) | stand-alone test acc % | percentile in random pop. | "
          "NB201 C10 test % (lookup) | search s | peak RSS MiB | Kendall tau |")
    print("|---|---|---|---|---|---|---|---|---|")
    for m, s in summary.items():
        tau = f"{np.mean(s['kendall_tau']):.2f} ({', '.join(f'{t:.2f}' for t in s['kendall_tau'])})" \
            if s["kendall_tau"] else "-"
        print(f"| {m} | {s['epochs']} | {'<br>'.join('`' + a + '`' for a in s['archs'])} | "
              f"{np.mean(s['test_acc']):.2f} ± {np.std(s['test_acc']):.2f} | "
              f"{np.mean(s['percentile']):.0f} ({', '.join(f'{p:.0f}' for p in s['percentile'])}) | "
              f"{np.mean(s['nb201_c10_test']):.2f} | {np.mean(s['search_seconds']):.0f} | "
              f"{max(s['peak_rss_mb']):.0f} | {tau} |")
    print("\nparam-free-only cells (skip/none/pool) per method:",
          {m: sum(s["only_param_free"]) for m, s in summary.items()},
          "; skip edges per found cell:", {m: s["skip_edges"] for m, s in summary.items()})
    total = time.perf_counter() - t_start
    print(f"total wall time {total:.0f} s")
    if args.json_out:
        with open(args.json_out, "w") as fh:
            json.dump({"summary": summary, "random": {a: standalone[a] for a in randoms},
                       "found": {a: standalone[a] for a in found}, "results": results, "wall_seconds": total,
                       "args": vars(args)}, fh, indent=1)


# ---------------------------------------------------------------------------------------------------------------
# Small budgets at default settings (``--small-budgets``): what a new user gets from
# ``nasforge search --strategy METHOD --dataset D --epochs E``. Every method with its default hyperparameters and
# the default supernet (OneShotConfig()), seed 0, on two datasets x two budgets; each found cell and a random
# reference population trained stand-alone with one recipe; test accuracy only after every search has ended.
SMALL_BUDGETS = {"digits": (3, 10), "fmnist": (2, 4)}
SMALL_TRAIN_EPOCHS = {"digits": 8, "fmnist": 3}
SMALL_METHODS = ("darts", "darts2", "darts-pt", "gdas", "enas", "spos")


def _small_search_job(job: dict[str, Any]) -> dict[str, Any]:
    import torch

    from nasforge.oneshot import OneShotConfig, load_oneshot_data, make_oneshot
    from nasforge.spaces import get_space

    torch.set_num_threads(1)
    space = get_space("nb201")
    train, val, _ = load_oneshot_data(job["data"], max_train=job["max_train"])
    method = make_oneshot(job["method"], space, OneShotConfig(seed=0))
    t0 = time.perf_counter()
    arch = method.search(train, val, job["epochs"])
    check = getattr(method, "check_", {}) or {}
    return {"method": job["method"], "dataset": job["dataset"], "epochs": job["epochs"], "arch": space.to_string(arch),
            "parametric": bool(space.has_parametric_path(arch)), "seconds": time.perf_counter() - t0,
            "fallback": "fallback" in check, "check": check}


def _small_train_job(job: dict[str, Any]) -> dict[str, Any]:
    from nasforge.spaces import get_space
    from nasforge.training import DataSettings, Recipe, train_architecture

    space = get_space("nb201")
    recipe = Recipe(epochs=job["epochs"], batch_size=64, lr=0.05)
    data = DataSettings(seed=0, threads=1, max_train=job["max_train"], model={"channels": 8, "cells_per_stage": 1})
    out = train_architecture(space, space.parse(job["arch"]), job["data"], recipe, data)
    return {"arch": job["arch"], "dataset": job["dataset"], "test_acc": out.test_acc, "seconds": out.seconds}


def small_budgets(argv: list[str]) -> None:
    """``--small-budgets``: found cells vs random cells at default settings, 2 datasets x 2 budgets."""
    ap = argparse.ArgumentParser(description="one-shot methods at default settings and small budgets")
    ap.add_argument("--small-budgets", action="store_true")
    ap.add_argument("--random", type=int, default=6, help="random reference cells per dataset")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--methods", default=",".join(SMALL_METHODS))
    ap.add_argument("--train-epochs", type=int, help="stand-alone epochs for both datasets (default: digits 8, "
                    "F-MNIST subset 3)")
    ap.add_argument("--json", dest="json_out")
    ap.add_argument("--smoke", action="store_true", help="1 epoch per dataset, 2 random cells (checks the script)")
    args = ap.parse_args(argv)
    budgets_by_data = {d: (1,) for d in SMALL_BUDGETS} if args.smoke else SMALL_BUDGETS

    import torch

    from nasforge.data.datasets import load_dataset
    from nasforge.spaces import get_space

    t_start = time.perf_counter()
    print(f"command: {' '.join([sys.executable] + sys.argv)}")
    print(f"machine: {platform.machine()} {os.cpu_count()} CPUs, torch {torch.__version__}")
    tmp = tempfile.mkdtemp(prefix="nasforge-oneshot-small-")
    ds = load_dataset("fashion-mnist").subset(1500, 600, seed=0)
    fm = os.path.join(tmp, "fmnist-subset.npz")
    np.savez(fm, x_train=np.asarray(ds.x_train), y_train=np.asarray(ds.y_train), x_test=np.asarray(ds.x_test),
             y_test=np.asarray(ds.y_test), classes=np.array(ds.classes))
    data = {"digits": ("digits", None), "fmnist": (fm, 600)}  # search on <= 600 F-MNIST training images
    space = get_space("nb201")
    rng = np.random.default_rng(2024)
    randoms = list(dict.fromkeys(space.to_string(space.sample(rng)) for _ in range(args.random)))
    methods = [m for m in args.methods.split(",") if m]
    cost = {"darts2": 6, "darts": 2, "darts-pt": 2}
    ctx = mp.get_context("spawn")
    found: list[dict[str, Any]] = []
    trained: dict[tuple[str, str], dict[str, Any]] = {}
    lines = ["| dataset | epochs | method | found cell | parametric path | fallback taken | stand-alone test % "
             "| random median % | search s |", "|---|---|---|---|---|---|---|---|---|"]
    summary: dict[str, list[float]] = {m: [] for m in methods}
    print(f"stand-alone: NB201 C=8 N=1, {args.train_epochs or SMALL_TRAIN_EPOCHS} epochs, SGD 0.05 cosine, batch 64, "
          f"seed 0; F-MNIST "
          f"subset 1,500/600 (1,200 train / 300 validation; search weights on <= 600 of the training images)")
    # One dataset at a time (searches, then stand-alone training, then its rows), so a cut run keeps its first part.
    for d, budgets in budgets_by_data.items():
        searches = [{"method": m, "dataset": d, "data": data[d][0], "max_train": data[d][1], "epochs": e}
                    for e in budgets for m in methods]
        searches.sort(key=lambda j: -j["epochs"] * cost.get(j["method"], 1))
        with ctx.Pool(args.workers, maxtasksperchild=1) as pool:
            for r in pool.imap_unordered(_small_search_job, searches):
                found.append(r)
                print(f"  search {r['dataset']:<6} {r['epochs']:>2} ep {r['method']:<8} {r['arch']}  "
                      f"parametric={r['parametric']} fallback={r['fallback']}  {r['seconds']:.0f} s", flush=True)
            archs = dict.fromkeys([*randoms, *(r["arch"] for r in found if r["dataset"] == d)])
            trains = [{"arch": a, "dataset": d, "data": data[d][0], "max_train": None,
                       "epochs": args.train_epochs or SMALL_TRAIN_EPOCHS[d]} for a in archs]
            for r in pool.imap_unordered(_small_train_job, trains):
                trained[(d, r["arch"])] = r
        rand = [trained[(d, a)]["test_acc"] for a in randoms]
        med = float(np.median(rand))
        print(f"{d}: random cells ({len(rand)}) stand-alone test acc median {med:.2f}, mean {np.mean(rand):.2f}, "
              f"min {min(rand):.2f}, max {max(rand):.2f}", flush=True)
        for e in budgets:
            for m in methods:
                r = next(x for x in found if x["dataset"] == d and x["epochs"] == e and x["method"] == m)
                acc = trained[(d, r["arch"])]["test_acc"]
                summary[m].append(acc - med)
                cell = r["arch"].replace("|", "\\|")
                lines.append(f"| {d} | {e} | {m} | `{cell}` | {'yes' if r['parametric'] else '**no**'} | "
                             f"{'yes' if r['fallback'] else 'no'} | {acc:.2f} | {med:.2f} | {r['seconds']:.0f} |")
        print("\n".join(lines), flush=True)
    print("\nmean (found - random median), percentage points, per dataset x budget:")
    for m, diffs in summary.items():
        print(f"  {m:<8} {np.mean(diffs):+.2f}  ({', '.join(f'{x:+.2f}' for x in diffs)})")
    print(f"parameter-free-only cells: {sum(not r['parametric'] for r in found)} of {len(found)}; "
          f"fallbacks taken: {sum(r['fallback'] for r in found)}")
    print(f"total wall time {time.perf_counter() - t_start:.0f} s")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({"searches": found, "trained": list(trained.values()),
                                                   "randoms": randoms, "args": vars(args)}, indent=1))


if __name__ == "__main__":
    if "--small-budgets" in sys.argv:
        small_budgets(sys.argv[1:])
    else:
        main()
