"""``training.objective: sigmoid``: multi-label training recovers both species of a clip.

The toy task of :mod:`tests.unit.training.toy` with clips that are the *sum* of two class
templates, labelled with both classes (a manifest cell ``a;b``), next to single-label clips
and all-zero "background" clips (noise only). A sigmoid model trained a few epochs must put
both labels of most held-out two-label clips over 0.5, and exactly one label on most
single-label clips; the epoch runners agree on the (N, C) float targets.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import expit

from jaxaudio.inference.model_store import logits_fn
from jaxaudio.training.epochs import epoch_runner, validation_metrics
from jaxaudio.training.loop import TrainData, fit, prepare
from jaxaudio.training.settings import TrainSettings
from tests.unit.training.toy import TEMPLATES, C

PAIRS = [(a, b) for a in range(C) for b in range(a + 1, C)]


#: Template amplitude over the unit noise (the softmax toy's 0.5 is a harder task: a sigmoid
#: output must find its template under another one, and learns it in a few epochs at 1.0).
AMPLITUDE = 1.0


def multilabel_toy(n_single: int, n_pair: int, n_empty: int, seed: int):
    """``(x, targets, kind)``: ``n_single`` clips per class, ``n_pair`` per pair of classes
    (templates summed), ``n_empty`` noise-only clips; ``kind`` 1, 2 or 0 labels per clip."""
    rng = np.random.default_rng(seed)
    labels = (
        [[c] for c in range(C) for _ in range(n_single)]
        + [list(p) for p in PAIRS for _ in range(n_pair)]
        + [[] for _ in range(n_empty)]
    )
    y = np.zeros((len(labels), C), np.float32)
    for i, ls in enumerate(labels):
        y[i, ls] = 1.0
    x = rng.normal(size=(len(labels), 3, 16, 12)).astype(np.float32)
    x += np.tile(np.einsum("nc,cfij->nfij", y, TEMPLATES), (1, 1, 4, 3)) * AMPLITUDE
    return x, y, y.sum(axis=1).astype(int)


def settings(**changes) -> TrainSettings:
    base = dict(
        arch="cnn",
        model={"channels": [8, 16]},
        epochs=12,
        batch_size=32,
        lr=1e-2,
        patience=20,
        objective="sigmoid",
    )
    return TrainSettings(**{**base, **changes})


@pytest.mark.slow
def test_sigmoid_training_recovers_both_labels_of_multi_label_clips():
    x, y, _ = multilabel_toy(16, 8, 16, seed=0)
    x_val, y_val, _ = multilabel_toy(4, 2, 4, seed=1)
    x_test, y_test, kind = multilabel_toy(6, 4, 6, seed=2)
    result = fit(settings(), TrainData(x, y, x_val, y_val, n_classes=C))
    zeros, ones = np.zeros((3, 1, 1), np.float32), np.ones((3, 1, 1), np.float32)
    p = expit(np.asarray(logits_fn(result.model, zeros, ones)(x_test), np.float64))
    detected = p > 0.5
    pair = kind == 2
    both = (detected & (y_test > 0)).sum(axis=1) == 2
    assert both[pair].mean() >= 0.7, both[pair].mean()
    single = kind == 1
    exactly_one = detected[single].sum(axis=1) == 1
    right = detected[single][y_test[single] > 0]  # the clip's own species detected
    assert exactly_one.mean() >= 0.7 and right.mean() >= 0.8, (exactly_one.mean(), right.mean())
    assert (detected[kind == 0].sum(axis=1) == 0).mean() >= 0.7  # noise: no species
    # the early-stopping metric is the multi-label macro-F1, and it is high
    assert result.history["val_macro_f1"].iloc[-1] >= 0.7


def test_sigmoid_runners_agree_on_multi_hot_targets():
    """Scanned, stepwise and streamed epochs gather (N, C) float targets alike."""
    x, y, _ = multilabel_toy(4, 2, 4, seed=0)
    data = TrainData(x, y, x[:8], y[:8], n_classes=C)
    s = settings(epochs=1, batch_size=16, augment={"mixup_alpha": 0.4}, logit_adjust=1.0)
    run, state = prepare(s, data)
    assert run.y.dtype == jnp.float32 and run.y.shape == (len(x), C)
    out = {}
    for mode in ("scan", "steps", "stream"):
        _, st = prepare(s, data)
        yy = np.asarray(run.y) if mode == "stream" else run.y
        st, losses = epoch_runner(mode)(st, run.x if mode != "stream" else x, yy, 0, run.spec)
        out[mode] = np.asarray(losses)
    np.testing.assert_allclose(out["scan"], out["steps"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["scan"], out["stream"], rtol=1e-5, atol=1e-6)
    assert np.isfinite(out["scan"]).all()


def test_sigmoid_validation_metrics():
    """BCE loss, exact-match accuracy and macro-F1 at 0.5 over the species with positives."""
    y = np.array([[1, 1, 0], [1, 0, 0], [0, 0, 0]], np.float32)
    z = np.array([[3.0, 3.0, -3.0], [3.0, -3.0, 3.0], [-3.0, -3.0, -3.0]])
    m = validation_metrics(z, y, np.ones(3, np.float32), "sigmoid")
    assert m["val_acc"] == pytest.approx(2 / 3)
    # species 0: F1 1, species 1: F1 1; species 2 has no positive and is left out
    assert m["val_macro_f1"] == pytest.approx(1.0)
    bce = -np.mean(y * np.log(expit(z)) + (1 - y) * np.log(1 - expit(z)))
    assert m["val_loss"] == pytest.approx(bce, rel=1e-5)


def test_sigmoid_needs_targets_of_every_output():
    x, y, _ = multilabel_toy(2, 1, 0, seed=0)
    with pytest.raises(ValueError, match="sigmoid needs"):
        prepare(settings(objective="sigmoid"), TrainData(x, y[:, :2], x, y[:, :2], n_classes=C))
