"""A model trained with the background set as a reserved class stays silent on background it
never heard, and still names its species.

The chain is the workflow's, in memory: tone-call "species" and synthetic background clips
(jaxaudio.data.background) -> the JAX frontend -> fit (background = the last class) ->
temperature fitted on validation -> per-species thresholds tuned on validation with the
background clips as negatives -> softmax(z / T) with the background column dropped, as
`predict` scores windows.
"""

from __future__ import annotations

import numpy as np
import pytest

from jaxaudio.data.background import synthetic_background_clips
from jaxaudio.evaluation.calibration import fit_temperature
from jaxaudio.evaluation.thresholds import tune_thresholds
from jaxaudio.features.config import FeatureConfig
from jaxaudio.features.frontend import featuriser
from jaxaudio.inference.model_store import Member, logits_fn, probabilities_fn
from jaxaudio.training.loop import TrainData, fit
from jaxaudio.training.settings import TrainSettings

pytestmark = pytest.mark.slow

SR = 22050
CFG = FeatureConfig(sample_rate=SR, clip_seconds=1.0)
SPECIES = ["high", "low", "mid"]
TONES = {"high": 6000.0, "low": 1000.0, "mid": 3000.0}


def calls(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` clips per species: a 0.3 s tone (±5 % pitch) at a random offset over faint noise."""
    rng = np.random.default_rng(seed)
    clips, labels = [], []
    for label, sp in enumerate(SPECIES):
        for _ in range(n):
            clip = rng.normal(scale=0.003, size=CFG.n_samples).astype(np.float32)
            t = np.arange(int(0.3 * SR)) / SR
            start = rng.integers(0, CFG.n_samples - len(t))
            f = TONES[sp] * rng.uniform(0.95, 1.05)
            clip[start : start + len(t)] += 0.2 * np.sin(2 * np.pi * f * t) * np.hanning(len(t))
            clips.append(clip)
            labels.append(label)
    return np.stack(clips), np.asarray(labels)


def background(n: int, seed: int) -> np.ndarray:
    return np.stack([a for _, a in synthetic_background_clips(n, 1.0, SR, seed)])


def split(seed: int, n_calls: int, n_bg: int) -> tuple[np.ndarray, np.ndarray]:
    x, y = calls(n_calls, seed)
    bg = background(n_bg, seed + 100)
    feats = featuriser(CFG)(np.concatenate([x, bg]))
    return feats, np.concatenate([y, np.full(len(bg), len(SPECIES))])  # background = label 3


def test_unheard_background_draws_no_detection_and_the_species_are_named():
    x_train, y_train = split(0, 16, 48)
    x_val, y_val = split(1, 6, 18)
    # per-channel statistics of the training split, as the workflow's stats step computes them
    mean = x_train.mean(axis=(0, 2, 3)).reshape(3, 1, 1).astype(np.float32)
    std = x_train.std(axis=(0, 2, 3)).reshape(3, 1, 1).astype(np.float32)
    s = TrainSettings(
        arch="cnn",
        model={"channels": [8, 16]},
        epochs=30,
        batch_size=16,
        lr=3e-3,
        patience=30,
        normalise=True,
    )
    data = TrainData(x_train, y_train, x_val, y_val, n_classes=4, mean=mean, std=std)
    model = fit(s, data).model
    t = fit_temperature(np.asarray(logits_fn(model, mean, std)(x_val)), y_val)
    scores = probabilities_fn([Member(model, mean, std)], n_species=3, temperature=t)
    thresholds = tune_thresholds(y_val, np.asarray(scores(x_val)), SPECIES, prior_clips=5)
    cut = np.asarray([thresholds["per_species"][sp] for sp in SPECIES])

    # 70 seconds of background from seeds never trained on: not one window over a threshold
    unheard = featuriser(CFG)(background(70, seed=7))
    assert not (np.asarray(scores(unheard)) >= cut).any()
    # ... while calls of the species (new draws) are detected as their species
    x_test, y_test = calls(10, seed=2)
    detected = np.asarray(scores(featuriser(CFG)(x_test))) >= cut
    assert detected[np.arange(len(y_test)), y_test].mean() >= 0.9
