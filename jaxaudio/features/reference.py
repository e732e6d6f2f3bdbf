"""The reference feature stack: librosa on one clip at a time.

The jitted frontend (:mod:`jaxaudio.features.frontend`) is tested against this function;
``features.backend: librosa`` uses it directly. Every kind is librosa's own routine with
librosa's defaults (``features.kind``: ``librosa.feature.mfcc``, ``power_to_db`` of
``melspectrogram``, ``librosa.pcen`` of the magnitude ``melspectrogram``), Δ and Δ² are
``librosa.feature.delta`` (Savitzky–Golay, ``mode="interp"``).
"""

from __future__ import annotations

import librosa
import numpy as np
import scipy.signal

from jaxaudio.features.config import FeatureConfig

#: Mel magnitudes are multiplied by this before PCEN: ``librosa.pcen``'s documented use (its
#: default gain, bias and eps are set for audio in the int32 range, not [-1, 1]).
PCEN_SCALE = float(2**31)


def pcen_smoothing(cfg: FeatureConfig) -> float:
    """PCEN's EMA coefficient ``b`` from ``pcen_time_constant``, as ``librosa.pcen`` derives it:
    ``b = (√(1 + 4 T²) − 1) / (2 T²)``, ``T = time_constant · sr / hop`` frames."""
    t = cfg.pcen_time_constant * cfg.sample_rate / float(cfg.hop_length)
    return float((np.sqrt(1 + 4 * t**2) - 1) / (2 * t**2))


def _first_channel(y: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    mel = {
        "sr": cfg.sample_rate,
        "n_fft": cfg.n_fft,
        "hop_length": cfg.hop_length,
        "n_mels": cfg.n_mels,
    }
    if cfg.kind in ("mfcc", "logmel"):
        # what librosa.feature.mfcc(y=…) computes first, with the reference made explicit
        ref = np.max if cfg.db_reference == "peak" else 1.0
        db = librosa.power_to_db(librosa.feature.melspectrogram(y=y, **mel), ref=ref, top_db=80.0)
        return librosa.feature.mfcc(S=db, n_mfcc=cfg.n_mfcc) if cfg.kind == "mfcc" else db
    e = librosa.feature.melspectrogram(y=y, power=1.0, **mel) * PCEN_SCALE
    b = pcen_smoothing(cfg)
    # the smoother starts at the first frame (frontend module docstring), not at librosa's 1
    zi = scipy.signal.lfilter_zi([b], [1, b - 1])[None, :] * e[:, :1]
    return librosa.pcen(
        e,
        sr=cfg.sample_rate,
        hop_length=cfg.hop_length,
        gain=cfg.pcen_gain,
        bias=cfg.pcen_bias,
        power=cfg.pcen_power,
        time_constant=cfg.pcen_time_constant,
        eps=cfg.pcen_eps,
        zi=zi,
    )


def reference_stack(y: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    """``cfg.shape`` float32 features of one clip of exactly ``cfg.n_samples``: the kind's
    channel, then (``cfg.deltas``) its Δ and Δ²."""
    c = _first_channel(y, cfg)
    if not cfg.deltas:
        return c[None].astype(np.float32)
    d1 = librosa.feature.delta(c, width=cfg.delta_width, order=1, mode="interp")
    d2 = librosa.feature.delta(c, width=cfg.delta_width, order=2, mode="interp")
    return np.stack([c, d1, d2]).astype(np.float32)
