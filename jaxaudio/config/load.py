"""Workflow configuration: read, merged and checked before any work, with one-line errors.

The JSON schema (``workflow/schemas/config.schema.yaml``) checks types, ranges and names
of every key; :func:`check_config` adds the checks a schema cannot express (references
between sections, files that must exist, feature settings librosa would reject). Each
failure is a :class:`ConfigError` whose message starts with the config key at fault.
What one run's settings are (the precedence of ``training``, ``models``, ``experiments``
and ``overrides``) is :mod:`jaxaudio.config.resolve`'s.

Config files are merged by :func:`merge_layers` (the workflow and the CLI alike): mappings
merge key by key, any other value replaces, and an **empty mapping replaces** — so
``baselines: {}`` or ``predict: {}`` in an overlay means "none", as config/README.md says,
instead of merging into the defaults and changing nothing (Snakemake's own merge). The file
that set each key is remembered, and errors name it. Files are read by :func:`read_yaml`,
which also reads ``1e-3`` as a number (PyYAML follows YAML 1.1 and reads it as text).

Imports nothing heavier than PyYAML, jsonschema and pandas (which Snakemake loads anyway):
the workflow checks a config and builds its DAG without librosa or JAX.
"""

from __future__ import annotations

import copy
import glob
import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, get_args

import jsonschema
import pandas as pd
import yaml

from jaxaudio.config.resolve import (
    add_ladder_experiments,
    feature_set_of,
    feature_settings,
    run_settings,
    run_value,
    setting_key,
    trains_on,
)
from jaxaudio.data.background_set import BackgroundSettings
from jaxaudio.data.files import audio_inputs
from jaxaudio.data.manifest import ManifestError, check_manifest, resolve_manifest
from jaxaudio.data.open_set import OpenSetError, OpenSetSettings
from jaxaudio.features.config import CLIP_KEYS, DEFAULT_SET, FeatureConfig

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"
# The workflow's defaults, which the CLI (like Snakemake) merges user config files on top of.
DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "config" / "config.yaml"

#: ``data.source``: the embedded synthetic set, ``data.manifest`` or ``data.folder``.
DataSource = Literal["synthetic", "manifest", "folder"]
DATA_SOURCES: tuple[str, ...] = get_args(DataSource)

# What the checks take for optional keys a config leaves out: config/config.yaml's values
# (tests/unit/config/test_defaults.py checks they agree).
STRICT_DEFAULT = False
BUNDLE_BEST_DEFAULT = True
SEEDS_DEFAULT = (0,)
#: AudioViT's constructor defaults that the checks need when a model's options leave them
#: out (jaxaudio.models.vit imports JAX; test_defaults.py checks they agree).
VIT_DEFAULTS: dict[str, Any] = {"patch": (8, 4), "dim": 64, "heads": 4, "stem": ()}

log = logging.getLogger("jaxaudio.config.load")

#: A layer's name for values given on Snakemake's command line (``--config key=value``).
COMMAND_LINE = "--config"

# YAML 1.2 floats, which include ``1e-3`` and ``5E+2`` (YAML 1.1 needs a dot: ``1.0e-3``).
_FLOAT = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)


