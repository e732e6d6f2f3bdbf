r"""Scores of a multi-label (sigmoid) classifier: several species per clip, or none.

Inputs are ``y_true`` ``(N, C)`` multi-hot (:func:`jaxaudio.data.labels.multi_hot`) and
``scores`` ``(N, C)`` (sigmoid probabilities, or any score where higher means "present").

* **AP and cmAP.** :math:`AP_c` = ``average_precision_score(y[:, c], s[:, c])`` =
  :math:`\sum_n (R_n - R_{n-1}) P_n` over the distinct thresholds (the step sum, no
  interpolation). A species with no positive clip has no precision-recall curve: ``None``,
  left out of the mean. ``cmap`` = mean of the defined :math:`AP_c`, the class-wise mean AP
  that BirdSet and Perch report (:func:`class_mean_ap`; :func:`jaxaudio.evaluation.events.
  window_cmap` is the same number on 5-second windows). Threshold free: it scores the
  ranking a detector would threshold.
* **F1 at thresholds.** :math:`D_{ic} = 1[s_{ic} \ge t_c]` (``>=`` as in
  :mod:`jaxaudio.evaluation.thresholds`). Per species :math:`P_c = TP_c/(TP_c+FP_c)`,
  :math:`R_c = TP_c/(TP_c+FN_c)`, :math:`F1_c = 2TP_c/(2TP_c+FP_c+FN_c)`; a ratio with a zero
  denominator is ``None`` (undefined, never 0). ``micro_f1`` pools TP/FP/FN over species.
  ``macro_f1`` = mean of :math:`F1_c` over the species that occur in ``y_true`` **or** are
  predicted — the label set of the single-label ``macro_f1``
  (:mod:`jaxaudio.evaluation.metrics`): a species absent from the split and never reported
  would add a meaningless 0, one reported without any clip adds a real 0. Both come from
  ``sklearn.metrics.f1_score`` on the indicator matrices with ``zero_division=0``.
* **Label ranking AP** (``label_ranking_average_precision_score``): per clip, for each true
  species, the fraction of the species ranked at or above it that are true, averaged over
  clips — "are the true species at the top of this clip's list?". sklearn scores a clip with
  no true species (or only true species) 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import (
    average_precision_score,
    f1_score,
    label_ranking_average_precision_score,
    precision_recall_fscore_support,
)

__all__ = ["average_precision_per_class", "class_mean_ap", "multilabel_metrics"]


def _check_pair(y_true: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(bool, float)`` copies of two equal 2-d matrices, else ``ValueError``."""
    y_true, scores = np.asarray(y_true, bool), np.asarray(scores, float)
    if y_true.shape != scores.shape or y_true.ndim != 2:
        raise ValueError(f"truth {y_true.shape} and scores {scores.shape}: need equal 2-d shapes")
    return y_true, scores


def average_precision_per_class(y_true: np.ndarray, scores: np.ndarray) -> list[float | None]:
    """:math:`AP_c` of every column, ``None`` for a column without a positive."""
    y_true, scores = _check_pair(y_true, scores)
    return [
        float(average_precision_score(y_true[:, c], scores[:, c])) if y_true[:, c].any() else None
        for c in range(y_true.shape[1])
    ]


def class_mean_ap(y_true: np.ndarray, scores: np.ndarray) -> tuple[float | None, int]:
    """cmAP (mean of the defined :math:`AP_c`) and how many species it averages.

    ``(None, 0)`` when no column has a positive.
    """
    return _mean_of_defined(average_precision_per_class(y_true, scores))


def _mean_of_defined(ap: list[float | None]) -> tuple[float | None, int]:
    defined = [x for x in ap if x is not None]
    return (float(np.mean(defined)) if defined else None), len(defined)


def _thresholds(thresholds: np.ndarray | float, n_species: int) -> np.ndarray:
    t = np.broadcast_to(np.asarray(thresholds, float), (n_species,))
    if not np.isfinite(t).all():
        raise ValueError(f"thresholds must be finite, got {thresholds}")
    return t


def _json(x: float) -> float | None:
    return None if np.isnan(x) else float(x)


def _macro_f1(y_true: np.ndarray, detected: np.ndarray) -> float | None:
    """Mean :math:`F1_c` over the species with a clip or a detection; ``None`` if none has."""
    counted = np.flatnonzero(y_true.any(axis=0) | detected.any(axis=0))
    if not len(counted):
        return None
    return float(f1_score(y_true, detected, labels=counted, average="macro", zero_division=0))


def _per_class(
    y_true: np.ndarray,
    detected: np.ndarray,
    ap: list[float | None],
    t: np.ndarray,
    species: Sequence[str],
) -> dict[str, dict[str, Any]]:
    """species -> ``ap, precision, recall, f1, support, threshold`` (``None`` = undefined)."""
    p, r, f, support = precision_recall_fscore_support(
        y_true, detected, average=None, zero_division=np.nan
    )
    return {
        name: {
            "ap": ap[c],
            "precision": _json(p[c]),
            "recall": _json(r[c]),
            "f1": _json(f[c]),
            "support": int(support[c]),
            "threshold": float(t[c]),
        }
        for c, name in enumerate(species)
    }


def multilabel_metrics(
    y_true: np.ndarray,
    scores: np.ndarray,
    thresholds: np.ndarray | float,
    species: Sequence[str],
) -> dict[str, Any]:
    """The metrics of the module docstring, JSON-ready (``None`` where undefined).

    Args:
        y_true: ``(N, C)`` multi-hot truth.
        scores: ``(N, C)`` scores, higher = more likely present.
        thresholds: ``(C,)`` per-species thresholds :math:`t_c`, or one for all.
        species: the ``C`` names, in column order.

    Returns:
        ``n_clips``, ``cmap``, ``n_cmap_species``, ``micro_f1``, ``macro_f1``,
        ``label_ranking_average_precision`` and ``per_class`` (species -> its ``ap``,
        ``precision``, ``recall``, ``f1``, ``support``, ``threshold``).
    """
    y_true, scores = _check_pair(y_true, scores)
    if len(species) != y_true.shape[1]:
        raise ValueError(f"{len(species)} species names for {y_true.shape[1]} columns")
    t = _thresholds(thresholds, y_true.shape[1])
    detected = scores >= t[None, :]
    ap = average_precision_per_class(y_true, scores)
    cmap, n_cmap = _mean_of_defined(ap)
    return {
        "n_clips": int(y_true.shape[0]),
        "cmap": cmap,
        "n_cmap_species": n_cmap,
        "micro_f1": float(f1_score(y_true, detected, average="micro", zero_division=0)),
        "macro_f1": _macro_f1(y_true, detected),
        "label_ranking_average_precision": float(
            label_ranking_average_precision_score(y_true, scores)
        ),
        "per_class": _per_class(y_true, detected, ap, t, species),
    }
