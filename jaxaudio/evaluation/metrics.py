"""Test-split metrics for a long-tailed species classifier.

Everything here starts from the predicted class probabilities ``probs``
(an ``N x C`` array, one row per test clip, columns in species index order)
and the integer labels ``y_true`` (``0 .. C-1``).  The hard prediction is
``y_pred[i] = argmax_c probs[i, c]`` (ties go to the lowest class index, as
``numpy.argmax`` does).

Why several metrics: on long-tailed data plain accuracy is dominated by the
few frequent species, so we also report

* macro-F1 — every species (that occurs) counts equally, so the tail matters;
* weighted-F1 — F1 averaged with weights proportional to test support;
* balanced accuracy — mean per-class recall over the species in the test set;
* top-k accuracy — whether the true species is in the k best guesses, the
  natural metric for a "suggest a shortlist" use;
* rare-F1 — mean F1 restricted to the rarest training species (see
  :func:`rare_species`), a direct read-out of tail performance.

All metric computations are delegated to :mod:`sklearn.metrics`; this module
only validates inputs, chooses label sets deliberately, and packages results.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
    roc_auc_score,
    top_k_accuracy_score,
)

from jaxaudio.evaluation.thresholds import f1_at_thresholds, tune_thresholds

__all__ = [
    "Evaluation",
    "evaluate_predictions",
    "rare_species",
    "save_evaluation",
]

PER_CLASS_COLUMNS = (
    "species",
    "train_count",
    "precision",
    "recall",
    "f1",
    "support",
    "rare",
    "ap",
    "roc_auc",
    "threshold",
    "f1_tuned",
)


# --------------------------------------------------------------------------
# Rare species
# --------------------------------------------------------------------------


def rare_threshold(train_counts: Mapping[str, int], quantile: float) -> float:
    """The train count at or below which a species is rare: ``np.quantile(counts, quantile)``."""
    if not 0.0 <= float(quantile) <= 1.0 or math.isnan(float(quantile)):
        raise ValueError(f"rare quantile must lie in [0, 1], got {quantile!r}")
    if len(train_counts) == 0:
        raise ValueError("train_counts is empty: cannot define rare species")
    counts = np.asarray([train_counts[s] for s in train_counts], dtype=float)
    if not np.all(np.isfinite(counts)) or np.any(counts < 0):
        bad = [s for s in train_counts if not (float(train_counts[s]) >= 0)]
        raise ValueError(f"train_counts must be finite and non-negative; bad species: {bad}")
    return float(np.quantile(counts, float(quantile)))


def rare_species(train_counts: Mapping[str, int], quantile: float = 0.25) -> list[str]:
    """Species whose training count is at or below the ``quantile`` of counts.

    With training counts :math:`n_1, \\dots, n_C` the threshold is

    .. math::  t = Q_q(n_1, \\dots, n_C)

    where :math:`Q_q` is numpy's default ("linear") quantile: sort the counts
    to :math:`n_{(0)} \\le \\dots \\le n_{(C-1)}`, put :math:`h = q (C-1)` and
    interpolate :math:`t = n_{(\\lfloor h \\rfloor)} + (h - \\lfloor h
    \\rfloor)(n_{(\\lfloor h \\rfloor + 1)} - n_{(\\lfloor h \\rfloor)})`.
    A species *s* is rare iff :math:`n_s \\le t`.

    Why this definition:

    * It is a *threshold on counts*, not "the q·C species with the smallest
      counts", so species with equal counts are treated identically — ties
      are all in or all out, and the rare set never depends on dictionary
      order.
    * Because :math:`t \\ge \\min_s n_s`, the least-frequent species is always
      rare, so the set is never empty (for any ``quantile`` in [0, 1]).
    * The rare set may hold more than a fraction ``q`` of species when many
      species share the threshold count (e.g. with counts
      ``{a: 3, b: 3, c: 5, d: 10, e: 40}`` and ``q = 0.25``, :math:`h = 1`,
      :math:`t = 3`, and the rare set is ``[a, b]``).

    Args:
        train_counts: number of training examples per species.
        quantile: the quantile ``q`` in [0, 1].

    Returns:
        The rare species' names, in the iteration order of ``train_counts``.

    Raises:
        ValueError: if ``train_counts`` is empty, has negative/non-finite
            counts, or ``quantile`` is outside [0, 1].
    """
    threshold = rare_threshold(train_counts, quantile)
    return [s for s in train_counts if float(train_counts[s]) <= threshold]


# --------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------


@dataclass
class Evaluation:
    """Results of :func:`evaluate_predictions`.

    Attributes:
        metrics: scalar/list metrics, JSON-ready (python ``int``/``float``/
            ``str``/``list``/``None`` only; an undefined metric is ``None``).
        per_class: one row per species, in species index order, with columns
            ``species, train_count, precision, recall, f1, support, rare``.
        confusion: ``C x C`` ``int64`` matrix, ``confusion[i, j]`` = number of
            test clips of true species ``i`` predicted as species ``j``; all
            species are present, including ones absent from the test split
            (their row is zero).
    """

    metrics: dict[str, Any]
    per_class: pd.DataFrame
    confusion: np.ndarray


def _check_species(species: Sequence[str]) -> int:
    """The number of classes ``C``, after checking there are at least two, uniquely named.

    Fewer than two classes makes every metric here degenerate (and sklearn's binary paths
    kick in), and duplicated names would make the per-class table and ``train_counts``
    look-ups ambiguous.
    """
    species = list(species)
    n_classes = len(species)
    if n_classes < 2:
        raise ValueError(f"need at least 2 species, got {n_classes}")
    if len(set(species)) != n_classes:
        dupes = sorted({s for s in species if species.count(s) > 1})
        raise ValueError(f"species names must be unique; duplicated: {dupes}")
    return n_classes


def _check_labels(y_true: np.ndarray) -> np.ndarray:
    """``y_true`` as an array, checked to be a non-empty 1-D integer vector (range not yet).

    Float labels are refused rather than cast, so a caller passing probabilities or one-hot
    rows by mistake gets an error instead of silently truncated labels.
    """
    y = np.asarray(y_true)
    if y.ndim != 1:
        raise ValueError(f"y_true must be 1-D, got shape {y.shape}")
    if not (np.issubdtype(y.dtype, np.integer) or y.size == 0):
        raise ValueError(f"y_true must hold integer class labels, got dtype {y.dtype}")
    if y.size == 0:
        raise ValueError("y_true is empty: no test samples to evaluate")
    return y


def _check_probs(probs: np.ndarray, n_rows: int, n_classes: int) -> np.ndarray:
    """``probs`` as a finite ``(n_rows, n_classes)`` float64 array.

    ``argmax`` and the ranking metrics are meaningless with NaN/inf scores (NaN wins every
    ``argmax``), so non-finite values are an error that counts them, not a warning.
    """
    p = np.asarray(probs)
    if p.ndim != 2:
        raise ValueError(f"probs must be 2-D (N x C), got shape {p.shape}")
    if not np.issubdtype(p.dtype, np.number) or np.issubdtype(p.dtype, np.complexfloating):
        raise ValueError(f"probs must be real numbers, got dtype {p.dtype}")
    if p.shape[0] != n_rows:
        raise ValueError(
            f"shape mismatch: probs has {p.shape[0]} rows but y_true has {n_rows} labels"
        )
    if p.shape[1] != n_classes:
        raise ValueError(
            f"shape mismatch: probs has {p.shape[1]} columns but there are {n_classes} species"
        )
    p = p.astype(np.float64, copy=False)
    if not np.all(np.isfinite(p)):
        n_nan = int(np.isnan(p).sum())
        n_inf = int(np.isinf(p).sum())
        raise ValueError(f"probs contains non-finite values ({n_nan} NaN, {n_inf} inf)")
    return p


def _validate(
    y_true: np.ndarray,
    probs: np.ndarray,
    species: Sequence[str],
    train_counts: Mapping[str, int],
    top_k: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Check shapes, label range, species coverage and finiteness.

    Returns ``y_true`` as a 1-D int64 array and ``probs`` as 2-D float64. The checks run
    in a fixed order (species, labels, scores, label range, ``train_counts``, ``top_k``),
    so the first problem found is the one reported.
    """
    species = list(species)
    n_classes = _check_species(species)
    y = _check_labels(y_true)
    p = _check_probs(probs, y.shape[0], n_classes)

    out_of_range = (y < 0) | (y >= n_classes)
    if np.any(out_of_range):
        bad = sorted(set(y[out_of_range].tolist()))
        raise ValueError(
            f"labels out of range: y_true must lie in 0..{n_classes - 1}, found {bad[:10]}"
        )

    missing = [s for s in species if s not in train_counts]
    if missing:
        raise ValueError(f"species missing from train_counts: {missing[:10]}")

    if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 1:
        raise ValueError(f"top_k must be a positive integer, got {top_k!r}")

    return y.astype(np.int64, copy=False), p


