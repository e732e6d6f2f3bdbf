"""A trained model on disk: orbax parameters plus the JSON needed to rebuild and feed it.

Layout of the directory::

    model.json      architecture, options, input shape, species in index order,
                    normalisation (mean/std used, or none), training settings, summary
    state/          orbax checkpoint of {"params", "rest"} (pure dicts of arrays)
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import numpy as np
import orbax.checkpoint as ocp
from flax import nnx

from jaxaudio.models import build_model


def save_model(model: nnx.Module, directory: str | Path, meta: dict[str, Any]) -> None:
    """Write ``model`` (parameters and BatchNorm statistics) and ``meta`` to ``directory``."""
    directory = Path(directory).resolve()
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    _, params, rest = nnx.split(model, nnx.Param, ...)
    with ocp.StandardCheckpointer() as ckptr:
        ckptr.save(directory / "state", {"params": nnx.to_pure_dict(params), "rest": nnx.to_pure_dict(rest)})
    (directory / "model.json").write_text(json.dumps(meta, indent=2, default=str) + "\n")


def load_model(directory: str | Path) -> tuple[nnx.Module, dict[str, Any]]:
    """Rebuild the model saved by :func:`save_model` (in eval mode) and return it with its meta."""
    directory = Path(directory).resolve()
    meta_path = directory / "model.json"
    if not meta_path.is_file() or not (directory / "state").is_dir():
        raise FileNotFoundError(f"{directory}: not a saved model (needs model.json and state/)")
    meta = json.loads(meta_path.read_text())
    model = build_model(meta["arch"], len(meta["species"]), tuple(meta["input_shape"]), meta["options"], seed=0)
    _, params, rest = nnx.split(model, nnx.Param, ...)
    target = {"params": nnx.to_pure_dict(params), "rest": nnx.to_pure_dict(rest)}
    abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, target)
    with ocp.StandardCheckpointer() as ckptr:
        restored = ckptr.restore(directory / "state", abstract)
    nnx.replace_by_pure_dict(params, restored["params"])
    nnx.replace_by_pure_dict(rest, restored["rest"])
    nnx.update(model, params, rest)
    model.eval()
    return model, meta


def normaliser(meta: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """The ``(mean, std)`` the model was trained with, shaped ``(C, 1|F, 1)`` to broadcast
    against a ``(C, F, T)`` stack (0/1 when not normalised)."""
    from jaxaudio.stats import broadcastable

    n = meta["input_shape"][0]
    norm = meta.get("normalisation")
    if not norm:
        return broadcastable(np.zeros(n)), broadcastable(np.ones(n))
    return broadcastable(norm["mean"]), broadcastable(norm["std"])


def probabilities_fn(model: nnx.Module, mean: np.ndarray, std: np.ndarray) -> Callable[[np.ndarray], jax.Array]:
    """Jitted ``x -> softmax(model((x - mean) / std))`` for a batch of ``(C, F, T)`` stacks.

    The one place where a trained model meets features after training: evaluation and
    ``jaxaudio predict`` both call it, so they normalise and score identically.
    """
    graphdef, state = nnx.split(model)
    mean, std = jax.numpy.asarray(mean), jax.numpy.asarray(std)

    @jax.jit
    def probs(state, x):
        return jax.nn.softmax(nnx.merge(graphdef, state)((x - mean) / std), axis=-1)

    return lambda x: probs(state, x)
