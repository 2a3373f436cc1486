"""The training recipe: how one network is trained, in one frozen record.

Every trainer in nasforge (the training evaluator, the estimators and their cross-validation,
``nasforge train``, the export's retraining and the demo) trains with a :class:`Recipe` through
:func:`nasforge.training.train`. Settings stored in an experiment's spec are a flat dict: the
recipe's fields next to the data settings (validation share, training subset, model width, threads,
seed); :func:`split_settings` tells them apart and rejects unknown keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from nasforge.errors import InvalidConfigError, UnknownNameError
from nasforge.registry import unknown_name_message

__all__ = ["AUGMENTATIONS", "DATA_SETTINGS", "HPARAM_PREFIX", "OPTIMIZERS", "PRECISIONS", "Recipe", "SCHEDULES",
           "recipe_for", "split_settings"]

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("cosine", "constant", "onecycle")
PRECISIONS = ("32", "bf16", "16-mixed")
AUGMENTATIONS = (None, "shift", "shift+flip")
#: settings that are not part of the recipe: how the data is split and the network sized
DATA_SETTINGS = ("val_fraction", "max_train", "model", "threads", "seed", "target")
#: architecture labels under this prefix are training hyperparameters (joint search), e.g. ``train.lr``
HPARAM_PREFIX = "train."


@dataclass(frozen=True)
class Recipe:
    """How one network is trained. The defaults suit small images on a CPU.

    Args:
        epochs: at most this many passes over the training data (a time limit may end training
            sooner). None: no cap, a time limit alone decides (``train`` then needs ``seconds``).
        batch_size: minibatch size.
        lr: peak learning rate.
        optimizer: ``sgd`` (Nesterov momentum 0.9, L2 weight decay), ``adam`` or ``adamw``.
        schedule: ``cosine`` (after a linear warm-up over ``warmup`` of the steps, a cosine to 0 at
            the last planned step, re-planned to end with a time limit), ``constant`` or ``onecycle``.
        weight_decay: L2 (SGD, Adam) or decoupled (AdamW) weight decay.
        label_smoothing: cross-entropy label smoothing.
        augment: ``None``, ``"shift"`` (random per-sample shifts of up to 2 pixels, zero padded) or
            ``"shift+flip"`` (also horizontal flips, for natural images); ``True`` means ``"shift"``.
            Inputs that are not images are never augmented.
        patience: with validation data, stop after this many epochs without a lower validation
            loss and keep the best epoch's weights (None: never stop early).
        warmup: share of the planned steps spent warming the learning rate up (``cosine``).
        drop_last: skip the ragged last batch of each epoch (batch norm dislikes tiny batches);
            otherwise it is trained on when it holds at least 2 samples.
        channels_last: train image networks in the channels-last memory layout (faster oneDNN CPU
            kernels, ``benchmarks/layout.py``); the network is handed back in the default layout.
        val_every_epoch: score the validation data after every epoch (the learning curve); it is
            always scored after the last epoch and, with ``patience``, after each one.
        precision: ``32``, ``bf16`` (autocast to bfloat16, CPU or GPU) or ``16-mixed`` (autocast to
            float16 with a gradient scaler).
        device: ``auto`` (CUDA, then MPS, then the CPU), ``cpu``, ``cuda``, ``cuda:N`` or ``mps``.

    Example:
        >>> Recipe(epochs=3, augment="shift").optimizer
        'sgd'
    """

    epochs: int | None = 5
    batch_size: int = 64
    lr: float = 0.05
    optimizer: str = "sgd"
    schedule: str = "cosine"
    weight_decay: float = 5e-4
    label_smoothing: float = 0.0
    augment: str | None = None
    patience: int | None = None
    warmup: float = 0.0
    drop_last: bool = False
    channels_last: bool = True
    val_every_epoch: bool = True
    precision: str = "32"
    device: str = "auto"

    def __post_init__(self) -> None:
        if self.augment is True:
            object.__setattr__(self, "augment", "shift")
        elif self.augment is False:
            object.__setattr__(self, "augment", None)
        object.__setattr__(self, "precision", str(self.precision))
        if (self.epochs is not None and int(self.epochs) < 1) or int(self.batch_size) < 1 or not float(self.lr) > 0:
            raise InvalidConfigError(f"epochs None or >= 1, batch_size >= 1 and lr > 0 must hold, but got (epochs="
                                     f"{self.epochs}, batch_size={self.batch_size}, lr={self.lr})")
        if not float(self.weight_decay) >= 0 or not 0.0 <= float(self.label_smoothing) < 1.0:
            raise InvalidConfigError(f"weight_decay >= 0 and 0 <= label_smoothing < 1 must hold, but got "
                                     f"(weight_decay={self.weight_decay}, label_smoothing={self.label_smoothing})")
        if self.optimizer not in OPTIMIZERS:
            raise UnknownNameError(unknown_name_message("optimizer", str(self.optimizer), list(OPTIMIZERS)))
        if self.schedule not in SCHEDULES:
            raise UnknownNameError(unknown_name_message("schedule", str(self.schedule), list(SCHEDULES)))
        if self.precision not in PRECISIONS:
            raise UnknownNameError(unknown_name_message("precision", self.precision, list(PRECISIONS)))
        if self.augment not in AUGMENTATIONS:
            raise InvalidConfigError(f"augment must be None, 'shift' or 'shift+flip', but got {self.augment!r}")
        if self.patience is not None and int(self.patience) < 1:
            raise InvalidConfigError(f"patience must be None or >= 1, but got {self.patience}")
        if not 0.0 <= float(self.warmup) < 1.0:
            raise InvalidConfigError(f"0 <= warmup < 1 must hold, but got warmup={self.warmup}")
        from nasforge.training.device import check_device_name

        check_device_name(self.device)

    def replace(self, **changes: Any) -> Recipe:
        """A copy with ``changes`` applied (validated like the constructor)."""
        unknown = sorted(set(changes) - set(recipe_fields()))
        if unknown:
            raise UnknownNameError(unknown_name_message("recipe setting", unknown[0], recipe_fields()))
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The recipe as a JSON-ready dict."""
        return asdict(self)


