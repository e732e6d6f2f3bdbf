"""Every choice list of the schema (``enum:``) is one Python Literal or table, in the module
that acts on the choice, and the two hold the same values."""

from typing import get_args

import pytest

from jaxaudio.baselines.logreg import CLASS_WEIGHTS
from jaxaudio.config import load, resolve
from jaxaudio.config.load import SCHEMA_PATH, read_yaml
from jaxaudio.data.manifest import SPLITS, TOO_FEW_CLIPS
from jaxaudio.data.synthetic import PRESETS
from jaxaudio.features.config import BACKENDS, CROPS, DB_REFERENCES, KINDS
from jaxaudio.features.stats import NORM_MODES
from jaxaudio.models import cnn, vit
from jaxaudio.models.registry import ARCHITECTURES
from jaxaudio.stages.scoring import CALIBRATIONS
from jaxaudio.training import settings, weights

SCHEMA = read_yaml(SCHEMA_PATH)

#: Where each ``enum`` of the schema sits (a path into the schema), and its Python values.
CHOICES = {
    "$defs/weight_method": weights.EXPERIMENT_CHOICES,
    "$defs/normalise/anyOf/1": NORM_MODES,
    "$defs/training_keys/properties/optimizer": get_args(settings.Optimizer),
    "$defs/training_keys/properties/schedule": get_args(settings.Schedule),
    "$defs/training_keys/properties/compute_dtype": get_args(settings.ComputeDtype),
    "$defs/training_keys/properties/objective": get_args(settings.Objective),
    "$defs/experiment/properties/objective": get_args(settings.Objective),
    "$defs/training_keys/properties/sampler": get_args(settings.Sampler),
    "$defs/experiment/properties/sampler": get_args(settings.Sampler),
    # either model's
    "$defs/model_options/properties/pool": tuple(dict.fromkeys((*cnn.POOLS, *vit.POOLS))),
    "properties/data/properties/source": load.DATA_SOURCES,
    "properties/data/properties/too_few_clips": TOO_FEW_CLIPS,
    "properties/data/properties/synthetic/properties/preset": tuple(PRESETS),
    "properties/features/properties/crop": CROPS,
    "$defs/frontend_keys/properties/backend": BACKENDS,
    "$defs/frontend_keys/properties/kind": KINDS,
    "$defs/frontend_keys/properties/db_reference": DB_REFERENCES,
    "properties/class_weights/properties/recommended": weights.RECOMMENDATIONS,
    "properties/models/additionalProperties/properties/arch": tuple(ARCHITECTURES),
    "properties/baselines/additionalProperties/properties/class_weight": tuple(CLASS_WEIGHTS),
    "properties/compare/properties/ladder_mode": resolve.LADDER_MODES,
    "properties/evaluation/properties/calibration": CALIBRATIONS,
    "properties/offsets/properties/level_splits/items": SPLITS,
}
#: Enums without a Python list to compare with, and why.
WITHOUT_PYTHON_LIST = {
    # Checked inline by jaxaudio.features.cache.build_feature_cache: ("error", "skip").
    "properties/data/properties/on_bad_file",
}


def enums(node, path=()):
    """``path -> enum`` of every ``enum:`` in the schema."""
    if isinstance(node, dict):
        if "enum" in node:
            yield "/".join(path), node["enum"]
        for k, v in node.items():
            yield from enums(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from enums(v, (*path, str(i)))


SCHEMA_ENUMS = dict(enums(SCHEMA))


def test_every_schema_enum_has_its_python_list():
    assert set(SCHEMA_ENUMS) == set(CHOICES) | WITHOUT_PYTHON_LIST


@pytest.mark.parametrize("where", sorted(CHOICES))
def test_schema_enum_equals_the_python_choices(where):
    python = CHOICES[where]
    assert len(set(python)) == len(python), f"{where}: duplicates in {python}"
    assert sorted(SCHEMA_ENUMS[where]) == sorted(set(python))


def test_experiment_training_keys_are_the_schemas_experiment_keys():
    """What an experiment may set for every model: its schema keys but the three that are not
    training settings (``lr_scale`` scales one, ``overrides`` holds per-model ones,
    ``features`` names the feature set its inputs come from)."""
    keys = set(SCHEMA["$defs"]["experiment"]["properties"]) - {"lr_scale", "overrides", "features"}
    assert set(resolve.EXPERIMENT_TRAINING_KEYS) == keys
    assert len(resolve.EXPERIMENT_TRAINING_KEYS) == len(keys)
