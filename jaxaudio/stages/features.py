"""Stage ``features`` (workflow/rules/features.smk): the feature cache of every recording."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from jaxaudio.features.cache import build_feature_cache
from jaxaudio.features.offsets import build_offsets


@dataclass(frozen=True)
class FeatureInputs:
    manifest: Path  # the resolved manifest


@dataclass(frozen=True)
class FeatureOutputs:
    features: Path
    clips: Path
    skipped: Path


def features(
    inputs: FeatureInputs,
    outputs: FeatureOutputs,
    settings: dict[str, Any],
    cache_dir: str | Path | None,
    on_bad_file: str,
    threads: int = 1,
    strict: bool = False,
    progress: bool | None = None,
) -> pd.DataFrame:
    """Featurise every recording of the resolved manifest (:func:`build_feature_cache`)."""
    return build_feature_cache(
        inputs.manifest,
        dict(settings),
        outputs.features,
        outputs.clips,
        outputs.skipped,
        cache_dir=cache_dir,
        on_bad_file=on_bad_file,
        progress=progress,
        threads=threads,
        strict=strict,
    )


@dataclass(frozen=True)
class OffsetInputs:
    clips: Path  # the clip table: which recording and split each clip comes from


@dataclass(frozen=True)
class OffsetOutputs:
    offsets: Path


def offsets(
    inputs: OffsetInputs,
    outputs: OffsetOutputs,
    settings: dict[str, Any],
    offset_settings: dict[str, Any],
    threads: int = 1,
) -> Path:
    """Offset copies of every clip of the table (:func:`build_offsets`)."""
    return build_offsets(
        inputs.clips, dict(settings), dict(offset_settings), outputs.offsets, threads=threads
    )
