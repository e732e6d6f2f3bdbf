"""The seeds of one run trained together: one compiled program, ``jax.vmap``-ped over their keys.

The seeds of an experiment × model differ only in their random keys: the initial parameters
(:func:`~jaxaudio.models.registry.build_model` with the seed), the epochs' permutations,
sampler draws and view choices (``k_π``) and every step's dropout, augmentation and mixup
keys (``k``; :func:`~jaxaudio.training.epochs.run_keys`). :func:`fit_seeds` stacks the seeds'
training states on a leading axis and runs :data:`seeds_epoch_program`, the scanned epoch of
:func:`~jaxaudio.training.epochs.scanned_epoch` under ``jax.vmap`` over ``(state, k_π, k,
epoch)``, with the training split, the statistics, class weights and logit offset shared. So
seed ``i`` follows exactly the maths of its own :func:`~jaxaudio.training.loop.fit`: the same
plans, keys, batch statistics (``vmap`` maps over the seed axis, never into a batch) and
updates. The floats agree with separate runs to rounding, not bit for bit: XLA tiles the
batched matrix products of the stack differently (``~1e-7`` after a few epochs on the CPU;
over many epochs the gaps can grow, as between two machines).

Each seed keeps its own validation, early stopping and checkpoints (the directory its own
run would use, so a killed job resumes every seed from its latest checkpoint, and a seed's
checkpoints are interchangeable with those of a separate run of it). Seeds at different
epochs (a job killed between two seeds' saves) train together: the epoch is per seed too.
A seed that stops early, or reaches its last epoch, leaves the stack, which is rebuilt
(compiled once more) for the seeds still training.

The stack needs the training split on the device, on one device: when the split streams from
the host (``device_memory_mb``) or trains data-parallel, the seeds are trained one after
another by :func:`~jaxaudio.training.loop.fit` instead, with the same results.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from functools import partial
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from jaxaudio.models.registry import build_model
from jaxaudio.runtime.batching import batched_apply
from jaxaudio.training.checkpoint import Checkpoints
from jaxaudio.training.epochs import run_keys, scanned_epoch
from jaxaudio.training.loop import (
    Progress,
    Run,
    TrainData,
    TrainResult,
    epoch_row,
    finish,
    fit,
    prepare,
    record_epoch,
    resume,
    streams,
)
from jaxaudio.training.settings import TrainSettings
from jaxaudio.training.state import TrainState
from jaxaudio.training.steps import StepConfig, StepConstants, eval_step

log = logging.getLogger(__name__)


@partial(jax.jit, static_argnames=("batch", "config", "views"), donate_argnums=0)
def seeds_epoch_program(
    states: TrainState,
    x_all: jax.Array,
    y_all: jax.Array,
    consts: StepConstants,
    perm_keys: jax.Array,
    base_keys: jax.Array,
    epochs: jax.Array,
    batch: int,
    config: StepConfig,
    views: int = 1,
    probs: jax.Array | None = None,
) -> tuple[TrainState, jax.Array]:
    """One epoch of every seed of a stack: ``states`` (leading axis ``n``), the seeds' epoch
    keys ``fold_in(k_π_i, e_i)`` and step keys ``k_i`` ``(n,)`` and epochs ``e_i`` ``(n,)``;
    the split and constants shared. ``(states, losses (n, S))``; ``states`` is donated."""

    def one(state, perm_key, base_key, epoch):
        return scanned_epoch(
            state, x_all, y_all, consts, perm_key, base_key, epoch, batch, config, views, probs
        )

    return jax.vmap(one)(states, perm_keys, base_keys, epochs)


@jax.jit
def seeds_eval_step(states: TrainState, x: jax.Array, consts: StepConstants) -> jax.Array:
    """Evaluation-mode logits of every seed of a stack on one batch, ``(B, n, C)`` (clip axis
    first, so :func:`~jaxaudio.runtime.batching.batched_apply` batches over clips)."""
    logits = jax.vmap(eval_step, in_axes=(0, None, None))(states, x, consts)
    return jnp.swapaxes(logits, 0, 1)


def stack(states: Sequence[TrainState]) -> TrainState:
    """The states on a new leading axis (their static parts — graph, optimiser — must agree)."""
    return jax.tree.map(lambda *leaves: jnp.stack(leaves), *states)


def unstack(states: TrainState, n: int) -> list[TrainState]:
    """The ``n`` states of a stack."""
    return [jax.tree.map(lambda leaf, i=i: leaf[i], states) for i in range(n)]


def check_seed_group(settings: Sequence[TrainSettings]) -> None:
    """The settings of one stack: distinct seeds, every other setting equal (else ValueError,
    naming the settings that differ)."""
    seeds = [s.seed for s in settings]
    if not settings or len(set(seeds)) != len(seeds):
        raise ValueError(f"vmapped seeds need distinct seeds, got {seeds}")
    first = {k: v for k, v in asdict(settings[0]).items() if k != "seed"}
    for s in settings[1:]:
        other = {k: v for k, v in asdict(s).items() if k != "seed"}
        differ = sorted(k for k in first if first[k] != other[k])
        if differ:
            raise ValueError(
                f"vmapped seeds must differ only in the seed; seed {s.seed} differs from seed "
                f"{settings[0].seed} in {', '.join(differ)}"
            )


def for_seed(
    run: Run, state: TrainState, s: TrainSettings, data: TrainData
) -> tuple[Run, TrainState]:
    """Seed ``s.seed``'s run and initial state beside ``run``: its own model and key streams,
    everything else (the split on the device, constants, optimiser, schedule) shared."""
    if s.seed == run.settings.seed:
        return run, state
    model = build_model(s.arch, data.n_classes, data.input_shape, s.model, s.seed)
    spec = run.spec._replace(keys=run_keys(s.seed))
    return replace(run, settings=s, model=model, spec=spec), TrainState.create(model, state.tx)


@dataclass
class SeedRun:
    """One seed of the stack: its run, latest state, checkpoints and progress."""

    run: Run
    state: TrainState
    checkpoints: Checkpoints | None
    progress: Progress
    start: int  # epochs done when this job began (resumed from a checkpoint)
    epoch: int  # epochs done
    samples: int = 0

    @property
    def training(self) -> bool:
        return not self.progress.stopped and self.epoch < self.run.settings.epochs


def _vmappable(s: TrainSettings, data: TrainData) -> bool:
    """Whether the stack can run: the split on the device (:func:`~jaxaudio.training.loop.streams`)
    and no data-parallel mesh."""
    return not s.data_parallel and not streams(s, data.x_train)


def fit_seeds(
    settings: Sequence[TrainSettings],
    data: TrainData,
    ckpt_dirs: Sequence[str | Path] | None = None,
    input_fingerprint: str = "",
) -> list[TrainResult]:
    """Train ``settings`` (one run's settings for several seeds) on ``data`` as one vmapped
    program; each seed's result as :func:`~jaxaudio.training.loop.fit` returns it.

    ``ckpt_dirs``: each seed's checkpoint directory (resumed as :func:`fit` resumes them),
    or ``None`` (the last epoch's models: quick tests only).
    """
    check_seed_group(settings)
    dirs = list(ckpt_dirs) if ckpt_dirs is not None else [None] * len(settings)
    if len(dirs) != len(settings):
        raise ValueError(f"{len(settings)} seeds need {len(settings)} checkpoint directories")
    if len(settings) == 1 or not _vmappable(settings[0], data):
        if len(settings) > 1:
            log.info("the split streams or trains data-parallel: seeds one after another")
        return [fit(s, data, d, input_fingerprint) for s, d in zip(settings, dirs, strict=True)]
    run, state = prepare(settings[0], data)
    seeds = [
        _open(*for_seed(run, state, s, data), data, d, input_fingerprint)
        for s, d in zip(settings, dirs, strict=True)
    ]
    t_start = time.perf_counter()
    while active := [r for r in seeds if r.training]:
        _train_stack(active, data)
    seconds = time.perf_counter() - t_start  # the whole stack's: the seeds trained together
    results = [
        finish(r.run, r.state, r.checkpoints, r.progress, r.start, seconds, r.samples)
        for r in seeds
    ]
    for r in results:
        r.summary["vmapped_seeds"] = [s.seed for s in settings]
    return results


def _open(
    run: Run, state: TrainState, data: TrainData, ckpt_dir: str | Path | None, fingerprint: str
) -> SeedRun:
    """A seed's run, resumed from its latest checkpoint when it has one."""
    if ckpt_dir is None:
        return SeedRun(run, state, None, Progress(), 0, 0)
    checkpoints, state, progress, start = resume(run, state, data, ckpt_dir, fingerprint)
    return SeedRun(run, state, checkpoints, progress, start, start)


def _train_stack(active: list[SeedRun], data: TrainData) -> None:
    """Train the ``active`` seeds as one stack until one of them stops or ends; their states,
    progress and checkpoints are updated."""
    run = active[0].run
    spec = run.spec
    log.info("training seeds %s as one vmapped program", [r.run.settings.seed for r in active])
    states = stack([r.state for r in active])
    perm_keys = jnp.stack([r.run.spec.keys.permutation for r in active])
    step_keys = jnp.stack([r.run.spec.keys.step for r in active])
    while all(r.training for r in active):
        t0 = time.perf_counter()
        epochs = jnp.asarray([r.epoch for r in active], jnp.int32)
        states, losses = seeds_epoch_program(
            states,
            run.x,
            run.y,
            spec.consts,
            jax.vmap(jax.random.fold_in)(perm_keys, epochs),
            step_keys,
            epochs,
            batch=spec.batch,
            config=spec.config,
            views=spec.views,
            probs=spec.probs,
        )
        logits = batched_apply(
            partial(seeds_eval_step, states, consts=spec.consts),
            data.x_val,
            run.settings.eval_batch_size,
        )
        for i, (r, state) in enumerate(zip(active, unstack(states, len(active)), strict=True)):
            row = epoch_row(r.run, state, r.epoch, losses[i], np.asarray(logits[:, i]), data, t0)
            r.state, r.epoch, r.samples = state, r.epoch + 1, r.samples + data.n_train
            record_epoch(r.run, r.progress, row, state, r.checkpoints)
