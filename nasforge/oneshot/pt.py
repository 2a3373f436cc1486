"""DARTS with perturbation-based architecture selection ("DARTS-PT"; Wang, Cheng, Chen, Tang & Hsieh,
"Rethinking Architecture Selection in Differentiable NAS", ICLR 2021).

The supernet is the DARTS supernet (by default trained with uniform, fixed alphas; see below);
what changes is the *selection*. Instead of
reading the magnitude of alpha (which on NB201 grows for skip connections and pooling because they
make the supernet easy to optimise, not because the discrete cell is good), each edge, in random
order, keeps the operation whose removal from the trained supernet costs the most validation
accuracy; the edge is then fixed to that operation and the supernet weights are fine-tuned for a
few steps before the next edge is decided. In the DARTS space the two inputs of each node are then
chosen the same way (the two incoming edges whose removal hurts most).

Why this variant: it addresses the cause of DARTS' collapse in the NB201 paper (alpha magnitude is
a poor proxy for an operation's contribution) and it works on the DARTS supernet we already train,
at the cost of a few dozen validation passes.

Defaults follow the paper's code: ``fix_alpha`` trains the supernet with the architecture weights
fixed at uniform (the paper's "DARTS+PT (fix alpha)", its ``blank`` supernet), which needs no
validation forward/backward per step, so the same CPU buys twice the weight steps -- and it is the
quality of the shared weights that decides what the perturbation measures. After each edge is
fixed, the weights are fine-tuned with a fresh SGD at a tenth of the search learning rate (the
paper resets the optimizer to ``lr / 10``) for ``tune_steps`` minibatches (20: about 5% of the
supernet training per edge, the paper's 5 tuning epochs per edge after 100 search epochs).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from nasforge.arch import Architecture
from nasforge.oneshot.base import Data, OneShotConfig, Progress, _batches
from nasforge.oneshot.darts import DARTS
from nasforge.spaces.base import SearchSpace
from nasforge.spaces.darts import DARTS_NODES, DartsSpace, darts_edges
from nasforge.spaces.nb201 import NB201_OPERATIONS

__all__ = ["DARTSPT"]


class DARTSPT(DARTS):
    """First-order DARTS supernet, then perturbation-based selection edge by edge.

    Hyperparameters: ``fix_alpha`` (True: the supernet is trained with uniform architecture weights
    and weight steps only; False: first-order DARTS after ``warmup_epochs``), ``tune_steps`` (weight
    steps on the training split after each edge is fixed, 20), ``tune_lr_ratio`` (fine-tuning
    learning rate as a share of ``w_lr``, 0.1), ``warmup_epochs`` (0; only with ``fix_alpha=False``).

    Example:
        >>> from nasforge.spaces import get_space
        >>> DARTSPT(get_space("nb201")).hparams["tune_steps"]
        20
    """

    name = "darts-pt"

    def __init__(self, space: SearchSpace, config: OneShotConfig | None = None, *,
                 checkpoint_dir: str | os.PathLike[str] | None = None, progress: Progress | None = None,
                 fix_alpha: bool = True, tune_steps: int = 20, tune_lr_ratio: float = 0.1,
                 warmup_epochs: int | float | None = 0) -> None:
        super().__init__(space, config, checkpoint_dir=checkpoint_dir, progress=progress, warmup_epochs=warmup_epochs)
        self.fix_alpha = fix_alpha
        self.tune_steps = tune_steps
        self.tune_lr_ratio = tune_lr_ratio

    def _warmup(self, epochs: int) -> int:
        # fix alpha: every epoch is a weights-only epoch on the uniform mixture.
        return epochs if self.hparams["fix_alpha"] else super()._warmup(epochs)

    def _mode(self, epoch: int, epochs: int, gen: torch.Generator) -> None:
        net = self.net
        assert net is not None
        if not self.hparams["fix_alpha"]:
            net.use_softmax()
            return
        # Exactly uniform mixing weights (the alphas' 1e-3 random start is not used at all).
        net.use_weights({t: torch.full((net.n_edges, len(net.op_names)), 1.0 / len(net.op_names))
                         for t in net.cell_types})

    def _accuracy(self, weights: dict[str, torch.Tensor], xv: torch.Tensor, yv: torch.Tensor) -> tuple[float, float]:
        net = self.net
        assert net is not None
        net.use_weights(weights)
        net.eval()
        correct, loss = 0, 0.0
        with torch.no_grad():
            for i in range(0, len(xv), 250):
                out = net(xv[i:i + 250])
                correct += int((out.argmax(1) == yv[i:i + 250]).sum())
                loss += float(F.cross_entropy(out, yv[i:i + 250], reduction="sum"))
        net.train()
        return 100.0 * correct / len(xv), loss / len(xv)

    def _tune(self, weights: dict[str, torch.Tensor], train: Data, gen: torch.Generator) -> None:
        steps = int(self.hparams["tune_steps"])
        if steps <= 0:
            return
        assert self.net is not None
        self.net.use_weights(weights)
        for idx in _batches(len(train[0]), self.config.batch_size, gen, steps):
            self._weight_step(self.tune_opt, train[0][idx], train[1][idx])

    def _drop(self, weights: dict[str, torch.Tensor], base: tuple[float, float], xv: torch.Tensor,
              yv: torch.Tensor, t: str, rows: list[int], cols: list[int] | None) -> tuple[float, float]:
        """Accuracy drop and loss rise when zeroing ``weights[t][rows, cols]`` (whole rows if cols is None)."""
        trial = {k: v.clone() for k, v in weights.items()}
        for r in rows:
            if cols is None:
                trial[t][r] = 0.0
            else:
                trial[t][r, cols] = 0.0
        acc, loss = self._accuracy(trial, xv, yv)
        return base[0] - acc, loss - base[1]

    def _result(self, train: Data, val: Data, rng: np.random.Generator) -> Architecture:
        net = self.net
        assert net is not None
        gen = torch.Generator().manual_seed(int(rng.integers(2**31)))
        xv, yv = val[0][: self.config.eval_samples], val[1][: self.config.eval_samples]
        weights = {t: net.alphas[t].detach().softmax(-1).clone() for t in net.cell_types}
        if self.hparams["fix_alpha"]:
            weights = {t: torch.full_like(w, 1.0 / w.shape[1]) for t, w in weights.items()}
        c = self.config
        # A fresh optimizer at lr / 10 for the fine-tuning between decisions, as in the paper's code.
        self.tune_opt = torch.optim.SGD(net.weights(), lr=c.w_lr * float(self.hparams["tune_lr_ratio"]),
                                        momentum=c.w_momentum, weight_decay=c.w_wd)
        none = net.op_names.index("none")
        is_darts = isinstance(self.space, DartsSpace)
        order = [(t, e) for t in net.cell_types for e in range(net.n_edges)]
        self.selection_: list[dict[str, Any]] = []
        for k in rng.permutation(len(order)):
            t, e = order[int(k)]
            base = self._accuracy(weights, xv, yv)
            # In the DARTS space 'none' is left to the topology step, as in the paper.
            cands = [o for o in range(len(net.op_names)) if not (is_darts and o == none)]
            drops = {o: self._drop(weights, base, xv, yv, t, [e], [o]) for o in cands}
            best = max(cands, key=lambda o: (drops[o], float(weights[t][e, o])))
            weights[t][e] = 0.0
            weights[t][e, best] = 1.0
            self.selection_.append({"cell": t, "edge": int(e), "op": net.op_names[best],
                                    "acc_drop": {net.op_names[o]: round(d[0], 2) for o, d in drops.items()}})
            self._tune(weights, train, gen)
        if not is_darts:
            ops = weights["normal"].argmax(-1).tolist()
            labels = [f"{j}<-{i}" for j, i in ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))]
            return self.space.validate({lab: NB201_OPERATIONS[o] for lab, o in zip(labels, ops)})
        edges = darts_edges()
        genotype: dict[str, list[list[tuple[str, int]]]] = {}
        for t in net.cell_types:
            nodes = []
            for k_node in DARTS_NODES:
                rows = [e for e, (kk, _) in enumerate(edges) if kk == k_node]
                base = self._accuracy(weights, xv, yv)
                drops = {e: self._drop(weights, base, xv, yv, t, [e], None) for e in rows}
                keep = sorted(rows, key=lambda e: (drops[e], -edges[e][1]), reverse=True)[:2]
                for e in rows:
                    if e not in keep:
                        weights[t][e] = 0.0
                nodes.append([(net.op_names[int(weights[t][e].argmax())], edges[e][1]) for e in keep])
            genotype[t] = nodes
        return self.space.from_genotype(genotype)
