"""Each default lives once: where Python code keeps a default that config/config.yaml also
sets, the two agree (a value changed in one place only would make the workflow and a
direct call, a test or a benchmark, silently differ)."""

import inspect
from dataclasses import MISSING, asdict, fields

import pytest

from jaxaudio.config import load
from jaxaudio.config.load import DEFAULT_CONFIG, SCHEMA_PATH, read_yaml
from jaxaudio.config.resolve import JOB_LAYOUT_KEYS, RUN_DEFAULTS, training_default
from jaxaudio.data.manifest import resolve_manifest
from jaxaudio.data.open_set import OpenSetSettings
from jaxaudio.data.splits import assign_splits
from jaxaudio.data.synthetic import synthesize
from jaxaudio.evaluation.bootstrap import paired_bootstrap
from jaxaudio.evaluation.compare import compare_runs
from jaxaudio.evaluation.decision import DEFAULT_THRESHOLDS
from jaxaudio.evaluation.metrics import evaluate_predictions
from jaxaudio.features.config import FeatureConfig
from jaxaudio.features.offsets import OffsetSettings
from jaxaudio.models.cnn import AudioCNN
from jaxaudio.models.registry import ARCHITECTURES
from jaxaudio.models.vit import AudioViT
from jaxaudio.training import weights
from jaxaudio.training.augment import AugmentSettings
from jaxaudio.training.settings import TrainSettings

YAML = read_yaml(DEFAULT_CONFIG)
SCHEMA = read_yaml(SCHEMA_PATH)


def signature_defaults(fn) -> dict:
    """Parameter -> default of ``fn``; sequences as lists, as YAML reads them."""
    out = {}
    for name, p in inspect.signature(fn).parameters.items():
        if p.default is not p.empty:
            out[name] = list(p.default) if isinstance(p.default, tuple) else p.default
    return out


def dataclass_defaults(cls) -> dict:
    return {f.name: f.default for f in fields(cls) if f.default is not MISSING}


def test_feature_config_defaults_are_the_features_section():
    assert FeatureConfig().to_dict() == YAML["features"]


def test_offset_settings_defaults_are_the_offsets_section():
    assert asdict(OffsetSettings()) == YAML["offsets"]


@pytest.mark.parametrize("arch, cls", [("cnn", AudioCNN), ("vit", AudioViT)])
def test_model_constructor_defaults_are_the_models_options(arch, cls):
    """Every option config.yaml gives the model is the constructor's default (``pool`` of the
    CNN, which config.yaml leaves out, has its only default in the constructor)."""
    options = YAML["models"][arch]["options"]
    assert YAML["models"][arch]["arch"] == arch
    given = signature_defaults(cls.__init__)
    assert {k: given[k] for k in options} == options


def test_model_options_of_the_schema_are_the_constructors_arguments():
    fixed = {"self", "n_classes", "input_shape", "rngs"}  # not options
    taken = set()
    for cls in ARCHITECTURES.values():
        taken |= set(inspect.signature(cls.__init__).parameters) - fixed
    assert set(SCHEMA["$defs"]["model_options"]["properties"]) == taken


def test_the_checks_assume_the_vits_defaults():
    """jaxaudio.config.load checks ViT patches and heads without importing JAX."""
    vit = signature_defaults(AudioViT.__init__)
    assert {k: list(v) if isinstance(v, tuple) else v for k, v in load.VIT_DEFAULTS.items()} == {
        k: vit[k] for k in load.VIT_DEFAULTS
    }


def test_augment_settings_are_the_schemas_and_off_by_default():
    schema = SCHEMA["$defs"]["augment"]["properties"]
    assert {f.name for f in fields(AugmentSettings)} == set(schema)
    assert AugmentSettings.from_dict(YAML["training"]["augment"]) == AugmentSettings()
    assert not AugmentSettings().active


def test_decision_thresholds_are_compare_thresholds():
    assert YAML["compare"]["thresholds"] == DEFAULT_THRESHOLDS
    schema = SCHEMA["properties"]["compare"]["properties"]["thresholds"]["properties"]
    assert set(schema) == set(DEFAULT_THRESHOLDS)