class _ConfigLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that reads YAML 1.2 floats such as ``1e-3`` as numbers."""


_ConfigLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:float"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_ConfigLoader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))


class ConfigError(ValueError):
    """A configuration value that cannot work; the message names the key (and its file)."""


def _key(path: Any) -> str:
    return ".".join(str(p) for p in path) or "(top level)"


def read_yaml(path: str | Path) -> dict[str, Any]:
    """One config file as a dict (empty file: ``{}``); ``1e-3`` is read as a number."""
    try:
        data = yaml.load(Path(path).read_text(), Loader=_ConfigLoader)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})".replace("\n", " ")) from exc
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"{path}: a config file must be a mapping of keys, not {type(data).__name__}"
        )
    return dict(data)


Sources = dict[tuple[str, ...], str]


def merge_layers(layers: Sequence[tuple[str, Mapping[str, Any]]]) -> tuple[dict[str, Any], Sources]:
    """Merge config layers ``(name, mapping)`` left to right; later layers win.

    Mappings merge key by key; any other value (lists included) replaces; an empty mapping
    replaces too, so ``{}`` means "none". Returns the merged config and, for every key a
    layer set, the name of the last layer that set it (for error messages).
    """
    config: dict[str, Any] = {}
    sources: Sources = {}

    def record(value: Any, name: str, path: tuple[str, ...]) -> None:
        sources[path] = name
        if isinstance(value, Mapping):
            for k, v in value.items():
                record(v, name, (*path, str(k)))

    def update(
        base: dict[str, Any], new: Mapping[str, Any], name: str, prefix: tuple[str, ...]
    ) -> None:
        for k, v in new.items():
            path = (*prefix, str(k))
            if isinstance(v, Mapping) and v and isinstance(base.get(k), dict):
                update(base[k], v, name, path)
                continue
            base[k] = copy.deepcopy(dict(v) if isinstance(v, Mapping) else v)
            for stale in [p for p in sources if p[: len(path)] == path]:
                del sources[stale]
            record(v, name, path)

    for name, layer in layers:
        update(config, layer, name, ())
    return config, sources


def source_of(key: str, sources: Sources) -> str | None:
    """The layer that set config key ``key`` (dotted, as in error messages), or None."""
    parts = tuple(key.split("."))
    for n in range(len(parts), 0, -1):
        if parts[:n] in sources:
            return sources[parts[:n]]
    return None


@contextmanager
def _naming_sources(sources: Sources | None) -> Iterator[None]:
    """Re-raise a :class:`ConfigError` with the file that set its key named (:func:`_with_source`)."""
    try:
        yield
    except ConfigError as exc:
        raise (_with_source(exc, sources) if sources else exc) from exc.__cause__


def _with_source(exc: ConfigError, sources: Sources) -> ConfigError:
    """``exc`` with the file that set its key named: ``config key K (in FILE): ...``."""
    msg = str(exc)
    m = re.match(r"config key ([^\s:]+)", msg)
    where = source_of(m[1], sources) if m else None
    if where is None:
        return exc
    return ConfigError(f"{msg[: m.end()]} (in {where}){msg[m.end() :]}")


def validate_schema(config: Mapping[str, Any], schema_path: str | Path = SCHEMA_PATH) -> None:
    """Validate against the JSON schema; raise the most relevant error as one line."""
    schema = yaml.safe_load(Path(schema_path).read_text())
    validator = jsonschema.Draft202012Validator(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(config))
    if error is not None:
        key = _key(error.absolute_path)
        if error.validator in ("additionalProperties", "unevaluatedProperties"):
            raise ConfigError(f"config key {key}: {error.message}")
        hint = ""
        if (
            error.validator == "type"
            and isinstance(error.instance, str)
            and _FLOAT.match(error.instance.strip())
        ):
            hint = f"; YAML 1.1 reads {error.instance!r} as text: write it with a dot, e.g. 1.0e-3, or as 0.001"
        raise ConfigError(f"config key {key}: {error.message} (value {error.instance!r}){hint}")


def check_config(
    config: Mapping[str, Any],
    schema_path: str | Path = SCHEMA_PATH,
    sources: Sources | None = None,
    dataset: bool = True,
) -> list[str]:
    """Every check that can run before any work starts; returns the warnings to show.

    Schema, references between sections, paths, feature settings; with ``dataset`` also
    the data set as the manifest or folder describes it (:func:`check_dataset`). Errors
    name the key and, given ``sources`` (from :func:`merge_layers`), the file that set it.
    """
    with _naming_sources(sources):
        _check_settings(
            config, schema_path, manifest_table=not dataset
        )  # check_dataset reads the manifest itself
        return check_dataset(config) if dataset else []


def finish_config(config: dict[str, Any], **checks: Any) -> list[str]:
    """Check what the user wrote, add the ladder's derived experiments, then every check.

    ``checks`` are :func:`check_config`'s keywords (``schema_path``, ``sources``,
    ``dataset``), with its defaults. The schema sees the config before
    :func:`add_ladder_experiments`, so a bad key in the candidate is reported where the user
    wrote it, not in a rung copied from it. Returns the warnings of :func:`check_config`.
    """
    sources = checks.get("sources")
    with _naming_sources(sources):
        validate_schema(config, checks.get("schema_path", SCHEMA_PATH))
    add_ladder_experiments(config, sources)
    return check_config(config, **checks)


def check_dataset(config: Mapping[str, Any]) -> list[str]:
    """The data set as the manifest or folder describes it, checked before any decoding.

    Resolves it as the manifest step will (missing files, species under
    ``min_clips_per_species``, the seeded split) and rejects what would otherwise only fail
    after features and training: fewer than 2 species, an empty validation or test split.
    Returns warnings (species with no validation or test clip; a batch larger than the
    training split, which silently becomes full-batch training); with ``strict: true`` a
    warning is an error. The embedded synthetic set is known to pass and is not checked.
    """
    data = config["data"]
    if data["source"] == "synthetic":
        return []
    key, source, split = f"data.{data['source']}", data[data["source"]], data["split"]
    background = BackgroundSettings.from_config(data.get("background"))
    try:
        df, species = resolve_manifest(
            source,
            split["seed"],
            split["val_fraction"],
            split["test_fraction"],
            data["min_clips_per_species"],
            data["too_few_clips"],
            background_label=background.label if background else None,
            open_set=config["evaluation"].get("open_set"),
        )
    except OpenSetError as exc:  # its message starts with its own key
        raise ConfigError(f"config key {exc}") from exc
    except ManifestError as exc:
        raise ConfigError(f"config key {key}: {exc}") from exc
    if len(species) < 2:
        held = df.attrs.get("held_out", [])
        raise ConfigError(
            f"config key {key}: {source}: {len(species)} species ({', '.join(species)}) after "
            f"data.min_clips_per_species={data['min_clips_per_species']}"
            + (f" and evaluation.open_set (held out: {', '.join(held)})" if held else "")
            + ": a classifier needs at least 2"
        )
    species_rows = ~(df["background"] | df["unknown"])
    counts = df[species_rows].groupby(["species", "split"]).size().unstack(fill_value=0)
    _check_splits_not_empty(key, source, split, df, species, counts)
    warnings = _missing_split_warnings(source, species, counts) + _batch_warnings(
        config, int(counts["train"].sum())
    )
    if warnings and config.get("strict", STRICT_DEFAULT):
        raise ConfigError(f"{warnings[0]} (config key strict: true makes this an error)")
    return warnings


def _check_splits_not_empty(
    key: str,
    source: str,
    split: Mapping[str, Any],
    df: pd.DataFrame,
    species: list[str],
    counts: pd.DataFrame,
) -> None:
    """Training and evaluation need a validation and a test clip; say how to get them."""
    given = "split" in pd.read_csv(source, nrows=0).columns if Path(source).is_file() else False
    for name, fraction in (("val", "val_fraction"), ("test", "test_fraction")):
        if name not in counts.columns or counts[name].sum() == 0:
            fix = (
                "give some rows that split"
                if given
                else f"raise data.split.{fraction} (now {split[fraction]})"
            )
            raise ConfigError(
                f"config key {key}: {source}: the {name} split is empty ({len(df)} clips, "
                f"{len(species)} species): training and evaluation need it; {fix}"
            )


def _missing_split_warnings(source: str, species: list[str], counts: pd.DataFrame) -> list[str]:
    """One warning per split (val, test) that some species have no clip in."""
    warnings = []
    for name in ("val", "test"):
        missing = [
            f"{sp} ({counts.loc[sp].sum()} clips)" for sp in species if counts.loc[sp, name] == 0
        ]
        if missing:
            warnings.append(
                f"{source}: {len(missing)} of {len(species)} species have no {name} clip and are "
                f"not scored there: {', '.join(missing[:10])}{' ...' if len(missing) > 10 else ''}"
            )
    return warnings


def _batch_warnings(config: Mapping[str, Any], n_train: int) -> list[str]:
    """A warning per run whose batch is larger than the ``n_train`` training clips."""
    warnings = []
    for exp, model in _runs(config):
        b = run_value(config, exp, model, "batch_size")
        if b > n_train:
            warnings.append(
                f"config key {setting_key(config, exp, model, 'batch_size')}: batch_size {b} is "
                f"larger than the training split ({n_train} clips) of run {exp}/{model}: every "
                f"epoch is one full batch of {n_train}, {n_train} clips per update instead of {b}"
            )
    return warnings


def _check_settings(
    config: Mapping[str, Any], schema_path: str | Path = SCHEMA_PATH, manifest_table: bool = True
) -> None:
    """Schema, references between sections, paths, feature and model settings; with
    ``manifest_table`` also the manifest's structure (without it :func:`check_dataset` does that)."""
    _check_feature_set_keys(config)  # before the schema, whose message would not say why
    validate_schema(config, schema_path)
    open_set = _check_open_set(config["evaluation"])
    _check_data_source(config["data"], manifest_table, open_set.species if open_set else [])
    _check_background(config["data"])
    _check_run_names(config)
    feature_sets = _check_feature_sets(config)  # before the checks of which pairs train
    _check_bundles(config)
    _check_predict(config)
    _check_compare(config)
    _check_model_options(config, feature_sets)
    _check_embedding_runs(config, feature_sets)
    _check_softmax_only(config)


