"""A model bundle: everything inference needs, in one directory, checked when loaded.

The most common bug in bioacoustic tools is inference computing features or normalisation
differently from training. A bundle carries the exact feature settings, the normalisation
statistics, the species order and the decision thresholds together with the parameters, and
:func:`load_bundle` refuses a bundle whose parts disagree::

    bundle/
      bundle.json   format version, feature settings (jaxaudio.features.cache.FeatureConfig),
                    species in index order, thresholds (per species, tuned on val, plus the
                    global default), test metrics, where it came from, library versions
      model/        the trained model as jaxaudio.inference.model_store writes it (model.json: arch,
                    options, input shape, species, normalisation; state/: orbax parameters)

A seed ensemble's bundle holds ``members/0/``, ``members/1/``, ... (each as ``model/``) in place
of ``model/``, listed in bundle.json ``members``; its scores are the members' mean probability
(:func:`jaxaudio.inference.model_store.combine_logits`), calibrated and thresholded as one
model on validation. The members must agree on species, background class, objective, input
shape and channels; each keeps its own normalisation.
"""

from __future__ import annotations

import importlib.metadata
import json
import logging
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from jaxaudio.features.config import EMBEDDINGS, FeatureConfig, missing_extra
from jaxaudio.inference.errors import BundleError
from jaxaudio.inference.model_store import Member, error_summary

log = logging.getLogger(__name__)

BUNDLE_FORMAT = 1
METRIC_KEYS = (
    "accuracy",
    "macro_f1",
    "rare_f1",
    "cmap",
    "roc_auc",
    "tuned_macro_f1",
    "n_test",
    "offsets",  # the offset copies' accuracy and macro-F1, per split
)


#: The model directory of a single-model bundle, and the folder of an ensemble's members.
MODEL_DIR, MEMBERS_DIR = "model", "members"


@dataclass
class Bundle:
    path: Path
    members: list[Member]  # the model (eval mode) with its normalisation; several: an ensemble
    meta: dict[str, Any]  # model.json (the first member's; the members agree, load_bundle checks)
    info: dict[str, Any]  # bundle.json
    features: FeatureConfig
    species: list[str]
    thresholds: np.ndarray  # (C,) in species order
    temperature: float = 1.0  # fitted on validation (bundle.json "calibration")


def versions() -> dict[str, str | None]:
    out = {}
    for dist in ("jaxaudio", "jax", "jaxlib", "flax", "optax", "orbax-checkpoint", "librosa"):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = None
    return out


def validation_of(meta: dict[str, Any]) -> dict[str, Any]:
    """What a model was validated on (``model.json``'s ``offset_views``, 1 before offsets)."""
    copies = int(meta.get("offset_views", 1)) - 1
    return {
        "offset_copies_per_clip": copies,
        "meaning": "the val clips and their offset copies (windows at random call offsets over "
        "background, jaxaudio/features/offsets.py)"
        if copies
        else "the val clips, aligned as in training",
    }


