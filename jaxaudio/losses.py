"""Class-weighted softmax cross-entropy with PyTorch ``CrossEntropyLoss(weight=w)`` semantics.

PyTorch documents, for ``reduction="mean"``::

    loss = sum_i w[y_i] * l_i / sum_i w[y_i],     l_i = -log softmax(x_i)[y_i]

i.e. a *weighted mean*: the denominator is the sum of the weights of the samples in the
batch, not the batch size. (Dividing by the batch size instead makes the effective learning
rate depend on which classes happen to be in a batch.) optax provides ``l_i``
(``softmax_cross_entropy_with_integer_labels``) but no class-weight argument, so the
reduction is written here.
"""

from __future__ import annotations

import jax.numpy as jnp
import optax


def weighted_cross_entropy(
    logits: jnp.ndarray,
    labels: jnp.ndarray,
    class_weights: jnp.ndarray | None = None,
    mask: jnp.ndarray | None = None,
) -> jnp.ndarray:
    """Mean softmax cross-entropy, weighted per class as PyTorch does.

    Args:
        logits: ``(N, C)`` unnormalised scores.
        labels: ``(N,)`` integer class indices.
        class_weights: ``(C,)`` weight per class, or ``None`` for all ones (plain mean).
        mask: ``(N,)`` 0/1 — rows with 0 are padding and count neither in the numerator nor
            the denominator (used for the padded last batch in evaluation).
    """
    per_sample = optax.softmax_cross_entropy_with_integer_labels(logits, labels)
    w = jnp.ones_like(per_sample) if class_weights is None else jnp.take(class_weights, labels)
    if mask is not None:
        w = w * mask
    return jnp.sum(w * per_sample) / jnp.sum(w)
