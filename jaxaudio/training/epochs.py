"""One epoch of training, three ways, and the validation scores after it.

An epoch over ``n`` training clips in batches of ``B`` has ``S = ceil(n / B)`` steps
(:func:`epoch_layout`). Its plan (:func:`epoch_plan`) is drawn on the device:

* the permutation ``π = permutation(fold_in(k_π, e), n)``, ``k_π`` a key stream apart from
  the step keys (:data:`PERMUTATION_STREAM`); or, with a class-aware sampler
  (:mod:`jaxaudio.training.sampling`), ``n`` clips drawn with replacement from the same key
  with the sampler's probabilities;
* the last batch is completed with the first ``S·B − n`` entries of ``π`` (real clips, so
  BatchNorm sees real data) whose loss mask is 0, so every clip drawn counts exactly once and no
  second shape compiles;
* batch ``b`` of epoch ``e`` uses the key ``fold_in(k, e·S + b)`` for dropout and
  augmentation, so a resumed run repeats the same keys.

The runners take ``(state, x, y, epoch, spec)`` (:class:`EpochSpec`: what every epoch of a run
shares) and apply the same updates; the tests compare them:

* :func:`scan_epoch` — the training split on the device, the whole epoch one compiled
  program (``jax.lax.scan`` over the batches, ``jnp.take`` gathers, state donated): no
  host→device copy per step. (XLA's CPU convolution weight gradient used to make the
  scanned epoch ~40x slower on CPU, jax-ml/jax#12868; the CNN's
  :func:`~jaxaudio.models.conv.conv2d_same` avoids that op.)
* :func:`stepwise_epoch` — the same jitted step called per batch from Python with
  device-resident indices: the reference the tests and the benchmark compare against.
* :func:`streamed_epoch` — the training split stays on the host (a
  :class:`~jaxaudio.features.streaming.NpyRows` view of the cache file); the same batches are
  read and sent to the device by a prefetch thread ahead of the step.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple, Protocol

import jax
import jax.numpy as jnp
import numpy as np
from scipy.special import expit
from sklearn.metrics import accuracy_score, f1_score

from jaxaudio.features.streaming import NpyRows, prefetch
from jaxaudio.runtime.batching import batched_apply
from jaxaudio.training.losses import weighted_binary_cross_entropy, weighted_cross_entropy
from jaxaudio.training.state import TrainState
from jaxaudio.training.steps import (
    Batch,
    StepConfig,
    StepConstants,
    StepPlan,
    eval_step,
    gather_update,
    train_batch_step,
    train_step,
)

#: ``k_π = fold_in(key(seed), PERMUTATION_STREAM)``: the permutation keys' stream, apart from the
#: step keys ``fold_in(key(seed), e·S + b)`` (an epoch would need 2**30 steps to reach it).
PERMUTATION_STREAM = 1 << 30

#: Batches the streamed epoch reads ahead of the step.
PREFETCH_BATCHES = 2


class EpochKeys(NamedTuple):
    """The two key streams of a run: per-step keys and per-epoch permutation keys."""

    step: jax.Array  # k: batch b of epoch e uses fold_in(k, e·S + b)
    permutation: jax.Array  # k_π: epoch e's permutation uses fold_in(k_π, e)


def run_keys(seed: int) -> EpochKeys:
    """``(k, k_π)`` of ``seed``: ``k = key(seed)``, ``k_π = fold_in(key(seed), 2**30)``."""
    return EpochKeys(
        jax.random.key(seed), jax.random.fold_in(jax.random.key(seed), PERMUTATION_STREAM)
    )


def epoch_layout(n: int, batch_size: int) -> tuple[int, int]:
    """``(batch, steps)`` of one epoch over ``n`` clips: ``batch = min(B, n)``, ``steps = ceil(n / batch)``."""
    batch = min(batch_size, n)
    return batch, -(-n // batch)


def _plan(
    perm_key: jax.Array,
    base_key: jax.Array,
    epoch: jax.Array | int,
    n: int,
    batch: int,
    views: int = 1,
    probs: jax.Array | None = None,
) -> StepPlan:
    """The epoch's steps: batch rows ``(S, B)``, step keys ``(S,)`` and loss masks ``(S, B)``.

    ``probs`` ``(n,)``: the clips are ``n`` draws with replacement, clip ``i`` with probability
    ``probs[i]`` (:func:`jaxaudio.training.sampling.clip_probabilities`); ``None``: a permutation.

    With ``views > 1`` the split holds ``views`` rows per clip, clip-major (row ``i·V + v`` is
    view ``v`` of clip ``i``: the aligned clip, then its offset copies,
    :mod:`jaxaudio.features.offsets`); each clip is read once per epoch, the ``j``-th one read
    in view ``v_j ~ U{0, …, V − 1}`` drawn from ``fold_in(perm_key, 1)``."""
    steps = -(-n // batch)
    pad = steps * batch - n
    if probs is None:
        perm = jax.random.permutation(perm_key, n).astype(jnp.int32)
    else:
        perm = jax.random.choice(perm_key, n, (n,), replace=True, p=probs).astype(jnp.int32)
    if views > 1:
        view = jax.random.randint(jax.random.fold_in(perm_key, 1), (n,), 0, views, jnp.int32)
        perm = perm * views + view
    rows = jnp.concatenate([perm, perm[:pad]]).reshape(steps, batch)
    mask = (jnp.arange(steps * batch) < n).astype(jnp.float32).reshape(steps, batch)
    keys = jax.vmap(lambda b: jax.random.fold_in(base_key, epoch * steps + b))(jnp.arange(steps))
    return StepPlan(rows=rows, key=keys, mask=mask)


#: :func:`_plan` compiled (``n`` and ``batch`` static), for the epochs run from Python.
epoch_plan = jax.jit(_plan, static_argnames=("n", "batch", "views"))


def scanned_epoch(
    state: TrainState,
    x_all: jax.Array,
    y_all: jax.Array,
    consts: StepConstants,
    perm_key: jax.Array,
    base_key: jax.Array,
    epoch: int,
    batch: int,
    config: StepConfig,
    views: int = 1,
    probs: jax.Array | None = None,
) -> tuple[TrainState, jax.Array]:
    """One epoch as a ``lax.scan`` over its plan's steps (``perm_key`` is the epoch's
    ``fold_in(k_π, e)``; ``views`` rows per clip; ``probs`` the sampler's draw probabilities or
    ``None``): traced by :data:`epoch_program` and, over a stack of seeds, by
    :data:`jaxaudio.training.seeds.seeds_epoch_program`."""

    def body(st: TrainState, step: StepPlan) -> tuple[TrainState, jax.Array]:
        return gather_update(st, x_all, y_all, step, consts, config)

    n = x_all.shape[0] // views
    return jax.lax.scan(body, state, _plan(perm_key, base_key, epoch, n, batch, views, probs))


#: The compiled program of one scanned epoch (what :func:`scan_epoch` runs), state donated.
#: Public so the benchmarks can lower it (FLOPs, HLO).
epoch_program = jax.jit(
    scanned_epoch, static_argnames=("batch", "config", "views"), donate_argnums=0
)


class EpochSpec(NamedTuple):
    """What every epoch of a run shares: the step constants, the key streams, the batch size,
    the static step configuration and the rows per clip of the split (``views``: 1, or 1 +
    the offset copies, :func:`_plan`) and the sampler's per-clip draw probabilities
    (``None``: every clip once, in a permutation)."""

    consts: StepConstants
    keys: EpochKeys
    batch: int
    config: StepConfig
    views: int = 1
    probs: jax.Array | None = None

    def plan(self, epoch: int, rows: int) -> StepPlan:
        """Epoch ``epoch``'s plan over a split of ``rows`` rows, compiled (for the epochs run
        from Python)."""
        return epoch_plan(
            jax.random.fold_in(self.keys.permutation, epoch),
            self.keys.step,
            epoch,
            n=rows // self.views,
            batch=self.batch,
            views=self.views,
            probs=self.probs,
        )


def scan_epoch(
    state: TrainState, x: jax.Array, y: jax.Array, epoch: int, spec: EpochSpec
) -> tuple[TrainState, jax.Array]:
    """Epoch ``epoch`` as one compiled ``lax.scan`` over a device-resident split; ``(state, losses (S,))``."""
    return epoch_program(
        state,
        x,
        y,
        spec.consts,
        jax.random.fold_in(spec.keys.permutation, epoch),
        spec.keys.step,
        epoch,
        batch=spec.batch,
        config=spec.config,
        views=spec.views,
        probs=spec.probs,
    )


def stepwise_epoch(
    state: TrainState, x: jax.Array, y: jax.Array, epoch: int, spec: EpochSpec
) -> tuple[TrainState, jax.Array]:
    """Epoch ``epoch`` as one :data:`~jaxaudio.training.steps.train_step` call per batch (device arrays only)."""
    plan = spec.plan(epoch, len(x))
    losses = []
    for b in range(plan.rows.shape[0]):  # device arrays only: no host->device copy per step
        state, loss = train_step(state, x, y, plan[b], spec.consts, config=spec.config)
        losses.append(loss)
    return state, jnp.stack(losses)


def _host_batches(
    x: np.ndarray | NpyRows, y: np.ndarray, idx: np.ndarray, sharding: jax.sharding.Sharding | None
) -> Iterator[tuple[jax.Array, jax.Array]]:
    """Rows ``idx[b]`` of the host split, batch by batch, put on the device (split by ``sharding``);
    labels as int32, the sigmoid objective's float targets as float32."""
    y_dtype = np.float32 if np.issubdtype(y.dtype, np.floating) else np.int32
    for rows in idx:
        yield jax.device_put(
            (np.asarray(x[rows], np.float32), np.asarray(y[rows], y_dtype)), sharding
        )


