"""Field checks: annotated soundscapes rendered from a data set's test clips
(``jaxaudio synth --soundscape`` / ``--isolated``), and detections scored against annotations
(``jaxaudio score``; the workflow's ``score_predictions`` rule for a predict job that names
``truth:``, :func:`score_predictions`).

Which species are *known* (the model was trained on them) and which *unknown*: a bundle's
species list says it (every other species of the test clips is unknown), or, without a
bundle, ``unknown`` species drawn at random (seeded) are held out of the known set.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from jaxaudio.data.annotations import durations_of, read_truth
from jaxaudio.data.manifest import read_manifest
from jaxaudio.data.soundscape import SoundscapeSettings, render_isolated, render_soundscapes
from jaxaudio.evaluation.events import EventScores, score_detections


@dataclass(frozen=True)
class CallPool:
    """The clips calls are drawn from, and which of their species the model knows."""

    clips: pd.DataFrame  # path (absolute), species
    known: list[str]
    unknown: list[str]


def call_pool(
    manifest: str | Path,
    known: Sequence[str] | None = None,
    n_unknown: int = 0,
    seed: int = 0,
    split: str = "test",
) -> CallPool:
    """The clips of ``manifest``'s ``split`` (every clip when it has no split column).
    ``known`` (a bundle's species) makes every other species unknown; else ``n_unknown``
    species are drawn at random as unknown.

    ``split="val"`` renders soundscapes from the validation clips, so that detection settings
    (hop, thresholds, post-processing) can be chosen without looking at the test clips.
    """
    df = read_manifest(manifest)
    if "split" in df.columns:
        if not (df["split"] == split).any():
            raise ValueError(
                f"{manifest}: no clip has split {split!r} (splits: {sorted(df['split'].unique())})"
            )
        df = df[df["split"] == split]
    root = Path(manifest).parent
    clips = pd.DataFrame(
        {
            "path": [
                str(p if Path(p).is_absolute() else (root / p).absolute()) for p in df["path"]
            ],
            "species": df["species"].to_numpy(),
        }
    )
    species = sorted(clips["species"].unique())
    if known is not None:
        kept = [s for s in species if s in set(known)]
        return CallPool(clips, kept, [s for s in species if s not in set(known)])
    if not 0 <= n_unknown < len(species):
        raise ValueError(f"--unknown {n_unknown}: {manifest} has {len(species)} test species")
    held = set(np.random.default_rng(seed).choice(species, n_unknown, replace=False).tolist())
    return CallPool(clips, [s for s in species if s not in held], sorted(held))


def render(
    pool: CallPool,
    out_dir: str | Path,
    files: int,
    settings: SoundscapeSettings,
    isolated: int = 0,
    seed: int = 0,
) -> pd.DataFrame:
    """``files`` soundscapes (or, with ``isolated`` > 0, one recording of that many isolated
    calls of known species) and their truth, written to ``out_dir``."""
    out_dir = Path(out_dir)
    if isolated:
        clips = pool.clips[pool.clips["species"].isin(pool.known)]
        wav = out_dir / "isolated.wav"
        truth = render_isolated(
            clips, wav, n_calls=isolated, sample_rate=settings.sample_rate, seed=seed
        )
        pd.DataFrame({"file": [wav.stem], "duration_s": [sf.info(wav).duration]}).to_csv(
            out_dir / "soundscapes.csv", index=False
        )
        truth.to_csv(out_dir / "truth.csv", index=False)
        return truth
    return render_soundscapes(
        pool.clips, pool.known, pool.unknown, out_dir, n_files=files, settings=settings, seed=seed
    )


def score(
    detections_csv: str | Path,
    truth: str | Path,
    durations: dict[str, float],
    known: Sequence[str] | None = None,
    min_overlap: float = 0.5,
    window_s: float = 5.0,
    out_json: str | Path | None = None,
) -> EventScores:
    """``detections_csv`` (``jaxaudio predict``'s) scored against ``truth`` (a folder of Raven
    tables or a CSV); the summary and per-species table written to ``out_json`` when given."""
    detections = pd.read_csv(detections_csv)
    scores = score_detections(
        detections, read_truth(truth), durations, known, min_overlap=min_overlap, window_s=window_s
    )
    if out_json is not None:
        per = scores.per_species.astype(object).where(scores.per_species.notna(), None)
        Path(out_json).write_text(
            json.dumps({"summary": scores.summary, "per_species": per.to_dict("records")}, indent=2)
            + "\n"
        )
    return scores


@dataclass(frozen=True)
class ScoreInputs:
    """Stage ``score_predictions`` (workflow/rules/predict.smk): one predict job's files."""

    detections: Path  # the job's detections.csv
    truth: Path  # a folder of Raven selection tables or a truth CSV
    audio: list[Path]  # the job's audio files and folders (for the durations)
    bundle: Path  # its species are known; every other truth species is unknown


@dataclass(frozen=True)
class ScoreOutputs:
    scores: Path  # scores.json: summary and per_species, as ``jaxaudio score --out``


def bundle_species(bundle: str | Path) -> list[str]:
    """The species a bundle knows, from its bundle.json (the model is not loaded)."""
    info = Path(bundle) / "bundle.json"
    if not info.is_file():
        raise FileNotFoundError(f"{bundle}: not a model bundle (no bundle.json)")
    return list(json.loads(info.read_text())["species"])


def score_predictions(
    inputs: ScoreInputs, outputs: ScoreOutputs, min_overlap: float = 0.5, window_s: float = 5.0
) -> EventScores:
    """A predict job's detections scored against its truth, as ``jaxaudio score DETECTIONS
    --truth TRUTH --audio AUDIO... --bundle BUNDLE --out scores.json`` scores them."""
    return score(
        inputs.detections,
        inputs.truth,
        durations_of(inputs.audio),
        bundle_species(inputs.bundle),
        min_overlap=min_overlap,
        window_s=window_s,
        out_json=outputs.scores,
    )
