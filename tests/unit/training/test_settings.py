"""TrainSettings: its defaults are the shipped config's, its choices the schema's
(:mod:`jaxaudio.training.settings`)."""

from dataclasses import fields
from pathlib import Path
from typing import get_args

import pytest
import yaml

from jaxaudio.features.stats import NormMode
from jaxaudio.training import settings as ts
from jaxaudio.training.settings import TrainSettings
from jaxaudio.training.weights import ExperimentChoice

ROOT = Path(__file__).resolve().parents[3]


def test_choices_are_the_schemas_enums():
    schema = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())
    keys, defs = schema["$defs"]["training_keys"]["properties"], schema["$defs"]
    assert set(get_args(ts.Optimizer)) == set(keys["optimizer"]["enum"])
    assert set(get_args(ts.Schedule)) == set(keys["schedule"]["enum"])
    assert set(get_args(ts.ComputeDtype)) == set(keys["compute_dtype"]["enum"])
    assert set(get_args(ts.Objective)) == set(keys["objective"]["enum"])
    assert set(get_args(ExperimentChoice)) == set(defs["weight_method"]["enum"])
    normalise = defs["normalise"]["anyOf"]
    assert {"type": "boolean"} in normalise
    assert {"enum": list(get_args(NormMode))} in normalise
    hints = {f.name: f.type for f in fields(TrainSettings)}
    for name, alias in (
        ("optimizer", "Optimizer"),
        ("schedule", "Schedule"),
        ("compute_dtype", "ComputeDtype"),
        ("objective", "Objective"),
        ("class_weights", "ExperimentChoice"),
        ("normalise", "bool | NormMode"),
    ):
        assert hints[name] == alias, name  # the fields are typed with the aliases


def test_unknown_keys_are_rejected_by_name():
    with pytest.raises(ValueError, match="learning_rate"):
        TrainSettings.from_dict({"arch": "cnn", "learning_rate": 0.1})
    assert TrainSettings.from_dict({"arch": "vit", "epochs": 3}) == TrainSettings(
        arch="vit", epochs=3
    )
