"""Per-species decision thresholds chosen on the validation split.

The argmax of the softmax answers "which species is this clip?". Field use asks another
question per species: "is species *c* calling here?" — one-vs-rest detection with a score
threshold ``t_c``. A single threshold is a poor fit for a long-tailed model (rare species
get systematically lower scores), so each species gets the threshold that maximises its
validation F1:

    t_c = argmax_t  F1( 1[y_i = c],  1[p_ic >= t] )       over i in the validation split

computed from :func:`sklearn.metrics.precision_recall_curve` (every distinct score is a
candidate). Species with no validation clip cannot be tuned and get the ``global``
threshold, the single ``t`` that maximises the micro-averaged F1 over all species' one-vs-rest
decisions. Thresholds are tuned on validation only and applied unchanged to the test split.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import f1_score, precision_recall_curve


def _best_threshold(positive: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """``(t, F1)`` maximising the binary F1 of ``scores >= t`` against ``positive``.

    Ties go to the highest threshold (fewest detections) for the same F1.
    """
    precision, recall, thresholds = precision_recall_curve(positive, scores)
    # the last (precision 1, recall 0) point has no threshold
    p, r = precision[:-1], recall[:-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(p + r > 0, 2 * p * r / (p + r), 0.0)
    best = np.flatnonzero(f1 == f1.max())[-1]
    return float(thresholds[best]), float(f1[best])


def tune_thresholds(
    y_val: np.ndarray, probs_val: np.ndarray, species: Sequence[str]
) -> dict[str, Any]:
    """Per-species thresholds (``{"per_species": {name: t}, "tuned": [names], "global": t}``).

    Args:
        y_val: ``(N,)`` integer labels of the validation clips.
        probs_val: ``(N, C)`` scores, columns in ``species`` order.
    """
    y_val = np.asarray(y_val)
    probs_val = np.asarray(probs_val, dtype=np.float64)
    onehot = np.eye(len(species), dtype=bool)[y_val]
    global_t, _ = _best_threshold(onehot.ravel(), probs_val.ravel())
    per_species, tuned = {}, []
    for c, name in enumerate(species):
        if onehot[:, c].any():
            per_species[name], _ = _best_threshold(onehot[:, c], probs_val[:, c])
            tuned.append(name)
        else:
            per_species[name] = global_t
    return {"per_species": per_species, "tuned": tuned, "global": global_t}


def f1_at_thresholds(
    y: np.ndarray, probs: np.ndarray, thresholds: dict[str, Any], species: Sequence[str]
) -> np.ndarray:
    """Per-species one-vs-rest F1 of ``probs[:, c] >= t_c`` on ``(y, probs)``: ``(C,)``.

    F1 is 0 where a species has neither clips nor detections (sklearn ``zero_division=0``).
    """
    y = np.asarray(y)
    t = np.asarray([thresholds["per_species"][s] for s in species])
    detected = np.asarray(probs) >= t[None, :]
    return np.asarray(
        [f1_score(y == c, detected[:, c], zero_division=0) for c in range(len(species))],
        dtype=np.float64,
    )
