"""``AudioCNN``: conv–BN–ReLU–pool blocks, global average pooling, dropout, dense head."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, get_args

import jax.numpy as jnp
from flax import nnx

from jaxaudio.models.conv import Conv2dSame

#: ``options.pool`` of a CNN (see :class:`AudioCNN`).
Pool = Literal["mean", "time", "time_max"]
POOLS: tuple[str, ...] = get_args(Pool)


def max_pool_2x2(x: jnp.ndarray) -> jnp.ndarray:
    """2x2 max-pool of NHWC ``x`` (odd trailing rows/columns dropped, like ``floor`` pooling).

    Written as reshape + max: on CPU XLA compiles this faster than ``reduce_window``.
    """
    b, h, w, c = x.shape
    x = x[:, : h // 2 * 2, : w // 2 * 2]
    return x.reshape(b, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))


def pool_head(x: jnp.ndarray, pool: Pool) -> jnp.ndarray:
    """The head's input from the last block's NHWC map ``x`` ``(B, F', T', C)``.

    ``mean``: ``mean_{f,t} x`` ``(B, C)``; ``time``: ``mean_t x`` flattened ``(B, F'·C)``;
    ``time_max``: ``mean_t x + max_t x`` flattened (PANNs' clip pooling, Kong et al. 2020).
    """
    if pool == "mean":
        return x.mean(axis=(1, 2))
    over_time = x.mean(axis=2) if pool == "time" else x.mean(axis=2) + x.max(axis=2)
    return over_time.reshape(x.shape[0], -1)


def conv_blocks(in_ch: int, channels: Sequence[int], rngs: nnx.Rngs) -> tuple[nnx.List, nnx.List]:
    """The convolutions and batch norms of ``len(channels)`` conv–BN–ReLU–pool blocks (3x3
    :class:`~jaxaudio.models.conv.Conv2dSame` without bias, BN follows), ``in_ch`` channels in."""
    convs, norms = [], []
    for out_ch in channels:
        convs.append(Conv2dSame(in_ch, out_ch, (3, 3), rngs=rngs))  # = nnx.Conv, fast CPU gradient
        norms.append(nnx.BatchNorm(out_ch, momentum=0.9, rngs=rngs))
        in_ch = out_ch
    return nnx.List(convs), nnx.List(norms)


def apply_conv_blocks(convs: nnx.List, norms: nnx.List, x: jnp.ndarray) -> jnp.ndarray:
    """NHWC ``x`` through the blocks of :func:`conv_blocks`: each halves height and width."""
    for conv, norm in zip(convs, norms):
        x = max_pool_2x2(nnx.relu(norm(conv(x))))
    return x


class AudioCNN(nnx.Module):
    """A small VGG-style CNN over the (frequency, time) plane of the MFCC stack.

    Each block: 3x3 conv (no bias, BN follows; :class:`~jaxaudio.models.conv.Conv2dSame`) -> BatchNorm -> ReLU -> 2x2 max-pool. Then a
    pooling head, dropout and a linear classifier:

    * ``pool="mean"`` — mean over frequency and time: ``(B, C)``. Fewest parameters, but the
      head cannot tell *which* cepstral coefficients a pattern came from;
    * ``pool="time"`` — mean over time only, then flatten ``(F', C)``: the head keeps the
      coefficient position (MFCC rows are not translation invariant the way spectrogram
      rows roughly are) while any clip length still works;
    * ``pool="time_max"`` — as ``time``, with the maximum over time added to the mean: a
      0.1 s call in a 1 s window of a recording is a tenth of a time mean but all of a max.
    """

    def __init__(
        self,
        n_classes: int,
        input_shape: tuple[int, int, int],
        channels: Sequence[int] = (16, 32, 64),
        dropout: float = 0.3,
        pool: Pool = "mean",
        *,
        rngs: nnx.Rngs,
    ):
        if pool not in POOLS:
            raise ValueError(f"AudioCNN pool must be one of {', '.join(POOLS)}, got {pool!r}")
        self.pool = pool
        self.convs, self.norms = conv_blocks(input_shape[0], channels, rngs)
        in_ch = channels[-1] if channels else input_shape[0]
        self.dropout = nnx.Dropout(dropout)
        f_out = input_shape[1]
        for _ in channels:
            f_out //= 2
        if pool != "mean" and f_out < 1:
            raise ValueError(
                f"{len(channels)} pooling blocks leave no frequency rows of {input_shape[1]}"
            )
        self.head = nnx.Linear(in_ch * (1 if pool == "mean" else f_out), n_classes, rngs=rngs)

    def __call__(self, x: jnp.ndarray, *, rngs: nnx.Rngs | None = None) -> jnp.ndarray:
        x = jnp.transpose(x, (0, 2, 3, 1))  # (B, C, F, T) -> (B, F, T, C)
        x = pool_head(apply_conv_blocks(self.convs, self.norms, x), self.pool)
        return self.head(self.dropout(x, rngs=rngs))