def streamed_epoch(
    state: TrainState,
    x: np.ndarray | NpyRows,
    y: np.ndarray,
    epoch: int,
    spec: EpochSpec,
    prefetch_batches: int = PREFETCH_BATCHES,
) -> tuple[TrainState, jax.Array]:
    """Epoch ``epoch`` with the split on the host: the plan's batches read and sent ahead by a thread."""
    plan = spec.plan(epoch, len(x))
    batches = prefetch(
        _host_batches(x, y, np.asarray(plan.rows), spec.config.batch_sharding), prefetch_batches
    )
    losses = []
    for b, (xb, yb) in enumerate(batches):
        step = Batch(xb, yb, plan.key[b], plan.mask[b])
        state, loss = train_batch_step(state, step, spec.consts, config=spec.config)
        losses.append(loss)
    return state, jnp.stack(losses)


class EpochRunner(Protocol):
    """``runner(state, x, y, epoch, spec) -> (state, losses (S,))``."""

    def __call__(
        self, state: TrainState, x: jax.Array, y: jax.Array, epoch: int, spec: EpochSpec
    ) -> tuple[TrainState, jax.Array]: ...


EPOCH_RUNNERS: dict[str, EpochRunner] = {
    "scan": scan_epoch,
    "steps": stepwise_epoch,
    "stream": streamed_epoch,
}


