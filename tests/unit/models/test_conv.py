"""``conv2d_same`` against XLA's own convolution and its autodiff gradient (the reference)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from jaxaudio.models.conv import Conv2dSame, _conv_matmul_grad, conv2d_same


def reference(x, w):
    return jax.lax.conv_general_dilated(
        x, w, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")
    )


@pytest.mark.parametrize("kernel", [(3, 3), (1, 1), (5, 3), (2, 2), (4, 3)])
@pytest.mark.parametrize("shape", [(4, 9, 13, 3), (2, 1, 5, 2)])
def test_values_and_gradients_match_xla_autodiff(kernel, shape):
    kx, kw, kg = jax.random.split(jax.random.key(0), 3)
    x = jax.random.normal(kx, shape)
    w = jax.random.normal(kw, (*kernel, shape[-1], 6))
    g = jax.random.normal(kg, (*shape[:3], 6))  # a generic output cotangent

    def vjp(f):
        y, pull = jax.vjp(f, x, w)
        return (y, *pull(g))

    # float32 products on every backend: a GPU would otherwise use TF32 (~1e-3 relative) on
    # both sides, with different roundings (seen on an H200: 3e-4 apart)
    with jax.default_matmul_precision("float32"):
        for ours, ref in zip(vjp(_conv_matmul_grad), vjp(reference)):
            np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(conv2d_same(x, w), reference(x, w), rtol=1e-5, atol=1e-5)


def test_hand_computed_weight_gradient():
    # 1 image 2x2, one channel, 3x3 kernel, L = sum(y): dL/dW[i, j] is the sum of the inputs
    # tap (i, j) reads over all outputs, x[h + i - 1, w + j - 1] (zero outside). x = [[1, 2],
    # [3, 4]]: the centre tap reads every pixel (10), the top-left one only x[0, 0] (1).
    x = jnp.array([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 2, 2, 1)
    w = jnp.zeros((3, 3, 1, 1))
    dw = jax.grad(lambda w: _conv_matmul_grad(x, w).sum())(w)[..., 0, 0]
    expected = np.array([[1, 3, 2], [4, 10, 6], [3, 7, 4]], dtype=np.float32)
    np.testing.assert_array_equal(np.asarray(dw), expected)


def test_module_initialises_like_nnx_conv():
    ours = Conv2dSame(3, 8, (3, 3), rngs=nnx.Rngs(7))
    flax_conv = nnx.Conv(3, 8, (3, 3), padding="SAME", use_bias=False, rngs=nnx.Rngs(7))
    np.testing.assert_array_equal(ours.kernel[...], flax_conv.kernel[...])
    x = jax.random.normal(jax.random.key(1), (2, 6, 7, 3))
    np.testing.assert_allclose(ours(x), flax_conv(x), rtol=1e-5, atol=1e-5)
