"""How many torch threads should one training process use on this machine?

Trains the same NB201 architecture on digits (and a 28x28 MNIST subset) with 1, 2 and the
default number of intra-op threads, in one run, and prints seconds per epoch and the ratios.

    python benchmarks/threads.py
"""

from __future__ import annotations

import os
import time

import torch

from nasforge.training import DataSettings, Recipe, train_architecture
from nasforge.spaces import get_space

ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"


def main() -> None:
    space = get_space("nb201")
    arch = space.parse(ARCH)
    default = torch.get_num_threads()
    print(f"cores: {os.cpu_count()}, torch default threads: {default}, torch {torch.__version__}")
    cases = [("digits", dict(channels=8, cells_per_stage=1), None, 5),
             ("mnist", dict(channels=8, cells_per_stage=1), 3000, 1)]
    for dataset, model, max_train, epochs in cases:
        results = {}
        for threads in sorted({1, 2, default}):
            recipe, data = Recipe(epochs=epochs), DataSettings(threads=threads, model=model, max_train=max_train)
            train_architecture(space, arch, dataset, recipe, data, epochs=1)  # warm-up: data load, allocator
            t0 = time.perf_counter()
            train_architecture(space, arch, dataset, recipe, data)
            results[threads] = (time.perf_counter() - t0) / epochs
        base = results[1]
        for threads, sec in results.items():
            print(f"{dataset:<8} threads={threads:<3} {sec:7.3f} s/epoch  ({base / sec:.2f}x the speed of 1 thread)")


if __name__ == "__main__":
    main()
