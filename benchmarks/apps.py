"""TextClassifier / AudioClassifier against hand-designed baselines under the same wall-clock budget (issue 18).

For each task and seed, in one process and one after the other (same machine, same torch threads):

- ``sst2``, ``trec``: ``TextClassifier(time_budget_s=B)`` against Kim's CNN-rand (2014): embeddings 128
  initialised U[-0.25, 0.25], kernels 3/4/5 x 100 filters, ReLU, max-over-time pooling, dropout 0.5, a
  zero vector for unknown words (and padding), max-norm 3 on the output weights' rows, Adadelta
  (rho 0.95), batch 50, early stopping on the validation part (patience 3 epochs, the best epoch's
  weights kept), at most 25 epochs and at most B seconds;
- ``fsdd``: ``AudioClassifier(time_budget_s=B)`` against a small CNN on log-mel features (40 bands,
  three 3x3 conv-BN-ReLU-maxpool blocks of 16/32/64 channels, mean pooling, dropout 0.2), AdamW 3e-3
  with a cosine schedule, batch 64, early stopping on the validation part (patience 5), at most 40
  epochs and at most B seconds.

Two modes keep test data out of every choice:

- ``--split val`` (for choosing defaults): everything trains on the training part and is scored on
  the validation part (SST-2's dev set, TREC's and FSDD's fixed validation parts); the baselines
  early-stop on a further 10% carved from the training part.
- ``--split test`` (report once): the estimators get training + validation parts (they split off
  their own validation set), the baselines train on the training part and early-stop on the
  validation part; all are scored on the test part.

The paired test is over seeds (same seed, same data, both methods): the mean difference, a paired
t-test (two-sided) and how many seeds each method won.

Run under the shared CPU lock, e.g.::

    flock /tmp/nasforge-cpu.lock .venv/bin/python benchmarks/apps.py --split test --budget 600 --seeds 0,1,2
    .venv/bin/python benchmarks/apps.py --budget 20 --seeds 0 --limit 600   # a smoke test, not a result
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1]))

from nasforge.data import load_dataset  # noqa: E402


# ------------------------------------------------------------------ hand-designed baselines
def kim_cnn_rand(vocab_size: int, num_classes: int) -> Any:
    """Kim (2014) CNN-rand with embeddings of 128: kernels 3/4/5 x 100, max-over-time, dropout 0.5."""
    import torch
    from torch import nn

    class KimCNN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(vocab_size, 128)
            nn.init.uniform_(self.embed.weight, -0.25, 0.25)
            self.convs = nn.ModuleList(nn.Conv1d(128, 100, k) for k in (3, 4, 5))
            self.drop = nn.Dropout(0.5)
            self.out = nn.Linear(300, num_classes)

        def forward(self, ids: torch.Tensor) -> torch.Tensor:
            ids = ids.long()
            known = (ids > 1).unsqueeze(-1).float()  # <pad> = 0 and <unk> = 1 embed to the zero vector
            h = (self.embed(ids) * known).transpose(1, 2)
            h = torch.nn.functional.pad(h, (4, 4))  # Kim pads every sentence with k-1 zero vectors
            pooled = [torch.relu(c(h)).amax(dim=2) for c in self.convs]
            return self.out(self.drop(torch.cat(pooled, dim=1)))

        def max_norm(self, limit: float = 3.0) -> None:
            with torch.no_grad():
                norms = self.out.weight.norm(dim=1, keepdim=True)
                self.out.weight.mul_(torch.clamp(limit / norms, max=1.0))

    return KimCNN()


def logmel_cnn(sample_rate: int, num_classes: int) -> Any:
    """A small CNN on 40 log-mel bands: 3 x (conv3x3-BN-ReLU-maxpool2) of 16/32/64, mean pool, dropout 0.2."""
    from torch import nn

    from nasforge.spaces.audio_frontend import AudioFrontEnd

    class LogMelCNN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.front = AudioFrontEnd(sample_rate, "logmel", 40)
            layers: list[nn.Module] = []
            c = 1
            for w in (16, 32, 64):
                layers += [nn.Conv2d(c, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(),
                           nn.MaxPool2d(2, ceil_mode=True)]
                c = w
            self.body = nn.Sequential(*layers)
            self.head = nn.Sequential(nn.Dropout(0.2), nn.Linear(64, num_classes))

        def forward(self, wave: Any) -> Any:
            return self.head(self.body(self.front(wave).unsqueeze(1)).mean(dim=(2, 3)))

    return LogMelCNN()


def _accuracy(model: Any, x: Any, y: Any) -> float:
    import torch

    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(x[i:i + 512]).argmax(1) for i in range(0, len(x), 512)])
    return 100.0 * float((pred == y).float().mean())


def train_baseline(model: Any, x: Any, y: Any, x_val: Any, y_val: Any, *, optimizer: str, batch: int, epochs: int,
                   patience: int, seconds: float, seed: int, max_norm: bool = False) -> dict[str, Any]:
    """Train with early stopping on validation accuracy within ``seconds``; keeps the best epoch's weights."""
    import copy

    import torch
    import torch.nn.functional as F

    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    if optimizer == "adadelta":
        opt: Any = torch.optim.Adadelta(model.parameters(), lr=1.0, rho=0.95, eps=1e-6)
        sched = None
    else:
        opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=5e-4)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs * max(1, len(x) // batch))
    t0 = time.perf_counter()
    best, best_state, since, done = -1.0, None, 0, 0
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x) - batch + 1, batch):
            idx = perm[i:i + batch]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()
            if max_norm:
                model.max_norm()
            if time.perf_counter() - t0 > seconds:
                break
        done += 1
        acc = _accuracy(model, x_val, y_val)
        if acc > best:
            best, best_state, since = acc, copy.deepcopy(model.state_dict()), 0
        else:
            since += 1
        if since >= patience or time.perf_counter() - t0 > seconds:
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    return {"epochs": done, "seconds": time.perf_counter() - t0, "val_acc": best}