def test_class_weight_defaults_are_the_class_weights_section():
    cw = YAML["class_weights"]
    d = signature_defaults(weights.compute_class_weights)
    assert (d["beta"], d["recommended"]) == (cw["effective_beta"], cw["recommended"])
    assert signature_defaults(weights.recommend)["rule"] == cw["recommended"]


def test_manifest_defaults_are_the_data_section():
    d, data = signature_defaults(resolve_manifest), YAML["data"]
    assert {k: d[k] for k in ("seed", "val_fraction", "test_fraction")} == data["split"]
    assert d["min_clips_per_species"] == data["min_clips_per_species"]
    assert d["too_few_clips"] == data["too_few_clips"]


def test_split_defaults_are_data_split():
    d = signature_defaults(assign_splits)
    assert {k: d[k] for k in ("seed", "val_fraction", "test_fraction")} == YAML["data"]["split"]


def test_synthetic_defaults_are_data_synthetic():
    d = signature_defaults(synthesize)
    assert {"preset": d["preset"], "seed": d["seed"]} == YAML["data"]["synthetic"]


def test_evaluation_and_comparison_defaults_are_the_configs():
    ev, cmp = YAML["evaluation"], YAML["compare"]
    d = signature_defaults(evaluate_predictions)
    assert (d["rare_quantile"], d["top_k"]) == (ev["rare_quantile"], ev["top_k"])
    for fn in (compare_runs, paired_bootstrap):
        d = signature_defaults(fn)
        assert d["confidence"] == cmp["confidence"], fn.__name__
        assert d["n_resamples"] == cmp["bootstrap"], fn.__name__


def test_optional_top_level_keys_default_as_config_yaml_sets_them():
    """What the checks assume for ``strict``, ``bundle_best`` and ``run.seeds`` when a config
    leaves them out."""
    assert load.STRICT_DEFAULT is YAML["strict"] is False
    assert load.BUNDLE_BEST_DEFAULT is YAML["bundle_best"] is True
    assert list(load.SEEDS_DEFAULT) == YAML["run"]["seeds"]


def test_train_settings_defaults_are_the_configs():
    """``training:`` keys as there; ``epochs``, ``batch_size`` and ``lr``, which config.yaml
    sets per model, as the ``cnn`` model's (TrainSettings' stated contract: a partial dict
    trains as the shipped cnn would). Keys config.yaml never sets (``seed``,
    ``logit_adjust``, ``class_weights``, ``normalise``) have their only default there."""
    py = dataclass_defaults(TrainSettings)
    factories = [f for f in fields(TrainSettings) if f.default_factory is not MISSING]
    py |= {f.name: f.default_factory() for f in factories}
    # the job-layout keys (vmap_seeds) are not settings of a run
    training = {k: v for k, v in YAML["training"].items() if k not in JOB_LAYOUT_KEYS}
    assert not set(JOB_LAYOUT_KEYS) & set(py)
    for key, value in training.items():
        assert py[key] == value, f"TrainSettings.{key}: {py[key]!r}, training.{key}: {value!r}"
    cnn = YAML["models"]["cnn"]
    for key in ("epochs", "batch_size", "lr"):
        assert key not in training
        assert py.get(key, cnn[key]) == cnn[key], f"TrainSettings.{key}, models.cnn.{key}"


def test_run_defaults_are_train_settings():
    """The first layer of every run is TrainSettings' (by construction); its values are in
    every run's params, so changing them reruns every training job."""
    assert RUN_DEFAULTS == {"class_weights": "none", "normalise": False}
    assert training_default("augment") == {} and training_default("epochs") == TrainSettings.epochs


def test_open_set_is_off_by_default_and_its_keys_are_the_schemas():
    """``evaluation.open_set``: null in config.yaml and in resolve_manifest; the schema's keys
    are OpenSetSettings' fields."""
    assert YAML["evaluation"]["open_set"] is None
    assert signature_defaults(resolve_manifest)["open_set"] is None
    schema = SCHEMA["properties"]["evaluation"]["properties"]["open_set"]["oneOf"][1]
    assert set(schema["properties"]) == {f.name for f in fields(OpenSetSettings)}
