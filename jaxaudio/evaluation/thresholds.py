r"""Per-species decision thresholds chosen on the validation split.

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

Shrinkage toward the global threshold (``prior_clips = k > 0``)
    A species with one to five validation clips gets a threshold fitted to those few scores: with
    one positive the F1-maximising ``t_c`` sits just under that single score (often 0.95–0.99),
    and recall in the field collapses. With ``k > 0`` each species' own estimate
    :math:`\hat t_c` is pulled toward the global threshold :math:`t_g` by a
    credibility-weighted (empirical-Bayes) average

    .. math:: t_c = \frac{n_c \hat t_c + k \, t_g}{n_c + k},

    where :math:`n_c` is the number of validation clips of species *c* (its positives). ``k``
    acts as a prior worth ``k`` clips: at :math:`n_c = k` the species' own estimate and the
    global one weigh equally, a species with many clips keeps nearly its own threshold and one
    with few clips gets nearly :math:`t_g`. A species with :math:`n_c = 0` gets :math:`t_g`
    whatever ``k``. ``k = 0`` (the default) is the un-shrunk rule above, and the result is then
    exactly the dict returned before shrinkage existed (no extra keys); with ``k > 0`` the
    dict also holds ``"raw"`` (:math:`\hat t_c` of the species with clips), ``"prior_clips"``
    (``k``) and ``"n_val"`` (:math:`n_c` of every species). ``"per_species"`` always holds the
    thresholds to use.

A bundle raises these thresholds to one floor tuned on soundscapes of the validation clips
(:mod:`jaxaudio.inference.field_threshold`): tuned on clips, they are too low for recordings.

:func:`detections_at_thresholds` reports what a detector with given thresholds finds on a
split (micro precision / recall, macro F1, detections per clip), on background clips (per
clip and per hour of audio) and on clips of species held out of training
(``evaluation.open_set``, :mod:`jaxaudio.data.open_set`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import f1_score, precision_recall_curve


def truth_matrix(y: np.ndarray, n_species: int) -> np.ndarray:
    """``(N, C)`` booleans ``Y[i, c] = 1[y_i = c]``; a label ``C`` (the background class,
    :mod:`jaxaudio.data.background_set`) is a clip of none of the species: an all-False row,
    a negative for every species' threshold. A 2-d ``y`` is already the ``(N, C)`` multi-hot
    truth of the sigmoid objective (background rows all zero) and is returned as booleans."""
    y = np.asarray(y)
    if y.ndim == 2:
        if y.shape[1] != n_species:
            raise ValueError(f"multi-hot truth must have {n_species} columns, got {y.shape}")
        return y > 0.5
    y = y.astype(np.int64, copy=False).reshape(-1)
    if y.size and (y.min() < 0 or y.max() > n_species):
        raise ValueError(f"labels must lie in 0..{n_species} ({n_species}: background)")
    return np.eye(n_species + 1, dtype=bool)[y][:, :n_species]


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
    y_val: np.ndarray, probs_val: np.ndarray, species: Sequence[str], prior_clips: float = 0.0
) -> dict[str, Any]:
    """Per-species thresholds (``{"per_species": {name: t}, "tuned": [names], "global": t}``).

    Args:
        y_val: ``(N,)`` integer labels of the validation clips, or their ``(N, C)`` multi-hot
            truth (:func:`truth_matrix`).
        probs_val: ``(N, C)`` scores, columns in ``species`` order.
        prior_clips: ``k`` of the shrinkage ``(n_c t_c + k t_g) / (n_c + k)`` (module
            docstring); ``0`` keeps each species' own threshold and the old output. With
            ``k > 0`` the dict also holds ``"raw"``, ``"prior_clips"`` and ``"n_val"``.
    """
    k = float(prior_clips)
    if not (math.isfinite(k) and k >= 0):
        raise ValueError(f"prior_clips must be a finite number >= 0, got {prior_clips}")
    y_val = np.asarray(y_val)
    probs_val = np.asarray(probs_val, dtype=np.float64)
    onehot = truth_matrix(y_val, len(species))
    global_t, _ = _best_threshold(onehot.ravel(), probs_val.ravel())
    per_species, tuned, raw, n_val = {}, [], {}, {}
    for c, name in enumerate(species):
        n_c = int(onehot[:, c].sum())
        n_val[name] = n_c
        if n_c > 0:
            raw[name], _ = _best_threshold(onehot[:, c], probs_val[:, c])
            tuned.append(name)
            per_species[name] = (
                raw[name] if k == 0 else (n_c * raw[name] + k * global_t) / (n_c + k)
            )
        else:
            per_species[name] = global_t
    out: dict[str, Any] = {"per_species": per_species, "tuned": tuned, "global": global_t}
    if k > 0:
        out.update(raw=raw, prior_clips=k, n_val=n_val)
    return out


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


def detections_at_thresholds(
    y: np.ndarray,
    probs: np.ndarray,
    thresholds: dict[str, Any],
    species: Sequence[str],
    unknown: np.ndarray | None = None,
    clip_seconds: float | None = None,
) -> dict[str, Any]:
    """What a detector reporting every species with ``probs[i, c] >= t_c`` finds on ``(y, probs)``.

    ``unknown``: ``(N,)`` booleans marking the clips of species held out of training (label
    ``C``, like background clips); they are kept apart. On the other clips (the known
    species' and the background's), with ``D[i, c] = 1[p_ic >= t_c]`` and
    ``Y[i, c] = 1[y_i = c]`` (one true species a clip): TP = sum D·Y, FP = sum D·(1 - Y),
    FN = sum (1 - D)·Y, and

    * ``micro_precision`` = TP / (TP + FP) (``None`` without any detection),
    * ``micro_recall`` = TP / (TP + FN) (``None`` without clips),
    * ``macro_f1`` = mean of the per-species F1 = 2 TP_c / (2 TP_c + FP_c + FN_c) over the
      species with at least one clip on this split (``None`` if none has),
    * ``detections_per_clip`` = sum D / N,
    * ``recall_clips`` = fraction of species clips whose true species is detected (with one
      true species a clip it equals ``micro_recall``),
    * ``background_detections_per_clip`` = sum D / N over the background clips (label ``C``,
      :func:`truth_matrix`, not unknown): what the detector reports where there is none of
      the species (``None`` without background clips),
    * ``background_detections_per_hour`` = sum D over the background clips / (their number
      × ``clip_seconds`` / 3600): false alarms per hour of background clip audio
      (overlapping windows counted in full; ``None`` without background clips or
      ``clip_seconds``, :func:`per_hour`),
    * ``clips_with_detection`` = fraction of clips with at least one detection of any species,

    plus the counts ``n_clips``, ``n_detections``, ``true_positives``, ``false_positives``,
    ``false_negatives`` and ``n_species_with_clips``; and, when some clips are unknown,

    * ``unknown_clips`` = their number ``U``, ``unknown_detections`` = sum D over them (every
      one a species the clip is not), ``unknown_detections_per_clip`` = that / ``U``, and
      ``unknown_clips_with_detection`` = the fraction of them with at least one detection.

    ``y`` may also be the ``(N, C)`` multi-hot truth of the sigmoid objective (several true
    species a clip; background and unknown rows all zero): ``Y`` is then that matrix.

    JSON-ready.
    """
    y = np.asarray(y)
    multi = y.ndim == 2
    y = y if multi else y.astype(np.int64, copy=False).reshape(-1)
    n_rows = len(y)
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2 or probs.shape != (n_rows, len(species)):
        raise ValueError(f"probs must be (N, {len(species)}) for N = {n_rows}; got {probs.shape}")
    if clip_seconds is not None and not clip_seconds > 0:
        raise ValueError(f"clip_seconds must be > 0, got {clip_seconds}")
    unknown = np.zeros(n_rows, bool) if unknown is None else np.asarray(unknown, bool).reshape(-1)
    if unknown.shape != (n_rows,):
        raise ValueError(f"unknown must be ({n_rows},) like y; got {unknown.shape}")
    if multi and (y[unknown] > 0.5).any():
        raise ValueError("unknown clips must have all-zero targets")
    if not multi and (y[unknown] != len(species)).any():
        raise ValueError(f"unknown clips must have the reserved label {len(species)}")
    t = np.asarray([thresholds["per_species"][s] for s in species], dtype=np.float64)
    detected_all = probs >= t[None, :]
    detected, y = detected_all[~unknown], y[~unknown]
    truth = truth_matrix(y, len(species))
    tp_c = (detected & truth).sum(axis=0)
    fp_c = (detected & ~truth).sum(axis=0)
    fn_c = (~detected & truth).sum(axis=0)
    tp, fp, fn = int(tp_c.sum()), int(fp_c.sum()), int(fn_c.sum())
    has_clips = truth.any(axis=0)
    f1_c = 2 * tp_c[has_clips] / (2 * tp_c[has_clips] + fp_c[has_clips] + fn_c[has_clips])
    n = int(len(y))
    return {
        "micro_precision": tp / (tp + fp) if tp + fp else None,
        "micro_recall": tp / (tp + fn) if tp + fn else None,
        "macro_f1": float(f1_c.mean()) if f1_c.size else None,
        "detections_per_clip": int(detected.sum()) / n if n else None,
        "recall_clips": float((detected & truth).any(axis=1)[truth.any(axis=1)].mean())
        if truth.any()
        else None,
        "clips_with_detection": float(detected.any(axis=1).mean()) if n else None,
        "background_detections_per_clip": float(detected[~truth.any(axis=1)].sum(1).mean())
        if (~truth.any(axis=1)).any()
        else None,
        "background_detections_per_hour": per_hour(detected[~truth.any(axis=1)], clip_seconds),
        "n_clips": n,
        "n_detections": int(detected.sum()),
        "true_positives": tp,
        "false_positives": fp,
        "false_negatives": fn,
        "n_species_with_clips": int(has_clips.sum()),
        **_unknown_detections(detected_all[unknown]),
    }


def per_hour(detected: np.ndarray, clip_seconds: float | None) -> float | None:
    """Detections per hour of audio: ``detected.sum() / (len(detected) · clip_seconds / 3600)``
    for ``(n_clips, C)`` detections of clips ``clip_seconds`` long (``None`` without clips or
    without ``clip_seconds``)."""
    if clip_seconds is None or len(detected) == 0:
        return None
    return float(detected.sum() / (len(detected) * clip_seconds / 3600.0))


def _unknown_detections(detected: np.ndarray) -> dict[str, Any]:
    """The ``unknown_*`` figures of :func:`detections_at_thresholds` (none without unknown
    clips): ``detected`` is ``(U, C)``."""
    n = len(detected)
    if n == 0:
        return {}
    return {
        "unknown_clips": n,
        "unknown_detections": int(detected.sum()),
        "unknown_detections_per_clip": float(detected.sum() / n),
        "unknown_clips_with_detection": float(detected.any(axis=1).mean()),
    }
