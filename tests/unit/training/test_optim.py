"""Optimiser and learning-rate schedule against their formulas (:mod:`jaxaudio.training.optim`)."""

import math

import jax.numpy as jnp
import numpy as np
import pytest

from jaxaudio.training.optim import make_optimizer, make_schedule
from jaxaudio.training.settings import TrainSettings


def settings(**kw):
    return TrainSettings(arch="cnn", **kw)


def test_cosine_schedule_without_warmup_starts_at_lr_and_decays_to_zero():
    s = settings(lr=0.01, epochs=4, schedule="cosine")
    f = make_schedule(s, 5)  # T = 20 steps
    for t in (0, 1, 7, 10, 19, 20):
        assert float(f(t)) == pytest.approx(0.01 * 0.5 * (1 + math.cos(math.pi * t / 20)), abs=1e-9)


def test_cosine_schedule_with_warmup():
    s = settings(lr=0.01, epochs=4, schedule="cosine", warmup_epochs=1)
    f = make_schedule(s, 5)  # W = 5, T = 20
    for t in (0, 2, 4):
        assert float(f(t)) == pytest.approx(0.01 * t / 5, abs=1e-9)
    for t in (5, 9, 15, 20):
        assert float(f(t)) == pytest.approx(
            0.01 * 0.5 * (1 + math.cos(math.pi * (t - 5) / 15)), abs=1e-9
        )


def test_constant_schedule_and_its_warmup():
    assert [float(make_schedule(settings(lr=0.1, schedule="constant"), 3)(t)) for t in (0, 50)] == [
        0.1,
        0.1,
    ]
    f = make_schedule(settings(lr=0.1, schedule="constant", warmup_epochs=2, epochs=5), 3)  # W = 6
    np.testing.assert_allclose(
        [float(f(t)) for t in (0, 3, 6, 10)], [0.0, 0.05, 0.1, 0.1], atol=1e-9
    )


def test_warmup_is_capped_below_the_run_length():
    # warmup_epochs 3 of a 2-epoch run of 4 steps: W = min(12, 8 - 1) = 7, still one cosine step
    f = make_schedule(settings(lr=1.0, epochs=2, warmup_epochs=3), 4)
    assert float(f(7)) == pytest.approx(1.0) and float(f(3)) == pytest.approx(3 / 7)


def test_sgd_first_update_with_clipping_and_weight_decay():
    """Nesterov SGD, first step from zero momentum: ``u = −η (1 + μ) (g' + λθ)``, with the
    gradient clipped first, ``g' = g · c / ‖g‖₂``."""
    s = settings(lr=0.1, optimizer="sgd", schedule="constant", weight_decay=0.01, grad_clip=1.0)
    tx, _ = make_optimizer(s, 1)
    theta = {"w": jnp.array([1.0, -2.0]), "b": jnp.array([0.5])}
    g = {"w": jnp.array([6.0, 0.0]), "b": jnp.array([8.0])}  # ‖g‖ = 10
    updates, _ = tx.update(g, tx.init(theta), theta)
    for k in theta:
        expected = -0.1 * 1.9 * (np.asarray(g[k]) / 10 + 0.01 * np.asarray(theta[k]))
        np.testing.assert_allclose(updates[k], expected, rtol=1e-6)


def test_adamw_first_update_is_lr_times_sign_plus_decay():
    """Adam's first step: m̂ = g, v̂ = g², so ``u = −η (g/(|g| + ε) + λθ)`` ≈ ``−η (sign g + λθ)``."""
    s = settings(lr=0.01, optimizer="adamw", schedule="constant", weight_decay=0.1)
    tx, _ = make_optimizer(s, 1)
    theta = {"w": jnp.array([1.0, -2.0, 3.0])}
    g = {"w": jnp.array([0.3, -4.0, 0.02])}
    updates, _ = tx.update(g, tx.init(theta), theta)
    expected = -0.01 * (np.sign(np.asarray(g["w"])) + 0.1 * np.asarray(theta["w"]))
    np.testing.assert_allclose(updates["w"], expected, rtol=1e-5)


def test_adam_has_no_weight_decay():
    tx, _ = make_optimizer(
        settings(lr=0.01, optimizer="adam", schedule="constant", weight_decay=0.1), 1
    )
    theta, g = {"w": jnp.array([5.0])}, {"w": jnp.array([2.0])}
    updates, _ = tx.update(g, tx.init(theta), theta)
    np.testing.assert_allclose(updates["w"], [-0.01], rtol=1e-5)


@pytest.mark.parametrize("key, value", [("optimizer", "lbfgs"), ("schedule", "step")])
def test_unknown_choices_are_errors(key, value):
    with pytest.raises(ValueError, match=f"unknown .*{value}"):
        make_optimizer(settings(**{key: value}), 1)
