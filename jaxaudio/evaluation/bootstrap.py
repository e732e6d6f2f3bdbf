"""Paired bootstrap confidence intervals for "candidate minus baseline" on one test split.

Why paired: the candidate and the baseline are scored on the *same* test clips, so most of
the test set's luck (which clips happen to be hard) is shared. Resampling the clips once
and scoring both on the same resample keeps that pairing, and the interval of the
difference is far narrower than one built from two independent intervals.

Why over seeds too: one training run is one draw of initialisation and shuffling. The
statistic is the mean over the candidate's seeds minus the mean over the baseline's seeds,
each seed scored on the resampled clips, so the interval holds test-set variation around
the seed-averaged difference.

Method (percentile bootstrap, Efron & Tibshirani 1993, ch. 13): draw ``B`` resamples of the
``n`` test clips with replacement (the counts ``w ~ Multinomial(n, 1/n)``, the same
distribution as drawing ``n`` indices), compute on each

.. math:: \\Delta^{*}_b = \\frac1{S_c}\\sum_{s} M(y, \\hat y^{c}_s; w_b)
                       - \\frac1{S_0}\\sum_{s} M(y, \\hat y^{0}_s; w_b)

and report the ``(1-α)/2`` and ``(1+α)/2`` quantiles of :math:`\\Delta^*`. ``M`` is each of

* ``accuracy`` = :math:`\\sum_i w_i 1[\\hat y_i = y_i] / n`;
* ``macro_f1`` = mean of :math:`F1_c = 2TP_c/(2TP_c+FP_c+FN_c)` over the classes with a
  non-zero denominator — sklearn's ``f1_score(average="macro", zero_division=0)`` label set
  (classes in ``y_true`` or ``y_pred`` of the resample), as :mod:`jaxaudio.evaluation.metrics` reports;
* ``rare_f1`` = mean of :math:`F1_c` over the rare species with test clips in the resample
  (the evaluation's rare-F1).

Counts are weighted sums (``w @ one_hot``), so ``B`` resamples cost a few matrix products.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Seed of the resampling: the same intervals on every rerun of the comparison.
BOOTSTRAP_SEED = 0
METRICS = ("macro_f1", "accuracy", "rare_f1")


def _one_hot(labels: np.ndarray, n_classes: int) -> np.ndarray:
    return np.eye(n_classes, dtype=np.float64)[labels]


def weighted_metrics(
    y: np.ndarray, y_pred: np.ndarray, weights: np.ndarray, n_classes: int, rare: np.ndarray
) -> dict[str, np.ndarray]:
    """Accuracy, macro-F1 and rare-F1 of ``y_pred`` for each row of ``weights`` (``(B, n)``
    clip multiplicities); one value per row (``nan`` where undefined)."""
    truth, pred = _one_hot(y, n_classes), _one_hot(y_pred, n_classes)
    support = weights @ truth  # (B, C) clips of each class
    predicted = weights @ pred
    tp = weights @ (truth * pred)
    denominator = support + predicted  # 2TP + FP + FN
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # nanmean of a row with no class defined
        f1 = np.where(denominator > 0, 2 * tp / denominator, np.nan)
        rare_f1 = np.where(support[:, rare] > 0, f1[:, rare], np.nan)
        return {
            "accuracy": tp.sum(1) / weights.sum(1),
            "macro_f1": np.nanmean(f1, axis=1),
            "rare_f1": np.nanmean(rare_f1, axis=1) if rare.any() else np.full(len(weights), np.nan),
        }


def _seed_mean(y, preds, weights, n_classes, rare) -> dict[str, np.ndarray]:
    per_seed = [weighted_metrics(y, p, weights, n_classes, rare) for p in preds]
    return {k: np.mean([m[k] for m in per_seed], axis=0) for k in METRICS}


@dataclass(frozen=True)
class _Pairing:
    """Two sides' predictions of the same ``n`` test clips, one ``(n,)`` array per seed."""

    y: np.ndarray
    candidate: Sequence[np.ndarray]
    baseline: Sequence[np.ndarray]
    n_classes: int
    rare: np.ndarray

    def __post_init__(self) -> None:
        if not self.candidate or not self.baseline:
            raise ValueError("paired bootstrap needs at least one seed of each side")
        for p in (*self.candidate, *self.baseline):
            if np.shape(p) != self.y.shape:
                raise ValueError(
                    f"predictions of shape {np.shape(p)} do not pair with {self.y.shape[0]} test labels"
                )

    def delta(self, weights: np.ndarray) -> dict[str, np.ndarray]:
        """``metric -> (R,)``: candidate minus baseline (seeds averaged) under ``R`` clip weightings."""
        c = _seed_mean(self.y, self.candidate, weights, self.n_classes, self.rare)
        b = _seed_mean(self.y, self.baseline, weights, self.n_classes, self.rare)
        return {k: c[k] - b[k] for k in METRICS}

    def resampled(self, n_resamples: int, seed: int) -> dict[str, np.ndarray]:
        """``metric -> (n_resamples,)`` deltas, each resample a multinomial reweighting of the
        ``n`` clips (drawn in blocks of 500: ``(500, n)`` weights at a time)."""
        n = len(self.y)
        rng = np.random.default_rng(seed)
        sizes = [min(500, n_resamples - start) for start in range(0, n_resamples, 500)]
        blocks = [
            self.delta(rng.multinomial(n, np.full(n, 1.0 / n), size=k).astype(np.float64))
            for k in sizes
        ]
        return {k: np.concatenate([d[k] for d in blocks]) for k in METRICS}


def paired_bootstrap(
    y: np.ndarray,
    candidate: Sequence[np.ndarray],
    baseline: Sequence[np.ndarray],
    n_classes: int,
    rare: np.ndarray,
    n_resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = BOOTSTRAP_SEED,
) -> dict[str, dict[str, Any]]:
    """Intervals of (candidate - baseline) for every metric of :data:`METRICS`.

    ``y``: the ``n`` test labels; ``candidate``/``baseline``: one ``(n,)`` array of predicted
    labels per seed (the same clips in the same order); ``rare``: ``(C,)`` boolean mask of
    the rare species. Returns ``metric -> {delta, low, high, confidence, n_resamples}``:
    ``delta`` on the test split as it is, ``low``/``high`` the percentile interval (``None``
    where the metric is undefined, e.g. no rare species with test clips).
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    y = np.asarray(y, np.int64)
    pairing = _Pairing(y, candidate, baseline, n_classes, np.asarray(rare, bool))
    point = pairing.delta(np.ones((1, len(y))))
    deltas = pairing.resampled(n_resamples, seed)
    out: dict[str, dict[str, Any]] = {}
    alpha = 1.0 - confidence
    for k in METRICS:
        d = deltas[k][np.isfinite(deltas[k])]
        defined = np.isfinite(point[k][0]) and len(d) > 0
        low, high = np.quantile(d, [alpha / 2, 1 - alpha / 2]) if defined else (None, None)
        out[k] = {
            "delta": float(point[k][0]) if defined else None,
            "low": None if low is None else float(low),
            "high": None if high is None else float(high),
            "confidence": confidence,
            "n_resamples": int(n_resamples),
        }
    return out


def format_interval(ci: Mapping[str, Any] | None) -> str:
    """``+0.012 [-0.015, +0.029]``: an interval of :func:`paired_bootstrap` (``–`` when undefined)."""
    if not ci or ci.get("low") is None:
        return "–"
    return f"{ci['delta']:+.3f} [{ci['low']:+.3f}, {ci['high']:+.3f}]"
