"""Memory layout of image batches in training: channels-last against the default (NCHW) layout.

Times training steps of the image baselines of ``benchmarks/automl.py`` and of the ``auto_cnn``
space's start network through :func:`nasforge.training.train` (the one trainer of the
estimators, the baselines and the search evaluator), on random 28x28 MNIST-shaped batches, one torch thread, with
``Recipe(channels_last=False)`` and ``Recipe(channels_last=True)`` alternating so that any
drift in machine load hits both alike. Prints seconds per 60,000-image epoch and the ratio.
Then the same comparison for :func:`nasforge.training.train_architecture` (the
real-training evaluator of ``nasforge search --dataset`` and of ``make demo``): an NB201 cell
(8 channels, one cell per stage) trained on digits and on 6,000 MNIST images with
``Recipe(channels_last=...)``.

    flock /tmp/nasforge-cpu.lock .venv/bin/python benchmarks/layout.py
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> None:
    import automl
    import torch

    from nasforge.training import Recipe, set_threads, train, warm_up_torch

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=40, help="training steps per timing")
    p.add_argument("--repeats", type=int, default=3, help="timings per model and layout")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    set_threads(args.threads)
    warm_up_torch()
    print(f"command: {' '.join(sys.argv)}")
    print(f"machine: {platform.node()} {platform.machine()}, torch {torch.__version__}, {args.threads} torch threads; "
          f"{args.steps} steps of batch 128 with shift augmentation per timing, median of {args.repeats}")
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(128 * args.steps, 1, 28, 28, generator=gen)
    y = torch.randint(0, 10, (len(x),), generator=gen)
    print("\n| network | params | NCHW s/epoch | channels-last s/epoch | speed-up |")
    print("|---|---|---|---|---|")
    for name, build in automl.BASELINES.items():
        times: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(args.repeats):
            for cl in (False, True):
                torch.manual_seed(0)
                model = build(1, 10)
                recipe = Recipe(epochs=1, batch_size=128, lr=3e-3, optimizer="adamw", augment="shift",
                                channels_last=cl, schedule="cosine", warmup=0.05, drop_last=True, val_every_epoch=False, device="cpu")
                t0 = time.perf_counter()
                train(model, (x, y), recipe)
                times[cl].append((time.perf_counter() - t0) / args.steps * 60000 / 128)
        params = sum(q.numel() for q in build(1, 10).parameters())
        a, b = statistics.median(times[False]), statistics.median(times[True])
        print(f"| {name} | {params:,} | {a:.1f} | {b:.1f} | {a / b:.2f}x |", flush=True)

    from nasforge.spaces import get_space
    from nasforge.training import DataSettings, train_architecture

    space = get_space("nb201")
    cell = space.parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|")
    print("\n| NB201 cell (8 channels, 1 cell per stage), train_architecture | NCHW s | channels-last s | speed-up |")
    print("|---|---|---|---|")
    for dataset, max_train, epochs in (("digits", None, 3), ("mnist", 6000, 1)):
        secs: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(args.repeats):
            for cl in (False, True):
                data = DataSettings(threads=args.threads, max_train=max_train,
                                    model={"channels": 8, "cells_per_stage": 1})
                secs[cl].append(train_architecture(space, cell, dataset, Recipe(epochs=epochs, channels_last=cl,
                                                                                device="cpu"), data).seconds)
        a, b = statistics.median(secs[False]), statistics.median(secs[True])
        label = f"{dataset}, {epochs} epoch(s)" + (f" on {max_train:,} images" if max_train else "")
        print(f"| {label} | {a:.1f} | {b:.1f} | {a / b:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
