"""Training a classifier on cached features: one jitted ``train_step``, state in one object.

The loop follows the Flax examples: a ``TrainState`` holds everything that changes
(parameters, BatchNorm statistics, optimiser state, step); ``train_step`` maps a state and
a batch to a new state and the loss; ``eval_logits`` gives validation scores. The model is
split once into a static graph and array state (``nnx.split``) and the steps are pure
functions under ``jax.jit``, so no object graph is traversed in the hot loop.

What happens per run:

* the training split lives on the device; an epoch (:func:`make_steps`) draws its
  permutation on the device with a key from ``(seed, epoch)``, gathers batches with
  ``jnp.take`` and donates the state buffers: no host→device copy per step; the whole
  epoch is one ``lax.scan`` program. The last partial batch is completed with
  masked-out clips, so it needs no second compiled shape;
* features are standardised on the device with the training-split statistics, per channel
  or per (channel, coefficient) (``normalise``: ``false``/``none``, ``true``/``channel``,
  ``coefficient``; ``none`` passes mean 0, std 1 through the same code);
* optional augmentation inside the step (:mod:`jaxaudio.training.augment`: time shift, SpecAugment
  masks, mixup), keyed by ``(seed, step)`` like dropout;
* loss: class-weighted softmax cross-entropy with PyTorch semantics
  (:mod:`jaxaudio.training.losses`); validation loss uses the same weights;
* after each epoch: validation loss, accuracy and macro-F1 (sklearn); the model selected is
  the epoch with the best validation macro-F1; training stops after ``patience`` epochs
  without improvement;
* an orbax ``CheckpointManager`` saves every epoch and keeps the best and the latest. A
  killed run restarts from the latest checkpoint and, because the shuffling and dropout
  keys derive from ``(seed, epoch/step)``, finishes with the same result as an
  uninterrupted run. A fingerprint of the settings, of the inputs' *content* (never their
  modification time: a byte-identical rebuild of the feature cache keeps the checkpoints)
  and of the statistics and class weights used guards against resuming a checkpoint made
  with anything different.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
import orbax.checkpoint as ocp
import pandas as pd
from flax import nnx, struct
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P
from sklearn.metrics import accuracy_score, f1_score
from tqdm import tqdm

from jaxaudio.config.typed import FromDict
from jaxaudio.runtime.batching import batched_apply
from jaxaudio.features.streaming import NpyRows, prefetch
from jaxaudio.training.augment import AugmentSettings, augment_batch, mixup
from jaxaudio.training.losses import logit_adjustment, weighted_cross_entropy, weighted_cross_entropy_mixup
from jaxaudio.models.registry import build_model
from jaxaudio.features.stats import broadcastable, norm_mode, stats_arrays
from jaxaudio.runtime.step_cache import array_digest, file_digest, fingerprint

log = logging.getLogger(__name__)

HISTORY_COLUMNS = ["epoch", "train_loss", "val_loss", "val_acc", "val_macro_f1", "lr", "seconds"]


@dataclass(frozen=True)
class TrainSettings(FromDict):
    """Every hyperparameter of one (experiment, model) run; the workflow passes it as params."""

    arch: str
    model: dict[str, Any] = field(default_factory=dict)
    epochs: int = 50
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-4
    optimizer: str = "adamw"
    schedule: str = "cosine"
    warmup_epochs: int = 0
    grad_clip: float | None = None
    patience: int = 10
    seed: int = 0
    class_weights: str = "none"
    normalise: bool | str = False
    augment: dict[str, Any] = field(default_factory=dict)
    eval_batch_size: int = 256
    data_parallel: bool = False
    compute_dtype: str = "float32"
    device_memory_mb: float = 2048.0
    logit_adjust: float = 0.0


class TrainState(struct.PyTreeNode):
    step: jnp.ndarray
    params: Any
    rest: Any  # non-parameter model state (BatchNorm running statistics)
    opt_state: Any


@dataclass
class TrainResult:
    model: nnx.Module
    history: pd.DataFrame
    summary: dict[str, Any]


def make_optimizer(s: TrainSettings, steps_per_epoch: int) -> tuple[optax.GradientTransformation, optax.Schedule]:
    """optax optimiser and learning-rate schedule (per step) for the settings."""
    total = max(1, s.epochs * steps_per_epoch)
    warmup = min(s.warmup_epochs * steps_per_epoch, total - 1)
    if s.schedule == "constant":
        schedule = optax.constant_schedule(s.lr) if warmup == 0 else optax.join_schedules(
            [optax.linear_schedule(0.0, s.lr, warmup), optax.constant_schedule(s.lr)], [warmup]
        )
    elif s.schedule == "cosine":
        schedule = optax.warmup_cosine_decay_schedule(0.0 if warmup else s.lr, s.lr, warmup, total)
    else:
        raise ValueError(f"unknown learning-rate schedule {s.schedule!r}; use constant or cosine")
    if s.optimizer == "adamw":
        opt = optax.adamw(schedule, weight_decay=s.weight_decay)
    elif s.optimizer == "adam":
        opt = optax.adam(schedule)
    elif s.optimizer == "sgd":
        opt = optax.chain(optax.add_decayed_weights(s.weight_decay), optax.sgd(schedule, momentum=0.9, nesterov=True))
    else:
        raise ValueError(f"unknown optimizer {s.optimizer!r}; use adamw, adam or sgd")
    if s.grad_clip:
        opt = optax.chain(optax.clip_by_global_norm(s.grad_clip), opt)
    return opt, schedule


def data_parallel_mesh(batch: int) -> Mesh | None:
    """A 1-D mesh ``("batch",)`` over every local device, or ``None`` with one device.

    The batch is split evenly, so it must be a multiple of the device count.
    """
    devices = jax.local_devices()
    if len(devices) == 1:
        log.info("data_parallel: one device (%s), nothing to split", devices[0])
        return None
    if batch % len(devices):
        raise ValueError(
            f"training.data_parallel: batch_size {batch} is not a multiple of the {len(devices)} devices"
        )
    log.info("data_parallel: batch of %d split over %d devices %s", batch, len(devices), devices)
    return Mesh(np.asarray(devices), ("batch",))


def epoch_layout(n: int, batch_size: int) -> tuple[int, int]:
    """``(batch, steps)`` of one epoch over ``n`` clips: ``steps = ceil(n / batch)``."""
    batch = min(batch_size, n)
    return batch, -(-n // batch)


def make_steps(
    model: nnx.Module,
    tx: optax.GradientTransformation,
    augment: AugmentSettings | None = None,
    n_train: int | None = None,
    batch: int | None = None,
    batch_sharding: jax.sharding.Sharding | None = None,
    epoch_mode: str = "scan",
    compute_dtype: str = "float32",
    prefetch_batches: int = 2,
    logit_offset: jnp.ndarray | None = None,
):
    """Split ``model`` once and build the jitted ``train_step``, ``train_epoch`` and ``eval_logits``.

    ``mean``/``std`` broadcast against one ``(C, F, T)`` stack (:func:`jaxaudio.features.stats.stats_arrays`).

    ``train_epoch`` runs a whole epoch with everything on the device (state buffers donated,
    so XLA updates them in place):

    * the permutation is drawn on the device, ``π = jax.random.permutation(k_epoch, n)``;
    * the epoch has ``S = ceil(n / B)`` batches of ``B`` rows; the last one is completed
      with the first ``S·B − n`` entries of ``π`` (real clips, so BatchNorm sees real data)
      whose loss mask is 0, so every clip counts exactly once and no second shape compiles;
    * batch ``b`` of epoch ``e`` uses the key ``fold_in(k, e·S + b)`` for dropout and
      augmentation, so a resumed run repeats the same keys;
    * ``epoch_mode="scan"``: the epoch is one compiled program (``jax.lax.scan`` over the
      batches). ``"steps"``: the same jitted step is called per batch from Python (with
      device-resident indices), the reference the tests and the benchmark compare against.
      ``"stream"``: the training split stays on the host (a :class:`~jaxaudio.features.streaming.NpyRows`
      view of the cache file); the same batches are read and sent to the device by a
      prefetch thread ``prefetch_batches`` ahead of the step. All three give the same
      updates. (XLA's CPU convolution weight gradient used to make the scanned epoch ~40x
      slower on CPU, jax-ml/jax#12868; the CNN's :func:`~jaxaudio.models.conv.conv2d_same`
      avoids that op.)

    With ``batch_sharding`` (a ``NamedSharding`` over a ``batch`` mesh axis) every gathered
    batch is split across the devices and XLA partitions the step (data parallelism): the
    parameters stay replicated, gradients and BatchNorm batch statistics are all-reduced, so
    the mathematics is that of one device with the whole batch.

    ``compute_dtype="bfloat16"`` is mixed precision for accelerators: the master parameters,
    optimiser state, BatchNorm statistics and the loss stay float32; the forward and backward
    passes run on bfloat16 copies of the parameters and the batch (the cast is differentiable,
    so gradients arrive in float32). On CPU it is correct but not faster.

    ``logit_offset`` (``(C,)``, :func:`jaxaudio.training.losses.logit_adjustment`) is added to the
    logits in the training loss only; evaluation uses the model's plain logits.

    Returns ``(init_state, train_step, train_epoch, eval_logits)``; ``train_epoch`` is
    ``None`` unless ``n_train`` and ``batch`` are given.
    """
    aug = augment or AugmentSettings()
    model.train()
    graph_train, params, rest = nnx.split(model, nnx.Param, ...)
    model.eval()
    graph_eval = nnx.graphdef(model)

    if compute_dtype not in ("float32", "bfloat16"):
        raise ValueError(f"training.compute_dtype must be float32 or bfloat16, got {compute_dtype!r}")
    low = jnp.dtype(compute_dtype) if compute_dtype != "float32" else None

    def loss_fn(params, rest, x, y, w, key, mask):
        k_drop, k_aug, k_mix = jax.random.split(key, 3)
        if aug.time_shift or aug.masks_active:
            x = augment_batch(k_aug, x, aug)
        if low is not None:
            params = jax.tree.map(lambda p: p.astype(low), params)
        m = nnx.merge(graph_train, params, rest, copy=True)
        if aug.mixup_alpha > 0:
            x, perm, lam = mixup(k_mix, x, aug.mixup_alpha)
        logits = m(x if low is None else x.astype(low), rngs=nnx.Rngs(dropout=k_drop)).astype(jnp.float32)
        if logit_offset is not None:
            logits = logits + logit_offset
        if aug.mixup_alpha > 0:
            loss = weighted_cross_entropy_mixup(logits, y, y[perm], lam, w, mask)
        else:
            loss = weighted_cross_entropy(logits, y, w, mask)
        _, _, new_rest = nnx.split(m, nnx.Param, ...)
        # BatchNorm statistics updated from bfloat16 activations: keep them float32
        new_rest = jax.tree.map(lambda new, old: new.astype(old.dtype), new_rest, rest)
        return loss, new_rest

    def batch_step(state: TrainState, x, y, mean, std, w, key, mask=None):
        x = (x - mean) / std
        if batch_sharding is not None:
            x = jax.lax.with_sharding_constraint(x, batch_sharding)
            y = jax.lax.with_sharding_constraint(y, batch_sharding)
            if mask is not None:
                mask = jax.lax.with_sharding_constraint(mask, batch_sharding)
        (loss, new_rest), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params, state.rest, x, y, w, key, mask)
        updates, opt_state = tx.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        return state.replace(step=state.step + 1, params=params, rest=new_rest, opt_state=opt_state), loss

    def step(state: TrainState, x_all, y_all, idx, mean, std, w, key, mask=None):
        return batch_step(state, jnp.take(x_all, idx, axis=0), jnp.take(y_all, idx), mean, std, w, key, mask)

    train_step = jax.jit(step, donate_argnums=0)
    train_epoch = None
    if n_train is not None and batch is not None:
        steps = -(-n_train // batch)
        pad = steps * batch - n_train

        def plan(perm_key, base_key, epoch):
            """The epoch's batches (indices, loss masks) and per-batch keys, on the device."""
            perm = jax.random.permutation(perm_key, n_train).astype(jnp.int32)
            idx = jnp.concatenate([perm, perm[:pad]]).reshape(steps, batch)
            mask = (jnp.arange(steps * batch) < n_train).astype(jnp.float32).reshape(steps, batch)
            keys = jax.vmap(lambda b: jax.random.fold_in(base_key, epoch * steps + b))(jnp.arange(steps))
            return idx, mask, keys

        if epoch_mode == "scan":

            def epoch_fn(state: TrainState, x_all, y_all, mean, std, w, perm_key, base_key, epoch):
                def body(st, inp):
                    i, m, k = inp
                    return step(st, x_all, y_all, i, mean, std, w, k, m)

                return jax.lax.scan(body, state, plan(perm_key, base_key, epoch))

            train_epoch = jax.jit(epoch_fn, donate_argnums=0)
        elif epoch_mode == "steps":
            plan_jit = jax.jit(plan)

            def train_epoch(state: TrainState, x_all, y_all, mean, std, w, perm_key, base_key, epoch):
                idx, mask, keys = plan_jit(perm_key, base_key, epoch)
                losses = []
                for b in range(steps):  # device arrays only: no host->device copy per step
                    state, loss = train_step(state, x_all, y_all, idx[b], mean, std, w, keys[b], mask[b])
                    losses.append(loss)
                return state, jnp.stack(losses)
        elif epoch_mode == "stream":
            plan_jit = jax.jit(plan)
            stream_step = jax.jit(batch_step, donate_argnums=0)

            def train_epoch(state: TrainState, x_all, y_all, mean, std, w, perm_key, base_key, epoch):
                # x_all, y_all stay on the host (x_all: a NpyRows view of the cache file)
                idx, mask, keys = plan_jit(perm_key, base_key, epoch)
                idx_host = np.asarray(idx)

                def batches():
                    for b in range(steps):
                        yield jax.device_put((np.asarray(x_all[idx_host[b]], np.float32), np.asarray(y_all[idx_host[b]], np.int32)), batch_sharding)

                losses = []
                for b, (xb, yb) in enumerate(prefetch(batches(), prefetch_batches)):
                    state, loss = stream_step(state, xb, yb, mean, std, w, keys[b], mask[b])
                    losses.append(loss)
                return state, jnp.stack(losses)
        else:
            raise ValueError(f"epoch_mode must be scan, steps or stream, got {epoch_mode!r}")

    @jax.jit
    def eval_logits(params, rest, x, mean, std):
        m = nnx.merge(graph_eval, params, rest)
        return m((x - mean) / std)

    init_state = TrainState(step=jnp.zeros((), jnp.int32), params=params, rest=rest, opt_state=tx.init(params))
    return init_state, train_step, train_epoch, eval_logits