# ------------------------------------------------------------------ one task
def _parts(ds: Any, split: str, limit: int | None, seed: int) -> dict[str, Any]:
    """Training / early-stopping / scoring parts for the chosen split (see the module docstring)."""
    from nasforge.data.datasets import _stratified_split

    if split == "val":
        x, y = list(ds.x_train), np.array(ds.y_train)
        x_eval, y_eval = list(ds.x_val), np.array(ds.y_val)
        tr, va = _stratified_split(y, 0.1, 12345)
        base = ([x[i] for i in tr], y[tr], [x[i] for i in va], y[va])
        est = (x, y)
    else:
        base = (list(ds.x_train), np.array(ds.y_train), list(ds.x_val), np.array(ds.y_val))
        est = (list(ds.x_all), np.array(ds.y_all))
        x_eval, y_eval = list(ds.x_test), np.array(ds.y_test)
    if limit is not None:  # smoke tests only: a stratified subset of the training data
        keep = np.sort(np.random.default_rng(seed).permutation(len(est[0]))[:limit])
        est = ([est[0][i] for i in keep], est[1][keep])
        keep_b = np.sort(np.random.default_rng(seed).permutation(len(base[0]))[:limit])
        base = ([base[0][i] for i in keep_b], base[1][keep_b], base[2], base[3])
    return {"est": est, "base": base, "eval": (x_eval, y_eval)}


def run_text(ds: Any, parts: dict[str, Any], budget: float, seed: int, threads: int) -> dict[str, Any]:
    import torch

    from nasforge.data.text import Vocabulary
    from nasforge.estimators import TextClassifier

    x_b, y_b, xv_b, yv_b = parts["base"]
    x_eval, y_eval = parts["eval"]
    vocab = Vocabulary.build(x_b)
    max_len = max(len(vocab.ids(t)) for t in x_b)

    def ids(texts: Sequence[str]) -> Any:
        return torch.from_numpy(vocab.encode(list(texts), max_len))

    torch.manual_seed(seed)
    model = kim_cnn_rand(len(vocab), ds.num_classes)
    info = train_baseline(model, ids(x_b), torch.from_numpy(y_b), ids(xv_b), torch.from_numpy(yv_b),
                          optimizer="adadelta", batch=50, epochs=25, patience=3, seconds=budget, seed=seed,
                          max_norm=True)
    base_acc = _accuracy(model, ids(x_eval), torch.from_numpy(y_eval))
    t0 = time.perf_counter()
    clf = TextClassifier(time_budget_s=budget, seed=seed, threads=threads).fit(*parts["est"])
    est_seconds = time.perf_counter() - t0
    est_acc = 100.0 * clf.score(x_eval, y_eval)
    return {"baseline": base_acc, "baseline_s": info["seconds"], "baseline_epochs": info["epochs"],
            "nasforge": est_acc, "nasforge_s": est_seconds, "trials": len(clf.history_),
            "arch": clf.best_arch_string_}


