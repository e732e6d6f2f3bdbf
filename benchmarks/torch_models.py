"""PyTorch twins of :mod:`jaxaudio.models` — the reference for the training benchmark.

Same layers, shapes, parameter counts and training-time behaviour (dropout, BatchNorm in
training mode) as the Flax ``AudioCNN`` and ``AudioViT``, so that samples/s compare the
frameworks, not the models. Inputs are ``(B, C, F, T)`` like the feature cache. PyTorch is
imported here, so this module is only imported when torch is installed
(``pip install -r benchmarks/requirements.txt``).

Deliberate equivalences (numerically the same model, idiomatic PyTorch):

* ``nnx.BatchNorm(momentum=0.9)`` is ``nn.BatchNorm2d(momentum=0.1)`` (PyTorch's momentum is
  the weight of the new batch), ``epsilon=1e-5`` in both;
* ``nnx.LayerNorm`` uses ``epsilon=1e-6`` (PyTorch's default is 1e-5);
* ``nnx.gelu`` defaults to the tanh approximation: ``nn.GELU(approximate="tanh")``;
* ``nnx.MultiHeadAttention`` (separate query/key/value projections with bias, dropout on the
  attention weights, output projection) is ``nn.MultiheadAttention(batch_first=True)``: one
  packed ``3·dim`` input projection, the same maths and parameter count, and PyTorch's
  fused scaled-dot-product-attention kernel (``need_weights=False``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class AudioCNN(nn.Module):
    """``jaxaudio.models.cnn.AudioCNN``: (3x3 conv, no bias -> BN -> ReLU -> 2x2 max-pool) per
    block, then mean over frequency and time (``pool="mean"``) or over time only and flatten
    (``pool="time"``), dropout, linear head."""

    def __init__(
        self,
        n_classes: int,
        input_shape: tuple[int, int, int],
        channels: Sequence[int] = (32, 64, 128),
        dropout: float = 0.3,
        pool: str = "mean",
    ):
        super().__init__()
        if pool not in ("mean", "time"):
            raise ValueError(f"AudioCNN pool must be 'mean' or 'time', got {pool!r}")
        self.pool = pool
        in_ch = input_shape[0]
        layers: list[nn.Module] = []
        for out_ch in channels:
            layers += [
                nn.Conv2d(in_ch, out_ch, 3, padding=1, bias=False),
                nn.BatchNorm2d(out_ch, eps=1e-5, momentum=0.1),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2),  # floor: odd trailing rows/columns dropped, like max_pool_2x2
            ]
            in_ch = out_ch
        self.features = nn.Sequential(*layers)
        f_out = input_shape[1]
        for _ in channels:
            f_out //= 2
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(in_ch * (f_out if pool == "time" else 1), n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)  # (B, C, F', T')
        x = x.mean(dim=(2, 3)) if self.pool == "mean" else x.mean(dim=3).transpose(1, 2).flatten(1)
        return self.head(self.dropout(x))


class TransformerBlock(nn.Module):
    """Pre-norm block of ``jaxaudio.models.vit``: x + drop(attn(LN(x))); x + drop(fc2(drop(gelu(fc1(LN(x))))))."""

    def __init__(self, dim: int, heads: int, mlp_dim: int, dropout: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = nn.MultiheadAttention(dim, heads, dropout=dropout, bias=True, batch_first=True)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.fc1 = nn.Linear(dim, mlp_dim)
        self.fc2 = nn.Linear(mlp_dim, dim)
        self.act = nn.GELU(approximate="tanh")
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.norm1(x)
        x = x + self.drop(self.attn(h, h, h, need_weights=False)[0])
        h = self.fc2(self.drop(self.act(self.fc1(self.norm2(x)))))
        return x + self.drop(h)


class AudioViT(nn.Module):
    """``jaxaudio.models.vit.AudioViT``: strided-conv patch embedding, learned positions, optional
    class token, pre-norm transformer blocks, final LayerNorm, linear head."""

    def __init__(
        self,
        n_classes: int,
        input_shape: tuple[int, int, int],
        patch: tuple[int, int] = (8, 4),
        dim: int = 64,
        depth: int = 4,
        heads: int = 4,
        mlp_dim: int = 128,
        dropout: float = 0.1,
        pool: str = "cls",
    ):
        super().__init__()
        if pool not in ("cls", "mean"):
            raise ValueError(f"AudioViT pool must be 'cls' or 'mean', got {pool!r}")
        c, f, t = input_shape
        pf, pt = patch
        n_tokens = (f // pf) * (t // pt) + (pool == "cls")
        self.pool = pool
        self.embed = nn.Conv2d(
            c, dim, (pf, pt), stride=(pf, pt)
        )  # VALID: trailing rows/frames dropped
        self.pos = nn.Parameter(torch.randn(1, n_tokens, dim) * 0.02)
        self.cls = nn.Parameter(torch.zeros(1, 1, dim)) if pool == "cls" else None
        self.blocks = nn.ModuleList(
            [TransformerBlock(dim, heads, mlp_dim, dropout) for _ in range(depth)]
        )
        self.drop = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.embed(x)  # (B, dim, F/pf, T/pt)
        x = x.flatten(2).transpose(
            1, 2
        )  # (B, tokens, dim), tokens in (F', T') row-major order as in Flax
        if self.cls is not None:
            x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1)
        x = self.drop(x + self.pos)
        for block in self.blocks:
            x = block(x)
        x = self.norm(x)
        x = x[:, 0] if self.pool == "cls" else x.mean(dim=1)
        return self.head(x)


ARCHITECTURES = {"cnn": AudioCNN, "vit": AudioViT}


def build_model(
    arch: str, n_classes: int, input_shape: tuple[int, int, int], options: dict
) -> nn.Module:
    """``jaxaudio.models.build_model`` for PyTorch (same architecture option names)."""
    opts = dict(options)
    if "patch" in opts:
        opts["patch"] = tuple(opts["patch"])
    return ARCHITECTURES[arch](n_classes=n_classes, input_shape=tuple(input_shape), **opts)
