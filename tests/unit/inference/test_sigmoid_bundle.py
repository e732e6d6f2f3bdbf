"""A multi-label (sigmoid) bundle: its objective is recorded, windows score σ(z / T) per
species, and predict reports every species over its threshold unless ``top_k`` caps it."""

import json

import numpy as np
import pytest
import soundfile as sf
from scipy.special import expit

from jaxaudio.inference.bundle import load_bundle
from jaxaudio.inference.model_store import logits_fn
from jaxaudio.inference.predict import Detector, predict_paths
from tests.unit.inference.test_predict import SR, TINY_FEATURES, write_tiny_bundle

CFG = TINY_FEATURES


def bundle(root, objective):
    """The tiny bundle with ``objective``, no background output and temperature 2."""
    return write_tiny_bundle(
        root,
        meta={"objective": objective, "background": None},
        metrics={"calibration": {"temperature": 2.0}},
    )


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    path = tmp_path_factory.mktemp("rec") / "r.wav"
    t = np.arange(3 * SR) / SR
    sf.write(path, (0.3 * np.sin(2 * np.pi * 1500 * t)).astype(np.float32), SR)
    return path


def test_sigmoid_bundle_scores_each_species_and_reports_all_over_threshold(tmp_path, recording):
    b = load_bundle(bundle(tmp_path, "sigmoid"))
    assert json.loads((b.path / "bundle.json").read_text())["objective"] == "sigmoid"
    det = Detector(b, batch_size=4)
    x = np.random.default_rng(0).normal(size=(2, CFG.n_samples)).astype(np.float32) * 0.1
    z = np.asarray(
        logits_fn(b.members[0].model, b.members[0].mean, b.members[0].std)(det._featurise(x))
    )
    np.testing.assert_allclose(det.probabilities(x), expit(z / 2.0), rtol=1e-5, atol=1e-6)
    windows = 5  # 3 s, 1 s windows every 0.5 s
    run = predict_paths(b.path, [recording], tmp_path / "all.csv", top_k=None, min_score=0.0)
    assert len(run.detections) == 3 * windows  # every species of every window
    run = predict_paths(b.path, [recording], tmp_path / "two.csv", top_k=2, min_score=0.0)
    assert len(run.detections) == 2 * windows


def test_softmax_bundle_keeps_one_species_a_window_by_default(tmp_path, recording):
    path = bundle(tmp_path, "softmax")
    run = predict_paths(path, [recording], tmp_path / "d.csv", top_k=None, min_score=0.0)
    assert len(run.detections) == 5