def _top_k_accuracy(y: np.ndarray, p: np.ndarray, k: int) -> float:
    """Fraction of samples whose true class is among the ``k`` highest scores.

    .. math::  \\mathrm{top}_k = \\frac1N \\sum_i
               \\mathbf 1[\\,y_i \\in \\operatorname{arg\\,top}_k\\, p_{i\\cdot}]

    Computed by :func:`sklearn.metrics.top_k_accuracy_score` with
    ``labels=range(C)`` so classes missing from ``y_true`` still count as
    candidates.  Two sklearn details are handled here:

    * ``k >= C``: every class is in the top k, so the score is trivially 1.0;
      sklearn returns 1.0 but emits an ``UndefinedMetricWarning``, which we
      silence because that outcome is expected and documented.
    * ``C == 2``: with 2 labels sklearn treats the problem as binary and wants
      a 1-D score for the positive class, thresholded at 0.5 when the scores
      lie in [0, 1].  We pass ``1[p_1 > p_0]`` so that sklearn's top-1
      prediction coincides exactly with ``argmax`` (ties → class 0), for any
      real-valued scores, not only probabilities.

    Ties in the multiclass case are broken by sklearn (higher class index
    ranks first among equal scores), so with exactly tied scores top-1 can
    differ from ``accuracy``; with continuous softmax outputs this is moot.
    """
    n_classes = p.shape[1]
    score = p if n_classes > 2 else (p[:, 1] > p[:, 0]).astype(np.float64)
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore",
            message=r".*greater than or equal to 'n_classes'.*",
            category=UndefinedMetricWarning,
        )
        return float(top_k_accuracy_score(y, score, k=int(k), labels=np.arange(n_classes)))


