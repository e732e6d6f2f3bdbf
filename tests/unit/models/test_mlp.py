"""``AudioMLP`` (jaxaudio/models/mlp.py): the dense head trained on embeddings."""

import numpy as np
from flax import nnx

from jaxaudio.models.registry import build_model


def test_without_hidden_layers_it_is_a_linear_classifier_of_the_flattened_input():
    """logits = W vec(x) + b, with ``vec`` the C-order flattening of (C, F, T)."""
    model = build_model("mlp", 5, (1, 1024, 1), {"hidden": []}, seed=0)
    model.eval()
    x = np.random.default_rng(0).normal(size=(3, 1, 1024, 1)).astype(np.float32)
    w, b = np.asarray(model.head.kernel[...]), np.asarray(model.head.bias[...])
    assert w.shape == (1024, 5)
    np.testing.assert_allclose(model(x), x.reshape(3, -1) @ w + b, rtol=1e-5, atol=1e-5)


def test_hidden_layers_apply_relu_then_the_head():
    model = build_model("mlp", 3, (2, 4, 3), {"hidden": [6], "dropout": 0.3}, seed=1)
    model.eval()  # dropout off
    x = np.random.default_rng(1).normal(size=(4, 2, 4, 3)).astype(np.float32)
    (layer,) = model.hidden
    h = np.maximum(x.reshape(4, -1) @ np.asarray(layer.kernel[...]) + layer.bias[...], 0)
    expected = h @ np.asarray(model.head.kernel[...]) + np.asarray(model.head.bias[...])
    np.testing.assert_allclose(model(x), expected, rtol=1e-5, atol=1e-5)
    model.train()
    assert not np.allclose(model(x, rngs=nnx.Rngs(dropout=0)), expected)