def epoch_runner(mode: str) -> EpochRunner:
    """The runner of ``mode`` (``scan``, ``steps`` or ``stream``)."""
    if mode not in EPOCH_RUNNERS:
        raise ValueError(f"epoch_mode must be scan, steps or stream, got {mode!r}")
    return EPOCH_RUNNERS[mode]


def validation_logits(
    state: TrainState, x: np.ndarray | NpyRows, consts: StepConstants, batch_size: int
) -> np.ndarray:
    """Evaluation-mode logits of every clip of ``x``, ``batch_size`` at a time (one compiled shape)."""
    return batched_apply(lambda xb: eval_step(state, xb, consts), x, batch_size)


def validation_metrics(
    logits: np.ndarray, y: np.ndarray, w: np.ndarray, objective: str = "softmax"
) -> dict[str, float]:
    """Validation loss (the training loss's class weights, no mask, no offset), accuracy and
    macro-F1 (sklearn; a species never predicted scores 0, not a warning).

    With ``objective="sigmoid"`` (``y`` the ``(N, C)`` multi-hot targets) the loss is the binary
    cross-entropy, the accuracy is the exact-match ratio of ``σ(z) >= 0.5`` (every species of
    the clip right) and the macro-F1 that of the same decisions, over the species with a
    positive validation clip (0 when none has)."""
    if objective == "sigmoid":
        return _sigmoid_validation(logits, y, w)
    return {
        "val_loss": float(
            weighted_cross_entropy(jnp.asarray(logits), jnp.asarray(y), jnp.asarray(w))
        ),
        "val_acc": float(accuracy_score(y, logits.argmax(1))),
        "val_macro_f1": float(f1_score(y, logits.argmax(1), average="macro", zero_division=0)),
    }


def _sigmoid_validation(logits: np.ndarray, y: np.ndarray, w: np.ndarray) -> dict[str, float]:
    """:func:`validation_metrics` of the sigmoid objective."""
    y = np.asarray(y) > 0.5
    detected = expit(np.asarray(logits, np.float64)) >= 0.5
    positive = np.flatnonzero(y.any(axis=0))
    loss = weighted_binary_cross_entropy(jnp.asarray(logits), jnp.asarray(y), jnp.asarray(w))
    f1 = (
        f1_score(y, detected, labels=positive, average="macro", zero_division=0)
        if positive.size
        else 0.0
    )
    return {
        "val_loss": float(loss),
        "val_acc": float(accuracy_score(y, detected)),
        "val_macro_f1": float(f1),
    }
