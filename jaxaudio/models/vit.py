"""``AudioViT``: a Vision Transformer over non-overlapping patches of the MFCC stack.

The ``(3, F, T)`` input is cut into ``patch = (p_f, p_t)`` patches (a strided conv, i.e. a
linear map of each flattened ``3 * p_f * p_t`` patch), giving ``(F // p_f) * (T // p_t)``
tokens (trailing rows/frames that do not fill a patch are dropped). Learned position
embeddings are added; an optional class token is prepended. Pre-norm transformer blocks
(multi-head self-attention, GELU MLP, residuals) follow; the class token (``pool="cls"``) or
the token mean (``pool="mean"``) feeds a layer-normalised linear head.

``stem`` (default none) puts convolutional blocks before the patches, the hybrid ViT of
Dosovitskiy et al. 2021 (§3.1) and the "early convolutions" of Xiao et al. 2021: each entry
is one conv–BN–ReLU–2x2-pool block of :class:`~jaxaudio.models.cnn.AudioCNN` with that many
channels, so the patches are cut from a ``(stem[-1], F / 2^k, T / 2^k)`` map of local
features instead of raw coefficients. A transformer has no prior for locality; on 1,000-odd
short clips it cannot learn one, and the stem gives it the CNN's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, get_args

import jax.numpy as jnp
from flax import nnx

from jaxaudio.models.cnn import apply_conv_blocks, conv_blocks

#: ``options.pool`` of a ViT: the class token or the token mean.
Pool = Literal["cls", "mean"]
POOLS: tuple[str, ...] = get_args(Pool)


def stem_output(input_shape: tuple[int, int, int], stem: Sequence[int]) -> tuple[int, int, int]:
    """``(channels, rows, frames)`` the patches are cut from: the input after the stem's
    blocks, each halving rows and frames (floor, as the pooling drops odd ones)."""
    c, f, t = input_shape
    for ch in stem:
        c, f, t = ch, f // 2, t // 2
    return c, f, t


class TransformerBlock(nnx.Module):
    def __init__(self, dim: int, heads: int, mlp_dim: int, dropout: float, *, rngs: nnx.Rngs):
        self.norm1 = nnx.LayerNorm(dim, rngs=rngs)
        self.attn = nnx.MultiHeadAttention(
            num_heads=heads,
            in_features=dim,
            dropout_rate=dropout,
            decode=False,
            keep_rngs=False,
            rngs=rngs,
        )
        self.norm2 = nnx.LayerNorm(dim, rngs=rngs)
        self.fc1 = nnx.Linear(dim, mlp_dim, rngs=rngs)
        self.fc2 = nnx.Linear(mlp_dim, dim, rngs=rngs)
        self.drop = nnx.Dropout(dropout)

    def __call__(self, x: jnp.ndarray, *, rngs: nnx.Rngs | None) -> jnp.ndarray:
        x = x + self.drop(self.attn(self.norm1(x), rngs=rngs), rngs=rngs)
        h = self.fc2(self.drop(nnx.gelu(self.fc1(self.norm2(x))), rngs=rngs))
        return x + self.drop(h, rngs=rngs)


class AudioViT(nnx.Module):
    def __init__(
        self,
        n_classes: int,
        input_shape: tuple[int, int, int],
        patch: tuple[int, int] = (8, 4),
        dim: int = 64,
        depth: int = 2,
        heads: int = 4,
        mlp_dim: int = 128,
        dropout: float = 0.1,
        pool: Pool = "cls",
        stem: Sequence[int] = (),
        *,
        rngs: nnx.Rngs,
    ):
        if pool not in POOLS:
            raise ValueError(f"AudioViT pool must be 'cls' or 'mean', got {pool!r}")
        c, f, t = stem_output(input_shape, stem)
        pf, pt = patch
        if f < pf or t < pt:
            raise ValueError(
                f"AudioViT patch {tuple(patch)} is larger than the "
                f"{'stem output' if stem else 'input'} {(f, t)}"
            )
        n_tokens = (f // pf) * (t // pt) + (pool == "cls")
        self.pool = pool
        self.stem_convs, self.stem_norms = conv_blocks(input_shape[0], stem, rngs)
        self.embed = nnx.Conv(c, dim, (pf, pt), strides=(pf, pt), padding="VALID", rngs=rngs)
        init = nnx.initializers.normal(0.02)
        self.pos = nnx.Param(init(rngs.params(), (1, n_tokens, dim)))
        self.cls = nnx.Param(jnp.zeros((1, 1, dim))) if pool == "cls" else None
        self.blocks = nnx.List(
            [TransformerBlock(dim, heads, mlp_dim, dropout, rngs=rngs) for _ in range(depth)]
        )
        self.drop = nnx.Dropout(dropout)
        self.norm = nnx.LayerNorm(dim, rngs=rngs)
        self.head = nnx.Linear(dim, n_classes, rngs=rngs)

    def __call__(self, x: jnp.ndarray, *, rngs: nnx.Rngs | None = None) -> jnp.ndarray:
        x = apply_conv_blocks(self.stem_convs, self.stem_norms, jnp.transpose(x, (0, 2, 3, 1)))
        x = self.embed(x)  # (B, F'/pf, T'/pt, dim), F' x T' the stem's output map
        b = x.shape[0]
        x = x.reshape(b, -1, x.shape[-1])
        if self.cls is not None:
            x = jnp.concatenate([jnp.broadcast_to(self.cls[...], (b, 1, x.shape[-1])), x], axis=1)
        x = self.drop(x + self.pos[...], rngs=rngs)
        for block in self.blocks:
            x = block(x, rngs=rngs)
        x = self.norm(x)
        x = x[:, 0] if self.pool == "cls" else x.mean(axis=1)
        return self.head(x)
