"""Log-mel and MFCC features in PyTorch (``torch.stft``; the filterbank and DCT are built here).

``torchaudio`` from the registry does not load with torch 2.13, so the front end is written out:

1. power spectrogram: ``torch.stft`` with a Hann window of ``n_fft`` samples (the power of two
   nearest 25 ms) and a hop of 10 ms, centred frames (reflect padding), ``|X|^2``;
2. mel filterbank: ``n_mels`` triangular filters equally spaced on the HTK mel scale
   ``mel(f) = 2595 log10(1 + f / 700)`` from 0 Hz to the Nyquist frequency, applied as one matrix;
3. ``log(mel + 1e-6)``;
4. MFCC only: the orthonormal DCT-II of the log-mel bands, keeping the first ``n_mfcc`` coefficients;
5. per-utterance normalisation: each band's mean over time is subtracted (cepstral mean
   normalisation, which removes a fixed channel/microphone colouring) and the result is divided by
   the utterance's standard deviation, so loudness does not matter.

The module is traceable and exports to ONNX (opset 17 has STFT) and ``torch.export``, so exported
audio models take raw waveforms.

Example:
    >>> import torch
    >>> fe = AudioFrontEnd(8000, n_mels=40)
    >>> fe(torch.zeros(2, 8000)).shape
    torch.Size([2, 40, 101])
"""

from __future__ import annotations

import math
import warnings

import torch
from torch import nn

__all__ = ["AudioFrontEnd", "dct_matrix", "mel_filterbank"]


def _hz_to_mel(f: torch.Tensor) -> torch.Tensor:
    return 2595.0 * torch.log10(1.0 + f / 700.0)


def _mel_to_hz(m: torch.Tensor) -> torch.Tensor:
    return 700.0 * (10.0 ** (m / 2595.0) - 1.0)


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int) -> torch.Tensor:
    """``(n_mels, n_fft // 2 + 1)`` triangular filters on the HTK mel scale, 0 Hz to Nyquist."""
    freqs = torch.linspace(0.0, sample_rate / 2.0, n_fft // 2 + 1, dtype=torch.float64)
    edges = _mel_to_hz(torch.linspace(0.0, float(_hz_to_mel(torch.tensor(sample_rate / 2.0))), n_mels + 2,
                                      dtype=torch.float64))
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (freqs[None] - lower) / (centre - lower)
    falling = (upper - freqs[None]) / (upper - centre)
    return torch.clamp(torch.minimum(rising, falling), min=0.0).to(torch.float32)


def dct_matrix(n_in: int, n_out: int) -> torch.Tensor:
    """``(n_out, n_in)`` orthonormal DCT-II matrix (the first ``n_out`` coefficients)."""
    n = torch.arange(n_in, dtype=torch.float64)
    k = torch.arange(n_out, dtype=torch.float64)[:, None]
    m = torch.cos(math.pi / n_in * (n + 0.5) * k) * math.sqrt(2.0 / n_in)
    m[0] /= math.sqrt(2.0)
    return m.to(torch.float32)


class AudioFrontEnd(nn.Module):
    """Waveforms ``(N, L)`` -> normalised features ``(N, n_features, frames)``.

    Args:
        sample_rate: Hz of the input waveforms.
        kind: ``"logmel"`` or ``"mfcc"``.
        n_mels: mel bands.
        n_mfcc: cepstral coefficients kept for ``mfcc`` (default ``n_mels // 2``).
    """

    def __init__(self, sample_rate: int, kind: str = "logmel", n_mels: int = 40, n_mfcc: int | None = None) -> None:
        super().__init__()
        if kind not in ("logmel", "mfcc"):
            raise ValueError(f"kind must be 'logmel' or 'mfcc', got {kind!r}")
        self.kind = kind
        self.n_fft = 2 ** round(math.log2(0.025 * sample_rate))
        self.hop = max(1, round(0.010 * sample_rate))
        self.register_buffer("window", torch.hann_window(self.n_fft), persistent=False)
        self.register_buffer("fbank", mel_filterbank(sample_rate, self.n_fft, n_mels), persistent=False)
        n_out = n_mels if kind == "logmel" else int(n_mfcc or n_mels // 2)
        self.n_features = n_out
        self.register_buffer("dct", dct_matrix(n_mels, n_out), persistent=False)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        with warnings.catch_warnings():
            # return_complex=False is what the ONNX exporter supports (it has no complex tensors)
            warnings.simplefilter("ignore")
            spec = torch.stft(wave, self.n_fft, self.hop, self.n_fft, self.window, center=True,
                              pad_mode="reflect", return_complex=False)
        power = spec.pow(2).sum(-1)  # (N, F, T)
        feats = torch.log(torch.matmul(self.fbank, power) + 1e-6)
        if self.kind == "mfcc":
            feats = torch.matmul(self.dct, feats)
        feats = feats - feats.mean(dim=2, keepdim=True)
        return feats / (feats.flatten(1).std(dim=1)[:, None, None] + 1e-5)
