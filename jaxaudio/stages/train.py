"""Stage ``train`` (workflow/rules/train.smk): train one (experiment, model, seed) run from the
workflow's artifacts and write the model, its history and its summary (:func:`run`, rule
``train``); or, with ``training.vmap_seeds``, every seed of an experiment × model as one vmapped
program, each seed's files written as its own run writes them (:func:`run_seeds`, rule
``train_seeds``).

Class weights and normalisation statistics are looked up **by name** (species, channel) from
their JSON artifacts, in the clip table's species order. Resumable checkpoints go to
``checkpoints``, which is not a declared output, so Snakemake does not delete them when it
reruns an interrupted job; they resume only when the settings and the *content* of the
feature cache and the clip table are those they were made with.

``training.objective``: with ``softmax`` the labels are the clip table's integer ``label``
(background, when there is a background set, the reserved last output) and a multi-label
table is refused before training (:meth:`~jaxaudio.data.clips.ClipTable.check_objective`);
with ``sigmoid`` they are its ``(N, C)`` multi-hot targets and the model has one output per
species, background clips being all-zero rows.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from jaxaudio.data.clips import ClipTable
from jaxaudio.features.offsets import copy_rows
from jaxaudio.features.stats import norm_mode, stats_arrays, stats_channels
from jaxaudio.features.streaming import ClipViews, NpyRows
from jaxaudio.inference.model_store import save_model
from jaxaudio.runtime.step_cache import file_digest
from jaxaudio.training.loop import TrainData, TrainResult, fit
from jaxaudio.training.seeds import check_seed_group, fit_seeds
from jaxaudio.training.settings import TrainSettings
from jaxaudio.training.weights import weight_vector


@dataclass(frozen=True)
class Inputs:
    features: Path  # features.npy, the feature cache
    clips: Path  # clips.csv, one row per cache row
    stats: Path  # stats.json, the training split's channel statistics
    weights: Path  # class_weights.json, every method's weights by species
    offsets: Path | None = None  # offsets.npy: offset copies of every clip, when made


@dataclass(frozen=True)
class Outputs:
    model: Path  # a directory (jaxaudio.inference.model_store)
    history: Path  # history.csv
    summary: Path  # summary.json


@dataclass(frozen=True)
class SeedOutputs:
    """The outputs of rule ``train_seeds``: each seed's, in ``run.seeds`` order."""

    model: list[Path]
    history: list[Path]
    summary: list[Path]

    def per_seed(self) -> list[Outputs]:
        return [
            Outputs(m, h, s) for m, h, s in zip(self.model, self.history, self.summary, strict=True)
        ]


def split_views(
    table: ClipTable,
    features: Path,
    offsets: Path | None,
    split: str,
    objective: str = "softmax",
) -> tuple[NpyRows | ClipViews, np.ndarray]:
    """``(x, y)`` of a split: its clips, or with offset copies each clip then its copies
    (:class:`~jaxaudio.features.streaming.ClipViews`), read batch by batch from the files.
    ``y``: the labels, or the multi-hot targets with the sigmoid ``objective``."""
    rows = table.rows(split)
    y_all = table.targets if objective == "sigmoid" else table.labels
    x, y = table.features(features, rows), y_all[rows]
    if offsets is None:
        return x, y
    copies = table.copies(offsets)
    views = ClipViews(x, NpyRows(offsets, copy_rows(rows, copies)))
    return views, np.repeat(y, views.views, axis=0)


