"""AutoML estimators vs hand-designed baselines under the same wall-clock budget (issue 7).

Images (acceptance 1): on MNIST and Fashion-MNIST, ``ImageClassifier(time_budget_s=B)`` (search +
final retraining, all inside B) against hand-designed CNNs trained with a good recipe for the
whole budget B (AdamW, warm-up + cosine planned to end with the budget, random-shift
augmentation, all 60,000 training images). Same machine, same torch threads, run side by side:
one after the other in one process, or (``--concurrent``) all at once, one process and one
torch thread each, so that any other load on the machine slows every method alike.
Test accuracy on the official 10,000 test images, which no method sees before.

Tabular (acceptance 3): ``TabularClassifier`` against scikit-learn's ``MLPClassifier`` tuned by
``GridSearchCV`` (5-fold) over a small grid, inside a standardising pipeline, on breast-cancer
and wine (fixed stratified test splits of :mod:`nasforge.data`), several seeds.

Run under the shared CPU lock, e.g.::

    flock /tmp/nasforge-cpu.lock .venv/bin/python benchmarks/automl.py images --budget 210
    flock /tmp/nasforge-cpu.lock .venv/bin/python benchmarks/automl.py tabular --seeds 5
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1]))

from nasforge.data import load_dataset


# ------------------------------------------------------------------ hand-designed baselines
def keras_cnn(in_channels: int = 1, num_classes: int = 10) -> Any:
    """The Keras MNIST example CNN: conv32-pool-conv64-pool-dropout(0.5)-dense (34,826 params)."""
    from torch import nn

    return nn.Sequential(nn.Conv2d(in_channels, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.5), nn.Linear(64 * 5 * 5, num_classes))


def vgg_bn_cnn(in_channels: int = 1, num_classes: int = 10) -> Any:
    """A VGG-style CNN with batch norm, the usual strong MNIST design:
    2x(conv32) - pool - 2x(conv64) - pool - dense128 - dropout(0.3) - dense."""
    from torch import nn

    def cbr(i: int, o: int) -> list[Any]:
        return [nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU()]

    return nn.Sequential(*cbr(in_channels, 32), *cbr(32, 32), nn.MaxPool2d(2), *cbr(32, 64), *cbr(64, 64),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Dropout(0.3),
                         nn.Linear(128, num_classes))


def auto_cnn_start(in_channels: int = 1, num_classes: int = 10, input_hw: Sequence[int] = (28, 28)) -> Any:
    """The hand-designed start of the estimator's ``auto_cnn`` space, trained alone (no search): tells the
    space's starting point apart from what the search adds."""
    from nasforge.spaces import get_space
    from nasforge.spaces.auto_cnn import auto_cnn_default

    space = get_space("auto_cnn", input_size=int(min(input_hw)))
    return space.build(auto_cnn_default(space), num_classes=num_classes, in_channels=in_channels,
                       input_hw=[int(v) for v in input_hw])


BASELINES = {"keras-cnn": keras_cnn, "vgg-bn-cnn": vgg_bn_cnn, "auto-cnn-start": auto_cnn_start}


def run_baseline(name: str, ds: Any, budget: float, threads: int, seed: int) -> dict[str, Any]:
    import torch

    from nasforge.training import Recipe, predict_logits, set_threads, train

    t0 = time.perf_counter()
    set_threads(threads)
    x = ds.x_train
    mean = x.mean(axis=(0, 2, 3), keepdims=True)
    std = x.std(axis=(0, 2, 3), keepdims=True) + 1e-6
    xt = torch.from_numpy(((x - mean) / std).astype(np.float32))
    yt = torch.from_numpy(ds.y_train.astype(np.int64))
    torch.manual_seed(seed)
    build = BASELINES[name]
    model = (build(x.shape[1], ds.num_classes, input_hw=x.shape[2:]) if build is auto_cnn_start
             else build(x.shape[1], ds.num_classes))
    # the budget decides the epochs (the schedule is planned to end with it), as for ImageClassifier
    recipe = Recipe(epochs=None, batch_size=128, lr=3e-3, optimizer="adamw", weight_decay=5e-4, augment="shift",
                    schedule="cosine", warmup=0.05, drop_last=True, val_every_epoch=False, device="cpu")
    stats = train(model, (xt, yt), recipe, seconds=budget - (time.perf_counter() - t0), seed=seed)
    fit_s = time.perf_counter() - t0
    xs = torch.from_numpy(((ds.x_test - mean) / std).astype(np.float32))
    correct = predict_logits(model, xs).argmax(1).numpy() == ds.y_test
    acc = float(correct.mean()) * 100
    return {"method": name, "test_acc": acc, "fit_seconds": fit_s, "epochs": round(stats.epochs, 2), "correct": correct,
            "params": sum(p.numel() for p in model.parameters())}