def validation_metrics(logits: np.ndarray, y: np.ndarray, w: np.ndarray) -> dict[str, float]:
    return {
        "val_loss": float(weighted_cross_entropy(jnp.asarray(logits), jnp.asarray(y), jnp.asarray(w))),
        "val_acc": float(accuracy_score(y, logits.argmax(1))),
        "val_macro_f1": float(f1_score(y, logits.argmax(1), average="macro", zero_division=0)),
    }


def _checkpoint_manager(ckpt_dir: Path) -> ocp.CheckpointManager:
    # Keep the best (by validation macro-F1) and the latest. best_fn/best_mode must be set as
    # well as the preservation policy or pruning picks the wrong steps. Ties go to the
    # earlier epoch, as in the training loop's selection (a strict ">" on macro-F1); without
    # the tie-break BestN's stable sort would keep the latest of equal epochs and prune the
    # one the loop selected.
    cm = ocp.checkpoint_managers
    metric = lambda m: m["val_macro_f1"] - 1e-9 * m["epoch"]  # noqa: E731
    options = ocp.CheckpointManagerOptions(
        best_fn=metric,
        best_mode="max",
        preservation_policy=cm.AnyPreservationPolicy([cm.BestN(get_metric_fn=metric, reverse=False, n=1), cm.LatestN(n=1)]),
        enable_async_checkpointing=False,
        cleanup_tmp_directories=True,  # a killed save leaves "<step>.orbax-checkpoint-tmp"
    )
    return ocp.CheckpointManager(ckpt_dir.resolve(), options=options, item_names=("state", "meta"))


