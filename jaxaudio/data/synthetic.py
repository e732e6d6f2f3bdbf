"""Synthetic long-tailed bioacoustic data set, written as real audio files + ``manifest.csv``.

Why this exists
---------------
The workflow's default run (``make run``) must work without downloading anything, yet it
should go through *exactly* the code path that real recordings take. So instead of feeding
arrays to the model, this module writes 16-bit PCM WAV files to
``OUT/audio/<species>/<species-slug>_<nnn>.wav`` and a ``OUT/manifest.csv`` with columns
``path,species,split`` (``path`` relative to the manifest's folder, ``split`` one of
``train``/``val``/``test``) — the format users give us. Deliberate "rough edges" exercise
the pipeline:

* files are written at ``sample_rate`` = 32 kHz, not the pipeline's 22 050 Hz, so the
  resampler runs;
* clip durations vary per clip in ``[min_seconds, max_seconds]``, so pad/crop runs;
* species names contain spaces (``"Sweep 03 up"``), so paths contain spaces;
* the species frequencies are long-tailed, so class weighting / balanced metrics matter.

Long tail
---------
Species are ranked ``i = 0 .. C-1`` (0 = commonest). Train counts fall geometrically::

    n_train(i) = round_half_up(max_train * (min_train / max_train) ** (i / (C - 1)))

so ``n_train(0) = max_train``, ``n_train(C-1) = min_train`` and the sequence is
non-increasing (rounding a monotone sequence keeps it monotone). Validation and test
counts follow the train count with a floor, so even the rarest species can be evaluated::

    n_val(i)  = max(min_val,  round_half_up(val_fraction  * n_train(i)))
    n_test(i) = max(min_test, round_half_up(test_fraction * n_train(i)))

Each species' clips are numbered ``0 .. n_train+n_val+n_test-1``; the first ``n_train``
are ``train``, the next ``n_val`` are ``val``, the rest ``test``. Clips are i.i.d. draws,
so this contiguous assignment is as good as a shuffle and is explicit in the manifest.

Species = distinct parametric call types
----------------------------------------
Four call families, each with its own parameters (all frequencies stay below ~8 kHz before
jitter, i.e. well below 10 kHz after it, because the pipeline resamples to 22 050 Hz):

``sweep``
    FM sweep from ``f_start`` to ``f_end`` (up or down), linear
    ``f(t) = f0 + (f1 - f0) t / T`` -> phase ``2π (f0 t + (f1 - f0) t² / (2T))`` or
    exponential ``f(t) = f0 k^(t/T)``, ``k = f1/f0`` -> phase ``2π f0 T (k^(t/T) - 1) / ln k``.
``stack``
    Harmonic stack ``Σ_{h=1..H} ρ^(h-1) sin(h φ(t) + θ_h)`` with fundamental ``f0``, ``H``
    harmonics, roll-off ``ρ`` per harmonic and a slow vibrato
    ``f(t) = f0 (1 + d sin(2π v t))``, ``φ = 2π ∫ f``.
``trill``
    A carrier ``fc`` gated by a pulse train of ``rate`` Hz and duty cycle ``duty``; each pulse
    has a Hann envelope and a small downward chirp ``f = fc (1 - c · u)``, ``u`` the position
    within the pulse in ``[0, 1)``.
``noise``
    Band-limited noise (FFT mask) of centre ``fc`` and bandwidth ``bw``, optionally
    amplitude-modulated by ``1 - m/2 + (m/2) cos(2π a t)``.

A species repeats its call ``n_notes`` = 1–3 times per clip with a fixed gap. To keep 90
species distinguishable, parameters are *stratified*: a catalogue RNG (seeded by ``seed``)
assigns the family round-robin then shuffles, and gives the ``k``-th species of a family
the ``k``-th of ``m`` log-spaced frequency slots (shuffled); a per-species RNG (seeded by
``(seed, species index)``) then draws the position inside the slot and every other
parameter. Two species of one family are therefore at least about one slot width apart in
frequency, and usually differ in shape parameters too.

Per-clip variation
------------------
Drawn from an RNG seeded by ``(seed, species index, clip index)`` only — so the result of a
clip does not depend on the order clips are generated in:

* pitch factor ``p ~ U(0.94, 1.06)`` scaling every frequency of the call;
* duration factor ``q ~ U(0.85, 1.15)`` scaling note and gap lengths; onset uniform within
  the room the clip leaves;
* SNR ``~ U(0, 20)`` dB of the call over a background of ``1/f^α`` noise,
  ``α ~ U(0.8, 2.0)`` (pink ... brown), band-limited to 30 Hz – 9 kHz. SNR is defined as
  ``10 log10(P_call / P_noise)`` with ``P_call`` the mean power over the call's span
  (first onset to last offset, gaps included) and ``P_noise`` the mean background power;
* with probability 0.3 a faint distractor tone, 6–15 dB below the background power;
* a final peak level ``~ U(0.3, 0.9)`` (amplitude jitter; peak ≤ 0.9 so nothing clips).

Every note has a Tukey (cosine-tapered) envelope and the clip a 10 ms fade in/out, so there
are no clicks.

Determinism
-----------
All randomness comes from :class:`numpy.random.Generator` objects built from
``SeedSequence([seed, stream, ...])``; samples are quantised to int16 by this module (not by
libsndfile), so the same ``(preset, seed)`` gives byte-identical WAV files and manifest.

Run ``python -m jaxaudio.data.synthetic OUT_DIR --preset small --seed 0``.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
from scipy.fft import next_fast_len
from scipy.signal.windows import tukey

__all__ = [
    "KINDS",
    "PRESETS",
    "SpeciesParams",
    "SynthSpec",
    "main",
    "render_call",
    "species_catalogue",
    "split_counts",
    "synthesize",
    "train_counts",
]

#: Call families, in the order used for the round-robin assignment.
KINDS: tuple[str, ...] = ("sweep", "stack", "trill", "noise")

#: Highest frequency (Hz) any call component may have before per-clip pitch jitter (+6 %):
#: 8000 * 1.06 = 8480 Hz, safely below 10 kHz and the 11 025 Hz Nyquist of 22 050 Hz audio.
MAX_CALL_HZ = 8000.0
#: Band of the background noise (Hz).
BACKGROUND_BAND = (30.0, 9000.0)
#: Longest call (all notes + gaps) before duration jitter (s); x1.15 must fit min_seconds.
MAX_CALL_SECONDS = 0.6
PITCH_JITTER = 0.06
DURATION_JITTER = 0.15
SNR_DB = (0.0, 20.0)
PEAK_LEVEL = (0.3, 0.9)
CLIP_FADE_SECONDS = 0.01

# Stream tags for SeedSequence so catalogue, species and clip RNGs never collide.
_STREAM_CATALOGUE = 1
_STREAM_SPECIES = 2
_STREAM_CLIP = 3


@dataclass(frozen=True)
class SynthSpec:
    """Size and shape of a synthetic data set (see the module docstring for the formulas).

    ``n_train(i) = round(max_train * (min_train/max_train) ** (i/(n_species-1)))``;
    ``n_val(i) = max(min_val, round(val_fraction * n_train(i)))``, likewise test.
    """

    n_species: int
    max_train: int  # train clips of the commonest species
    min_train: int  # train clips of the rarest species (>= 3)
    val_fraction: float  # val clips per species = max(min_val, round(val_fraction * n_train))
    test_fraction: float  # likewise for test, with min_test
    min_val: int
    min_test: int
    sample_rate: int  # of the written files; deliberately not 22050 (exercises the resampler)
    min_seconds: float  # clip durations vary per clip in [min_seconds, max_seconds]
    max_seconds: float

    def __post_init__(self) -> None:
        if self.n_species < 2:
            raise ValueError(f"n_species must be >= 2, got {self.n_species}")
        if self.min_train < 3:
            raise ValueError(f"min_train must be >= 3, got {self.min_train}")
        if self.max_train < self.min_train:
            raise ValueError(f"max_train ({self.max_train}) < min_train ({self.min_train})")
        for name in ("val_fraction", "test_fraction"):
            v = getattr(self, name)
            if not 0.0 <= v < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {v}")
        if self.min_val < 1 or self.min_test < 1:
            raise ValueError("min_val and min_test must be >= 1")
        if self.sample_rate < 2 * 10_000:
            raise ValueError(f"sample_rate must be >= 20000 Hz, got {self.sample_rate}")
        if not 0.0 < self.min_seconds <= self.max_seconds:
            raise ValueError("need 0 < min_seconds <= max_seconds")
        if self.min_seconds < MAX_CALL_SECONDS * (1 + DURATION_JITTER) + 2 * CLIP_FADE_SECONDS:
            raise ValueError(
                f"min_seconds must be >= {MAX_CALL_SECONDS * (1 + DURATION_JITTER) + 0.02:.2f} s "
                "so that a whole call fits in every clip"
            )


_SMALL = SynthSpec(
    n_species=10,
    max_train=120,
    min_train=3,
    val_fraction=0.15,
    test_fraction=0.25,
    min_val=3,
    min_test=5,
    sample_rate=32_000,
    min_seconds=0.8,
    max_seconds=2.0,
)

PRESETS: dict[str, SynthSpec] = {
    # The make-run default: 10 species, 351 train / 61 val / 103 test = 515 clips.
    "small": _SMALL,
    # A harder, bigger long tail: 90 species (4,996 clips), otherwise the same.
    "large": replace(_SMALL, n_species=90, max_train=150),
}


@dataclass(frozen=True)
class SpeciesParams:
    """One species' call type.

    ``freq_range`` is the declared ``(low, high)`` frequency range in Hz of a call at pitch
    factor 1 (sweep: start..end; stack: lowest vibrato f0..highest harmonic; trill: chirp
    bottom..carrier; noise: band edges). ``params`` holds the family-specific parameters
    named in the module docstring.
    """

    name: str
    kind: str
    n_notes: int
    note_seconds: float
    gap_seconds: float
    freq_range: tuple[float, float]
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def slug(self) -> str:
        """File-name-safe lower-case form of the name: ``"Sweep 03 up"`` -> ``"sweep-03-up"``."""
        return _slug(self.name)

    @property
    def call_seconds(self) -> float:
        """Length of the whole call (notes + gaps) at duration factor 1."""
        return self.n_notes * self.note_seconds + (self.n_notes - 1) * self.gap_seconds


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _round_half_up(x: float) -> int:
    # Python's round() is banker's rounding (round(4.5) == 4); we want the textbook rule.
    return int(math.floor(x + 0.5))


def _rng(*key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(k) for k in key]))


def train_counts(spec: SynthSpec) -> list[int]:
    """Train clips per species rank (0 = commonest): a geometric long tail.

    ``n_i = round_half_up(max_train * r ** i)`` with ``r = (min_train / max_train) ** (1 / (C - 1))``,
    which gives ``n_0 = max_train``, ``n_{C-1} = min_train``, non-increasing in between.
    """
    c = spec.n_species
    ratio = spec.min_train / spec.max_train
    counts = [_round_half_up(spec.max_train * ratio ** (i / (c - 1))) for i in range(c)]
    # Pin the end points against floating-point drift.
    counts[0], counts[-1] = spec.max_train, spec.min_train
    return counts


def split_counts(spec: SynthSpec) -> list[dict[str, int]]:
    """Per species rank, ``{"train": n, "val": max(min_val, round(val_fraction n)), "test": ...}``."""
    out = []
    for n in train_counts(spec):
        out.append(
            {
                "train": n,
                "val": max(spec.min_val, _round_half_up(spec.val_fraction * n)),
                "test": max(spec.min_test, _round_half_up(spec.test_fraction * n)),
            }
        )
    return out


# --------------------------------------------------------------------------------------
# Species catalogue
# --------------------------------------------------------------------------------------

# Log-spaced slot ranges (Hz) of each family's characteristic frequency.
_SLOT_RANGES: dict[str, tuple[float, float]] = {
    "sweep": (700.0, 5000.0),  # geometric centre of the sweep
    "stack": (220.0, 1400.0),  # fundamental
    "trill": (1500.0, 7000.0),  # carrier
    "noise": (900.0, 6500.0),  # band centre
}


def _slot_value(kind: str, slot: int, n_slots: int, u: float) -> float:
    lo, hi = _SLOT_RANGES[kind]
    return lo * (hi / lo) ** ((slot + u) / n_slots)


def _durations(
    rng: np.random.Generator, notes: tuple[int, int], note_range: tuple[float, float]
) -> tuple[int, float, float]:
    n_notes = int(rng.integers(notes[0], notes[1] + 1))
    gap = float(rng.uniform(0.03, 0.1)) if n_notes > 1 else 0.0
    hi = min(note_range[1], (MAX_CALL_SECONDS - (n_notes - 1) * gap) / n_notes)
    lo = min(note_range[0], hi)
    return n_notes, float(rng.uniform(lo, hi)), gap


def _sweep_species(centre: float, tag: str, rng: np.random.Generator) -> SpeciesParams:
    """An FM sweep whose band sits geometrically around ``centre``.

    With ``r ~ U(1.4, 2.6)`` the band is ``f_lo = centre / sqrt(r)``,
    ``f_hi = min(centre sqrt(r), MAX_CALL_HZ)``, so ``centre`` is its geometric mean (until
    the cap) and the sweep spans a fraction of an octave to over one. Direction (up/down) and
    shape (exponential/linear) are each a fair coin, so two sweeps in one frequency slot
    still differ; 1-3 notes of 0.06-0.25 s.
    """
    ratio = float(rng.uniform(1.4, 2.6))  # f_high / f_low
    f_lo, f_hi = centre / math.sqrt(ratio), min(centre * math.sqrt(ratio), MAX_CALL_HZ)
    up = bool(rng.random() < 0.5)
    shape = "exp" if rng.random() < 0.5 else "linear"
    n_notes, note, gap = _durations(rng, (1, 3), (0.06, 0.25))
    params = {
        "f_start": f_lo if up else f_hi,
        "f_end": f_hi if up else f_lo,
        "shape": shape,
    }
    return SpeciesParams(
        f"Sweep {tag} {'up' if up else 'down'}", "sweep", n_notes, note, gap, (f_lo, f_hi), params
    )


def _stack_species(centre: float, tag: str, rng: np.random.Generator) -> SpeciesParams:
    """A harmonic stack with fundamental ``f0 = centre`` and a slow vibrato of depth ``d``.

    ``d ~ U(0, 0.03)``; the number of harmonics ``H`` is drawn from ``2 .. min(8, H_max)``
    with ``H_max = floor(MAX_CALL_HZ / (f0 (1 + d)))``, the most whose top (at the vibrato's
    peak) stays below :data:`MAX_CALL_HZ` (``H = 1`` when not even two fit). Declared range:
    ``f0 (1 - d) .. H f0 (1 + d)``; 1-3 notes of 0.12-0.35 s.
    """
    f0 = centre
    depth = float(rng.uniform(0.0, 0.03))
    max_h = max(1, int(MAX_CALL_HZ // (f0 * (1 + depth))))
    n_harm = int(rng.integers(2, min(8, max_h) + 1)) if max_h >= 2 else 1
    params = {
        "f0": f0,
        "n_harmonics": n_harm,
        "rolloff": float(rng.uniform(0.35, 0.85)),
        "vibrato_hz": float(rng.uniform(3.0, 12.0)),
        "vibrato_depth": depth,
    }
    n_notes, note, gap = _durations(rng, (1, 3), (0.12, 0.35))
    f_range = (f0 * (1 - depth), n_harm * f0 * (1 + depth))
    return SpeciesParams(f"Stack {tag}", "stack", n_notes, note, gap, f_range, params)


def _trill_species(centre: float, tag: str, rng: np.random.Generator) -> SpeciesParams:
    """A trill: carrier ``fc = centre`` pulsed at 8-40 Hz with duty 0.25-0.7.

    Each pulse chirps down by a fraction ``c ~ U(0, 0.15)``, so the declared range is
    ``fc (1 - c) .. fc``; 1-2 notes of 0.25-0.55 s (long enough to hold several pulses).
    """
    chirp = float(rng.uniform(0.0, 0.15))
    params = {
        "fc": centre,
        "rate_hz": float(rng.uniform(8.0, 40.0)),
        "duty": float(rng.uniform(0.25, 0.7)),
        "chirp": chirp,
    }
    n_notes, note, gap = _durations(rng, (1, 2), (0.25, 0.55))
    return SpeciesParams(
        f"Trill {tag}", "trill", n_notes, note, gap, (centre * (1 - chirp), centre), params
    )


def _noise_species(centre: float, tag: str, rng: np.random.Generator) -> SpeciesParams:
    """Band-limited noise centred on ``centre``, of bandwidth ``bw = centre U(0.1, 0.5)``.

    Half the noise species are amplitude-modulated (15-60 Hz, depth 0.6-1; named
    "pulsed"), so two noise species in one band can still be told apart. Declared range:
    ``centre ± bw / 2``; 1-3 notes of 0.08-0.3 s.
    """
    bw = centre * float(rng.uniform(0.1, 0.5))
    am = bool(rng.random() < 0.5)
    params = {
        "fc": centre,
        "bw": bw,
        "am_hz": float(rng.uniform(15.0, 60.0)) if am else 0.0,
        "am_depth": float(rng.uniform(0.6, 1.0)) if am else 0.0,
    }
    n_notes, note, gap = _durations(rng, (1, 3), (0.08, 0.3))
    name = f"Noise {tag}" + (" pulsed" if am else "")
    return SpeciesParams(
        name, "noise", n_notes, note, gap, (centre - bw / 2, centre + bw / 2), params
    )


#: The species builder of each call family: ``(centre Hz, name tag, rng) -> SpeciesParams``.
_FAMILY_BUILDERS = {
    "sweep": _sweep_species,
    "stack": _stack_species,
    "trill": _trill_species,
    "noise": _noise_species,
}


def _make_species(
    kind: str, number: int, width: int, slot: int, n_slots: int, rng: np.random.Generator
) -> SpeciesParams:
    """One species of family ``kind``, its parameters drawn from its own ``rng``.

    The family's characteristic frequency is drawn inside frequency slot ``slot`` of
    ``n_slots`` (:func:`_slot_value`, position ``U(0.2, 0.8)`` so neighbouring slots keep a
    margin), then the family's builder draws the rest. The name carries ``number``
    zero-padded to ``width`` digits. The draws happen in a fixed order, which is what makes
    the catalogue reproducible from its seed.
    """
    centre = _slot_value(kind, slot, n_slots, float(rng.uniform(0.2, 0.8)))
    tag = f"{number:0{width}d}"
    if kind not in _FAMILY_BUILDERS:
        raise ValueError(f"unknown call kind {kind!r}")
    return _FAMILY_BUILDERS[kind](centre, tag, rng)


def species_catalogue(n_species: int, seed: int = 0) -> list[SpeciesParams]:
    """The ``n_species`` call types, in long-tail rank order (index 0 = commonest).

    Families are dealt round-robin (``KINDS[i % 4]``) and shuffled; within a family of ``m``
    species, species ``k`` gets log-spaced frequency slot ``π(k)`` of ``m`` (``π`` a random
    permutation), so species of one family are spread over its frequency range instead of
    possibly colliding. Name numbers are a random permutation of ``1..n_species``, so that
    names sorted lexically do not reveal the long-tail order.
    """
    cat = _rng(seed, _STREAM_CATALOGUE, n_species)
    kinds = [KINDS[i % len(KINDS)] for i in range(n_species)]
    kinds = [kinds[j] for j in cat.permutation(n_species)]
    numbers = cat.permutation(n_species) + 1
    width = max(2, len(str(n_species)))
    slots: dict[str, list[int]] = {}
    for kind in KINDS:
        m = kinds.count(kind)
        slots[kind] = [int(s) for s in cat.permutation(m)]
    seen: dict[str, int] = {k: 0 for k in KINDS}
    out = []
    for i, kind in enumerate(kinds):
        k = seen[kind]
        seen[kind] += 1
        rng = _rng(seed, _STREAM_SPECIES, n_species, i)
        out.append(
            _make_species(kind, int(numbers[i]), width, slots[kind][k], len(slots[kind]), rng)
        )
    return out


# --------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------


def _note(sp: SpeciesParams, n: int, sr: int, rng: np.random.Generator, pitch: float) -> np.ndarray:
    """One note of ``n`` samples, un-normalised, without envelope."""
    t = np.arange(n) / sr
    dur = n / sr
    p = sp.params
    if sp.kind == "sweep":
        f0, f1 = p["f_start"] * pitch, p["f_end"] * pitch
        if p["shape"] == "exp":
            k = f1 / f0
            phase = 2 * np.pi * f0 * dur * (k ** (t / dur) - 1) / math.log(k)
        else:
            phase = 2 * np.pi * (f0 * t + (f1 - f0) * t**2 / (2 * dur))
        return np.sin(phase + rng.uniform(0, 2 * np.pi))
    if sp.kind == "stack":
        inst = p["f0"] * pitch * (1 + p["vibrato_depth"] * np.sin(2 * np.pi * p["vibrato_hz"] * t))
        phi = 2 * np.pi * np.cumsum(inst) / sr
        x = np.zeros(n)
        for h in range(1, p["n_harmonics"] + 1):
            x += p["rolloff"] ** (h - 1) * np.sin(h * phi + rng.uniform(0, 2 * np.pi))
        return x
    if sp.kind == "trill":
        u_all = t * p["rate_hz"]
        u = (u_all - np.floor(u_all)) / p["duty"]  # position inside the pulse, on if < 1
        on = u < 1.0
        env = np.where(on, np.sin(np.pi * np.minimum(u, 1.0)) ** 2, 0.0)
        inst = p["fc"] * pitch * (1 - p["chirp"] * np.minimum(u, 1.0))
        phi = 2 * np.pi * np.cumsum(inst) / sr
        return env * np.sin(phi + rng.uniform(0, 2 * np.pi))
    if sp.kind == "noise":
        m_fft = next_fast_len(n, real=True)  # arbitrary lengths can be very slow FFTs
        spec = np.fft.rfft(rng.standard_normal(m_fft))
        f = np.fft.rfftfreq(m_fft, 1 / sr)
        fc, bw = p["fc"] * pitch, p["bw"] * pitch
        spec[np.abs(f - fc) > bw / 2] = 0.0
        x = np.fft.irfft(spec, m_fft)[:n]
        if p["am_hz"] > 0:
            m = p["am_depth"]
            x = x * (1 - m / 2 + (m / 2) * np.cos(2 * np.pi * p["am_hz"] * t))
        return x
    raise ValueError(f"unknown call kind {sp.kind!r}")


def render_call(
    species: SpeciesParams,
    sr: int,
    rng: np.random.Generator,
    pitch: float = 1.0,
    duration: float = 1.0,
) -> np.ndarray:
    """Render one noise-free call (``n_notes`` notes separated by gaps), peak-normalised to 1.

    ``pitch`` multiplies every frequency, ``duration`` every note and gap length. Each note
    gets a Tukey envelope with cosine tapers of ``min(25 % of the note, 15 ms)`` at both
    ends (fade-in/out, no clicks). ``rng`` supplies random phases and, for noise bands,
    the noise itself.
    """
    note_n = max(8, int(round(species.note_seconds * duration * sr)))
    gap_n = int(round(species.gap_seconds * duration * sr))
    taper = min(0.5, 2 * 0.015 * sr / note_n)  # tukey alpha = fraction of the note tapered
    env = tukey(note_n, alpha=taper)
    parts: list[np.ndarray] = []
    for j in range(species.n_notes):
        if j:
            parts.append(np.zeros(gap_n))
        x = _note(species, note_n, sr, rng, pitch)
        x = x / (np.max(np.abs(x)) + 1e-12)
        parts.append(x * env)
    call = np.concatenate(parts)
    return call / (np.max(np.abs(call)) + 1e-12)


def _background(n: int, sr: int, rng: np.random.Generator, alpha: float) -> np.ndarray:
    """Unit-RMS ``1/f^alpha`` noise limited to :data:`BACKGROUND_BAND` (FFT shaping)."""
    m_fft = next_fast_len(n, real=True)  # arbitrary lengths can be very slow FFTs
    spec = np.fft.rfft(rng.standard_normal(m_fft))
    f = np.fft.rfftfreq(m_fft, 1 / sr)
    shape = np.zeros_like(f)
    band = (f >= BACKGROUND_BAND[0]) & (f <= BACKGROUND_BAND[1])
    shape[band] = f[band] ** (-alpha / 2)  # power ∝ f^-alpha
    x = np.fft.irfft(spec * shape, m_fft)[:n]
    return x / (np.sqrt(np.mean(x**2)) + 1e-12)


def render_clip(
    species: SpeciesParams, spec: SynthSpec, seed: int, species_index: int, clip_index: int
) -> np.ndarray:
    """One clip (float64, peak in ``[0.3, 0.9]``), a pure function of its arguments."""
    rng = _rng(seed, _STREAM_CLIP, spec.n_species, species_index, clip_index)
    sr = spec.sample_rate
    n = int(round(rng.uniform(spec.min_seconds, spec.max_seconds) * sr))
    pitch = 1 + rng.uniform(-PITCH_JITTER, PITCH_JITTER)
    stretch = 1 + rng.uniform(-DURATION_JITTER, DURATION_JITTER)
    call = render_call(species, sr, rng, pitch=pitch, duration=stretch)[:n]
    fade_n = int(CLIP_FADE_SECONDS * sr)
    room = n - len(call) - 2 * fade_n
    onset = fade_n + (int(rng.integers(0, room + 1)) if room > 0 else 0)
    clip = np.zeros(n)
    clip[onset : onset + len(call)] = call[: n - onset]
    p_call = float(np.mean(call**2))
    snr_db = rng.uniform(*SNR_DB)
    noise = _background(n, sr, rng, alpha=float(rng.uniform(0.8, 2.0)))
    clip += noise * math.sqrt(p_call / 10 ** (snr_db / 10))
    if rng.random() < 0.3:  # faint distractor tone, 6-15 dB below the background
        p_tone = p_call / 10 ** (snr_db / 10) / 10 ** (rng.uniform(6, 15) / 10)
        f_tone = math.exp(rng.uniform(math.log(300.0), math.log(MAX_CALL_HZ)))
        t = np.arange(n) / sr
        clip += math.sqrt(2 * p_tone) * np.sin(2 * np.pi * f_tone * t + rng.uniform(0, 2 * np.pi))
    ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(fade_n) / fade_n)
    clip[:fade_n] *= ramp
    clip[n - fade_n :] *= ramp[::-1]
    peak = rng.uniform(*PEAK_LEVEL)
    return clip * (peak / (np.max(np.abs(clip)) + 1e-12))


def _to_int16(x: np.ndarray) -> np.ndarray:
    # Quantise here (not in libsndfile) so the bytes do not depend on its version.
    return np.clip(np.round(x * 32767.0), -32767, 32767).astype(np.int16)


def synthesize(out_dir: str | Path, preset: str = "small", seed: int = 0) -> Path:
    """Write ``out_dir/audio/<species>/<slug>_<nnn>.wav`` and ``out_dir/manifest.csv``.

    Returns the manifest path. The manifest has columns ``path,species,split`` with ``path``
    relative to ``out_dir`` (forward slashes), rows sorted by species name then path. It is
    written last and atomically, so a present manifest means a complete data set. Existing
    files are overwritten; files not listed in the manifest are left alone (the manifest
    is the source of truth).
    """
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose from {sorted(PRESETS)}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    spec = PRESETS[preset]
    out = Path(out_dir)
    catalogue = species_catalogue(spec.n_species, seed)
    rows: list[tuple[str, str, str]] = []
    for i, (sp, counts) in enumerate(zip(catalogue, split_counts(spec), strict=True)):
        labels = ["train"] * counts["train"] + ["val"] * counts["val"] + ["test"] * counts["test"]
        width = max(3, len(str(len(labels) - 1)))
        folder = out / "audio" / sp.name
        folder.mkdir(parents=True, exist_ok=True)
        for j, split in enumerate(labels):
            fname = f"{sp.slug}_{j:0{width}d}.wav"
            audio = _to_int16(render_clip(sp, spec, seed, i, j))
            sf.write(folder / fname, audio, spec.sample_rate, subtype="PCM_16", format="WAV")
            rows.append((f"audio/{sp.name}/{fname}", sp.name, split))
    rows.sort(key=lambda r: (r[1], r[0]))
    manifest = out / "manifest.csv"
    tmp = out / ".manifest.csv.tmp"
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(("path", "species", "split"))
        writer.writerows(rows)
    os.replace(tmp, manifest)
    return manifest


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: ``python -m jaxaudio.data.synthetic OUT_DIR [--preset small|large] [--seed N]``."""
    ap = argparse.ArgumentParser(
        prog="python -m jaxaudio.data.synthetic",
        description="Write a synthetic long-tailed bird-call data set (WAV files + manifest.csv).",
    )
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--preset", choices=sorted(PRESETS), default="small")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    manifest = synthesize(args.out_dir, args.preset, args.seed)
    spec = PRESETS[args.preset]
    totals = {k: sum(c[k] for c in split_counts(spec)) for k in ("train", "val", "test")}
    print(
        f"synthesised {sum(totals.values())} clips of {spec.n_species} species "
        f"({totals['train']} train / {totals['val']} val / {totals['test']} test) "
        f"at {spec.sample_rate} Hz in {time.perf_counter() - t0:.1f} s -> {manifest}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
