"""MFCC + Δ + Δ² feature stack, computed once per clip and cached as a ``.npy``.

For a clip of ``n`` samples, librosa's centred STFT gives ``T = 1 + n // hop_length`` frames
(3 s at 22 050 Hz, hop 512 -> 130; 1 s -> 44). Per clip:

* ``mfcc``: ``librosa.feature.mfcc`` — power mel spectrogram (``n_mels`` Slaney mels),
  ``power_to_db(ref=1, amin=1e-10, top_db=80)`` **of this clip alone**, orthonormal DCT-II,
  first ``n_mfcc`` coefficients;
* ``delta`` / ``delta2``: ``librosa.feature.delta(mfcc, width, order=1|2, mode="interp")``,
  Savitzky–Golay derivatives (order 2 is the second derivative of the local polynomial fit,
  not the delta of the delta).

The cache is ``(N, 3, n_mfcc, T)`` float32 in manifest row order, written through
``np.lib.format.open_memmap`` so it can be memory-mapped by every experiment.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import librosa
import numpy as np
from tqdm import tqdm

from jaxaudio.settings import FromDict
from jaxaudio.audio import fit_length, load_audio

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FeatureConfig(FromDict):
    """Feature settings; every field is a workflow parameter (changing one recomputes)."""

    sample_rate: int = 22050
    clip_seconds: float = 3.0
    crop: str = "center"
    n_mfcc: int = 40
    n_mels: int = 128
    n_fft: int = 2048
    hop_length: int = 512
    delta_width: int = 9

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def n_samples(self) -> int:
        return int(round(self.clip_seconds * self.sample_rate))

    @property
    def n_frames(self) -> int:
        return 1 + self.n_samples // self.hop_length

    @property
    def shape(self) -> tuple[int, int, int]:
        return (3, self.n_mfcc, self.n_frames)

    def check(self) -> None:
        """Reject settings librosa would fail on later, with the key at fault."""
        if self.delta_width < 3 or self.delta_width % 2 == 0:
            raise ValueError(f"features.delta_width must be odd and >= 3, got {self.delta_width}")
        if self.n_frames < self.delta_width:
            raise ValueError(
                f"features.clip_seconds={self.clip_seconds} gives {self.n_frames} frames at hop "
                f"{self.hop_length}, fewer than features.delta_width={self.delta_width} that the "
                "Δ filter needs"
            )
        if self.n_mfcc > self.n_mels:
            raise ValueError(f"features.n_mfcc ({self.n_mfcc}) exceeds features.n_mels ({self.n_mels})")


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


def clip_features(path: str | Path, cfg: FeatureConfig) -> np.ndarray:
    """Decode, fit to length and featurise one recording."""
    y = fit_length(load_audio(path, cfg.sample_rate), cfg.n_samples, cfg.crop)
    return mfcc_stack(y, cfg)


def extract_features(
    paths: Sequence[str | Path], cfg: FeatureConfig, out_path: str | Path, progress: bool = True
) -> np.ndarray:
    """Featurise every path into a memory-mappable ``(N, 3, n_mfcc, T)`` ``.npy``.

    Written to ``<out>.partial`` and renamed at the end, so an interrupted run never leaves a
    cache that looks complete.
    """
    cfg.check()
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(out_path.name + ".partial")
    cache = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(len(paths), *cfg.shape))
    for i, p in enumerate(tqdm(paths, desc="features", unit="clip", disable=not progress, mininterval=2)):
        cache[i] = clip_features(p, cfg)
    cache.flush()
    del cache
    tmp.replace(out_path)
    log.info("wrote %s: %d clips x %s", out_path, len(paths), cfg.shape)
    return np.load(out_path, mmap_mode="r")


def build_feature_cache(manifest_csv: str | Path, settings: dict[str, Any], out_path: str | Path, progress: bool = True) -> None:
    """Workflow step: featurise every clip of a resolved manifest, in its row order."""
    from jaxaudio.manifest import load_resolved

    df = load_resolved(manifest_csv)
    extract_features(list(df["path"]), FeatureConfig.from_dict(settings), out_path, progress=progress)
