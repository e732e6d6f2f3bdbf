"""Config validation (one-line errors naming the key) and run resolution."""

import copy

import pytest

from jaxaudio.config import ConfigError, check_config, load_config, run_settings
from tests.conftest import ROOT

DEFAULT = load_config(ROOT / "config" / "config.yaml")


def mutated(fn):
    c = copy.deepcopy(DEFAULT)
    fn(c)
    return c


@pytest.mark.parametrize(
    "change, key",
    [
        (lambda c: c["models"]["cnn"].update(lr=-1e-3), "models.cnn.lr"),
        (lambda c: c["experiments"]["v2"].update(class_weights="focal"), "experiments.v2.class_weights"),
        (lambda c: c["run"]["models"].append("resnet"), "run.models.2"),
        (lambda c: c["models"]["vit"].update(arch="resnet"), "models.vit.arch"),
        (lambda c: c["experiments"]["v2"].update(lrr=1), "experiments.v2"),
        (lambda c: c["data"].update(source="manifest", manifest="/does/not/exist.csv"), "data.manifest"),
        (lambda c: c["compare"].update(baseline="v3"), "compare.baseline"),
        (lambda c: c["features"].update(clip_seconds=0.1), "features.clip_seconds"),
        (lambda c: c["models"]["vit"]["options"].update(patch=[64, 4]), "models.vit.options.patch"),
        (lambda c: c["training"].update(optimizer="lbfgs"), "training.optimizer"),
    ],
)
def test_bad_values_name_the_key(change, key):
    with pytest.raises(ConfigError) as err:
        check_config(mutated(change))
    msg = str(err.value)
    assert key in msg and "\n" not in msg


def test_manifest_fault_is_reported_at_load(tmp_path):
    bad = tmp_path / "m.csv"
    bad.write_text("file,label\nx.wav,a\n")
    with pytest.raises(ConfigError, match="data.manifest: .*m.csv: missing required column"):
        check_config(mutated(lambda c: c["data"].update(source="manifest", manifest=str(bad))))


def test_run_settings_precedence():
    c = mutated(lambda c: c["experiments"].update(
        slow={"class_weights": "sqrt", "normalise": True, "lr_scale": 0.1, "epochs": 7,
              "overrides": {"vit": {"batch_size": 8, "options": {"depth": 1}}}}))
    cnn = run_settings(c, "slow", "cnn")
    assert cnn["lr"] == pytest.approx(1e-4)  # models.cnn.lr 1e-3 x lr_scale 0.1
    assert cnn["epochs"] == 7 and cnn["class_weights"] == "sqrt" and cnn["normalise"] is True
    assert cnn["patience"] == c["training"]["patience"]
    vit = run_settings(c, "slow", "vit")
    assert vit["batch_size"] == 8 and vit["model"]["depth"] == 1 and vit["model"]["dim"] == 64
    assert run_settings(c, "baseline_v1", "cnn")["class_weights"] == "none"
