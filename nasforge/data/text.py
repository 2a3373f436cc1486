"""The text pipeline: a word tokenizer and a vocabulary learnt from the training texts.

Tokenization lower-cases the text and splits it with one regular expression into words (letters and
digits, with an inner apostrophe or hyphen kept: ``don't``, ``re-imagining``), and single punctuation
marks; whitespace separates nothing else. The SST-2/TREC files are already tokenized with spaces, so
on them the split only keeps contractions such as ``n't`` apart as they are shipped.

:class:`Vocabulary` maps tokens to ids: ``<pad>`` is 0, ``<unk>`` is 1, then the training tokens by
falling frequency (ties in alphabetical order, so the same texts always give the same ids), keeping
those seen at least ``min_freq`` times, at most ``max_size`` entries in all. It is saved as JSON with
the model.

Padding/truncation policy (:meth:`Vocabulary.encode`): every text becomes exactly ``max_len`` ids; a
longer text keeps its first ``max_len`` tokens (the end is cut), a shorter one is padded with
``<pad>`` (0) at the end. An empty text is all padding. Models mask the padding when they pool.

Example:
    >>> tokenize("It's a re-imagining, isn't it?")
    ["it's", 'a', 're-imagining', ',', "isn't", 'it', '?']
    >>> vocab = Vocabulary.build(["a good film", "a bad film"], min_freq=1)
    >>> vocab.encode(["a great film"], max_len=4).tolist()
    [[2, 1, 3, 0]]
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from nasforge.errors import InvalidConfigError

__all__ = ["PAD", "UNK", "Vocabulary", "tokenize"]

PAD, UNK = "<pad>", "<unk>"
PAD_ID, UNK_ID = 0, 1
_TOKEN = re.compile(r"[0-9a-z\u00c0-\u024f]+(?:['\-][0-9a-z\u00c0-\u024f]+)*|'[a-z]+|[^\s0-9a-z\u00c0-\u024f]")
VOCAB_FORMAT = "nasforge-vocabulary/1"


def tokenize(text: str) -> list[str]:
    """Lower-case ``text`` and split it into word and punctuation tokens (see the module docstring)."""
    if not isinstance(text, str):
        raise InvalidConfigError(f"texts must be strings, but got {type(text).__name__}: {text!r:.60}")
    return _TOKEN.findall(text.lower())


@dataclass(frozen=True)
class Vocabulary:
    """Token <-> id mapping with ``<pad>`` = 0 and ``<unk>`` = 1.

    Args:
        tokens: every token in id order, starting with ``<pad>`` and ``<unk>``.
        min_freq: the minimum training frequency it was built with (recorded only).
        max_size: the size cap it was built with (recorded only).

    Example:
        >>> Vocabulary.build(["b a a"]).tokens
        ('<pad>', '<unk>', 'a', 'b')
    """

    tokens: tuple[str, ...]
    min_freq: int = 1
    max_size: int | None = None

    def __post_init__(self) -> None:
        if self.tokens[:2] != (PAD, UNK):
            raise InvalidConfigError(f"a vocabulary must start with {PAD!r}, {UNK!r}; got {self.tokens[:2]!r}")
        if len(set(self.tokens)) != len(self.tokens):
            raise InvalidConfigError("a vocabulary must not repeat tokens")
        object.__setattr__(self, "_ids", {t: i for i, t in enumerate(self.tokens)})

    @classmethod
    def build(cls, texts: Iterable[str], *, min_freq: int = 1, max_size: int | None = None) -> Vocabulary:
        """Learn the vocabulary of ``texts`` (see the module docstring for the order and the limits)."""
        if isinstance(min_freq, bool) or not isinstance(min_freq, int) or min_freq < 1:
            raise InvalidConfigError(f"min_freq must be an integer >= 1, but got {min_freq!r}")
        if max_size is not None and (isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 3):
            raise InvalidConfigError(f"max_size must be None or an integer >= 3, but got {max_size!r}")
        counts: Counter[str] = Counter()
        for text in texts:
            counts.update(tokenize(text))
        counts.pop(PAD, None)
        counts.pop(UNK, None)
        kept = sorted((t for t, c in counts.items() if c >= min_freq), key=lambda t: (-counts[t], t))
        if max_size is not None:
            kept = kept[: max_size - 2]
        return cls((PAD, UNK, *kept), min_freq=min_freq, max_size=max_size)

    def __len__(self) -> int:
        return len(self.tokens)

    def id(self, token: str) -> int:
        """The id of ``token`` (``1``, ``<unk>``, when it is not in the vocabulary)."""
        return self._ids.get(token, UNK_ID)  # type: ignore[attr-defined]

    def ids(self, text: str) -> list[int]:
        """The ids of all tokens of ``text``, unpadded."""
        return [self.id(t) for t in tokenize(text)]

    def encode(self, texts: Sequence[str], max_len: int) -> np.ndarray:
        """``(N, max_len)`` int64 ids: first ``max_len`` tokens kept, padding with 0 at the end."""
        if isinstance(max_len, bool) or not isinstance(max_len, (int, np.integer)) or max_len < 1:
            raise InvalidConfigError(f"max_len must be an integer >= 1, but got {max_len!r}")
        out = np.zeros((len(texts), int(max_len)), dtype=np.int64)
        for row, text in enumerate(texts):
            ids = self.ids(text)[: int(max_len)]
            out[row, : len(ids)] = ids
        return out

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready form; :meth:`from_json` reads it back."""
        return {"format": VOCAB_FORMAT, "min_freq": self.min_freq, "max_size": self.max_size,
                "tokens": list(self.tokens)}

    @classmethod
    def from_json(cls, data: dict[str, Any] | str) -> Vocabulary:
        """Rebuild a vocabulary written by :meth:`to_json` (a dict or its JSON text)."""
        obj = json.loads(data) if isinstance(data, str) else data
        if not isinstance(obj, dict) or obj.get("format") != VOCAB_FORMAT:
            raise InvalidConfigError(f"not a nasforge vocabulary (expected format {VOCAB_FORMAT!r})")
        return cls(tuple(obj["tokens"]), min_freq=int(obj.get("min_freq", 1)), max_size=obj.get("max_size"))
