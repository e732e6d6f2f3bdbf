"""Levels and placement of a call in a window: the arithmetic that offset copies
(:mod:`jaxaudio.features.offsets`), decoy calls (:mod:`jaxaudio.data.decoys`), the
soundscape renderer (:mod:`jaxaudio.data.soundscape`) and predict's silence test share.

* ``rms(x) = sqrt(mean(x²))`` in float64 (0 for an empty array);
* ``snr_gain``: the ``g`` with ``20 log10(rms(s) / rms(g · b)) = SNR``, i.e.
  ``g = rms(s) / (rms(b) · 10^(SNR/20))``;
* ``place``: a signal of ``L`` samples in an ``n``-sample window at ``o ~ U{0, …, n − L}``
  (whole), or cropped at ``o ~ U{0, …, L − n}`` when longer.
"""

from __future__ import annotations

import numpy as np


def rms(x: np.ndarray) -> float:
    """Root mean square of ``x``, ``sqrt(mean(x²))`` in float64 (0 for an empty array)."""
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if x.size else 0.0


def snr_gain(signal: np.ndarray, background: np.ndarray, snr_db: float) -> float:
    """``g`` such that ``20 log10(rms(signal) / rms(g · background)) = snr_db`` (0 when either is silent)."""
    s, b = rms(signal), rms(background)
    return s / (b * 10 ** (snr_db / 20)) if s > 0 and b > 0 else 0.0


def place(signal: np.ndarray, n: int, rng: np.random.Generator) -> tuple[np.ndarray, slice]:
    """``signal`` in an ``n``-sample window at a random offset, and where it lies in it."""
    if len(signal) >= n:
        o = int(rng.integers(0, len(signal) - n + 1))
        return signal[o : o + n].astype(np.float32), slice(0, n)
    o = int(rng.integers(0, n - len(signal) + 1))
    window = np.zeros(n, np.float32)
    window[o : o + len(signal)] = signal
    return window, slice(o, o + len(signal))
