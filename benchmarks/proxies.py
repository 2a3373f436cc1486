"""Spearman correlation of zero-cost proxies with NB201 CIFAR-10 validation accuracy.

Scores ``--n`` NB201 architectures (a seeded uniform sample, connected or not) with nasforge's
zero-cost proxies, computed on real untrained NB201 networks (``--channels``/``--cells``) and one
real minibatch of ``--dataset`` images, and prints each proxy's Spearman rank correlation with
``c10_valid_acc_200`` next to that of the precomputed ``naswot_score`` column of the packaged
NB201 table (NASWOT v1 on CIFAR-10 with full-size networks), over the same
architectures and over all of them. Nothing is written to the repository.

Run (under the shared CPU lock; about 5 minutes on one core):
    flock /tmp/nasforge-cpu.lock .venv/bin/python benchmarks/proxies.py --n 1000
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time

import numpy as np


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rho over pairs where both values are finite (average ranks for ties)."""
    from scipy.stats import spearmanr

    ok = np.isfinite(a) & np.isfinite(b)
    return float(spearmanr(a[ok], b[ok]).statistic)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1000, help="architectures to score")
    ap.add_argument("--dataset", default="digits", help="minibatch source (digits, mnist, ...)")
    ap.add_argument("--channels", type=int, default=16)
    ap.add_argument("--cells", type=int, default=1, help="cells per stage")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", help="also write the numbers to this file (outside the repo)")
    args = ap.parse_args(argv)

    import torch

    from nasforge.evaluators.nb201_data import load_packaged_nb201
    from nasforge.proxies import ZeroCostEvaluator
    from nasforge.spaces import get_space

    torch.set_num_threads(1)
    space = get_space("nb201")
    merged = load_packaged_nb201()
    rng = np.random.default_rng(args.seed)
    rows = rng.choice(len(merged), size=min(args.n, len(merged)), replace=False)
    ev = ZeroCostEvaluator(space, args.dataset, batch_size=args.batch_size, seed=args.seed,
                           build={"channels": args.channels, "cells_per_stage": args.cells})
    scores: dict[str, list[float]] = {p: [] for p in ev.proxies}
    t0 = time.perf_counter()
    for k, r in enumerate(rows):
        s = ev.scores(space.parse(merged.arch_strs[r]))
        for p in ev.proxies:
            scores[p].append(s[p])
        if (k + 1) % 100 == 0:
            print(f"  {k + 1}/{len(rows)} scored, {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    seconds = time.perf_counter() - t0
    target = merged.column("c10_valid_acc_200")[rows]
    out: dict[str, object] = {
        "command": "benchmarks/proxies.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": f"{platform.machine()} {platform.processor() or ''} torch {torch.__version__}, 1 thread".strip(),
        "n": len(rows), "dataset": args.dataset, "network": f"NB201 C={args.channels} N={args.cells}",
        "batch_size": args.batch_size, "seconds": round(seconds, 1),
        "ms_per_arch": round(1000 * seconds / len(rows), 1), "spearman_c10_valid_acc_200": {},
    }
    rho = out["spearman_c10_valid_acc_200"]
    assert isinstance(rho, dict)
    for p in ev.proxies:
        rho[p] = round(spearman(np.asarray(scores[p], dtype=float), target), 3)
    col = merged.column("naswot_score")
    rho["naswot_score column (same archs)"] = round(spearman(col[rows], target), 3)
    rho["naswot_score column (all 15,625)"] = round(spearman(col, merged.column("c10_valid_acc_200")), 3)
    rho["params_M_c10 column (same archs)"] = round(spearman(merged.column("params_M_c10")[rows], target), 3)
    print(f"{out['n']} NB201 architectures, {out['network']}, one {args.dataset} minibatch of {args.batch_size}; "
          f"{out['seconds']} s ({out['ms_per_arch']} ms/arch, all proxies)")
    print(f"{'proxy':<36} Spearman with c10_valid_acc_200")
    for k, v in rho.items():
        print(f"{k:<36} {v:+.3f}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
