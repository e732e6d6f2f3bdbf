"""The paired bootstrap of compare: its metrics against sklearn, its intervals against scipy."""

import numpy as np
import pytest
from scipy.stats import bootstrap
from sklearn.metrics import accuracy_score, f1_score

from jaxaudio.evaluation.bootstrap import paired_bootstrap, weighted_metrics


def toy(n=300, c=8, seed=0, skill=0.6):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, c, n)
    right = rng.random(n) < skill
    return y, np.where(right, y, rng.integers(0, c, n))


def rare_f1_reference(y, p, rare):
    """The evaluation's rare-F1: mean per-class F1 (labels=all) over rare classes with support."""
    f1 = f1_score(y, p, labels=np.arange(len(rare)), average=None, zero_division=0)
    present = np.bincount(y, minlength=len(rare)) > 0
    return f1[rare & present].mean()


def test_weighted_metrics_equal_sklearn_on_a_resample():
    y, p = toy()
    rare = np.zeros(8, bool)
    rare[[1, 5]] = True
    idx = np.random.default_rng(1).integers(0, len(y), len(y))
    w = np.bincount(idx, minlength=len(y))[None, :].astype(float)
    got = weighted_metrics(y, p, np.vstack([np.ones_like(w), w]), 8, rare)
    for row, (yy, pp) in enumerate([(y, p), (y[idx], p[idx])]):
        assert got["accuracy"][row] == pytest.approx(accuracy_score(yy, pp))
        assert got["macro_f1"][row] == pytest.approx(
            f1_score(yy, pp, average="macro", zero_division=0)
        )
        assert got["rare_f1"][row] == pytest.approx(rare_f1_reference(yy, pp, rare))


def test_macro_f1_label_set_is_sklearns():
    """Class 3 only predicted (F1 0, counted), class 2 absent from both (not counted)."""
    y, p = np.array([0, 0, 1, 1]), np.array([0, 3, 1, 1])
    got = weighted_metrics(y, p, np.ones((1, 4)), 4, np.zeros(4, bool))["macro_f1"][0]
    assert (
        got
        == pytest.approx(f1_score(y, p, average="macro", zero_division=0))
        == pytest.approx((2 / 3 + 1 + 0) / 3)
    )


def test_identical_candidate_gives_an_interval_of_zero():
    y, p = toy()
    ci = paired_bootstrap(y, [p], [p.copy()], 8, np.arange(8) < 2, n_resamples=500)
    for m in ("macro_f1", "accuracy", "rare_f1"):
        assert ci[m]["delta"] == 0 and ci[m]["low"] == 0 and ci[m]["high"] == 0


def macro_f1_rows(y, p, c=8):
    """sklearn's macro-F1 (``zero_division=0``, labels: the classes in ``y`` or ``p``) of
    each row of ``(..., n)`` label arrays, ``F1_k = 2 TP_k / (2 TP_k + FP_k + FN_k)``: so
    scipy's bootstrap can score its resamples in one call (``vectorized=True``)."""
    is_y, is_p = y[..., None] == np.arange(c), p[..., None] == np.arange(c)  # (..., n, c)
    tp, fp, fn = ((a & b).sum(-2) for a, b in ((is_y, is_p), (~is_y, is_p), (is_y, ~is_p)))
    present = (is_y | is_p).any(-2)
    f1 = np.where(present, 2 * tp / np.maximum(2 * tp + fp + fn, 1), 0.0)
    return f1.sum(-1) / present.sum(-1)


def test_interval_matches_scipy_paired_percentile_bootstrap():
    y, base = toy(seed=2, skill=0.55)
    cand = np.where(
        np.random.default_rng(4).random(len(y)) < 0.5, y, base
    )  # right on ~half of base's errors
    ours = paired_bootstrap(y, [cand], [base], 8, np.zeros(8, bool), n_resamples=4000)

    def delta_f1(yy, c, b, axis=-1):
        return macro_f1_rows(yy, c) - macro_f1_rows(yy, b)

    def delta_acc(yy, c, b, axis=-1):
        return np.mean(c == yy, axis=-1) - np.mean(b == yy, axis=-1)

    # the batched statistic is sklearn's, on the sample and on resamples of it
    idx = np.random.default_rng(3).integers(0, len(y), (5, len(y)))
    for yy, pp in [(y, cand), *zip(y[idx], base[idx])]:
        assert macro_f1_rows(yy, pp) == pytest.approx(
            f1_score(yy, pp, average="macro", zero_division=0)
        )
    for metric, stat in (("macro_f1", delta_f1), ("accuracy", delta_acc)):
        ref = bootstrap(
            (y, cand, base),
            stat,
            paired=True,
            vectorized=True,
            n_resamples=4000,
            confidence_level=0.95,
            method="percentile",
            rng=np.random.default_rng(0),
        )
        assert ours[metric]["delta"] == pytest.approx(stat(y, cand, base))
        # two Monte-Carlo estimates of the same quantiles: within 0.01 of each other
        assert ours[metric]["low"] == pytest.approx(ref.confidence_interval.low, abs=0.01)
        assert ours[metric]["high"] == pytest.approx(ref.confidence_interval.high, abs=0.01)
        assert ours[metric]["low"] > 0  # the candidate is clearly better here


def test_statistic_is_the_mean_over_seeds_of_each_side():
    y, a = toy(seed=5)
    _, b = toy(seed=6, skill=0.8)
    _, c = toy(seed=7, skill=0.3)
    ci = paired_bootstrap(y, [a, b], [c], 8, np.zeros(8, bool), n_resamples=200)
    expected = (accuracy_score(y, a) + accuracy_score(y, b)) / 2 - accuracy_score(y, c)
    assert ci["accuracy"]["delta"] == pytest.approx(expected)


def test_mismatched_predictions_are_refused():
    y, p = toy()
    with pytest.raises(ValueError, match="do not pair"):
        paired_bootstrap(y, [p[:-1]], [p], 8, np.zeros(8, bool))
