"""Class-weighted softmax cross-entropy with PyTorch ``CrossEntropyLoss(weight=w)`` semantics.

PyTorch documents, for ``reduction="mean"``::

    loss = sum_i w[y_i] * l_i / sum_i w[y_i],     l_i = -log softmax(x_i)[y_i]

i.e. a *weighted mean*: the denominator is the sum of the weights of the samples in the
batch, not the batch size. (Dividing by the batch size instead makes the effective learning
rate depend on which classes happen to be in a batch.) optax provides ``l_i``
(``softmax_cross_entropy_with_integer_labels``) but no class-weight argument, so the
reduction is written here.

:func:`logit_adjustment` is the long-tail correction of Menon et al. (ICLR 2021,
"Long-tail learning via logit adjustment"): training on ``logits + τ·log π`` (π the class
priors of the training split) and predicting with the plain logits makes the loss
Fisher-consistent for the *balanced* error, i.e. it stops the model from buying accuracy on
common species with the rare ones. It composes with the class weights above.
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


def weighted_cross_entropy_mixup(
    logits: jnp.ndarray,
    labels_a: jnp.ndarray,
    labels_b: jnp.ndarray,
    lam: jnp.ndarray,
    class_weights: jnp.ndarray | None = None,
    mask: jnp.ndarray | None = None,
) -> jnp.ndarray:
    """Class-weighted cross-entropy of a mixup batch ``λ x_a + (1 − λ) x_b``.

    Each sample carries the two labels with mass ``λ`` and ``1 − λ``; the PyTorch weighted
    mean above generalises to::

        loss = sum_i [λ w[a_i] l_i(a_i) + (1−λ) w[b_i] l_i(b_i)] / sum_i [λ w[a_i] + (1−λ) w[b_i]]

    which is :func:`weighted_cross_entropy` exactly when ``λ = 1`` (or ``a = b``). ``mask``
    as in :func:`weighted_cross_entropy`.
    """
    l_a = optax.softmax_cross_entropy_with_integer_labels(logits, labels_a)
    l_b = optax.softmax_cross_entropy_with_integer_labels(logits, labels_b)
    if class_weights is None:
        w_a = w_b = jnp.ones_like(l_a)
    else:
        w_a, w_b = jnp.take(class_weights, labels_a), jnp.take(class_weights, labels_b)
    if mask is not None:  # padding rows count in neither numerator nor denominator
        w_a, w_b = w_a * mask, w_b * mask
    num = jnp.sum(lam * w_a * l_a + (1.0 - lam) * w_b * l_b)
    return num / jnp.sum(lam * w_a + (1.0 - lam) * w_b)


def logit_adjustment(train_labels: jnp.ndarray, n_classes: int, tau: float) -> jnp.ndarray:
    """The offset ``τ · log π_c`` added to the logits in the training loss.

    ``π_c = n_c / n`` from the training labels. A class without training clips would have
    ``log 0``; it gets the smallest observed prior instead (it cannot be learnt either way,
    and an infinite offset would make the loss NaN).
    """
    counts = jnp.bincount(jnp.asarray(train_labels), length=n_classes).astype(jnp.float32)
    counts = jnp.where(counts > 0, counts, jnp.min(jnp.where(counts > 0, counts, jnp.inf)))
    return tau * jnp.log(counts / jnp.sum(counts))
