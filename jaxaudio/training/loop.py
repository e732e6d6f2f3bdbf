"""The training loop: epochs, validation, early stopping, history, checkpoints.

:func:`fit` trains ``settings.arch`` on a :class:`TrainData` and returns the model of the
epoch with the best validation macro-F1. The pieces it calls, one concept each:

* :mod:`~jaxaudio.training.settings` — the hyperparameters;
* :mod:`~jaxaudio.training.optim` — optimiser and learning-rate schedule;
* :mod:`~jaxaudio.training.state` — the :class:`~jaxaudio.training.state.TrainState`;
* :mod:`~jaxaudio.training.steps` — the compiled loss, training step and evaluation step;
* :mod:`~jaxaudio.training.epochs` — one epoch (scanned on the device, or streamed from the
  cache) and the validation metrics;
* :mod:`~jaxaudio.training.parallel` — the data-parallel mesh;
* :mod:`~jaxaudio.training.checkpoint` — resumable checkpoints.

:mod:`~jaxaudio.training.seeds` trains several seeds of one run as one vmapped program with
the same pieces (:func:`prepare`, :func:`resume`, :func:`epoch_row`, :func:`record_epoch`,
:func:`finish`).

Per run: features are standardised on the device with the training-split statistics, per
channel or per (channel, coefficient) (``normalise``: ``false``/``none``, ``true``/``channel``,
``coefficient``; ``none`` passes mean 0, std 1 through the same code). The training split
goes to the device once when it fits ``device_memory_mb``, else it streams from the host.
After each epoch: validation loss, accuracy and macro-F1; the model selected is the epoch
with the best validation macro-F1 (the earlier on ties); training stops after ``patience``
epochs without improvement. With ``objective: sigmoid`` (multi-label) the validation loss is
the binary cross-entropy and the macro-F1 that of ``σ(z) >= 0.5`` over the species with a
positive validation clip (:func:`~jaxaudio.training.epochs.validation_metrics`). With a checkpoint directory every epoch is saved and a killed
run resumes from the latest, finishing with the same result as an uninterrupted run.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pandas as pd
from flax import nnx
from tqdm import tqdm

from jaxaudio.features.stats import broadcastable, norm_mode
from jaxaudio.features.streaming import NpyRows
from jaxaudio.models.registry import build_model
from jaxaudio.training.augment import AugmentSettings
from jaxaudio.training.checkpoint import Checkpoints, run_fingerprint
from jaxaudio.training.epochs import (
    EpochRunner,
    EpochSpec,
    epoch_layout,
    epoch_runner,
    run_keys,
    validation_logits,
    validation_metrics,
)
from jaxaudio.training.losses import binary_logit_adjustment, logit_adjustment
from jaxaudio.training.optim import make_optimizer
from jaxaudio.training.parallel import batch_sharding, data_parallel_mesh, replicated
from jaxaudio.training.sampling import clip_probabilities
from jaxaudio.training.settings import TrainSettings
from jaxaudio.training.state import TrainState, n_params, write_back
from jaxaudio.training.steps import StepConfig, StepConstants

log = logging.getLogger(__name__)

#: Columns of ``history.csv``: one row per epoch; ``lr`` is the rate of the epoch's last step,
#: ``seconds`` the epoch's wall time including validation.
HISTORY_COLUMNS = ["epoch", "train_loss", "val_loss", "val_acc", "val_macro_f1", "lr", "seconds"]


@dataclass(frozen=True)
class TrainData:
    """The arrays one run trains on.

    ``x_train``/``x_val`` are arrays or :class:`~jaxaudio.features.streaming.NpyRows` views of
    the cache file (read batch by batch; the training split is read whole only when it fits
    ``device_memory_mb``). ``mean``/``std`` (shaped ``(C, 1|F, 1)``,
    :func:`jaxaudio.features.stats.stats_arrays`) are used only when ``settings.normalise`` is
    not ``none``; ``weight_vector`` (``(n_classes,)``, species index order) weight the loss,
    ``None`` means unweighted. ``y_train``/``y_val`` are ``(N,)`` integer labels, or with
    ``settings.objective == "sigmoid"`` ``(N, n_classes)`` multi-hot targets
    (:attr:`jaxaudio.data.clips.ClipTable.targets`; no background output). ``views``: rows of ``x_train``/``y_train`` per training clip,
    clip-major (the aligned clip, then its offset copies, :mod:`jaxaudio.features.offsets`);
    an epoch reads each clip once, in one of its views. ``x_val`` may hold offset copies too:
    every row is validated. ``channel_mean`` (``(C, 1, 1)``, raw units) is the training
    split's mean of each channel: what SpecAugment masks fill in when the features are not
    normalised (:attr:`~jaxaudio.training.steps.StepConstants.mask_fill`).
    """

    x_train: np.ndarray | NpyRows
    y_train: np.ndarray
    x_val: np.ndarray | NpyRows
    y_val: np.ndarray
    n_classes: int
    mean: np.ndarray | None = None
    std: np.ndarray | None = None
    weight_vector: np.ndarray | None = None
    views: int = 1
    channel_mean: np.ndarray | None = None

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    @property
    def n_train(self) -> int:
        """Training clips (each read once per epoch, whatever ``views`` is)."""
        return len(self.x_train) // self.views


@dataclass
class TrainResult:
    model: nnx.Module
    history: pd.DataFrame
    summary: dict[str, Any]


@dataclass
class Progress:
    """What the loop knows between epochs (saved as each checkpoint's ``meta``)."""

    history: list[dict[str, float]] = field(default_factory=list)
    best: dict[str, float] = field(default_factory=lambda: {"f1": -1.0, "epoch": 0})
    bad_epochs: int = 0
    stopped: bool = False

    @classmethod
    def from_meta(cls, meta: dict[str, Any]) -> Progress:
        return cls(meta["history"], meta["best"], meta["bad_epochs"], meta["stopped"])

    def meta(self) -> dict[str, Any]:
        return {
            "history": self.history,
            "best": self.best,
            "bad_epochs": self.bad_epochs,
            "stopped": self.stopped,
        }

    def record(self, row: dict[str, float], patience: int) -> None:
        """Add an epoch's row; a strictly better macro-F1 is the new best (ties keep the earlier),
        and ``patience`` epochs in a row without one stop the run."""
        self.history.append(row)
        if row["val_macro_f1"] > self.best["f1"]:
            self.best, self.bad_epochs = {"f1": row["val_macro_f1"], "epoch": row["epoch"]}, 0
        else:
            self.bad_epochs += 1
        self.stopped = self.bad_epochs >= patience


@dataclass
class Run:
    """Everything :func:`fit` sets up once and every epoch reads."""

    settings: TrainSettings
    model: nnx.Module  # the state's arrays go back into it at the end (write_back)
    n_params: int
    schedule: optax.Schedule
    spec: EpochSpec  # step constants, key streams, batch size, step configuration
    # the class weights as given to the loss, for validation and the fingerprint
    weights: np.ndarray
    runner: EpochRunner
    # the training split where the runner reads it: device arrays, or the host's (streaming)
    x: jax.Array | np.ndarray | NpyRows
    y: jax.Array | np.ndarray


def step_constants(s: TrainSettings, data: TrainData) -> StepConstants:
    """Statistics (``μ = 0, σ = 1`` when normalisation is off), the masks' fill value, class
    weights (1 when none) and the logit offset ``τ log π`` (none when ``logit_adjust`` is 0),
    on the device."""
    channels = data.input_shape[0]
    fill = jnp.zeros((channels, 1, 1), jnp.float32)  # the training mean, once normalised
    if norm_mode(s.normalise) != "none":
        if data.mean is None or data.std is None:
            raise ValueError(f"normalise={s.normalise!r} needs the training-split statistics")
        mean, std = jnp.asarray(broadcastable(data.mean)), jnp.asarray(broadcastable(data.std))
    else:
        mean, std = (
            jnp.zeros((channels, 1, 1), jnp.float32),
            jnp.ones((channels, 1, 1), jnp.float32),
        )
        if data.channel_mean is not None:
            fill = jnp.asarray(broadcastable(data.channel_mean))
    if not s.logit_adjust:
        offset = None
    elif s.objective == "sigmoid":
        offset = binary_logit_adjustment(np.asarray(data.y_train), s.logit_adjust)
    else:
        offset = logit_adjustment(np.asarray(data.y_train), data.n_classes, s.logit_adjust)
    return StepConstants(
        mean=mean,
        std=std,
        weight_vector=jnp.asarray(_weights(data)),
        logit_offset=offset,
        mask_fill=fill,
    )


def _sampling(s: TrainSettings, data: TrainData) -> jax.Array | None:
    """The sampler's draw probability of each training clip (one label per clip: its views
    share it), on the device; ``None`` for ``uniform``."""
    if s.sampler != "uniform" and s.objective == "sigmoid":
        raise ValueError(
            f"training.sampler: {s.sampler} needs one class per clip; training.objective: "
            "sigmoid (multi-label) takes the uniform sampler only"
        )
    labels = np.asarray(data.y_train)[:: data.views]
    p = clip_probabilities(labels, s.sampler)
    return None if p is None else jnp.asarray(p)


def _weights(data: TrainData) -> np.ndarray:
    if data.weight_vector is None:
        return np.ones(data.n_classes, np.float32)
    return np.asarray(data.weight_vector, np.float32)


def streams(s: TrainSettings, x_train: np.ndarray | NpyRows) -> bool:
    """Whether the training split streams from the host: it is larger than ``device_memory_mb``."""
    return x_train.nbytes / 2**20 > s.device_memory_mb


def _log_placement(s: TrainSettings, x_train: np.ndarray | NpyRows, stream: bool) -> None:
    split_mib = x_train.nbytes / 2**20
    log.info(
        "training split: %d rows, %.0f MiB %s device_memory_mb %g: %s",
        len(x_train),
        split_mib,
        ">" if stream else "<=",
        s.device_memory_mb,
        "streaming batches from the host with prefetch"
        if stream
        else "held on the device, one lax.scan per epoch",
    )


def _labels(s: TrainSettings, y: np.ndarray, n_classes: int) -> np.ndarray:
    """The training labels as the loss reads them: int32 ``(N,)``, or float32 ``(N, C)``
    targets with the sigmoid objective (checked against ``n_classes``)."""
    if s.objective == "softmax":
        return np.asarray(y, np.int32)
    y = np.asarray(y, np.float32)
    if y.ndim != 2 or y.shape[1] != n_classes:
        raise ValueError(
            f"training.objective: sigmoid needs (N, {n_classes}) multi-hot targets, got {y.shape}"
        )
    return y


def prepare(s: TrainSettings, data: TrainData) -> tuple[Run, TrainState]:
    """The run's set-up (model, optimiser, step configuration, the split's placement) and its
    initial state (replicated over the mesh with data parallelism)."""
    if len(data.x_train) == 0 or len(data.x_val) == 0:
        raise ValueError(
            f"need training and validation clips (got {len(data.x_train)} train, {len(data.x_val)} val)"
        )
    consts = step_constants(s, data)
    batch, steps_per_epoch = epoch_layout(data.n_train, s.batch_size)
    if batch < s.batch_size:
        log.warning(
            "batch_size %d is larger than the training split (%d clips): every epoch is one full batch "
            "of %d",
            s.batch_size,
            data.n_train,
            batch,
        )
    tx, schedule = make_optimizer(s, steps_per_epoch)
    model = build_model(s.arch, data.n_classes, data.input_shape, s.model, s.seed)
    mesh = data_parallel_mesh(batch) if s.data_parallel else None
    stream = streams(s, data.x_train)
    _log_placement(s, data.x_train, stream)
    config = StepConfig(
        AugmentSettings.from_dict(s.augment),
        s.compute_dtype,
        batch_sharding(mesh),
        s.objective,
        label_smoothing=s.label_smoothing,
        focal_gamma=s.focal_gamma,
    )
    state = TrainState.create(model, tx)
    if mesh is not None:
        state = jax.device_put(state, replicated(mesh))  # parameters replicated
    y_train = _labels(s, data.y_train, data.n_classes)
    if stream:
        x, y = data.x_train, y_train
    else:
        x = jax.device_put(np.asarray(data.x_train, np.float32), replicated(mesh))
        y = jax.device_put(y_train, replicated(mesh))
    run = Run(
        settings=s,
        model=model,
        n_params=n_params(state),
        schedule=schedule,
        spec=EpochSpec(
            consts=consts,
            keys=run_keys(s.seed),
            batch=batch,
            config=config,
            views=data.views,
            probs=_sampling(s, data),
        ),
        weights=_weights(data),
        runner=epoch_runner("stream" if stream else "scan"),
        x=x,
        y=y,
    )
    return run, state


def train_epoch(
    run: Run, state: TrainState, epoch: int, data: TrainData
) -> tuple[TrainState, dict[str, float]]:
    """Epoch ``epoch`` (0-based) of training, then validation: the new state and the history row."""
    t0 = time.perf_counter()
    state, losses = run.runner(state, run.x, run.y, epoch, run.spec)
    logits = validation_logits(state, data.x_val, run.spec.consts, run.settings.eval_batch_size)
    return state, epoch_row(run, state, epoch, losses, logits, data, t0)


def epoch_row(
    run: Run,
    state: TrainState,
    epoch: int,
    losses: jax.Array,
    logits: np.ndarray,
    data: TrainData,
    t0: float,
) -> dict[str, float]:
    """The history row of epoch ``epoch`` (0-based): the mean of its step ``losses``, the
    validation metrics of ``logits``, the rate of its last step and the seconds since ``t0``."""
    return {
        "epoch": epoch + 1,
        "train_loss": float(jnp.mean(losses)),
        **validation_metrics(logits, np.asarray(data.y_val), run.weights, run.settings.objective),
        "lr": float(run.schedule(int(state.step) - 1)),
        "seconds": time.perf_counter() - t0,
    }


def resume(
    run: Run, state: TrainState, data: TrainData, ckpt_dir: str | Path, input_fingerprint: str
) -> tuple[Checkpoints, TrainState, Progress, int]:
    """Open the run's checkpoints; ``(checkpoints, state, progress, epochs done)`` from the latest
    (``state``, the initial one, when there is none)."""
    s = run.settings
    # Settings, input content and the statistics and weights actually used: a checkpoint
    # resumes only when all of them match (never on a modification time).
    fp = run_fingerprint(
        s,
        input_fingerprint,
        data.n_classes,
        data.input_shape,
        run.spec.consts.mean,
        run.spec.consts.std,
        run.weights,
    )
    checkpoints = Checkpoints(ckpt_dir, fp, s)
    latest = checkpoints.latest(state)
    if latest is None:
        return checkpoints, state, Progress(), 0
    epoch, state, meta = latest
    progress = Progress.from_meta(meta)
    log.info(
        "resumed from checkpoint at epoch %d (best val macro-F1 %.4f at epoch %d)",
        epoch,
        progress.best["f1"],
        progress.best["epoch"],
    )
    return checkpoints, state, progress, epoch


def _log_epoch(s: TrainSettings, row: dict[str, float], stopped: bool) -> None:
    log.info(
        "epoch %3d/%d  train_loss %.4f  val_loss %.4f  val_acc %.3f  val_macro_f1 %.3f  %.1fs%s",
        row["epoch"],
        s.epochs,
        row["train_loss"],
        row["val_loss"],
        row["val_acc"],
        row["val_macro_f1"],
        row["seconds"],
        "  (early stop)" if stopped else "",
    )


def _summary(
    run: Run, progress: Progress, resumed_from: int, seconds: float, samples: int
) -> dict[str, Any]:
    return {
        "arch": run.settings.arch,
        "n_params": run.n_params,
        "best_epoch": progress.best["epoch"],
        "best_val_macro_f1": progress.best["f1"],
        "epochs_run": len(progress.history),
        "stopped_early": bool(progress.stopped),
        "resumed_from_epoch": resumed_from,
        "train_seconds_this_run": seconds,
        "samples_per_second_this_run": samples / seconds if seconds > 0 and samples else None,
        "backend": jax.default_backend(),
        "devices": [str(d) for d in jax.devices()],
    }


def fit(
    settings: TrainSettings,
    data: TrainData,
    ckpt_dir: str | Path | None = None,
    input_fingerprint: str = "",
    progress: bool = False,
) -> TrainResult:
    """Train ``settings.arch`` on ``data``; the model of the epoch with the best val macro-F1.

    ``ckpt_dir``: where the run's checkpoints live (resumed when they match the settings,
    ``input_fingerprint`` — the digests of the input files — and the arrays of ``data``).
    Without one the *last* epoch's model is returned (quick tests only). ``progress`` shows
    a tqdm bar of the epochs.
    """
    s = settings
    run, state = prepare(s, data)
    checkpoints, done, start = None, Progress(), 0
    if ckpt_dir is not None:
        checkpoints, state, done, start = resume(run, state, data, ckpt_dir, input_fingerprint)
    t_start, samples = time.perf_counter(), 0
    bar = tqdm(
        total=s.epochs, initial=start, desc=f"train {s.arch}", unit="epoch", disable=not progress
    )
    for epoch in range(start, s.epochs):
        if done.stopped:
            break
        state, row = train_epoch(run, state, epoch, data)
        samples += data.n_train
        record_epoch(run, done, row, state, checkpoints)
        bar.set_postfix(
            loss=f"{row['train_loss']:.3f}",
            val_f1=f"{row['val_macro_f1']:.3f}",
            best=f"{done.best['f1']:.3f}",
        )
        bar.update(1)
    bar.close()
    return finish(run, state, checkpoints, done, start, time.perf_counter() - t_start, samples)


def record_epoch(
    run: Run,
    done: Progress,
    row: dict[str, float],
    state: TrainState,
    checkpoints: Checkpoints | None,
) -> None:
    """Add the epoch's ``row`` to the run's progress, log it and checkpoint ``state``."""
    done.record(row, run.settings.patience)
    _log_epoch(run.settings, row, done.stopped)
    if checkpoints is not None:
        checkpoints.save(row["epoch"], state, done.meta(), row["val_macro_f1"])


def finish(
    run: Run,
    state: TrainState,
    checkpoints: Checkpoints | None,
    done: Progress,
    start: int,
    seconds: float,
    samples: int,
) -> TrainResult:
    """The run's result: the best epoch's model (restored from its checkpoint; without
    checkpoints the last ``state``), its history and its summary."""
    if checkpoints is not None:
        best_state = checkpoints.restore(done.best["epoch"], state)
        checkpoints.close()
    else:
        best_state = state  # without checkpoints, keep the final state (used by quick tests only)
        log.warning("no checkpoint directory: returning the last epoch's model, not the best")
    summary = _summary(run, done, start, seconds, samples)
    history = pd.DataFrame(done.history, columns=HISTORY_COLUMNS)
    return TrainResult(model=write_back(run.model, best_state), history=history, summary=summary)
