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

:func:`weighted_soft_cross_entropy` is the softmax training loss: the same weighted mean
on target distributions (mixup), with label smoothing (PyTorch ``label_smoothing``
semantics) and the focal loss of Lin et al. (2017) as options. Balanced softmax (Ren et al.
2020, training on ``logits + log n_c``) is the logit adjustment with ``τ = 1``: the offsets
differ by the constant ``log n``, which a softmax ignores, so it is ``logit_adjust: 1.0``,
not a loss of its own.

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


def weighted_soft_cross_entropy(
    logits: jnp.ndarray,
    targets: jnp.ndarray,
    class_weights: jnp.ndarray | None = None,
    mask: jnp.ndarray | None = None,
    label_smoothing: float = 0.0,
    focal_gamma: float = 0.0,
) -> jnp.ndarray:
    """The training loss of the softmax objective: class-weighted cross-entropy on target
    distributions, with label smoothing and the focal modulation as options.

    With ``p = softmax(z)``, ``q_i`` the target distribution of clip i (one-hot, or the mixup
    mix ``λ e_a + (1 − λ) e_b``), ``w`` the class weights, ``m`` the mask, ``ε`` the label
    smoothing and ``γ`` the focal exponent::

        ℓ_ic  = (1 − p_ic)^γ · (−log p_ic)                  (focal loss, Lin et al. 2017)
        q̃_i   = (1 − ε) q_i + ε / C                          (label smoothing)
        loss  = Σ_i m_i Σ_c q̃_ic w_c ℓ_ic  /  Σ_i m_i Σ_c q_ic w_c

    * ``ε = γ = 0``, one-hot ``q``: PyTorch ``CrossEntropyLoss(weight=w)``, the weighted mean
      of :func:`weighted_cross_entropy`; mixup ``q``: its mixup form (each label's term and
      weight carry its mass).
    * ``ε > 0``: PyTorch ``CrossEntropyLoss(weight=w, label_smoothing=ε)`` exactly: PyTorch
      adds ``ε/C · Σ_c w_c (−log p_ic)`` to each clip's ``(1 − ε) w_{y_i} (−log p_{iy_i})`` and
      divides by ``Σ_i w_{y_i}``, the *unsmoothed* targets' weights, as here.
    * ``γ > 0``: the focal loss's ``−α_t (1 − p_t)^γ log p_t`` with ``α`` = the class weights,
      reduced as the weighted mean above (Lin et al. average over anchors; here over the
      clips' weights, so ``γ`` changes the shape of the loss, not the learning rate's
      scale). ``γ = 2`` is the paper's value: confidently right clips (``p_t → 1``) stop
      counting, so the gradient goes to the hard, often rare, ones.

    ``1 − p`` is computed as ``−expm1(log p)`` (exact as ``p → 1``); ``(1 − p)^γ`` is then 0 at
    ``p = 1`` with a finite gradient for ``γ ≥ 1``.

    Args:
        logits: ``(B, C)`` unnormalised scores.
        targets: ``(B, C)`` target distributions (rows summing to 1).
        class_weights: ``(C,)`` or ``None`` (ones).
        mask: ``(B,)`` 0/1 row mask or ``None``.
        label_smoothing: ``ε`` in ``[0, 1)``.
        focal_gamma: ``γ ≥ 0``.
    """
    log_p = jax.nn.log_softmax(logits, axis=-1)
    per_class = -log_p
    if focal_gamma:
        # 1 − p = −expm1(log p): exact when p → 1, where exp(γ log1p(−p)) has a 0/0 gradient
        per_class = jnp.power(jnp.maximum(-jnp.expm1(log_p), 0.0), focal_gamma) * per_class
    q = targets.astype(log_p.dtype)
    q_smooth = (1.0 - label_smoothing) * q + label_smoothing / q.shape[-1] if label_smoothing else q
    w = jnp.ones(q.shape[-1], log_p.dtype) if class_weights is None else class_weights
    m = jnp.ones(q.shape[0], log_p.dtype) if mask is None else mask
    num = jnp.sum(m * jnp.sum(q_smooth * w * per_class, axis=-1))
    return num / jnp.sum(m * jnp.sum(q * w, axis=-1))


def mixup_targets(
    labels_a: jnp.ndarray, labels_b: jnp.ndarray, lam: jnp.ndarray | float, n_classes: int
) -> jnp.ndarray:
    """``λ e_a + (1 − λ) e_b``: a softmax batch's target distributions (``λ = 1``: one-hot)."""
    return lam * jax.nn.one_hot(labels_a, n_classes) + (1.0 - lam) * jax.nn.one_hot(
        labels_b, n_classes
    )


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
    (The softmax loss mixes target distributions in :func:`weighted_soft_cross_entropy`
    instead, whose denominator depends on the labels' weights.)
    """
    return lam * targets + (1.0 - lam) * targets[perm]