def _balanced_accuracy(y: np.ndarray, y_pred: np.ndarray) -> float:
    """sklearn ``balanced_accuracy_score``: mean recall over classes in ``y_true``.

    .. math::  \\mathrm{BA} = \\frac1{|T|} \\sum_{c \\in T} R_c,\\quad
               T = \\{c : n_c > 0\\}

    sklearn warns "y_pred contains classes not in y_true" whenever a species
    without test clips is predicted; on long-tailed splits that is routine and
    is exactly the documented behaviour (such classes are left out of *T*), so
    that one warning is silenced.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=r"y_pred contains classes not in y_true", category=UserWarning
        )
        return float(balanced_accuracy_score(y, y_pred))


def _per_class_table(
    y: np.ndarray,
    y_pred: np.ndarray,
    species: list[str],
    counts: Mapping[str, int],
    rare_set: set[str],
) -> pd.DataFrame:
    """Per-species precision, recall, F1 and support, with the train count and rare flag.

    For class *c*: :math:`TP_c = \\#\\{i: y_i = c, \\hat y_i = c\\}`, precision
    :math:`P_c = TP_c / \\#\\{\\hat y_i = c\\}`, recall
    :math:`R_c = TP_c / \\#\\{y_i = c\\}` (support :math:`n_c = \\#\\{y_i=c\\}`),
    :math:`F1_c = 2 P_c R_c / (P_c + R_c)`; any 0/0 is taken as 0.

    From ``precision_recall_fscore_support(labels=range(C), zero_division=0)``: naming every
    label gives every species a row, in class index order, even one without test clips
    (support 0, and 0 rather than NaN for its 0/0 ratios), so tables of different runs line
    up species by species. The other columns of :data:`PER_CLASS_COLUMNS` (``ap`` ...
    ``f1_tuned``) are created empty; :func:`evaluate_predictions` fills them.
    """
    precision, recall, f1, support = precision_recall_fscore_support(
        y, y_pred, labels=np.arange(len(species)), zero_division=0
    )
    return pd.DataFrame(
        {
            "species": species,
            "train_count": [counts[s] for s in species],
            "precision": np.asarray(precision, dtype=np.float64),
            "recall": np.asarray(recall, dtype=np.float64),
            "f1": np.asarray(f1, dtype=np.float64),
            "support": np.asarray(support, dtype=np.int64),
            "rare": [s in rare_set for s in species],
        },
        columns=list(PER_CLASS_COLUMNS),
    )


def _ranking_scores(
    y: np.ndarray, p: np.ndarray, support: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per-species one-vs-rest average precision and ROC-AUC, ``(C,)`` each, NaN where undefined.

    :math:`AP_c` = ``average_precision_score(1[y = c], p_{:,c})``, the area under species
    *c*'s one-vs-rest precision-recall curve: threshold free, so it scores the ranking a
    detector would threshold, not the argmax. Both are undefined (NaN) for a species with no
    test clips (no positives), and ROC-AUC also for a species that has every test clip (no
    negatives); the means in :func:`_ranking_summary` leave those species out.
    """
    ap = np.full(p.shape[1], np.nan)
    auc = np.full(p.shape[1], np.nan)
    for c in np.flatnonzero(np.asarray(support) > 0):
        positive = y == c
        ap[c] = average_precision_score(positive, p[:, c])
        if not positive.all():
            auc[c] = roc_auc_score(positive, p[:, c])
    return ap, auc


