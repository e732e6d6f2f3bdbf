"""Stage ``train`` (workflow/rules/train.smk): train one (experiment, model, seed) run from the
workflow's artifacts and write the model, its history and its summary.

Class weights and normalisation statistics are looked up **by name** (species, channel) from
their JSON artifacts, in the clip table's species order. Resumable checkpoints go to
``checkpoints``, which is not a declared output, so Snakemake does not delete them when it
reruns an interrupted job; they resume only when the settings and the *content* of the
feature cache and the clip table are those they were made with.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from jaxaudio.data.clips import ClipTable
from jaxaudio.features.stats import CHANNELS, norm_mode, stats_arrays
from jaxaudio.inference.model_store import save_model
from jaxaudio.runtime.step_cache import file_digest
from jaxaudio.training.loop import TrainData, TrainResult, fit
from jaxaudio.training.settings import TrainSettings
from jaxaudio.training.weights import weight_vector


@dataclass(frozen=True)
class Inputs:
    features: Path  # features.npy, the feature cache
    clips: Path  # clips.csv, one row per cache row
    stats: Path  # stats.json, the training split's channel statistics
    weights: Path  # class_weights.json, every method's weights by species


@dataclass(frozen=True)
class Outputs:
    model: Path  # a directory (jaxaudio.inference.model_store)
    history: Path  # history.csv
    summary: Path  # summary.json


def train_data(inputs: Inputs, s: TrainSettings, table: ClipTable) -> TrainData:
    """The training and validation splits (read batch by batch from the cache), with the
    statistics of ``s.normalise`` and the class weights of ``s.class_weights``, by name."""
    mode = norm_mode(s.normalise)
    stats = json.loads(inputs.stats.read_text())
    mean, std = stats_arrays(stats, mode) if mode != "none" else (None, None)
    w = weight_vector(json.loads(inputs.weights.read_text()), s.class_weights, table.classes)
    train, val, labels = table.rows("train"), table.rows("val"), table.labels
    return TrainData(
        x_train=table.features(inputs.features, train),
        y_train=labels[train],
        x_val=table.features(inputs.features, val),
        y_val=labels[val],
        n_classes=len(table.classes),  # the background class is the last output
        mean=mean,
        std=std,
        weight_vector=w,
    )


def model_meta(
    s: TrainSettings, data: TrainData, table: ClipTable, summary: dict[str, Any]
) -> dict[str, Any]:
    """``model.json``: what inference needs to rebuild and feed the model, and how it was trained."""
    mode = norm_mode(s.normalise)
    return {
        "arch": s.arch,
        "options": s.model,
        "input_shape": list(data.input_shape),
        "species": table.species,
        "background": table.background_label,  # the reserved last output, or None
        "channels": list(CHANNELS),
        "normalisation": {"mode": mode, "mean": data.mean.tolist(), "std": data.std.tolist()}
        if data.mean is not None
        else None,
        "class_weights": s.class_weights,
        "settings": asdict(s),
        "summary": summary,
    }


def run(
    inputs: Inputs,
    outputs: Outputs,
    settings: Mapping[str, Any],
    checkpoints: str | Path,
    progress: bool = False,
) -> TrainResult:
    """Train one run (``settings``: :func:`jaxaudio.config.load.run_settings`) and write its outputs."""
    s = TrainSettings.from_dict(dict(settings))
    table = ClipTable.read(inputs.clips)
    data = train_data(inputs, s, table)
    result = fit(
        s,
        data,
        ckpt_dir=checkpoints,
        progress=progress,
        input_fingerprint=f"{file_digest(inputs.features)}:{file_digest(inputs.clips)}",
    )
    save_model(result.model, outputs.model, model_meta(s, data, table, result.summary))
    result.history.to_csv(outputs.history, index=False)
    outputs.summary.write_text(json.dumps(result.summary, indent=2) + "\n")
    return result
