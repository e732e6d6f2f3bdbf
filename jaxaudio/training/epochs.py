"""One epoch of training, three ways, and the validation scores after it.

An epoch over ``n`` training clips in batches of ``B`` has ``S = ceil(n / B)`` steps
(:func:`epoch_layout`). Its plan (:func:`epoch_plan`) is drawn on the device:

* the permutation ``π = permutation(fold_in(k_π, e), n)``, ``k_π`` a key stream apart from
  the step keys (:data:`PERMUTATION_STREAM`);
* the last batch is completed with the first ``S·B − n`` entries of ``π`` (real clips, so
  BatchNorm sees real data) whose loss mask is 0, so every clip counts exactly once and no
  second shape compiles;
* batch ``b`` of epoch ``e`` uses the key ``fold_in(k, e·S + b)`` for dropout and
  augmentation, so a resumed run repeats the same keys.

The runners (same signature, same updates; the tests compare them):

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

from collections.abc import Callable, Iterator
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from sklearn.metrics import accuracy_score, f1_score

from jaxaudio.features.streaming import NpyRows, prefetch
from jaxaudio.runtime.batching import batched_apply
from jaxaudio.training.losses import weighted_cross_entropy
from jaxaudio.training.state import TrainState
from jaxaudio.training.steps import (
    StepConfig,
    StepConstants,
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
    perm_key: jax.Array, base_key: jax.Array, epoch: jax.Array | int, n: int, batch: int
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """The epoch's batch indices ``(S, B)``, loss masks ``(S, B)`` and step keys ``(S,)``."""
    steps = -(-n // batch)
    pad = steps * batch - n
    perm = jax.random.permutation(perm_key, n).astype(jnp.int32)
    idx = jnp.concatenate([perm, perm[:pad]]).reshape(steps, batch)
    mask = (jnp.arange(steps * batch) < n).astype(jnp.float32).reshape(steps, batch)
    keys = jax.vmap(lambda b: jax.random.fold_in(base_key, epoch * steps + b))(jnp.arange(steps))
    return idx, mask, keys


#: :func:`_plan` compiled (``n`` and ``batch`` static), for the epochs run from Python.
epoch_plan = jax.jit(_plan, static_argnames=("n", "batch"))


@partial(jax.jit, static_argnames=("batch", "config"), donate_argnums=0)
def epoch_program(
    state: TrainState,
    x_all: jax.Array,
    y_all: jax.Array,
    consts: StepConstants,
    perm_key: jax.Array,
    base_key: jax.Array,
    epoch: int,
    batch: int,
    config: StepConfig,
) -> tuple[TrainState, jax.Array]:
    """The compiled program of one scanned epoch (what :func:`scan_epoch` runs; ``perm_key`` is
    the epoch's ``fold_in(k_π, e)``). Public so the benchmarks can lower it (FLOPs, HLO)."""

    def body(
        st: TrainState, inp: tuple[jax.Array, jax.Array, jax.Array]
    ) -> tuple[TrainState, jax.Array]:
        i, m, k = inp
        return gather_update(st, x_all, y_all, i, k, m, consts, config)

    return jax.lax.scan(body, state, _plan(perm_key, base_key, epoch, x_all.shape[0], batch))


def scan_epoch(
    state: TrainState,
    x: jax.Array,
    y: jax.Array,
    consts: StepConstants,
    keys: EpochKeys,
    epoch: int,
    batch: int,
    config: StepConfig,
) -> tuple[TrainState, jax.Array]:
    """Epoch ``epoch`` as one compiled ``lax.scan`` over a device-resident split; ``(state, losses (S,))``."""
    return epoch_program(
        state,
        x,
        y,
        consts,
        jax.random.fold_in(keys.permutation, epoch),
        keys.step,
        epoch,
        batch=batch,
        config=config,
    )


def stepwise_epoch(
    state: TrainState,
    x: jax.Array,
    y: jax.Array,
    consts: StepConstants,
    keys: EpochKeys,
    epoch: int,
    batch: int,
    config: StepConfig,
) -> tuple[TrainState, jax.Array]:
    """Epoch ``epoch`` as one :data:`~jaxaudio.training.steps.train_step` call per batch (device arrays only)."""
    idx, mask, step_keys = epoch_plan(
        jax.random.fold_in(keys.permutation, epoch), keys.step, epoch, n=len(x), batch=batch
    )
    losses = []
    for b in range(idx.shape[0]):  # device arrays only: no host->device copy per step
        state, loss = train_step(state, x, y, idx[b], step_keys[b], mask[b], consts, config=config)
        losses.append(loss)
    return state, jnp.stack(losses)


def _host_batches(
    x: np.ndarray | NpyRows, y: np.ndarray, idx: np.ndarray, sharding: jax.sharding.Sharding | None
) -> Iterator[tuple[jax.Array, jax.Array]]:
    """Rows ``idx[b]`` of the host split, batch by batch, put on the device (split by ``sharding``)."""
    for rows in idx:
        yield jax.device_put(
            (np.asarray(x[rows], np.float32), np.asarray(y[rows], np.int32)), sharding
        )


def streamed_epoch(
    state: TrainState,
    x: np.ndarray | NpyRows,
    y: np.ndarray,
    consts: StepConstants,
    keys: EpochKeys,
    epoch: int,
    batch: int,
    config: StepConfig,
    prefetch_batches: int = PREFETCH_BATCHES,
) -> tuple[TrainState, jax.Array]:
    """Epoch ``epoch`` with the split on the host: the plan's batches read and sent ahead by a thread."""
    idx, mask, step_keys = epoch_plan(
        jax.random.fold_in(keys.permutation, epoch), keys.step, epoch, n=len(x), batch=batch
    )
    batches = prefetch(
        _host_batches(x, y, np.asarray(idx), config.batch_sharding), prefetch_batches
    )
    losses = []
    for b, (xb, yb) in enumerate(batches):
        state, loss = train_batch_step(state, xb, yb, step_keys[b], mask[b], consts, config=config)
        losses.append(loss)
    return state, jnp.stack(losses)


EpochRunner = Callable[..., tuple[TrainState, jax.Array]]
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


def validation_metrics(logits: np.ndarray, y: np.ndarray, w: np.ndarray) -> dict[str, float]:
    """Validation loss (the training loss's class weights, no mask, no offset), accuracy and
    macro-F1 (sklearn; a species never predicted scores 0, not a warning)."""
    return {
        "val_loss": float(
            weighted_cross_entropy(jnp.asarray(logits), jnp.asarray(y), jnp.asarray(w))
        ),
        "val_acc": float(accuracy_score(y, logits.argmax(1))),
        "val_macro_f1": float(f1_score(y, logits.argmax(1), average="macro", zero_division=0)),
    }
