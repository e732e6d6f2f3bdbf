"""One run's settings from the config: the one place the precedence of its sections lives.

A run is one (experiment, model, seed). :func:`run_settings` gives its training
hyperparameters as one flat dict, layered, later winning:

1. :data:`RUN_DEFAULTS` — what an experiment that says nothing about weights or
   normalisation gets (unweighted loss, raw features: ``TrainSettings``' defaults);
2. ``training`` — settings shared by every model;
3. ``models.<m>`` — what the architecture needs (its ``arch``, ``options``, and the
   epochs, batch size and learning rate that suit it);
4. ``experiments.<e>`` — the keys of :data:`EXPERIMENT_TRAINING_KEYS`, the question the
   experiment asks (class weights, normalisation, ...), for every model alike;
   ``lr_scale`` then multiplies whatever learning rate the layers above gave;
5. ``experiments.<e>.overrides.<m>`` — the experiment's exception for one model (its
   ``options`` merge key by key into the model's).

Why this order: general before specific. An experiment is a change made to every model
(so it beats a model's own value), and an override, naming both, is the most specific
thing a config can say. The seed comes from ``run.seeds`` only, so repeating a run over
seeds changes nothing else. The workflow passes the dict to the train rule as ``params``,
so Snakemake reruns exactly the runs whose settings changed; :func:`setting_key` names the
key that set a value, for messages.

A key no layer sets is left out of the dict, and training uses ``TrainSettings``' default
for it (:func:`training_default`; :func:`run_value` gives a run's value either way).

An experiment's features resolve here as well: ``experiments.<e>.features`` names an entry of
``feature_sets`` (overrides of the ``features`` section, :func:`feature_settings`), or,
absent, the ``features`` section itself (:data:`~jaxaudio.features.config.DEFAULT_SET`).

The rollback ladder's experiments (``compare.ladder``) resolve here too: a rung the config
does not declare is the candidate experiment with the rung's ``changes``
(:func:`add_ladder_experiments`).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import MISSING, fields
from typing import Any, Literal, get_args

from jaxaudio.features.config import DEFAULT_SET, EMBEDDINGS, FeatureConfig
from jaxaudio.training.settings import TrainSettings

#: The keys an experiment may set for every model (``workflow/schemas/config.schema.yaml``'s
#: ``$defs.experiment`` properties but ``lr_scale`` and ``overrides``; a test checks).
EXPERIMENT_TRAINING_KEYS = (
    "class_weights",
    "normalise",
    "augment",
    "logit_adjust",
    "objective",
    "sampler",
    "focal_gamma",
    "label_smoothing",
    "lr",
    "epochs",
    "batch_size",
    "patience",
)


def training_default(key: str) -> Any:
    """``TrainSettings``' default of ``key``: what a run gets when no config layer sets it."""
    for f in fields(TrainSettings):
        if f.name == key:
            if f.default is not MISSING:
                return copy.deepcopy(f.default)
            if f.default_factory is not MISSING:
                return f.default_factory()
            raise KeyError(f"TrainSettings.{key} has no default")
    raise KeyError(f"TrainSettings has no field {key!r}")


#: The first layer of every run: in every run's dict (they name what experiments compare),
#: with ``TrainSettings``' values.
#: ``training:`` keys that lay out the jobs rather than set a run (not passed to training):
#: ``vmap_seeds``, one job training every seed of an experiment x model (rule train_seeds).
JOB_LAYOUT_KEYS = ("vmap_seeds",)

RUN_DEFAULTS: dict[str, Any] = {k: training_default(k) for k in ("class_weights", "normalise")}

#: ``compare.ladder_mode``: run the ladder's rungs when the candidate is not GO (auto), always,
#: or never.
LadderMode = Literal["auto", "always", "never"]
LADDER_MODES: tuple[str, ...] = get_args(LadderMode)