def _check_background(data: Mapping[str, Any]) -> None:
    """``data.background.paths``: every file and folder there, folders holding audio;
    ``data.background.decoys`` not with the embedded synthetic data set (its species are
    calls of the decoys' families, :mod:`jaxaudio.data.decoys`)."""
    bg = data.get("background")
    if isinstance(bg, Mapping) and bg.get("decoys", 0) > 0 and data["source"] == "synthetic":
        raise ConfigError(
            "config key data.background.decoys: decoy calls are drawn from the call families of "
            "the embedded synthetic data set (data.source: synthetic), so a decoy may be one of "
            "its species; use decoys with your own recordings (data.source: manifest or folder)"
        )
    for i, path in enumerate(bg.get("paths", []) if isinstance(bg, Mapping) else []):
        try:
            audio_inputs([path])
        except (OSError, ValueError) as exc:
            raise ConfigError(f"config key data.background.paths.{i}: {exc}") from exc


def _check_open_set(evaluation: Mapping[str, Any]) -> OpenSetSettings | None:
    """``evaluation.open_set``'s own checks (those against the data are :func:`check_dataset`'s)."""
    try:
        return OpenSetSettings.from_config(evaluation.get("open_set"))
    except OpenSetError as exc:
        raise ConfigError(f"config key {exc}") from exc


