"""``TextClassifier``: give it sentences and labels and a time budget, get the best sequence network it finds.

Example:
    >>> clf = TextClassifier(time_budget_s=60, seed=0)  # doctest: +SKIP
    >>> clf.fit(["a fine film", "a dull film", ...], ["pos", "neg", ...]).predict(["what a film"])  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from nasforge.arch import Architecture
from nasforge.errors import InvalidConfigError
from nasforge.estimators.base import NASClassifierBase

__all__ = ["TextClassifier"]


class TextClassifier(NASClassifierBase):
    """Neural architecture search for text classification with scikit-learn conventions.

    ``fit(texts, labels)`` learns a vocabulary from the texts (:mod:`nasforge.data.text`: lower-cased
    word tokens; ``<pad>`` = 0, ``<unk>`` = 1 for words it has not seen), turns each text into
    ``max_len_`` token ids (first tokens kept, padding at the end), then searches the ``text_cnn``
    space from Kim's CNN-rand (embeddings 128, kernels 3/4/5 x 100, max pooling, dropout 0.5) with a
    local search: every trial trains with early stopping on the validation split, capped at
    ``trial_seconds``. The best architecture is retrained on train+validation for the epochs at
    which its trial peaked; ``ensemble`` networks of it (different seeds) average their probabilities.

    Args:
        max_trials: stop the search after this many trials (None: only the time budget).
        time_budget_s: seconds for the whole ``fit`` (None: no limit; ``max_trials`` must be set).
        space: a registered space name (default ``text_cnn``) or a space with the same build contract.
        strategy: a registered strategy name (default ``local``: one-step changes of the best so far).
        seed: seeds the split, the strategy, initialisation and batch order.
        device: ``auto`` (CUDA, then MPS, then CPU), ``cpu``, ``cuda``, ``cuda:N`` or ``mps``.
        precision: ``32``, ``bf16`` or ``16-mixed`` (autocast; a gradient scaler for float16).
        workers, threads: trials in parallel (threads) and torch threads in total (None: all cores).
        epochs: at most this many epochs per training run.
        patience: early-stopping patience in epochs (on the validation loss).
        batch_size, lr, weight_decay: the training recipe (AdamW, warm-up then cosine).
        min_freq: a word needs this many occurrences in the training texts to get its own id.
        max_vocab: at most this many vocabulary entries (``<pad>`` and ``<unk>`` included).
        max_len: texts are cut to at most this many tokens (``max_len_`` is the longest training text,
            capped here).
        ensemble: networks of the best architecture in the final model.
        search_fraction: share of the budget spent searching.
        trial_seconds: training seconds cap per trial (None: a fifth of the search time, 5-120 s).
        val_fraction: share of the labelled texts held out to rank architectures.
        storage: a SQLite file to record the search in (None: in memory).

    Attributes:
        vocab_: the :class:`~nasforge.data.text.Vocabulary`; ``max_len_`` the ids per text.
        best_arch_, model_, history_, classes_: as for :class:`ImageClassifier`. ``model_`` takes
            token ids ``(N, max_len_)``.

    Example:
        >>> clf = TextClassifier(max_trials=3, time_budget_s=None).fit(texts, labels)  # doctest: +SKIP
        >>> clf.score(test_texts, test_labels)  # doctest: +SKIP
    """

    _kind = "text"

    def __init__(self, *, max_trials: int | None = None, time_budget_s: float | None = 600.0,
                 space: Any = "text_cnn", strategy: str = "local", seed: int = 0, device: str = "auto", precision: str = "32",
                 workers: int = 1, threads: int | None = None, epochs: int = 30, patience: int = 3,
                 batch_size: int = 50, lr: float = 2e-3, weight_decay: float = 1e-4, min_freq: int = 1,
                 max_vocab: int | None = 50_000, max_len: int = 100, ensemble: int = 3,
                 search_fraction: float = 0.6, trial_seconds: float | None = None, val_fraction: float = 0.1,
                 storage: str | None = None) -> None:
        self.max_trials = max_trials
        self.time_budget_s = time_budget_s
        self.space = space
        self.strategy = strategy
        self.seed = seed
        self.device = device
        self.precision = precision
        self.workers = workers
        self.threads = threads
        self.epochs = epochs
        self.patience = patience
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.min_freq = min_freq
        self.max_vocab = max_vocab
        self.max_len = max_len
        self.ensemble = ensemble
        self.search_fraction = search_fraction
        self.trial_seconds = trial_seconds
        self.val_fraction = val_fraction
        self.storage = storage

    # ------------------------------------------------------------------ inputs
    def _inputs(self, X: Any, y: Any) -> tuple[Any, np.ndarray]:
        if isinstance(X, str) and y is not None:
            raise InvalidConfigError("X must be a list of texts, but got a single string; wrap it: [text] (or pass "
                                     "a .csv/.tsv path with y=None)")
        if isinstance(X, (str, os.PathLike)):
            from nasforge.data import load_dataset

            if getattr(load_dataset(os.fspath(X)), "kind", None) != "text":
                raise InvalidConfigError(f"{X} is not a text dataset (a .csv/.tsv of text and label, or sst2/trec)")
        return super()._inputs(X, y)

    @staticmethod
    def _texts(X: Any) -> list[str]:
        if isinstance(X, str):
            raise InvalidConfigError("X must be a list of texts, but got a single string; wrap it: [text]")
        try:
            texts = list(X)
        except TypeError:
            raise InvalidConfigError(f"X must be a list of strings, but got {type(X).__name__}") from None
        bad = next((i for i, t in enumerate(texts) if not isinstance(t, (str, np.str_))), None)
        if bad is not None:
            raise InvalidConfigError(f"X must hold strings, but item {bad} is {type(texts[bad]).__name__}: "
                                     f"{texts[bad]!r:.60}")
        return [str(t) for t in texts]

    def _prepare_x(self, X: Any, *, fitting: bool) -> np.ndarray:
        from nasforge.data.text import Vocabulary, tokenize

        texts = self._texts(X)
        if fitting:
            if not texts:
                raise InvalidConfigError("X is empty: fit needs texts")
            lengths = [len(tokenize(t)) for t in texts]
            empty = [i for i, n in enumerate(lengths) if n == 0]
            if empty:
                raise InvalidConfigError(f"{len(empty)} of the texts are empty (no words), e.g. item {empty[0]}; "
                                         "drop them before fit")
            if isinstance(self.max_len, bool) or not isinstance(self.max_len, (int, np.integer)) or self.max_len < 1:
                raise InvalidConfigError(f"max_len must be an integer >= 1, but got {self.max_len!r}")
            self.vocab_ = Vocabulary.build(texts, min_freq=int(self.min_freq),
                                           max_size=None if self.max_vocab is None else int(self.max_vocab))
            self.max_len_ = int(min(int(self.max_len), max(lengths)))
        return self.vocab_.encode(texts, self.max_len_).astype(np.float32)

    def _fit_normalize(self, x_tr: np.ndarray) -> Any:
        from nasforge.training.data import Normalize

        # token ids are indices, not measurements: no scaling
        shape = tuple(x_tr.shape[1:])
        return Normalize(np.zeros(shape, np.float32), np.ones(shape, np.float32))

    # ------------------------------------------------------------------ search settings
    def _make_space(self, x: np.ndarray) -> Any:
        from nasforge.spaces import get_space
        from nasforge.spaces.base import SearchSpace

        return self.space if isinstance(self.space, SearchSpace) else get_space(str(self.space))

    def _model_kwargs(self, x: np.ndarray, n_classes: int, space: Any) -> dict[str, Any]:
        return {"num_classes": int(n_classes), "vocab_size": len(self.vocab_), "input_shape": [int(x.shape[1])]}

    def _default_arch(self, space: Any) -> Architecture | None:
        if space.name == "text_cnn":
            from nasforge.spaces.sequence import text_cnn_default

            return text_cnn_default(space)
        return None

    def _recipe(self, n_train: int) -> Any:
        from nasforge.training.recipe import Recipe

        return Recipe(epochs=int(self.epochs), batch_size=int(self.batch_size), lr=float(self.lr),
                      optimizer="adamw", weight_decay=float(self.weight_decay), patience=int(self.patience),
                      **{**self._recipe_common(), "channels_last": False})

    def _trial_seconds(self, search_seconds: float | None) -> float | None:
        if self.trial_seconds is not None:
            return self._set_trial_seconds()
        if search_seconds is None:
            return None
        # a fifth of the search, 5-120 s; under tiny budgets at most half the search, so two trials fit
        return float(min(120.0, max(min(5.0, search_seconds / 2.0), search_seconds / 5.0)))

    def _check_params(self) -> None:
        super()._check_params()
        self._ensemble_size()

    def _ensemble_size(self) -> int:
        if isinstance(self.ensemble, bool) or not isinstance(self.ensemble, (int, np.integer)) or self.ensemble < 1:
            raise InvalidConfigError(f"ensemble must be an integer >= 1, but got {self.ensemble!r}")
        return int(self.ensemble)

    def _final_epochs(self, best: Mapping[str, Any], recipe: Any) -> int | None:
        return max(1, int(best.get("epochs") or recipe.epochs))

    # ------------------------------------------------------------------ persistence and export
    def _extra_state(self) -> dict[str, Any]:
        return {"vocabulary": self.vocab_.to_json(), "max_len": self.max_len_}

    def _restore_extra(self, meta: Mapping[str, Any]) -> None:
        from nasforge.data.text import Vocabulary

        self.vocab_ = Vocabulary.from_json(meta["vocabulary"])
        self.max_len_ = int(meta["max_len"])

    def _export_example(self) -> Any:
        import torch

        # exported models take int64 token ids (N, max_len_), as Vocabulary.encode gives them
        return torch.randint(0, len(self.vocab_), (2, self.max_len_), generator=torch.Generator().manual_seed(0))

    def encode(self, X: Any) -> np.ndarray:
        """The int64 token ids ``(N, max_len_)`` the model (and an exported model) takes for texts ``X``."""
        self._check_fitted()
        return self.vocab_.encode(self._texts(X), self.max_len_)