def _deep_update(base: dict[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    for k, v in update.items():
        if isinstance(v, Mapping) and isinstance(base.get(k), dict):
            _deep_update(base[k], v)
        else:
            base[k] = copy.deepcopy(v)
    return base


def run_settings(
    config: Mapping[str, Any], experiment: str, model: str, seed: int = 0
) -> dict[str, Any]:
    """Training hyperparameters of one (experiment, model, seed) run, as a plain dict.

    Layers in the order of this module's docstring; ``arch`` and ``options`` of the model
    become ``arch`` and ``model``. Keys no layer sets are left out (the training code's own
    defaults apply to them).
    """
    m = copy.deepcopy(dict(config["models"][model]))
    e = config["experiments"][experiment]
    s: dict[str, Any] = copy.deepcopy(RUN_DEFAULTS)
    s.update(copy.deepcopy(config.get("training", {})))
    for key in JOB_LAYOUT_KEYS:
        s.pop(key, None)
    s["arch"] = m.pop("arch")
    s["model"] = m.pop("options", {})
    s.update(m)
    s.update({k: copy.deepcopy(e[k]) for k in EXPERIMENT_TRAINING_KEYS if k in e})
    if "lr_scale" in e:
        s["lr"] = s.get("lr", training_default("lr")) * e["lr_scale"]
    override = copy.deepcopy(e.get("overrides", {}).get(model, {}))
    if "options" in override:
        s["model"] = _deep_update(s["model"], override.pop("options"))
    s.update(override)
    s["seed"] = int(seed)
    return s


def feature_set_of(config: Mapping[str, Any], experiment: str) -> str:
    """The feature set experiment ``experiment`` trains on (``experiments.<e>.features``)."""
    return config["experiments"][experiment].get("features") or DEFAULT_SET


#: The one key of a feature set that is not a frontend key: its offset copies per clip, in
#: place of ``offsets.copies`` (:func:`offset_settings`).
OFFSET_COPIES = "offset_copies"


def _set_overrides(config: Mapping[str, Any], name: str) -> dict[str, Any]:
    """``feature_sets.<name>`` (nothing for the default set)."""
    if name == DEFAULT_SET:
        return {}
    return copy.deepcopy(dict((config.get("feature_sets") or {})[name]))


def feature_settings(config: Mapping[str, Any], name: str = DEFAULT_SET) -> dict[str, Any]:
    """The ``features`` section with feature set ``name``'s frontend overrides
    (``feature_sets.<name>`` but :data:`OFFSET_COPIES`)."""
    s = copy.deepcopy(dict(config["features"]))
    s.update(_set_overrides(config, name))
    s.pop(OFFSET_COPIES, None)
    return s


def offset_settings(config: Mapping[str, Any], name: str = DEFAULT_SET) -> dict[str, Any]:
    """The ``offsets`` section for feature set ``name``: ``copies`` is the set's
    ``offset_copies`` where it says so. Why a set may differ: a copy costs what its clip
    costs, and for an embedding set that is a BirdNET inference per copy (4 copies of the
    715 clips of the tiny CI set: 270 s on 2 cores); 0 makes that set's experiments train
    and validate on aligned clips only."""
    s = copy.deepcopy(dict(config["offsets"]))
    own = _set_overrides(config, name)
    if OFFSET_COPIES in own:
        s["copies"] = own[OFFSET_COPIES]
    return s


#: The architectures that flatten their input (``jaxaudio/models/mlp.py``): the only ones that
#: train on an embedding feature set, which has no time-frequency map for a CNN or a ViT.
ANY_INPUT_ARCHS = frozenset({"mlp"})


def trains_on(config: Mapping[str, Any], experiment: str, model: str) -> bool:
    """Whether ``model`` of ``run.models`` is trained on ``experiment``: every pair is, but an
    experiment on an embedding feature set (``features.kind: birdnet``) pairs only with the
    models of :data:`ANY_INPUT_ARCHS`. So one run compares a head on embeddings with CNNs
    trained from scratch; the skipped pairs are no runs."""
    settings = feature_settings(config, feature_set_of(config, experiment))
    kind = settings.get("kind", FeatureConfig.kind)
    return kind not in EMBEDDINGS or config["models"][model]["arch"] in ANY_INPUT_ARCHS


def feature_sets_of(config: Mapping[str, Any], experiments: list[str]) -> list[str]:
    """The feature sets ``experiments`` train on, the default set first (the baselines, the
    class weights and the clip table read it whatever the experiments use)."""
    return list(dict.fromkeys([DEFAULT_SET, *(feature_set_of(config, e) for e in experiments)]))


def run_value(config: Mapping[str, Any], experiment: str, model: str, key: str) -> Any:
    """Setting ``key`` of a run as training uses it: :func:`run_settings`' value, else
    ``TrainSettings``' default. (The seed is the run's own, not a setting of the config.)"""
    s = run_settings(config, experiment, model)
    return s[key] if key in s else training_default(key)


def setting_key(config: Mapping[str, Any], experiment: str, model: str, key: str) -> str:
    """The config key that sets ``key`` of a run (the one precedence picks); the
    ``training.<key>`` it would go under when no layer sets it.

    For ``lr`` it is the key of the learning rate ``lr_scale`` multiplies.
    """
    e = config["experiments"][experiment]
    if key in e.get("overrides", {}).get(model, {}):
        return f"experiments.{experiment}.overrides.{model}.{key}"
    if key in e and key in EXPERIMENT_TRAINING_KEYS:
        return f"experiments.{experiment}.{key}"
    if key in config["models"][model]:
        return f"models.{model}.{key}"
    return f"training.{key}"


def ladder_names(config: Mapping[str, Any]) -> list[str]:
    """The experiments the rungs of ``compare.ladder`` name, in ladder order."""
    return [step.get("experiment") for step in (config.get("compare") or {}).get("ladder") or []]


def add_ladder_experiments(
    config: dict[str, Any], sources: dict[tuple[str, ...], str] | None = None
) -> list[str]:
    """Declare the rollback ladder's experiments the config does not declare itself.

    Each rung of ``compare.ladder`` names an experiment; when ``experiments:`` has no entry
    of that name, it is the candidate experiment with the rung's ``changes`` applied (keys
    replaced), so a user's config needs none of them and the rungs follow whatever the
    candidate is. ``sources`` (``jaxaudio.config.load.merge_layers``') records where each came
    from. Returns the rung experiments' names in ladder order.
    """
    compare, experiments = config.get("compare") or {}, config.get("experiments") or {}
    candidate = experiments.get(compare.get("candidate"))
    for i, (step, name) in enumerate(zip(compare.get("ladder") or [], ladder_names(config))):
        if name not in experiments and isinstance(candidate, Mapping):
            changes = copy.deepcopy(dict(step.get("changes") or {}))
            experiments[name] = {**copy.deepcopy(dict(candidate)), **changes}
            if sources is not None:
                sources[("experiments", str(name))] = (
                    f"compare.ladder.{i} (the candidate with its changes)"
                )
    return ladder_names(config)
