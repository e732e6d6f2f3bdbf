"""Weighted cross-entropy against a hand-computed case and PyTorch's documented formula."""

import jax.numpy as jnp
import numpy as np
import pytest

from jaxaudio.training.losses import (
    mixup_targets,
    weighted_cross_entropy,
    weighted_soft_cross_entropy,
)


def mixup_loss(logits, labels_a, labels_b, lam, w):
    """The training loss of a mixup batch, as loss_fn computes it: the weighted soft CE on
    the targets λ e_a + (1 − λ) e_b."""
    q = mixup_targets(labels_a, labels_b, lam, logits.shape[-1])
    return weighted_soft_cross_entropy(logits, q, w)


def torch_documented(logits, y, w):
    """PyTorch CrossEntropyLoss(weight=w, reduction='mean') as its documentation defines it:
    l_n = -w[y_n] * log(exp(x[n, y_n]) / sum_c exp(x[n, c])); loss = sum_n l_n / sum_n w[y_n]."""
    logits = np.asarray(logits, np.float64)
    logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    nll = -logp[np.arange(len(y)), y]
    return float((w[y] * nll).sum() / w[y].sum())


def test_hand_computed_two_samples():
    # Two samples, two classes, logits 0 -> p = 1/2 each -> l_i = ln 2 for both.
    # Weights w = [1, 3]: loss = (1*ln2 + 3*ln2) / (1 + 3) = ln 2 (weighted *mean*, not 2 ln 2).
    logits = jnp.zeros((2, 2))
    y = jnp.array([0, 1])
    assert float(weighted_cross_entropy(logits, y, jnp.array([1.0, 3.0]))) == pytest.approx(
        np.log(2), rel=1e-6
    )
    # Distinct losses: sample 0 has logits [2, 0] -> l0 = ln(1 + e^-2); sample 1 logits [0, 0] -> l1 = ln 2.
    logits = jnp.array([[2.0, 0.0], [0.0, 0.0]])
    expected = (1 * np.log1p(np.exp(-2)) + 3 * np.log(2)) / 4
    assert float(weighted_cross_entropy(logits, y, jnp.array([1.0, 3.0]))) == pytest.approx(
        expected, rel=1e-6
    )


def test_matches_torch_documented_formula_random():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(64, 7)) * 3
    y = rng.integers(0, 7, 64)
    w = rng.uniform(0.1, 5, 7)
    got = float(
        weighted_cross_entropy(
            jnp.asarray(logits, jnp.float32), jnp.asarray(y), jnp.asarray(w, jnp.float32)
        )
    )
    assert got == pytest.approx(torch_documented(logits, y, w), rel=1e-5)
    # the tempting wrong reduction (mean of weighted terms) differs: the test can tell them apart
    logp = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    wrong = float(np.mean(-w[y] * logp[np.arange(64), y]))
    assert abs(got - wrong) > 1e-2


def test_unweighted_is_plain_mean_and_mask_drops_rows():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(10, 4))
    y = rng.integers(0, 4, 10)
    plain = torch_documented(logits, y, np.ones(4))
    assert float(weighted_cross_entropy(jnp.asarray(logits), jnp.asarray(y))) == pytest.approx(
        plain, rel=1e-5
    )
    mask = np.array([1] * 6 + [0] * 4, np.float32)
    masked = float(
        weighted_cross_entropy(jnp.asarray(logits), jnp.asarray(y), mask=jnp.asarray(mask))
    )
    assert masked == pytest.approx(torch_documented(logits[:6], y[:6], np.ones(4)), rel=1e-5)


