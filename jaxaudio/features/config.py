"""Feature settings: the one typed home of the ``features`` config section.

Imports nothing heavier than the standard library, so the workflow can check a config (and
Snakemake build its DAG) without loading librosa or JAX. The defaults equal
``config/config.yaml``'s (``tests/unit/config/test_defaults.py`` checks it).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal, get_args

from jaxaudio.config.typed import FromDict

Backend = Literal["jax", "librosa"]
Crop = Literal["center", "start", "windows"]
BACKENDS: tuple[str, ...] = get_args(Backend)
CROPS: tuple[str, ...] = get_args(Crop)


@dataclass(frozen=True)
class FeatureConfig(FromDict):
    """Feature settings; every field is a workflow parameter (changing one recomputes)."""

    sample_rate: int = 22050
    clip_seconds: float = 1.0
    crop: Crop = "center"
    n_mfcc: int = 40
    n_mels: int = 128
    n_fft: int = 2048
    hop_length: int = 512
    delta_width: int = 9
    window_hop_seconds: float = 0.5
    backend: Backend = "jax"

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

    @property
    def mel_band(self) -> tuple[float, float]:
        """``(fmin, fmax)`` in Hz that the mel filterbank spans, what the features hear. Both
        backends keep ``librosa.filters.mel``'s defaults, fmin 0 and fmax ``None`` =
        ``sample_rate / 2`` (``frontend.mel_matrix``, ``librosa.feature.mfcc``)."""
        return 0.0, self.sample_rate / 2

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
        if self.crop not in CROPS:
            raise ValueError(f"features.crop must be one of {CROPS}, got {self.crop!r}")
        if self.window_hop_seconds <= 0:
            raise ValueError(
                f"features.window_hop_seconds must be > 0, got {self.window_hop_seconds}"
            )
        if self.backend not in BACKENDS:
            raise ValueError(f"features.backend must be one of {BACKENDS}, got {self.backend!r}")
        if self.n_mfcc > self.n_mels:
            raise ValueError(
                f"features.n_mfcc ({self.n_mfcc}) exceeds features.n_mels ({self.n_mels})"
            )
