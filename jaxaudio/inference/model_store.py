"""A trained model on disk: orbax parameters plus the JSON needed to rebuild and feed it.

Layout of the directory::

    model.json      architecture, options, input shape, species in index order,
                    normalisation (mean/std used, or none), training settings, summary
    state/          orbax checkpoint of {"params", "rest"} (pure dicts of arrays)

A model directory copied by hand (into a bundle, onto another machine) is sometimes
incomplete, and orbax/TensorStore then fail with a pytree-structure dump or a kilobyte of
TensorStore spec that names no missing file. So :func:`load_model` checks the checkpoint's
files first (:func:`check_checkpoint`) and turns any remaining restore failure into a one-line
:class:`~jaxaudio.inference.errors.BundleError` naming the directory.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp
from flax import nnx

from jaxaudio.features.stats import broadcastable
from jaxaudio.inference.errors import BundleError
from jaxaudio.models.registry import build_model

#: Files an orbax (StandardCheckpointer, OCDBT) checkpoint needs to be restored. The others it
#: writes (``_CHECKPOINT_METADATA``, ``_sharding``, ``array_metadatas/``,
#: ``commit_success.txt``, ``ocdbt.process_*/manifest.ocdbt``) are not read by a restore.
METADATA_FILE = "_METADATA"
OCDBT_MANIFEST = "manifest.ocdbt"


def save_model(model: nnx.Module, directory: str | Path, meta: dict[str, Any]) -> None:
    """Write ``model`` (parameters and BatchNorm statistics) and ``meta`` to ``directory``."""
    directory = Path(directory).resolve()
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    _, params, rest = nnx.split(model, nnx.Param, ...)
    with ocp.StandardCheckpointer() as ckptr:
        ckptr.save(
            directory / "state",
            {"params": nnx.to_pure_dict(params), "rest": nnx.to_pure_dict(rest)},
        )
    (directory / "model.json").write_text(json.dumps(meta, indent=2, default=str) + "\n")


def _error(message: str) -> BundleError:
    return BundleError(message)


def _incomplete(state: Path, what: str) -> ValueError:
    return _error(f"{state}: orbax checkpoint incomplete: {what}")


def _ocdbt_refs(node: Any) -> Iterator[str]:
    """Every ``btreenode:``/``value:``/``versionnode:`` location string in a TensorStore dump."""
    if isinstance(node, dict):
        for v in node.values():
            yield from _ocdbt_refs(v)
    elif isinstance(node, list):
        for v in node:
            yield from _ocdbt_refs(v)
    elif isinstance(node, str) and node.startswith(("btreenode:", "value:", "versionnode:")):
        yield node


def _ocdbt_location(ref: str) -> tuple[str, int]:
    """``"<type>:<base>:<file>:<offset>:<length>"`` -> (file relative to the database, bytes it must hold)."""
    _, rest = ref.split(":", 1)
    file_id, offset, length = rest.rsplit(":", 2)
    base, _, rel = file_id.partition(":")
    return base + rel, int(offset) + int(length)


def _check_ocdbt_files(state: Path) -> None:
    """Follow the OCDBT database from its manifest through the B+tree of the latest version and
    check that every data file it references (``d/…``, ``ocdbt.process_*/d/…``) is there and
    long enough. Only the index nodes are read, not the arrays. A missing data file matters:
    TensorStore reads a missing value file as empty and reports a "truncated Zstd stream" for
    some array, naming no file."""
    import tensorstore as ts

    if not hasattr(ts, "ocdbt") or not hasattr(
        ts.ocdbt, "dump"
    ):  # older TensorStore: restore will tell
        return
    kv = ts.KvStore.open({"driver": "file", "path": str(state) + os.sep}).result()
    manifest = ts.ocdbt.dump(kv).result()
    versions = manifest.get("versions") or []
    if not versions:
        return
    latest = max(versions, key=lambda v: v.get("generation_number", 0))
    pending, missing, short, seen = list(_ocdbt_refs(latest)), [], [], set()
    while pending:
        ref = pending.pop()
        if ref in seen:
            continue
        seen.add(ref)
        rel, need = _ocdbt_location(ref)
        f = state / rel
        if not f.is_file():
            missing.append(rel)
            continue
        if f.stat().st_size < need:
            short.append(f"{rel} ({f.stat().st_size} of at least {need} bytes)")
            continue
        if ref.startswith("btreenode:"):
            pending.extend(_ocdbt_refs(ts.ocdbt.dump(kv, ref).result()))
    missing = sorted(set(missing))
    if missing:
        raise _incomplete(
            state,
            f"missing array data {', '.join(missing[:5])}"
            + (f" ({len(missing)} files)" if len(missing) > 5 else ""),
        )
    if short:
        raise _incomplete(state, f"truncated array data {', '.join(sorted(set(short))[:5])}")


def _checkpoint_keys(state: Path, metadata: dict[str, Any]) -> dict[str, list[int] | None]:
    """``"params/convs/0/kernel" -> shape`` of every array listed in ``_METADATA`` (the names
    :func:`jax.tree_util.tree_flatten_with_path` gives the model's pure dict)."""
    tree = metadata.get("tree_metadata")
    if not isinstance(tree, dict):
        raise _error(f"{state / METADATA_FILE}: orbax checkpoint corrupt: no tree_metadata")
    out = {}
    for key, entry in tree.items():
        value = (entry.get("value_metadata") or {}) if isinstance(entry, dict) else {}
        if value.get(
            "skip_deserialize"
        ):  # an empty container (a model without BatchNorm has rest = {})
            continue
        try:
            name = "/".join(str(k["key"]) for k in entry["key_metadata"])
        except (KeyError, TypeError):
            name = str(key)
        out[name] = value.get("write_shape")
    return out


def _check_arrays(state: Path, saved: dict[str, list[int] | None], target: dict[str, Any]) -> None:
    """The checkpoint's arrays (``saved``: name -> shape) are ``target``'s, by name and shape."""
    paths = jax.tree_util.tree_flatten_with_path(target)[0]
    want = {"/".join(str(getattr(k, "key", k)) for k in p): list(np.shape(v)) for p, v in paths}
    absent = sorted(set(want) - set(saved))
    extra = sorted(set(saved) - set(want))
    mismatch = f"{state}: the checkpoint's arrays do not match the architecture in model.json"
    if absent or extra:
        parts = ([f"lacks {', '.join(absent[:5])}"] if absent else []) + (
            [f"has unexpected {', '.join(extra[:5])}"] if extra else []
        )
        raise _error(f"{mismatch}: {'; '.join(parts)}")
    wrong = [
        f"{k} is {tuple(saved[k])}, model.json's architecture needs {tuple(want[k])}"
        for k in sorted(want)
        if saved[k] is not None and list(saved[k]) != want[k]
    ]
    if wrong:
        raise _error(f"{mismatch}: {'; '.join(wrong[:3])}")


def check_checkpoint(state: str | Path, target: dict[str, Any] | None = None) -> None:
    """Raise :class:`~jaxaudio.inference.errors.BundleError` when the orbax checkpoint ``state`` lacks a
    file a restore reads, naming the directory and the file.

    Checked: ``_METADATA`` (the tree of arrays; without it orbax reports a pytree-structure
    mismatch), ``manifest.ocdbt`` and every OCDBT data file the latest version references.
    With ``target`` (the pure dict the model expects), the arrays listed in ``_METADATA`` are
    compared with it by name and shape, so an architecture that differs from the saved one is
    one line naming the array rather than a pytree dump.
    """
    state = Path(state)
    if not state.is_dir():
        raise _incomplete(state, "the directory does not exist")
    meta_file = state / METADATA_FILE
    if not meta_file.is_file():
        raise _incomplete(state, f"missing {METADATA_FILE}")
    try:
        metadata = json.loads(meta_file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise _error(
            f"{meta_file}: orbax checkpoint corrupt: {METADATA_FILE} is not valid JSON ({exc})"
        ) from exc
    if not isinstance(metadata, dict):
        raise _error(f"{meta_file}: orbax checkpoint corrupt: {METADATA_FILE} is not a JSON object")
    saved = _checkpoint_keys(state, metadata)
    if target is not None:
        _check_arrays(state, saved, target)
    ocdbt = (
        metadata.get("use_ocdbt", True)
        or (state / OCDBT_MANIFEST).exists()
        or any(state.glob("ocdbt.process_*"))
    )
    if not ocdbt:
        return
    if not (state / OCDBT_MANIFEST).is_file():
        raise _incomplete(state, f"missing {OCDBT_MANIFEST}")
    try:
        _check_ocdbt_files(state)
    except BundleError:
        raise
    except Exception as exc:  # noqa: BLE001 - an unreadable manifest or index node
        raise _error(
            f"{state}: orbax checkpoint corrupt: cannot read its OCDBT index ({error_summary(exc)})"
        ) from exc


def error_summary(exc: BaseException, limit: int = 300) -> str:
    """One line for an orbax/TensorStore error: the innermost cause's first line, without the
    TensorStore spec JSON that follows it, shortened to ``limit`` characters."""
    inner, seen = exc, {id(exc)}
    while (nxt := inner.__cause__ or inner.__context__) is not None and id(nxt) not in seen:
        seen.add(id(nxt))
        inner = nxt
    text = (str(inner).strip().splitlines() or [""])[0]
    text = re.split(r"\s*\[tensorstore_spec=|\s*See full TensorStore details", text)[0].strip()
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"{type(inner).__name__}: {text}" if text else type(inner).__name__


def n_outputs(meta: Mapping[str, Any]) -> int:
    """The model's outputs: its species, and the background class when ``model.json`` names
    one (``"background": label``)."""
    return len(meta["species"]) + (1 if meta.get("background") else 0)


def load_model(directory: str | Path) -> tuple[nnx.Module, dict[str, Any]]:
    """Rebuild the model saved by :func:`save_model` (in eval mode) and return it with its meta.

    An incomplete or corrupt ``state/`` is a one-line :class:`~jaxaudio.inference.errors.BundleError`
    naming the directory and the missing file (:func:`check_checkpoint`), or, for a fault only
    the restore finds, saying the checkpoint is incomplete or corrupt (the orbax error is the
    ``__cause__``)."""
    directory = Path(directory).resolve()
    meta_path = directory / "model.json"
    if not meta_path.is_file() or not (directory / "state").is_dir():
        raise FileNotFoundError(f"{directory}: not a saved model (needs model.json and state/)")
    meta = json.loads(meta_path.read_text())
    # The model's shapes only (nnx.eval_shape): initialising it for real ran and compiled one
    # small program per initialiser, 4-5 s of every evaluate, bundle and predict start-up,
    # for values the restore overwrites.
    model = nnx.eval_shape(
        lambda: build_model(
            meta["arch"], n_outputs(meta), tuple(meta["input_shape"]), meta["options"], seed=0
        )
    )
    graph, params, rest = nnx.split(model, nnx.Param, ...)
    target = {"params": nnx.to_pure_dict(params), "rest": nnx.to_pure_dict(rest)}
    state = directory / "state"
    check_checkpoint(state, target)
    abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, target)
    try:
        with ocp.StandardCheckpointer() as ckptr:
            restored = ckptr.restore(state, abstract)
    except Exception as exc:  # noqa: BLE001 - orbax/TensorStore raise many types, with multi-line dumps
        raise _error(
            f"{state}: orbax checkpoint incomplete or corrupt, cannot restore the parameters "
            f"({error_summary(exc)})"
        ) from exc
    nnx.replace_by_pure_dict(params, restored["params"])
    nnx.replace_by_pure_dict(rest, restored["rest"])
    model = nnx.merge(graph, params, rest)
    model.eval()
    return model, meta


def normaliser(meta: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """The ``(mean, std)`` the model was trained with, shaped ``(C, 1|F, 1)`` to broadcast
    against a ``(C, F, T)`` stack (0/1 when not normalised)."""
    n = meta["input_shape"][0]
    norm = meta.get("normalisation")
    if not norm:
        return broadcastable(np.zeros(n)), broadcastable(np.ones(n))
    return broadcastable(norm["mean"]), broadcastable(norm["std"])


@dataclass(frozen=True)
class Member:
    """One trained model with the normalisation it was trained with: a bundle holds one, or
    several (a seed ensemble), and evaluation scores through the same."""

    model: nnx.Module
    mean: np.ndarray  # (C, 1|F, 1), :func:`normaliser`
    std: np.ndarray

    @classmethod
    def load(cls, directory: str | Path) -> tuple[Member, dict[str, Any]]:
        """The model saved in ``directory`` (:func:`load_model`) with its normalisation, and
        its ``model.json``."""
        model, meta = load_model(directory)
        return cls(model, *normaliser(meta)), meta


def combine_logits(z: jax.Array, objective: str = "softmax") -> jax.Array:
    """``(M, B, K)`` logits of ``M`` members -> ``(B, K)`` logits of their mean probability.

    Softmax: ``log((1/M) sum_m softmax(z_m))``, computed as ``logsumexp_m(log_softmax(z_m)) -
    log M``, so ``softmax`` of the result is the members' mean distribution. Sigmoid: the
    logit of the mean of ``σ(z_m)`` per output, ``logsumexp_m log σ(z_m) - logsumexp_m log
    σ(-z_m)`` (``log p̄ - log(1 - p̄)``), so ``σ`` of the result is the mean probability.
    A temperature fitted afterwards (:mod:`jaxaudio.evaluation.calibration`) scales these
    logits as it scales a single model's: the ensemble is calibrated as one model.
    """
    m = z.shape[0]
    if objective == "sigmoid":
        return jax.nn.logsumexp(jax.nn.log_sigmoid(z), axis=0) - jax.nn.logsumexp(
            jax.nn.log_sigmoid(-z), axis=0
        )
    return jax.nn.logsumexp(jax.nn.log_softmax(z, axis=-1), axis=0) - jnp.log(m)


def _scorer(
    members: Sequence[Member],
    head: Callable[[jax.Array], jax.Array],
    objective: str = "softmax",
) -> Callable[[np.ndarray], jax.Array]:
    """Jitted ``x -> head(z)`` for a batch of ``(C, F, T)`` stacks, ``z`` the logits
    ``model((x - mean) / std)`` of the one member, or of several combined by
    :func:`combine_logits` (one compiled program for all of them).

    The one place where a trained model meets features after training: evaluation and
    ``jaxaudio predict`` both come through it, so they normalise and score identically.
    """
    if not members:
        raise ValueError("no model to score with")
    graphdefs, states = zip(*(nnx.split(m.model) for m in members))
    norms = [(jnp.asarray(m.mean), jnp.asarray(m.std)) for m in members]

    @jax.jit
    def scores(states, x):
        z = [nnx.merge(g, s)((x - mu) / sd) for g, s, (mu, sd) in zip(graphdefs, states, norms)]
        return head(z[0] if len(z) == 1 else combine_logits(jnp.stack(z), objective))

    return lambda x: scores(states, x)


def logits_fn(
    model: nnx.Module, mean: np.ndarray, std: np.ndarray
) -> Callable[[np.ndarray], jax.Array]:
    """Jitted logits ``z = model((x - mean) / std)``: every output, the background class
    included (what the evaluation calibrates and scores)."""
    return _scorer([Member(model, mean, std)], lambda z: z)


def ensemble_logits_fn(
    members: Sequence[Member], objective: str = "softmax"
) -> Callable[[np.ndarray], jax.Array]:
    """Jitted logits of ``members``' mean probability (:func:`combine_logits`); one member:
    its own logits, as :func:`logits_fn`."""
    return _scorer(members, lambda z: z, objective)


def objective_of(meta: Mapping[str, Any]) -> str:
    """``model.json``'s training objective (models saved before the key: ``softmax``)."""
    return str(meta.get("objective", "softmax"))


def probabilities_fn(
    members: Sequence[Member],
    n_species: int | None = None,
    temperature: float = 1.0,
    objective: str = "softmax",
) -> Callable[[np.ndarray], jax.Array]:
    """Jitted ``x -> softmax(z / T)[:, :n_species]``, ``z`` the :func:`ensemble_logits_fn`
    logits of ``members`` (one model, or a seed ensemble's mean probability).

    ``T`` is the temperature fitted on validation
    (:func:`jaxaudio.evaluation.calibration.fit_temperature`; 1: uncalibrated). The softmax
    runs over every output; the background class (the last, when the model has one) takes
    its share and is then dropped, so a background window scores low for every species.

    ``objective="sigmoid"`` (a multi-label model, ``model.json`` ``"objective"``): every
    output is a species, scored on its own as ``σ(z / T)``
    (:func:`jaxaudio.evaluation.calibration.fit_binary_temperature`); there is no background
    column to drop.
    """
    t = float(temperature)
    if objective == "sigmoid":
        return _scorer(members, lambda z: jax.nn.sigmoid(z / t)[:, :n_species], objective)
    return _scorer(members, lambda z: jax.nn.softmax(z / t, axis=-1)[:, :n_species], objective)
