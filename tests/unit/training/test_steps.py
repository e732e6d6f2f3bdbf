"""The compiled steps against references computed with the model and optax directly
(:mod:`jaxaudio.training.steps`)."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from jaxaudio.models.registry import build_model
from jaxaudio.training.augment import AugmentSettings
from jaxaudio.training.state import TrainState
from jaxaudio.training.steps import (
    Batch,
    StepConfig,
    StepConstants,
    StepPlan,
    eval_step,
    loss_fn,
    train_step,
)

OPTIONS = {"channels": [8], "dropout": 0.0}  # no dropout: the reference needs no key


def batch(n=8, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 3, 16, 12)).astype(np.float32), np.array(
        [0, 0, 0, 1, 1, 2, 2, 2][:n]
    )


def reference_loss(model, x, y, w, mask):
    """PyTorch's weighted mean ``Σ m_i w_{y_i} ℓ_i / Σ m_i w_{y_i}``, in numpy, of the model in train mode."""
    model.train()
    logits = model(jnp.asarray(x), rngs=nnx.Rngs(dropout=0))
    per_sample = np.asarray(optax.softmax_cross_entropy_with_integer_labels(logits, jnp.asarray(y)))
    weight = w[y] * mask
    return float(np.sum(weight * per_sample) / np.sum(weight))


def test_loss_fn_is_the_class_weighted_masked_mean():
    x, y = batch()
    w, mask = np.array([1.0, 2.0, 0.5], np.float32), np.array([1, 1, 0, 1, 1, 1, 0, 1], np.float32)
    model = build_model("cnn", 3, x.shape[1:], OPTIONS, 0)
    state = TrainState.create(model, optax.sgd(0.1))
    consts = StepConstants(jnp.zeros((3, 1, 1)), jnp.ones((3, 1, 1)), jnp.asarray(w))
    b = Batch(jnp.asarray(x), jnp.asarray(y), jax.random.key(0), jnp.asarray(mask))
    loss, _ = loss_fn(state.params, state.rest, state.graph_train, b, consts, StepConfig())
    expected = reference_loss(build_model("cnn", 3, x.shape[1:], OPTIONS, 0), x, y, w, mask)
    assert float(loss) == pytest.approx(expected, rel=1e-5)


def test_train_step_is_one_gradient_step_on_the_standardised_batch():
    """With plain SGD, ``θ' = θ − η ∇ℓ((x − μ)/σ)``; the reference gradient is nnx.grad of the model."""
    x, y = batch()
    mean, std = (
        np.float32([0.5, -1.0, 2.0])[:, None, None],
        np.float32([2.0, 1.0, 4.0])[:, None, None],
    )
    w = np.ones(3, np.float32)
    state = TrainState.create(build_model("cnn", 3, x.shape[1:], OPTIONS, 0), optax.sgd(0.1))
    before = jax.tree.map(np.asarray, state.params)
    consts = StepConstants(jnp.asarray(mean), jnp.asarray(std), jnp.asarray(w))
    step = StepPlan(rows=jnp.arange(8), key=jax.random.key(0))
    new, loss = train_step(state, jnp.asarray(x), jnp.asarray(y), step, consts, config=StepConfig())
    reference = build_model("cnn", 3, x.shape[1:], OPTIONS, 0)
    reference.train()

    def ref_loss(m):
        logits = m((jnp.asarray(x) - mean) / std, rngs=nnx.Rngs(dropout=0))
        return optax.softmax_cross_entropy_with_integer_labels(logits, jnp.asarray(y)).mean()

    ref_value, grads = nnx.value_and_grad(ref_loss)(reference)
    assert float(loss) == pytest.approx(float(ref_value), rel=1e-5)
    expected = jax.tree.map(
        lambda p, g: p - 0.1 * np.asarray(g), before, nnx.state(grads, nnx.Param)
    )
    for a, b in zip(jax.tree.leaves(new.params), jax.tree.leaves(expected)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    assert int(new.step) == 1


def test_eval_step_is_the_model_in_eval_mode_on_standardised_input():
    x, _ = batch()
    mean, std = (
        np.float32([1.0, 0.0, -1.0])[:, None, None],
        np.float32([3.0, 1.0, 0.5])[:, None, None],
    )
    state = TrainState.create(
        build_model("cnn", 3, x.shape[1:], {"channels": [8], "dropout": 0.5}, 0), optax.sgd(0.1)
    )
    offset = jnp.array([5.0, 0.0, -5.0])  # the training loss's offset: not in the evaluation logits
    consts = StepConstants(jnp.asarray(mean), jnp.asarray(std), jnp.ones(3), logit_offset=offset)
    reference = build_model("cnn", 3, x.shape[1:], {"channels": [8], "dropout": 0.5}, 0)
    reference.eval()
    np.testing.assert_allclose(
        eval_step(state, jnp.asarray(x), consts), reference((x - mean) / std), rtol=1e-5, atol=1e-6
    )


def test_mixup_with_alpha_changes_the_loss_and_zero_settings_do_not():
    x, y = batch()
    model = build_model("cnn", 3, x.shape[1:], OPTIONS, 0)
    state = TrainState.create(model, optax.sgd(0.1))
    consts = StepConstants(jnp.zeros((3, 1, 1)), jnp.ones((3, 1, 1)), jnp.ones(3))

    def loss(config):
        return float(
            loss_fn(
                state.params,
                state.rest,
                state.graph_train,
                Batch(jnp.asarray(x), jnp.asarray(y), jax.random.key(0)),
                consts,
                config,
            )[0]
        )

    plain = loss(StepConfig())
    assert loss(StepConfig(AugmentSettings())) == plain  # every strength 0: the same program
    assert loss(StepConfig(AugmentSettings(mixup_alpha=0.4))) != plain


def test_compute_dtype_must_be_float32_or_bfloat16():
    assert StepConfig(compute_dtype="bfloat16").low == jnp.bfloat16 and StepConfig().low is None
    with pytest.raises(ValueError, match="compute_dtype"):
        StepConfig(compute_dtype="float16")