def _check_data_source(
    data: Mapping[str, Any], manifest_table: bool, held_out: Sequence[str] = ()
) -> None:
    """``data.folder`` / ``data.manifest``: given and there when the source names it (the
    species ``held_out`` by name need no training row)."""
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
        if manifest_table:
            try:
                check_manifest(manifest, held_out)
            except ManifestError as exc:
                raise ConfigError(f"config key data.manifest: {exc}") from exc


def _check_run_names(config: Mapping[str, Any]) -> None:
    """``run`` and ``overrides`` name only declared experiments and models."""
    for i, name in enumerate(config["run"]["experiments"]):
        if name not in config["experiments"]:
            raise ConfigError(
                f"config key run.experiments.{i}: unknown experiment {name!r}; declared: {sorted(config['experiments'])}"
            )
    for i, name in enumerate(config["run"]["models"]):
        if name not in config["models"]:
            raise ConfigError(
                f"config key run.models.{i}: unknown model {name!r}; declared: {sorted(config['models'])}"
            )
    for exp, e in config["experiments"].items():
        for model in e.get("overrides", {}):
            if model not in config["models"]:
                raise ConfigError(
                    f"config key experiments.{exp}.overrides.{model}: unknown model {model!r}"
                )


def _bundle_key(b: Mapping[str, Any]) -> tuple[str, str, Any]:
    """A ``bundles`` entry as (experiment, model, seed), ``"ensemble"`` for a seed ensemble's."""
    return b["experiment"], b["model"], "ensemble" if b.get("ensemble") else b["seed"]


