"""Workflow configuration: validation with one-line errors, and resolution of runs.

The JSON schema (``workflow/schemas/config.schema.yaml``) checks types, ranges and names
of every key; :func:`check_config` adds the checks a schema cannot express (references
between sections, files that must exist, feature settings librosa would reject). Each
failure is a :class:`ConfigError` whose message starts with the config key at fault.

:func:`run_settings` turns (experiment, model) into the complete, flat set of training
hyperparameters. The workflow passes that dict to the train rule as ``params`` so that
Snakemake reruns exactly the runs whose settings changed.

Precedence (later wins): ``training`` < ``models.<m>`` < ``experiments.<e>`` keys
(``lr_scale`` multiplies the learning rate last) < ``experiments.<e>.overrides.<m>``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from jaxaudio.features import FeatureConfig
from jaxaudio.manifest import ManifestError, check_manifest
from jaxaudio.predict import audio_inputs

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "workflow" / "schemas" / "config.schema.yaml"
# The workflow's defaults, which the CLI (like Snakemake) merges user config files on top of.
DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "config" / "config.yaml"
EXPERIMENT_TRAINING_KEYS = ("class_weights", "normalise", "augment", "logit_adjust", "lr", "epochs", "batch_size", "patience")


class ConfigError(ValueError):
    """A configuration value that cannot work; the message names the key."""


def _key(path: Any) -> str:
    return ".".join(str(p) for p in path) or "(top level)"


def validate_schema(config: Mapping[str, Any], schema_path: str | Path = SCHEMA_PATH) -> None:
    """Validate against the JSON schema; raise the most relevant error as one line."""
    schema = yaml.safe_load(Path(schema_path).read_text())
    validator = jsonschema.Draft202012Validator(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(config))
    if error is not None:
        key = _key(error.absolute_path)
        if error.validator in ("additionalProperties", "unevaluatedProperties"):
            raise ConfigError(f"config key {key}: {error.message}")
        raise ConfigError(f"config key {key}: {error.message} (value {error.instance!r})")


def _deep_update(base: dict[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    for k, v in update.items():
        if isinstance(v, Mapping) and isinstance(base.get(k), dict):
            _deep_update(base[k], v)
        else:
            base[k] = copy.deepcopy(v)
    return base


def run_settings(config: Mapping[str, Any], experiment: str, model: str, seed: int = 0) -> dict[str, Any]:
    """Complete training hyperparameters of one (experiment, model, seed) run, as a plain dict.

    The seed (initialisation, shuffling, dropout, augmentation) comes from ``run.seeds``
    only, so repeating a run over seeds never changes anything else.
    """
    m = copy.deepcopy(dict(config["models"][model]))
    e = config["experiments"][experiment]
    s: dict[str, Any] = {"class_weights": "none", "normalise": False}
    s.update(copy.deepcopy(config.get("training", {})))
    s["arch"] = m.pop("arch")
    s["model"] = m.pop("options", {})
    s.update(m)
    s.update({k: e[k] for k in EXPERIMENT_TRAINING_KEYS if k in e})
    if "lr_scale" in e:
        s["lr"] = s["lr"] * e["lr_scale"]
    override = copy.deepcopy(e.get("overrides", {}).get(model, {}))
    if "options" in override:
        s["model"] = _deep_update(s["model"], override.pop("options"))
    s.update(override)
    s["seed"] = int(seed)
    return s


def check_config(config: Mapping[str, Any], schema_path: str | Path = SCHEMA_PATH) -> None:
    """Every check that can run before any work starts (schema, references, paths)."""
    validate_schema(config, schema_path)
    data = config["data"]
    if data["source"] == "folder":
        folder = data.get("folder")
        if not folder:
            raise ConfigError("config key data.folder: required when data.source is 'folder'")
        if not Path(folder).is_dir():
            raise ConfigError(f"config key data.folder: {folder!r} is not a folder")
    if data["source"] == "manifest":
        manifest = data.get("manifest")
        if not manifest:
            raise ConfigError("config key data.manifest: required when data.source is 'manifest'")
        if not Path(manifest).is_file():
            raise ConfigError(f"config key data.manifest: file {manifest!r} does not exist")
        try:
            check_manifest(manifest)
        except ManifestError as exc:
            raise ConfigError(f"config key data.manifest: {exc}") from exc
    for i, name in enumerate(config["run"]["experiments"]):
        if name not in config["experiments"]:
            raise ConfigError(f"config key run.experiments.{i}: unknown experiment {name!r}; declared: {sorted(config['experiments'])}")
    for i, name in enumerate(config["run"]["models"]):
        if name not in config["models"]:
            raise ConfigError(f"config key run.models.{i}: unknown model {name!r}; declared: {sorted(config['models'])}")
    for exp, e in config["experiments"].items():
        for model in e.get("overrides", {}):
            if model not in config["models"]:
                raise ConfigError(f"config key experiments.{exp}.overrides.{model}: unknown model {model!r}")
    for i, b in enumerate(config.get("bundles") or []):
        for key, pool in (("experiment", config["run"]["experiments"]), ("model", config["run"]["models"]),
                          ("seed", config["run"].get("seeds", [0]))):
            if b[key] not in pool:
                raise ConfigError(f"config key bundles.{i}.{key}: {b[key]!r} is not one of the runs' {key}s {list(pool)}")
    bundles = [(b["experiment"], b["model"], b["seed"]) for b in config.get("bundles") or []]
    for name, job in (config.get("predict") or {}).items():
        b = job["bundle"]
        if b == "best":
            if not config.get("bundle_best", True):
                raise ConfigError(f"config key predict.{name}.bundle: 'best' needs bundle_best: true")
        elif (b["experiment"], b["model"], b["seed"]) not in bundles:
            raise ConfigError(f"config key predict.{name}.bundle: {b} is not one of the bundles the run writes "
                              f"(config key bundles: {config.get('bundles') or []})")
        try:  # before any training: an empty folder found after hours of work would waste them
            audio_inputs(job["audio"])
        except (FileNotFoundError, ValueError) as exc:
            raise ConfigError(f"config key predict.{name}.audio: {exc}") from exc
    for key in ("baseline", "candidate"):
        name = config["compare"][key]
        if name not in config["run"]["experiments"]:
            raise ConfigError(f"config key compare.{key}: experiment {name!r} is not in run.experiments")
    try:
        FeatureConfig.from_dict(config["features"]).check()
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    n_frames = FeatureConfig.from_dict(config["features"]).n_frames
    n_mfcc = config["features"]["n_mfcc"]
    for exp in config["run"]["experiments"]:
        for model in config["run"]["models"]:
            s = run_settings(config, exp, model)
            if s["arch"] == "vit":
                pf, pt = s["model"].get("patch", (8, 4))
                if pf > n_mfcc or pt > n_frames:
                    raise ConfigError(
                        f"config key models.{model}.options.patch: patch ({pf}, {pt}) is larger than the "
                        f"feature map ({n_mfcc} coefficients x {n_frames} frames)"
                    )
                dim, heads = s["model"].get("dim", 64), s["model"].get("heads", 4)
                if dim % heads:
                    raise ConfigError(f"config key models.{model}.options.dim: {dim} is not divisible by heads={heads}")


def local_gpus() -> int:
    """NVIDIA GPUs on this machine, counted from their device files (``/dev/nvidia0`` ...).

    The workflow asks for a ``gpu`` resource per training job only where there are GPUs;
    counting device files needs no CUDA library and takes microseconds at DAG build.
    """
    import glob

    return len(glob.glob("/dev/nvidia[0-9]*"))


def load_config(*paths: str | Path) -> dict[str, Any]:
    """Merge YAML files left to right (as Snakemake merges --configfile files) and check."""
    config: dict[str, Any] = {}
    for p in paths:
        _deep_update(config, yaml.safe_load(Path(p).read_text()) or {})
    check_config(config)
    return config
