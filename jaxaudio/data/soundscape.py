"""Long annotated soundscapes rendered from labelled clips, with the truth beside them.

Why this exists
---------------
Models are trained on short labelled clips but run over long field recordings. To measure
detection (not only classification) we need long recordings whose every call is known:
this module places a data set's clips (typically its ``test`` split) at random times over
a synthetic background (:mod:`jaxaudio.data.background`) and writes the truth as a table
and as Raven selection tables, the format :mod:`jaxaudio.inference.predict` writes its
detections in.

Soundscapes (:func:`render_soundscapes`)
----------------------------------------
For a file of ``T`` seconds at ``f_s`` Hz (``N_T = round(T f_s)`` samples):

* **Calls.** ``n_known = round_half_up(calls_per_minute · T / 60)`` calls of ``known``
  species and ``n_unknown = round_half_up(unknown_calls_per_minute · T / 60)`` of
  ``unknown`` ones (species the model was not trained on; an empty list draws none). A
  call picks its species uniformly from its list, then one of that species' clips
  uniformly. The calls are shuffled into one sequence.
* **Overlaps.** Of the ``N - 1`` calls that have a predecessor in that sequence,
  ``round_half_up(overlap_fraction · (N - 1))`` (a random subset) start *inside* the
  previous call, at ``s_k = s_{k-1} + floor(u · d_{k-1})``, ``u ~ U(0.1, 0.9)``, ``d`` the
  length in samples. The others start after everything before them has ended. So, in time
  order, exactly that many calls start before all earlier calls have ended.
* **Times.** A non-overlapping call and its chain of overlapping successors form a group
  of extent ``L_g``; the free time ``F = N_T - Σ L_g`` (a ``ValueError`` if negative) is
  split into gaps before, between and after the groups by sorted uniform cut points. No
  call is cut by the file's end.
* **Events.** A call's event is exactly the samples it occupies:
  ``[n_0 / f_s, (n_0 + len(clip)) / f_s)``.
* **Levels.** The background is drawn (its kind ``backgrounds[i % len]`` for file ``i``;
  with probability ``mix_probability`` a second, different kind is added at a relative
  level ``U(0.3, 0.7)``) and scaled to ``background_rms`` (``silence``, if listed, keeps
  its own -80 dBFS level). A call with ``SNR ~ U(snr_db)``
  is its clip times ``g = 10^(SNR/20) · RMS(background over the call's samples) /
  RMS(clip)``: the clip's own waveform, only scaled. Calls add to the background.
  Samples are written as float WAV, so nothing clips even when loud calls overlap.

Files written under ``out_dir``::

    <name>.wav                        float32 WAV, mono, f_s Hz (name = soundscape_000, ...)
    truth/<name>.selections.txt       Raven table of the truth (tab-separated)
    truth.csv                         file, start_s, end_s, species, known, snr_db, clip
    soundscapes.csv                   file, duration_s, sample_rate, background, n_known, n_unknown

The Raven tables have ``Selection, View, Channel, Begin Time (s), End Time (s), Low Freq (Hz),
High Freq (Hz), Species`` (View "Spectrogram 1", Channel 1, Low/High Freq 0 and Nyquist),
selections numbered in time order.

Isolated calls (:func:`render_isolated`)
----------------------------------------
One recording of ``n_calls`` calls, the species visited in shuffled rounds (every species
once before any twice), each call peak-normalised to ``peak`` and separated from the next
by a gap ``~ U(gap_s)`` of faint pink noise (the same kind of gap before the first call
and after the last), no overlaps.

Determinism
-----------
All randomness comes from generators seeded by ``SeedSequence([seed, file, stream])``; the
same inputs and seed give byte-identical files. Each clip is decoded once
(:func:`jaxaudio.data.audio.load_audio`, resampled to ``f_s``) and cached by path.

Using a data set's test clips::

    m = pd.read_csv(root / "manifest.csv")
    render_soundscapes(m[m.split == "test"], known, unknown, out, n_files=5, root=root)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from jaxaudio.data.annotations import RAVEN_SELECTION_COLUMNS
from jaxaudio.data.audio import load_audio
from jaxaudio.data.background import BACKGROUND_KINDS, BackgroundKind, synth_background
from jaxaudio.data.mixing import rms

__all__ = [
    "DEFAULT_BACKGROUNDS",
    "RAVEN_TRUTH_COLUMNS",
    "TRUTH_COLUMNS",
    "SoundscapeSettings",
    "render_isolated",
    "render_soundscapes",
    "write_raven_truth",
]

#: Columns of a Raven truth table (predict's Raven tables without ``Score``).
RAVEN_TRUTH_COLUMNS = RAVEN_SELECTION_COLUMNS
#: Columns of ``truth.csv`` and of the tables returned.
TRUTH_COLUMNS = ["file", "start_s", "end_s", "species", "known", "snr_db", "clip"]

#: Background kinds of a soundscape by default: every kind but ``silence``.
DEFAULT_BACKGROUNDS: tuple[BackgroundKind, ...] = tuple(
    k for k in BACKGROUND_KINDS if k != "silence"
)

_STREAM_CALLS, _STREAM_BACKGROUND, _STREAM_ISOLATED = 1, 2, 3


@dataclass(frozen=True)
class SoundscapeSettings:
    """How :func:`render_soundscapes` builds each file (formulas in the module docstring)."""

    seconds: float = 60.0
    sample_rate: int = 22050
    calls_per_minute: float = 20.0  # calls of known species
    unknown_calls_per_minute: float = 8.0  # calls of unknown species
    overlap_fraction: float = 0.2  # share of calls placed to overlap the previous call
    snr_db: tuple[float, float] = (0.0, 20.0)  # call RMS over the local background RMS
    backgrounds: tuple[BackgroundKind, ...] = DEFAULT_BACKGROUNDS  # cycled per file
    mix_probability: float = 0.5  # chance a file's background mixes in a second kind
    background_rms: float = 0.01

    def __post_init__(self) -> None:
        if not self.seconds > 0:
            raise ValueError(f"seconds must be > 0, got {self.seconds}")
        if self.sample_rate < 1:
            raise ValueError(f"sample_rate must be >= 1 Hz, got {self.sample_rate}")
        for name in ("calls_per_minute", "unknown_calls_per_minute"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        for name in ("overlap_fraction", "mix_probability"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if len(self.snr_db) != 2 or self.snr_db[0] > self.snr_db[1]:
            raise ValueError(f"snr_db must be a (low, high) range, got {self.snr_db}")
        if not self.backgrounds:
            raise ValueError("backgrounds must name at least one kind")
        bad = [k for k in self.backgrounds if k not in BACKGROUND_KINDS]
        if bad:
            raise ValueError(f"unknown background kinds {bad}; use {', '.join(BACKGROUND_KINDS)}")
        if not self.background_rms > 0:
            raise ValueError(f"background_rms must be > 0, got {self.background_rms}")


def _rng(*key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(k) for k in key]))


def _round_half_up(x: float) -> int:
    return int(math.floor(x + 0.5))


class _ClipCache:
    """Decodes each clip once (at the working rate) and keeps it by resolved path."""

    def __init__(self, sample_rate: int, root: str | Path | None) -> None:
        self.sample_rate, self.root, self._clips = sample_rate, root, {}

    def resolve(self, path: str | Path) -> str:
        p = Path(path)
        return str(p if p.is_absolute() or self.root is None else Path(self.root) / p)

    def __call__(self, path: str) -> np.ndarray:
        if path not in self._clips:
            self._clips[path] = load_audio(path, self.sample_rate)
        return self._clips[path]


def _by_species(clips: pd.DataFrame, cache: _ClipCache) -> dict[str, list[str]]:
    """``{species: [resolved clip paths]}``; rejects an empty table or missing columns."""
    if not isinstance(clips, pd.DataFrame) or clips.empty:
        raise ValueError("clips is empty: give a table with columns 'path' and 'species'")
    missing = [c for c in ("path", "species") if c not in clips.columns]
    if missing:
        raise ValueError(f"clips lacks column(s) {missing}; it needs 'path' and 'species'")
    out: dict[str, list[str]] = {}
    for path, species in zip(clips["path"], clips["species"]):
        out.setdefault(str(species), []).append(cache.resolve(path))
    return out


def _check_species(
    by_species: dict[str, list[str]], known: Sequence[str], unknown: Sequence[str]
) -> None:
    for name, group in (("known", known), ("unknown", unknown)):
        if isinstance(group, str):
            raise ValueError(
                f"{name} must be a sequence of species names, not the string {group!r}"
            )
        absent = sorted({s for s in group if s not in by_species})
        if absent:
            raise ValueError(f"{name} species not in clips: {absent}")
    both = sorted(set(known) & set(unknown))
    if both:
        raise ValueError(f"species both known and unknown: {both}")
    if not known and not unknown:
        raise ValueError("known and unknown are both empty: no species to draw calls from")


def _layout(
    lengths: np.ndarray, n_total: int, fraction: float, rng: np.random.Generator
) -> np.ndarray:
    """Start samples of calls of ``lengths`` (in sequence order) in ``n_total`` samples.

    A random ``round_half_up(fraction · (N-1))`` of calls 1..N-1 start inside the previous
    call; the rest start after all earlier calls have ended. Free samples are spread over
    the gaps between groups by sorted uniform cut points.
    """
    n = len(lengths)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    overlapping = np.zeros(n, dtype=bool)
    k = _round_half_up(fraction * (n - 1))
    overlapping[1 + rng.choice(n - 1, size=k, replace=False)] = True
    offsets = np.zeros(n, dtype=np.int64)  # start within its group
    group = np.cumsum(~overlapping) - 1
    extents = np.zeros(group[-1] + 1, dtype=np.int64)
    for i in range(n):
        if overlapping[i]:
            offsets[i] = offsets[i - 1] + int(rng.uniform(0.1, 0.9) * lengths[i - 1])
        extents[group[i]] = max(extents[group[i]], offsets[i] + lengths[i])
    free = n_total - int(extents.sum())
    if free < 0:
        raise ValueError(
            f"{n} calls need {extents.sum()} samples but the file has {n_total}: "
            "lower the call rates or make the file longer"
        )
    cuts = np.sort(rng.integers(0, free + 1, size=len(extents)))
    group_starts = cuts + np.concatenate([[0], np.cumsum(extents)[:-1]])
    return group_starts[group] + offsets


def _background(
    index: int, n: int, settings: SoundscapeSettings, seed: int
) -> tuple[np.ndarray, list[str]]:
    """File ``index``'s background samples and its kinds (primary first).

    The mix of the sounding kinds is scaled to ``background_rms``; ``silence`` keeps its
    own -80 dBFS level (alone, the file's background is near-silent).
    """
    rng = _rng(seed, index, _STREAM_BACKGROUND)
    kinds = [settings.backgrounds[index % len(settings.backgrounds)]]
    others = [k for k in dict.fromkeys(settings.backgrounds) if k != kinds[0]]
    if others and rng.random() < settings.mix_probability:
        kinds.append(others[int(rng.integers(len(others)))])
    sounding, faint = np.zeros(n, dtype=np.float64), np.zeros(n, dtype=np.float64)
    for j, kind in enumerate(kinds):
        x = synth_background(kind, n, settings.sample_rate, rng, rms=1.0)
        if kind == "silence":
            faint += x
        else:
            sounding += (1.0 if j == 0 else rng.uniform(0.3, 0.7)) * x
    power = rms(sounding)
    scale = settings.background_rms / power if power > 0 else 0.0
    return sounding * scale + faint, kinds


def _draw_calls(
    by_species: dict[str, list[str]],
    known: Sequence[str],
    unknown: Sequence[str],
    settings: SoundscapeSettings,
    rng: np.random.Generator,
) -> list[tuple[str, bool, str]]:
    """Shuffled ``(species, known, clip path)`` of one file's calls."""
    minutes = settings.seconds / 60.0
    calls = []
    for group, is_known, rate in (
        (known, True, settings.calls_per_minute),
        (unknown, False, settings.unknown_calls_per_minute),
    ):
        if not group:
            continue
        for _ in range(_round_half_up(rate * minutes)):
            species = group[int(rng.integers(len(group)))]
            paths = by_species[species]
            calls.append((species, is_known, paths[int(rng.integers(len(paths)))]))
    order = rng.permutation(len(calls))
    return [calls[i] for i in order]


def _render_file(
    index: int,
    name: str,
    by_species: dict[str, list[str]],
    known: Sequence[str],
    unknown: Sequence[str],
    settings: SoundscapeSettings,
    seed: int,
    cache: _ClipCache,
) -> tuple[np.ndarray, list[tuple], list[str]]:
    """Samples, truth rows and background kinds of soundscape ``index``."""
    sr = settings.sample_rate
    n_total = int(round(settings.seconds * sr))
    rng = _rng(seed, index, _STREAM_CALLS)
    calls = _draw_calls(by_species, known, unknown, settings, rng)
    waves = [cache(path) for _, _, path in calls]
    starts = _layout(
        np.array([len(w) for w in waves], dtype=np.int64), n_total, settings.overlap_fraction, rng
    )
    background, kinds = _background(index, n_total, settings, seed)
    mix = background.copy()
    rows = []
    for (species, is_known, path), wave, start in zip(calls, waves, starts):
        snr = float(rng.uniform(*settings.snr_db))
        local = rms(background[start : start + len(wave)])
        mix[start : start + len(wave)] += wave * (10 ** (snr / 20) * local / rms(wave))
        rows.append((name, start / sr, (start + len(wave)) / sr, species, is_known, snr, path))
    return mix.astype(np.float32), rows, kinds


def write_raven_truth(truth: pd.DataFrame, path: str | Path, sample_rate: int) -> Path:
    """Write one file's truth rows (``start_s``, ``end_s``, ``species``) as a Raven table.

    Selections are numbered 1.. in time order; Low/High Freq are 0 and the Nyquist frequency.
    """
    rows = truth.sort_values(["start_s", "end_s"], kind="stable")
    table = pd.DataFrame(
        {
            "Selection": np.arange(1, len(rows) + 1),
            "View": "Spectrogram 1",
            "Channel": 1,
            "Begin Time (s)": rows["start_s"].to_numpy(),
            "End Time (s)": rows["end_s"].to_numpy(),
            "Low Freq (Hz)": 0.0,
            "High Freq (Hz)": sample_rate / 2,
            "Species": rows["species"].to_numpy(),
        },
        columns=RAVEN_TRUTH_COLUMNS,
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, sep="\t", index=False)
    return path


def render_soundscapes(
    clips: pd.DataFrame,
    known: Sequence[str],
    unknown: Sequence[str],
    out_dir: str | Path,
    n_files: int = 1,
    settings: SoundscapeSettings | None = None,
    seed: int = 0,
    *,
    root: str | Path | None = None,
) -> pd.DataFrame:
    """Render ``n_files`` soundscapes of ``known`` and ``unknown`` species' calls into ``out_dir``.

    ``clips`` has columns ``path`` and ``species`` (a relative ``path`` is taken relative to
    ``root`` when given, else to the working directory). Writes the files listed in the
    module docstring and returns the truth (:data:`TRUTH_COLUMNS`, sorted by file and start).
    Raises ``ValueError`` for an empty ``clips``, species not in ``clips``, a species both
    known and unknown, or calls that do not fit in ``settings.seconds``.
    """
    settings = settings or SoundscapeSettings()
    if n_files < 1:
        raise ValueError(f"n_files must be >= 1, got {n_files}")
    cache = _ClipCache(settings.sample_rate, root)
    by_species = _by_species(clips, cache)
    known, unknown = list(dict.fromkeys(known)), list(dict.fromkeys(unknown))
    _check_species(by_species, known, unknown)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tables, summary = [], []
    for i in range(n_files):
        name = f"soundscape_{i:03d}"
        mix, rows, kinds = _render_file(i, name, by_species, known, unknown, settings, seed, cache)
        sf.write(out / f"{name}.wav", mix, settings.sample_rate, subtype="FLOAT")
        truth = pd.DataFrame(rows, columns=TRUTH_COLUMNS).sort_values("start_s", kind="stable")
        write_raven_truth(truth, out / "truth" / f"{name}.selections.txt", settings.sample_rate)
        tables.append(truth)
        n_known = int(truth["known"].sum())
        summary.append(
            (
                name,
                len(mix) / settings.sample_rate,
                settings.sample_rate,
                "+".join(kinds),
                n_known,
                len(truth) - n_known,
            )
        )
    truth = pd.concat(tables, ignore_index=True).astype({"known": bool})
    truth.to_csv(out / "truth.csv", index=False)
    pd.DataFrame(
        summary, columns=["file", "duration_s", "sample_rate", "background", "n_known", "n_unknown"]
    ).to_csv(out / "soundscapes.csv", index=False)
    return truth


def render_isolated(
    clips: pd.DataFrame,
    out_path: str | Path,
    n_calls: int = 20,
    gap_s: tuple[float, float] = (2.0, 6.0),
    noise_rms: float = 0.002,
    sample_rate: int = 22050,
    seed: int = 0,
    *,
    peak: float = 0.5,
    root: str | Path | None = None,
) -> pd.DataFrame:
    """One recording of ``n_calls`` isolated calls over faint pink noise, and its truth.

    Species are visited in shuffled rounds, a clip drawn uniformly within the species; each
    call is scaled to peak ``|amplitude|`` ``peak``; gaps (also before the first and after
    the last call) are ``U(gap_s)`` seconds. Writes ``out_path`` (float WAV) and
    ``<out_path's folder>/truth/<stem>.selections.txt``; returns the truth
    (:data:`TRUTH_COLUMNS`, ``known`` True, ``snr_db`` NaN).
    """
    if n_calls < 1:
        raise ValueError(f"n_calls must be >= 1, got {n_calls}")
    if not 0 <= gap_s[0] <= gap_s[1]:
        raise ValueError(f"gap_s must be a range 0 <= low <= high, got {gap_s}")
    if not noise_rms > 0 or not peak > 0:
        raise ValueError(f"noise_rms and peak must be > 0, got {noise_rms} and {peak}")
    cache = _ClipCache(sample_rate, root)
    by_species = _by_species(clips, cache)
    rng = _rng(seed, 0, _STREAM_ISOLATED)
    names = sorted(by_species)
    rounds = -(-n_calls // len(names))
    order = [names[j] for _ in range(rounds) for j in rng.permutation(len(names))][:n_calls]
    paths = [by_species[s][int(rng.integers(len(by_species[s])))] for s in order]
    waves = [cache(p) for p in paths]
    gaps = np.round(rng.uniform(gap_s[0], gap_s[1], n_calls + 1) * sample_rate).astype(np.int64)
    lengths = np.array([len(w) for w in waves], dtype=np.int64)
    starts = np.cumsum(gaps[:-1]) + np.concatenate([[0], np.cumsum(lengths)[:-1]])
    n_total = int(gaps.sum() + lengths.sum())
    mix = synth_background("pink", n_total, sample_rate, rng, rms=noise_rms).astype(np.float64)
    out_path = Path(out_path)
    rows = []
    for species, path, wave, start in zip(order, paths, waves, starts):
        mix[start : start + len(wave)] += wave * (peak / float(np.max(np.abs(wave))))
        end = (start + len(wave)) / sample_rate
        rows.append((out_path.stem, start / sample_rate, end, species, True, np.nan, path))
    out_path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(out_path, mix.astype(np.float32), sample_rate, subtype="FLOAT")
    truth = pd.DataFrame(rows, columns=TRUTH_COLUMNS)
    write_raven_truth(
        truth, out_path.parent / "truth" / f"{out_path.stem}.selections.txt", sample_rate
    )
    return truth
