"""Stages ``synth``, ``background`` and ``manifest`` (workflow/rules/data.smk): the data set
and its background set, resolved into splits and labels."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import soundfile as sf

from jaxaudio.data.background import synthetic_background_clips
from jaxaudio.data.background_set import BackgroundSettings
from jaxaudio.data.decoys import decoy_clips
from jaxaudio.data.files import audio_inputs
from jaxaudio.data.manifest import load_resolved, prepare_manifest
from jaxaudio.data.splits import assign_splits
from jaxaudio.data.synthetic import synthesize


@dataclass(frozen=True)
class SynthOutputs:
    manifest: Path


def synth(outputs: SynthOutputs, preset: str, seed: int) -> Path:
    """The embedded synthetic data set, written beside its manifest."""
    return synthesize(outputs.manifest.parent, preset=preset, seed=seed)


def write_synthetic(
    out_dir: Path, settings: BackgroundSettings, seconds: float, sample_rate: int
) -> list[str]:
    """The synthetic background clips and decoy calls of ``settings`` as float WAV files
    (``<kind>_<i>.wav``, ``decoy_<i>.wav``); their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    clips = synthetic_background_clips(settings.synthetic, seconds, sample_rate, settings.seed)
    named = [(f"{kind}_{i:04d}", audio) for i, (kind, audio) in enumerate(clips)]
    decoys = decoy_clips(settings.decoys, seconds, sample_rate, settings.seed)
    named += [(f"decoy_{i:04d}", audio) for i, audio in enumerate(decoys)]
    paths = []
    for name, audio in named:
        path = out_dir / f"{name}.wav"
        sf.write(path, np.asarray(audio, np.float32), sample_rate, subtype="FLOAT")
        paths.append(str(path.absolute()))
    return paths


def write_background_manifest(
    settings: BackgroundSettings,
    out_csv: str | Path,
    clip_seconds: float,
    sample_rate: int,
    split: dict[str, Any],
) -> pd.DataFrame:
    """The background rows (``path, species, split``; species = the label), written to
    ``out_csv`` with the synthetic clips beside it (``synthetic/``)."""
    out_csv = Path(out_csv)
    paths = write_synthetic(out_csv.parent / "synthetic", settings, clip_seconds, sample_rate)
    paths += [str(p.absolute()) for p in audio_inputs(settings.paths)] if settings.paths else []
    df = pd.DataFrame({"path": paths, "species": settings.label})
    df = assign_splits(
        df,
        seed=split["seed"],
        val_fraction=split["val_fraction"],
        test_fraction=split["test_fraction"],
    )
    out_csv.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(out_csv, index=False)
    return df


@dataclass(frozen=True)
class BackgroundOutputs:
    manifest: Path  # the background rows (path, species = the label, split)


def background(
    outputs: BackgroundOutputs,
    settings: BackgroundSettings,
    clip_seconds: float,
    sample_rate: int,
    split: dict[str, Any],
) -> pd.DataFrame:
    """The background set's rows: synthetic clips written beside the manifest, the user's
    background files listed (``data.background``)."""
    return write_background_manifest(settings, outputs.manifest, clip_seconds, sample_rate, split)


@dataclass(frozen=True)
class ManifestInputs:
    manifest: Path  # the user's manifest CSV or folder tree, or the synthetic manifest
    background: Path | None = None  # the background rule's rows, when it runs


@dataclass(frozen=True)
class ManifestOutputs:
    manifest: Path  # resolved: every recording with split and label
    summary: Path  # dataset.json


def manifest(
    inputs: ManifestInputs,
    outputs: ManifestOutputs,
    split: dict[str, Any],
    min_clips: int,
    too_few_clips: str,
    background_label: str | None = None,
    open_set: dict[str, Any] | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """Resolve the data source (config ``data``), with its background rows and the species
    held out of training (``evaluation.open_set``), and write the resolved manifest."""
    rows = load_resolved(inputs.background) if inputs.background is not None else None
    return prepare_manifest(
        inputs.manifest,
        outputs.manifest,
        outputs.summary,
        seed=split["seed"],
        val_fraction=split["val_fraction"],
        test_fraction=split["test_fraction"],
        min_clips_per_species=min_clips,
        too_few_clips=too_few_clips,
        background_label=background_label,
        background_rows=rows,
        open_set=open_set,
    )
