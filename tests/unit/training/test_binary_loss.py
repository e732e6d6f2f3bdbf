"""Sigmoid (multi-label) loss pieces: binary cross-entropy against a hand-computed case,
scipy, PyTorch's documented BCEWithLogitsLoss (and torch itself when installed), masks,
large logits, the binary logit adjustment and mixup."""

import importlib.util
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import expit, log_expit

from jaxaudio.training.losses import (
    binary_logit_adjustment,
    mix_targets,
    weighted_binary_cross_entropy,
)

HAS_TORCH = importlib.util.find_spec("torch") is not None


def bce(logits, targets, w=None, mask=None, offset=None, pos_weight=None):
    """The function under test on float32 inputs, as a Python float."""
    args = [None if a is None else jnp.asarray(a, jnp.float32) for a in (w, mask, offset)]
    p = None if pos_weight is None else jnp.asarray(pos_weight, jnp.float32)
    x, y = jnp.asarray(logits, jnp.float32), jnp.asarray(targets, jnp.float32)
    return float(weighted_binary_cross_entropy(x, y, *args, pos_weight=p))


def scipy_bce(x, y, w, pos_weight):
    """The same formula with scipy's stable log-sigmoid: log σ(x) = log_expit(x)."""
    terms = -w[None, :] * (pos_weight[None, :] * y * log_expit(x) + (1 - y) * log_expit(-x))
    return float(terms.mean())


def torch_documented(x, y, w, pos_weight):
    """BCEWithLogitsLoss(weight=w[None, :], pos_weight=p, reduction='mean') as PyTorch documents
    it: l_nc = -w_nc [p_c y_nc log σ(x_nc) + (1 - y_nc) log(1 - σ(x_nc))]; loss = mean(l)."""
    s = 1.0 / (1.0 + np.exp(-x))
    terms = -w[None, :] * (pos_weight[None, :] * y * np.log(s) + (1 - y) * np.log(1 - s))
    return float(terms.mean())


