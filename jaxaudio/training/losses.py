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

The sigmoid (multi-label) counterparts — :func:`weighted_binary_cross_entropy`,
:func:`binary_logit_adjustment` and :func:`mix_targets` — treat each species as its own
yes/no question, so a clip may hold several species (or none). Their reduction follows
PyTorch ``BCEWithLogitsLoss``, which is a plain mean over elements, *not* the weighted mean
of ``CrossEntropyLoss``: see :func:`weighted_binary_cross_entropy`.
"""

from __future__ import annotations

import jax
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


def weighted_binary_cross_entropy(
    logits: jnp.ndarray,
    targets: jnp.ndarray,
    weight_vector: jnp.ndarray | None = None,
    mask: jnp.ndarray | None = None,
    logit_offset: jnp.ndarray | None = None,
    pos_weight: jnp.ndarray | None = None,
) -> jnp.ndarray:
    """Mean binary cross-entropy over species, PyTorch ``BCEWithLogitsLoss`` semantics.

    With ``z = logits + logit_offset`` and (possibly soft) targets ``y ∈ [0, 1]``, the term of
    clip i and species c is::

        l_ic = -w_c [p_c y_ic log σ(z_ic) + (1 − y_ic) log(1 − σ(z_ic))]

    where ``w_c`` = ``weight_vector[c]`` scales both the positive and the negative part of
    species c (PyTorch's ``weight=w[None, :]``) and ``p_c`` = ``pos_weight[c]`` only the
    positive part (PyTorch's ``pos_weight``; ``p_c = n_neg / n_pos`` balances a rare species'
    positives against its negatives). ``log σ(z)`` and ``log(1 − σ(z)) = log σ(−z)`` are
    ``jax.nn.log_sigmoid`` (softplus inside), finite and exact at any |z|.

    Reduction, with ``m_i`` = ``mask[i]`` (all ones when ``None``)::

        loss = Σ_i m_i Σ_c l_ic / (C · Σ_i m_i)

    Without a mask this is PyTorch's ``reduction="mean"``: the mean of the *weighted* terms
    over all B·C elements. The weights are not in the denominator (unlike
    :func:`weighted_cross_entropy`): in the binary form every species appears in every row,
    so Σ_ic w_c = B Σ_c w_c is a constant and dividing by it would only rescale the learning
    rate. With a mask the mean is over the C elements of the rows with ``m_i = 1``, so
    padding rows count nowhere; an all-zero mask gives 0 rather than 0/0.

    Args:
        logits: ``(B, C)`` unnormalised scores, one per species.
        targets: ``(B, C)`` multi-hot (or mixed, in [0, 1]) labels.
        weight_vector: ``(C,)`` class weights ``w_c``, or ``None`` for ones.
        mask: ``(B,)`` 0/1 row mask, or ``None``.
        logit_offset: ``(C,)`` added to the logits (:func:`binary_logit_adjustment`; pass it
            in training only), or ``None``.
        pos_weight: ``(C,)`` ``p_c``, or ``None`` for ones.
    """
    z = logits if logit_offset is None else logits + logit_offset
    y = targets.astype(z.dtype)
    positive = jax.nn.log_sigmoid(z) if pos_weight is None else pos_weight * jax.nn.log_sigmoid(z)
    per_element = -(y * positive + (1.0 - y) * jax.nn.log_sigmoid(-z))
    if weight_vector is not None:
        per_element = per_element * weight_vector
    per_row = jnp.sum(per_element, axis=-1)
    if mask is None:
        return jnp.mean(per_row) / z.shape[-1]
    return jnp.sum(mask * per_row) / (z.shape[-1] * jnp.maximum(jnp.sum(mask), 1.0))


def binary_logit_adjustment(targets: jnp.ndarray, tau: float) -> jnp.ndarray:
    """The offset ``τ · log(π_c / (1 − π_c))`` added to the sigmoid logits in training.

    The binary form of Menon et al. (ICLR 2021): each species is a two-class problem with
    prior π_c (present) against 1 − π_c (absent), and the softmax offset ``τ log π`` of the
    two classes reduces, for a sigmoid, to the difference of the two, τ times the log-odds.
    Trained on ``z + offset`` and scored with the plain ``z``, a rare species is no longer
    pushed towards "absent" by its prior alone.

    ``π_c`` = mean of ``targets[:, c]`` over the N training clips (soft targets count their
    mass). A species absent from every clip (π = 0) or present in every clip (π = 1) would get
    an infinite offset; π is clipped into ``[1/(2N), 1 − 1/(2N)]``, i.e. such a species is
    counted as present (or absent) in half a clip — the smallest non-zero prior the data
    could show, halved. (With N = 1 this gives π = 1/2, offset 0.)

    Args:
        targets: ``(N, C)`` multi-hot labels of the training split.
        tau: τ; 0 gives a zero offset.
    """
    y = jnp.asarray(targets, jnp.float32)
    eps = 0.5 / y.shape[0]
    prior = jnp.clip(jnp.mean(y, axis=0), eps, 1.0 - eps)
    return tau * (jnp.log(prior) - jnp.log1p(-prior))


def mix_targets(targets: jnp.ndarray, perm: jnp.ndarray, lam: jnp.ndarray) -> jnp.ndarray:
    """Mixup targets for the sigmoid loss: ``λ y_i + (1 − λ) y_π(i)``.

    ``perm`` and ``lam`` as :func:`jaxaudio.training.augment.mixup` returns them (a
    permutation of the batch and a scalar λ). Mixing the targets is the same as mixing the
    two losses, because the binary cross-entropy is affine in the target::

        l(z, y) = -p y log σ(z) − (1 − y) log σ(−z) = a(z) + y b(z)

    with ``a = −log σ(−z)``, ``b = log σ(−z) − p log σ(z)``; so, as λ + (1 − λ) = 1,
    ``l(z, λ y + (1 − λ) y') = λ l(z, y) + (1 − λ) l(z, y')``, and the class weights, the
    mask and the denominator of :func:`weighted_binary_cross_entropy` do not depend on y.
    (The softmax loss needs :func:`weighted_cross_entropy_mixup` instead, because there the
    weight of a term depends on its label.)
    """
    return lam * targets + (1.0 - lam) * targets[perm]
