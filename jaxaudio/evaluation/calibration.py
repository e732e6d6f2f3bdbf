r"""Score calibration on the validation split, and how well calibrated scores are.

A classifier's scores are *calibrated* when a score of 0.8 is right 80 % of the time. Trained
networks are usually over-confident (Guo et al. 2017, "On calibration of modern neural
networks"), which matters here because per-species thresholds and field users read the scores
as probabilities. Both maps below are fitted on the validation split only and applied unchanged
to the test split; neither changes the ranking of the classes of a clip.

Temperature scaling (softmax outputs)
    One scalar ``T > 0`` divides every logit: :math:`p_i = \mathrm{softmax}(z_i / T)`.
    ``T`` minimises the validation negative log-likelihood

    .. math:: T^* = \arg\min_T \; \frac1N \sum_i -\log \mathrm{softmax}(z_i / T)_{y_i}.

    As a function of :math:`\beta = 1/T` the NLL is convex (a log-sum-exp of functions linear
    in :math:`\beta` minus a linear term), so it has one minimum along any monotone
    reparametrisation; it is searched over :math:`u = \log T` with a bounded scalar
    minimisation, :math:`T \in [0.05, 20]`. ``T > 1`` softens over-confident scores, ``T < 1``
    sharpens under-confident ones; the argmax never changes.

Binary temperature (the sigmoid objective's outputs)
    One scalar ``T > 0`` divides every logit of a multi-label model:
    :math:`p_{ic} = \sigma(z_{ic} / T)`, ``T`` minimising the mean binary cross-entropy over
    all N·C validation entries (:func:`fit_binary_temperature`; the same bounded search over
    :math:`\log T`). One number, so a bundle carries it as it carries the softmax ``T``; it
    keeps every species' ranking (and so the per-species thresholds' effect) unchanged,
    where Platt's two parameters per species would be fitted to the few positives of a rare
    species.

Platt scaling (sigmoid / one-vs-rest outputs)
    Per class *c*, :math:`p_{ic} = \sigma(a_c z_{ic} + b_c)` with ``(a_c, b_c)`` minimising the
    binary NLL :math:`-\sum_i [t_i \log p_{ic} + (1 - t_i) \log (1 - p_{ic})]` against Platt's
    (1999) smoothed targets

    .. math:: t_+ = \frac{N_+ + 1}{N_+ + 2}, \qquad t_- = \frac{1}{N_- + 2}

    instead of 1 and 0 (N+ / N- = positives / negatives of the class). The smoothing is a
    Bayesian prior (Laplace's rule of succession) that keeps the fit finite on separable data
    and keeps a class with few positives away from scores of exactly 0 or 1. A class with no
    positive or no negative has nothing to calibrate against and keeps the identity on the
    logit scale, ``a = 1, b = 0`` (``p = sigmoid(z)``).

Measures (lower is better)
    * Top-label ECE (Guo et al. 2017): the confidence :math:`\hat p_i = \max_c p_{ic}` is put
      into *M* equal-width bins :math:`B_1 = (0, 1/M], \dots, B_M = ((M-1)/M, 1]` and

      .. math:: \mathrm{ECE} = \sum_b \frac{|B_b|}{N} \, |\mathrm{acc}(B_b) - \mathrm{conf}(B_b)|,

      ``acc`` the fraction of correct argmax predictions of the bin, ``conf`` its mean
      confidence; empty bins contribute nothing. A confidence of exactly 0 goes to the first
      bin, exactly 1 to the last (``(0, 1/M]`` and ``((M-1)/M, 1]``).
    * Binary ECE: the same over all N·C one-vs-rest scores, the score :math:`p_{ic}` itself
      being the confidence in the event "clip *i* is species *c*" and ``acc`` the fraction of
      true events in the bin (not :math:`\max(p, 1-p)`).
    * Brier score, Brier's (1950) original multiclass definition
      :math:`\frac1N \sum_i \sum_c (p_{ic} - \mathbf 1[y_i = c])^2 \in [0, 2]`; for two classes
      it is twice the usual binary Brier score of the positive column. The binary (sigmoid)
      variant is the mean over all N·C entries of :math:`(p_{ic} - t_{ic})^2 \in [0, 1]`.

Empty inputs give NaN measures (``None`` in :func:`calibration_summary`), ``T = 1`` and identity
Platt parameters.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.optimize import minimize, minimize_scalar
from scipy.special import expit, log_softmax, softmax

__all__ = [
    "apply_platt",
    "apply_temperature",
    "binary_brier",
    "binary_ece",
    "brier_score",
    "calibration_summary",
    "expected_calibration_error",
    "binary_calibration_summary",
    "fit_binary_temperature",
    "fit_platt",
    "fit_temperature",
]

#: Search interval of the temperature.
T_BOUNDS = (0.05, 20.0)


def _logits_labels(logits: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    z = np.asarray(logits, dtype=np.float64)
    y = np.asarray(y).astype(np.int64, copy=False).reshape(-1)
    if z.ndim != 2 or z.shape[0] != y.shape[0]:
        raise ValueError(f"scores must be (N, C) and y (N,); got {z.shape} and {y.shape}")
    if y.size and (y.min() < 0 or y.max() >= z.shape[1]):
        raise ValueError(f"labels must lie in 0..{z.shape[1] - 1}")
    return z, y


def _matrix_targets(scores: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(scores, dtype=np.float64)
    t = np.asarray(targets, dtype=np.float64)
    if s.ndim != 2 or s.shape != t.shape:
        raise ValueError(f"scores and targets must both be (N, C); got {s.shape} and {t.shape}")
    if not np.isin(t, (0.0, 1.0)).all():
        raise ValueError("targets must be 0 or 1")
    return s, t


def _minimise_over_temperature(loss: Callable[[float], float]) -> float:
    """``argmin_T loss(T)`` over :data:`T_BOUNDS`, searched on ``log T`` (bounded Brent)."""
    lo, hi = (math.log(b) for b in T_BOUNDS)
    res = minimize_scalar(
        lambda u: loss(math.exp(u)), bounds=(lo, hi), method="bounded", options={"xatol": 1e-7}
    )
    return float(math.exp(res.x))


def _nll_temperature(z: np.ndarray, y: np.ndarray, T: float) -> float:
    return float(-log_softmax(z / T, axis=1)[np.arange(len(y)), y].mean())


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The temperature ``T*`` minimising the mean NLL of ``softmax(logits / T)`` (1.0 if empty).

    Args:
        logits: ``(N, C)`` pre-softmax scores of the validation clips.
        y: ``(N,)`` integer labels.
    """
    z, y = _logits_labels(logits, y)
    if y.size == 0:
        return 1.0
    return _minimise_over_temperature(lambda T: _nll_temperature(z, y, T))


