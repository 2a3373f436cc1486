"""Measured latency on this CPU: reproducibility, and the per-op look-up table's accuracy.

NB201 networks as the benchmark builds them (C=16, N=5, 32x32 input, 10 classes), batch 1, one
torch thread, ``torch.inference_mode``. Run it alone (``flock /tmp/nasforge-cpu.lock ...``): other
processes on the CPU change the numbers.

1. Reproducibility: the all-``nor_conv_3x3`` cell and the all-``skip_connect`` cell are measured in
   ``--sessions`` interleaved sessions (each: warm-up, then the median of ``--repeats`` timed repeats).
   Reported: each session's median, the within-session spread (IQR / median) and the spread of the
   session medians ((max - min) / median).
2. Look-up table: ``--archs`` random cells are measured the same way and predicted by
   :class:`nasforge.hardware.LatencyLUT` (sum of per-op entries, timed once per device and cached).
   Reported: Spearman rank correlation and mean absolute percentage error (MAPE) against the
   measured medians, and the same rank correlation for FLOPs and for NB201's ``pixel3`` column.

    python benchmarks/latency.py [--sessions 5] [--archs 30] [--repeats 11] [--cache-dir DIR]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nasforge.hardware import LatencyLUT, count_flops, device_fingerprint, measure_latency
from nasforge.spaces import get_space

ALL_CONV = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
ALL_SKIP = "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|"
SHAPE = (3, 32, 32)


def main() -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=5)
    ap.add_argument("--archs", type=int, default=30)
    ap.add_argument("--repeats", type=int, default=11)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cache-dir", help="LUT cache folder (default: the user cache, e.g. ~/.cache/nasforge)")
    args = ap.parse_args()
    import torch
    from scipy.stats import spearmanr

    torch.set_num_threads(1)
    print(f"command: python benchmarks/latency.py {' '.join(sys.argv[1:])}")
    print(f"machine: {platform.platform()}; {device_fingerprint()}; batch 1, 1 thread")
    space = get_space("nb201")
    nets = {"all nor_conv_3x3": space.build(space.parse(ALL_CONV)), "all skip_connect": space.build(space.parse(ALL_SKIP))}
    sessions: dict[str, list[Any]] = {k: [] for k in nets}
    for _ in range(args.sessions):
        for name, net in nets.items():
            sessions[name].append(measure_latency(net, SHAPE, threads=1, repeats=args.repeats))
    print("\n1. reproducibility (ms per image)")
    summary: dict[str, Any] = {}
    for name, stats in sessions.items():
        meds = [s.median_ms for s in stats]
        within = statistics.fmean(s.rel_spread for s in stats)
        across = (max(meds) - min(meds)) / statistics.median(meds)
        summary[name] = {"medians": meds, "within_iqr_rel": within, "across_range_rel": across}
        print(f"  {name:<18} session medians {', '.join(f'{m:.2f}' for m in meds)}; "
              f"within-session IQR/median {100 * within:.1f} %; session range/median {100 * across:.1f} %")
    ratio = [a.median_ms / b.median_ms for a, b in zip(sessions["all nor_conv_3x3"], sessions["all skip_connect"])]
    print(f"  slow/fast ratio per session: {', '.join(f'{r:.2f}' for r in ratio)} (slower measured slower in "
          f"{sum(r > 1 for r in ratio)}/{len(ratio)} sessions)")

    lut = LatencyLUT(threads=1, cache_dir=args.cache_dir)
    cached = len(lut)
    rng = np.random.default_rng(args.seed)
    archs = [space.sample(rng) for _ in range(args.archs)]
    from nasforge.evaluators.tabular import TabularBenchmark

    bench = TabularBenchmark(space, extra=["pixel3"])
    measured, predicted, flops, pixel3 = [], [], [], []
    t0 = time.perf_counter()
    for a in archs:
        net = space.build(a)
        predicted.append(lut.predict(net, SHAPE))
        measured.append(measure_latency(net, SHAPE, threads=1, repeats=args.repeats).median_ms)
        flops.append(count_flops(net, SHAPE))
        pixel3.append(float(bench.evaluate(a).metrics["pixel3"]))
    secs = time.perf_counter() - t0
    m, p = np.array(measured), np.array(predicted)
    rho = spearmanr(m, p).statistic
    mape = float(np.mean(np.abs(p - m) / m))
    rho_flops = spearmanr(m, flops).statistic
    rho_pixel3 = spearmanr(m, pixel3).statistic
    print(f"\n2. look-up table predictor on {args.archs} random cells ({lut.path}; {cached} entries were cached, "
          f"{lut.n_measured} timed now, {len(lut)} in all; {secs:.1f} s)")
    print(f"  measured latency: median {np.median(m):.2f} ms, range {m.min():.2f}-{m.max():.2f} ms")
    print(f"  LUT vs measured: Spearman {rho:.3f}, MAPE {100 * mape:.1f} %, mean predicted/measured "
          f"{np.mean(p / m):.2f}")
    print(f"  for comparison, Spearman of measured latency with FLOPs {rho_flops:.3f}, with NB201 pixel3 "
          f"{rho_pixel3:.3f}")
    return {"sessions": summary, "ratio": ratio, "spearman": rho, "mape": mape, "rho_flops": rho_flops,
            "rho_pixel3": rho_pixel3}


if __name__ == "__main__":
    main()
