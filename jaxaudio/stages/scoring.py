"""What every evaluated model (a deep model or the logistic-regression reference) reads and
writes, and the one way it is scored.

1. Logits ``z`` of every validation and test clip, background clips included (their label is
   the reserved ``C``, :mod:`jaxaudio.data.background_set`).
2. Calibration (``evaluation.calibration: temperature``): the temperature ``T`` minimising the
   validation NLL of ``softmax(z / T)`` (:func:`jaxaudio.evaluation.calibration.fit_temperature`);
   ``T = 1`` with ``none``. Scores are ``p = softmax(z / T)[:, :C]``: the species' columns,
   the background class's share dropped. ECE and Brier before and after are measured on the
   **test** split (fitted on validation, judged where it was not fitted).
3. Per-species thresholds tuned on the calibrated validation scores, background clips as
   negatives for every species, shrunk toward the global threshold by
   ``evaluation.threshold_prior_clips`` (:func:`jaxaudio.evaluation.thresholds.tune_thresholds`).
4. The clip-level metrics of the test split's species clips (argmax among the species), and
   what a detector with those thresholds finds on validation and test — species clips and
   background clips (:func:`jaxaudio.evaluation.thresholds.detections_at_thresholds`).

The rare species come from the training counts in the class-weight artifact, by name.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
from scipy.special import softmax

from jaxaudio.data.clips import ClipTable
from jaxaudio.evaluation.calibration import calibration_summary, fit_temperature
from jaxaudio.evaluation.metrics import Evaluation, evaluate_predictions, save_evaluation
from jaxaudio.evaluation.thresholds import detections_at_thresholds

#: ``evaluation.calibration``: a temperature fitted on validation, or none.
Calibration = Literal["temperature", "none"]
CALIBRATIONS: tuple[str, ...] = get_args(Calibration)

#: ``logits(rows) -> (len(rows), n_outputs)``: a model's logits (or log-probabilities) of the
#: clip table's rows ``rows``, every output (the background class last, when there is one).
Logits = Callable[[np.ndarray], np.ndarray]


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


@dataclass(frozen=True)
class ScoringSettings:
    """The ``evaluation`` keys of the scoring (defaults in config/config.yaml, meanings in
    config/README.md)."""

    rare_quantile: float
    top_k: int
    calibration: Calibration
    threshold_prior_clips: float

    @classmethod
    def from_config(cls, evaluation: dict[str, Any]) -> ScoringSettings:
        return cls(**{k: evaluation[k] for k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Scored:
    """A model's evaluation, with the test rows and their calibrated species scores."""

    evaluation: Evaluation
    test_rows: np.ndarray  # species clips of the test split (rows of the clip table)
    test_probs: np.ndarray  # (len(test_rows), C)
    temperature: float


def _temperature(z_val: np.ndarray, y_val: np.ndarray, method: str) -> float:
    if method == "none" or len(y_val) == 0:
        return 1.0
    if method not in CALIBRATIONS:
        raise ValueError(f"evaluation.calibration must be one of {CALIBRATIONS}, got {method!r}")
    return fit_temperature(z_val, y_val)


def score_splits(
    table: ClipTable,
    inputs: SplitFiles,
    outputs: EvaluationFiles,
    logits: Logits,
    settings: ScoringSettings,
) -> Scored:
    """Score validation and test (steps 1–4 of the module docstring), write the evaluation."""
    n = len(table.species)
    labels = table.labels
    val, test = table.rows("val"), table.require("test")
    z_val, z_test = logits(val), logits(test)
    t = _temperature(z_val, labels[val], settings.calibration)
    p_val, p_test = (softmax(z / t, axis=1)[:, :n] for z in (z_val, z_test))
    species_test = ~table.is_background[test]
    train_counts = json.loads(inputs.weights.read_text())["train_counts"]
    ev = evaluate_predictions(
        labels[test][species_test],
        p_test[species_test],
        table.species,
        train_counts,
        settings.rare_quantile,
        settings.top_k,
        val=(labels[val], p_val) if val.size else None,
        prior_clips=settings.threshold_prior_clips,
    )
    thresholds = ev.metrics["thresholds"]
    ev.metrics["calibration"] = {
        "method": settings.calibration,
        "split": "test",
        **calibration_summary(z_test, labels[test], t),
    }
    if thresholds is not None:
        ev.metrics["detection"] = {
            split: detections_at_thresholds(labels[rows], p, thresholds, table.species)
            for split, rows, p in (("val", val, p_val), ("test", test, p_test))
            if rows.size
        }
    save_evaluation(ev, outputs.metrics, outputs.per_class, outputs.confusion)
    return Scored(ev, test[species_test], p_test[species_test], t)
