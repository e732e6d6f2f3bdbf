"""The CNN's pooling heads against numpy (:func:`jaxaudio.models.cnn.pool_head`)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from jaxaudio.models.cnn import AudioCNN, apply_conv_blocks, pool_head


@pytest.fixture
def feature_map():
    return np.random.default_rng(0).normal(size=(2, 4, 5, 3)).astype(np.float32)  # (B, F', T', C)


def test_pool_heads_are_the_documented_reductions(feature_map):
    x = feature_map
    np.testing.assert_allclose(pool_head(jnp.asarray(x), "mean"), x.mean(axis=(1, 2)), rtol=1e-6)
    np.testing.assert_allclose(
        pool_head(jnp.asarray(x), "time"), x.mean(axis=2).reshape(2, 12), rtol=1e-6
    )
    # row f, channel c of clip b: the mean of its 5 frames plus their largest, flattened f-major
    b, f, c = 1, 2, 0
    want = x[b, f, :, c].mean() + x[b, f, :, c].max()
    got = np.asarray(pool_head(jnp.asarray(x), "time_max"))
    assert got.shape == (2, 12)
    np.testing.assert_allclose(got[b, f * 3 + c], want, rtol=1e-6)


def test_a_short_call_moves_the_max_head_more_than_the_mean():
    # one frame of 10 lit up: the mean over time sees a tenth of it, the max all of it
    x = np.zeros((1, 1, 10, 1), np.float32)
    x[0, 0, 3, 0] = 1.0
    assert float(pool_head(jnp.asarray(x), "time")[0, 0]) == pytest.approx(0.1)
    assert float(pool_head(jnp.asarray(x), "time_max")[0, 0]) == pytest.approx(1.1)


def test_time_max_cnn_feeds_its_head_the_pooled_map():
    m = AudioCNN(5, (3, 16, 12), channels=[8, 16], pool="time_max", rngs=nnx.Rngs(params=0))
    assert m.head.in_features == 4 * 16  # 16 rows -> 2 pools -> 4 rows x 16 channels
    m.eval()
    x = jax.random.normal(jax.random.key(1), (2, 3, 16, 12))
    blocks = apply_conv_blocks(m.convs, m.norms, jnp.transpose(x, (0, 2, 3, 1)))
    want = np.asarray(blocks).mean(axis=2) + np.asarray(blocks).max(axis=2)
    np.testing.assert_allclose(
        m(x), np.asarray(m.head(jnp.asarray(want.reshape(2, -1)))), rtol=1e-5, atol=1e-6
    )
