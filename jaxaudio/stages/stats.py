"""Stages ``stats`` and ``weight_table`` (workflow/rules/stats.smk): what the training
split says about the feature cache — per-channel statistics and class weights, keyed by
channel and species name."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jaxaudio.data.clips import ClipTable
from jaxaudio.features.config import FeatureConfig
from jaxaudio.features.stats import channel_stats, save_stats
from jaxaudio.training.weights import compute_class_weights, save_class_weights


@dataclass(frozen=True)
class CacheInputs:
    features: Path
    clips: Path


@dataclass(frozen=True)
class StatsOutputs:
    stats: Path


def stats(
    inputs: CacheInputs, outputs: StatsOutputs, settings: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Training-split channel statistics of the feature cache made with ``settings`` (the
    feature set's: they name the channels; ``None``: the defaults)."""
    table = ClipTable.read(inputs.clips)
    channels = FeatureConfig.from_dict(dict(settings or {})).channels
    result = channel_stats(table.features(inputs.features), table.rows("train"), channels)
    save_stats(result, outputs.stats)
    return result


@dataclass(frozen=True)
class WeightsInputs:
    clips: Path


@dataclass(frozen=True)
class WeightsOutputs:
    weights: Path


def weight_table(
    inputs: WeightsInputs, outputs: WeightsOutputs, beta: float, recommended: str
) -> dict[str, Any]:
    """Every class-weight method's weights of the training clips, keyed by species."""
    table = ClipTable.read(inputs.clips)
    weights = compute_class_weights(table.train_species(), table.classes, beta, recommended)
    # the reserved "no species" class weighted with them (null without a background set)
    weights["background"] = table.background_label
    save_class_weights(weights, outputs.weights)
    return weights
