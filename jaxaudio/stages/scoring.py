"""What every evaluated model (a deep model or the logistic-regression reference) reads and
writes, and the one way it is scored.

The validation split is scored to tune the per-species thresholds
(:mod:`jaxaudio.evaluation.thresholds`) that the test metrics ``tuned_macro_f1`` use; the rare
species come from the training counts in the class-weight artifact, by species name.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from jaxaudio.data.clips import ClipTable
from jaxaudio.evaluation.metrics import Evaluation, evaluate_predictions, save_evaluation

#: ``probabilities(rows) -> (len(rows), n_classes)``: a model's class probabilities of the clip
#: table's rows ``rows``.
Probabilities = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True, kw_only=True)
class SplitFiles:
    """The clips a model is scored on: the feature cache, its clip table and the class weights.

    Keyword-only, as are the stages' files built on it: a subclass adds fields after these, so
    a positional call would pair paths with the wrong names."""

    features: Path
    clips: Path
    weights: Path  # class_weights.json: its train_counts define the rare species


@dataclass(frozen=True, kw_only=True)
class EvaluationFiles:
    """The evaluation every model writes, so the comparison treats all models alike."""

    metrics: Path
    per_class: Path
    confusion: Path


def score_splits(
    table: ClipTable,
    inputs: SplitFiles,
    outputs: EvaluationFiles,
    probabilities: Probabilities,
    rare_quantile: float,
    top_k: int,
) -> tuple[Evaluation, np.ndarray, np.ndarray]:
    """Score the test split (and validation, for thresholds), evaluate and write the evaluation.

    Returns the evaluation, the test rows and their probabilities.
    """
    test, val_rows = table.require("test"), table.rows("val")
    labels = table.labels
    probs = probabilities(test)
    val = (labels[val_rows], probabilities(val_rows)) if val_rows.size else None
    train_counts = json.loads(inputs.weights.read_text())["train_counts"]
    ev = evaluate_predictions(
        labels[test], probs, table.species, train_counts, rare_quantile, top_k, val=val
    )
    save_evaluation(ev, outputs.metrics, outputs.per_class, outputs.confusion)
    return ev, test, probs
