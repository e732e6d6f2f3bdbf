"""The compiled steps: ``loss_fn``, ``train_step`` and ``eval_step``.

One training step on a batch ``(x, y)`` of ``B`` clips with loss mask ``m``:

1. standardise: ``x ← (x − μ) / σ`` with the training-split statistics (``μ = 0, σ = 1`` when
   normalisation is off, so the same program runs);
2. with a data-parallel ``batch_sharding``, constrain ``x``, ``y``, ``m`` to be split over the
   mesh's ``batch`` axis: XLA partitions the step, parameters stay replicated, gradients and
   BatchNorm batch statistics are all-reduced, so the maths is that of one device;
3. ``loss_fn``: split the step's key into ``(k_drop, k_aug, k_mix)``; time shift and
   SpecAugment masks (:func:`jaxaudio.training.augment.augment_batch`); mixup
   ``x̃ = λx + (1 − λ)x_π``; logits ``z = f_θ(x̃)`` (+ the logit adjustment ``τ log π`` in the
   training loss only); class-weighted cross-entropy with PyTorch's weighted mean
   ``Σ m_i w_{y_i} ℓ_i / Σ m_i w_{y_i}`` on the one-hot or mixup targets, with label
   smoothing and the focal modulation when set
   (:func:`~jaxaudio.training.losses.weighted_soft_cross_entropy`);
   with ``objective="sigmoid"`` (multi-label) ``y`` is the ``(B, C)`` float multi-hot target,
   mixup mixes the targets (:func:`~jaxaudio.training.losses.mix_targets`) and the loss is the
   class-weighted binary cross-entropy
   (:func:`~jaxaudio.training.losses.weighted_binary_cross_entropy`, offset
   ``τ log(π/(1 − π))``);
4. ``(ℓ, ∇_θ ℓ)`` by ``jax.value_and_grad``; one optimiser update
   (:meth:`jaxaudio.training.state.TrainState.apply_gradients`).

``compute_dtype="bfloat16"`` is mixed precision for accelerators: the master parameters,
optimiser state, BatchNorm statistics and the loss stay float32; the forward and backward
passes run on bfloat16 copies of the parameters and the batch (the cast is differentiable, so
gradients arrive in float32). On CPU it is correct but not faster.

The static parts of a run (augmentation, compute dtype, sharding) are one hashable
:class:`StepConfig`, a static argument of the jitted functions; the arrays every step reads
(statistics, class weights, logit offset) are one :class:`StepConstants` pytree argument.
The state is donated: XLA updates its buffers in place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, get_args

import jax
import jax.numpy as jnp
from flax import nnx, struct

from jaxaudio.training.augment import AugmentSettings, augment_batch, mixup
from jaxaudio.training.losses import (
    mix_targets,
    mixup_targets,
    weighted_binary_cross_entropy,
    weighted_soft_cross_entropy,
)
from jaxaudio.training.settings import ComputeDtype, Objective
from jaxaudio.training.state import TrainState


@dataclass(frozen=True)
class StepConfig:
    """What a step compiles for (a static jit argument: hashable, compared by value)."""

    augment: AugmentSettings = field(default_factory=AugmentSettings)
    compute_dtype: ComputeDtype = "float32"
    batch_sharding: jax.sharding.Sharding | None = None  # NamedSharding over a "batch" mesh axis
    objective: Objective = "softmax"  # sigmoid: y is (B, C) multi-hot, binary cross-entropy
    label_smoothing: float = 0.0  # ε of the softmax loss (losses.weighted_soft_cross_entropy)
    focal_gamma: float = 0.0  # γ of the softmax loss

    def __post_init__(self) -> None:
        if self.compute_dtype not in get_args(ComputeDtype):
            raise ValueError(
                f"training.compute_dtype must be float32 or bfloat16, got {self.compute_dtype!r}"
            )
        if self.objective not in get_args(Objective):
            raise ValueError(
                f"training.objective must be softmax or sigmoid, got {self.objective!r}"
            )
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ValueError(
                f"training.label_smoothing must be in [0, 1), got {self.label_smoothing}"
            )
        if self.focal_gamma < 0:
            raise ValueError(f"training.focal_gamma must be >= 0, got {self.focal_gamma}")
        if self.objective == "sigmoid" and (self.label_smoothing or self.focal_gamma):
            raise ValueError(
                "training.label_smoothing and training.focal_gamma are softmax losses; "
                "training.objective: sigmoid takes neither"
            )

    @property
    def low(self) -> jnp.dtype | None:
        """The forward/backward dtype when it is not float32, else ``None`` (no casts)."""
        return jnp.dtype(self.compute_dtype) if self.compute_dtype != "float32" else None


class StepConstants(struct.PyTreeNode):
    """The arrays every step of a run reads, on the device (not donated).

    ``mean``/``std`` broadcast against one ``(C, F, T)`` stack
    (:func:`jaxaudio.features.stats.stats_arrays`); ``weight_vector`` is ``(n_classes,)`` in
    species index order; ``logit_offset`` (``(n_classes,)``,
    :func:`jaxaudio.training.losses.logit_adjustment`, or
    :func:`~jaxaudio.training.losses.binary_logit_adjustment` for the sigmoid objective) or
    ``None`` for no adjustment. ``mask_fill`` (``(C, 1, 1)``, in the model's input units) is
    what SpecAugment masks set: the training mean of each channel, 0 once normalised, the
    raw channel mean when the features are not normalised (0 would be e.g. the loudest level
    of a log-mel relative to its peak); ``None`` is 0.
    """

    mean: jax.Array
    std: jax.Array
    weight_vector: jax.Array
    logit_offset: jax.Array | None = None
    mask_fill: jax.Array | None = None


class Batch(struct.PyTreeNode):
    """One step's data: clips ``x`` ``(B, C, F, T)``, labels ``y`` ``(B,)`` (``(B, n_classes)``
    float targets with the sigmoid objective), the step's key, and
    the loss mask ``(B,)`` (``None``: every clip counts)."""

    x: jax.Array
    y: jax.Array
    key: jax.Array
    mask: jax.Array | None = None


class StepPlan(struct.PyTreeNode):
    """Which clips a step reads and how: split ``rows`` ``(B,)``, the step's ``key`` and the loss
    ``mask`` ``(B,)`` (``None``: every clip counts). An epoch's plan stacks its steps' on a
    leading axis ``(S, …)`` (:func:`jaxaudio.training.epochs.epoch_plan`); ``plan[b]`` is step
    ``b``'s."""

    rows: jax.Array
    key: jax.Array
    mask: jax.Array | None = None

    def __getitem__(self, b: int) -> StepPlan:
        return jax.tree.map(lambda a: a[b], self)