def run_nasforge(ds: Any, budget: float, threads: int, seed: int, **kw: Any) -> dict[str, Any]:
    from nasforge.estimators import ImageClassifier

    t0 = time.perf_counter()
    clf = ImageClassifier(time_budget_s=budget, threads=threads, seed=seed, **kw).fit(ds.x_train, ds.y_train)
    fit_s = time.perf_counter() - t0
    correct = clf.predict(ds.x_test) == ds.y_test
    acc = float(correct.mean()) * 100
    return {"method": "nasforge ImageClassifier", "test_acc": acc, "fit_seconds": fit_s, "correct": correct,
            "epochs": round(clf.final_stats_["epochs"], 2), "params": sum(p.numel() for p in clf.model_.parameters()),
            "trials": len(clf.history_), "search_seconds": round(clf.search_seconds_, 1),
            "best_val_acc": clf.best_val_acc_, "best_arch": clf.best_arch_string_,
            "history": [{k: h.get(k) for k in ("arch", "val_acc", "epochs_run", "params", "cost")} for h in clf.history_]}


def mcnemar(a: np.ndarray, b: np.ndarray) -> tuple[int, int, float]:
    """Exact McNemar test of two classifiers on the same samples: ``(a-only right, b-only right, p)``."""
    from scipy.stats import binomtest

    only_a, only_b = int(np.sum(a & ~b)), int(np.sum(~a & b))
    p = binomtest(only_a, only_a + only_b, 0.5).pvalue if only_a + only_b else 1.0
    return only_a, only_b, float(p)


def run_method(method: str, name: str, budget: float, threads: int, seed: int, dev: bool = False) -> dict[str, Any]:
    """One method on one dataset (loads the data itself, so it can run in a child process).

    With ``dev``, the test split is not used at all: methods fit on all but the last 10,000 training
    images and are scored on those (for development measurements).
    """
    ds = load_dataset(name)
    if dev:
        import types

        ds = types.SimpleNamespace(x_train=ds.x_train[:-10000], y_train=ds.y_train[:-10000],
                                   x_test=ds.x_train[-10000:], y_test=ds.y_train[-10000:], num_classes=ds.num_classes)
    if method == "nasforge":
        r = run_nasforge(ds, budget, threads, seed)
    else:
        r = run_baseline(method, ds, budget, threads, seed)
    r["dataset"] = name
    return r


def images(args: argparse.Namespace) -> None:
    rows = []
    if args.dev:
        print("--dev: the test split is not used; 'test acc' below is on the last 10,000 training images")
    for name in args.datasets:
        if args.concurrent:
            # every method in its own process at the same time, one torch thread each: whatever else
            # loads the machine during the run slows all methods alike, so the comparison stays fair
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor

            with ProcessPoolExecutor(len(args.methods), mp_context=mp.get_context("spawn")) as pool:
                futures = [pool.submit(run_method, m, name, args.budget, 1, args.seed, args.dev) for m in args.methods]
                results = [f.result() for f in futures]
        else:
            results = [run_method(m, name, args.budget, args.threads, args.seed, args.dev) for m in args.methods]
        for r in results:
            rows.append(r)
            print(json.dumps({k: v for k, v in r.items() if k not in ("history", "correct")}), flush=True)
            if "history" in r:
                for h in r["history"]:
                    print("   trial", json.dumps(h), flush=True)
    print("\nPaired comparison on the same test images (exact McNemar test on the images where exactly one is right):")
    for name in args.datasets:
        ours = [r for r in rows if r["dataset"] == name and r["method"].startswith("nasforge")]
        for base in (r for r in rows if r["dataset"] == name and not r["method"].startswith("nasforge")):
            for r in ours:
                b, c, p = mcnemar(r["correct"], base["correct"])
                print(f"  {name}: nasforge right / {base['method']} wrong on {b} images, the reverse on {c}; "
                      f"difference {r['test_acc'] - base['test_acc']:+.2f} points, two-sided p = {p:.3f}")
    print("\n| dataset | method | test acc % | fit s | final epochs | params |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['dataset']} | {r['method']} | {r['test_acc']:.2f} | {r['fit_seconds']:.0f} | {r['epochs']} | "
              f"{r['params']:,} |")