def _bce_temperature(z: np.ndarray, t: np.ndarray, T: float) -> float:
    s = z / T
    # -[t log sigma(s) + (1 - t) log(1 - sigma(s))] = logaddexp(0, s) - t s, stably
    return float(np.mean(np.logaddexp(0.0, s) - t * s))


def fit_binary_temperature(logits: np.ndarray, targets: np.ndarray) -> float:
    """The ``T*`` minimising the mean binary cross-entropy of ``sigmoid(logits / T)`` against
    ``(N, C)`` 0/1 ``targets`` (1.0 if empty)."""
    z, t = _matrix_targets(logits, targets)
    if z.size == 0:
        return 1.0
    return _minimise_over_temperature(lambda T: _bce_temperature(z, t, T))


def binary_calibration_summary(
    logits: np.ndarray, targets: np.ndarray, T: float, n_bins: int = 15
) -> dict[str, Any]:
    """Binary ECE and Brier of ``sigmoid(z)`` and ``sigmoid(z / T)`` on one split (the keys of
    :func:`calibration_summary`)."""
    z, t = _matrix_targets(logits, targets)
    return _summary(T, expit(z), expit(z / T), t, binary_ece, binary_brier, z.shape[0], n_bins)


def apply_temperature(logits: np.ndarray, T: float) -> np.ndarray:
    """``softmax(logits / T)`` row-wise: ``(N, C)`` probabilities."""
    if not T > 0:
        raise ValueError(f"temperature must be > 0, got {T}")
    return softmax(np.asarray(logits, dtype=np.float64) / T, axis=1)


def _platt_one(z: np.ndarray, positive: np.ndarray) -> tuple[float, float]:
    """``(a, b)`` of one class: smoothed-target binary NLL minimised by L-BFGS-B."""
    n_pos = int(positive.sum())
    n_neg = positive.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return 1.0, 0.0
    t = np.where(positive, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))

    def nll(theta: np.ndarray) -> tuple[float, np.ndarray]:
        s = theta[0] * z + theta[1]
        # -[t log sigma(s) + (1 - t) log(1 - sigma(s))] = logaddexp(0, s) - t s, stably
        loss = np.mean(np.logaddexp(0.0, s) - t * s)
        r = expit(s) - t
        return float(loss), np.array([np.mean(r * z), np.mean(r)])

    # Platt's start: a = 0 and b = logit of the smoothed prior (N+ + 1) / (N- + 1)
    x0 = np.array([0.0, math.log((n_pos + 1) / (n_neg + 1))])
    res = minimize(
        nll,
        x0,
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": 1000, "ftol": 1e-15, "gtol": 1e-10},
    )
    return float(res.x[0]), float(res.x[1])