def _pure(state: TrainState) -> dict[str, Any]:
    return {
        "step": state.step,
        "params": nnx.to_pure_dict(state.params),
        "rest": nnx.to_pure_dict(state.rest),
        "opt_state": state.opt_state,
    }


def _from_pure(template: TrainState, pure: dict[str, Any]) -> TrainState:
    params, rest = template.params, template.rest
    nnx.replace_by_pure_dict(params, pure["params"])
    nnx.replace_by_pure_dict(rest, pure["rest"])
    opt_state = jax.tree.unflatten(jax.tree.structure(template.opt_state), jax.tree.leaves(pure["opt_state"]))
    return TrainState(step=jnp.asarray(pure["step"]), params=params, rest=rest, opt_state=opt_state)


def train(
    settings: TrainSettings,
    x_train: np.ndarray | NpyRows,
    y_train: np.ndarray,
    x_val: np.ndarray | NpyRows,
    y_val: np.ndarray,
    n_classes: int,
    mean: np.ndarray | None = None,
    std: np.ndarray | None = None,
    class_weights: np.ndarray | None = None,
    ckpt_dir: str | Path | None = None,
    input_fingerprint: str = "",
    progress: bool = False,
) -> TrainResult:
    """Train ``settings.arch`` and return the model of the epoch with the best val macro-F1.

    ``x_train``/``x_val`` are arrays or :class:`~jaxaudio.features.streaming.NpyRows` views of the
    cache file (read batch by batch; the training split is read whole only when it fits
    ``device_memory_mb``). ``mean``/``std`` (shaped ``(C, 1|F, 1)``, :func:`jaxaudio.features.stats.stats_arrays`) are used
    only when ``settings.normalise`` is not ``none``; ``class_weights``
    (``(n_classes,)``, species index order) weight the loss, ``None`` means unweighted.
    """
    s = settings
    if len(x_train) == 0 or len(x_val) == 0:
        raise ValueError(f"need training and validation clips (got {len(x_train)} train, {len(x_val)} val)")
    input_shape = tuple(x_train.shape[1:])
    channels = input_shape[0]
    if norm_mode(s.normalise) != "none":
        if mean is None or std is None:
            raise ValueError(f"normalise={s.normalise!r} needs the training-split statistics")
        mean_d, std_d = jnp.asarray(broadcastable(mean)), jnp.asarray(broadcastable(std))
    else:
        mean_d, std_d = jnp.zeros((channels, 1, 1), jnp.float32), jnp.ones((channels, 1, 1), jnp.float32)
    w = np.ones(n_classes, np.float32) if class_weights is None else np.asarray(class_weights, np.float32)
    w_d = jnp.asarray(w)

    batch, steps_per_epoch = epoch_layout(len(x_train), s.batch_size)
    if batch < s.batch_size:
        log.warning("batch_size %d is larger than the training split (%d clips): every epoch is one full batch "
                    "of %d", s.batch_size, len(x_train), batch)
    tx, schedule = make_optimizer(s, steps_per_epoch)
    model = build_model(s.arch, n_classes, input_shape, s.model, s.seed)
    mesh = data_parallel_mesh(batch) if s.data_parallel else None
    batch_sharding = NamedSharding(mesh, P("batch")) if mesh is not None else None
    # The training split goes to the device once when it fits the budget; else it streams.
    split_mib = x_train.nbytes / 2**20
    stream = split_mib > s.device_memory_mb
    log.info(
        "training split: %d clips, %.0f MiB %s device_memory_mb %g: %s", len(x_train), split_mib,
        ">" if stream else "<=", s.device_memory_mb,
        "streaming batches from the host with prefetch" if stream else "held on the device, one lax.scan per epoch",
    )
    state, _, train_epoch, eval_logits = make_steps(
        model, tx, AugmentSettings.from_dict(s.augment), len(x_train), batch, batch_sharding,
        epoch_mode="stream" if stream else "scan", compute_dtype=s.compute_dtype,
        logit_offset=logit_adjustment(np.asarray(y_train), n_classes, s.logit_adjust) if s.logit_adjust else None,
    )
    if mesh is not None:
        state = jax.device_put(state, NamedSharding(mesh, P()))  # parameters replicated
    n_params = int(sum(p.size for p in jax.tree.leaves(state.params)))

    replicated = NamedSharding(mesh, P()) if mesh is not None else None
    if stream:
        x_dev, y_dev = x_train, np.asarray(y_train, np.int32)
    else:
        x_dev = jax.device_put(np.asarray(x_train, np.float32), replicated)
        y_dev = jax.device_put(np.asarray(y_train, np.int32), replicated)
    base_key = jax.random.key(s.seed)
    perm_key = jax.random.fold_in(jax.random.key(s.seed), 1 << 30)  # a stream apart from the step keys

    history: list[dict[str, float]] = []
    best = {"f1": -1.0, "epoch": 0}
    bad_epochs, start_epoch, resumed_from, stopped_early = 0, 0, 0, False

    manager = None
    if ckpt_dir is not None:
        ckpt_dir = Path(ckpt_dir)
        # Settings, input content and the statistics and weights actually used: a checkpoint
        # resumes only when all of them match (never on a modification time).
        fp = fingerprint(settings=asdict(s), inputs=input_fingerprint, n_classes=n_classes, shape=input_shape,
                         mean=array_digest(mean_d), std=array_digest(std_d), weights=array_digest(w))
        fp_file = ckpt_dir / "fingerprint.json"
        if ckpt_dir.exists() and (not fp_file.exists() or json.loads(fp_file.read_text()).get("fingerprint") != fp):
            log.info("checkpoints in %s were made with other settings or inputs: starting afresh", ckpt_dir)
            shutil.rmtree(ckpt_dir)
        ckpt_dir.mkdir(parents=True, exist_ok=True)
        fp_file.write_text(json.dumps({"fingerprint": fp, "settings": asdict(s)}, indent=2, default=str))
        manager = _checkpoint_manager(ckpt_dir)
        latest = manager.latest_step()
        if latest is not None:
            restored = manager.restore(
                latest,
                args=ocp.args.Composite(state=ocp.args.StandardRestore(_pure(state)), meta=ocp.args.JsonRestore()),
            )
            state = _from_pure(state, restored["state"])
            meta = restored["meta"]
            history, best, bad_epochs, stopped_early = meta["history"], meta["best"], meta["bad_epochs"], meta["stopped"]
            start_epoch = resumed_from = latest
            log.info("resumed from checkpoint at epoch %d (best val macro-F1 %.4f at epoch %d)", latest, best["f1"], best["epoch"])

    t_start = time.perf_counter()
    samples = 0
    bar = tqdm(total=s.epochs, initial=start_epoch, desc=f"train {s.arch}", unit="epoch", disable=not progress)
    for epoch in range(start_epoch, s.epochs):
        if stopped_early:
            break
        t0 = time.perf_counter()
        state, losses = train_epoch(
            state, x_dev, y_dev, mean_d, std_d, w_d, jax.random.fold_in(perm_key, epoch), base_key, epoch
        )
        train_loss = float(jnp.mean(losses))
        samples += len(x_train)
        logits = batched_apply(lambda xb: eval_logits(state.params, state.rest, xb, mean_d, std_d), x_val, s.eval_batch_size)
        row = {
            "epoch": epoch + 1,
            "train_loss": train_loss,
            **validation_metrics(logits, np.asarray(y_val), w),
            "lr": float(schedule(int(state.step) - 1)),
            "seconds": time.perf_counter() - t0,
        }
        history.append(row)
        if row["val_macro_f1"] > best["f1"]:
            best, bad_epochs = {"f1": row["val_macro_f1"], "epoch": epoch + 1}, 0
        else:
            bad_epochs += 1
        stopped_early = bad_epochs >= s.patience
        log.info(
            "epoch %3d/%d  train_loss %.4f  val_loss %.4f  val_acc %.3f  val_macro_f1 %.3f  %.1fs%s",
            epoch + 1, s.epochs, row["train_loss"], row["val_loss"], row["val_acc"], row["val_macro_f1"],
            row["seconds"], "  (early stop)" if stopped_early else "",
        )
        bar.set_postfix(loss=f"{train_loss:.3f}", val_f1=f"{row['val_macro_f1']:.3f}", best=f"{best['f1']:.3f}")
        bar.update(1)
        if manager is not None:
            meta = {"history": history, "best": best, "bad_epochs": bad_epochs, "stopped": stopped_early}
            manager.save(
                epoch + 1,
                args=ocp.args.Composite(state=ocp.args.StandardSave(_pure(state)), meta=ocp.args.JsonSave(meta)),
                metrics={"val_macro_f1": row["val_macro_f1"], "epoch": epoch + 1},
            )
    bar.close()
    train_seconds = time.perf_counter() - t_start

    if manager is not None:
        manager.wait_until_finished()
        restored = manager.restore(
            best["epoch"], args=ocp.args.Composite(state=ocp.args.StandardRestore(_pure(state)))
        )
        best_state = _from_pure(state, restored["state"])
        manager.close()
    else:
        best_state = state  # without checkpoints, keep the final state (used by quick tests only)
        log.warning("no checkpoint directory: returning the last epoch's model, not the best")
    nnx.update(model, best_state.params, best_state.rest)
    model.eval()

    summary = {
        "arch": s.arch,
        "n_params": n_params,
        "best_epoch": best["epoch"],
        "best_val_macro_f1": best["f1"],
        "epochs_run": len(history),
        "stopped_early": bool(stopped_early),
        "resumed_from_epoch": resumed_from,
        "train_seconds_this_run": train_seconds,
        "samples_per_second_this_run": samples / train_seconds if train_seconds > 0 and samples else None,
        "backend": jax.default_backend(),
        "devices": [str(d) for d in jax.devices()],
    }
    return TrainResult(model=model, history=pd.DataFrame(history, columns=HISTORY_COLUMNS), summary=summary)