def _threshold_columns(
    y: np.ndarray,
    p: np.ndarray,
    species: list[str],
    val: tuple[np.ndarray, np.ndarray] | None,
    prior_clips: float = 0.0,
) -> tuple[dict[str, Any] | None, Any, Any]:
    """``(thresholds, threshold column, f1_tuned column)`` of the per-class table.

    With ``val = (y_val, probs_val)`` the per-species thresholds :math:`t_c` are tuned on
    validation only (:func:`~jaxaudio.evaluation.thresholds.tune_thresholds`) and applied
    unchanged to the test split: ``f1_tuned[c]`` is the one-vs-rest F1 of
    :math:`p_{:,c} \\ge t_c`. Without validation scores nothing can be tuned: no thresholds
    and NaN columns.
    """
    if val is None:
        return None, np.nan, np.nan
    thresholds = tune_thresholds(val[0], val[1], species, prior_clips)
    column = [thresholds["per_species"][s] for s in species]
    return thresholds, column, f1_at_thresholds(y, p, thresholds, species)


def _label_metrics(y: np.ndarray, y_pred: np.ndarray, p: np.ndarray, top_k: int) -> dict[str, Any]:
    """The hard-label metrics, from ``accuracy`` to ``top_k_accuracy`` (keys in this order).

    * ``accuracy`` = :math:`\\frac1N \\sum_i \\mathbf 1[\\hat y_i = y_i]`.
    * ``macro_f1`` = :math:`\\frac1{|L|}\\sum_{c\\in L} F1_c` and
      ``weighted_f1`` = :math:`\\sum_{c\\in L} n_c F1_c / N`, where *L* is
      sklearn's default label set: the classes occurring in ``y_true`` **or**
      ``y_pred``.  A species absent from both does not count (it would add a
      meaningless 0 to the macro average); a species that is predicted but has
      no test clips does count, with :math:`F1_c = 0`, because those
      predictions are real errors.
    * ``balanced_accuracy`` = mean of :math:`R_c` over classes present in
      ``y_true`` (:func:`_balanced_accuracy`).
    * ``top_k_accuracy`` — see :func:`_top_k_accuracy`; ``top_k`` holds *k*.
      Trivially 1.0 when ``k >= C``.
    """
    return {
        "accuracy": float(accuracy_score(y, y_pred)),
        "macro_f1": float(f1_score(y, y_pred, average="macro", zero_division=0)),
        "weighted_f1": float(f1_score(y, y_pred, average="weighted", zero_division=0)),
        "balanced_accuracy": _balanced_accuracy(y, y_pred),
        "top_k": int(top_k),
        "top_k_accuracy": _top_k_accuracy(y, p, int(top_k)),
    }