def test_mixup_loss_hand_computed_and_reduces_to_plain_loss():
    # logits 0 over 2 classes: every l = ln 2. Two samples a = [0, 1], b = [1, 1], λ = 0.25,
    # w = [1, 3]: num = Σ λ w_a ln2 + (1-λ) w_b ln2 = ln2 (0.25·1 + 0.75·3 + 0.25·3 + 0.75·3),
    # den the same without ln2 -> loss = ln 2.
    z = jnp.zeros((2, 2))
    a, b, w = jnp.array([0, 1]), jnp.array([1, 1]), jnp.array([1.0, 3.0])
    assert float(mixup_loss(z, a, b, 0.25, w)) == pytest.approx(np.log(2), rel=1e-6)
    # distinct losses: sample 0 logits [2, 0]: l(0) = ln(1+e^-2), l(1) = ln(1+e^2); sample 1 ln 2.
    logits = jnp.array([[2.0, 0.0], [0.0, 0.0]])
    l00, l01, l1 = np.log1p(np.exp(-2)), np.log1p(np.exp(2)), np.log(2)
    lam = 0.25
    num = lam * 1 * l00 + (1 - lam) * 3 * l01 + lam * 3 * l1 + (1 - lam) * 3 * l1
    den = lam * 1 + (1 - lam) * 3 + lam * 3 + (1 - lam) * 3
    assert float(mixup_loss(logits, a, b, lam, w)) == pytest.approx(num / den, rel=1e-6)
    rng = np.random.default_rng(0)
    x, y = jnp.asarray(rng.normal(size=(8, 5))), jnp.asarray(rng.integers(0, 5, 8))
    wv = jnp.asarray(rng.uniform(0.5, 2, 5))
    for lam_ in (1.0, 0.3):  # λ = 1, or both labels equal: the weighted loss itself
        other = y if lam_ != 1.0 else jnp.roll(y, 1)
        assert float(mixup_loss(x, y, other, lam_, wv)) == pytest.approx(
            torch_documented(x, np.asarray(y), np.asarray(wv)), rel=1e-5
        )


def test_logit_adjustment_is_tau_log_prior():
    from jaxaudio.training.losses import logit_adjustment

    # counts 3, 1, 0 of 4 train clips; the empty class gets the smallest observed count (1)
    off = np.asarray(logit_adjustment(np.array([0, 0, 0, 1]), 3, 1.5))
    np.testing.assert_allclose(off, 1.5 * np.log([3 / 5, 1 / 5, 1 / 5]), rtol=1e-6)
    assert np.all(np.asarray(logit_adjustment(np.array([0, 1]), 2, 0.0)) == 0)


def test_train_step_adds_the_offset_to_the_logits_of_the_loss_only():
    """The first step's loss = CE(f(x) + τ log π), f the model in train mode at init
    (no dropout), computed here with optax directly."""
    import jax
    import jax.numpy as jnp
    import optax
    from flax import nnx

    from jaxaudio.models.registry import build_model
    from jaxaudio.training.losses import logit_adjustment
    from jaxaudio.training.optim import make_optimizer
    from jaxaudio.training.settings import TrainSettings
    from jaxaudio.training.state import TrainState
    from jaxaudio.training.steps import StepConfig, StepConstants, StepPlan, train_step

    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 3, 16, 12)).astype(np.float32)
    y = np.array([0, 0, 0, 0, 0, 1, 1, 2])
    offset = logit_adjustment(y, 3, 1.0)
    s = TrainSettings(arch="cnn", model={"channels": [8], "dropout": 0.0}, batch_size=8)
    tx, _ = make_optimizer(s, 1)
    state = TrainState.create(build_model("cnn", 3, x.shape[1:], s.model, 0), tx)
    consts = StepConstants(
        jnp.zeros((3, 1, 1)), jnp.ones((3, 1, 1)), jnp.ones(3), logit_offset=offset
    )
    step = StepPlan(rows=jnp.arange(8), key=jax.random.key(0))
    _, loss = train_step(state, jnp.asarray(x), jnp.asarray(y), step, consts, config=StepConfig())
    reference = build_model("cnn", 3, x.shape[1:], s.model, 0)
    reference.train()
    logits = reference(jnp.asarray(x), rngs=nnx.Rngs(dropout=0))
    expected = optax.softmax_cross_entropy_with_integer_labels(
        logits + offset, jnp.asarray(y)
    ).mean()
    assert float(loss) == pytest.approx(float(expected), rel=1e-5)
    plain = optax.softmax_cross_entropy_with_integer_labels(logits, jnp.asarray(y)).mean()
    assert abs(float(plain) - float(expected)) > 1e-3  # the offset mattered


