"""Stage ``predict`` (workflow/rules/predict.smk): a bundle over recordings of any length."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jaxaudio.inference.predict import PredictRun, predict_paths


@dataclass(frozen=True)
class Inputs:
    bundle: Path
    audio: list[Path]  # files and folders (searched for audio files)
    species_list: list[Path] = field(default_factory=list)  # [] or the job's species_list file


@dataclass(frozen=True)
class Outputs:
    detections: Path
    raven: Path
    audacity: Path  # one Audacity label file per file read
    failed: Path  # file,reason of every file that could not be read (header only when none)


def run(
    inputs: Inputs, outputs: Outputs, settings: Mapping[str, Any], progress: bool = False
) -> PredictRun:
    """Detections of every readable file; the caller decides what failures mean
    (:meth:`PredictRun.require_some_read`)."""
    return predict_paths(
        inputs.bundle,
        inputs.audio,
        outputs.detections,
        outputs.raven,
        failed_csv=outputs.failed,
        progress=progress,
        species_list=inputs.species_list[0] if inputs.species_list else None,
        audacity_dir=outputs.audacity,
        **dict(settings),
    )