def recipe_fields() -> list[str]:
    """The names of :class:`Recipe`'s fields."""
    return [f.name for f in fields(Recipe)]


def split_settings(settings: Mapping[str, Any], base: Recipe | None = None) -> tuple[Recipe, dict[str, Any]]:
    """Split a flat settings dict into a :class:`Recipe` (over ``base``) and the data settings.

    Args:
        settings: recipe fields and :data:`DATA_SETTINGS` keys, e.g. ``{"epochs": 3, "max_train": 500}``.
        base: the recipe whose fields are overridden (default: ``Recipe()``).

    Raises:
        InvalidConfigError: for a key that is neither (the message lists the valid keys).

    Example:
        >>> recipe, data = split_settings({"lr": 0.1, "max_train": 100})
        >>> recipe.lr, data
        (0.1, {'max_train': 100})
    """
    known = recipe_fields()
    unknown = sorted(k for k in settings if k not in known and k not in DATA_SETTINGS)
    if unknown:
        raise InvalidConfigError(f"unknown training setting(s) {unknown}; valid: {', '.join(known + list(DATA_SETTINGS))}")
    recipe = replace(base or Recipe(), **{k: v for k, v in settings.items() if k in known})
    return recipe, {k: v for k, v in settings.items() if k in DATA_SETTINGS}


def recipe_for(recipe: Recipe, arch: Mapping[str, Any]) -> Recipe:
    """``recipe`` with the training hyperparameters an architecture of a joint space chose.

    Labels ``train.<field>`` (see :func:`nasforge.spaces.dsl.hparam`) set the recipe field
    ``<field>``; an architecture without such labels leaves the recipe as it is.

    Raises:
        UnknownNameError: when a ``train.`` label names no recipe field.

    Example:
        >>> recipe_for(Recipe(), {"cell": "conv", "train.lr": 0.01}).lr
        0.01
    """
    chosen = {k[len(HPARAM_PREFIX):]: v for k, v in arch.items() if k.startswith(HPARAM_PREFIX)}
    if not chosen:
        return recipe
    return recipe.replace(**chosen)