def train_run(
    features_npy: str | Path,
    clips_csv: str | Path,
    stats_json: str | Path,
    weights_json: str | Path,
    settings: dict[str, Any],
    model_dir: str | Path,
    history_csv: str | Path,
    summary_json: str | Path,
    ckpt_dir: str | Path,
    progress: bool = False,
) -> TrainResult:
    """Workflow step: train one (experiment, model) run from the workflow's artifacts.

    Class weights and normalisation statistics are looked up **by name** (species, channel)
    from their JSON artifacts. Resumable checkpoints go to ``ckpt_dir``, which is not a
    declared output, so Snakemake does not delete them when it reruns an interrupted job.
    """
    from jaxaudio.data.manifest import load_resolved
    from jaxaudio.inference.model_store import save_model
    from jaxaudio.features.stats import CHANNELS
    from jaxaudio.training.weights import weight_vector

    s = TrainSettings.from_dict(settings)
    df = load_resolved(clips_csv)
    species = sorted(df["species"].unique())
    features = NpyRows(features_npy)
    stats = json.loads(Path(stats_json).read_text())
    weights = json.loads(Path(weights_json).read_text())
    mode = norm_mode(s.normalise)
    mean, std = stats_arrays(stats, mode) if mode != "none" else (None, None)
    w = weight_vector(weights, s.class_weights, species)
    split = df["split"].to_numpy()
    tr, va = np.flatnonzero(split == "train"), np.flatnonzero(split == "val")
    labels = df["label"].to_numpy()
    result = train(
        s,
        NpyRows(features_npy, tr),
        labels[tr],
        NpyRows(features_npy, va),
        labels[va],
        n_classes=len(species),
        mean=mean,
        std=std,
        class_weights=w,
        ckpt_dir=ckpt_dir,
        input_fingerprint=f"{file_digest(features_npy)}:{file_digest(clips_csv)}",
        progress=progress,
    )
    meta = {
        "arch": s.arch,
        "options": s.model,
        "input_shape": list(features.shape[1:]),
        "species": species,
        "channels": list(CHANNELS),
        "normalisation": {"mode": mode, "mean": mean.tolist(), "std": std.tolist()} if mean is not None else None,
        "class_weights": s.class_weights,
        "settings": asdict(s),
        "summary": result.summary,
    }
    save_model(result.model, model_dir, meta)
    result.history.to_csv(history_csv, index=False)
    Path(summary_json).write_text(json.dumps(result.summary, indent=2) + "\n")
    return result