def run_audio(ds: Any, parts: dict[str, Any], budget: float, seed: int, threads: int) -> dict[str, Any]:
    import torch

    from nasforge.data.audio import fix_length
    from nasforge.estimators import AudioClassifier

    x_b, y_b, xv_b, yv_b = parts["base"]
    x_eval, y_eval = parts["eval"]
    n = int(np.ceil(np.percentile([len(w) for w in x_b], 95) / 80) * 80)

    def waves(xs: Sequence[np.ndarray]) -> Any:
        return torch.from_numpy(np.stack([fix_length(w, n) for w in xs]))

    torch.manual_seed(seed)
    model = logmel_cnn(ds.sample_rate, ds.num_classes)
    info = train_baseline(model, waves(x_b), torch.from_numpy(y_b), waves(xv_b), torch.from_numpy(yv_b),
                          optimizer="adamw", batch=64, epochs=40, patience=5, seconds=budget, seed=seed)
    base_acc = _accuracy(model, waves(x_eval), torch.from_numpy(y_eval))
    t0 = time.perf_counter()
    clf = AudioClassifier(time_budget_s=budget, seed=seed, threads=threads, sample_rate=ds.sample_rate)
    clf.fit(*parts["est"])
    est_seconds = time.perf_counter() - t0
    est_acc = 100.0 * clf.score(x_eval, y_eval)
    return {"baseline": base_acc, "baseline_s": info["seconds"], "baseline_epochs": info["epochs"],
            "nasforge": est_acc, "nasforge_s": est_seconds, "trials": len(clf.history_),
            "arch": clf.best_arch_string_}


def paired(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean difference (nasforge - baseline), paired two-sided t-test over seeds, wins."""
    from scipy import stats

    a = np.array([r["nasforge"] for r in rows])
    b = np.array([r["baseline"] for r in rows])
    d = a - b
    p = float(stats.ttest_rel(a, b).pvalue) if len(rows) > 1 and np.std(d) > 0 else math.nan
    return {"mean_nasforge": float(a.mean()), "mean_baseline": float(b.mean()), "mean_diff": float(d.mean()),
            "p_value": p, "wins": int((d > 0).sum()), "losses": int((d < 0).sum()), "ties": int((d == 0).sum())}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default="sst2,trec,fsdd")
    parser.add_argument("--split", choices=["val", "test"], default="val")
    parser.add_argument("--budget", type=float, default=600.0, help="seconds per method and seed")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--threads", type=int, default=1, help="torch threads for every method")
    parser.add_argument("--limit", type=int, help="train on at most this many samples (smoke tests only)")
    parser.add_argument("--data-root", help="the data root (default: $NASFORGE_DATA)")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    seeds = [int(s) for s in args.seeds.split(",")]
    print(f"# apps benchmark: split={args.split} budget={args.budget:.0f}s seeds={seeds} threads={args.threads} "
          f"limit={args.limit} torch {torch.__version__} {platform.machine()}" +
          ("  [SMOKE: subset of the training data, not a result]" if args.limit else ""))
    results: dict[str, Any] = {"args": vars(args), "tasks": {}}
    for task in args.tasks.split(","):
        ds = load_dataset(task, root=args.data_root)
        rows = []
        for seed in seeds:
            parts = _parts(ds, args.split, args.limit, seed)
            run = run_text if ds.kind == "text" else run_audio
            row = {"seed": seed, **run(ds, parts, args.budget, seed, args.threads)}
            rows.append(row)
            print(f"{task:5s} seed {seed}: baseline {row['baseline']:.2f}% ({row['baseline_s']:.0f}s, "
                  f"{row['baseline_epochs']} ep)  nasforge {row['nasforge']:.2f}% ({row['nasforge_s']:.0f}s, "
                  f"{row['trials']} trials)  best {row['arch']}", flush=True)
        summary = paired(rows)
        results["tasks"][task] = {"rows": rows, "paired": summary, "eval_samples": len(parts["eval"][1])}
        print(f"{task:5s} mean: baseline {summary['mean_baseline']:.2f}  nasforge {summary['mean_nasforge']:.2f}  "
              f"diff {summary['mean_diff']:+.2f}  paired t-test p={summary['p_value']:.3g}  "
              f"wins/losses/ties {summary['wins']}/{summary['losses']}/{summary['ties']}", flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