def train_data(
    inputs: Inputs, s: TrainSettings, table: ClipTable, stats: Mapping[str, Any]
) -> TrainData:
    """The training and validation splits (with their offset copies when there are any), the
    statistics of ``s.normalise`` (from ``stats``, the feature set's stats.json) and the class
    weights of ``s.class_weights``, by name."""
    mode = norm_mode(s.normalise)
    mean, std = stats_arrays(stats, mode) if mode != "none" else (None, None)
    outputs = table.outputs(s.objective)
    w = weight_vector(json.loads(inputs.weights.read_text()), s.class_weights, outputs)
    x_train, y_train = split_views(table, inputs.features, inputs.offsets, "train", s.objective)
    x_val, y_val = split_views(table, inputs.features, inputs.offsets, "val", s.objective)
    return TrainData(
        x_train=x_train,
        y_train=y_train,
        x_val=x_val,
        y_val=y_val,
        n_classes=len(outputs),  # softmax: the background class is the last output
        mean=mean,
        std=std,
        weight_vector=w,
        views=getattr(x_train, "views", 1),
        channel_mean=stats_arrays(stats, "channel")[0],  # the masks' fill of raw features
    )


def model_meta(
    s: TrainSettings,
    data: TrainData,
    table: ClipTable,
    summary: dict[str, Any],
    channels: list[str],
) -> dict[str, Any]:
    """``model.json``: what inference needs to rebuild and feed the model, and how it was trained."""
    mode = norm_mode(s.normalise)
    return {
        "arch": s.arch,
        "options": s.model,
        "input_shape": list(data.input_shape),
        "species": table.species,
        "objective": s.objective,
        # the reserved last output, or None (always None with sigmoid: no background output)
        "background": table.background_label if s.objective == "softmax" else None,
        "channels": channels,  # the feature cache's, by name (its stats.json)
        "normalisation": {"mode": mode, "mean": data.mean.tolist(), "std": data.std.tolist()}
        if data.mean is not None
        else None,
        "class_weights": s.class_weights,
        "offset_views": data.views,  # rows per training clip: 1 + its offset copies
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
    table, stats, data = _read(inputs, s)
    result = fit(
        s, data, ckpt_dir=checkpoints, progress=progress, input_fingerprint=_fingerprint(inputs)
    )
    _write(outputs, result, s, data, table, stats)
    return result


def run_seeds(
    inputs: Inputs,
    outputs: Sequence[Outputs],
    settings: Sequence[Mapping[str, Any]],
    checkpoints: Sequence[str | Path],
) -> list[TrainResult]:
    """Train the seeds of one experiment × model (``settings``, one per seed, differing only in
    the seed) as one vmapped program (:func:`jaxaudio.training.seeds.fit_seeds`) and write
    each seed's outputs, as :func:`run` writes them."""
    runs = [TrainSettings.from_dict(dict(s)) for s in settings]
    check_seed_group(runs)  # before any array is read
    if not len(outputs) == len(checkpoints) == len(runs):
        raise ValueError(
            f"{len(runs)} seeds need as many outputs and checkpoint directories, got "
            f"{len(outputs)} and {len(checkpoints)}"
        )
    table, stats, data = _read(inputs, runs[0])
    results = fit_seeds(runs, data, checkpoints, _fingerprint(inputs))
    for out, result, s in zip(outputs, results, runs, strict=True):
        _write(out, result, s, data, table, stats)
    return results


def _read(inputs: Inputs, s: TrainSettings) -> tuple[ClipTable, dict[str, Any], TrainData]:
    """The clip table (its objective checked before any array is read), the statistics and the
    arrays of a run."""
    table = ClipTable.read(inputs.clips)
    table.check_objective(s.objective)
    stats = json.loads(inputs.stats.read_text())
    return table, stats, train_data(inputs, s, table, stats)


def _fingerprint(inputs: Inputs) -> str:
    """The digests of the files a checkpoint was trained on (content, not modification time)."""
    return ":".join(file_digest(f) for f in (inputs.features, inputs.clips, inputs.offsets) if f)


def _write(
    outputs: Outputs,
    result: TrainResult,
    s: TrainSettings,
    data: TrainData,
    table: ClipTable,
    stats: Mapping[str, Any],
) -> None:
    meta = model_meta(s, data, table, result.summary, stats_channels(stats))
    save_model(result.model, outputs.model, meta)
    result.history.to_csv(outputs.history, index=False)
    outputs.summary.write_text(json.dumps(result.summary, indent=2) + "\n")
