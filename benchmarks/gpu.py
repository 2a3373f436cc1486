"""The same training work on the CPU and (when there is one) the GPU, side by side.

Four jobs per device, each printed with its wall time, throughput (training images per second),
accuracy and, on a GPU, peak GPU memory:

1. ``nb201 epoch``: one epoch of the full NAS-Bench-201 network (C=16, N=5, the paper's ResNet-like
   cell) at batch 256 on random 32x32 RGB inputs (``--nb201-images`` of them): the per-epoch
   speed that the "10x faster on the GPU" target is about. Accuracy is not meaningful (random labels).
2. ``search``: a short real-training search (random strategy, NB201 cells with C=8, N=1) on
   ``--dataset``: ``--trials`` trials of ``--epochs`` epochs on ``--max-train`` images.
3. ``darts-pt``: a one-shot ``darts-pt`` search for ``--oneshot-epochs`` epochs on the same data.
4. ``ImageClassifier``: ``fit`` with ``--fit-trials`` trials of ``--epochs`` epochs, then its test
   accuracy.

Accuracies are validation (search, darts-pt: the supernet's) and test (the best trial, the
classifier) accuracy in percent. Runs on a CPU-only machine (reporting the CPU only):

    flock /tmp/nasforge-cpu.lock .venv/bin/python benchmarks/gpu.py --small
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

NB201_CELL = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"


def _reset_peak(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()


def _peak_mb(device: str) -> float | None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() / 2**20
    return None


def nb201_epoch(device: str, args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from nasforge.spaces import get_space
    from nasforge.training import Recipe, train

    gen = torch.Generator().manual_seed(0)
    x = torch.randn(args.nb201_images, 3, 32, 32, generator=gen)
    y = torch.randint(0, 10, (len(x),), generator=gen)
    space = get_space("nb201")
    torch.manual_seed(0)
    net = space.build(space.parse(NB201_CELL), num_classes=10, in_channels=3, channels=16, cells_per_stage=5)
    recipe = Recipe(epochs=1, batch_size=256, device=device, precision=args.precision, val_every_epoch=False)
    train(net, (x[:512], y[:512]), recipe)  # warm-up: kernels, allocator, cuDNN autotuning
    _reset_peak(device)
    t0 = time.perf_counter()
    result = train(net, (x, y), recipe)
    seconds = time.perf_counter() - t0
    return {"job": "nb201 epoch (C16 N5, 32x32, batch 256)", "seconds": seconds, "images_per_s": len(x) / seconds,
            "acc": None, "peak_mb": _peak_mb(device), "note": f"{result.steps} steps"}


def search(device: str, args: argparse.Namespace) -> dict[str, Any]:
    import nasforge as nf

    _reset_peak(device)
    t0 = time.perf_counter()
    summary = nf.search(space="nb201", strategy="random", dataset=args.dataset, trials=args.trials, seed=0,
                        train={"epochs": args.epochs, "max_train": args.max_train,
                               "model": {"channels": 8, "cells_per_stage": 1}},
                        device=device, precision=args.precision, in_memory=True)
    seconds = time.perf_counter() - t0
    best = summary.best
    n_train = args.trials * args.epochs * args.max_train
    return {"job": f"search ({args.trials} trials x {args.epochs} ep)", "seconds": seconds,
            "images_per_s": n_train / seconds, "acc": best.metrics["val_acc"] if best else None,
            "peak_mb": _peak_mb(device), "note": f"test {best.hidden.get('test_acc', float('nan')):.1f}" if best else ""}


def darts_pt(device: str, args: argparse.Namespace) -> dict[str, Any]:
    from nasforge.oneshot import ONESHOT, OneShotBudget, OneShotConfig, load_oneshot_data
    from nasforge.spaces import get_space

    train, val, _ = load_oneshot_data(args.dataset, max_train=args.max_train)
    space = get_space("nb201")
    method = ONESHOT.get("darts-pt")(space, OneShotConfig(channels=8, cells=1, device=device))
    _reset_peak(device)
    t0 = time.perf_counter()
    arch = method.search(train, val, OneShotBudget(args.oneshot_epochs))
    seconds = time.perf_counter() - t0
    acc = method.estimate([arch], train, val)[0]
    return {"job": f"darts-pt ({args.oneshot_epochs} ep)", "seconds": seconds,
            "images_per_s": args.oneshot_epochs * len(train[0]) / seconds, "acc": acc,
            "peak_mb": _peak_mb(device), "note": "supernet val acc of the result"}


def image_classifier(device: str, args: argparse.Namespace) -> dict[str, Any]:
    import numpy as np

    import nasforge as nf
    from nasforge.data.datasets import load_dataset

    ds = load_dataset(args.dataset).subset(args.max_train, None, seed=0)
    _reset_peak(device)
    t0 = time.perf_counter()
    clf = nf.ImageClassifier(time_budget_s=None, max_trials=args.fit_trials, epochs=args.epochs, seed=0,
                             threads=args.threads,
                             device=device, precision=args.precision).fit(ds.x_train, ds.y_train)
    seconds = time.perf_counter() - t0
    acc = 100.0 * float(np.mean(clf.predict(ds.x_test) == ds.y_test))
    images = (args.fit_trials + 1) * args.epochs * len(ds.x_train)  # trials, then the final training
    return {"job": f"ImageClassifier ({args.fit_trials} trials x {args.epochs} ep)", "seconds": seconds,
            "images_per_s": images / seconds, "acc": acc, "peak_mb": _peak_mb(device), "note": "test acc"}


def main() -> None:
    import torch

    from nasforge.training import set_threads

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="fashion-mnist")
    p.add_argument("--max-train", type=int, default=6000, help="training images for search, darts-pt, fit")
    p.add_argument("--trials", type=int, default=4)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--oneshot-epochs", type=int, default=10)
    p.add_argument("--fit-trials", type=int, default=3)
    p.add_argument("--nb201-images", type=int, default=2560)
    p.add_argument("--precision", default="32", choices=["32", "bf16", "16-mixed"])
    p.add_argument("--threads", type=int, default=2, help="torch threads on the CPU")
    p.add_argument("--small", action="store_true", help="a quick setting: digits, few images and epochs")
    args = p.parse_args()
    if args.small:
        args.dataset, args.max_train, args.trials, args.epochs = "digits", 600, 2, 2
        args.oneshot_epochs, args.fit_trials, args.nb201_images = 2, 2, 512
    set_threads(args.threads)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none (CPU only)"
    print(f"command: {' '.join(sys.argv)}")
    print(f"machine: {platform.node()} {platform.machine()}, {args.threads} torch CPU threads, torch {torch.__version__},"
          f" GPU: {gpu}; dataset {args.dataset}, {args.max_train} training images, precision {args.precision}")
    jobs = (nb201_epoch, search, darts_pt, image_classifier)
    rows: list[tuple[str, dict[str, Any]]] = []
    for job in jobs:
        for device in devices:
            row = job(device, args)
            rows.append((device, row))
            print(f"  {device:<5} {row['job']}: {row['seconds']:.1f} s", file=sys.stderr, flush=True)
    print("\n| job | device | seconds | images/s | accuracy % | peak GPU MiB | note |")
    print("|---|---|---|---|---|---|---|")
    for device, r in rows:
        acc = "-" if r["acc"] is None else f"{r['acc']:.1f}"
        peak = "-" if r["peak_mb"] is None else f"{r['peak_mb']:.0f}"
        print(f"| {r['job']} | {device} | {r['seconds']:.1f} | {r['images_per_s']:.0f} | {acc} | {peak} | {r['note']} |")
    if len(devices) > 1:
        print("\n| job | GPU speed-up (CPU s / GPU s) |")
        print("|---|---|")
        for i in range(0, len(rows), 2):
            print(f"| {rows[i][1]['job']} | {rows[i][1]['seconds'] / rows[i + 1][1]['seconds']:.1f}x |")


if __name__ == "__main__":
    main()
