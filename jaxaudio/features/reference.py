"""The reference feature stack: librosa on one clip at a time.

The jitted frontend (:mod:`jaxaudio.features.frontend`) is tested against this function;
``features.backend: librosa`` uses it directly.
"""

from __future__ import annotations

import librosa
import numpy as np

from jaxaudio.features.config import FeatureConfig


def mfcc_stack(y: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    """``(3, n_mfcc, T)`` float32 MFCC, Δ, Δ² for one clip of exactly ``cfg.n_samples``."""
    mfcc = librosa.feature.mfcc(
        y=y,
        sr=cfg.sample_rate,
        n_mfcc=cfg.n_mfcc,
        n_fft=cfg.n_fft,
        hop_length=cfg.hop_length,
        n_mels=cfg.n_mels,
    )
    d1 = librosa.feature.delta(mfcc, width=cfg.delta_width, order=1, mode="interp")
    d2 = librosa.feature.delta(mfcc, width=cfg.delta_width, order=2, mode="interp")
    return np.stack([mfcc, d1, d2]).astype(np.float32)
