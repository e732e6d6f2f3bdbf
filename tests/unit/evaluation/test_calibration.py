"""Tests for jaxaudio.evaluation.calibration.

References are independent of the code under test: numbers worked out by hand (in the
comments), a closed-form optimum, brute-force grid or Nelder-Mead minimisation of an NLL
written here in plain numpy, and sklearn called directly.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy.optimize import minimize
from sklearn.metrics import brier_score_loss

from jaxaudio.evaluation.calibration import (
    apply_platt,
    apply_temperature,
    binary_brier,
    binary_ece,
    brier_score,
    calibration_summary,
    expected_calibration_error,
    fit_platt,
    fit_temperature,
)


def _nll(z: np.ndarray, y: np.ndarray, T: float) -> float:
    """Mean -log softmax(z / T)[y], by hand: log-sum-exp with the row max subtracted."""
    s = z / T
    m = s.max(axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(s - m).sum(axis=1))
    return float(np.mean(lse - s[np.arange(len(y)), y]))


def _calibrated_sample(rng: np.random.Generator, n: int, c: int, scale: float = 2.0):
    """Logits z ~ N(0, scale^2) and labels drawn from softmax(z): a calibrated model."""
    z = rng.normal(0.0, scale, (n, c))
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    u = rng.random(n)[:, None]
    y = (u > np.cumsum(p, axis=1)).sum(axis=1)
    return z, np.minimum(y, c - 1)


# --------------------------------------------------------------------------
# Temperature scaling
# --------------------------------------------------------------------------


def test_temperature_closed_form_two_classes():
    # every clip has logits (4, 0) and 80 % of them are class 0: the NLL is minimal where
    # sigma(4 / T) = 0.8, i.e. 4 / T = logit(0.8) = ln 4  ->  T* = 4 / ln 4 = 2.885...
    z = np.tile([4.0, 0.0], (10, 1))
    y = np.array([0] * 8 + [1] * 2)
    assert fit_temperature(z, y) == pytest.approx(4 / math.log(4), rel=1e-5)


def test_temperature_matches_brute_force_grid():
    rng = np.random.default_rng(0)
    z = rng.normal(0, 3, (200, 6))
    y = rng.integers(0, 6, 200)
    y[:120] = z[:120].argmax(axis=1)  # partly informative logits
    grid = np.linspace(0.05, 20, 20_000)  # step ~0.001
    nlls = np.array([_nll(z, y, T) for T in grid])
    t_grid = grid[nlls.argmin()]
    t_fit = fit_temperature(z, y)
    assert abs(t_fit - t_grid) < 2e-3
    assert _nll(z, y, t_fit) <= nlls.min() + 1e-9


def test_temperature_above_one_for_overconfident_logits():
    # calibrated logits scaled up x5 are over-confident: T* > 1, close to 5
    rng = np.random.default_rng(1)
    z, y = _calibrated_sample(rng, 20_000, 5)
    t = fit_temperature(5 * z, y)
    assert t > 1
    assert t == pytest.approx(5, rel=0.1)


def test_temperature_near_one_for_calibrated_logits():
    rng = np.random.default_rng(2)
    z, y = _calibrated_sample(rng, 20_000, 5)
    assert fit_temperature(z, y) == pytest.approx(1.0, abs=0.05)


def test_temperature_empty_input_is_one():
    assert fit_temperature(np.zeros((0, 4)), np.zeros(0, dtype=int)) == 1.0


def test_apply_temperature_rows_sum_to_one_and_keep_argmax():
    rng = np.random.default_rng(3)
    z = rng.normal(0, 5, (50, 7))
    for T in (0.1, 1.0, 3.0):
        p = apply_temperature(z, T)
        np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-12)
        np.testing.assert_array_equal(p.argmax(axis=1), z.argmax(axis=1))
    # T = 1 is the plain softmax, by hand
    e = np.exp(z - z.max(axis=1, keepdims=True))
    np.testing.assert_allclose(apply_temperature(z, 1.0), e / e.sum(axis=1, keepdims=True))
    with pytest.raises(ValueError):
        apply_temperature(z, 0.0)


# --------------------------------------------------------------------------
# Platt scaling
# --------------------------------------------------------------------------


def _platt_nll(theta: np.ndarray, z: np.ndarray, pos: np.ndarray) -> float:
    """Platt's smoothed-target NLL, written out: t+ = (N+ + 1)/(N+ + 2), t- = 1/(N- + 2)."""
    n_pos, n_neg = pos.sum(), (~pos).sum()
    t = np.where(pos, (n_pos + 1) / (n_pos + 2), 1.0 / (n_neg + 2))
    p = 1.0 / (1.0 + np.exp(-(theta[0] * z + theta[1])))
    return float(-np.sum(t * np.log(p) + (1 - t) * np.log(1 - p)))


