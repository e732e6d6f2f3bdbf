"""Decoding recordings into fixed-length mono clips at the working sample rate.

Steps, in the order every recording goes through them (training and inference alike):
decode with libsndfile (WAV, FLAC, OGG, MP3), average channels to mono, resample with
``soxr`` (librosa's default high-quality resampler), then pad or crop to ``clip_seconds``.
"""

from __future__ import annotations

from pathlib import Path

import librosa
import numpy as np
import soundfile as sf


class AudioError(ValueError):
    """A recording that cannot be used; the message names the file."""


def load_audio(path: str | Path, sample_rate: int, start: float | None = None, end: float | None = None) -> np.ndarray:
    """Decode ``path`` (or its ``start``..``end`` seconds) to mono float32 at ``sample_rate`` Hz."""
    try:
        info = sf.info(str(path))
        first = int(round((start or 0.0) * info.samplerate))
        last = None if end is None else int(round(end * info.samplerate))
        if last is not None and end > info.duration + 1e-3:
            raise AudioError(f"{path}: end {end} s is past the end of the file ({info.duration:.3f} s)")
        data, sr = sf.read(str(path), start=first, stop=last, dtype="float32", always_2d=True)
    except AudioError:
        raise
    except Exception as exc:  # libsndfile raises several types; report them uniformly
        raise AudioError(f"{path}: cannot decode audio ({exc})") from exc
    if data.shape[0] == 0:
        raise AudioError(f"{path}: file has no samples")
    y = data.mean(axis=1)
    if not np.all(np.isfinite(y)):
        raise AudioError(f"{path}: audio contains NaN or infinite samples")
    if sr != sample_rate:
        y = librosa.resample(y, orig_sr=sr, target_sr=sample_rate, res_type="soxr_hq")
    return y.astype(np.float32, copy=False)


def fit_length(y: np.ndarray, n_samples: int, crop: str = "center") -> np.ndarray:
    """Zero-pad (at the end) or crop ``y`` to exactly ``n_samples``.

    ``crop="center"`` keeps the middle of a long recording (calls in short annotated clips
    are usually centred); ``crop="start"`` keeps the beginning.
    """
    n = y.shape[0]
    if n < n_samples:
        return np.pad(y, (0, n_samples - n))
    if n == n_samples:
        return y
    if crop == "center":
        start = (n - n_samples) // 2
    elif crop == "start":
        start = 0
    else:
        raise ValueError(f"unknown crop mode {crop!r}; use 'center' or 'start'")
    return y[start : start + n_samples]
