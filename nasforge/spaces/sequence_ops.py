"""The networks of the sequence spaces (:mod:`nasforge.spaces.sequence`): text and audio.

Text networks take token ids ``(N, L)`` (any numeric dtype; 0 is padding), embed them, run a stack
of blocks over ``(N, L, C)`` and pool over the non-padding positions. Audio networks take raw
waveforms ``(N, L)``, compute log-mel/MFCC features (:class:`~nasforge.spaces.audio_frontend.AudioFrontEnd`)
and run a 1-D (over time, bands as channels) or 2-D (bands x time) convolution stack.

Every block is written with plain tensor operations (attention included) so that the networks trace
and export to ONNX and ``torch.export`` with padding masks.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from nasforge.arch import Architecture
from nasforge.spaces.audio_frontend import AudioFrontEnd

__all__ = ["AudioNet", "TextNet"]


# --------------------------------------------------------------------------------------------
# Text blocks: (N, L, C) with a mask (N, L) of real tokens
# --------------------------------------------------------------------------------------------


class _Conv(nn.Module):
    """1-D convolutions of several kernel sizes, concatenated; 'same' length (left (k-1)//2 padding)."""

    def __init__(self, c_in: int, width: int, kernels: tuple[int, ...], dilation: int) -> None:
        super().__init__()
        self.kernels, self.dilation = kernels, dilation
        self.convs = nn.ModuleList(nn.Conv1d(c_in, width, k, dilation=dilation) for k in kernels)
        self.out = width * len(kernels)

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = h.transpose(1, 2)
        outs = []
        for k, conv in zip(self.kernels, self.convs):
            span = (k - 1) * self.dilation
            outs.append(conv(F.pad(x, (span // 2, span - span // 2))))
        return torch.relu(torch.cat(outs, dim=1)).transpose(1, 2)


class _Recurrent(nn.Module):
    """A bidirectional GRU or LSTM; ``width`` outputs (half per direction)."""

    def __init__(self, c_in: int, width: int, cell: str) -> None:
        super().__init__()
        rnn = nn.GRU if cell == "gru" else nn.LSTM
        self.rnn = rnn(c_in, max(1, width // 2), batch_first=True, bidirectional=True)
        self.out = 2 * max(1, width // 2)

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.rnn(h)[0]


class _Transformer(nn.Module):
    """One post-norm Transformer encoder layer (4 heads, learned positions, padding masked)."""

    def __init__(self, c_in: int, width: int, max_len: int, dropout: float) -> None:
        super().__init__()
        self.heads = 4 if c_in % 4 == 0 else (2 if c_in % 2 == 0 else 1)
        self.pos = nn.Parameter(torch.zeros(1, max_len, c_in))
        nn.init.normal_(self.pos, std=0.02)
        self.qkv = nn.Linear(c_in, 3 * c_in)
        self.proj = nn.Linear(c_in, c_in)
        self.norm1, self.norm2 = nn.LayerNorm(c_in), nn.LayerNorm(c_in)
        self.ff = nn.Sequential(nn.Linear(c_in, 2 * width), nn.GELU(), nn.Linear(2 * width, c_in))
        self.drop = nn.Dropout(dropout)
        self.out = c_in

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        n, length, c = h.shape
        x = h + self.pos[:, :length]
        q, k, v = self.qkv(x).view(n, length, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(c // self.heads)
        scores = scores.masked_fill(~mask[:, None, None, :], -1e4)
        att = torch.matmul(torch.softmax(scores, dim=-1), v).transpose(1, 2).reshape(n, length, c)
        x = self.norm1(x + self.drop(self.proj(att)))
        return self.norm2(x + self.drop(self.ff(x)))


def _masked_pool(h: torch.Tensor, mask: torch.Tensor, kind: str, attn: nn.Module | None) -> torch.Tensor:
    m = mask.unsqueeze(-1).to(h.dtype)
    if kind == "attention" and attn is not None:
        scores = attn(h).masked_fill(~mask.unsqueeze(-1), -1e4)
        return (torch.softmax(scores, dim=1) * h).sum(1)
    mean = (h * m).sum(1) / m.sum(1).clamp_min(1.0)
    if kind == "mean":
        return mean
    big = h.masked_fill(~mask.unsqueeze(-1), -1e4).max(1).values
    top = torch.where(m.sum(1) > 0, big, torch.zeros_like(big))  # an all-padding text pools to zeros
    return top if kind == "max" else torch.cat([top, mean], dim=1)


class TextNet(nn.Module):
    """Embedding, searched blocks with optional residual connections, masked pooling, linear head.

    Args:
        arch: an architecture of the ``text_cnn`` space.
        vocab_size: rows of the embedding (id 0 is padding and embeds to zeros).
        max_len: the input length (positions of the Transformer blocks).
        num_classes: outputs.
    """

    def __init__(self, arch: Architecture, vocab_size: int, max_len: int, num_classes: int) -> None:
        super().__init__()
        c = int(arch["embed"])
        self.embed = nn.Embedding(vocab_size, c, padding_idx=0)
        nn.init.uniform_(self.embed.weight, -0.1, 0.1)
        with torch.no_grad():
            # <pad> stays zero (padding_idx); <unk> starts at zero: words never seen in training then add
            # nothing (Kim's zero vector), and with min_freq > 1 it learns a "rare word" vector
            self.embed.weight[:2].zero_()
        dropout = float(arch["dropout"])
        self.blocks, self.skips = nn.ModuleList(), nn.ModuleList()
        self.residual: list[bool] = []
        for i in range(int(arch["block.depth"])):
            op, width = str(arch[f"block.{i}.op"]), int(arch[f"block.{i}.width"])
            kernel, dilation = int(arch[f"block.{i}.kernel"]), int(arch[f"block.{i}.dilation"])
            if op == "conv":
                block: nn.Module = _Conv(c, width, (kernel,), dilation)
            elif op == "conv_multi":
                block = _Conv(c, width, (kernel, kernel + 1, kernel + 2), dilation)
            elif op in ("gru", "lstm"):
                block = _Recurrent(c, width, op)
            else:
                block = _Transformer(c, width, max_len, dropout)
            residual = arch[f"block.{i}.skip"] == "residual"
            self.skips.append(nn.Linear(c, block.out, bias=False) if residual and block.out != c else nn.Identity())
            self.residual.append(bool(residual))
            self.blocks.append(block)
            c = block.out
        self.pool = str(arch["pool"])
        self.attn = nn.Linear(c, 1) if self.pool == "attention" else None
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(2 * c if self.pool == "max_mean" else c, num_classes)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        ids = ids.long()
        mask = ids != 0
        h = self.embed(ids)
        for block, skip, residual in zip(self.blocks, self.skips, self.residual):
            out = block(h, mask)
            h = out + skip(h) if residual else out
        return self.head(self.drop(_masked_pool(h, mask, self.pool, self.attn)))


# --------------------------------------------------------------------------------------------
# Audio
# --------------------------------------------------------------------------------------------


class AudioNet(nn.Module):
    """Searched front end (log-mel or MFCC, bands), then a 1-D or 2-D conv stack, global pooling, head.

    Args:
        arch: an architecture of the ``audio`` space.
        sample_rate: Hz of the input waveforms.
        num_classes: outputs.
    """

    def __init__(self, arch: Architecture, sample_rate: int, num_classes: int) -> None:
        super().__init__()
        self.front = AudioFrontEnd(sample_rate, str(arch["frontend"]), int(arch["n_mels"]))
        self.two_d = arch["conv"] == "2d"
        conv, bn, pool = (nn.Conv2d, nn.BatchNorm2d, nn.MaxPool2d) if self.two_d else \
            (nn.Conv1d, nn.BatchNorm1d, nn.MaxPool1d)
        c = 1 if self.two_d else self.front.n_features
        layers: list[nn.Module] = []
        for i in range(int(arch["block.depth"])):
            width = int(arch[f"block.{i}.width"]) * (1 if self.two_d else 2)
            k = int(arch[f"block.{i}.kernel"])
            layers += [conv(c, width, k, padding=k // 2, bias=False), bn(width), nn.ReLU()]
            if arch[f"block.{i}.pool"] == "max":
                layers.append(pool(2, ceil_mode=True))
            c = width
        self.body = nn.Sequential(*layers)
        self.global_pool = str(arch["pool"])
        self.drop = nn.Dropout(float(arch["dropout"]))
        self.head = nn.Linear(c, num_classes)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        x = self.front(wave)
        if self.two_d:
            x = x.unsqueeze(1)
        x = self.body(x).flatten(2)
        x = x.mean(2) if self.global_pool == "mean" else x.amax(2)
        return self.head(self.drop(x))


def build_text(arch: Architecture, num_classes: int, vocab_size: int, max_len: int) -> Any:
    """The :class:`TextNet` of ``arch``."""
    return TextNet(arch, vocab_size, max_len, num_classes)


def build_audio(arch: Architecture, num_classes: int, sample_rate: int) -> Any:
    """The :class:`AudioNet` of ``arch``."""
    return AudioNet(arch, sample_rate, num_classes)