def _check_bundles(config: Mapping[str, Any]) -> None:
    """Each of ``bundles`` is one of the runs, or the seed ensemble of an experiment x model
    that runs several seeds."""
    seeds = config["run"].get("seeds", SEEDS_DEFAULT)
    for i, b in enumerate(config.get("bundles") or []):
        if b.get("ensemble") and len(seeds) < 2:
            raise ConfigError(
                f"config key bundles.{i}.ensemble: a seed ensemble needs 2 or more run.seeds "
                f"(run.seeds is {list(seeds)})"
            )
        for key, pool in (
            ("experiment", config["run"]["experiments"]),
            ("model", config["run"]["models"]),
            ("seed", seeds),
        ):
            if key in b and b[key] not in pool:
                raise ConfigError(
                    f"config key bundles.{i}.{key}: {b[key]!r} is not one of the runs' {key}s {list(pool)}"
                )
        if not trains_on(config, b["experiment"], b["model"]):
            raise ConfigError(
                f"config key bundles.{i}: model {b['model']} is not trained on experiment "
                f"{b['experiment']} (an embedding feature set trains only mlp models)"
            )


def _check_predict(config: Mapping[str, Any]) -> None:
    """Each ``predict`` job names a bundle the run writes and audio that is there."""
    bundles = [_bundle_key(b) for b in config.get("bundles") or []]
    for name, job in (config.get("predict") or {}).items():
        b = job["bundle"]
        if b == "best":
            if not config.get("bundle_best", BUNDLE_BEST_DEFAULT):
                raise ConfigError(
                    f"config key predict.{name}.bundle: 'best' needs bundle_best: true"
                )
        elif _bundle_key(b) not in bundles:
            raise ConfigError(
                f"config key predict.{name}.bundle: {b} is not one of the bundles the run writes "
                f"(config key bundles: {config.get('bundles') or []})"
            )
        try:  # before any training: an empty folder found after hours of work would waste them
            audio_inputs(job["audio"])
        except (FileNotFoundError, ValueError) as exc:
            raise ConfigError(f"config key predict.{name}.audio: {exc}") from exc


def _check_compare(config: Mapping[str, Any]) -> None:
    """The comparison's baseline and candidate are experiments the run trains, for every model
    (each model's decision compares the two)."""
    for key in ("baseline", "candidate"):
        name = config["compare"][key]
        if name not in config["run"]["experiments"]:
            raise ConfigError(
                f"config key compare.{key}: experiment {name!r} is not in run.experiments"
            )
        skipped = [m for m in config["run"]["models"] if not trains_on(config, name, m)]
        if skipped:
            raise ConfigError(
                f"config key compare.{key}: experiment {name!r} trains on an embedding feature "
                f"set, which models {skipped} (a CNN or ViT) cannot take, so they would have no "
                f"{key}; make another experiment the {key}, or run only mlp models"
            )


