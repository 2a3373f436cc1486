"""Audio input: reading WAV files, resampling and the fixed-duration policy (NumPy only).

- :func:`read_wav` reads uncompressed 16-bit PCM WAV with Python's standard ``wave`` module
  (multi-channel files are averaged to mono) and returns float32 samples in [-1, 1).
- :func:`resample` changes the sample rate with a polyphase windowed-sinc FIR filter
  (``scipy.signal.resample_poly``: upsample by ``p``, low-pass with a Kaiser-windowed sinc, keep every
  ``q``-th sample, where ``p / q`` is the rate ratio in lowest terms). It is exact for integer and
  rational ratios and removes the aliasing a linear interpolation would fold into the band.
- :func:`fix_length` is the padding/cropping policy: a clip longer than ``n`` samples keeps its
  centre ``n`` samples; a shorter one is zero-padded equally on both sides (the extra sample, if
  any, at the end). Spoken words sit in the middle of trimmed clips, so centring keeps them whole.

The log-mel/MFCC front end that turns waveforms into features is part of the networks
(:mod:`nasforge.spaces.audio_frontend`), so exported models take raw waveforms.

Example:
    >>> fix_length(np.ones(3, np.float32), 6).tolist()
    [0.0, 1.0, 1.0, 1.0, 0.0, 0.0]
"""

from __future__ import annotations

import math
import os
import wave
from pathlib import Path
from typing import Any

import numpy as np

from nasforge.errors import InvalidConfigError

__all__ = ["MAX_RATE", "MIN_RATE", "check_rate", "fix_length", "read_wav", "resample"]

MIN_RATE, MAX_RATE = 1000, 384000


def check_rate(rate: Any, what: str = "sample_rate") -> int:
    """``rate`` as an int, or a clear error when it is not a whole number of Hz in 1000..384000."""
    if isinstance(rate, bool) or not isinstance(rate, (int, np.integer, float)) or not math.isfinite(rate) \
            or float(rate) != int(rate) or not MIN_RATE <= int(rate) <= MAX_RATE:
        raise InvalidConfigError(f"{what} must be a whole number of Hz in {MIN_RATE}..{MAX_RATE}, but got {rate!r}")
    return int(rate)


def read_wav(path: str | os.PathLike[str]) -> tuple[np.ndarray, int]:
    """Read a 16-bit PCM WAV file: ``(samples, sample_rate)``, samples float32 mono in [-1, 1).

    Raises:
        InvalidConfigError: when the file is not uncompressed 16-bit PCM WAV (the message says what it is).
    """
    p = Path(path)
    try:
        with wave.open(str(p), "rb") as fh:
            width, channels, rate = fh.getsampwidth(), fh.getnchannels(), fh.getframerate()
            if fh.getcomptype() != "NONE":
                raise InvalidConfigError(f"{p} is compressed ({fh.getcompname()}); only uncompressed 16-bit PCM "
                                         "WAV is read: convert it, e.g. ffmpeg -i IN -c:a pcm_s16le OUT.wav")
            raw = fh.readframes(fh.getnframes())
    except (wave.Error, EOFError) as exc:
        raise InvalidConfigError(f"cannot read {p} as a PCM WAV file: {exc}; only uncompressed 16-bit PCM WAV "
                                 "is read (convert it, e.g. ffmpeg -i IN -c:a pcm_s16le OUT.wav)") from None
    except OSError as exc:
        raise InvalidConfigError(f"cannot read {p}: {exc}") from None
    if width != 2:
        raise InvalidConfigError(f"{p} has {8 * width}-bit samples; only 16-bit PCM WAV is read (convert it, "
                                 "e.g. ffmpeg -i IN -c:a pcm_s16le OUT.wav)")
    data = np.frombuffer(raw, dtype="<i2")
    data = data[: len(data) - len(data) % channels].reshape(-1, channels).astype(np.float32).mean(axis=1)
    return (data / np.float32(32768.0)).astype(np.float32), int(rate)


def resample(x: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Resample the 1-D signal ``x`` from ``rate_in`` to ``rate_out`` Hz (polyphase windowed sinc)."""
    rate_in, rate_out = check_rate(rate_in, "rate_in"), check_rate(rate_out, "rate_out")
    arr = np.asarray(x, dtype=np.float32)
    if rate_in == rate_out or arr.size == 0:
        return arr
    from scipy.signal import resample_poly

    g = math.gcd(rate_in, rate_out)
    return resample_poly(arr, rate_out // g, rate_in // g).astype(np.float32)


def fix_length(x: np.ndarray, n: int) -> np.ndarray:
    """Centre-crop or centre-pad (with zeros) the 1-D signal ``x`` to exactly ``n`` samples."""
    arr = np.asarray(x, dtype=np.float32)
    if len(arr) >= n:
        start = (len(arr) - n) // 2
        return arr[start:start + n]
    before = (n - len(arr)) // 2
    return np.pad(arr, (before, n - len(arr) - before))
