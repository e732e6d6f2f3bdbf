"""A stride-1 ``SAME`` 2-D convolution whose gradient XLA's CPU backend computes fast.

Why: on CPU, XLA lowers the *weight* gradient of a convolution (a convolution of the input
with the output gradient, batch as the contraction axis) to a generic loop nest that runs
several times slower than the forward pass; PyTorch hands the same product to oneDNN. For
the seed CNN that one op made a jitted Flax train step ~4x slower than PyTorch eager
(jax-ml/jax#31662, openxla/xla#34273). The product is a plain matrix multiplication once
the input is unfolded into patches (im2col), and XLA's CPU matmul is fast:

    y[b, h, w, o]  = Σ_{i, j, c} x̃[b, h + i, w + j, c] · W[i, j, c, o]     (x̃ = x zero-padded)
    ∂L/∂W[i, j, c, o] = Σ_{b, h, w} x̃[b, h + i, w + j, c] · g[b, h, w, o]  = Pᵀ g
    ∂L/∂x             = (g ⋆ flip(W)ᵀ)   — again a stride-1 SAME convolution

with ``P`` the ``(B·H·W, kh·kw·C)`` patch matrix and ``g = ∂L/∂y``. :func:`conv2d_same`
keeps XLA's input gradient (fast) and computes the weight gradient as ``Pᵀ g``. Under
differentiation its forward is ``y = P W``, the same ``P`` kept for the backward pass, so the
patches are built once per step; without differentiation (evaluation, ``predict``) it is
XLA's forward convolution, which needs no ``P``. The values equal ``jax.grad`` of
``lax.conv_general_dilated`` up to float32 summation order (tests/unit/models/test_conv.py
checks it against that reference).

Only the CPU backend takes this path; accelerators use XLA's own gradient (cuDNN etc.),
which is fast and does not pay the ``kh·kw``-fold memory of the patch matrix.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

_DIMS = ("NHWC", "HWIO", "NHWC")


def _conv(x: jnp.ndarray, w: jnp.ndarray) -> jnp.ndarray:
    return jax.lax.conv_general_dilated(x, w, (1, 1), "SAME", dimension_numbers=_DIMS)


def _pads(k: int) -> tuple[int, int]:
    """XLA's SAME padding for an odd or even kernel at stride 1: (k-1)//2 before, rest after."""
    return (k - 1) // 2, k // 2


def patches(x: jnp.ndarray, kh: int, kw: int) -> jnp.ndarray:
    """The ``(B, H, W, kh·kw·C)`` patch tensor ``P`` of NHWC ``x`` for a SAME, stride-1 kernel.

    Entry ``[b, h, w, (i·kw + j)·C + c]`` is ``x̃[b, h + i, w + j, c]``, the order in which
    an HWIO kernel reshaped to ``(kh·kw·C, O)`` is laid out.
    """
    _, h, w, _ = x.shape
    xp = jnp.pad(x, ((0, 0), _pads(kh), _pads(kw), (0, 0)))
    return jnp.concatenate(
        [xp[:, i : i + h, j : j + w, :] for i in range(kh) for j in range(kw)], axis=-1
    )


@jax.custom_vjp
def _conv_matmul_grad(x: jnp.ndarray, w: jnp.ndarray) -> jnp.ndarray:
    return _conv(x, w)


def _fwd(x, w):
    # Under differentiation the forward is the patch matmul y = P W: P is needed for the
    # weight gradient anyway, so it is built once and kept as the residual (kh·kw times the
    # input's memory), and XLA's CPU matmul beats its forward convolution on these shapes.
    kh, kw, c, o = w.shape
    b, h, wd, _ = x.shape
    p = patches(x, kh, kw).reshape(b * h * wd, kh * kw * c)
    return (p @ w.reshape(kh * kw * c, o)).reshape(b, h, wd, o), (p, w)


def _bwd(res, g):
    p, w = res
    kh, kw, c, o = w.shape
    # ∂L/∂x: convolve g with the spatially flipped kernel, in and out channels swapped. For
    # an even kernel SAME pads the other way round, which the flip turns into (k//2, (k-1)//2).
    w_t = jnp.flip(w, (0, 1)).transpose(0, 1, 3, 2)
    dx = jax.lax.conv_general_dilated(
        g, w_t, (1, 1), [_pads(kh)[::-1], _pads(kw)[::-1]], dimension_numbers=_DIMS
    )
    # ∂L/∂W = Pᵀ g: one (kh·kw·C) x (B·H·W) x O matmul, written on 2-D views (XLA's CPU
    # matmul is ~1.5x faster on those than on the 4-D einsum of the same product)
    dw = (p.T @ g.reshape(p.shape[0], o)).reshape(kh, kw, c, o)
    return dx, dw.astype(w.dtype)


_conv_matmul_grad.defvjp(_fwd, _bwd)


def conv2d_same(x: jnp.ndarray, w: jnp.ndarray) -> jnp.ndarray:
    """Stride-1 ``SAME`` convolution of NHWC ``x`` with HWIO ``w`` (no bias).

    On the CPU backend its weight gradient is the patch matmul above; elsewhere it is
    ``lax.conv_general_dilated`` with XLA's own gradient. Same values either way.
    """
    if jax.default_backend() == "cpu":
        return _conv_matmul_grad(x, w)
    return _conv(x, w)


class Conv2dSame(nnx.Module):
    """``nnx.Conv(in, out, kernel, padding="SAME", use_bias=False)`` built on :func:`conv2d_same`.

    Same parameter (``kernel``, HWIO) and initialiser (LeCun normal) as ``nnx.Conv``, so the
    model's parameters and checkpoints do not depend on which convolution computes them.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        kernel_size: tuple[int, int] = (3, 3),
        *,
        rngs: nnx.Rngs,
    ):
        init = nnx.initializers.lecun_normal()
        self.kernel = nnx.Param(
            init(rngs.params(), (*kernel_size, in_features, out_features), jnp.float32)
        )

    def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
        w = self.kernel[...]
        return conv2d_same(
            x.astype(w.dtype), w
        )  # computes in the kernel's dtype (bfloat16 copies in mixed precision)