def _runs(config: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """The (experiment, model) pairs of ``run`` that train (``resolve.trains_on``)."""
    for exp in config["run"]["experiments"]:
        for model in config["run"]["models"]:
            if trains_on(config, exp, model):
                yield exp, model


#: Augmentations that move or mask along the time or frequency axis: none applies to an
#: embedding (one vector per clip); mixup does.
AXIS_AUGMENTS = ("time_shift", "freq_masks", "time_masks")


def _check_embedding_runs(
    config: Mapping[str, Any], feature_sets: dict[str, FeatureConfig]
) -> None:
    """A run on an embedding feature set augments without moving or masking axes."""
    for exp, model in _runs(config):
        if not feature_sets[feature_set_of(config, exp)].embedding:
            continue
        augment = run_value(config, exp, model, "augment") or {}
        for name in AXIS_AUGMENTS:
            if augment.get(name):
                raise ConfigError(
                    f"config key {setting_key(config, exp, model, 'augment')}.{name}: experiment "
                    f"{exp} trains on an embedding (one vector per clip, no time or frequency "
                    "axis to shift or mask); only mixup_alpha applies"
                )


def _check_features(features: Mapping[str, Any], key: str = "features") -> FeatureConfig:
    """The feature settings, as ``FeatureConfig`` checks them; ``key`` names them in errors."""
    try:
        cfg = FeatureConfig.from_dict(dict(features))
        cfg.check(key)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    return cfg


def _check_feature_set_keys(config: Mapping[str, Any]) -> None:
    """No feature set changes a key that decides the clips (:data:`CLIP_KEYS`)."""
    for name, overrides in (config.get("feature_sets") or {}).items():
        clip_keys = [k for k in overrides or {} if k in CLIP_KEYS]
        if clip_keys:
            raise ConfigError(
                f"config key feature_sets.{name}.{clip_keys[0]}: a feature set may not change "
                f"{', '.join(CLIP_KEYS)} (they decide the clips, which every set shares); set "
                "it in features"
            )


def _check_feature_sets(config: Mapping[str, Any]) -> dict[str, FeatureConfig]:
    """Every feature set as ``FeatureConfig`` checks it (a set's error names
    ``feature_sets.<name>``), and every experiment's ``features`` names one, by set name."""
    checked = {DEFAULT_SET: _check_features(config["features"])}
    for name in config.get("feature_sets") or {}:
        checked[name] = _check_features(feature_settings(config, name), f"feature_sets.{name}")
    for exp, e in config["experiments"].items():
        if e.get("features", DEFAULT_SET) not in checked:
            raise ConfigError(
                f"config key experiments.{exp}.features: unknown feature set {e['features']!r}; "
                f"declared: {sorted(checked)} (feature_sets)"
            )
    return checked


def _check_model_options(config: Mapping[str, Any], feature_sets: dict[str, FeatureConfig]) -> None:
    """Every run's ViT fits its patches in its feature map and splits ``dim`` over its heads."""
    for exp, model in _runs(config):
        features = feature_sets[feature_set_of(config, exp)]
        s = run_settings(config, exp, model)
        if s["arch"] != "vit":
            continue
        pf, pt = s["model"].get("patch", VIT_DEFAULTS["patch"])
        stem = s["model"].get("stem", VIT_DEFAULTS["stem"])
        rows, frames = features.n_bins >> len(stem), features.n_frames >> len(stem)
        if pf > rows or pt > frames:
            after = f", after the {len(stem)} pooling blocks of options.stem" if stem else ""
            raise ConfigError(
                f"config key models.{model}.options.patch: patch ({pf}, {pt}) is larger than the "
                f"feature map of experiment {exp} ({rows} rows x {frames} frames{after})"
            )
        dim, heads = (
            s["model"].get("dim", VIT_DEFAULTS["dim"]),
            s["model"].get("heads", VIT_DEFAULTS["heads"]),
        )
        if dim % heads:
            raise ConfigError(
                f"config key models.{model}.options.dim: {dim} is not divisible by heads={heads}"
            )


#: Settings of the softmax objective only, and their off value.
SOFTMAX_ONLY = {"sampler": "uniform", "focal_gamma": 0, "label_smoothing": 0}


def _check_softmax_only(config: Mapping[str, Any]) -> None:
    """No sigmoid run sets a loss or sampler that needs one class per clip."""
    for exp in config["experiments"]:
        for model in config["run"]["models"]:
            if run_value(config, exp, model, "objective") != "sigmoid" or not trains_on(
                config, exp, model
            ):
                continue
            for key, off in SOFTMAX_ONLY.items():
                if run_value(config, exp, model, key) != off:
                    raise ConfigError(
                        f"config key {setting_key(config, exp, model, key)}: needs one class per "
                        f"clip (training.objective: softmax); experiment {exp} is sigmoid"
                    )


def local_gpus() -> int:
    """NVIDIA GPUs on this machine, counted from their device files (``/dev/nvidia0`` ...).

    The workflow asks for a ``gpu`` resource per training job only where there are GPUs;
    counting device files needs no CUDA library and takes microseconds at DAG build.
    """
    return len(glob.glob("/dev/nvidia[0-9]*"))


def _shown(path: str | Path) -> str:
    """``path`` relative to the working directory when it is under it (shorter messages)."""
    p = Path(path).absolute()
    try:
        return str(p.relative_to(Path.cwd()))
    except ValueError:
        return str(p)


def merge_config_files(
    paths: Sequence[str | Path], command_line: Mapping[str, Any] | None = None
) -> tuple[dict[str, Any], Sources]:
    """Config files merged left to right by :func:`merge_layers`, then ``command_line``."""
    layers = [(_shown(p), read_yaml(p)) for p in paths]
    if command_line:
        layers.append((COMMAND_LINE, dict(command_line)))
    return merge_layers(layers)


def load_config(*paths: str | Path) -> dict[str, Any]:
    """Merge YAML files left to right (the workflow's merge rules) and check; warnings logged."""
    config, sources = merge_config_files(paths)
    for warning in finish_config(config, sources=sources):
        log.warning("%s", warning)
    return config
