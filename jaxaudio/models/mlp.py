"""``AudioMLP``: a dense head over the flattened features, for embeddings of a pretrained model.

An embedding (``features.kind: birdnet``, ``(1, 1024, 1)`` per clip) has no time-frequency
plane for a CNN's kernels or a ViT's patches to slide over; what transfer learning puts on
it is a linear classifier or a small MLP (BirdNET-Analyzer's custom classifiers, Perch's
linear probes). The MLP flattens any input, so it also trains on a spectral feature set,
a from-scratch dense reference beside the CNN.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import jax.numpy as jnp
from flax import nnx


class AudioMLP(nnx.Module):
    """``x`` flattened -> ``[Linear -> ReLU -> Dropout]`` per entry of ``hidden`` -> Linear.

    ``hidden=()`` is a linear classifier (multinomial logistic regression, trained by the
    workflow's loss and optimiser): logits ``= W vec(x) + b``. ``input_dropout`` > 0 drops
    flattened input features before the first layer (regularises a head on 1024 features
    learnt from few clips); ``dropout`` follows each hidden layer.
    """

    def __init__(
        self,
        n_classes: int,
        input_shape: tuple[int, int, int],
        hidden: Sequence[int] = (512,),
        dropout: float = 0.3,
        input_dropout: float = 0.0,
        *,
        rngs: nnx.Rngs,
    ):
        width = math.prod(input_shape)
        layers = []
        for h in hidden:
            layers.append(nnx.Linear(width, h, rngs=rngs))
            width = h
        self.hidden = nnx.List(layers)
        self.input_dropout = nnx.Dropout(input_dropout)
        self.dropout = nnx.Dropout(dropout)
        self.head = nnx.Linear(width, n_classes, rngs=rngs)

    def __call__(self, x: jnp.ndarray, *, rngs: nnx.Rngs | None = None) -> jnp.ndarray:
        x = self.input_dropout(x.reshape(x.shape[0], -1), rngs=rngs)
        for layer in self.hidden:
            x = self.dropout(nnx.relu(layer(x)), rngs=rngs)
        return self.head(x)