def test_platt_hand_case_constant_logits():
    # all logits 0: p = sigma(b) for every clip, so the optimum is sigma(b) = mean target.
    # N+ = 2, N- = 3: t+ = 3/4, t- = 1/5, mean = (2 * 0.75 + 3 * 0.2) / 5 = 2.1 / 5 = 0.42
    z = np.zeros((5, 1))
    t = np.array([[1], [1], [0], [0], [0]])
    a, b = fit_platt(z, t)
    assert b[0] == pytest.approx(math.log(0.42 / 0.58), abs=1e-6)
    np.testing.assert_allclose(apply_platt(z, a, b), 0.42, atol=1e-6)


def test_platt_matches_brute_force_minimisation():
    rng = np.random.default_rng(4)
    n, c = 60, 3
    y = rng.integers(0, c, n)
    targets = np.eye(c, dtype=int)[y]
    z = rng.normal(0, 1, (n, c)) + 2.5 * targets - 1.0
    a, b = fit_platt(z, targets)
    for k in range(c):
        pos = targets[:, k] == 1
        ref = minimize(
            _platt_nll,
            x0=[1.0, 0.0],
            args=(z[:, k], pos),
            method="Nelder-Mead",
            options={"xatol": 1e-9, "fatol": 1e-12, "maxiter": 20_000},
        )
        assert a[k] == pytest.approx(ref.x[0], abs=1e-4)
        assert b[k] == pytest.approx(ref.x[1], abs=1e-4)
        assert _platt_nll(np.array([a[k], b[k]]), z[:, k], pos) <= ref.fun + 1e-9


def test_platt_stays_finite_on_separable_data():
    # without smoothing the NLL of separable data has no minimum (a -> infinity); with
    # Platt's targets t+ = 3/4 (N+ = 2), t- = 1/5 (N- = 3) the optimum is finite and satisfies
    # the first-order conditions sum_i (p_i - t_i) = 0 and sum_i (p_i - t_i) z_i = 0,
    # so mean p = mean t = (2 * 3/4 + 3 * 1/5) / 5 = 0.42
    z = np.array([[-2.0], [-1.0], [-0.5], [1.0], [2.0]])
    t = np.array([[0], [0], [0], [1], [1]])
    a, b = fit_platt(z, t)
    assert np.isfinite(a).all() and np.isfinite(b).all() and 0 < a[0] < 10
    p = apply_platt(z, a, b)[:, 0]
    smoothed = np.array([0.2, 0.2, 0.2, 0.75, 0.75])
    assert p.mean() == pytest.approx(0.42, abs=1e-6)
    assert np.sum((p - smoothed) * z[:, 0]) == pytest.approx(0.0, abs=1e-6)
    assert 0.05 < p.min() and p.max() < 0.95


def test_platt_identity_without_positives_or_negatives():
    z = np.array([[0.3, -1.0, 2.0], [-0.7, 1.0, 0.5], [1.5, -2.0, -0.1]])
    t = np.array([[0, 1, 1], [0, 0, 1], [0, 1, 1]])  # class 0: no positive; class 2: no negative
    a, b = fit_platt(z, t)
    assert (a[0], b[0]) == (1.0, 0.0) and (a[2], b[2]) == (1.0, 0.0)
    p = apply_platt(z, a, b)
    np.testing.assert_allclose(p[:, [0, 2]], 1 / (1 + np.exp(-z[:, [0, 2]])))


def test_platt_rejects_non_binary_targets():
    with pytest.raises(ValueError):
        fit_platt(np.zeros((2, 1)), np.array([[0.5], [1.0]]))


# --------------------------------------------------------------------------
# ECE and Brier
# --------------------------------------------------------------------------


def test_ece_hand_case_three_bins():
    # confidences 0.9, 0.9, 0.6, 0.6; correct 1, 0, 1, 1; bins (0,1/3], (1/3,2/3], (2/3,1]
    #   bin 3: {0.9, 0.9}: acc 1/2, conf 0.9 -> 2/4 * |0.5 - 0.9| = 0.2
    #   bin 2: {0.6, 0.6}: acc 1,   conf 0.6 -> 2/4 * |1.0 - 0.6| = 0.2
    # ECE = 0.4
    probs = np.array([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.4, 0.6]])
    y = np.array([0, 1, 0, 1])
    assert expected_calibration_error(probs, y, n_bins=3) == pytest.approx(0.4)
    # one bin: |acc 3/4 - mean conf 0.75| = 0
    assert expected_calibration_error(probs, y, n_bins=1) == pytest.approx(0.0)