def random_case(seed=0, b=16, c=5):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(b, c)) * 3
    y = rng.uniform(size=(b, c))  # soft targets
    y[: b // 2] = y[: b // 2] > 0.7  # and multi-hot rows
    return x, y, rng.uniform(0.2, 4, c), rng.uniform(0.5, 6, c)


def test_hand_computed_two_by_three():
    # logits [[0, 2, -1], [1, 0, 3]], targets [[1, 0, 0], [0, 1, 1]], w = [1, 2, 0.5].
    # y = 1: l = log(1 + e^-z);  y = 0: l = log(1 + e^z).
    # row 0: c0 y=1 z=0 -> log 2;  c1 y=0 z=2 -> log(1 + e^2);  c2 y=0 z=-1 -> log(1 + e^-1)
    # row 1: c0 y=0 z=1 -> log(1 + e);  c1 y=1 z=0 -> log 2;  c2 y=1 z=3 -> log(1 + e^-3)
    # weighted: 1 * [log 2 + log(1 + e)] + 2 * [log(1 + e^2) + log 2]
    #           + 0.5 * [log(1 + e^-1) + log(1 + e^-3)], divided by B * C = 6.
    expected = (
        1 * (math.log(2) + math.log(1 + math.e))
        + 2 * (math.log(1 + math.exp(2)) + math.log(2))
        + 0.5 * (math.log(1 + math.exp(-1)) + math.log(1 + math.exp(-3)))
    ) / 6
    logits = [[0.0, 2.0, -1.0], [1.0, 0.0, 3.0]]
    targets = [[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]]
    assert bce(logits, targets, [1.0, 2.0, 0.5]) == pytest.approx(expected, rel=1e-6)
    # pos_weight p = [3, 1, 1] triples only the positive term of species 0 (row 0: log 2)
    with_pos = expected + 2 * math.log(2) / 6
    assert bce(logits, targets, [1.0, 2.0, 0.5], pos_weight=[3.0, 1.0, 1.0]) == pytest.approx(
        with_pos, rel=1e-6
    )


def test_matches_scipy_and_torch_documented_formula():
    x, y, w, p = random_case()
    got = bce(x, y, w, pos_weight=p)
    assert got == pytest.approx(scipy_bce(x, y, w, p), rel=1e-5)
    assert got == pytest.approx(torch_documented(x, y, w, p), rel=1e-5)
    ones = np.ones(x.shape[1])
    assert bce(x, y) == pytest.approx(scipy_bce(x, y, ones, ones), rel=1e-5)


@pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed in this venv (not a dependency)")
def test_matches_torch_bce_with_logits():
    import torch

    x, y, w, p = random_case(seed=3)
    loss = torch.nn.BCEWithLogitsLoss(
        weight=torch.tensor(w)[None, :], pos_weight=torch.tensor(p), reduction="mean"
    )
    expected = float(loss(torch.tensor(x), torch.tensor(y)))
    assert bce(x, y, w, pos_weight=p) == pytest.approx(expected, rel=1e-5)


def test_mask_averages_over_the_kept_rows_elements():
    x, y, w, p = random_case(seed=1, b=10)
    mask = np.array([1] * 6 + [0] * 4, np.float32)
    garbage = x.copy()
    garbage[6:] = 1e4  # padding rows: whatever they hold must not count
    got = bce(garbage, y, w, mask=mask, pos_weight=p)
    assert got == pytest.approx(bce(x[:6], y[:6], w, pos_weight=p), rel=1e-6)
    assert got == pytest.approx(scipy_bce(x[:6], y[:6], w, p), rel=1e-5)
    assert bce(x, y, w, mask=np.ones(10)) == pytest.approx(bce(x, y, w), rel=1e-6)
    assert bce(x, y, w, mask=np.zeros(10)) == 0.0


def test_stable_at_large_logits():
    logits = np.array([[100.0, -100.0, 100.0, -100.0]])
    targets = np.array([[0.0, 1.0, 1.0, 0.0]])
    # wrong with confidence 100: l = 100 + log(1 + e^-100) = 100; right: l = log(1 + e^-100) ~ 0
    assert bce(logits, targets) == pytest.approx((100 + 100) / 4, rel=1e-6)
    grad = jax.grad(lambda z: weighted_binary_cross_entropy(z, jnp.asarray(targets, jnp.float32)))(
        jnp.asarray(logits, jnp.float32)
    )
    assert np.isfinite(np.asarray(grad)).all()
    # d l / d z = (σ(z) − y) / (B C): ±1/4 on the wrong elements, ~0 on the right ones
    np.testing.assert_allclose(grad, (expit(logits) - targets) / 4, atol=1e-7)


def test_logit_offset_is_added_to_the_logits():
    x, y, w, p = random_case(seed=2)
    offset = np.array([0.5, -1.0, 2.0, 0.0, -0.3])
    assert bce(x, y, w, offset=offset, pos_weight=p) == pytest.approx(
        scipy_bce(x + offset, y, w, p), rel=1e-5
    )


def test_binary_logit_adjustment_formula_and_clipping():
    # 4 clips, species: present in 1, in 3, in none, in all.
    targets = np.array([[1, 1, 0, 1], [0, 1, 0, 1], [0, 1, 0, 1], [0, 0, 0, 1]], np.float32)
    # clip to [1/(2N), 1 − 1/(2N)] = [1/8, 7/8]
    prior = np.array([1 / 4, 3 / 4, 1 / 8, 7 / 8])
    got = np.asarray(binary_logit_adjustment(jnp.asarray(targets), tau=1.5))
    np.testing.assert_allclose(got, 1.5 * np.log(prior / (1 - prior)), rtol=1e-6)
    assert got[0] == pytest.approx(1.5 * math.log(1 / 3), rel=1e-6)
    assert np.isfinite(got).all()
    np.testing.assert_array_equal(binary_logit_adjustment(jnp.asarray(targets), 0.0), 0.0)


def test_mixup_of_targets_equals_mix_of_losses():
    x, y, w, p = random_case(seed=4, b=8)
    perm = np.array([3, 0, 7, 1, 2, 6, 4, 5])
    mask = np.array([1, 1, 1, 1, 1, 1, 0, 0], np.float32)
    lam = 0.3
    mixed = np.asarray(mix_targets(jnp.asarray(y), jnp.asarray(perm), jnp.asarray(lam)))
    np.testing.assert_allclose(mixed, lam * y + (1 - lam) * y[perm], rtol=1e-6)
    expected = lam * bce(x, y, w, mask, pos_weight=p) + (1 - lam) * bce(
        x, y[perm], w, mask, pos_weight=p
    )
    assert bce(x, mixed, w, mask, pos_weight=p) == pytest.approx(expected, rel=1e-5)