def fit_platt(logits: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-class Platt parameters ``(a, b)``, each ``(C,)``, for ``p = sigmoid(a z + b)``.

    Args:
        logits: ``(N, C)`` one-vs-rest logits of the validation clips.
        targets: ``(N, C)`` 0/1 truth (a one-hot matrix for single-label clips).

    A class with no positive or no negative gets the identity ``a = 1, b = 0``.
    """
    z, t = _matrix_targets(logits, targets)
    params = [_platt_one(z[:, c], t[:, c] > 0.5) for c in range(z.shape[1])]
    a = np.array([p[0] for p in params], dtype=np.float64)
    b = np.array([p[1] for p in params], dtype=np.float64)
    return a, b


def apply_platt(logits: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``sigmoid(a_c z_ic + b_c)``: ``(N, C)`` calibrated one-vs-rest probabilities."""
    z = np.asarray(logits, dtype=np.float64)
    return expit(np.asarray(a, dtype=np.float64)[None, :] * z + np.asarray(b)[None, :])


def _ece(confidence: np.ndarray, hit: np.ndarray, n_bins: int) -> float:
    """``sum_b |B_b| / n * |mean(hit in B_b) - mean(confidence in B_b)|`` over equal bins."""
    if n_bins < 1:
        raise ValueError(f"n_bins must be >= 1, got {n_bins}")
    n = confidence.size
    if n == 0:
        return float("nan")
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # bin j holds edges[j] < conf <= edges[j + 1]; 0 falls in bin 0, 1 (or above) in the last
    idx = np.searchsorted(edges[1:-1], confidence, side="left")
    # |B_b| / n * |acc_b - conf_b| = |sum of hits in B_b - sum of confidences in B_b| / n
    conf_sum = np.bincount(idx, weights=confidence, minlength=n_bins)
    hit_sum = np.bincount(idx, weights=hit.astype(np.float64), minlength=n_bins)
    return float(np.abs(hit_sum - conf_sum).sum() / n)


def expected_calibration_error(probs: np.ndarray, y: np.ndarray, n_bins: int = 15) -> float:
    """Top-label ECE of ``(N, C)`` probabilities against ``(N,)`` labels (NaN if empty)."""
    p, y = _logits_labels(probs, y)
    if y.size == 0:
        return float("nan")
    return _ece(p.max(axis=1), p.argmax(axis=1) == y, n_bins)


def brier_score(probs: np.ndarray, y: np.ndarray) -> float:
    """Multiclass Brier (1950): ``mean_i sum_c (p_ic - 1[y_i = c])^2``, in [0, 2] (NaN if empty)."""
    p, y = _logits_labels(probs, y)
    if y.size == 0:
        return float("nan")
    onehot = np.eye(p.shape[1])[y]
    return float(((p - onehot) ** 2).sum(axis=1).mean())


def binary_ece(probs: np.ndarray, targets: np.ndarray, n_bins: int = 15) -> float:
    """ECE of all N·C one-vs-rest scores against their 0/1 targets (NaN if empty)."""
    p, t = _matrix_targets(probs, targets)
    return _ece(p.ravel(), t.ravel(), n_bins)


def binary_brier(probs: np.ndarray, targets: np.ndarray) -> float:
    """Mean over all N·C entries of ``(p - t)^2``, in [0, 1] (NaN if empty)."""
    p, t = _matrix_targets(probs, targets)
    return float(((p - t) ** 2).mean()) if p.size else float("nan")


def _json_float(x: float) -> float | None:
    return None if math.isnan(x) else float(x)


def calibration_summary(
    logits_val: np.ndarray, y_val: np.ndarray, T: float, n_bins: int = 15
) -> dict[str, Any]:
    """Top-label ECE and Brier before (``T = 1``) and after temperature ``T`` on one split.

    Returns ``{"temperature", "ece_before", "ece_after", "brier_before", "brier_after", "n",
    "n_bins"}``, JSON-ready (undefined measures of an empty split are ``None``).
    """
    z, y = _logits_labels(logits_val, y_val)
    before, after = apply_temperature(z, 1.0), apply_temperature(z, T)
    return _summary(T, before, after, y, expected_calibration_error, brier_score, y.size, n_bins)


def _summary(
    T: float,
    before: np.ndarray,
    after: np.ndarray,
    truth: np.ndarray,
    ece: Callable[[np.ndarray, np.ndarray, int], float],
    brier: Callable[[np.ndarray, np.ndarray], float],
    n: int,
    n_bins: int,
) -> dict[str, Any]:
    """The calibration summary's keys: ECE and Brier of the scores ``before`` and ``after``
    the temperature against ``truth``, JSON-ready (both objectives' summaries)."""
    return {
        "temperature": float(T),
        "ece_before": _json_float(ece(before, truth, n_bins)),
        "ece_after": _json_float(ece(after, truth, n_bins)),
        "brier_before": _json_float(brier(before, truth)),
        "brier_after": _json_float(brier(after, truth)),
        "n": int(n),
        "n_bins": int(n_bins),
    }