def tabular(args: argparse.Namespace) -> None:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import GridSearchCV
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from nasforge.estimators import TabularClassifier

    grid = {"mlpclassifier__hidden_layer_sizes": [(32,), (64,), (128,), (64, 64)],
            "mlpclassifier__alpha": [1e-4, 1e-3, 1e-2], "mlpclassifier__learning_rate_init": [1e-3, 1e-2]}
    print(f"MLPClassifier grid ({np.prod([len(v) for v in grid.values()])} settings, 5-fold CV): {grid}")
    print("\n| dataset | seed | TabularClassifier test acc % | fit s | MLPClassifier+GridSearchCV test acc % | fit s |")
    print("|---|---|---|---|---|---|")
    summary: dict[str, list[tuple[float, float]]] = {}
    paired: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    for name in args.tab_datasets:
        ds = load_dataset(name)
        for seed in range(args.seeds):
            x_tr, y_tr, x_te, y_te = ds.x_train, ds.y_train, ds.x_test, ds.y_test
            if args.resplit:
                # a fresh stratified split of the same size per seed: every seed tests on other samples
                from sklearn.model_selection import train_test_split

                x_all, y_all = np.concatenate([x_tr, x_te]), np.concatenate([y_tr, y_te])
                x_tr, x_te, y_tr, y_te = train_test_split(x_all, y_all, test_size=len(y_te), stratify=y_all,
                                                          random_state=seed)
            t0 = time.perf_counter()
            clf = TabularClassifier(time_budget_s=args.tab_budget or None, max_trials=args.tab_trials, seed=seed,
                                    threads=args.threads)
            clf.fit(x_tr, y_tr)
            nas_s = time.perf_counter() - t0
            nas_ok = clf.predict(x_te) == y_te
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                gs = GridSearchCV(make_pipeline(StandardScaler(), MLPClassifier(max_iter=500, random_state=seed)),
                                  grid, cv=5, n_jobs=1).fit(x_tr, y_tr)
            sk_s = time.perf_counter() - t0
            sk_ok = gs.predict(x_te) == y_te
            nas_acc, sk_acc = 100 * float(nas_ok.mean()), 100 * float(sk_ok.mean())
            summary.setdefault(name, []).append((nas_acc, sk_acc))
            paired.setdefault(name, []).append((nas_ok, sk_ok))
            print(f"| {name} | {seed} | {nas_acc:.2f} | {nas_s:.1f} | {sk_acc:.2f} | {sk_s:.1f} |", flush=True)
    split = "a fresh stratified split per seed" if args.resplit else "the fixed split of nasforge.data"
    for name, pairs in summary.items():
        a = np.array(pairs)
        nas_ok = np.concatenate([p[0] for p in paired[name]])
        sk_ok = np.concatenate([p[1] for p in paired[name]])
        b, c, pval = mcnemar(nas_ok, sk_ok)
        print(f"{name}: mean test acc TabularClassifier {a[:, 0].mean():.2f} vs MLPClassifier+GridSearchCV "
              f"{a[:, 1].mean():.2f} over {len(a)} seeds ({split}, {len(paired[name][0][0])} test samples each); "
              f"pooled: TabularClassifier right / MLP wrong {b}, the reverse {c}, McNemar p = {pval:.3f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("part", choices=["images", "tabular"])
    p.add_argument("--datasets", nargs="+", default=["mnist", "fashion-mnist"])
    p.add_argument("--methods", nargs="+", default=["nasforge", "vgg-bn-cnn", "keras-cnn"])
    p.add_argument("--budget", type=float, default=210.0, help="seconds per method per dataset")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--concurrent", action="store_true",
                   help="images: run the methods at the same time, one process and one torch thread each")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tab-datasets", nargs="+", default=["breast-cancer", "wine"])
    p.add_argument("--tab-budget", type=float, default=0.0,
                   help="TabularClassifier time_budget_s (0: none, the search ends after --tab-trials trials, "
                        "so the result does not depend on machine load)")
    p.add_argument("--tab-trials", type=int, default=30)
    p.add_argument("--dev", action="store_true",
                   help="images: never touch the test split; score on the last 10,000 training images instead")
    p.add_argument("--resplit", action="store_true",
                   help="tabular: a new stratified train/test split (same sizes) per seed instead of the fixed one")
    p.add_argument("--seeds", type=int, default=5)
    args = p.parse_args()
    import torch

    print(f"command: {' '.join(sys.argv)}")
    print(f"machine: {platform.node()} {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{args.threads} torch threads; started {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}")
    images(args) if args.part == "images" else tabular(args)


if __name__ == "__main__":
    main()
