"""One run's settings: the precedence of training < models < experiments < overrides, the
keys that set them, and the ladder's derived experiments."""

import copy

import pytest

from jaxaudio.config.load import load_config
from jaxaudio.config.resolve import (
    add_ladder_experiments,
    ladder_names,
    run_settings,
    run_value,
    setting_key,
)
from jaxaudio.training.settings import TrainSettings
from tests.conftest import ROOT

DEFAULT = load_config(ROOT / "config" / "config.yaml")
SLOW = {
    "class_weights": "sqrt",
    "normalise": True,
    "lr_scale": 0.1,
    "epochs": 7,
    "overrides": {"vit": {"batch_size": 8, "options": {"depth": 1}}},
}


def with_experiment(name, experiment, **models):
    """The default config with one more experiment (and models)."""
    c = copy.deepcopy(DEFAULT)
    c["experiments"][name] = copy.deepcopy(experiment)
    c["models"].update(models)
    return c


def test_run_settings_precedence():
    c = with_experiment("slow", SLOW)
    cnn = run_settings(c, "slow", "cnn")
    assert cnn["lr"] == pytest.approx(1e-4)  # models.cnn.lr 1e-3 x lr_scale 0.1
    assert cnn["epochs"] == 7 and cnn["class_weights"] == "sqrt" and cnn["normalise"] is True
    assert cnn["patience"] == c["training"]["patience"]
    vit = run_settings(c, "slow", "vit")
    assert vit["batch_size"] == 8 and vit["model"]["depth"] == 1 and vit["model"]["dim"] == 64
    assert run_settings(c, "baseline_v1", "cnn")["class_weights"] == "none"


def test_an_experiment_without_weights_or_normalisation_gets_the_first_layer():
    c = with_experiment("plain", {})
    s = run_settings(c, "plain", "cnn", seed=3)
    assert (s["class_weights"], s["normalise"], s["seed"]) == ("none", False, 3)
    assert TrainSettings.from_dict(s).epochs == DEFAULT["models"]["cnn"]["epochs"]


def test_run_settings_do_not_alias_the_config():
    c = with_experiment("shifted", {"augment": {"time_shift": 2}})
    run_settings(c, "shifted", "cnn")["augment"]["time_shift"] = 9
    run_settings(c, "shifted", "vit")["model"]["dim"] = 1
    assert c["experiments"]["shifted"]["augment"] == {"time_shift": 2}
    assert c["models"]["vit"]["options"]["dim"] == 64


def test_setting_key_names_the_layer_precedence_picks():
    c = with_experiment("slow", SLOW)
    key = "batch_size"
    assert setting_key(c, "slow", "vit", key) == "experiments.slow.overrides.vit.batch_size"
    assert setting_key(c, "slow", "cnn", key) == "models.cnn.batch_size"
    assert setting_key(c, "slow", "cnn", "epochs") == "experiments.slow.epochs"
    assert setting_key(c, "slow", "cnn", "patience") == "training.patience"
    # a key no layer sets: where it would go
    assert setting_key(c, "slow", "cnn", "logit_adjust") == "training.logit_adjust"


def test_a_model_without_epochs_trains_the_experiments_or_train_settings():
    """A model declared without epochs: an experiment's epochs win; with none anywhere the
    run trains TrainSettings' default, and run_value says so (the workflow's runtime estimate)."""
    c = with_experiment("short", {"epochs": 5}, tiny={"arch": "cnn"})
    assert run_settings(c, "short", "tiny")["epochs"] == 5
    assert run_value(c, "short", "tiny", "epochs") == 5
    assert "epochs" not in run_settings(c, "baseline_v1", "tiny")
    assert run_value(c, "baseline_v1", "tiny", "epochs") == TrainSettings.epochs
    assert run_value(c, "baseline_v1", "tiny", "batch_size") == TrainSettings.batch_size


def test_lr_scale_scales_train_settings_lr_when_no_layer_sets_one():
    c = with_experiment("slower", {"lr_scale": 0.5}, tiny={"arch": "cnn"})
    assert run_settings(c, "slower", "tiny")["lr"] == pytest.approx(TrainSettings.lr * 0.5)


def test_ladder_rungs_are_the_candidate_with_their_changes():
    c = copy.deepcopy(DEFAULT)  # load_config added them already
    names = ladder_names(c)
    assert names == [
        "weights_only",
        "norm_only",
        "effective_weights",
        "sqrt_weights",
        "lower_lr",
        "balanced_sampling",
        "focal",
        "label_smoothing",
    ]
    v2 = c["experiments"]["v2"]
    assert c["experiments"]["weights_only"] == {**v2, "normalise": False}
    assert c["experiments"]["lower_lr"] == {**v2, "lr_scale": 0.1}
    # the Phase 2 rungs: one change each (sampling replaces the class weights)
    balanced = run_settings(c, "balanced_sampling", "cnn")
    assert (balanced["sampler"], balanced["class_weights"]) == ("balanced", "none")
    assert run_settings(c, "focal", "cnn")["focal_gamma"] == 2.0
    assert run_settings(c, "label_smoothing", "cnn")["label_smoothing"] == 0.1
    lr = DEFAULT["models"]["cnn"]["lr"]
    assert run_settings(c, "lower_lr", "cnn")["lr"] == pytest.approx(lr * 0.1)


def test_a_declared_rung_is_kept_and_the_source_recorded():
    c = copy.deepcopy(DEFAULT)
    for name in ladder_names(c):
        del c["experiments"][name]
    c["experiments"]["norm_only"] = {"class_weights": "balanced"}
    sources = {}
    assert add_ladder_experiments(c, sources) == ladder_names(c)
    assert c["experiments"]["norm_only"] == {"class_weights": "balanced"}
    assert ("experiments", "norm_only") not in sources
    rung = sources[("experiments", "sqrt_weights")]
    assert rung == "compare.ladder.3 (the candidate with its changes)"