def loss_fn(
    params: Any,
    rest: Any,
    graph: nnx.GraphDef,
    batch: Batch,
    consts: StepConstants,
    config: StepConfig,
) -> tuple[jax.Array, Any]:
    """``(ℓ, rest')``: the training loss of a standardised batch and the model's new non-parameter state.

    Differentiated with respect to ``params``. Augmentation happens before the bfloat16 cast
    (on float32 inputs) and mixup after the model is merged, as the keys are split
    ``(k_drop, k_aug, k_mix)``; the logits are cast back to float32 before the offset and the loss.
    """
    aug, low = config.augment, config.low
    x, y, mask = batch.x, batch.y, batch.mask
    k_drop, k_aug, k_mix = jax.random.split(batch.key, 3)
    if aug.time_shift or aug.masks_active:
        x = augment_batch(k_aug, x, aug, consts.mask_fill)
    if low is not None:
        params = jax.tree.map(lambda p: p.astype(low), params)
    m = nnx.merge(graph, params, rest, copy=True)
    if aug.mixup_alpha > 0:
        x, perm, lam = mixup(k_mix, x, aug.mixup_alpha)
    logits = m(x if low is None else x.astype(low), rngs=nnx.Rngs(dropout=k_drop)).astype(
        jnp.float32
    )
    if consts.logit_offset is not None:
        logits = logits + consts.logit_offset
    if config.objective == "sigmoid":
        targets = mix_targets(y, perm, lam) if aug.mixup_alpha > 0 else y
        loss = weighted_binary_cross_entropy(logits, targets, consts.weight_vector, mask)
    else:
        c = logits.shape[-1]
        targets = mixup_targets(y, y[perm], lam, c) if aug.mixup_alpha > 0 else jax.nn.one_hot(y, c)
        loss = weighted_soft_cross_entropy(
            logits, targets, consts.weight_vector, mask, config.label_smoothing, config.focal_gamma
        )
    _, _, new_rest = nnx.split(m, nnx.Param, ...)
    # BatchNorm statistics updated from bfloat16 activations: keep them float32
    new_rest = jax.tree.map(lambda new, old: new.astype(old.dtype), new_rest, rest)
    return loss, new_rest


def batch_update(
    state: TrainState, batch: Batch, consts: StepConstants, config: StepConfig
) -> tuple[TrainState, jax.Array]:
    """One step on a raw batch (``x`` ``(B, C, F, T)``, ``y`` ``(B,)``): standardise, shard, update.

    Not compiled by itself: :data:`train_batch_step` is its jitted form, and the scanned
    epoch traces it inside one program.
    """
    x, y, mask = (batch.x - consts.mean) / consts.std, batch.y, batch.mask
    sharding = config.batch_sharding
    if sharding is not None:
        x = jax.lax.with_sharding_constraint(x, sharding)
        y = jax.lax.with_sharding_constraint(y, sharding)
        if mask is not None:
            mask = jax.lax.with_sharding_constraint(mask, sharding)
    grad_fn = jax.value_and_grad(loss_fn, has_aux=True)
    (loss, new_rest), grads = grad_fn(
        state.params,
        state.rest,
        state.graph_train,
        Batch(x, y, batch.key, mask),
        consts,
        config,
    )
    return state.apply_gradients(grads, new_rest), loss


def gather_update(
    state: TrainState,
    x_all: jax.Array,
    y_all: jax.Array,
    step: StepPlan,
    consts: StepConstants,
    config: StepConfig,
) -> tuple[TrainState, jax.Array]:
    """:func:`batch_update` on rows ``step.rows`` of a device-resident split (``jnp.take``: no
    host copy)."""
    batch = Batch(
        jnp.take(x_all, step.rows, axis=0),
        jnp.take(y_all, step.rows, axis=0),  # (B,) labels or (B, C) targets
        step.key,
        step.mask,
    )
    return batch_update(state, batch, consts, config)


#: ``train_step(state, x_all, y_all, step, consts, config=...) -> (state, loss)``: one compiled
#: step on rows ``step.rows`` of the device-resident split; ``state`` is donated.
train_step = jax.jit(gather_update, static_argnames="config", donate_argnums=0)

#: ``train_batch_step(state, batch, consts, config=...) -> (state, loss)``: one compiled step on
#: a batch already on the device (the streamed epoch); ``state`` is donated.
train_batch_step = jax.jit(batch_update, static_argnames="config", donate_argnums=0)


@jax.jit
def eval_step(state: TrainState, x: jax.Array, consts: StepConstants) -> jax.Array:
    """Logits ``f_θ((x − μ)/σ)`` of the model in evaluation mode: no dropout, BatchNorm running
    statistics, no logit adjustment (the offset belongs to the training loss only)."""
    m = nnx.merge(state.graph_eval, state.params, state.rest)
    return m((x - consts.mean) / consts.std)
