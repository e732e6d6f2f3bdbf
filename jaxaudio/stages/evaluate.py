"""Stages ``evaluate`` and ``evaluate_ensemble`` (workflow/rules/evaluate.smk): score a trained
model — or the seed ensemble of an experiment x model, the mean of its seeds' probabilities —
on the test split (:func:`jaxaudio.stages.scoring.score_splits`) and write every evaluation
output, with the confusion (and, for a run, training-curve) figures and the test scores the
paired bootstrap reads. The models' species order must equal the clip table's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from jaxaudio.data.clips import ClipTable
from jaxaudio.evaluation.metrics import save_scores
from jaxaudio.evaluation.plots import plot_confusion, plot_history
from jaxaudio.features.offsets import copy_rows
from jaxaudio.features.streaming import NpyRows
from jaxaudio.inference.model_store import Member, ensemble_logits_fn, objective_of
from jaxaudio.runtime.batching import batched_apply
from jaxaudio.stages.scoring import (
    EvaluationFiles,
    Logits,
    ScoringSettings,
    SplitFiles,
    score_splits,
)

#: Clips per forward pass when scoring (memory, not results: any size gives the same scores).
EVAL_BATCH = 256


@dataclass(frozen=True, kw_only=True)
class Inputs(SplitFiles):
    model: Path
    history: Path


@dataclass(frozen=True, kw_only=True)
class EnsembleInputs(SplitFiles):
    models: list[Path]  # the seeds' models of one experiment x model


@dataclass(frozen=True, kw_only=True)
class EnsembleOutputs(EvaluationFiles):
    confusion_png: Path
    # test_scores.npz: the test clips' rows of the clip table (index), labels (y) and
    # probabilities (probs), which the comparison's paired bootstrap reads
    scores: Path | None = None


@dataclass(frozen=True, kw_only=True)
class Outputs(EnsembleOutputs):
    curves_png: Path


def copy_logits(
    table: ClipTable,
    offsets: Path | None,
    scores: Callable[[np.ndarray], np.ndarray],
    batch_size: int = EVAL_BATCH,
) -> Logits | None:
    """``rows -> logits`` of the offset copies of clip-table ``rows`` (clip-major), or ``None``
    without an offsets file."""
    if offsets is None:
        return None
    k, copies = table.copies(offsets), NpyRows(offsets)
    return lambda rows: batched_apply(scores, copies, batch_size, rows=copy_rows(rows, k))


def _members(model_dirs: list[Path], table: ClipTable) -> tuple[list[Member], str]:
    """The models of ``model_dirs`` with their normalisation, and their objective; each must
    have the clip table's species in its order (and its background class), and all one
    objective."""
    members, objectives = [], set()
    for d in model_dirs:
        member, meta = Member.load(d)
        objective = objective_of(meta)
        background = table.background_label if objective == "softmax" else None
        if meta["species"] != table.species or meta.get("background") != background:
            raise ValueError(
                f"{d}: the model's species (or background class) differ from {table.path}"
            )
        members.append(member)
        objectives.add(objective)
    if len(objectives) > 1:
        raise ValueError(f"{model_dirs[0]}: an ensemble's models must share one objective")
    return members, objectives.pop()


def _evaluate(
    model_dirs: list[Path],
    inputs: SplitFiles,
    outputs: EnsembleOutputs,
    scoring: ScoringSettings,
    title: str,
    batch_size: int,
) -> dict[str, Any]:
    """Score one model, or the mean probability of several (a seed ensemble,
    :func:`jaxaudio.inference.model_store.combine_logits`), write the evaluation and the
    confusion figure; returns the test metrics."""
    table = ClipTable.read(inputs.clips)
    members, objective = _members(model_dirs, table)
    features = table.features(inputs.features)  # read batch by batch (jaxaudio.features.streaming)
    scores = ensemble_logits_fn(members, objective)
    scored = score_splits(
        table,
        inputs,
        outputs,
        lambda rows: batched_apply(scores, features, batch_size, rows=rows),
        scoring,
        copies=copy_logits(table, inputs.offsets, scores, batch_size),
        objective=objective,
    )
    if outputs.scores is not None:
        test = scored.test_rows
        save_scores(outputs.scores, test, table.labels[test], scored.test_probs)
    ev = scored.evaluation
    plot_confusion(
        ev.confusion,
        table.species,
        outputs.confusion_png,
        title=f"{title} — test confusion (recall)",
    )
    return ev.metrics


def run(
    inputs: Inputs,
    outputs: Outputs,
    scoring: ScoringSettings,
    title: str = "",
    batch_size: int = EVAL_BATCH,
) -> dict[str, Any]:
    """Evaluate one run; returns the test metrics (``metrics.json``)."""
    metrics = _evaluate([inputs.model], inputs, outputs, scoring, title, batch_size)
    plot_history(pd.read_csv(inputs.history), outputs.curves_png, title=f"{title} — training")
    return metrics


def run_ensemble(
    inputs: EnsembleInputs,
    outputs: EnsembleOutputs,
    scoring: ScoringSettings,
    title: str = "",
    batch_size: int = EVAL_BATCH,
) -> dict[str, Any]:
    """Evaluate the seed ensemble of one experiment x model (``compare.ensemble``): the mean of
    its seeds' probabilities, calibrated, thresholded and scored as one model, with no extra
    training; returns the test metrics."""
    return _evaluate(inputs.models, inputs, outputs, scoring, title, batch_size)
