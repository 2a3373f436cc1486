"""Sequence search spaces, written with the Python primitives: ``text_cnn`` and ``audio``.

``text_cnn`` (token sequences): an embedding size, then 1-3 blocks, each choosing

- ``op``: ``conv`` (one 1-D convolution), ``conv_multi`` (kernels k, k+1, k+2 side by side, as in
  Kim's sentence CNN), ``transformer`` (one encoder layer, 4 heads, learned positions), ``gru`` or
  ``lstm`` (bidirectional);
- ``width`` (channels per kernel / hidden units), ``kernel`` and ``dilation`` (convolutions only);
- ``skip``: ``residual`` adds the block's input (projected when the width changes) or ``none``;

then the pooling over the real tokens (``max``, ``mean``, ``attention``, ``max_mean``) and the
dropout before the linear head. ``build(arch, input_shape=(L,), num_classes=K, vocab_size=V)``.

``audio`` (raw waveforms): the front end (``logmel`` or ``mfcc``, ``n_mels`` bands), a 1-D
(over time, bands as channels) or 2-D (bands x time) convolution stack of 1-4 blocks with width,
kernel and an optional 2x max-pool each, global ``mean``/``max`` pooling and dropout.
``build(arch, input_shape=(L,), num_classes=K, sample_rate=SR)``.

Example:
    >>> space = text_cnn_space()
    >>> arch = text_cnn_default(space)
    >>> arch["block.0.op"], arch["embed"]
    ('conv_multi', 128)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nasforge.arch import Architecture
from nasforge.errors import InvalidConfigError
from nasforge.spaces.dsl import PythonSpace, op, repeat, value

__all__ = ["audio_default", "audio_space", "text_cnn_default", "text_cnn_space"]

TEXT_OPS = ("conv", "conv_multi", "transformer", "gru", "lstm")


def _length(input_shape: Sequence[int] | None, what: str) -> int:
    if input_shape is None or len(input_shape) != 1 or int(input_shape[0]) < 1:
        raise InvalidConfigError(f"{what} networks take inputs of shape (L,); give input_shape=(L,), got "
                                 f"{input_shape!r}")
    return int(input_shape[0])


def _build_text(arch: Architecture, num_classes: int = 2, input_shape: Sequence[int] | None = None,
                vocab_size: int | None = None, **_: Any) -> Any:
    from nasforge.spaces.sequence_ops import build_text

    if vocab_size is None or int(vocab_size) < 3:
        raise InvalidConfigError(f"text_cnn networks need vocab_size >= 3 (pad, unk, a word), got {vocab_size!r}")
    return build_text(arch, int(num_classes), int(vocab_size), _length(input_shape, "text_cnn"))


def text_cnn_space() -> PythonSpace:
    """The token-sequence space (see the module docstring)."""
    return PythonSpace(
        "text_cnn",
        [
            value("embed", [64, 128, 256]),
            repeat("block", 1, 3, [op("op", TEXT_OPS), value("width", [64, 100, 128, 256]),
                                   value("kernel", [2, 3, 5]), value("dilation", [1, 2]),
                                   op("skip", ["none", "residual"])]),
            op("pool", ["max", "mean", "attention", "max_mean"]),
            value("dropout", [0.0, 0.25, 0.5]),
        ],
        build=_build_text,
    )


def text_cnn_default(space: PythonSpace) -> Architecture:
    """Kim's CNN-rand inside the space: embeddings 128, kernels 3/4/5 x 100, max pooling, dropout 0.5."""
    return space.validate({"embed": 128, "block.depth": 1, "block.0.op": "conv_multi", "block.0.width": 100,
                           "block.0.kernel": 3, "block.0.dilation": 1, "block.0.skip": "none", "pool": "max",
                           "dropout": 0.5})


def _build_audio(arch: Architecture, num_classes: int = 10, input_shape: Sequence[int] | None = None,
                 sample_rate: int = 8000, **_: Any) -> Any:
    from nasforge.data.audio import check_rate
    from nasforge.spaces.sequence_ops import build_audio

    _length(input_shape, "audio")
    return build_audio(arch, int(num_classes), check_rate(sample_rate))


def audio_space() -> PythonSpace:
    """The waveform space (see the module docstring)."""
    return PythonSpace(
        "audio",
        [
            op("frontend", ["logmel", "mfcc"]),
            value("n_mels", [32, 40, 64]),
            op("conv", ["1d", "2d"]),
            repeat("block", 1, 4, [value("width", [16, 32, 64, 128]), value("kernel", [3, 5]),
                                   op("pool", ["none", "max"])]),
            op("pool", ["mean", "max"]),
            value("dropout", [0.0, 0.2, 0.5]),
        ],
        build=_build_audio,
    )


def audio_default(space: PythonSpace) -> Architecture:
    """A small log-mel CNN: 40 bands, three 3x3 conv blocks of 16/32/64 channels with max-pooling."""
    return space.validate({"frontend": "logmel", "n_mels": 40, "conv": "2d", "block.depth": 3,
                           "block.0.width": 16, "block.0.kernel": 3, "block.0.pool": "max",
                           "block.1.width": 32, "block.1.kernel": 3, "block.1.pool": "max",
                           "block.2.width": 64, "block.2.kernel": 3, "block.2.pool": "max",
                           "pool": "mean", "dropout": 0.2})