# --------------------------------------------------------------------------- smoothing, focal


def torch_documented_smoothing(logits, y, w, eps):
    """PyTorch CrossEntropyLoss(weight=w, label_smoothing=eps), reduction 'mean', as its
    source computes it: ((1-eps) Σ_n w[y_n] nll_n + eps/C Σ_n Σ_c w_c (-log p_nc)) / Σ_n w[y_n]."""
    logits = np.asarray(logits, np.float64)
    logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    c = logits.shape[1]
    nll = -logp[np.arange(len(y)), y]
    smooth = -(logp * w[None, :]).sum(axis=1)
    return float(((1 - eps) * (w[y] * nll).sum() + eps / c * smooth.sum()) / w[y].sum())


def test_label_smoothing_hand_computed():
    # one clip, logits 0 -> p = 1/2 each, label 0, w = [1, 3], eps = 0.2:
    # num = 0.8 * 1 * ln2 + 0.2/2 * (1 + 3) * ln2 = 1.2 ln2, den = w_0 = 1

    got = weighted_soft_cross_entropy(
        jnp.zeros((1, 2)), jnp.array([[1.0, 0.0]]), jnp.array([1.0, 3.0]), label_smoothing=0.2
    )
    assert float(got) == pytest.approx(1.2 * np.log(2), rel=1e-6)


def test_label_smoothing_matches_pytorchs_definition_and_zero_is_the_weighted_loss():

    rng = np.random.default_rng(0)
    logits, y = rng.normal(size=(16, 5)) * 3, rng.integers(0, 5, 16)
    w = rng.uniform(0.2, 4.0, 5)
    q = jnp.asarray(np.eye(5)[y])
    for eps in (0.0, 0.1, 0.5):
        got = weighted_soft_cross_entropy(
            jnp.asarray(logits), q, jnp.asarray(w), label_smoothing=eps
        )
        assert float(got) == pytest.approx(torch_documented_smoothing(logits, y, w, eps), rel=1e-5)
    plain = weighted_cross_entropy(jnp.asarray(logits), jnp.asarray(y), jnp.asarray(w))
    assert float(
        weighted_soft_cross_entropy(jnp.asarray(logits), q, jnp.asarray(w))
    ) == pytest.approx(float(plain), rel=1e-6)


def test_focal_loss_hand_computed_and_gamma_zero_is_cross_entropy():
    # logits [ln 3, 0] -> p = [3/4, 1/4]; label 0; gamma 2 (Lin et al. 2017):
    # FL = (1 - 3/4)^2 * (-ln 3/4) = 0.0625 * 0.287682 = 0.0179801

    z, q = jnp.array([[np.log(3.0), 0.0]]), jnp.array([[1.0, 0.0]])
    assert float(weighted_soft_cross_entropy(z, q, focal_gamma=2.0)) == pytest.approx(
        0.0625 * -np.log(0.75), rel=1e-5
    )
    assert float(weighted_soft_cross_entropy(z, q, focal_gamma=0.0)) == pytest.approx(-np.log(0.75))
    # weights: alpha_t = w[y]; a lone clip's weighted mean divides it out again
    w = jnp.array([5.0, 1.0])
    assert float(weighted_soft_cross_entropy(z, q, w, focal_gamma=2.0)) == pytest.approx(
        0.0625 * -np.log(0.75), rel=1e-5
    )


def test_focal_loss_is_finite_with_a_finite_gradient_when_a_clip_is_certain():
    import jax

    q = jnp.array([[1.0, 0.0], [0.0, 1.0]])
    f = lambda z: weighted_soft_cross_entropy(z, q, focal_gamma=2.0)  # noqa: E731
    z = jnp.array([[60.0, 0.0], [0.0, 1.0]])  # the first clip: p_t = 1 in float32
    value, grad = jax.value_and_grad(f)(z)
    assert np.isfinite(float(value)) and np.all(np.isfinite(np.asarray(grad)))
