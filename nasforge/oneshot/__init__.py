"""One-shot (weight-sharing) NAS: supernets, DARTS 1st/2nd order, GDAS, ENAS and SPOS.

Every method follows one small protocol (see :mod:`nasforge.oneshot.base`):
``make_oneshot(name, space, config, checkpoint_dir=..., **hparams).search(train_data, val_data, budget)``
returns an :class:`~nasforge.arch.Architecture` of the space. Hyperparameters are the keyword
arguments of each method's constructor; supernets are registered per space in :data:`SUPERNETS`.
As experiments of the store, one-shot runs go through :func:`nasforge.api.search` (see
:mod:`nasforge.oneshot.experiment`).

Example:
    >>> ONESHOT.names()
    ['darts', 'darts-pt', 'darts2', 'enas', 'gdas', 'spos']
"""

from __future__ import annotations

import os
from typing import Any

from nasforge.oneshot.base import OneShotBudget, OneShotConfig, OneShotMethod, load_oneshot_data, peak_rss_mb
from nasforge.oneshot.darts import DARTS, DARTS2, GDAS, darts_unrolled_arch_grads
from nasforge.oneshot.enas import ENAS, Controller
from nasforge.oneshot.pt import DARTSPT
from nasforge.oneshot.spos import SPOS
from nasforge.oneshot.supernet import SUPERNETS, MixedOp, SuperNet, build_supernet
from nasforge.registry import Registry
from nasforge.spaces.base import SearchSpace

__all__ = [
           "DARTS",
           "DARTS2",
    "DARTSPT",
           "ENAS",
           "GDAS",
           "ONESHOT",
           "SPOS",
           "Controller",
           "MixedOp",
           "OneShotBudget",
           "OneShotConfig",
           "OneShotMethod",
           "SUPERNETS",
           "make_oneshot",
           "SuperNet",
           "build_supernet",
           "darts_unrolled_arch_grads",
           "load_oneshot_data",
           "peak_rss_mb",
]

ONESHOT: Registry[type[OneShotMethod]] = Registry("one-shot method")
ONESHOT.register("darts", "DARTS, first order: softmax mixed ops, bilevel alternating steps")(DARTS)
ONESHOT.register("darts2", "DARTS, second order: unrolled step, finite-difference Hessian-vector product")(DARTS2)
ONESHOT.register("darts-pt", "DARTS supernet + perturbation-based selection (collapse-resistant variant)")(DARTSPT)
ONESHOT.register("gdas", "GDAS: hard Gumbel-softmax single-op sampling (collapse-resistant DARTS variant)")(GDAS)
ONESHOT.register("enas", "ENAS: shared weights + LSTM REINFORCE controller")(ENAS)
ONESHOT.register("spos", "SPOS: uniform single-path supernet, evolution with BN recalibration")(SPOS)


def make_oneshot(name: str, space: SearchSpace, config: OneShotConfig | None = None, *,
                 checkpoint_dir: str | os.PathLike[str] | None = None, progress: Any = None,
                 **hparams: Any) -> OneShotMethod:
    """Build a registered one-shot method; an unknown name or hyperparameter is a clear error.

    Example:
        >>> from nasforge.spaces import get_space
        >>> make_oneshot("gdas", get_space("nb201"), tau_max=5.0).hparams["tau_max"]
        5.0
    """
    cls = ONESHOT.get(name)
    cls.check_hparams(hparams)
    return cls(space, config, checkpoint_dir=checkpoint_dir, progress=progress, **hparams)
