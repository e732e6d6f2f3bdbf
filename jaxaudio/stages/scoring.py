"""What every evaluated model (a deep model or the logistic-regression reference) reads and
writes, and the one way it is scored.

1. Logits ``z`` of every validation and test clip, background clips included (their label is
   the reserved ``C``, :mod:`jaxaudio.data.background_set`). With offset copies
   (:mod:`jaxaudio.features.offsets`) validation is the clips and all their copies, as in
   training: windows of a recording are what the temperature and thresholds will meet.
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
   background clips (:func:`jaxaudio.evaluation.thresholds.detections_at_thresholds`), and
   the test clips of species held out of training (``unknown``, ``evaluation.open_set``,
   :mod:`jaxaudio.data.open_set`), which the clip-level metrics and calibration leave out.

The rare species come from the training counts in the class-weight artifact, by name.

With ``training.objective: sigmoid`` (``objective="sigmoid"``: one output per species, no
background output, :mod:`jaxaudio.training.steps`) the same steps read the clip table's
multi-hot targets (:attr:`jaxaudio.data.clips.ClipTable.targets`; background and unknown
clips all zero): scores are ``σ(z / T)``, ``T`` the binary temperature fitted on validation
(:func:`jaxaudio.evaluation.calibration.fit_binary_temperature`; 1 with ``none``), the
thresholds are tuned per species on the multi-hot validation truth, ``metrics["multilabel"]``
holds :func:`jaxaudio.evaluation.multilabel.multilabel_metrics` of the test split's known
clips (cmAP, micro/macro-F1 at the tuned thresholds) and the clip-level metrics (accuracy,
macro-F1, ... by argmax) are those of the test split's **single-label** species clips, so runs
of either objective compare on the same footing; the test scores saved for the paired
bootstrap are those clips'.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
from scipy.special import expit, softmax
from sklearn.metrics import accuracy_score, f1_score

from jaxaudio.data.clips import ClipTable
from jaxaudio.evaluation.calibration import (
    binary_calibration_summary,
    calibration_summary,
    fit_binary_temperature,
    fit_temperature,
)
from jaxaudio.evaluation.metrics import Evaluation, evaluate_predictions, save_evaluation
from jaxaudio.evaluation.multilabel import multilabel_metrics
from jaxaudio.evaluation.thresholds import detections_at_thresholds
from jaxaudio.training.epochs import validation_metrics

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
    offsets: Path | None = None  # offsets.npy: offset copies of every clip, when made


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
    # features.clip_seconds: the length of every clip, for the detections per hour
    clip_seconds: float | None = None

    @classmethod
    def from_config(cls, evaluation: dict[str, Any], clip_seconds: float) -> ScoringSettings:
        keys = [k for k in cls.__dataclass_fields__ if k != "clip_seconds"]
        return cls(**{k: evaluation[k] for k in keys}, clip_seconds=clip_seconds)


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


def validation_scores(z_val: np.ndarray, y_val: np.ndarray, objective: str) -> dict[str, Any]:
    """Accuracy and macro-F1 of the validation logits as training measures them each epoch
    (:func:`jaxaudio.training.epochs.validation_metrics`, the clips and their offset copies
    pooled): the number the comparison's recommendation ranks by. For a model it repeats its
    best epoch's; for a seed ensemble it is the only one there is."""
    if not len(y_val):
        return {}
    m = validation_metrics(z_val, y_val, np.ones(z_val.shape[1], np.float32), objective)
    return {"accuracy": m["val_acc"], "macro_f1": m["val_macro_f1"], "clips": int(len(y_val))}