def _rare_f1(per_class: pd.DataFrame) -> float | None:
    """Mean :math:`F1_c` over rare species (:func:`rare_species`) with test support > 0.

    ``None`` (JSON ``null``) if no rare species occurs in the test split. Rare species with
    no test clips are left out because their F1 is undefined, not zero.
    """
    rare_with_support = per_class["rare"] & (per_class["support"] > 0)
    return (
        float(per_class.loc[rare_with_support, "f1"].mean())
        if bool(rare_with_support.any())
        else None
    )


def _ranking_summary(ap: np.ndarray, auc: np.ndarray) -> dict[str, float | None]:
    """``cmap`` and ``roc_auc``: the means of :func:`_ranking_scores` over defined species.

    ``cmap`` is class-wise mean average precision, the detection metric of BirdSet and
    Perch: :math:`\\frac1{|S|}\\sum_{c \\in S} AP_c` over the species *S* with test clips
    (never empty: the test split has a clip). ``roc_auc`` averages the same way over the
    species that also have negatives; ``None`` if there is none.
    """
    return {
        "cmap": float(np.nanmean(ap)),
        "roc_auc": float(np.nanmean(auc)) if np.isfinite(auc).any() else None,
    }


def _tuned_macro_f1(per_class: pd.DataFrame, thresholds: dict[str, Any] | None) -> float | None:
    """Mean ``f1_tuned`` (:func:`_threshold_columns`) over species with test clips; ``None``
    without tuned thresholds. Species without test clips are left out, as in ``cmap``."""
    with_support = per_class["support"] > 0
    return float(per_class.loc[with_support, "f1_tuned"].mean()) if thresholds else None


def evaluate_predictions(
    y_true: np.ndarray,
    probs: np.ndarray,
    species: Sequence[str],
    train_counts: Mapping[str, int],
    rare_quantile: float = 0.25,
    top_k: int = 5,
    val: tuple[np.ndarray, np.ndarray] | None = None,
    prior_clips: float = 0.0,
) -> Evaluation:
    """Compute test-split metrics from class probabilities.

    The hard prediction is :math:`\\hat y_i = \\arg\\max_c p_{ic}`; per-class precision
    :math:`P_c`, recall :math:`R_c`, support :math:`n_c` and :math:`F1_c` are defined in
    :func:`_per_class_table`. ``metrics`` holds, in this order (all from :mod:`sklearn.metrics`):

    * ``n_test``, ``n_classes``;
    * ``accuracy``, ``macro_f1``, ``weighted_f1``, ``balanced_accuracy``, ``top_k``,
      ``top_k_accuracy`` — see :func:`_label_metrics`;
    * ``rare_f1`` — mean F1 of the rare species with test clips (:func:`_rare_f1`);
    * ``cmap``, ``roc_auc`` — threshold-free one-vs-rest ranking (:func:`_ranking_summary`);
    * ``tuned_macro_f1``, ``thresholds`` — with ``val = (y_val, probs_val)``, per-species
      thresholds tuned on validation (:func:`_threshold_columns`, :func:`_tuned_macro_f1`);
    * ``rare_species``, ``rare_threshold``, ``rare_quantile`` for provenance.

    Args: ``y_true`` ``(N,)`` integer labels in ``0..C-1``; ``probs`` ``(N, C)`` finite scores
    (softmax probabilities); ``species`` the ``C`` names in class index order; ``train_counts``
    training examples per species, covering ``species`` (extra keys are ignored), which define
    the rare species with ``rare_quantile``; ``top_k`` the *k* of top-k accuracy; ``val``
    validation ``(labels, scores)`` to tune thresholds on, or ``None`` (labels may include
    ``C``, background clips: negatives for every species); ``prior_clips`` the shrinkage of
    the thresholds toward the global one (:func:`~jaxaudio.evaluation.thresholds.tune_thresholds`).

    Returns an :class:`Evaluation`, whose per-class table is :func:`_per_class_table`'s plus
    ``ap``, ``roc_auc`` (:func:`_ranking_scores`), ``threshold`` and ``f1_tuned``. Raises
    ``ValueError`` on invalid inputs (:func:`_validate`) or an invalid ``rare_quantile``.
    """
    y, p = _validate(y_true, probs, species, train_counts, top_k)
    species = [str(s) for s in species]
    y_pred = np.argmax(p, axis=1).astype(np.int64)
    counts = {s: int(train_counts[s]) for s in species}  # rare among this model's classes only
    threshold = rare_threshold(counts, rare_quantile)
    rare = rare_species(counts, rare_quantile)

    per_class = _per_class_table(y, y_pred, species, counts, set(rare))
    confusion = confusion_matrix(y, y_pred, labels=np.arange(len(species))).astype(np.int64)
    ap, auc = _ranking_scores(y, p, per_class["support"].to_numpy())
    per_class["ap"], per_class["roc_auc"] = ap, auc
    tuned = _threshold_columns(y, p, species, val, prior_clips)
    thresholds, per_class["threshold"], per_class["f1_tuned"] = tuned

    metrics: dict[str, Any] = {
        "n_test": int(y.shape[0]),
        "n_classes": len(species),
        **_label_metrics(y, y_pred, p, top_k),
        "rare_f1": _rare_f1(per_class),
        **_ranking_summary(ap, auc),
        "tuned_macro_f1": _tuned_macro_f1(per_class, thresholds),
        "thresholds": thresholds,
        "rare_species": list(rare),
        "rare_threshold": float(threshold),
        "rare_quantile": float(rare_quantile),
    }
    return Evaluation(metrics=metrics, per_class=per_class, confusion=confusion)


