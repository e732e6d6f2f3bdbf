"""Stages ``bundle``, ``bundle_ensemble`` and ``bundle_best`` (workflow/rules/bundle.smk):
model bundles for ``jaxaudio predict``, each with the floor under its thresholds tuned on
soundscapes of the validation clips (:mod:`jaxaudio.inference.field_threshold`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jaxaudio.inference.bundle import write_best_bundle, write_bundle
from jaxaudio.inference.field_threshold import FieldSettings, field_threshold


@dataclass(frozen=True)
class Inputs:
    model: Path
    metrics: Path  # metrics.json: the per-species thresholds and the test metrics
    manifest: Path  # the workflow's manifest.csv: the val clips the field floor is tuned on


@dataclass(frozen=True)
class Outputs:
    bundle: Path


def bundle(
    inputs: Inputs,
    outputs: Outputs,
    features: Mapping[str, Any],
    source: Mapping[str, Any],
    field: Mapping[str, Any] | None = None,
) -> Path:
    """One run's bundle; ``source`` (experiment, model, seed) is recorded in bundle.json;
    ``field``: ``evaluation.field_threshold``."""
    out = write_bundle(
        inputs.model, inputs.metrics, dict(features), outputs.bundle, source=dict(source)
    )
    field_threshold(out, inputs.manifest, FieldSettings.from_config(field))
    return out


@dataclass(frozen=True)
class BestInputs:
    comparison: Path
    manifest: Path
    models: list[Path]  # parallel to the runs
    metrics: list[Path]
    ensemble_metrics: list[Path] | None = None  # parallel to the seed ensembles


def bundle_best(
    inputs: BestInputs,
    outputs: Outputs,
    runs: Sequence[Mapping[str, Any]],
    features: Mapping[str, Mapping[str, Any]],
    ensembles: Sequence[Mapping[str, Any]] = (),
    field: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The bundle of the configuration the comparison recommends (first seed, or every seed
    when it is a seed ensemble); ``features``: each experiment's feature settings;
    ``ensembles``: the seed ensembles evaluated, parallel to ``inputs.ensemble_metrics``."""
    source = write_best_bundle(
        list(runs),
        list(inputs.models),
        list(inputs.metrics),
        inputs.comparison,
        {e: dict(f) for e, f in features.items()},
        outputs.bundle,
        ensembles=list(ensembles),
        ensemble_metrics=list(inputs.ensemble_metrics or []),
    )
    field_threshold(outputs.bundle, inputs.manifest, FieldSettings.from_config(field))
    return source


@dataclass(frozen=True)
class EnsembleInputs:
    models: list[Path]  # the seeds' models
    metrics: Path  # the ensemble's metrics.json
    manifest: Path


def bundle_ensemble(
    inputs: EnsembleInputs,
    outputs: Outputs,
    features: Mapping[str, Any],
    source: Mapping[str, Any],
    field: Mapping[str, Any] | None = None,
) -> Path:
    """A seed ensemble's bundle (every seed's model, the ensemble's temperature and
    thresholds); ``source`` (experiment, model, seeds) is recorded in bundle.json."""
    out = write_bundle(
        list(inputs.models), inputs.metrics, dict(features), outputs.bundle, source=dict(source)
    )
    field_threshold(out, inputs.manifest, FieldSettings.from_config(field))
    return out