def _with_copies(
    z: np.ndarray, y: np.ndarray, rows: np.ndarray, copies: Logits | None
) -> tuple[np.ndarray, np.ndarray]:
    """``(z, y)`` of clip-table ``rows``, followed by their offset copies' when there are any."""
    if copies is None or not rows.size:
        return z, y
    zc = copies(rows)
    return np.concatenate([z, zc]), np.concatenate([y, np.repeat(y, len(zc) // len(rows), axis=0)])


def offset_scores(table: ClipTable, copies: Logits) -> dict[str, Any]:
    """Accuracy and macro-F1 (argmax among the species, sklearn) of each split's species
    clips' offset copies: what the model does on windows that do not start at the call
    (single-label clips only, when the table has multi-label ones)."""
    n, out = len(table.species), {}
    species_clip = ~(table.is_background | table.is_unknown)
    if table.multilabel:
        species_clip &= table.targets.sum(axis=1) == 1
    for split in ("val", "test"):
        rows = table.rows(split)
        rows = rows[species_clip[rows]]  # known species
        if not rows.size:
            continue
        z = copies(rows)
        k = len(z) // len(rows)
        y, pred = np.repeat(table.labels[rows], k), z[:, :n].argmax(1)
        out[split] = {
            "copies_per_clip": k,
            "clips": int(len(z)),
            "accuracy": float(accuracy_score(y, pred)),
            "macro_f1": float(f1_score(y, pred, average="macro", zero_division=0)),
        }
    return out


def score_splits(
    table: ClipTable,
    inputs: SplitFiles,
    outputs: EvaluationFiles,
    logits: Logits,
    settings: ScoringSettings,
    copies: Logits | None = None,
    objective: str = "softmax",
) -> Scored:
    """Score validation and test (steps 1–4 of the module docstring), write the evaluation.

    ``copies(rows)``: the logits of the offset copies of clip-table ``rows``, clip-major
    (``(len(rows)·K, n_outputs)``, :mod:`jaxaudio.features.offsets`), when there are any:
    validation is then the clips and all their copies, and ``metrics["offsets"]`` scores the
    copies of each split (:func:`offset_scores`). ``objective``: the model's
    (``model.json``); ``sigmoid`` scores it as the module docstring's last paragraph says."""
    if objective == "sigmoid":
        return _score_sigmoid(table, inputs, outputs, logits, settings, copies)
    n = len(table.species)
    labels = table.labels
    val, test = table.rows("val"), table.require("test")
    z_val, y_val = _with_copies(logits(val), labels[val], val, copies)
    z_test = logits(test)
    t = _temperature(z_val, y_val, settings.calibration)
    p_val, p_test = (softmax(z / t, axis=1)[:, :n] for z in (z_val, z_test))
    species_test = ~(table.is_background | table.is_unknown)[test]
    train_counts = json.loads(inputs.weights.read_text())["train_counts"]
    ev = evaluate_predictions(
        labels[test][species_test],
        p_test[species_test],
        table.species,
        train_counts,
        settings.rare_quantile,
        settings.top_k,
        val=(y_val, p_val) if val.size else None,
        prior_clips=settings.threshold_prior_clips,
    )
    known_test = ~table.is_unknown[test]  # held-out species have no output to calibrate
    ev.metrics["calibration"] = {
        "method": settings.calibration,
        "split": "test",
        **calibration_summary(z_test[known_test], labels[test][known_test], t),
    }
    splits = (
        ("val", y_val, p_val, None),  # no unknown clips: held out of val
        ("test", labels[test], p_test, table.is_unknown[test]),
    )
    ev.metrics["validation"] = validation_scores(z_val, y_val, "softmax")
    _finish(ev, table, outputs, settings, splits, copies)
    return Scored(ev, test[species_test], p_test[species_test], t)


def _finish(
    ev: Evaluation,
    table: ClipTable,
    outputs: EvaluationFiles,
    settings: ScoringSettings,
    splits: tuple[tuple[str, np.ndarray, np.ndarray, np.ndarray | None], ...],
    copies: Logits | None,
) -> None:
    """What both objectives add last, then write: the detection figures of each non-empty
    ``(split, truth, scores, unknown)`` at the tuned thresholds, the offset copies' scores."""
    thresholds = ev.metrics["thresholds"]
    if thresholds is not None:
        ev.metrics["detection"] = {
            split: detections_at_thresholds(
                y, p, thresholds, table.species, unknown, settings.clip_seconds
            )
            for split, y, p, unknown in splits
            if len(y)
        }
    if copies is not None:
        ev.metrics["offsets"] = offset_scores(table, copies)
    save_evaluation(ev, outputs.metrics, outputs.per_class, outputs.confusion)


def _score_sigmoid(
    table: ClipTable,
    inputs: SplitFiles,
    outputs: EvaluationFiles,
    logits: Logits,
    settings: ScoringSettings,
    copies: Logits | None,
) -> Scored:
    """:func:`score_splits` of a sigmoid (multi-label) model."""
    if settings.calibration not in CALIBRATIONS:
        raise ValueError(
            f"evaluation.calibration must be one of {CALIBRATIONS}, got {settings.calibration!r}"
        )
    targets, labels = table.targets, table.labels
    val, test = table.rows("val"), table.require("test")
    z_val, t_val = _with_copies(logits(val), targets[val], val, copies)
    z_test, t_test = logits(test), targets[test]
    fit = settings.calibration != "none" and len(t_val)
    t = fit_binary_temperature(z_val, t_val) if fit else 1.0
    p_val, p_test = expit(z_val / t), expit(z_test / t)
    known = ~table.is_unknown[test]
    single = known & ~table.is_background[test] & (t_test.sum(axis=1) == 1)
    if not single.any():
        raise ValueError(
            f"{table.path}: no single-label species clip in the test split; the clip-level "
            "metrics (accuracy, macro-F1 by argmax) need some"
        )
    train_counts = json.loads(inputs.weights.read_text())["train_counts"]
    ev = evaluate_predictions(
        labels[test][single],
        p_test[single],
        table.species,
        train_counts,
        settings.rare_quantile,
        settings.top_k,
        val=(t_val, p_val) if val.size else None,
        prior_clips=settings.threshold_prior_clips,
    )
    thresholds = ev.metrics["thresholds"]
    ev.metrics["objective"] = "sigmoid"
    ev.metrics["calibration"] = {
        "method": settings.calibration,
        "split": "test",
        **binary_calibration_summary(z_test[known], t_test[known], t),
    }
    cut = (
        np.asarray([thresholds["per_species"][s] for s in table.species])
        if thresholds is not None
        else 0.5
    )
    ev.metrics["multilabel"] = {
        "split": "test",
        "thresholds": "tuned" if thresholds is not None else 0.5,
        "n_multilabel_clips": int((t_test[known].sum(axis=1) > 1).sum()),
        **multilabel_metrics(t_test[known], p_test[known], cut, table.species),
    }
    splits = (("val", t_val, p_val, None), ("test", t_test, p_test, table.is_unknown[test]))
    ev.metrics["validation"] = validation_scores(z_val, t_val, "sigmoid")
    _finish(ev, table, outputs, settings, splits, copies)
    return Scored(ev, test[single], p_test[single], t)
