"""Stages ``synth`` and ``manifest`` (workflow/rules/data.smk): the data set, resolved into
splits and labels."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from jaxaudio.data.manifest import prepare_manifest
from jaxaudio.data.synthetic import synthesize


@dataclass(frozen=True)
class SynthOutputs:
    manifest: Path


def synth(outputs: SynthOutputs, preset: str, seed: int) -> Path:
    """The embedded synthetic data set, written beside its manifest."""
    return synthesize(outputs.manifest.parent, preset=preset, seed=seed)


@dataclass(frozen=True)
class ManifestInputs:
    manifest: Path  # the user's manifest CSV or folder tree, or the synthetic manifest


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
) -> tuple[pd.DataFrame, list[str]]:
    """Resolve the data source (config ``data``) and write the resolved manifest."""
    return prepare_manifest(
        inputs.manifest,
        outputs.manifest,
        outputs.summary,
        seed=split["seed"],
        val_fraction=split["val_fraction"],
        test_fraction=split["test_fraction"],
        min_clips_per_species=min_clips,
        too_few_clips=too_few_clips,
    )