def test_ece_bin_edges_zero_and_one():
    # binary ECE over scores 0, 0.5, 1 with targets 0, 1, 1 and 2 bins (0,0.5], (0.5,1]:
    #   bin 1 holds 0 and 0.5 (0 goes to the first bin, 0.5 is its right edge):
    #     acc 1/2, conf 0.25 -> 2/3 * 0.25 = 1/6
    #   bin 2 holds 1 (exactly 1 is in the last bin): acc 1, conf 1 -> 0
    p = np.array([[0.0], [0.5], [1.0]])
    t = np.array([[0], [1], [1]])
    assert binary_ece(p, t, n_bins=2) == pytest.approx(1 / 6)


def test_ece_perfectly_calibrated_bins():
    # confidence 0.75 in every row and 3 of 4 correct: ECE 0 for any binning
    probs = np.tile([0.75, 0.25], (4, 1))
    y = np.array([0, 0, 0, 1])
    for m in (1, 10, 15):
        assert expected_calibration_error(probs, y, n_bins=m) == pytest.approx(0.0)


def test_brier_hand_case():
    # p = [0.7, 0.2, 0.1], y = 0 -> 0.3^2 + 0.2^2 + 0.1^2 = 0.09 + 0.04 + 0.01 = 0.14
    assert brier_score(np.array([[0.7, 0.2, 0.1]]), np.array([0])) == pytest.approx(0.14)
    # worst case: all mass on a wrong class -> 1 + 1 = 2
    assert brier_score(np.array([[0.0, 1.0, 0.0]]), np.array([0])) == pytest.approx(2.0)


def test_brier_two_classes_is_twice_sklearn_binary_brier():
    rng = np.random.default_rng(5)
    q = rng.random(100)
    probs = np.column_stack([1 - q, q])
    y = rng.integers(0, 2, 100)
    assert brier_score(probs, y) == pytest.approx(2 * brier_score_loss(y, q))


def test_binary_brier_and_ece_by_hand():
    # (0.8 - 1)^2 + (0.3 - 0)^2 + (0.4 - 0)^2 + (0.6 - 1)^2 = 0.04 + 0.09 + 0.16 + 0.16 = 0.45
    p = np.array([[0.8, 0.3], [0.4, 0.6]])
    t = np.array([[1, 0], [0, 1]])
    assert binary_brier(p, t) == pytest.approx(0.45 / 4)
    # bins (0,0.5], (0.5,1]: {0.3, 0.4} acc 0 conf 0.35; {0.8, 0.6} acc 1 conf 0.7
    # ECE = 2/4 * 0.35 + 2/4 * 0.3 = 0.325
    assert binary_ece(p, t, n_bins=2) == pytest.approx(0.325)
    assert binary_brier(p.ravel()[:, None], t.ravel()[:, None]) == pytest.approx(
        brier_score_loss(t.ravel(), p.ravel())
    )


def test_empty_measures_are_nan():
    assert math.isnan(expected_calibration_error(np.zeros((0, 3)), np.zeros(0, dtype=int)))
    assert math.isnan(brier_score(np.zeros((0, 3)), np.zeros(0, dtype=int)))
    assert math.isnan(binary_ece(np.zeros((0, 3)), np.zeros((0, 3))))


# --------------------------------------------------------------------------
# Summary
# --------------------------------------------------------------------------


def test_calibration_summary_improves_overconfident_model_and_is_json_ready():
    rng = np.random.default_rng(6)
    z, y = _calibrated_sample(rng, 5_000, 4)
    z = 4 * z
    T = fit_temperature(z, y)
    s = calibration_summary(z, y, T)
    assert set(s) == {
        "temperature",
        "ece_before",
        "ece_after",
        "brier_before",
        "brier_after",
        "n",
        "n_bins",
    }
    assert s["temperature"] == T and s["n"] == 5_000
    assert s["ece_after"] < s["ece_before"] and s["brier_after"] < s["brier_before"]
    assert s["ece_before"] == pytest.approx(
        expected_calibration_error(apply_temperature(z, 1.0), y)
    )
    assert s["brier_after"] == pytest.approx(brier_score(apply_temperature(z, T), y))
    json.dumps(s)
    empty = calibration_summary(np.zeros((0, 4)), np.zeros(0, dtype=int), 1.0)
    assert empty["ece_before"] is None and empty["n"] == 0
    json.dumps(empty)
