"""Resumable training: an orbax checkpoint per epoch, the best and the latest kept.

A killed run restarts from the latest checkpoint and, because the shuffling and dropout keys
derive from ``(seed, epoch/step)`` (:mod:`jaxaudio.training.epochs`), finishes with the same
result as an uninterrupted run. A fingerprint of the settings, of the inputs' *content*
(never their modification time: a byte-identical rebuild of the feature cache keeps the
checkpoints) and of the statistics and class weights used guards against resuming a
checkpoint made with anything different: the directory is then emptied and training starts
afresh.

Each checkpoint has two items: ``state`` (the :class:`~jaxaudio.training.state.TrainState`
arrays as plain nested dicts) and ``meta`` (JSON: the loop's history, best epoch, epochs
without improvement, whether it stopped early).
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp
from flax import nnx

from jaxaudio.runtime.step_cache import array_digest, fingerprint
from jaxaudio.training.settings import TrainSettings
from jaxaudio.training.state import TrainState

log = logging.getLogger(__name__)

FINGERPRINT_FILE = "fingerprint.json"


def run_fingerprint(
    settings: TrainSettings,
    inputs: str,
    n_classes: int,
    shape: tuple[int, ...],
    mean: Any,
    std: Any,
    weights: np.ndarray,
) -> str:
    """The hash a checkpoint must match to be resumed: settings, input content digests
    (``inputs``), classes, input shape, and the statistics and class weights actually used."""
    return fingerprint(
        settings=asdict(settings),
        inputs=inputs,
        n_classes=n_classes,
        shape=shape,
        mean=array_digest(mean),
        std=array_digest(std),
        weights=array_digest(weights),
    )


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
        preservation_policy=cm.AnyPreservationPolicy(
            [cm.BestN(get_metric_fn=metric, reverse=False, n=1), cm.LatestN(n=1)]
        ),
        enable_async_checkpointing=False,
        cleanup_tmp_directories=True,  # a killed save leaves "<step>.orbax-checkpoint-tmp"
    )
    return ocp.CheckpointManager(ckpt_dir.resolve(), options=options, item_names=("state", "meta"))


def _pure(state: TrainState) -> dict[str, Any]:
    """The state's arrays as nested dicts (what orbax saves; no nnx or static objects)."""
    return {
        "step": state.step,
        "params": nnx.to_pure_dict(state.params),
        "rest": nnx.to_pure_dict(state.rest),
        "opt_state": state.opt_state,
    }


def _from_pure(template: TrainState, pure: dict[str, Any]) -> TrainState:
    """``template`` with the arrays of ``pure`` (its ``params``/``rest`` are updated in place)."""
    params, rest = template.params, template.rest
    nnx.replace_by_pure_dict(params, pure["params"])
    nnx.replace_by_pure_dict(rest, pure["rest"])
    opt_state = jax.tree.unflatten(
        jax.tree.structure(template.opt_state), jax.tree.leaves(pure["opt_state"])
    )
    return template.replace(
        step=jnp.asarray(pure["step"]), params=params, rest=rest, opt_state=opt_state
    )


class Checkpoints:
    """The checkpoints of one run in ``ckpt_dir`` (epoch ``e`` is saved as orbax step ``e``)."""

    def __init__(self, ckpt_dir: str | Path, run_fp: str, settings: TrainSettings) -> None:
        """Open ``ckpt_dir``, emptying it first when its fingerprint is not ``run_fp``."""
        ckpt_dir = Path(ckpt_dir)
        fp_file = ckpt_dir / FINGERPRINT_FILE
        if ckpt_dir.exists() and (
            not fp_file.exists() or json.loads(fp_file.read_text()).get("fingerprint") != run_fp
        ):
            log.info(
                "checkpoints in %s were made with other settings or inputs: starting afresh",
                ckpt_dir,
            )
            shutil.rmtree(ckpt_dir)
        ckpt_dir.mkdir(parents=True, exist_ok=True)
        fp_file.write_text(
            json.dumps({"fingerprint": run_fp, "settings": asdict(settings)}, indent=2, default=str)
        )
        self.manager = _checkpoint_manager(ckpt_dir)

    def latest(self, template: TrainState) -> tuple[int, TrainState, dict[str, Any]] | None:
        """``(epoch, state, meta)`` of the latest checkpoint, or ``None`` when there is none."""
        latest = self.manager.latest_step()
        if latest is None:
            return None
        restored = self.manager.restore(
            latest,
            args=ocp.args.Composite(
                state=ocp.args.StandardRestore(_pure(template)), meta=ocp.args.JsonRestore()
            ),
        )
        return latest, _from_pure(template, restored["state"]), restored["meta"]

    def save(
        self, epoch: int, state: TrainState, meta: dict[str, Any], val_macro_f1: float
    ) -> None:
        """Checkpoint after ``epoch`` epochs; ``val_macro_f1`` ranks it for keeping the best."""
        self.manager.save(
            epoch,
            args=ocp.args.Composite(
                state=ocp.args.StandardSave(_pure(state)), meta=ocp.args.JsonSave(meta)
            ),
            metrics={"val_macro_f1": val_macro_f1, "epoch": epoch},
        )

    def restore(self, epoch: int, template: TrainState) -> TrainState:
        """The state saved after ``epoch`` epochs (waits for pending saves)."""
        self.manager.wait_until_finished()
        restored = self.manager.restore(
            epoch, args=ocp.args.Composite(state=ocp.args.StandardRestore(_pure(template)))
        )
        return _from_pure(template, restored["state"])

    def close(self) -> None:
        self.manager.close()