# --------------------------------------------------------------------------
# Saving
# --------------------------------------------------------------------------


def _json_ready(value: Any) -> Any:
    """Recursively convert numpy scalars/arrays to python and NaN/inf to None."""
    if isinstance(value, Mapping):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [
            _json_ready(v) for v in (value.tolist() if isinstance(value, np.ndarray) else value)
        ]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return f if math.isfinite(f) else None
    return value


def save_evaluation(
    ev: Evaluation, metrics_json: Path, per_class_csv: Path, confusion_npy: Path
) -> None:
    """Write an :class:`Evaluation` to disk (parent directories are created).

    * ``metrics_json``: the metrics dict as strict JSON — any NaN/inf is
      written as ``null`` (``allow_nan=False`` guarantees no ``NaN`` tokens,
      which strict JSON parsers reject).
    * ``per_class_csv``: the per-class table, ``C`` rows, no index column.
    * ``confusion_npy``: the confusion matrix via :func:`numpy.save`, written
      to exactly this path (numpy would otherwise append ``.npy`` to a name
      lacking it).
    """
    metrics_json, per_class_csv, confusion_npy = (
        Path(metrics_json),
        Path(per_class_csv),
        Path(confusion_npy),
    )
    for path in (metrics_json, per_class_csv, confusion_npy):
        path.parent.mkdir(parents=True, exist_ok=True)

    text = json.dumps(_json_ready(ev.metrics), indent=2, allow_nan=False)
    metrics_json.write_text(text + "\n", encoding="utf-8")
    ev.per_class.to_csv(per_class_csv, index=False)
    with open(confusion_npy, "wb") as fh:
        np.save(fh, np.asarray(ev.confusion, dtype=np.int64), allow_pickle=False)


def save_scores(path: Path, rows: np.ndarray, y: np.ndarray, probs: np.ndarray) -> None:
    """The test split's scores: clip-table rows, labels and probabilities (float32)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:  # a file object: numpy would append .npz to another suffix
        np.savez(
            fh,
            index=np.asarray(rows, np.int64),
            y=np.asarray(y, np.int64),
            probs=np.asarray(probs, np.float32),
        )
