r"""A floor under a bundle's thresholds, tuned on recordings rather than on clips.

Why: the per-species thresholds (:mod:`jaxaudio.evaluation.thresholds`) maximise F1 on the
validation clips and their offset copies, where nearly every window holds a call and the
negatives of a species are mostly clear calls of other species. A recording is mostly not
that: windows holding part of a call, two calls, a call of a species the model never
learnt, or only noise. Thresholds tuned on clips are too low there (measured on
birdsounds-dev in the field setting, v6 seed 0: median 0.45; the one threshold best on
soundscapes rendered from the validation clips was 0.50 to 0.69), and ``predict`` reports a
species for most sounds. So the threshold a recording needs is tuned on recordings:

1. Render ``files`` soundscapes of ``seconds`` each from the **validation** clips of the
   bundle's species (:func:`jaxaudio.data.soundscape.render_soundscapes`: calls at random
   times, 20 % overlapping, 0-20 dB over synthetic noise, rain, wind and insects; seed
   ``seed``, not ``jaxaudio synth``'s default 0, so their noise is not that of soundscapes
   rendered for testing), or take a user's own annotated recordings
   (``jaxaudio field-threshold``).
2. Score every window as ``jaxaudio predict`` does (:class:`~jaxaudio.inference.predict.
   Detector`, the bundle's window and hop, :func:`~jaxaudio.inference.predict.window_picks`).
3. For each floor ``f`` of :data:`GRID` the thresholds are :math:`t_c(f) = \max(t_c, f)`
   (a species whose own threshold is higher keeps it); the detections they give are scored
   event by event (:func:`jaxaudio.evaluation.events.score_detections`, overlap rule 0.5)
   and the floor with the best micro F1 over the bundle's species is kept (ties: the
   highest floor, fewest detections). :math:`f = 0` is the bundle as it was, so the floor
   never scores worse than that on the recordings it was tuned on.

The bundle's ``thresholds`` then hold the floored ``per_species`` and a ``field`` record:
the floor, what it was tuned on, the event scores at the old and the new thresholds and
the F1 of every floor tried. Validation only: no test clip is rendered or read.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from jaxaudio.data.annotations import durations_of
from jaxaudio.data.files import audio_inputs
from jaxaudio.evaluation.events import DETECTION_COLUMNS, score_detections
from jaxaudio.inference.bundle import Bundle, load_bundle
from jaxaudio.inference.predict import (
    Detector,
    default_top_k,
    hop_samples,
    scored_windows,
    stream_audio,
    window_picks,
)

log = logging.getLogger("jaxaudio.inference.field_threshold")

#: Floors tried: 0 (the bundle's own thresholds) and 0.05, 0.06, ..., 0.99.
GRID = np.concatenate([[0.0], np.round(np.arange(0.05, 0.995, 0.01), 2)])
#: The summary figures recorded before and after.
KEPT = ("recall", "precision", "f1", "false_alarms_per_hour", "n_detections", "n_events")


@dataclass(frozen=True)
class FieldSettings:
    """``evaluation.field_threshold`` of the config (its defaults live there): ``files``
    soundscapes of ``seconds`` each, rendered with ``seed``."""

    files: int
    seconds: float
    seed: int

    @classmethod
    def from_config(cls, section: Mapping[str, Any] | None) -> FieldSettings | None:
        """The settings, or ``None`` (no floor) without a section or with ``files: 0``."""
        if not section or not section.get("files"):
            return None
        return cls(**dict(section))


@dataclass
class ScoredFile:
    """One recording's window starts (seconds) and ``(K, C)`` scores."""

    file: str
    starts: np.ndarray
    scores: np.ndarray


def score_windows(detector: Detector, files: Sequence[str | Path]) -> list[ScoredFile]:
    """Every window of every file, scored as ``predict`` scores it at the bundle's hop."""
    cfg = detector.cfg
    step = hop_samples(cfg.window_hop_seconds, cfg.sample_rate)
    out = []
    for f in files:
        batches = list(scored_windows(detector, stream_audio(f, cfg.sample_rate), step))
        starts = np.asarray([s for b, _ in batches for s in b], np.float64) / cfg.sample_rate
        n_species = len(detector.bundle.species)
        scores = (
            np.concatenate([p for _, p in batches])
            if batches
            else np.zeros((0, n_species), np.float32)
        )
        out.append(ScoredFile(str(f), starts, scores))
    return out


def detections_at(
    scored: Sequence[ScoredFile],
    thresholds: np.ndarray,
    species: Sequence[str],
    window_s: float,
    top_k: int = 1,
) -> pd.DataFrame:
    """The rows ``predict`` writes for ``scored`` windows at ``thresholds``."""
    listed = np.arange(len(species))
    rows = [
        (s.file, s.starts[i], s.starts[i] + window_s, species[c], float(s.scores[i, c]))
        for s in scored
        for i, c in window_picks(s.scores, thresholds, top_k, listed)
    ]
    return pd.DataFrame(rows, columns=DETECTION_COLUMNS)


def tune_floor(
    scored: Sequence[ScoredFile],
    truth: pd.DataFrame,
    durations: Mapping[str, float],
    thresholds: np.ndarray,
    species: Sequence[str],
    window_s: float,
    top_k: int = 1,
    grid: np.ndarray = GRID,
) -> dict[str, Any]:
    """The floor of ``grid`` with the best event F1 (module docstring, step 3)."""
    thresholds = np.asarray(thresholds, np.float64)
    curve, summaries = [], {}
    for f in grid:
        det = detections_at(scored, np.maximum(thresholds, f), species, window_s, top_k)
        s = score_detections(det, truth, durations, list(species)).summary
        summaries[float(f)] = s
        curve.append({"floor": float(f), **{k: s[k] for k in ("f1", "precision", "recall")}})
    f1 = np.array([c["f1"] or 0.0 for c in curve])
    best = float(grid[np.flatnonzero(f1 == f1.max())[-1]])
    return {
        "floor": best,
        "before": {k: summaries[float(grid[0])][k] for k in KEPT},
        "after": {k: summaries[best][k] for k in KEPT},
        "curve": curve,
    }