def write_bundle(
    model_dir: str | Path | list[str | Path],
    metrics_json: str | Path,
    feature_settings: dict[str, Any],
    out_dir: str | Path,
    source: dict[str, Any] | None = None,
) -> Path:
    """Assemble a bundle from a trained model, its evaluation and the feature settings.

    ``model_dir``: one model directory, or a list of them (a seed ensemble, ``metrics_json``
    the ensemble's evaluation). The thresholds are those
    :func:`jaxaudio.evaluation.metrics.evaluate_predictions` tuned on the validation split
    (``metrics.json["thresholds"]``); without them every species gets 0.5.
    """
    dirs = [Path(d) for d in model_dir] if isinstance(model_dir, list) else [Path(model_dir)]
    out_dir = Path(out_dir)
    metas = [json.loads((d / "model.json").read_text()) for d in dirs]
    meta = metas[0]
    metrics = json.loads(Path(metrics_json).read_text())
    cfg = FeatureConfig.from_dict(feature_settings)
    for d, m in zip(dirs, metas):
        _check_features_match(d, m, cfg)
        _check_member(d, m, meta)
    th = metrics.get("thresholds") or {
        "per_species": {s: 0.5 for s in meta["species"]},
        "global": 0.5,
        "tuned": [],
    }
    calibration = metrics.get("calibration") or {"method": "none", "temperature": 1.0}
    info = {
        "format": BUNDLE_FORMAT,
        "features": cfg.to_dict(),
        "species": meta["species"],
        # softmax: one species a window; sigmoid: each species on its own (multi-label)
        "objective": meta.get("objective", "softmax"),
        # the model's last output is this reserved "no species" class; predict never reports it
        "background": meta.get("background"),
        # scores are softmax(z / temperature), or sigmoid(z / temperature) with the sigmoid
        # objective: the temperature fitted on validation
        "calibration": {k: calibration.get(k) for k in ("method", "temperature")},
        "thresholds": th,
        # what the thresholds, the temperature and the epoch were chosen on
        "validation": validation_of(meta),
        "metrics": {k: metrics.get(k) for k in METRIC_KEYS},
        "source": source or {},
        "versions": versions(),
    }
    if cfg.embedding:  # features made by a model under its own licence
        info["license"] = EMBEDDINGS[cfg.kind].license
    tmp = out_dir.with_name(out_dir.name + ".partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    if len(dirs) == 1:
        shutil.copytree(dirs[0], tmp / MODEL_DIR)
    else:
        info["members"] = [f"{MEMBERS_DIR}/{i}" for i in range(len(dirs))]
        for d, rel in zip(dirs, info["members"]):
            shutil.copytree(d, tmp / rel)
    (tmp / "bundle.json").write_text(json.dumps(info, indent=2) + "\n")
    if out_dir.exists():
        shutil.rmtree(out_dir)
    tmp.rename(out_dir)
    return out_dir


def write_best_bundle(
    runs: list[dict[str, Any]],
    model_dirs: list[str | Path],
    metrics: list[str | Path],
    comparison_json: str | Path,
    feature_settings: Mapping[str, dict[str, Any]],
    out_dir: str | Path,
    ensembles: list[dict[str, Any]] | None = None,
    ensemble_metrics: list[str | Path] | None = None,
) -> dict[str, Any]:
    """Workflow step: the bundle of the comparison's recommended configuration: its first
    seed, or, when the recommendation is a seed ensemble, every seed as one ensemble bundle.

    The comparison chooses it on validation only (the best mean validation macro-F1 over
    seeds, or an ensemble's own, :func:`jaxaudio.evaluation.compare.recommend`); ``runs``
    (``experiment, model, seed``), ``model_dirs`` and ``metrics`` are parallel lists holding
    that run; ``ensembles`` (``experiment, model, seeds``) and ``ensemble_metrics`` are
    parallel lists of the ensembles evaluated (``compare.ensemble``); ``feature_settings`` maps
    each experiment to the settings of its feature set. The bundle's ``source`` names the
    run(s), the rule and every configuration's validation score.
    """
    rec = json.loads(Path(comparison_json).read_text())["recommended"]
    if rec.get("experiment") is None:
        raise ValueError(
            f"{comparison_json}: no configuration recommended (no run has a validation score)"
        )
    seeds = [str(s) for s in rec["seeds"]] if rec.get("ensemble") else [str(rec["seed"])]
    chosen = []
    for seed in seeds:
        key = (rec["experiment"], rec["model"], seed)
        found = [
            i for i, r in enumerate(runs) if (r["experiment"], r["model"], str(r["seed"])) == key
        ]
        if not found:
            raise ValueError(
                f"{comparison_json}: recommended run {'/'.join(key)} is not among the runs given"
            )
        chosen.append(found[0])
    metrics_json = metrics[chosen[0]]
    if rec.get("ensemble"):
        pair = (rec["experiment"], rec["model"])
        at = [i for i, e in enumerate(ensembles or []) if (e["experiment"], e["model"]) == pair]
        if not at:
            raise ValueError(
                f"{comparison_json}: recommended ensemble {'/'.join(pair)} was not evaluated"
            )
        metrics_json = (ensemble_metrics or [])[at[0]]
    meta = json.loads((Path(model_dirs[chosen[0]]) / "model.json").read_text())
    run = (
        {
            "experiment": rec["experiment"],
            "model": rec["model"],
            "seeds": rec["seeds"],
            "ensemble": True,
        }
        if rec.get("ensemble")
        else runs[chosen[0]]
    )
    source = {
        **run,
        "chosen_by": rec["rule"],
        "chosen_on": validation_of(meta)["meaning"],
        "mean_val_macro_f1": rec["mean_val_macro_f1"],
        "val_macro_f1": rec["candidates"],
    }
    dirs = [model_dirs[i] for i in chosen]
    write_bundle(
        dirs if rec.get("ensemble") else dirs[0],
        metrics_json,
        dict(feature_settings[rec["experiment"]]),
        out_dir,
        source=source,
    )
    return source


def _read_info(path: Path) -> tuple[dict[str, Any], FeatureConfig]:
    """``bundle.json`` read and checked: its keys, its format, its feature settings."""
    info_path = path / "bundle.json"
    if not info_path.is_file():
        raise BundleError(f"{path}: not a model bundle (no bundle.json)")
    try:
        info = json.loads(info_path.read_text())
    except json.JSONDecodeError as exc:
        raise BundleError(f"{info_path}: not valid JSON ({exc})") from exc
    missing = [k for k in ("format", "features", "species", "thresholds") if k not in info]
    if missing:
        raise BundleError(f"{info_path}: missing key(s) {', '.join(missing)}")
    if info["format"] != BUNDLE_FORMAT:
        raise BundleError(
            f"{info_path}: bundle format {info['format']}, this jaxaudio reads format {BUNDLE_FORMAT}"
        )
    try:
        cfg = FeatureConfig.from_dict(info["features"])
    except (TypeError, ValueError) as exc:
        raise BundleError(f"{info_path}: features: {exc}") from exc
    if cfg.embedding and (missing := missing_extra(cfg.kind)):
        raise BundleError(f"{info_path}: features.kind: {missing}")
    return info, cfg


def _read_model(path: Path, rel: str = MODEL_DIR) -> tuple[Member, dict[str, Any]]:
    """The bundle's model directory ``rel`` rebuilt; any failure one line naming the file."""
    d = path / rel
    if not (d / "model.json").is_file() or not (d / "state").is_dir():
        raise BundleError(f"{d}: incomplete (needs model.json and state/)")
    try:
        return Member.load(d)
    except BundleError:  # incomplete/corrupt checkpoint: already one line naming the file
        raise
    except Exception as exc:  # noqa: BLE001 - model.json or flax errors, reported with the path, on one line
        raise BundleError(f"{d}: cannot rebuild the model ({error_summary(exc)})") from exc


def _check_member(path: Path, meta: Mapping[str, Any], first: Mapping[str, Any]) -> None:
    """An ensemble member ``meta`` (``model.json`` in ``path``) agrees with the first member on
    what the ensemble's outputs mean: species, background class, objective, input, channels."""
    keys = ("species", "background", "objective", "input_shape", "channels")
    differ = [k for k in keys if meta.get(k) != first.get(k)]
    if differ:
        raise BundleError(
            f"{path}: an ensemble's members must agree; this one differs from the first in "
            f"{', '.join(differ)}"
        )


def _check_features_match(path: Path, meta: Mapping[str, Any], cfg: FeatureConfig) -> None:
    """The model was trained on features made as ``cfg`` makes them: the same input shape and
    the same channels by name (a log-mel and a PCEN model have the same shape)."""
    if tuple(meta["input_shape"]) != cfg.shape:
        raise BundleError(
            f"{path}: model input {tuple(meta['input_shape'])} does not match the features "
            f"{cfg.shape} of the settings given"
        )
    channels = meta.get("channels")
    if channels is not None and tuple(channels) != cfg.channels:
        raise BundleError(
            f"{path}: the model was trained on channels {channels}, the feature settings make "
            f"{list(cfg.channels)} (features.kind / features.deltas)"
        )


def _check_agreement(
    path: Path, info: Mapping[str, Any], meta: Mapping[str, Any], cfg: FeatureConfig
) -> None:
    """``bundle.json`` and the model agree: species, input shape, a threshold per species."""
    species = list(info["species"])
    if meta["species"] != species or meta.get("background") != info.get("background"):
        raise BundleError(
            f"{path}: bundle.json and model/model.json list different species (or background class)"
        )
    if meta.get("objective", "softmax") != info.get("objective", "softmax"):
        raise BundleError(f"{path}: bundle.json and model/model.json name different objectives")
    _check_features_match(path, meta, cfg)
    per = info["thresholds"].get("per_species", {})
    lacking = [s for s in species if s not in per]
    if lacking:
        raise BundleError(
            f"{path / 'bundle.json'}: thresholds missing for {len(lacking)} species: "
            f"{', '.join(lacking[:5])}"
        )
    mine = versions()
    for dist in ("jax", "flax"):
        theirs = info.get("versions", {}).get(dist)
        if theirs and mine[dist] and theirs.split(".")[:2] != mine[dist].split(".")[:2]:
            log.warning("%s: made with %s %s, running %s %s", path, dist, theirs, dist, mine[dist])


def load_bundle(path: str | Path) -> Bundle:
    """Load and check a bundle; every inconsistency is a :class:`BundleError` naming the file.

    Errors are one line (``jaxaudio predict`` prints them as they are): a missing or damaged
    file of the orbax checkpoint in ``model/state/`` (or a member's) is named by
    :func:`jaxaudio.inference.model_store.check_checkpoint` before orbax is called.
    """
    path = Path(path)
    info, cfg = _read_info(path)
    loaded = [_read_model(path, rel) for rel in info.get("members") or [MODEL_DIR]]
    meta = loaded[0][1]
    for rel, (_, m) in zip(info.get("members") or [MODEL_DIR], loaded):
        _check_member(path / rel, m, meta)
        _check_agreement(path, info, m, cfg)
    species = list(info["species"])
    per = info["thresholds"]["per_species"]
    return Bundle(
        path=path,
        members=[member for member, _ in loaded],
        meta=meta,
        info=info,
        features=cfg,
        species=species,
        thresholds=np.asarray([per[s] for s in species], np.float32),
        temperature=float((info.get("calibration") or {}).get("temperature") or 1.0),
    )
