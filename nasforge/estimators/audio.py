"""``AudioClassifier``: give it waveforms and labels and a time budget, get the best audio network it finds.

Example:
    >>> clf = AudioClassifier(time_budget_s=120, sample_rate=8000)  # doctest: +SKIP
    >>> clf.fit(waves, digits).score(test_waves, test_digits)  # doctest: +SKIP
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from nasforge.arch import Architecture
from nasforge.errors import InvalidConfigError
from nasforge.estimators.base import NASClassifierBase

__all__ = ["AudioClassifier"]


class AudioClassifier(NASClassifierBase):
    """Neural architecture search for audio classification (spoken words, sounds), scikit-learn style.

    ``fit(waves, labels)`` takes 1-D float waveforms of any length at ``sample_rate`` Hz. They are
    resampled to ``model_rate`` (polyphase windowed sinc, :func:`nasforge.data.audio.resample`) and
    brought to one length, ``n_samples_`` (the ``duration_s`` given, else the 95th percentile of the
    training lengths): longer clips keep their centre, shorter ones are zero-padded on both sides
    (:func:`nasforge.data.audio.fix_length`). The networks (``audio`` space) compute log-mel or MFCC
    features themselves, so ``model_`` and the exported files take these raw waveforms. The search
    starts from a small log-mel CNN and climbs with a local search, every trial training for the
    same time (``trial_seconds``); the best is retrained on train+validation, continuing from its
    trial's weights.

    Args:
        max_trials, time_budget_s, strategy, seed, workers, threads, search_fraction,
            trial_seconds, val_fraction, storage: as for :class:`ImageClassifier`.
        sample_rate: Hz of the waveforms given to ``fit``/``predict``.
        model_rate: Hz the networks work at (None: ``sample_rate``). 8 kHz, the default, keeps the
            telephone band, which carries speech.
        duration_s: the fixed clip length in seconds (None: from the training clips).
        space: a registered space name (default ``audio``) or a space with the same build contract.
        device: ``auto`` (CUDA, then MPS, then CPU), ``cpu``, ``cuda``, ``cuda:N`` or ``mps``.
        precision: ``32``, ``bf16`` or ``16-mixed`` (autocast; a gradient scaler for float16).
        epochs, batch_size, lr: the training recipe (AdamW, warm-up then cosine to zero).

    Attributes:
        n_samples_: samples per clip the model takes; ``model_rate_`` their rate in Hz.
        best_arch_, model_, history_, classes_: as for :class:`ImageClassifier`.

    Example:
        >>> clf = AudioClassifier(max_trials=2, time_budget_s=None, epochs=5).fit(waves, y)  # doctest: +SKIP
    """

    _kind = "audio"

    def __init__(self, *, max_trials: int | None = None, time_budget_s: float | None = 600.0,
                 sample_rate: int = 8000, model_rate: int | None = 8000, duration_s: float | None = None,
                 space: Any = "audio", strategy: str = "local", seed: int = 0, device: str = "auto", precision: str = "32",
                 workers: int = 1, threads: int | None = None, epochs: int | None = None, batch_size: int = 64,
                 lr: float = 3e-3, search_fraction: float = 0.4, trial_seconds: float | None = None,
                 val_fraction: float = 0.1, storage: str | None = None) -> None:
        self.max_trials = max_trials
        self.time_budget_s = time_budget_s
        self.sample_rate = sample_rate
        self.model_rate = model_rate
        self.duration_s = duration_s
        self.space = space
        self.strategy = strategy
        self.seed = seed
        self.device = device
        self.precision = precision
        self.workers = workers
        self.threads = threads
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.search_fraction = search_fraction
        self.trial_seconds = trial_seconds
        self.val_fraction = val_fraction
        self.storage = storage

    # ------------------------------------------------------------------ inputs
    def _rates(self) -> tuple[int, int]:
        from nasforge.data.audio import check_rate

        rate = check_rate(self.sample_rate, "sample_rate")
        return rate, rate if self.model_rate is None else check_rate(self.model_rate, "model_rate")

    def _inputs(self, X: Any, y: Any) -> tuple[Any, np.ndarray]:
        if isinstance(X, (str, os.PathLike)):
            from nasforge.data import load_dataset

            ds = load_dataset(os.fspath(X))
            if getattr(ds, "kind", None) != "audio":
                raise InvalidConfigError(f"{X} is not a folder of wav files (<root>/<class>/*.wav)")
            if ds.sample_rate != self._rates()[0]:
                raise InvalidConfigError(f"the wav files in {X} are at {ds.sample_rate} Hz but sample_rate="
                                         f"{self.sample_rate}; set sample_rate={ds.sample_rate}")
        return super()._inputs(X, y)

    def _waves(self, X: Any) -> list[np.ndarray]:
        if hasattr(X, "detach"):
            X = X.detach().cpu().numpy()
        if isinstance(X, np.ndarray) and X.ndim == 1 and X.dtype != object:
            raise InvalidConfigError("X must be a list of waveforms (or an (N, L) array), but got one 1-D array; "
                                     "wrap it: [wave]")
        waves = []
        for i, w in enumerate(X):
            try:
                arr = np.asarray(w.detach().cpu().numpy() if hasattr(w, "detach") else w, dtype=np.float32)
            except (TypeError, ValueError) as exc:
                raise InvalidConfigError(f"waveform {i} is not numeric: {exc}") from None
            if arr.ndim != 1:
                raise InvalidConfigError(f"every waveform must be 1-D (mono samples), but item {i} has shape "
                                         f"{arr.shape}; average the channels first")
            if arr.size == 0:
                raise InvalidConfigError(f"waveform {i} is empty")
            if not np.isfinite(arr).all():
                bad = int(arr.size - np.count_nonzero(np.isfinite(arr)))
                raise InvalidConfigError(f"waveform {i} contains {bad} NaN or infinite sample(s); clean the audio")
            waves.append(arr)
        return waves

    def _prepare_x(self, X: Any, *, fitting: bool) -> np.ndarray:
        from nasforge.data.audio import fix_length, resample

        rate, model_rate = self._rates()
        waves = [resample(w, rate, model_rate) for w in self._waves(X)]
        if fitting:
            if not waves:
                raise InvalidConfigError("X is empty: fit needs waveforms")
            if self.duration_s is not None:
                if not (isinstance(self.duration_s, (int, float)) and self.duration_s > 0):
                    raise InvalidConfigError(f"duration_s must be a positive number or None, got {self.duration_s!r}")
                n = round(float(self.duration_s) * model_rate)
            else:
                n = int(np.ceil(np.percentile([len(w) for w in waves], 95)))
            hop = max(1, round(0.010 * model_rate))
            # at least 0.1 s, and a whole number of 10 ms hops
            self.n_samples_ = int(max(10 * hop, -(-n // hop) * hop))
            self.model_rate_ = model_rate
        if not waves:
            return np.zeros((0, self.n_samples_), np.float32)
        return np.stack([fix_length(w, self.n_samples_) for w in waves])

    def _fit_normalize(self, x_tr: np.ndarray) -> Any:
        from nasforge.training.data import Normalize

        # one scale for all samples (the front end normalises each clip anyway); a silent set stays unscaled
        std = float(x_tr.std()) if x_tr.size else 1.0
        return Normalize(np.full((1,), float(x_tr.mean()) if x_tr.size else 0.0, np.float32),
                         np.full((1,), std if std >= 1e-6 else 1.0, np.float32))

    # ------------------------------------------------------------------ search settings
    def _make_space(self, x: np.ndarray) -> Any:
        from nasforge.spaces import get_space
        from nasforge.spaces.base import SearchSpace

        return self.space if isinstance(self.space, SearchSpace) else get_space(str(self.space))

    def _model_kwargs(self, x: np.ndarray, n_classes: int, space: Any) -> dict[str, Any]:
        return {"num_classes": int(n_classes), "sample_rate": int(self.model_rate_),
                "input_shape": [int(x.shape[1])]}

    def _default_arch(self, space: Any) -> Architecture | None:
        if space.name == "audio":
            from nasforge.spaces.sequence import audio_default

            return audio_default(space)
        return None

    def _recipe(self, n_train: int) -> Any:
        from nasforge.training.recipe import Recipe

        epochs = self._budget_epochs()
        return Recipe(epochs=epochs, batch_size=int(self.batch_size), lr=float(self.lr), optimizer="adamw",
                      weight_decay=5e-4, **{**self._recipe_common(), "channels_last": False})

    def _trial_seconds(self, search_seconds: float | None) -> float | None:
        if self.trial_seconds is not None:
            return self._set_trial_seconds()
        if search_seconds is None:
            return 10.0
        # a fifth of the search, 3-60 s; under tiny budgets at most half the search, so two trials fit
        return float(min(60.0, max(min(3.0, search_seconds / 2.0), search_seconds / 5.0)))

    def _check_params(self) -> None:
        super()._check_params()
        self._rates()

    def _warm_final(self) -> bool:
        return True

    # ------------------------------------------------------------------ persistence and export
    def _extra_state(self) -> dict[str, Any]:
        return {"n_samples": self.n_samples_, "model_rate": self.model_rate_}

    def _restore_extra(self, meta: Any) -> None:
        self.n_samples_ = int(meta["n_samples"])
        self.model_rate_ = int(meta["model_rate"])

    def _export_example(self) -> Any:
        import torch

        # waveforms (N, n_samples_) at model_rate_ Hz
        return 0.1 * torch.randn(2, self.n_samples_, generator=torch.Generator().manual_seed(0))
