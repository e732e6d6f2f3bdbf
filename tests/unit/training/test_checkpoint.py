"""Checkpoints: a killed run resumes to the uninterrupted result; a changed run starts afresh
(:mod:`jaxaudio.training.checkpoint`)."""

import json

import jax
import numpy as np

from jaxaudio.models.registry import build_model
from jaxaudio.training.checkpoint import FINGERPRINT_FILE, _from_pure, _pure
from jaxaudio.training.loop import fit
from jaxaudio.training.optim import make_optimizer
from jaxaudio.training.settings import TrainSettings
from jaxaudio.training.state import TrainState
from tests.unit.training.toy import C, killed_at_validation, toy_data


def test_resume_equals_uninterrupted(tmp_path, monkeypatch):
    data = toy_data(96, 32)
    s = TrainSettings(
        arch="cnn", model={"channels": [8]}, epochs=6, batch_size=32, lr=3e-3, patience=50
    )
    full = fit(s, data, ckpt_dir=tmp_path / "full")

    # A run that dies during epoch 4 (after epoch 3's checkpoint was written).
    killed_at_validation(monkeypatch, 4, lambda: fit(s, data, ckpt_dir=tmp_path / "part"))

    resumed = fit(s, data, ckpt_dir=tmp_path / "part")
    assert resumed.summary["resumed_from_epoch"] == 3
    assert list(resumed.history["epoch"]) == list(range(1, 7))
    np.testing.assert_allclose(resumed.history["val_loss"], full.history["val_loss"], rtol=1e-6)
    np.testing.assert_allclose(resumed.history["train_loss"], full.history["train_loss"], rtol=1e-6)


def test_a_run_with_other_settings_or_weights_starts_afresh(tmp_path):
    data = toy_data(96, 32)
    s = TrainSettings(arch="cnn", model={"channels": [8]}, epochs=2, batch_size=32)
    ckpt = tmp_path / "ckpt"
    first = fit(s, data, ckpt_dir=ckpt)
    fp = json.loads((ckpt / FINGERPRINT_FILE).read_text())["fingerprint"]
    again = fit(s, data, ckpt_dir=ckpt)  # the same run: nothing left to train
    assert again.summary["resumed_from_epoch"] == 2 and again.summary["epochs_run"] == 2
    np.testing.assert_array_equal(again.history["val_loss"], first.history["val_loss"])
    other_lr = fit(TrainSettings(**{**s.__dict__, "lr": 2e-3}), data, ckpt_dir=ckpt)
    assert other_lr.summary["resumed_from_epoch"] == 0
    assert json.loads((ckpt / FINGERPRINT_FILE).read_text())["fingerprint"] != fp
    weighted = fit(
        TrainSettings(**{**s.__dict__, "lr": 2e-3}),
        toy_data(96, 32, weight_vector=np.arange(1, C + 1)),
        ckpt_dir=ckpt,
    )
    assert weighted.summary["resumed_from_epoch"] == 0
    other_inputs = fit(s, data, ckpt_dir=ckpt, input_fingerprint="another cache")
    assert other_inputs.summary["resumed_from_epoch"] == 0


def test_pure_state_round_trips_into_a_template():
    s = TrainSettings(arch="cnn", model={"channels": [8]})
    tx, _ = make_optimizer(s, 3)
    saved = TrainState.create(build_model("cnn", C, (3, 16, 12), s.model, 0), tx)
    expected = [np.asarray(leaf) for leaf in jax.tree.leaves(_pure(saved))]
    template = TrainState.create(build_model("cnn", C, (3, 16, 12), s.model, 1), tx)  # other values
    restored = _from_pure(template, jax.tree.map(np.asarray, _pure(saved)))
    got = [np.asarray(leaf) for leaf in jax.tree.leaves(_pure(restored))]
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a, b)
    assert jax.tree.structure(restored) == jax.tree.structure(saved)