def validation_calls(manifest: str | Path, species: Sequence[str]) -> pd.DataFrame:
    """``path, species`` of the workflow manifest's validation clips of ``species`` (no
    background, no held-out species)."""
    m = pd.read_csv(manifest)
    keep = (m["split"] == "val") & m["species"].isin(set(species))
    for flag in ("background", "unknown"):
        if flag in m.columns:
            keep &= ~m[flag].astype(bool)
    return m.loc[keep, ["path", "species"]].reset_index(drop=True)


def apply_floor(bundle_dir: str | Path, result: Mapping[str, Any], tuned_on: str) -> None:
    """Write ``result``'s floor into ``bundle_dir/bundle.json`` (atomically): ``per_species``
    raised to it, the thresholds before it kept as ``before_field``."""
    path = Path(bundle_dir) / "bundle.json"
    info = json.loads(path.read_text())
    th = info["thresholds"]
    before = th.get("before_field", th["per_species"])
    th["before_field"] = before
    th["per_species"] = {s: max(float(t), result["floor"]) for s, t in before.items()}
    th["field"] = {"tuned_on": tuned_on, **result}
    tmp = path.with_suffix(".json.partial")
    tmp.write_text(json.dumps(info, indent=2) + "\n")
    tmp.replace(path)


def summary_line(result: Mapping[str, Any]) -> str:
    """``floor F: event F1 a -> b, precision ..., recall ...`` of a :func:`tune_floor` result."""
    b, a = result["before"], result["after"]
    pairs = ", ".join(
        f"{name} {b[k] or 0.0:.3f} -> {a[k] or 0.0:.3f}"
        for name, k in (("event F1", "f1"), ("precision", "precision"), ("recall", "recall"))
    )
    return f"threshold floor {result['floor']:.2f}: {pairs}"


def field_threshold(
    bundle_dir: str | Path, manifest: str | Path, settings: FieldSettings | None
) -> dict[str, Any] | None:
    """Tune and write the floor of ``bundle_dir`` on soundscapes rendered from the
    validation clips of ``manifest`` (module docstring); ``None`` (bundle unchanged) when
    ``settings`` is ``None`` or no species of the bundle has a validation clip."""
    from jaxaudio.data.soundscape import SoundscapeSettings, render_soundscapes

    if settings is None:
        return None
    bundle = load_bundle(bundle_dir)
    calls = validation_calls(manifest, bundle.species)
    if calls.empty:
        log.warning("%s: no validation clip of its species; no field threshold", bundle_dir)
        return None
    known = sorted(calls["species"].unique())
    with tempfile.TemporaryDirectory(prefix="field-threshold-") as tmp:
        render = SoundscapeSettings(
            seconds=settings.seconds, sample_rate=bundle.features.sample_rate
        )
        truth = render_soundscapes(
            calls, known, [], tmp, n_files=settings.files, settings=render, seed=settings.seed
        )
        durations = durations_of(table=Path(tmp) / "soundscapes.csv")
        result = tune_on(bundle, audio_inputs([tmp]), truth, durations)
    tuned_on = (
        f"{settings.files} soundscape(s) of {settings.seconds:g} s rendered from the validation "
        f"clips of {len(known)} species (seed {settings.seed}; jaxaudio/inference/field_threshold.py)"
    )
    apply_floor(bundle_dir, result, tuned_on)
    return result


def tune_on(
    bundle: Bundle,
    files: Sequence[str | Path],
    truth: pd.DataFrame,
    durations: Mapping[str, float],
) -> dict[str, Any]:
    """The floor of ``bundle``'s thresholds best on ``files`` annotated by ``truth`` (the
    bundle's thresholds before any earlier floor)."""
    th = bundle.info["thresholds"]
    own = th.get("before_field", th["per_species"])
    thresholds = np.asarray([own[s] for s in bundle.species], np.float64)
    detector = Detector(bundle)
    top_k = default_top_k(bundle.meta, len(bundle.species))
    scored = score_windows(detector, files)
    result = tune_floor(
        scored, truth, durations, thresholds, bundle.species, detector.window, top_k
    )
    log.info("%s: %s", bundle.path, summary_line(result))
    return result


def field_threshold_on_recordings(
    bundle_dir: str | Path, audio: Sequence[str | Path], truth_source: str | Path
) -> dict[str, Any]:
    """Tune and write the floor of ``bundle_dir`` on a user's own annotated recordings
    (``jaxaudio field-threshold``): ``audio`` files or folders, ``truth_source`` a folder
    of Raven selection tables or a CSV (:func:`jaxaudio.data.annotations.read_truth`);
    truth species the bundle does not know are calls of unknown species."""
    from jaxaudio.data.annotations import read_truth

    files = audio_inputs(audio)
    if not files:
        raise ValueError(f"no audio file in {', '.join(map(str, audio))}")
    truth = read_truth(truth_source)
    result = tune_on(load_bundle(bundle_dir), files, truth, durations_of(files))
    apply_floor(bundle_dir, result, f"{len(files)} recording(s) annotated in {truth_source}")
    return result
